//! The run report gathered from the registry and the run's own files (`html` lays it out):
//! written beside every run's artifacts when it ends, whatever its outcome, and on demand by
//! `pmflow report`.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::artifacts::{store_for_url, ArtifactError, ArtifactStore};
use crate::html::{self, ReportInput, Versus};
use crate::registry::{Registry, RegistryError};

/// Why a run's report could not be made or stored; the text is the cause's own.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    Registry(#[from] RegistryError),
    #[error("{0}")]
    Store(#[from] ArtifactError),
    /// The registry failed during the run: a page would show half of it. Holds that failure's
    /// text (the error itself stays with the run's outcome).
    #[error("the run's records are incomplete: {0}")]
    Incomplete(String),
}

/// Files larger than this are not inlined (a picture is a few hundred kB at most).
const MAX_INLINED: i64 = 16 << 20;

/// The report of `run_id` as HTML, with `vs` beside its metrics.
pub async fn render(registry: &Registry, run_id: &str, vs: Option<Versus>) -> Result<String, ReportError> {
    let run = registry.show_run(run_id).await?;
    let versions = registry.versions_of_run(run_id).await?;
    let mut files = BTreeMap::new();
    for a in &run.artifacts {
        if a.removed_at.is_some() || !html::wanted(&a.name) || a.bytes > MAX_INLINED {
            continue;
        }
        // A file that cannot be read is left out of the page, not a reason to have no page.
        let Ok(store) = store_for_url(&a.uri) else { continue };
        if let Ok(bytes) = store.get(&a.uri).await {
            files.insert((a.step.clone(), a.name.clone()), bytes.to_vec());
        }
    }
    Ok(html::render(&ReportInput {
        run: &run,
        files,
        versions,
        vs,
        generated_at: crate::registry::now_text(),
    }))
}

/// Writes `report.html` under `prefix` in `store` and records it among the run's artifacts.
/// Returns its URI.
pub async fn write(
    registry: &Registry,
    store: &ArtifactStore,
    prefix: &str,
    run_id: &str,
) -> Result<String, ReportError> {
    let page = render(registry, run_id, None).await?;
    let stored = store
        .put(&format!("{prefix}/{}", html::FILE), Bytes::from(page))
        .await?;
    registry.log_artifact(run_id, "", html::FILE, &stored).await?;
    Ok(stored.uri)
}
