//! The step cache (`dvc repro` style): a step whose kind, resolved `with`, input tables, input
//! files and pmflow version and code are unchanged reuses the outputs recorded by an earlier run, after
//! checking they still exist with the recorded digest.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::outside::ObjectStoreFiles;
use crate::artifacts::ArtifactStore;
use crate::frame::OutputRef;
use crate::registry::{CachedStep, FileStamp, Registry};
use crate::steps::{self, Step};

/// Why a step has no cache key, or why a cached execution cannot be reused; the step then runs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct CacheMiss(String);

/// The version of every file a step reads from outside the pipeline, as (source, version): the
/// sha256 of a local file (remembered in the registry while the file's size, modification time
/// and inode stay the same), the size and ETag of an `s3://` object. An error says why no key
/// can be computed (then the step just runs).
pub async fn file_versions(step: &Step, root: &Path, registry: &Registry) -> Result<Vec<(String, String)>, CacheMiss> {
    let mut files = Vec::new();
    let (params, root_owned) = (step.params.clone(), root.to_path_buf());
    // Listing a pattern may touch the file system or S3: a blocking thread.
    let sources = tokio::task::spawn_blocking(move || steps::external_inputs(&params, &root_owned, &ObjectStoreFiles))
        .await
        .map_err(|e| CacheMiss(e.to_string()))?;
    for source in sources {
        let version = if source.starts_with("s3://") {
            object_version(&source).await?
        } else {
            local_sha256(Path::new(&source), registry).await?
        };
        files.push((source, version));
    }
    Ok(files)
}

/// The key of one step execution, from its definition, its input tables and [`file_versions`].
pub fn key(step: &Step, inputs: &[(String, OutputRef)], files: &[(String, String)]) -> String {
    let material = serde_json::json!({
        "pmflow": env!("CARGO_PKG_VERSION"),
        "code": env!("PMFLOW_CODE_FINGERPRINT"),
        "kind": step.kind.name(),
        "with": step.with,
        "inputs": inputs.iter().map(|(from, t)| (format!("{from}/{}", t.name), &t.sha256)).collect::<Vec<_>>(),
        "files": files,
    });
    hex::encode(Sha256::digest(material.to_string().as_bytes()))
}

/// The sha256 of a local file: the one the registry remembers when the file's stamp is
/// unchanged, else hashed now (on a blocking thread) and remembered.
pub async fn local_sha256(path: &Path, registry: &Registry) -> Result<String, CacheMiss> {
    // A named pipe or device has no stable content to hash (and reading it would block).
    let unreadable = |e: std::io::Error| CacheMiss(format!("{}: {e}", path.display()));
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    if !meta.is_file() {
        return Err(CacheMiss(format!("{} is not a regular file", path.display())));
    }
    let stamp = FileStamp::of(path).map_err(unreadable)?;
    if let Ok(Some(known)) = registry.known_digest(path, stamp).await {
        return Ok(known);
    }
    let owned = path.to_path_buf();
    let sha256 = tokio::task::spawn_blocking(move || crate::artifacts::file_sha256(&owned))
        .await
        .map_err(|e| CacheMiss(e.to_string()))?
        .map_err(unreadable)?;
    // Remembered only if the file did not change while it was read.
    if FileStamp::of(path).ok() == Some(stamp) {
        let _ = registry.remember_digest(path, stamp, &sha256).await;
    }
    Ok(sha256)
}

/// Size and ETag of an object read straight from object storage (hashing it would mean
/// downloading it twice).
async fn object_version(url: &str) -> Result<String, CacheMiss> {
    let store = crate::artifacts::store_for_url(url).map_err(|e| CacheMiss(e.to_string()))?;
    let (size, tag) = store.head(url).await.map_err(|e| CacheMiss(e.to_string()))?;
    Ok(format!("{size}:{tag}"))
}

/// The sha256 of an artifact as it is stored now: a local file through its remembered stamp
/// (not read again when unchanged), a remote object hashed as it streams.
pub async fn stored_sha256(uri: &str, store: &ArtifactStore, registry: &Registry) -> Result<String, CacheMiss> {
    match store.local_file(uri) {
        Some(path) => local_sha256(&path, registry).await,
        None => store.sha256_of(uri).await.map_err(|e| CacheMiss(e.to_string())),
    }
}

/// Whether every artifact of a cached step is still in the store with its recorded digest.
/// Local artifacts whose stamp is unchanged since they were hashed are not read again; the
/// others are hashed at the same time (each on a blocking thread, or as its own download).
pub async fn still_valid(cached: &CachedStep, store: &ArtifactStore, registry: &Registry) -> Result<(), CacheMiss> {
    let checks = cached.artifacts.iter().map(|(name, a)| async move {
        let sha256 = stored_sha256(&a.uri, store, registry)
            .await
            .map_err(|e| CacheMiss(format!("cached `{name}` is gone ({e})")))?;
        if sha256 != a.sha256 {
            return Err(CacheMiss(format!("cached `{name}` changed since it was recorded")));
        }
        Ok(())
    });
    futures::future::try_join_all(checks).await.map(|_| ())
}
