//! The files behind `load`'s `path`: one file, or a glob pattern (`exports/*.csv`, local or
//! `s3://`) matching several, each made a plain local file to read. S3 objects are downloaded
//! and `.gz` / `.zst` files decompressed into temporary files that are deleted when dropped, so
//! every reader and every error message works the same for them as for a local text file.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::context::{RemoteFiles, StepError};
use crate::frame::temporary_path;

/// Whether `path` is a pattern rather than one file.
pub fn is_pattern(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// The sources `path` names, in name order: the `s3://` URLs or local paths (resolved against
/// `root`) of every match of a pattern, or `path` itself. A pattern that matches nothing is an
/// error. S3 patterns are listed through `remote`, on the caller's thread.
pub fn expand(path: &str, root: &Path, remote: &dyn RemoteFiles) -> Result<Vec<String>, StepError> {
    expand_key("path", path, root, remote)
}

/// [`expand`] for the `with` key `key` (named in errors).
pub fn expand_key(key: &str, path: &str, root: &Path, remote: &dyn RemoteFiles) -> Result<Vec<String>, StepError> {
    // `join` keeps an absolute path as it is.
    let resolve = |p: &str| root.join(p);
    if !is_pattern(path) {
        return Ok(vec![if path.starts_with("s3://") {
            path.to_string()
        } else {
            resolve(path).display().to_string()
        }]);
    }
    let bad_pattern = |e: String| StepError::new(format!("`with.{key}`: `{path}` is not a valid pattern ({e})"));
    let mut found = if path.starts_with("s3://") {
        remote.matching(path)?
    } else {
        let pattern = resolve(path).display().to_string();
        glob::glob(&pattern)
            .map_err(|e| bad_pattern(e.to_string()))?
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .map(|p| p.display().to_string())
            .collect()
    };
    found.sort();
    if found.is_empty() {
        return Err(StepError::new(format!(
            "`with.{key}`: no file matches `{path}`; check the folder and the pattern (`*` stays within one folder)"
        )));
    }
    Ok(found)
}

/// The name a file is shown and its format guessed by: without a `.gz` or `.zst` ending.
pub fn without_compression(name: &str) -> &str {
    let lower = name.to_ascii_lowercase();
    for ending in [".gz", ".zst"] {
        if lower.ends_with(ending) {
            return &name[..name.len() - ending.len()];
        }
    }
    name
}

/// One source as a local file to read, with the name it is shown by in messages.
#[derive(Debug)]
pub struct Source {
    pub shown: String,
    pub path: PathBuf,
    /// The stem of the file name (`M0001` for `exports/M0001.csv.gz`), for `file-column`.
    pub stem: String,
    temporary: Option<PathBuf>,
}

impl Drop for Source {
    fn drop(&mut self) {
        if let Some(t) = &self.temporary {
            let _ = std::fs::remove_file(t);
        }
    }
}

/// Makes `source` (a local path or an `s3://` URL from [`expand`]) readable as a local,
/// uncompressed file; `shown` is how messages name it. S3 objects are fetched through `remote`.
pub fn open(source: &str, shown: &str, remote: &dyn RemoteFiles) -> Result<Source, StepError> {
    let file_name = source.rsplit('/').next().unwrap_or(source).to_string();
    let plain_name = without_compression(&file_name).to_string();
    let stem = match plain_name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_string(),
        _ => plain_name.clone(),
    };
    if Path::new(source).is_dir() {
        return Err(StepError::new(format!(
            "{shown} is a folder, not a file; to read the files in it, give a pattern such as `{}/*.csv`",
            shown.trim_end_matches('/')
        )));
    }
    let downloaded = if source.starts_with("s3://") {
        Some(remote.download(source, &file_name)?)
    } else {
        None
    };
    let fetched = downloaded.clone().unwrap_or_else(|| PathBuf::from(source));
    let (path, temporary) = if file_name.len() != plain_name.len() {
        let result = decompress(&fetched, &file_name, &plain_name, shown);
        // The downloaded, still compressed copy is not needed any more either way.
        if let Some(copy) = &downloaded {
            let _ = std::fs::remove_file(copy);
        }
        let plain = result?;
        (plain.clone(), Some(plain))
    } else {
        if let Err(e) = check_not_packed(&fetched, shown) {
            if let Some(copy) = &downloaded {
                let _ = std::fs::remove_file(copy);
            }
            return Err(e);
        }
        (fetched, downloaded)
    };
    Ok(Source {
        shown: shown.to_string(),
        path,
        stem,
        temporary,
    })
}

