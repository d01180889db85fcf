//! The step cache (`dvc repro` style): a step whose kind, resolved `with`, input tables, input
//! files and pmflow version and code are unchanged reuses the outputs recorded by an earlier run, after
//! checking they still exist with the recorded digest.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::artifacts::ArtifactStore;
use crate::pipeline::Step;
use crate::registry::CachedStep;
use crate::steps;
use crate::table::OutputRef;

/// The key of one step execution, or why none can be computed (then the step just runs).
pub fn key(step: &Step, inputs: &[(String, OutputRef)], root: &Path) -> Result<String, String> {
    let mut files = Vec::new();
    for source in steps::external_inputs(&step.params, root) {
        let version = if source.starts_with("s3://") {
            object_version(&source)?
        } else {
            file_digest(Path::new(&source))?
        };
        files.push((source, version));
    }
    let material = serde_json::json!({
        "pmflow": env!("CARGO_PKG_VERSION"),
        "code": env!("PMFLOW_CODE_FINGERPRINT"),
        "kind": step.kind.name(),
        "with": step.with,
        "inputs": inputs.iter().map(|(from, t)| (format!("{from}/{}", t.name), &t.sha256)).collect::<Vec<_>>(),
        "files": files,
    });
    Ok(hex::encode(Sha256::digest(material.to_string().as_bytes())))
}

fn file_digest(path: &Path) -> Result<String, String> {
    // A named pipe or device has no stable content to hash (and reading it would block).
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    crate::artifacts::file_sha256(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Size and ETag of an object read straight from object storage (hashing it would mean
/// downloading it twice). Called from a blocking thread inside the runtime.
fn object_version(url: &str) -> Result<String, String> {
    let store = crate::artifacts::store_for_url(url).map_err(|e| e.to_string())?;
    let handle = tokio::runtime::Handle::try_current().map_err(|e| e.to_string())?;
    let (size, tag) = handle.block_on(store.head(url)).map_err(|e| e.to_string())?;
    Ok(format!("{size}:{tag}"))
}

/// Whether every artifact of a cached step is still in the store with its recorded digest.
/// The artifacts are hashed at the same time (each on a blocking thread, or as its own
/// download): on the 10M-row benchmark a step's tables are gigabytes.
pub async fn still_valid(cached: &CachedStep, store: &ArtifactStore) -> Result<(), String> {
    let checks = cached.artifacts.iter().map(|(name, a)| async move {
        let sha256 = store
            .sha256_of(&a.uri)
            .await
            .map_err(|e| format!("cached `{name}` is gone ({e})"))?;
        if sha256 != a.sha256 {
            return Err(format!("cached `{name}` changed since it was recorded"));
        }
        Ok(())
    });
    futures::future::try_join_all(checks).await.map(|_| ())
}
