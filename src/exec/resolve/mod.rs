//! Everything a step names outside its run, found through the registry and digest-checked once,
//! before the step sees it: a registered model (or a run's model) to score with, with the chain
//! that trained it ([`model`]), and earlier runs' tables ([`table`]). The run and `--dry-run`
//! both call [`named_by`], so the key a plan predicts is the key a run uses.

mod code;
mod model;
mod table;

use std::path::Path;

pub use model::{model, ModelSource};

use super::cache::stored_sha256;
use crate::artifacts::ArtifactStore;
use crate::frame::OutputRef;
use crate::registry::Registry;
use crate::steps::context::StepError;
use crate::steps::StepParams;

/// What a step names outside its pipeline, resolved and digest-checked: the inputs it adds
/// (a named model's files first, then earlier runs' tables), which are part of its cache key,
/// and for a named model how to call it and the chain its new data is prepared by.
pub struct Named {
    pub inputs: Vec<(String, OutputRef)>,
    pub model: Option<(String, Vec<(String, StepParams)>)>,
}

/// The run and `--dry-run` both call this, so the key a plan predicts is the key a run uses.
pub async fn named_by(
    params: &StepParams,
    root: &Path,
    registry: &Registry,
    store: &ArtifactStore,
) -> Result<Named, StepError> {
    let mut named = Named {
        inputs: Vec::new(),
        model: None,
    };
    let ports = crate::steps::ports(params);
    if let Some(spec) = ports.model() {
        let model = model(spec, root, registry).await?;
        named.inputs.extend(model.files);
        named.model = Some((model.shown, model.chain));
    }
    for wanted in ports.run_tables() {
        let table = table::resolve(&wanted, registry, store).await?;
        named.inputs.push((wanted.input.to_string(), table));
    }
    Ok(named)
}

/// How a recorded file stands now.
pub(super) enum Digest {
    AsRecorded,
    Changed,
    Unreadable(String),
}

/// Whether `file` still has the digest recorded for it in `store`.
pub(super) async fn digest_of(file: &OutputRef, store: &ArtifactStore, registry: &Registry) -> Digest {
    match stored_sha256(&file.uri, store, registry).await {
        Ok(sha256) if sha256 == file.sha256 => Digest::AsRecorded,
        Ok(_) => Digest::Changed,
        Err(e) => Digest::Unreadable(e.to_string()),
    }
}
