//! Scratch files for data on its way into a table (a downloaded artifact, a decompressed
//! input), named so that their extension still picks the reader.

use std::path::PathBuf;

/// A fresh path in the temporary folder that keeps `name`'s extension (format detection).
pub fn temporary_path(name: &str) -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!("pmflow-{}-{stamp}-{n}-{name}", std::process::id()))
}
