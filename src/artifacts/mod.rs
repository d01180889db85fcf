//! Artifact storage through object_store: a local folder by default, any S3-compatible server
//! in production. Writes are atomic (a reader never sees half a file) and every artifact is
//! recorded with its sha256 and size.

mod direct_io;
mod listing;
mod s3_env;
mod upload;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, RetryConfig, WriteMultipart};
use sha2::{Digest, Sha256};

pub use crate::pipeline::location::ArtifactLocation;
pub use s3_env::S3Setup;

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
    /// The `AWS_*` variables cannot work (no credentials, plain http without AWS_ALLOW_HTTP),
    /// found before any request.
    #[error("cannot open artifact store {url}: {problem}")]
    S3Setup {
        url: String,
        #[source]
        problem: S3Setup,
    },
}

/// Why an artifact could not be written: its encoder, the local file system, or the store.
#[derive(Debug, thiserror::Error)]
pub enum WriteFailure {
    #[error("{0}")]
    Encoder(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Store(String),
}

pub use crate::frame::StoredArtifact;
pub use listing::StoredObject;

#[derive(Clone)]
pub struct ArtifactStore {
    store: Arc<dyn ObjectStore>,
    base: String,
    prefix: String,
    /// The folder of a `file://` store: large artifacts are streamed straight into it.
    local_root: Option<PathBuf>,
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
                if let Some(file) = dir.ancestors().find(|a| a.is_file()) {
                    return Err(err(format!(
                        "{} is a file, not a folder; point `storage.artifacts` at a folder (created if missing)",
                        file.display()
                    )));
                }
                std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
                let fs = LocalFileSystem::new_with_prefix(dir).map_err(|e| err(e.to_string()))?;
                Ok(ArtifactStore {
                    store: Arc::new(fs),
                    base: url.clone(),
                    prefix: String::new(),
                    local_root: Some(dir.clone()),
                })
            }
            ArtifactLocation::S3 { bucket, prefix } => {
                let builder = object_store::aws::AmazonS3Builder::from_env();
                s3_env::check(&builder).map_err(|problem| ArtifactError::S3Setup {
                    url: url.clone(),
                    problem,
                })?;
                let s3 = builder
                    .with_bucket_name(bucket)
                    .with_retry(retry_config())
                    .build()
                    .map_err(|e| err(e.to_string()))?;
                Ok(ArtifactStore {
                    store: Arc::new(s3),
                    base: format!("s3://{bucket}"),
                    prefix: prefix.clone(),
                    local_root: None,
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
        let fail = |e: object_store::Error| ArtifactError::Write {
            uri: uri.clone(),
            cause: describe(&e),
        };
        if data.len() > MULTIPART_ABOVE {
            // Large artifacts go up in parts: S3 caps single PUTs, and a failed part is retried
            // alone. The object only appears when the upload completes.
            let upload = self.store.put_multipart(&path).await.map_err(fail)?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
            writer.put(data);
            writer.finish().await.map_err(fail)?;
        } else {
            self.store
                .put(&path, PutPayload::from_bytes(data))
                .await
                .map_err(fail)?;
        }
        Ok(StoredArtifact { uri, sha256, bytes })
    }

    /// Size and version tag (ETag, else modification time) of an object, for the cache keys of
    /// inputs read straight from the store.
    pub async fn head(&self, uri: &str) -> Result<(u64, String), ArtifactError> {
        let path = self.path_of(uri)?;
        let meta = self.store.head(&path).await.map_err(|e| ArtifactError::Read {
            uri: uri.into(),
            cause: describe(&e),
        })?;
        Ok((meta.size, meta.e_tag.unwrap_or_else(|| meta.last_modified.to_rfc3339())))
    }

    /// The URIs of the objects that match `pattern`, a glob over URIs such as
    /// `s3://bucket/exports/*.csv` (`*` does not cross a `/`), in name order.
    pub async fn matching(&self, pattern: &str) -> Result<Vec<String>, ArtifactError> {
        use futures::TryStreamExt;
        let read_error = |cause: String| ArtifactError::Read {
            uri: pattern.into(),
            cause,
        };
        let matcher = glob::Pattern::new(pattern).map_err(|e| read_error(e.to_string()))?;
        // List only under the folder before the first wildcard.
        let wild = pattern.find(['*', '?', '[']).unwrap_or(pattern.len());
        let folder = &pattern[..pattern[..wild].rfind('/').map_or(0, |i| i + 1)];
        let prefix = self.path_of(folder)?;
        let objects: Vec<object_store::ObjectMeta> = self
            .store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| read_error(describe(&e)))?;
        let options = glob::MatchOptions {
            require_literal_separator: true,
            ..Default::default()
        };
        let mut uris: Vec<String> = objects
            .iter()
            .map(|o| self.uri_of(&o.location))
            .filter(|uri| matcher.matches_with(uri, options))
            .collect();
        uris.sort();
        Ok(uris)
    }

    /// Writes an artifact produced by `write` (a Parquet encoder, say) under `key`.
    ///
    /// A local store gets the bytes streamed into a staging file next to the target, hashed on
    /// the way, and renamed into place: no second copy in memory. Other stores get the encoded
    /// bytes through [`ArtifactStore::put`]. `write` runs on a blocking thread.
    pub async fn put_streamed<F>(&self, key: &str, write: F) -> Result<StoredArtifact, ArtifactError>
    where
        F: FnOnce(&mut dyn std::io::Write) -> Result<(), WriteFailure> + Send + 'static,
    {
        let path = self.path(key);
        let uri = self.uri_of(&path);
        let fail = |cause: WriteFailure| ArtifactError::Write {
            uri: uri.clone(),
            cause: cause.to_string(),
        };
        let Some(root) = &self.local_root else {
            // Streamed up in parts as it is encoded: memory stays bounded whatever the size.
            let parts = upload::Parts {
                multipart_above: MULTIPART_ABOVE,
                part_size: PART_SIZE,
            };
            let (sha256, bytes) = upload::stream(self.store.clone(), &path, parts, write)
                .await
                .map_err(fail)?;
            return Ok(StoredArtifact { uri, sha256, bytes });
        };
        let target = root.join(path.as_ref());
        let (sha256, bytes) = tokio::task::spawn_blocking(move || write_local(&target, write))
            .await
            .map_err(|e| fail(WriteFailure::Encoder(format!("the encoder stopped: {e}"))))?
            .map_err(fail)?;
        Ok(StoredArtifact { uri, sha256, bytes })
    }

    /// The sha256 of an object as it is stored now, hashed as it streams from the server:
    /// checking a cached multi-gigabyte table must not hold it in memory. (Local artifacts go
    /// through `cache::local_sha256`, which remembers digests by file stamp.)
    pub async fn sha256_of(&self, uri: &str) -> Result<String, ArtifactError> {
        use futures::StreamExt;
        let mut stream = self.chunks(uri).await?;
        let mut hasher = Sha256::new();
        while let Some(chunk) = stream.next().await {
            hasher.update(chunk?);
        }
        Ok(hex::encode(hasher.finalize()))
    }

    /// An object's bytes as they arrive from the store, each error naming the URI.
    async fn chunks(
        &self,
        uri: &str,
    ) -> Result<futures::stream::BoxStream<'static, Result<Bytes, ArtifactError>>, ArtifactError> {
        use futures::StreamExt;
        let path = self.path_of(uri)?;
        let owned = uri.to_string();
        let read_error = move |e: object_store::Error| ArtifactError::Read {
            uri: owned.clone(),
            cause: describe(&e),
        };
        let result = self.store.get(&path).await.map_err(&read_error)?;
        Ok(result.into_stream().map(move |c| c.map_err(&read_error)).boxed())
    }

