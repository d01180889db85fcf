//! Which way a metric is better, from the last segment of its name, and which metrics are
//! timings (machine noise, never compared by default).

use serde::Serialize;

/// Which way a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    Higher,
    Lower,
    /// Counts that describe the data, not the model (`windows`, `support`): shown, not judged.
    Neither,
}

/// Metrics (by their last name segment) for which lower is better.
const LOWER_IS_BETTER: &[&str] = &[
    "loss",
    "val_loss",
    "train_loss",
    "false_alarm_rate",
    "fp",
    "fn",
    "fpr",
    "fnr",
    "miss_rate",
    "brier",
    "log_loss",
    "mae",
    "mse",
    "rmse",
    "ece",
];
/// Metrics that describe the data or a setting, not how good the model is.
const NEITHER: &[&str] = &[
    "windows",
    "support",
    "threshold",
    "rows",
    "positives",
    "epochs",
    "best_epoch",
];

/// The default direction of a metric, from the last segment of its name.
pub fn direction_of(name: &str) -> Better {
    let last = name.rsplit('.').next().unwrap_or(name);
    if LOWER_IS_BETTER.contains(&last) || last.ends_with("_seconds") || last.ends_with("loss") {
        Better::Lower
    } else if NEITHER.contains(&last) {
        Better::Neither
    } else {
        Better::Higher
    }
}

/// How long something took: machine noise, not model quality, so never compared by default.
pub fn is_timing(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    last.ends_with("_seconds") || last.ends_with("_per_sec")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_come_from_the_last_name_segment() {
        assert_eq!(direction_of("evaluate.f1"), Better::Higher);
        assert_eq!(direction_of("evaluate.false_alarm_rate"), Better::Lower);
        assert_eq!(direction_of("train.val_loss"), Better::Lower);
        assert_eq!(direction_of("evaluate.fn"), Better::Lower);
        assert_eq!(direction_of("evaluate.windows"), Better::Neither);
        assert_eq!(direction_of("train.write_seconds"), Better::Lower);
        assert!(is_timing("train.write_seconds") && is_timing("predict.rows_per_sec"));
        assert!(!is_timing("evaluate.f1"));
    }
}
