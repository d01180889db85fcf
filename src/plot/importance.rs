//! The permutation-importance picture: one bar per sensor (or feature), the mean drop in PR-AUC
//! when it is shuffled, with a whisker of one standard deviation over the repeats either side.

use super::svg::Svg;

const WIDTH: f64 = 640.0;
const ROW: f64 = 18.0;
const LABELS: f64 = 200.0;

/// One bar: a group's mean drop and its spread.
pub struct ImportanceBar {
    pub name: String,
    pub drop: f64,
    pub std: f64,
}

/// The bars, in the order given (most important first), on an axis from 0 (or the most
/// negative drop: shuffling can help a model by chance) to the largest drop plus its spread.
pub fn importance_picture(title: &str, bars: &[ImportanceBar]) -> String {
    let top = 48.0;
    let height = top + ROW * bars.len() as f64 + 40.0;
    let width = WIDTH - LABELS - 70.0;
    let high = bars.iter().map(|b| b.drop + b.std).fold(1e-9, f64::max);
    let low = bars.iter().map(|b| b.drop - b.std).fold(0.0, f64::min);
    let x = |d: f64| LABELS + (d - low) / (high - low) * width;
    let mut svg = Svg::new(WIDTH, height);
    svg.text(WIDTH / 2.0, 26.0, title, 16.0, "middle", None);
    for (i, b) in bars.iter().enumerate() {
        let y = top + ROW * i as f64;
        let (from, to) = (x(0.0).min(x(b.drop)), x(0.0).max(x(b.drop)));
        svg.rect(from, y + 3.0, (to - from).max(0.5), ROW - 6.0, "#0072B2", None);
        let middle = y + ROW / 2.0;
        svg.polyline(
            &[(x(b.drop - b.std), middle), (x(b.drop + b.std), middle)],
            "#222222",
            1.2,
            false,
        );
        svg.text(LABELS - 6.0, y + ROW - 5.0, &b.name, 11.0, "end", None);
        svg.text(
            x(b.drop + b.std) + 4.0,
            y + ROW - 5.0,
            &format!("{:.3} ± {:.3}", b.drop, b.std),
            10.0,
            "start",
            None,
        );
    }
    let bottom = top + ROW * bars.len() as f64;
    svg.polyline(&[(x(0.0), top - 4.0), (x(0.0), bottom + 4.0)], "#444444", 1.0, true);
    svg.text(
        LABELS,
        bottom + 24.0,
        "drop in test PR-AUC when shuffled (mean ± std over repeats)",
        11.0,
        "start",
        None,
    );
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bar_per_group_with_its_figures() {
        let bars = vec![
            ImportanceBar {
                name: "vibration_rms".into(),
                drop: 0.31,
                std: 0.02,
            },
            ImportanceBar {
                name: "pressure".into(),
                drop: -0.01,
                std: 0.01,
            },
        ];
        let svg = importance_picture("Permutation importance", &bars);
        assert!(svg.contains(">vibration_rms<") && svg.contains("0.310 ± 0.020"));
        assert!(svg.contains(">pressure<") && svg.contains("-0.010 ± 0.010"));
        assert_eq!(
            svg.matches("<rect").count() - 1,
            2,
            "a bar each, besides the background"
        );
    }
}