/// A file whose name promises text but whose first bytes are a compressed or archive format
/// would otherwise fail deep in the reader ("the header is not UTF-8 text"); this names what
/// the file really is and what to do.
fn check_not_packed(path: &Path, shown: &str) -> Result<(), StepError> {
    let mut magic = [0u8; 4];
    let read = std::fs::File::open(path).and_then(|mut f| {
        let mut n = 0;
        while n < magic.len() {
            match f.read(&mut magic[n..])? {
                0 => break,
                k => n += k,
            }
        }
        Ok(n)
    });
    // Unreadable files are reported by the reader, with the OS's reason.
    let Ok(read) = read else { return Ok(()) };
    let magic = &magic[..read];
    let what = if magic.starts_with(&[0x1f, 0x8b]) {
        format!("gzip-compressed data; rename it to end in `.gz` (`{shown}.gz`) and pmflow decompresses it")
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        format!("zstd-compressed data; rename it to end in `.zst` (`{shown}.zst`) and pmflow decompresses it")
    } else if magic.starts_with(b"PK\x03\x04") {
        "a zip archive; unzip it and load the files inside (a pattern such as `dir/*.csv` reads many)".into()
    } else {
        return Ok(());
    };
    Err(StepError::new(format!("{shown} holds {what}")))
}

/// Streams a `.gz` (every member, as `gzip -d` does) or `.zst` file into a temporary file.
fn decompress(path: &Path, name: &str, plain_name: &str, shown: &str) -> Result<PathBuf, StepError> {
    let input = std::fs::File::open(path).map_err(|e| StepError::new(format!("cannot read {shown}: {e}")))?;
    let input = std::io::BufReader::new(input);
    let (mut reader, kind): (Box<dyn Read>, &str) = if name.to_ascii_lowercase().ends_with(".gz") {
        (Box::new(flate2::read::MultiGzDecoder::new(input)), "gzip")
    } else {
        let decoder = zstd::stream::read::Decoder::with_buffer(input)
            .map_err(|e| StepError::new(format!("{shown} is not a readable zstd file: {e}")))?;
        (Box::new(decoder), "zstd")
    };
    let out_path = temporary_path(plain_name);
    let copied = std::fs::File::create(&out_path).and_then(|out| {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, out);
        std::io::copy(&mut reader, &mut out)?;
        std::io::Write::flush(&mut out)
    });
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&out_path);
        return Err(StepError::new(format!(
            "{shown} is not a readable {kind} file ({e}); check that it is complete"
        )));
    }
    Ok(out_path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::context::LocalOnly;
    use std::io::Write;

    #[test]
    fn patterns_expand_in_name_order_and_must_match() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("exports")).unwrap();
        for name in ["M2.csv", "M10.csv", "M1.csv", "notes.txt"] {
            std::fs::write(dir.path().join("exports").join(name), "a\n1\n").unwrap();
        }
        let found = expand("exports/*.csv", dir.path(), &LocalOnly).unwrap();
        let names: Vec<&str> = found.iter().map(|f| f.rsplit('/').next().unwrap()).collect();
        assert_eq!(names, ["M1.csv", "M10.csv", "M2.csv"]);
        let e = expand("exports/*.parquet", dir.path(), &LocalOnly).unwrap_err().0;
        assert!(e.contains("no file matches `exports/*.parquet`"), "{e}");
        // A plain path is itself, whether or not it exists (reading it reports that).
        assert_eq!(expand("x.csv", dir.path(), &LocalOnly).unwrap().len(), 1);
    }

    #[test]
    fn compressed_files_read_as_their_text() {
        let dir = tempfile::tempdir().unwrap();
        let text = "t,x\n1,1.5\n2,2.5\n";
        let gz = dir.path().join("M7.csv.gz");
        // Two gzip members, as `cat a.gz b.gz` makes: both are read.
        let mut bytes = Vec::new();
        for part in ["t,x\n1,1.5\n", "2,2.5\n"] {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(part.as_bytes()).unwrap();
            bytes.extend(e.finish().unwrap());
        }
        std::fs::write(&gz, bytes).unwrap();
        let zst = dir.path().join("M8.csv.zst");
        std::fs::write(&zst, zstd::encode_all(text.as_bytes(), 3).unwrap()).unwrap();
        for (file, stem) in [(gz, "M7"), (zst, "M8")] {
            let source = open(&file.display().to_string(), "shown", &LocalOnly).unwrap();
            assert_eq!(std::fs::read_to_string(&source.path).unwrap(), text);
            assert_eq!(source.stem, stem);
            let temporary = source.path.clone();
            assert!(
                temporary.display().to_string().ends_with(".csv"),
                "{}",
                temporary.display()
            );
            drop(source);
            assert!(!temporary.exists(), "the temporary copy is removed");
        }
        let broken = dir.path().join("broken.csv.gz");
        std::fs::write(&broken, b"not gzip").unwrap();
        let e = open(&broken.display().to_string(), "data/broken.csv.gz", &LocalOnly)
            .unwrap_err()
            .0;
        assert!(e.contains("data/broken.csv.gz is not a readable gzip file"), "{e}");
    }
}
