//! `pmflow predict` outside any pipeline: the named model resolved (see [`super::resolve`]),
//! its files read and checked again as read, and the `predict` step run on the new file.

use std::path::Path;

use super::resolve::{self, ModelSource};
use crate::artifacts::store_for_url;
use crate::registry::Registry;
use crate::steps::context::StepError;

/// Why `pmflow predict` could not score: the model named, or the data given.
#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    #[error("{0}")]
    Model(StepError),
    #[error("{0}")]
    Data(StepError),
}

/// `pmflow predict`: resolves `spec`, reads its files (checked again as read), and runs the
/// `predict` step on `params.path` outside any pipeline. Warnings go to `on_warning`, progress
/// messages to `on_progress`.
pub async fn predict(
    spec: &str,
    params: crate::steps::predict::PredictParams,
    root: &Path,
    registry: &Registry,
    on_warning: impl Fn(String) + Send + 'static,
    on_progress: impl Fn(String) + Send + 'static,
) -> Result<(ModelSource, crate::steps::context::StepOutput), PredictError> {
    use sha2::{Digest, Sha256};
    let model = resolve::model(spec, root, registry)
        .await
        .map_err(PredictError::Model)?;
    let unreadable = |e: String| PredictError::Model(StepError::new(e));
    let mut files = Vec::new();
    for (from, f) in &model.files {
        let store = store_for_url(&f.uri).map_err(|e| unreadable(e.to_string()))?;
        let bytes = store.get(&f.uri).await.map_err(|e| unreadable(e.to_string()))?;
        if hex::encode(Sha256::digest(&bytes)) != f.sha256 {
            return Err(unreadable(format!(
                "{}: {} changed while it was read; try again",
                model.shown, f.name
            )));
        }
        files.push((format!("{from}/{}", f.name), bytes.to_vec()));
    }
    let events: crate::steps::context::StepEvents = Box::new(move |e| match e {
        crate::steps::context::StepEvent::Warning { message } => on_warning(message),
        crate::steps::context::StepEvent::Progress { message, .. } => on_progress(message),
        crate::steps::context::StepEvent::Metric { .. } | crate::steps::context::StepEvent::Tag { .. } => {}
    });
    let mut ctx = crate::steps::context::StepContext::new("predict".into(), root.to_path_buf(), Vec::new(), events);
    ctx.remote = std::sync::Arc::new(super::outside::ObjectStoreFiles);
    ctx.files = files;
    ctx.upstream = model.chain.clone();
    let output = tokio::task::spawn_blocking(move || crate::steps::predict::run(&params, &mut ctx))
        .await
        .map_err(|e| StepError::new(format!("internal error: scoring panicked ({e}); please report this")))
        .and_then(|scored| scored)
        .map_err(PredictError::Data)?;
    Ok((model, output))
}
