//! Remembered digests of local files (input data, local artifacts), keyed by path and checked
//! against the file's size, modification time and inode, so that an unchanged multi-gigabyte
//! file is hashed once rather than on every run and every cache check.

use std::path::Path;

use sqlx::Row;

use super::{now_text, Registry, RegistryError};

/// What identifies one version of a file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    pub size: u64,
    pub mtime_ns: i64,
    pub inode: u64,
}

impl FileStamp {
    pub fn of(path: &Path) -> std::io::Result<FileStamp> {
        let meta = std::fs::metadata(path)?;
        let mtime = meta.modified()?;
        let mtime_ns = match mtime.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i64,
            Err(e) => -(e.duration().as_nanos() as i64),
        };
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Ok(FileStamp {
            size: meta.len(),
            mtime_ns,
            inode,
        })
    }
}

impl Registry {
    /// The sha256 last recorded for `path`, if the file still has the stamp it had then.
    pub async fn known_digest(&self, path: &Path, stamp: FileStamp) -> Result<Option<String>, RegistryError> {
        let row = sqlx::query("SELECT size, mtime_ns, inode, sha256 FROM file_digests WHERE path = $1")
            .bind(path.to_string_lossy().into_owned())
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let recorded = FileStamp {
            size: row.try_get::<i64, _>("size")? as u64,
            mtime_ns: row.try_get("mtime_ns")?,
            inode: row.try_get::<i64, _>("inode")? as u64,
        };
        Ok((recorded == stamp).then(|| row.try_get("sha256")).transpose()?)
    }

    /// Records the sha256 of `path` as of `stamp`.
    pub async fn remember_digest(&self, path: &Path, stamp: FileStamp, sha256: &str) -> Result<(), RegistryError> {
        sqlx::query(
            "INSERT INTO file_digests (path, size, mtime_ns, inode, sha256, hashed_at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
                 inode = excluded.inode, sha256 = excluded.sha256, hashed_at = excluded.hashed_at",
        )
        .bind(path.to_string_lossy().into_owned())
        .bind(stamp.size as i64)
        .bind(stamp.mtime_ns)
        .bind(stamp.inode as i64)
        .bind(sha256)
        .bind(now_text())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::testing::on_both_backends;

    on_both_backends! {
    async fn a_digest_is_known_only_while_the_file_keeps_its_stamp(fresh) {
        let r = fresh.open().await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data.csv");
        std::fs::write(&file, "a\n1\n").unwrap();
        let stamp = FileStamp::of(&file).unwrap();
        assert_eq!(r.known_digest(&file, stamp).await.unwrap(), None);
        r.remember_digest(&file, stamp, "abc").await.unwrap();
        assert_eq!(r.known_digest(&file, stamp).await.unwrap().as_deref(), Some("abc"));

        // Same size, new content: the modification time moves, so the digest is unknown again.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&file, "a\n2\n").unwrap();
        let changed = FileStamp::of(&file).unwrap();
        assert_eq!(changed.size, stamp.size);
        assert_eq!(r.known_digest(&file, changed).await.unwrap(), None);
        // Remembering again replaces the old record.
        r.remember_digest(&file, changed, "def").await.unwrap();
        assert_eq!(r.known_digest(&file, changed).await.unwrap().as_deref(), Some("def"));
        assert_eq!(r.known_digest(&file, stamp).await.unwrap(), None);
    }
    }
}
