//! The charts pmflow draws: lines over shared axes (loss per epoch, PR and ROC curves) and a
//! confusion matrix.

use super::svg::Svg;
use crate::ml::metrics::Confusion;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 440.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 58.0;
/// Colour-blind-safe (Okabe-Ito) series colours.
const COLOURS: [&str; 5] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00"];

pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// Hold each value until the next x (precision-recall curves are drawn this way).
    pub steps: bool,
    pub dashed: bool,
    /// Draw each point as a dot instead of joining them (a chosen operating point).
    pub dots: bool,
}

impl Series {
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.into(),
            points,
            steps: false,
            dashed: false,
            dots: false,
        }
    }
}

pub struct Chart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    /// Fixed axis ranges; None fits the data.
    pub x_range: Option<(f64, f64)>,
    pub y_range: Option<(f64, f64)>,
}

pub fn line_chart(chart: &Chart, series: &[Series]) -> String {
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let all: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().filter(finite).copied())
        .collect();
    let (x0, x1) = chart.x_range.unwrap_or_else(|| padded(all.iter().map(|p| p.0)));
    let (y0, y1) = chart.y_range.unwrap_or_else(|| padded(all.iter().map(|p| p.1)));
    let (pw, ph) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let sx = |x: f64| LEFT + (x - x0) / (x1 - x0) * pw;
    let sy = |y: f64| TOP + ph - (y - y0) / (y1 - y0) * ph;

    let mut svg = Svg::new(WIDTH, HEIGHT);
    svg.text(WIDTH / 2.0, 26.0, chart.title, 16.0, "middle", None);
    for t in ticks(x0, x1) {
        svg.line((sx(t), TOP), (sx(t), TOP + ph), "#e5e5e5", 1.0);
        svg.text(sx(t), TOP + ph + 18.0, &tick_label(t), 11.0, "middle", None);
    }
    for t in ticks(y0, y1) {
        svg.line((LEFT, sy(t)), (LEFT + pw, sy(t)), "#e5e5e5", 1.0);
        svg.text(LEFT - 8.0, sy(t) + 4.0, &tick_label(t), 11.0, "end", None);
    }
    svg.rect(LEFT, TOP, pw, ph, "none", Some("#444444"));
    svg.text(LEFT + pw / 2.0, HEIGHT - 16.0, chart.x_label, 13.0, "middle", None);
    svg.text(20.0, TOP + ph / 2.0, chart.y_label, 13.0, "middle", Some(-90.0));

    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let mut path: Vec<(f64, f64)> = Vec::new();
        for p in s.points.iter().filter(finite) {
            if let (true, Some(&(_, last_y))) = (s.steps, path.last()) {
                path.push((sx(p.0), last_y));
            }
            path.push((sx(p.0), sy(p.1)));
        }
        if s.dots {
            for p in &path {
                svg.circle(*p, 5.0, colour);
            }
        } else {
            svg.polyline(&simplify(&path), colour, 2.0, s.dashed);
        }
        // Legend, top right inside the plot.
        let y = TOP + 16.0 + 18.0 * i as f64;
        svg.line((LEFT + pw - 150.0, y - 4.0), (LEFT + pw - 128.0, y - 4.0), colour, 2.0);
        svg.text(LEFT + pw - 122.0, y, &s.name, 11.0, "start", None);
    }
    svg.finish()
}

/// The same line with fewer points: points at the same tenth of a pixel (as written) once, and
/// no point in the middle of a straight run. A PR or ROC curve over 34,000 test windows has a
/// point per threshold, mostly on flat or vertical steps; drawn in full it was an 800 KB file.
fn simplify(path: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let snap = |(x, y): (f64, f64)| ((x * 10.0).round() / 10.0, (y * 10.0).round() / 10.0);
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(path.len().min(4096));
    for &p in path {
        let p = snap(p);
        if out.last() == Some(&p) {
            continue;
        }
        if let [.., a, b] = out[..] {
            // b lies on the segment from a to p: it adds nothing to the drawing.
            let cross = (b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0);
            let forward = (b.0 - a.0) * (p.0 - b.0) + (b.1 - a.1) * (p.1 - b.1) >= 0.0;
            if cross.abs() < 1e-9 && forward {
                out.pop();
            }
        }
        out.push(p);
    }
    out
}

