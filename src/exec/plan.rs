//! `pmflow run --dry-run`: for each step, whether it would come from the cache or run, and why.

use std::collections::HashMap;

use super::{cache, wiring};
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
    let index_of: HashMap<&str, usize> = steps.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
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
        if let Some(p) = step.params.as_register() {
            let name = p.model.clone().unwrap_or_else(|| pipeline.name.clone());
            lines.push(line(false, format!("always runs: registers a new version of `{name}`")));
            continue;
        }
        let known_outputs = |j: usize| known.get(steps[j].id.as_str()).map(Vec::as_slice);
        let inputs = match wiring::step_inputs(steps, &index_of, i, known_outputs) {
            Ok(inputs) => inputs,
            Err(j) => {
                lines.push(line(false, format!("upstream `{}` will run", steps[j].id)));
                continue;
            }
        };
        // What the run adds to the inputs (and so the key), found the way the run finds it.
        let keyed = match wiring::keyed(step, inputs, &pipeline.source.root, registry, store).await {
            Ok(keyed) => keyed,
            Err(e) => {
                lines.push(line(false, format!("will fail: {e}")));
                continue;
            }
        };
        let key = match keyed.key {
            Ok(key) => key,
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
