//! One side of a comparison (`compare`, `report --vs`): a run or model version named by a
//! spec, with the metrics its run logged, read from the registry.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::CliError;

use crate::registry::Registry;

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
    let measuring = crate::steps::StepKind::names_with(crate::steps::Effect::ModelQuality);
    let steps: Vec<String> = detail
        .steps
        .iter()
        .filter(|s| measuring.contains(&s.kind.as_str()))
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
