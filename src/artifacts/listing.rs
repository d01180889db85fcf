//! What a store holds and removing it, for `pmflow gc` and for the leftovers of a killed run
//! that `--resume` clears away.

use futures::TryStreamExt;
use object_store::path::Path as StorePath;
use object_store::ObjectStoreExt;

use super::{describe, ArtifactError, ArtifactStore};

/// One object in the store.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredObject {
    pub uri: String,
    pub bytes: u64,
    /// Seconds since 1970 of its last change.
    pub modified: i64,
}

impl ArtifactStore {
    /// Every object under `key_prefix` (a folder such as `pumps/RUN_ID`; empty for the whole
    /// store), staging files of unfinished writes included, in name order.
    pub async fn list(&self, key_prefix: &str) -> Result<Vec<StoredObject>, ArtifactError> {
        let prefix = if key_prefix.is_empty() {
            (!self.prefix.is_empty()).then(|| StorePath::from(self.prefix.as_str()))
        } else {
            Some(self.path(key_prefix))
        };
        let shown = match &prefix {
            Some(p) => self.uri_of(p),
            None => self.base.clone(),
        };
        let objects: Vec<object_store::ObjectMeta> = match self.store.list(prefix.as_ref()).try_collect().await {
            Ok(objects) => objects,
            // A folder that was never written is empty, not an error.
            Err(object_store::Error::NotFound { .. }) => Vec::new(),
            Err(e) => {
                return Err(ArtifactError::Read {
                    uri: shown,
                    cause: describe(&e),
                })
            }
        };
        let mut found: Vec<StoredObject> = objects
            .into_iter()
            .map(|o| StoredObject {
                uri: self.uri_of(&o.location),
                bytes: o.size,
                modified: o.last_modified.timestamp(),
            })
            .collect();
        found.sort_by(|a, b| a.uri.cmp(&b.uri));
        Ok(found)
    }

    /// Removes one object; one that is already gone is not an error.
    pub async fn delete(&self, uri: &str) -> Result<(), ArtifactError> {
        let path = self.path_of(uri)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(ArtifactError::Write {
                uri: uri.into(),
                cause: describe(&e),
            }),
        }
    }

    /// Removes the empty folders a local store is left with after deletions (object stores
    /// have no folders). Best effort: a folder that cannot be removed stays.
    pub fn prune_empty_folders(&self) {
        fn prune(dir: &std::path::Path) -> bool {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return false;
            };
            let mut empty = true;
            for entry in entries.flatten() {
                let path = entry.path();
                let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
                if !(is_dir && prune(&path) && std::fs::remove_dir(&path).is_ok()) {
                    empty = false;
                }
            }
            empty
        }
        if let Some(root) = &self.local_root {
            prune(root);
        }
    }

    /// The key of `uri` inside the store (`pumps/RUN/split/train.parquet`), if it is one of its.
    pub fn key_of(&self, uri: &str) -> Option<String> {
        let path = self.path_of(uri).ok()?;
        let full = path.as_ref();
        Some(match self.prefix.as_str() {
            "" => full.to_string(),
            prefix => full.strip_prefix(prefix)?.trim_start_matches('/').to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::location::ArtifactLocation;
    use bytes::Bytes;

    #[tokio::test]
    async fn lists_staging_files_too_and_deletes_idempotently() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(&ArtifactLocation::Local(dir.path().to_path_buf())).unwrap();
        let kept = store
            .put("pumps/r1/split/train.parquet", Bytes::from_static(b"abc"))
            .await
            .unwrap();
        std::fs::write(dir.path().join("pumps/r1/split/.val.parquet.partial-99999"), b"half").unwrap();
        let found = store.list("pumps/r1").await.unwrap();
        let names: Vec<&str> = found.iter().map(|o| o.uri.rsplit('/').next().unwrap()).collect();
        assert_eq!(names, [".val.parquet.partial-99999", "train.parquet"]);
        assert_eq!(store.key_of(&kept.uri).unwrap(), "pumps/r1/split/train.parquet");
        store.delete(&kept.uri).await.unwrap();
        store.delete(&kept.uri).await.unwrap();
        assert_eq!(store.list("pumps/r1").await.unwrap().len(), 1);
        assert!(store.list("pumps/none").await.unwrap().is_empty());
    }
}
