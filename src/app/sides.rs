//! One side of a comparison (`compare`, `report --vs`): a run or model version named by a
//! spec, with the metrics its run logged, read from the registry.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::CliError;
use crate::registry::Registry;

/// Which way a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Better {
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
pub(super) fn direction_of(name: &str) -> Better {
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
pub(super) fn is_timing(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    last.ends_with("_seconds") || last.ends_with("_per_sec")
}

/// One side of a comparison: what the spec named and the metrics it has.
#[derive(Debug, Serialize)]
pub(super) struct Side {
    pub spec: String,
    pub run: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    #[serde(skip)]
    pub metrics: BTreeMap<String, f64>,
    /// Metric names logged by `evaluate` steps: the default set.
    #[serde(skip)]
    pub evaluated: Vec<String>,
}

pub(super) async fn side(registry: &Registry, spec: &str) -> Result<Side, CliError> {
    let (run, model, version) = if spec.contains('@') {
        let v = registry.model_version_of(spec).await?;
        (v.run_id, Some(v.name), Some(v.version))
    } else {
        let run = match spec.strip_prefix("latest:") {
            Some(experiment) => registry
                .list_runs(Some(experiment), 1)
                .await?
                .into_iter()
                .next()
                .map(|r| r.id)
                .ok_or_else(|| CliError::Usage(format!("no run in experiment `{experiment}`")))?,
            None => registry.resolve_run(spec).await?,
        };
        (run, None, None)
    };
    // A model version is judged by its run's own records, not the version's JSON copy of
    // them: exact to the last bit.
    let detail = registry.show_run(&run).await?;
    Ok(Side {
        spec: spec.to_string(),
        metrics: detail.metric_values(),
        evaluated: evaluate_metrics(&detail),
        run,
        model,
        version,
    })
}

/// The names of the metrics a run's `evaluate` steps logged.
fn evaluate_metrics(detail: &crate::registry::RunDetail) -> Vec<String> {
    let steps: Vec<String> = detail
        .steps
        .iter()
        .filter(|s| s.kind == "evaluate")
        .map(|s| format!("{}.", s.id))
        .collect();
    detail
        .metrics
        .keys()
        .filter(|k| steps.iter().any(|s| k.starts_with(s.as_str())))
        .cloned()
        .collect()
}

pub(super) fn label(s: &Side) -> String {
    match (&s.model, s.version) {
        (Some(m), Some(v)) if s.spec.ends_with(&format!("@v{v}")) => format!("{m} v{v} (run {})", short(&s.run)),
        (Some(_), Some(v)) => format!("{} = v{v} (run {})", s.spec, short(&s.run)),
        _ => format!("run {}", short(&s.run)),
    }
}

fn short(run: &str) -> &str {
    &run[..12.min(run.len())]
}
