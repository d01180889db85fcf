//! Streaming an artifact that is being encoded (a Parquet table) to object storage. The encoder
//! writes bounded chunks on its own thread and they go up as a multipart upload as they come,
//! so a multi-gigabyte table never sits whole in memory; a small artifact becomes one PUT. The
//! object appears only when the upload completes, and a failed encoding aborts the upload.

use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

use super::{describe, Hashing, WriteFailure};

/// Bytes handed from the encoder to the uploader at a time, and how many may wait.
const CHUNK: usize = 8 << 20;
const CHUNKS_WAITING: usize = 4;
/// Parts uploading at once.
const PARTS_IN_FLIGHT: usize = 4;

/// How the upload is cut: objects above `multipart_above` bytes go up in parts of `part_size`.
pub struct Parts {
    pub multipart_above: usize,
    pub part_size: usize,
}

/// Runs `write` on a blocking thread and uploads what it writes to `path`. Returns the sha256
/// and size of the bytes written; errors are the encoder's or the store's.
pub async fn stream<F>(
    store: Arc<dyn ObjectStore>,
    path: &StorePath,
    parts: Parts,
    write: F,
) -> Result<(String, u64), WriteFailure>
where
    F: FnOnce(&mut dyn Write) -> Result<(), WriteFailure> + Send + 'static,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(CHUNKS_WAITING);
    let encoder = tokio::task::spawn_blocking(move || {
        let mut out = Hashing::new(Chunks {
            buf: Vec::with_capacity(CHUNK),
            tx,
        });
        write(&mut out)?;
        let (mut chunks, sha256, bytes) = out.into_parts();
        chunks.send_rest()?;
        Ok::<_, WriteFailure>((sha256, bytes))
    });

    // The first chunks are held until the artifact proves large enough for a multipart upload.
    let mut head: Vec<Bytes> = Vec::new();
    let mut head_len = 0usize;
    let mut upload: Option<WriteMultipart> = None;
    let mut failed: Option<WriteFailure> = None;
    while let Some(chunk) = rx.recv().await {
        if let Some(writer) = upload.as_mut() {
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                failed = Some(WriteFailure::Store(describe(&e)));
                break;
            }
            writer.put(chunk);
            continue;
        }
        head_len += chunk.len();
        head.push(chunk);
        if head_len > parts.multipart_above {
            match store.put_multipart(path).await {
                Ok(started) => {
                    let mut writer = WriteMultipart::new_with_chunk_size(started, parts.part_size);
                    for c in head.drain(..) {
                        writer.put(c);
                    }
                    upload = Some(writer);
                }
                Err(e) => {
                    failed = Some(WriteFailure::Store(describe(&e)));
                    break;
                }
            }
        }
    }
    // Closing the channel stops an encoder that is still writing (its next send fails).
    drop(rx);
    let encoded = encoder
        .await
        .map_err(|e| WriteFailure::Encoder(format!("the encoder stopped: {e}")))
        .and_then(|r| r);
    // An upload error wins over what it made the encoder report ("the upload stopped").
    let outcome = match failed {
        Some(upload_error) => Err(upload_error),
        None => encoded,
    };
    match (outcome, upload) {
        (Err(e), writer) => {
            if let Some(w) = writer {
                let _ = w.abort().await;
            }
            Err(e)
        }
        (Ok(done), Some(writer)) => {
            writer.finish().await.map_err(|e| WriteFailure::Store(describe(&e)))?;
            Ok(done)
        }
        (Ok(done), None) => {
            let payload: PutPayload = head.into_iter().collect();
            store
                .put(path, payload)
                .await
                .map_err(|e| WriteFailure::Store(describe(&e)))?;
            Ok(done)
        }
    }
}

/// The encoder's side: bytes gathered into chunks and sent (hashed and counted by the
/// [`Hashing`] writer around it).
struct Chunks {
    buf: Vec<u8>,
    tx: tokio::sync::mpsc::Sender<Bytes>,
}

impl Chunks {
    fn send_full(&mut self) -> std::io::Result<()> {
        let full = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .blocking_send(Bytes::from(full))
            .map_err(|_| std::io::Error::other("the upload stopped"))
    }

    fn send_rest(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.send_full()
    }
}

impl Write for Chunks {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.send_full()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;
    use sha2::{Digest, Sha256};

    /// 40 MB in odd-sized writes: above the multipart threshold, so it goes up in parts, and
    /// the object read back is the same bytes with the same sha256.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_large_artifact_goes_up_in_parts_unchanged() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let data: Vec<u8> = (0..40_000_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let expected = hex::encode(Sha256::digest(&data));
        let copy = data.clone();
        let path = StorePath::from("t/big.parquet");
        let parts = Parts {
            multipart_above: 32 << 20,
            part_size: 16 << 20,
        };
        let (sha, bytes) = stream(store.clone(), &path, parts, move |out| {
            for piece in copy.chunks(1_000_003) {
                out.write_all(piece)?;
            }
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!((sha.as_str(), bytes), (expected.as_str(), data.len() as u64));
        let stored = store.get(&path).await.unwrap().bytes().await.unwrap();
        assert_eq!(stored.len(), data.len());
        assert_eq!(hex::encode(Sha256::digest(&stored)), expected);

        // A small one is one PUT.
        let small = StorePath::from("t/small.json");
        let parts = Parts {
            multipart_above: 32 << 20,
            part_size: 16 << 20,
        };
        stream(store.clone(), &small, parts, |out| Ok(out.write_all(b"{}")?))
            .await
            .unwrap();
        assert_eq!(&store.get(&small).await.unwrap().bytes().await.unwrap()[..], b"{}");
    }

    /// An encoder that fails half-way leaves no object behind.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_encoding_leaves_nothing() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let path = StorePath::from("t/broken.parquet");
        let parts = Parts {
            multipart_above: 1 << 20,
            part_size: 5 << 20,
        };
        let err = stream(store.clone(), &path, parts, |out| {
            out.write_all(&vec![7u8; 20 << 20])?;
            Err(WriteFailure::Encoder("Parquet encoding: disk full".into()))
        })
        .await
        .unwrap_err();
        assert_eq!(err.to_string(), "Parquet encoding: disk full");
        assert!(store.get(&path).await.is_err(), "no object appears");
    }
}
