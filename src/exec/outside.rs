//! What the runner lets a step reach outside its run, behind the narrow views of
//! `steps::context`: files in object storage, and the registry read-only. Steps call these from
//! their own blocking thread, so each call blocks on the runtime's handle.

use std::future::Future;
use std::path::PathBuf;

use tokio::runtime::Handle;

use crate::artifacts::{store_for_url, temporary_path};
use crate::registry::{Registry, RegistryError};
use crate::steps::context::{RegistryView, RemoteFiles, RunRecord, StepError};

/// Runs `work` to completion from a step's blocking thread.
fn block_on<T>(what: &str, work: impl Future<Output = T>) -> Result<T, StepError> {
    let handle = Handle::try_current().map_err(|e| StepError::new(format!("cannot reach {what}: {e}")))?;
    Ok(handle.block_on(work))
}

/// `s3://` inputs through object_store, with the usual AWS_* configuration.
pub struct ObjectStoreFiles;

impl RemoteFiles for ObjectStoreFiles {
    fn matching(&self, pattern: &str) -> Result<Vec<String>, StepError> {
        let store = store_for_url(pattern).map_err(|e| StepError::new(e.to_string()))?;
        block_on(pattern, store.matching(pattern))?.map_err(|e| StepError::new(e.to_string()))
    }

    fn download(&self, url: &str, name: &str) -> Result<PathBuf, StepError> {
        let store = store_for_url(url).map_err(|e| StepError::new(e.to_string()))?;
        let path = temporary_path(name);
        block_on(url, store.download_to(url, &path))?.map_err(|e| StepError::new(e.to_string()))?;
        Ok(path)
    }
}

/// The run's registry, read-only.
pub struct RegistryReader(pub Registry);

impl RegistryView for RegistryReader {
    fn run(&self, spec: &str) -> Result<Option<RunRecord>, StepError> {
        let registry = &self.0;
        let found = block_on("the registry", async {
            let id = match registry.resolve_run(spec).await {
                Ok(id) => id,
                Err(RegistryError::NotFound(_)) => return Ok(None),
                Err(e) => return Err(e),
            };
            registry.show_run(&id).await.map(Some)
        })?;
        let Some(detail) = found.map_err(|e| StepError::new(e.to_string()))? else {
            return Ok(None);
        };
        Ok(Some(RunRecord {
            id: detail.summary.id,
            pipeline: detail.summary.pipeline,
            status: detail.summary.status,
            params: detail.params.into_iter().collect(),
            metrics: detail
                .metrics
                .into_iter()
                .filter_map(|(name, value)| value.as_f64().map(|v| (name, v)))
                .collect(),
        }))
    }
}
