//! What a step is handed and under which cache key: the one definition that the run and
//! `--dry-run` share, so a plan says exactly what the run will do.

use std::collections::HashMap;
use std::path::Path;

use super::cache::{self, CacheMiss};
use super::resolve::{self, Named};
use crate::artifacts::ArtifactStore;
use crate::frame::{OutputFormat, OutputRef};
use crate::pipeline::graph;
use crate::registry::Registry;
use crate::steps::context::StepError;
use crate::steps::{Step, StepParams};

/// The inputs of step `i`, from the outputs of the steps before it: the tables of its direct
/// needs, and the files (weights, scalers) of every ancestor, nearest first, so a model card can
/// name the scaler that `split` fitted two steps up. `outputs(j)` is what step `j` produced, if
/// known; the error is the first ancestor whose outputs are not known yet.
pub fn step_inputs<'a>(
    steps: &[Step],
    index_of: &HashMap<&str, usize>,
    i: usize,
    outputs: impl Fn(usize) -> Option<&'a [OutputRef]>,
) -> Result<Vec<(String, OutputRef)>, usize> {
    let mut inputs = Vec::new();
    for (distance, j) in graph::ancestors(steps, index_of, i) {
        let made = outputs(j).ok_or(j)?;
        let visible = made
            .iter()
            .filter(|t| distance == 1 || t.format == OutputFormat::File)
            .map(|t| (steps[j].id.clone(), t.clone()));
        inputs.extend(visible);
    }
    Ok(inputs)
}

/// A step's inputs completed with what it names outside the pipeline, and its cache key.
pub struct Keyed {
    /// The wired inputs, then a named model's files and earlier runs' tables.
    pub inputs: Vec<(String, OutputRef)>,
    /// A named model: how to call it, and the chain its new data is prepared by.
    pub model: Option<(String, Vec<(String, StepParams)>)>,
    /// The files the step reads from outside the run, with their versions (for lineage).
    pub files: Vec<(String, String)>,
    /// The cache key, or why there is none (the step then runs).
    pub key: Result<String, CacheMiss>,
}

/// Resolves what `step` names outside its pipeline (checked against recorded digests) and
/// computes its cache key from `inputs` (see [`step_inputs`]). An error means the step cannot
/// run at all (a named run or model is missing or changed).
pub async fn keyed(
    step: &Step,
    mut inputs: Vec<(String, OutputRef)>,
    root: &Path,
    registry: &Registry,
    store: &ArtifactStore,
) -> Result<Keyed, StepError> {
    let Named { inputs: named, model } = resolve::named_by(&step.params, root, registry, store).await?;
    inputs.extend(named);
    let (files, key) = match cache::file_versions(step, root, registry).await {
        Ok(files) => {
            let key = cache::key(step, &inputs, &files);
            (files, Ok(key))
        }
        Err(miss) => (Vec::new(), Err(miss)),
    };
    Ok(Keyed {
        inputs,
        model,
        files,
        key,
    })
}
