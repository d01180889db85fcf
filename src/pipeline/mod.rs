//! The pipeline file format: YAML text -> positioned tree -> overrides and params -> checked
//! [`Pipeline`]. Every problem is reported at once as `FILE:LINE:COL: message`.

pub mod catalog;
pub mod cron;
pub mod diagnostic;
pub mod duration;
pub mod fields;
pub mod graph;
mod interpolate;
pub mod location;
pub mod model;
pub mod node;
mod overrides;
mod validate;
pub mod yaml;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use catalog::StepCatalog;
pub use diagnostic::Diagnostics;
pub use model::{Pipeline, Step};
pub use validate::{DEFAULT_ARTIFACTS, DEFAULT_REGISTRY};

use node::{Pos, Value};

/// Pipeline files larger than this are refused before parsing (a pipeline is a few KiB).
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Reads, overrides, resolves and validates a pipeline file.
///
/// `root` overrides the project root that relative paths resolve against.
pub fn load<C: StepCatalog>(
    file: &Path,
    overrides: &[String],
    root: Option<&Path>,
) -> Result<Pipeline<C>, Diagnostics> {
    let mut diags = Diagnostics::new(file.display().to_string(), overrides.to_vec());
    let text = match read_text(file) {
        Ok(t) => t,
        Err(UnreadableFile(message)) => {
            diags.push(Pos::default(), message);
            return Err(diags);
        }
    };
    // Absolute, so artifact URIs recorded under it name their files from anywhere (`--root .`
    // once recorded `file://./...`, which no other directory can read).
    let root = root
        .map(|r| std::fs::canonicalize(r).unwrap_or_else(|_| r.to_path_buf()))
        .unwrap_or_else(|| project_root(file));
    from_str(&text, file, &root, diags)
}

/// Validates pipeline text as if it were read from `file`.
pub fn from_str<C: StepCatalog>(
    text: &str,
    file: &Path,
    root: &Path,
    mut diags: Diagnostics,
) -> Result<Pipeline<C>, Diagnostics> {
    let mut doc = match yaml::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            diags.push(e.pos, e.message);
            return Err(diags.sorted());
        }
    };
    match doc.value {
        Value::Map(_) => {}
        Value::Null => {
            diags.push(
                doc.pos,
                "the pipeline file is empty; it needs at least `name` and `steps`",
            );
            return Err(diags);
        }
        _ => {
            diags.push(
                doc.pos,
                format!(
                    "a pipeline must be a mapping with `name` and `steps`, found {}",
                    doc.type_name()
                ),
            );
            return Err(diags);
        }
    }
    overrides::apply(&mut doc, &diags.overrides.clone(), &mut diags);
    interpolate::resolve(&mut doc, &mut diags);
    let resolved = serde_json::to_string_pretty(&doc.to_json()).unwrap_or_default();
    let hash = hex::encode(Sha256::digest(resolved.as_bytes()));
    let source = model::Source {
        file: file.to_path_buf(),
        root: root.to_path_buf(),
        resolved,
        hash,
    };
    match validate::validate::<C>(&doc, source, &mut diags) {
        Some(p) if diags.is_empty() => Ok(p),
        _ => Err(diags.sorted()),
    }
}

/// Why a pipeline file cannot be read as text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
struct UnreadableFile(String);

fn read_text(file: &Path) -> Result<String, UnreadableFile> {
    let meta = std::fs::metadata(file).map_err(|e| UnreadableFile(format!("cannot read the pipeline file: {e}")))?;
    if !meta.is_file() {
        return Err(UnreadableFile(
            "not a file; give the path of a pipeline YAML file".into(),
        ));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(UnreadableFile(format!(
            "the file is {} bytes; pipeline files are limited to {MAX_FILE_BYTES} bytes",
            meta.len()
        )));
    }
    let bytes = std::fs::read(file).map_err(|e| UnreadableFile(format!("cannot read the pipeline file: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        UnreadableFile(format!(
            "the file is not UTF-8 text (invalid byte at offset {}); is it really a YAML pipeline?",
            e.utf8_error().valid_up_to()
        ))
    })?;
    if text.contains('\0') {
        return Err(UnreadableFile(
            "the file contains NUL bytes; is it really a YAML pipeline?".into(),
        ));
    }
    Ok(text.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(text))
}

/// The directory relative paths in a pipeline resolve against: the parent of the nearest
/// enclosing `pipelines/` directory (the project layout), else the file's own directory.
pub fn project_root(file: &Path) -> PathBuf {
    let abs = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let dir = abs
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    dir.ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == "pipelines"))
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_1_1_booleans_stay_strings() {
        let node = yaml::parse("n: 1\non: no\ny: true\n").unwrap();
        let keys: Vec<&str> = node.as_map().unwrap().iter().map(|(k, _)| k.name.as_str()).collect();
        assert_eq!(keys, ["n", "on", "y"]);
        assert_eq!(node.get("on").unwrap().value, node::Value::Str("no".into()));
        assert_eq!(node.get("y").unwrap().value, node::Value::Bool(true));
    }

    #[test]
    fn relative_paths_resolve_against_the_project_root() {
        assert_eq!(project_root(Path::new("/p/pipelines/train.yaml")), Path::new("/p"));
        assert_eq!(project_root(Path::new("/p/pipelines/nested/x.yaml")), Path::new("/p"));
        assert_eq!(project_root(Path::new("/p/other/x.yaml")), Path::new("/p/other"));
    }
}
