//! The run registry: a SQLite file (WAL, busy timeout, embedded migrations) recording runs,
//! steps, params, metrics, tags, artifacts and model versions.

mod query;
mod write;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub use query::{ArtifactView, RunDetail, RunSummary, StepView};
pub use write::{MetricPoint, NewRun};

/// Where the registry lives, parsed from `storage.registry` or `--registry`.
#[derive(Debug, Clone, PartialEq)]
pub enum RegistryLocation {
    /// `sqlite://PATH` (relative to the project root) or `sqlite:///abs/path.db`.
    Sqlite(PathBuf),
}

impl RegistryLocation {
    pub fn parse(text: &str, root: &Path) -> Result<Self, String> {
        if let Some(rest) = text.strip_prefix("sqlite://") {
            let rest = rest.split('?').next().unwrap_or(rest);
            if rest.is_empty() {
                return Err("`sqlite://` needs a file path, e.g. `sqlite://experiments/registry.db`".into());
            }
            return Ok(RegistryLocation::Sqlite(root.join(rest)));
        }
        let scheme = text.split_once("://").map(|(s, _)| s).unwrap_or("");
        Err(match scheme {
            "" => format!("`{text}` is not a URL; use `sqlite://PATH`"),
            "postgres" | "postgresql" => "PostgreSQL registries are not supported yet; use `sqlite://PATH`".into(),
            other => format!("unsupported registry `{other}://`; use `sqlite://PATH`"),
        })
    }

    pub fn url(&self) -> String {
        match self {
            RegistryLocation::Sqlite(p) => format!("sqlite://{}", p.display()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("registry {url}: {message}")]
    Open { url: String, message: String },
    #[error("registry: {0}")]
    Query(#[from] sqlx::Error),
    #[error("{0}")]
    NotFound(String),
}

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Registry {
    pool: SqlitePool,
}

impl Registry {
    /// Opens (creating if needed) and migrates the registry.
    pub async fn open(location: &RegistryLocation) -> Result<Registry, RegistryError> {
        let RegistryLocation::Sqlite(path) = location;
        let fail = |message: String| RegistryError::Open {
            url: location.url(),
            message,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
        }
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(|e| fail(e.to_string()))?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| fail(explain_open_error(&e)))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| fail(explain_migrate_error(&e)))?;
        Ok(Registry { pool })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn explain_open_error(e: &sqlx::Error) -> String {
    let text = e.to_string();
    if text.contains("not a database") || text.contains("malformed") {
        "the file is not a pmflow registry (not a SQLite database, or corrupt); nothing was changed. Point `storage.registry` at another file".into()
    } else {
        text
    }
}

fn explain_migrate_error(e: &sqlx::migrate::MigrateError) -> String {
    use sqlx::migrate::MigrateError as M;
    match e {
        M::VersionMissing(v) => format!(
            "the registry was written by a newer pmflow (schema migration {v} is unknown to pmflow {}); upgrade pmflow. Nothing was changed",
            env!("CARGO_PKG_VERSION")
        ),
        M::Execute(inner) => explain_open_error(inner),
        other => {
            let text = other.to_string();
            if text.contains("not a database") || text.contains("malformed") {
                explain_open_error(&sqlx::Error::Protocol(text))
            } else {
                text
            }
        }
    }
}

/// Now, as the registry stores times.
pub fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
