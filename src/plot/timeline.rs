//! A run's steps on one time axis (a Gantt chart): when each started and how long it took,
//! coloured by outcome, so the slow step and the waiting are seen at a glance.

use super::svg::Svg;

const WIDTH: f64 = 900.0;
const LABELS: f64 = 150.0;
const RIGHT: f64 = 90.0;
const ROW: f64 = 26.0;
const TOP: f64 = 34.0;

/// One step's bar: seconds from the run's start to its start and end (None: it never ran).
pub struct TimelineBar {
    pub step: String,
    pub span: Option<(f64, f64)>,
    pub status: String,
    pub cached: bool,
}

fn colour(status: &str, cached: bool) -> &'static str {
    match status {
        _ if cached => "#9ecae1",
        "succeeded" => "#009E73",
        "failed" => "#D55E00",
        "interrupted" => "#E69F00",
        "running" => "#0072B2",
        _ => "#bbbbbb",
    }
}

pub fn timeline(bars: &[TimelineBar]) -> String {
    let height = TOP + ROW * bars.len() as f64 + 36.0;
    let mut svg = Svg::new(WIDTH, height);
    let end = bars
        .iter()
        .filter_map(|b| b.span.map(|s| s.1))
        .fold(0.0f64, f64::max)
        .max(0.001);
    let plot = WIDTH - LABELS - RIGHT;
    let x = |t: f64| LABELS + plot * (t / end).clamp(0.0, 1.0);
    svg.text(
        LABELS,
        20.0,
        "steps over the run's time (seconds from its start)",
        12.0,
        "start",
        None,
    );
    for (i, bar) in bars.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        svg.text(LABELS - 8.0, y + 15.0, &bar.step, 12.0, "end", None);
        svg.line((LABELS, y + ROW - 2.0), (LABELS + plot, y + ROW - 2.0), "#eeeeee", 1.0);
        let label = match bar.span {
            Some((start, stop)) => {
                let width = (x(stop) - x(start)).max(2.0);
                svg.rect(
                    x(start),
                    y + 4.0,
                    width,
                    ROW - 10.0,
                    colour(&bar.status, bar.cached),
                    None,
                );
                let took = format!("{:.2} s", stop - start);
                if bar.cached {
                    format!("cached ({took})")
                } else if bar.status == "succeeded" {
                    took
                } else {
                    format!("{} ({took})", bar.status)
                }
            }
            None => bar.status.clone(),
        };
        let after = bar.span.map(|(_, stop)| x(stop)).unwrap_or(LABELS) + 6.0;
        svg.text(after.min(WIDTH - RIGHT + 4.0), y + 15.0, &label, 11.0, "start", None);
    }
    let axis = TOP + ROW * bars.len() as f64 + 4.0;
    svg.line((LABELS, axis), (LABELS + plot, axis), "#333333", 1.0);
    for k in 0..=4 {
        let t = end * k as f64 / 4.0;
        svg.line((x(t), axis), (x(t), axis + 5.0), "#333333", 1.0);
        svg.text(x(t), axis + 18.0, &format!("{t:.1}"), 11.0, "middle", None);
    }
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_placed_on_one_axis_and_labelled() {
        let bars = [
            TimelineBar {
                step: "load".into(),
                span: Some((0.0, 1.0)),
                status: "succeeded".into(),
                cached: false,
            },
            TimelineBar {
                step: "train".into(),
                span: Some((1.0, 4.0)),
                status: "failed".into(),
                cached: false,
            },
            TimelineBar {
                step: "evaluate".into(),
                span: None,
                status: "skipped".into(),
                cached: false,
            },
        ];
        let svg = timeline(&bars);
        // train starts a quarter of the way along the 660-pixel axis that begins at 150.
        assert!(svg.contains(r##"<rect x="315.0" y="64.0" width="495.0""##), "{svg}");
        assert!(svg.contains(">failed (3.00 s)<"));
        assert!(svg.contains(">skipped<"));
    }
}
