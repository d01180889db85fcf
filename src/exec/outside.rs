//! What the runner lets a step reach outside its run, behind the narrow views of
//! `steps::context`: files in object storage, and the registry read-only. Steps call these from
//! their own blocking thread, so each call blocks on the runtime's handle.

use std::future::Future;
use std::path::PathBuf;
#[cfg(test)]
use std::sync::Arc;

use tokio::runtime::Handle;

use crate::artifacts::store_for_url;
use crate::frame::temporary_path;
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
        let metrics = detail.metric_values();
        Ok(Some(RunRecord {
            id: detail.summary.id,
            pipeline: detail.summary.pipeline,
            status: detail.summary.status,
            params: detail.params.into_iter().collect(),
            metrics,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{test_run, MetricPoint, RegistryLocation};

    /// A step's thread reads a recorded run, its params and its last metric values, through the
    /// view; a run that is not there is None, not an error.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_step_reads_a_run_through_the_read_only_view() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::open(&RegistryLocation::Sqlite(dir.path().join("r.db")))
            .await
            .unwrap();
        registry.create_run(&test_run("r1")).await.unwrap();
        let point = |key: &str, value: f64, step: i64| MetricPoint {
            step_id: "evaluate".into(),
            key: key.into(),
            value,
            step,
            time_ms: 0,
        };
        let points = [point("f1", 0.5, 1), point("f1", 0.75, 2), point("pr_auc", 0.9, 0)];
        registry.log_metrics("r1", &points).await.unwrap();
        let view: Arc<dyn RegistryView> = Arc::new(RegistryReader(registry));
        let seen = view.clone();
        let (found, missing) = tokio::task::spawn_blocking(move || (seen.run("latest"), seen.run("nope")))
            .await
            .unwrap();
        let run = found.unwrap().expect("the run is found");
        assert_eq!((run.id.as_str(), run.pipeline.as_str()), ("r1", "p"));
        assert_eq!(run.metrics["evaluate.f1"], 0.75, "the last value by step index");
        assert_eq!(run.metrics["evaluate.pr_auc"], 0.9);
        assert_eq!(run.params["params.seed"], serde_json::json!(42));
        assert_eq!(missing.unwrap(), None);
    }
}
