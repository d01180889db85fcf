//! `pmflow run --dry-run`: for each step, whether it would come from the cache or run, and why.

use std::collections::HashMap;

use super::cache;
use crate::artifacts::ArtifactStore;
use crate::frame::OutputRef;
use crate::pipeline::graph;
use crate::registry::{Registry, RegistryError};
use crate::steps::Pipeline;

pub struct PlanLine {
    pub step: String,
    pub kind: &'static str,
    pub cached: bool,
    pub why: String,
}

pub async fn plan(
    pipeline: &Pipeline,
    registry: &Registry,
    store: &ArtifactStore,
    force: &[String],
) -> Result<Vec<PlanLine>, RegistryError> {
    let steps = &pipeline.steps;
    let forced = graph::forced(steps, force);
    let mut known: HashMap<&str, Vec<OutputRef>> = HashMap::new();
    let mut lines = Vec::new();
    for i in graph::order(steps) {
        let step = &steps[i];
        let line = |cached: bool, why: String| PlanLine {
            step: step.id.clone(),
            kind: step.kind.name(),
            cached,
            why,
        };
        if forced.contains(&i) {
            lines.push(line(false, "forced (--force)".into()));
            continue;
        }
        if let crate::steps::StepParams::Register(p) = &step.params {
            let name = p.model.clone().unwrap_or_else(|| pipeline.name.clone());
            lines.push(line(false, format!("always runs: registers a new version of `{name}`")));
            continue;
        }
        if let Some(up) = step.needs.iter().find(|n| !known.contains_key(n.as_str())) {
            lines.push(line(false, format!("upstream `{up}` will run")));
            continue;
        }
        let mut inputs: Vec<(String, OutputRef)> = step
            .needs
            .iter()
            .flat_map(|n| known[n.as_str()].iter().map(move |t| (n.clone(), t.clone())))
            .collect();
        // What the run adds to the inputs (and so the key), found the way the run finds it.
        match super::references::named_by(&step.params, &pipeline.source.root, registry, store).await {
            Ok(named) => inputs.extend(named.inputs),
            Err(e) => {
                lines.push(line(false, format!("will fail: {e}")));
                continue;
            }
        }
        let key = match cache::file_versions(step, &pipeline.source.root, registry).await {
            Ok(files) => cache::key(step, &inputs, &files),
            Err(e) => {
                lines.push(line(false, format!("no cache key: {e}")));
                continue;
            }
        };
        match registry.find_cached(&key).await? {
            None => lines.push(line(false, "no earlier run with the same inputs and parameters".into())),
            Some(c) => match cache::still_valid(&c, store, registry).await {
                Err(why) => lines.push(line(false, why.to_string())),
                Ok(()) => {
                    lines.push(line(true, format!("outputs of run {}", c.run_id)));
                    known.insert(step.id.as_str(), c.tables);
                }
            },
        }
    }
    Ok(lines)
}
