//! The features made from one source column, entity by entity: rolling statistics over rows
//! or durations, rolling spectra, lags, exponentially weighted means and differences.

use serde_json::json;

use super::spec::{Relation, RelativeTo};
use super::Made;
use crate::frame::column_f64_ref;
use crate::ml::rolling::{diff_into, ewm_into, lag_into, rolling_into, Stat, Window};
use crate::steps::context::StepError;
use crate::steps::spans::WindowSpec;
use polars::prelude::DataFrame;

type Ranges = [std::ops::Range<usize>];

/// Every feature of `column`, in manifest order.
pub(super) fn features(
    p: &super::FeatureParams,
    frame: &DataFrame,
    column: &String,
    ranges: &Ranges,
    span_times: &[i64],
) -> Result<Vec<Made>, StepError> {
    let values =
        column_f64_ref(frame, column).map_err(|_| StepError::new(format!("column `{column}` is not numeric")))?;
    let mut made = rolling(p, column, &values, ranges, span_times);
    made.extend(spectra(p, column, &values, ranges));
    made.extend(shifts(p, column, &values, ranges));
    made.extend(relative(p, column, &values, ranges, span_times));
    Ok(made)
}

/// Each value against its machine's own mean so far: `COLUMN_minus_mean_TO` (value - mean) and
/// `COLUMN_over_mean_TO` (value / mean, missing where the mean is 0), with the mean over every
/// reading up to and including this one (`expanding`, as pandas' `expanding().mean()`) or a
/// trailing window (as `rolling`).
fn relative(p: &super::FeatureParams, column: &str, values: &[f64], ranges: &Ranges, span_times: &[i64]) -> Vec<Made> {
    let mut made = Vec::new();
    for to in &p.relative {
        let means = per_entity(values, ranges, |r, v, out| {
            let window = match to {
                RelativeTo::Expanding => Window::Rows(v.len().max(1)),
                RelativeTo::Window(w) => w.over(span_times, r),
            };
            rolling_into(v, window, Stat::Mean, 1, out)
        });
        let label = match to {
            RelativeTo::Expanding => "expanding".to_string(),
            RelativeTo::Window(w) => w.label(),
        };
        for &relation in &p.relative_as {
            let (word, transform) = match relation {
                Relation::Minus => ("minus", "minus_own_mean"),
                Relation::Over => ("over", "over_own_mean"),
            };
            let compared: Vec<f64> = values
                .iter()
                .zip(&means)
                .map(|(v, m)| match relation {
                    Relation::Minus => v - m,
                    Relation::Over if *m == 0.0 => f64::NAN,
                    Relation::Over => v / m,
                })
                .collect();
            let name = format!("{column}_{word}_mean_{label}");
            made.push(Made {
                manifest: json!({"name": name, "source": column, "transform": transform, "window": label}),
                name,
                values: compared,
            });
        }
    }
    made
}

/// One column per window and statistic.
fn rolling(p: &super::FeatureParams, column: &str, values: &[f64], ranges: &Ranges, span_times: &[i64]) -> Vec<Made> {
    let mut made = Vec::new();
    for window in &p.windows {
        for &stat in &p.stats {
            let out = per_entity(values, ranges, |r, v, out| {
                rolling_into(v, window.over(span_times, r), stat, p.min_periods, out)
            });
            let name = format!("{column}_roll{}_{}", window.label(), stat_name(stat));
            made.push(Made {
                manifest: json!({"name": name, "source": column, "transform": format!("rolling_{}", stat_name(stat)), "window": window.label(), "min-periods": p.min_periods}),
                name,
                values: out,
            });
        }
    }
    made
}

/// The dominant frequency and the spectral entropy per `fft` window.
fn spectra(p: &super::FeatureParams, column: &str, values: &[f64], ranges: &Ranges) -> Vec<Made> {
    let mut made = Vec::new();
    for &w in &p.fft {
        let spectral = crate::ml::spectral::Spectral::new(w);
        let (mut freq, mut entropy) = (vec![f64::NAN; values.len()], vec![f64::NAN; values.len()]);
        for r in ranges {
            let (f, h) = spectral.rolling(&values[r.clone()]);
            freq[r.clone()].copy_from_slice(&f);
            entropy[r.clone()].copy_from_slice(&h);
        }
        for (what, values) in [("domfreq", freq), ("entropy", entropy)] {
            let name = format!("{column}_fft{w}_{what}");
            let transform = if what == "domfreq" {
                "dominant_frequency"
            } else {
                "spectral_entropy"
            };
            made.push(Made {
                manifest: json!({"name": name, "source": column, "transform": transform, "window": w, "unit": if what == "domfreq" { "cycles per sample" } else { "normalised entropy" }}),
                name,
                values,
            });
        }
    }
    made
}

/// Lags, exponentially weighted means and differences, in that order.
fn shifts(p: &super::FeatureParams, column: &str, values: &[f64], ranges: &Ranges) -> Vec<Made> {
    let mut made = Vec::new();
    for &k in &p.lags {
        let name = format!("{column}_lag{k}");
        made.push(Made {
            values: per_entity(values, ranges, |_, v, out| lag_into(v, k, out)),
            manifest: json!({"name": name, "source": column, "transform": "lag", "rows": k}),
            name,
        });
    }
    for &span in &p.ewm {
        let name = format!("{column}_ewm{span}");
        made.push(Made {
            values: per_entity(values, ranges, |_, v, out| ewm_into(v, span, out)),
            manifest: json!({"name": name, "source": column, "transform": "ewm_mean", "span": span, "adjust": true}),
            name,
        });
    }
    for &k in &p.diffs {
        let name = format!("{column}_diff{k}");
        made.push(Made {
            values: per_entity(values, ranges, |_, v, out| diff_into(v, k, out)),
            manifest: json!({"name": name, "source": column, "transform": "diff", "rows": k}),
            name,
        });
    }
    made
}

fn stat_name(stat: Stat) -> &'static str {
    match stat {
        Stat::Mean => "mean",
        Stat::Std => "std",
        Stat::Min => "min",
        Stat::Max => "max",
        Stat::Rms => "rms",
        Stat::Skew => "skew",
        Stat::Kurt => "kurt",
    }
}

/// A new column filled entity by entity: `fill(rows, values, out)` writes one entity's slice,
/// so a window, lag or difference never reaches into the previous entity.
fn per_entity(
    values: &[f64],
    ranges: &[std::ops::Range<usize>],
    fill: impl Fn(std::ops::Range<usize>, &[f64], &mut [f64]),
) -> Vec<f64> {
    let mut out = vec![f64::NAN; values.len()];
    for r in ranges {
        fill(r.clone(), &values[r.clone()], &mut out[r.clone()]);
    }
    out
}

impl WindowSpec {
    /// The trailing window over one entity's `rows`; a duration reads their times in
    /// `span_times` (empty when the table has none: only row windows are asked for then).
    fn over<'t>(&self, span_times: &'t [i64], rows: std::ops::Range<usize>) -> Window<'t> {
        match self {
            WindowSpec::Rows(n) => Window::Rows(*n),
            WindowSpec::Duration { ms, .. } => Window::Span {
                times: &span_times[rows],
                span: *ms,
            },
        }
    }

    fn label(&self) -> String {
        match self {
            WindowSpec::Rows(n) => n.to_string(),
            WindowSpec::Duration { text, .. } => text.clone(),
        }
    }
}
