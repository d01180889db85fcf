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

/// The files `step` reads from outside the run (`files`, with their versions now) whose version
/// differs from the one its newest recorded run read, relative to `root` when under it.
async fn changed_files(
    registry: &Registry,
    pipeline: &str,
    step: &str,
    files: &[(String, String)],
    root: &std::path::Path,
) -> Result<Vec<String>, RegistryError> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let before: HashMap<String, String> = registry.last_files_read(pipeline, step).await?.into_iter().collect();
    if before.is_empty() {
        return Ok(Vec::new());
    }
    let shown = |file: &str| {
        std::path::Path::new(file)
            .strip_prefix(root)
            .map_or(file.to_string(), |p| p.display().to_string())
    };
    Ok(files
        .iter()
        .filter(|(file, version)| before.get(file).is_some_and(|old| old != version))
        .map(|(file, _)| shown(file))
        .collect())
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
            None => {
                let changed =
                    changed_files(registry, &pipeline.name, &step.id, &keyed.files, &pipeline.source.root).await?;
                let why = match changed.is_empty() {
                    true => "no earlier run with the same inputs and parameters".to_string(),
                    false => format!("{} changed since the last run", changed.join(", ")),
                };
                lines.push(line(false, why));
            }
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