/// A 2x2 matrix, rows = actual, columns = predicted, shaded by each cell's share of its row.
pub fn confusion_matrix(title: &str, c: &Confusion) -> String {
    let mut svg = Svg::new(460.0, 420.0);
    svg.text(230.0, 28.0, title, 16.0, "middle", None);
    let (x0, y0, cell) = (140.0, 80.0, 130.0);
    let rows = [("failure", [c.tp, c.fn_]), ("healthy", [c.fp, c.tn])];
    for (r, (name, counts)) in rows.iter().enumerate() {
        let total = (counts[0] + counts[1]).max(1) as f64;
        svg.text(x0 - 12.0, y0 + cell * (r as f64 + 0.5) + 5.0, name, 13.0, "end", None);
        for (k, count) in counts.iter().enumerate() {
            let share = *count as f64 / total;
            // White to pmflow blue (#0072B2) by the share of the row.
            let shade = |full: f64| (255.0 - (255.0 - full) * share).round() as u8;
            let fill = format!("#{:02x}{:02x}{:02x}", shade(0.0), shade(114.0), shade(178.0));
            let (x, y) = (x0 + cell * k as f64, y0 + cell * r as f64);
            svg.rect(x, y, cell, cell, &fill, Some("#444444"));
            // Light text on dark cells.
            let ink = if share > 0.5 { "#ffffff" } else { "#000000" };
            svg.centred_text(x + cell / 2.0, y + cell / 2.0, &count.to_string(), 20.0, ink);
            svg.centred_text(
                x + cell / 2.0,
                y + cell / 2.0 + 22.0,
                &format!("{:.1}%", share * 100.0),
                12.0,
                ink,
            );
        }
    }
    for (k, name) in ["alarm", "no alarm"].iter().enumerate() {
        svg.text(x0 + cell * (k as f64 + 0.5), y0 - 10.0, name, 13.0, "middle", None);
    }
    svg.text(x0 + cell, y0 + 2.0 * cell + 36.0, "predicted", 13.0, "middle", None);
    svg.text(40.0, y0 + cell, "actual", 13.0, "middle", Some(-90.0));
    svg.finish()
}

/// The data's range with 5% room on both sides (a flat series gets room too).
fn padded(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let room = if hi > lo {
        (hi - lo) * 0.05
    } else {
        lo.abs().max(1.0) * 0.05
    };
    (lo - room, hi + room)
}

/// About six round tick values (1, 2 or 5 times a power of ten apart) inside [lo, hi].
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let raw = (hi - lo) / 6.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

fn tick_label(v: f64) -> String {
    let text = format!("{:.4}", v);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_inside_the_range() {
        assert_eq!(ticks(0.0, 1.0), vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]);
        assert_eq!(ticks(0.95, 21.5), vec![5.0, 10.0, 15.0, 20.0]);
        assert_eq!(tick_label(0.6000000000000001), "0.6");
        assert_eq!(tick_label(-0.0), "0");
    }

    #[test]
    fn simplifying_keeps_every_corner_and_drops_the_rest() {
        // A staircase drawn with many points per step, plus a repeat and a turn back.
        let path = [
            (0.0, 0.0),
            (1.0, 0.0),
            (2.0, 0.0),
            (2.0, 1.0),
            (2.0, 2.0),
            (2.01, 2.0),
            (3.0, 2.0),
            (3.0, 2.0),
            (1.0, 2.0),
        ];
        assert_eq!(
            simplify(&path),
            [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (3.0, 2.0), (1.0, 2.0)]
        );
        // A diagonal of 10,000 points is one segment.
        let diagonal: Vec<(f64, f64)> = (0..10_000).map(|i| (i as f64 / 100.0, i as f64 / 100.0)).collect();
        // Points are pixels written to a tenth, so the last one, 99.99, is 100.0.
        assert_eq!(simplify(&diagonal), [(0.0, 0.0), (100.0, 100.0)]);
    }

    #[test]
    fn a_chart_has_every_series_and_label() {
        let chart = Chart {
            title: "Loss per epoch",
            x_label: "epoch",
            y_label: "loss",
            x_range: None,
            y_range: None,
        };
        let svg = line_chart(
            &chart,
            &[
                Series::new("train", vec![(1.0, 0.7), (2.0, 0.5), (3.0, f64::NAN)]),
                Series::new("validation", vec![(1.0, 0.8), (2.0, 0.6)]),
            ],
        );
        assert_eq!(svg.matches("<polyline").count(), 2);
        for text in ["Loss per epoch", "epoch", "train", "validation"] {
            assert!(svg.contains(&format!(">{text}<")), "{text} missing");
        }
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn confusion_matrix_shows_counts_and_row_shares() {
        let c = Confusion {
            tp: 3,
            fn_: 1,
            fp: 3,
            tn: 3,
        };
        let svg = confusion_matrix("Test", &c);
        assert!(
            svg.contains(">75.0%<") && svg.contains(">25.0%<") && svg.contains(">50.0%<"),
            "{svg}"
        );
    }
}
