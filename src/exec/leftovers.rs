//! What a killed run leaves in its folder: staging files of writes that never finished
//! (`.NAME.partial-PID`) and complete files it wrote but never recorded (a SIGKILL between the
//! rename and the registry insert). `--resume` clears them before the run goes on; `pmflow gc`
//! clears them for every run that is not running.

use std::collections::HashSet;

use crate::artifacts::{ArtifactError, ArtifactStore, StoredObject};
use crate::registry::{pmflow_alive, Registry, RegistryError};

#[derive(Debug, thiserror::Error)]
pub enum LeftoverError {
    #[error(transparent)]
    Store(#[from] ArtifactError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// The PID in a staging file's name (`.train.parquet.partial-4242`), if it is one.
pub fn staging_pid(uri: &str) -> Option<i64> {
    let name = uri.rsplit('/').next()?;
    let (_, pid) = name.strip_prefix('.')?.rsplit_once(".partial-")?;
    pid.parse().ok()
}

/// A staging file whose writer is gone. One of a live pmflow on this host is being written.
pub fn is_dead_staging(uri: &str) -> bool {
    staging_pid(uri).is_some_and(|pid| !pmflow_alive(pid))
}

/// The objects under the run's folder `prefix` (`EXPERIMENT/RUN_ID`) that the registry does
/// not record for `run_id`: dead staging files and unrecorded complete files. The caller
/// makes sure the run is not running.
pub async fn of_run(
    store: &ArtifactStore,
    registry: &Registry,
    prefix: &str,
    run_id: &str,
) -> Result<Vec<StoredObject>, LeftoverError> {
    let recorded = registry.recorded_uris(run_id).await?;
    Ok(store
        .list(prefix)
        .await?
        .into_iter()
        .filter(|o| is_leftover(&o.uri, &recorded))
        .collect())
}

/// Whether `uri`, in the folder of a run that is not running, is a leftover: a staging file
/// whose writer is gone, or a complete file the run never recorded (`recorded`).
pub fn is_leftover(uri: &str, recorded: &HashSet<String>) -> bool {
    match staging_pid(uri) {
        Some(_) => is_dead_staging(uri),
        None => !recorded.contains(uri),
    }
}

/// Removes `objects`; returns how many bytes that freed.
pub async fn remove(store: &ArtifactStore, objects: &[StoredObject]) -> Result<u64, ArtifactError> {
    let mut freed = 0;
    for o in objects {
        store.delete(&o.uri).await?;
        freed += o.bytes;
    }
    Ok(freed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_files_are_known_by_name() {
        assert_eq!(
            staging_pid("file:///a/pumps/r/split/.train.parquet.partial-4242"),
            Some(4242)
        );
        assert_eq!(staging_pid("file:///a/pumps/r/split/train.parquet"), None);
        assert_eq!(staging_pid("file:///a/x/.notes.partial-abc"), None);
        assert!(is_dead_staging("file:///a/.t.parquet.partial-999999999"));
        let mine = format!("file:///a/.t.parquet.partial-{}", std::process::id());
        assert!(!is_dead_staging(&mine), "this process is alive");
    }
}
