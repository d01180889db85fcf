//! Where a pipeline's registry and artifacts live: the `storage:` URLs, parsed and checked
//! without opening anything (the registry and artifact stores open them at run time).

use std::path::{Path, PathBuf};

/// A `storage:` URL that pmflow cannot use, with what to write instead.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct LocationError(pub String);

/// Where the registry lives, parsed from `storage.registry` or `--registry`.
#[derive(Debug, Clone, PartialEq)]
pub enum RegistryLocation {
    /// `sqlite://PATH` (relative to the project root) or `sqlite:///abs/path.db`.
    Sqlite(PathBuf),
}

impl RegistryLocation {
    pub fn parse(text: &str, root: &Path) -> Result<Self, LocationError> {
        if let Some(rest) = text.strip_prefix("sqlite://") {
            let rest = rest.split('?').next().unwrap_or(rest);
            if rest.is_empty() {
                return Err(LocationError(
                    "`sqlite://` needs a file path, e.g. `sqlite://experiments/registry.db`".into(),
                ));
            }
            return Ok(RegistryLocation::Sqlite(root.join(rest)));
        }
        let scheme = text.split_once("://").map(|(s, _)| s).unwrap_or("");
        Err(LocationError(match scheme {
            "" => format!("`{text}` is not a URL; use `sqlite://PATH`"),
            "postgres" | "postgresql" => "PostgreSQL registries are not supported yet; use `sqlite://PATH`".into(),
            other => format!("unsupported registry `{other}://`; use `sqlite://PATH`"),
        }))
    }

    pub fn url(&self) -> String {
        match self {
            RegistryLocation::Sqlite(p) => format!("sqlite://{}", p.display()),
        }
    }
}

/// Where artifacts live, parsed from `storage.artifacts`.
#[derive(Debug, Clone, PartialEq)]
pub enum ArtifactLocation {
    /// `file://DIR` (relative to the project root) or `file:///abs/dir`.
    Local(PathBuf),
    /// `s3://bucket/prefix`, configured by the usual AWS_* environment variables.
    S3 { bucket: String, prefix: String },
}

impl ArtifactLocation {
    pub fn parse(text: &str, root: &Path) -> Result<Self, LocationError> {
        if let Some(rest) = text.strip_prefix("file://") {
            if rest.is_empty() {
                return Err(LocationError(
                    "`file://` needs a directory, e.g. `file://artifacts`".into(),
                ));
            }
            return Ok(ArtifactLocation::Local(root.join(rest)));
        }
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(LocationError(
                    "`s3://` needs a bucket, e.g. `s3://my-bucket/pmflow`".into(),
                ));
            }
            return Ok(ArtifactLocation::S3 {
                bucket: bucket.into(),
                prefix: prefix.trim_matches('/').into(),
            });
        }
        let scheme = text.split_once("://").map(|(s, _)| s).unwrap_or("");
        Err(LocationError(if scheme.is_empty() {
            format!("`{text}` is not a URL; use `file://DIR` or `s3://BUCKET/PREFIX`")
        } else {
            format!("unsupported artifact store `{scheme}://`; use `file://DIR` or `s3://BUCKET/PREFIX`")
        }))
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