    /// The file behind an artifact of a local store, to read it without copying it into memory.
    pub fn local_file(&self, uri: &str) -> Option<PathBuf> {
        let root = self.local_root.as_ref()?;
        let path = self.path_of(uri).ok()?;
        Some(root.join(path.as_ref()))
    }

    /// Reads an artifact back by the URI `put` returned.
    pub async fn get(&self, uri: &str) -> Result<Bytes, ArtifactError> {
        let path = self.path_of(uri)?;
        let read_error = |e: object_store::Error| ArtifactError::Read {
            uri: uri.into(),
            cause: describe(&e),
        };
        let result = self.store.get(&path).await.map_err(read_error)?;
        result.bytes().await.map_err(read_error)
    }

    /// Copies an object into a local file as it arrives, without holding it in memory (an
    /// input CSV in S3 can be larger than RAM). A copy that fails half-way is removed.
    pub async fn download_to(&self, uri: &str, target: &Path) -> Result<u64, ArtifactError> {
        use futures::StreamExt;
        use tokio::io::AsyncWriteExt;
        let read_error = |cause: String| ArtifactError::Read { uri: uri.into(), cause };
        let copied = async {
            let mut stream = self.chunks(uri).await?;
            let mut file = tokio::fs::File::create(target)
                .await
                .map_err(|e| read_error(format!("cannot create {}: {e}", target.display())))?;
            let mut bytes = 0u64;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk?;
                bytes += chunk.len() as u64;
                file.write_all(&chunk)
                    .await
                    .map_err(|e| read_error(format!("cannot write {}: {e}", target.display())))?;
            }
            file.flush()
                .await
                .map_err(|e| read_error(format!("cannot write {}: {e}", target.display())))?;
            Ok(bytes)
        }
        .await;
        if copied.is_err() {
            let _ = std::fs::remove_file(target);
        }
        copied
    }

    fn path_of(&self, uri: &str) -> Result<StorePath, ArtifactError> {
        let key = uri
            .strip_prefix(self.base.trim_end_matches('/'))
            .map(|k| k.trim_start_matches('/'))
            .ok_or_else(|| ArtifactError::Foreign {
                uri: uri.into(),
                store: self.base.clone(),
            })?;
        Ok(StorePath::from(key))
    }
}

