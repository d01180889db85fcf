//! The drift picture: one bar per feature (its KS statistic D, drifted ones in orange, the
//! `min-statistic` floor as a dashed line), and below it the reference and current empirical
//! distribution functions of the most drifted features.

use super::charts::{line_chart, Chart, Series};
use super::svg::Svg;

const WIDTH: f64 = 640.0;
const ROW: f64 = 18.0;
const LABELS: f64 = 180.0;

/// One feature's bar.
pub struct DriftBar {
    pub feature: String,
    pub statistic: f64,
    pub drifted: bool,
}

/// A feature's two distribution functions, as (value, share at or below it) steps.
pub struct DriftCurves {
    pub feature: String,
    pub reference: Vec<(f64, f64)>,
    pub current: Vec<(f64, f64)>,
}

/// The bars (sorted by D, largest first) and the curves, stacked in one SVG document.
pub fn drift_picture(title: &str, bars: &[DriftBar], floor: f64, curves: &[DriftCurves]) -> String {
    let mut parts = vec![bar_chart(title, bars, floor)];
    for c in curves {
        let chart = Chart {
            title: &format!("{}: reference vs current", c.feature),
            x_label: &c.feature,
            y_label: "share of values at or below",
            x_range: None,
            y_range: Some((0.0, 1.0)),
        };
        let mut reference = Series::new("reference", c.reference.clone());
        reference.steps = true;
        let mut current = Series::new("current", c.current.clone());
        current.steps = true;
        parts.push(line_chart(&chart, &[reference, current]));
    }
    stack(&parts)
}

fn bar_chart(title: &str, bars: &[DriftBar], floor: f64) -> String {
    let top = 48.0;
    let height = top + ROW * bars.len() as f64 + 40.0;
    let width = WIDTH - LABELS - 40.0;
    let largest = bars.iter().map(|b| b.statistic).fold(floor, f64::max).max(1e-9);
    let scale = |d: f64| LABELS + d / largest * width;
    let mut svg = Svg::new(WIDTH, height);
    svg.text(WIDTH / 2.0, 26.0, title, 16.0, "middle", None);
    for (i, b) in bars.iter().enumerate() {
        let y = top + ROW * i as f64;
        let colour = if b.drifted { "#D55E00" } else { "#0072B2" };
        svg.rect(LABELS, y + 2.0, scale(b.statistic) - LABELS, ROW - 4.0, colour, None);
        svg.text(LABELS - 6.0, y + ROW - 5.0, &b.feature, 11.0, "end", None);
        let mark = if b.drifted { "  drifted" } else { "" };
        svg.text(
            scale(b.statistic) + 4.0,
            y + ROW - 5.0,
            &format!("{:.3}{mark}", b.statistic),
            10.0,
            "start",
            None,
        );
    }
    let bottom = top + ROW * bars.len() as f64;
    svg.polyline(
        &[(scale(floor), top - 4.0), (scale(floor), bottom + 4.0)],
        "#444444",
        1.5,
        true,
    );
    svg.text(
        scale(floor),
        bottom + 20.0,
        &format!("min-statistic {floor}"),
        11.0,
        "middle",
        None,
    );
    svg.text(
        LABELS,
        bottom + 34.0,
        "KS statistic D (largest gap between the two distribution functions)",
        11.0,
        "start",
        None,
    );
    svg.finish()
}

/// Several SVG documents one below the other, as one document.
fn stack(parts: &[String]) -> String {
    let height_of = |svg: &str| -> f64 {
        svg.split("height=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .and_then(|h| h.parse().ok())
            .unwrap_or(0.0)
    };
    let total: f64 = parts.iter().map(|p| height_of(p)).sum();
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{total}\" viewBox=\"0 0 {WIDTH} {total}\">\n"
    );
    let mut y = 0.0;
    for p in parts {
        out.push_str(&p.replacen("<svg ", &format!("<svg y=\"{y}\" "), 1));
        y += height_of(p);
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_document_with_a_bar_per_feature_and_a_chart_per_curve() {
        let bars = vec![
            DriftBar {
                feature: "s11".into(),
                statistic: 0.31,
                drifted: true,
            },
            DriftBar {
                feature: "s2".into(),
                statistic: 0.04,
                drifted: false,
            },
        ];
        let curves = vec![DriftCurves {
            feature: "s11".into(),
            reference: vec![(0.0, 0.0), (1.0, 1.0)],
            current: vec![(0.5, 0.0), (1.5, 1.0)],
        }];
        let svg = drift_picture("drift: train vs test", &bars, 0.1, &curves);
        assert_eq!(svg.matches("<svg").count(), 3, "the outer document and two parts");
        assert!(svg.contains(">s11<") && svg.contains("0.310  drifted"));
        assert!(svg.contains("s11: reference vs current"));
        assert!(svg.contains("min-statistic 0.1"));
    }
}
