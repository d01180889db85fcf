//! Artifact storage through object_store: a local folder by default, any S3-compatible server
//! in production. Writes are atomic (a reader never sees half a file) and every artifact is
//! recorded with its sha256 and size.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};

/// Where artifacts live, parsed from `storage.artifacts`.
#[derive(Debug, Clone, PartialEq)]
pub enum ArtifactLocation {
    /// `file://DIR` (relative to the project root) or `file:///abs/dir`.
    Local(PathBuf),
    /// `s3://bucket/prefix`, configured by the usual AWS_* environment variables.
    S3 { bucket: String, prefix: String },
}

impl ArtifactLocation {
    pub fn parse(text: &str, root: &Path) -> Result<Self, String> {
        if let Some(rest) = text.strip_prefix("file://") {
            if rest.is_empty() {
                return Err("`file://` needs a directory, e.g. `file://artifacts`".into());
            }
            return Ok(ArtifactLocation::Local(root.join(rest)));
        }
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err("`s3://` needs a bucket, e.g. `s3://my-bucket/pmflow`".into());
            }
            return Ok(ArtifactLocation::S3 {
                bucket: bucket.into(),
                prefix: prefix.trim_matches('/').into(),
            });
        }
        let scheme = text.split_once("://").map(|(s, _)| s).unwrap_or("");
        Err(if scheme.is_empty() {
            format!("`{text}` is not a URL; use `file://DIR` or `s3://BUCKET/PREFIX`")
        } else {
            format!("unsupported artifact store `{scheme}://`; use `file://DIR` or `s3://BUCKET/PREFIX`")
        })
    }

    /// The URL as shown to users and stored in the registry (never contains credentials).
    pub fn url(&self) -> String {
        match self {
            ArtifactLocation::Local(dir) => format!("file://{}", dir.display()),
            ArtifactLocation::S3 { bucket, prefix } if prefix.is_empty() => format!("s3://{bucket}"),
            ArtifactLocation::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("cannot open artifact store {url}: {cause}")]
    Open { url: String, cause: String },
    #[error("cannot write {uri}: {cause}")]
    Write { uri: String, cause: String },
    #[error("cannot read {uri}: {cause}")]
    Read { uri: String, cause: String },
    #[error("artifact {uri} does not belong to the store at {store}")]
    Foreign { uri: String, store: String },
}

/// A stored artifact as the registry records it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredArtifact {
    pub uri: String,
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Clone)]
pub struct ArtifactStore {
    store: Arc<dyn ObjectStore>,
    base: String,
    prefix: String,
}

impl ArtifactStore {
    pub fn open(location: &ArtifactLocation) -> Result<Self, ArtifactError> {
        let url = location.url();
        let err = |cause: String| ArtifactError::Open {
            url: url.clone(),
            cause,
        };
        match location {
            ArtifactLocation::Local(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
                let fs = LocalFileSystem::new_with_prefix(dir).map_err(|e| err(e.to_string()))?;
                Ok(ArtifactStore {
                    store: Arc::new(fs),
                    base: url.clone(),
                    prefix: String::new(),
                })
            }
            ArtifactLocation::S3 { bucket, prefix } => {
                let s3 = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .build()
                    .map_err(|e| err(e.to_string()))?;
                Ok(ArtifactStore {
                    store: Arc::new(s3),
                    base: format!("s3://{bucket}"),
                    prefix: prefix.clone(),
                })
            }
        }
    }

    fn path(&self, key: &str) -> StorePath {
        if self.prefix.is_empty() {
            StorePath::from(key)
        } else {
            StorePath::from(format!("{}/{key}", self.prefix))
        }
    }

    fn uri_of(&self, path: &StorePath) -> String {
        format!("{}/{}", self.base.trim_end_matches('/'), path)
    }

    /// Writes `data` under `key` atomically and returns its record.
    ///
    /// Local writes go to a staging file that is renamed into place; S3 objects appear only
    /// when the upload completes. Either way a reader sees the whole artifact or nothing.
    pub async fn put(&self, key: &str, data: Bytes) -> Result<StoredArtifact, ArtifactError> {
        let path = self.path(key);
        let uri = self.uri_of(&path);
        let sha256 = hex::encode(Sha256::digest(&data));
        let bytes = data.len() as u64;
        self.store
            .put(&path, PutPayload::from_bytes(data))
            .await
            .map_err(|e| ArtifactError::Write {
                uri: uri.clone(),
                cause: describe(&e),
            })?;
        Ok(StoredArtifact { uri, sha256, bytes })
    }

    /// Reads an artifact back by the URI `put` returned.
    pub async fn get(&self, uri: &str) -> Result<Bytes, ArtifactError> {
        let key = uri
            .strip_prefix(self.base.trim_end_matches('/'))
            .map(|k| k.trim_start_matches('/'))
            .ok_or_else(|| ArtifactError::Foreign {
                uri: uri.into(),
                store: self.base.clone(),
            })?;
        let path = StorePath::from(key);
        let result = self.store.get(&path).await.map_err(|e| ArtifactError::Read {
            uri: uri.into(),
            cause: describe(&e),
        })?;
        result.bytes().await.map_err(|e| ArtifactError::Read {
            uri: uri.into(),
            cause: describe(&e),
        })
    }
}

/// object_store errors, in a form that names the cause but never credentials.
fn describe(e: &object_store::Error) -> String {
    match e {
        object_store::Error::NotFound { .. } => "not found (is the bucket or folder there?)".into(),
        other => other.to_string(),
    }
}