/// The sha256 of a file, read 1 MiB at a time.
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Streams `write`'s output into a staging file beside `target`, hashing it, then renames it
/// into place, so a reader sees the whole artifact or none. Returns (sha256, bytes).
fn write_local<F>(target: &Path, write: F) -> Result<(String, u64), WriteFailure>
where
    F: FnOnce(&mut dyn std::io::Write) -> Result<(), WriteFailure>,
{
    let dir = target
        .parent()
        .ok_or_else(|| std::io::Error::other("an artifact needs a folder"))?;
    std::fs::create_dir_all(dir)?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let staging = dir.join(format!(".{name}.partial-{}", std::process::id()));
    let result = (|| -> Result<(String, u64), WriteFailure> {
        let file = direct_io::DirectFile::create(&staging)?;
        let mut out = Hashing::new(file);
        write(&mut out)?;
        let (file, sha256, bytes) = out.into_parts();
        file.finish()?;
        std::fs::rename(&staging, target)?;
        Ok((sha256, bytes))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&staging);
    }
    result
}

/// A writer that hashes and counts what passes through it.
pub(crate) struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W> Hashing<W> {
    pub(crate) fn new(inner: W) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The inner writer back, with the sha256 (hex) and the number of the bytes written.
    pub(crate) fn into_parts(self) -> (W, String, u64) {
        (self.inner, hex::encode(self.hasher.finalize()), self.bytes)
    }
}

impl<W: std::io::Write> std::io::Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Opens the store holding an `s3://bucket/key` URL, for inputs read straight from it.
pub fn store_for_url(url: &str) -> Result<ArtifactStore, ArtifactError> {
    let location = ArtifactLocation::parse(url, Path::new("/")).map_err(|e| ArtifactError::Open {
        url: crate::pipeline::location::redact(url).into_owned(),
        cause: e.to_string(),
    })?;
    match location {
        ArtifactLocation::S3 { bucket, .. } => ArtifactStore::open(&ArtifactLocation::S3 {
            bucket,
            prefix: String::new(),
        }),
        ArtifactLocation::Local(_) => ArtifactStore::open(&ArtifactLocation::Local(PathBuf::from("/"))),
    }
}

/// Artifacts above this size are uploaded in parts of [`PART_SIZE`].
const MULTIPART_ABOVE: usize = 32 << 20;
const PART_SIZE: usize = 16 << 20;

/// Fewer, shorter retries than object_store's default (10 over up to 3 minutes): a server that
/// is down should fail the step in seconds, and the run can be resumed.
fn retry_config() -> RetryConfig {
    RetryConfig {
        max_retries: 3,
        retry_timeout: std::time::Duration::from_secs(20),
        ..RetryConfig::default()
    }
}

/// object_store errors in a form that names the cause, never credentials, and says what to do.
pub(crate) fn describe(e: &object_store::Error) -> String {
    // The cause quotes request URLs, which hold the endpoint as it was configured.
    crate::pipeline::location::redact(&summarise(e)).into_owned()
}

fn summarise(e: &object_store::Error) -> String {
    let text = match e {
        object_store::Error::NotFound { .. } => return "not found (is the bucket or folder there?)".into(),
        other => other.to_string(),
    };
    // S3 servers answer in XML; keep the code and message, drop the rest.
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{name}>"))? + start;
        Some(text[start..end].to_string())
    };
    let first_line = text.lines().next().unwrap_or(&text);
    let summary = first_line.split(": <?xml").next().unwrap_or(first_line).to_string();
    match (tag("Code"), tag("Message")) {
        // Asked for with AWS_METADATA_ENDPOINT (or ECS/EKS variables) and not answering.
        _ if text.contains("169.254.169.254") || text.contains("169.254.170.") => format!(
            "{summary} (no credentials from the instance or container metadata service; elsewhere set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        ),
        // What reqwest says of an http:// URL when https is required; `s3_env` catches the
        // endpoint up front, this is for any other plain-http address.
        _ if text.contains("builder error") => {
            format!("{summary} (a plain-http endpoint needs AWS_ALLOW_HTTP=true)")
        }
        (Some(code), message) => {
            let hint = match code.as_str() {
                "SignatureDoesNotMatch" | "InvalidAccessKeyId" | "AccessDenied" => {
                    "; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                }
                "NoSuchBucket" => "; create the bucket or fix the URL",
                _ => "",
            };
            format!("{code}: {}{hint}", message.unwrap_or(summary))
        }
        (None, _) if text.contains("error sending request") || text.contains("Connection refused") => {
            format!("{summary} (is the server up? check AWS_ENDPOINT)")
        }
        _ => summary,
    }
}
