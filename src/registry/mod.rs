//! The run registry: a SQLite file (WAL, busy timeout, embedded migrations) recording runs,
//! steps, params, metrics, tags, artifacts and model versions.

mod cache;
mod digests;
pub mod filter;
mod gc;
mod leases;
mod liveness;
mod models;
mod query;
mod write;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub use cache::CachedStep;
pub use digests::FileStamp;
pub use gc::GcRun;
pub use leases::{lease_owner, HeldLease, LEASE_TTL};
pub use liveness::{pmflow_alive, HEARTBEAT_EVERY};
pub use models::{who, AliasEvent, ModelSummary, ModelVersionView, NewModelVersion, Promotion, Registered};
pub use query::{ArtifactView, MetricRecord, RunDetail, RunSummary, StepView};
pub use write::{MetricPoint, NewRun};

pub use crate::pipeline::location::RegistryLocation;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("registry {url}: {message}")]
    Open { url: String, message: String },
    #[error("registry: {0}")]
    Query(#[from] sqlx::Error),
    #[error("{0}")]
    NotFound(String),
    /// The registry holds what was asked for, but the request cannot apply to it (resuming a
    /// run that succeeded, or with a different pipeline).
    #[error("{0}")]
    Refused(String),
    /// A `--where` or `--order-by` name that means more than one metric of a run.
    #[error(transparent)]
    Ambiguous(#[from] filter::Ambiguous),
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
        // Opening, migrating and sweeping dead runs happen under an exclusive file lock, so
        // processes that open a new registry at the same moment never race on migrations.
        let guard = lock_file(path).map_err(|e| fail(format!("cannot lock {}: {e}", path.display())))?;
        let options = file_options(path)
            .map_err(|e| fail(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true);
        let pool = connect(options, 4).await.map_err(|e| fail(explain_open_error(&e)))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| fail(explain_migrate_error(&e)))?;
        let registry = Registry { pool };
        registry.mark_dead_runs().await?;
        drop(guard);
        Ok(registry)
    }

    /// Opens a registry that cannot be written (a read-only file or mount, `chattr +i`) for
    /// reading only: no lock, no migration, no sweep of dead runs. Its schema must be the one
    /// this pmflow writes; an older one needs one writable open to be upgraded.
    pub async fn open_read_only(location: &RegistryLocation) -> Result<Registry, RegistryError> {
        let RegistryLocation::Sqlite(path) = location;
        let fail = |message: String| RegistryError::Open {
            url: location.url(),
            message,
        };
        let options = file_options(path).map_err(|e| fail(e.to_string()))?.read_only(true);
        let pool = connect(options, 2).await.map_err(|e| fail(explain_open_error(&e)))?;
        let applied: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&pool)
            .await
            .map_err(|e| fail(explain_open_error(&e)))?;
        let known = sqlx::migrate!("./migrations").iter().map(|m| m.version).max();
        match (applied, known) {
            (Some(a), Some(k)) if a > k => Err(fail(format!(
                "the registry was written by a newer pmflow (schema migration {a} is unknown to pmflow {}); upgrade pmflow",
                env!("CARGO_PKG_VERSION")
            ))),
            (Some(a), Some(k)) if a < k => Err(fail(
                "the registry is read-only and its schema predates this pmflow; open it once with write access (any `pmflow runs list`) to upgrade it".into(),
            )),
            _ => Ok(Registry { pool }),
        }
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The connection options every registry open starts from: the file, and the busy timeout.
fn file_options(path: &Path) -> Result<SqliteConnectOptions, sqlx::Error> {
    Ok(SqliteConnectOptions::from_str("sqlite://")?
        .filename(path)
        .busy_timeout(BUSY_TIMEOUT))
}

async fn connect(options: SqliteConnectOptions, connections: u32) -> Result<SqlitePool, sqlx::Error> {
    SqlitePoolOptions::new()
        .max_connections(connections)
        .connect_with(options)
        .await
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

/// Takes an exclusive advisory lock on the database file itself (created empty if missing).
/// SQLite locks with fcntl, so this flock does not interfere with it.
fn lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    file.lock()?;
    Ok(file)
}

/// Now, as the registry stores times.
/// The tag key of a step's `n`-th warning (from 1): `warning.<step>`, then `warning.<step>.2`,
/// ..., so a second warning does not overwrite the first.
pub fn warning_tag(step: &str, n: usize) -> String {
    match n {
        1 => format!("warning.{step}"),
        n => format!("warning.{step}.{n}"),
    }
}

/// The tag prefix of the files a step read from outside the run: `input.<step>` holds a JSON
/// array of `{file, sha256}`.
pub const INPUT_TAG: &str = "input.";

/// The step a [`warning_tag`] belongs to; `None` for any other tag.
pub fn warning_tag_step(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("warning.")?;
    match rest.rsplit_once('.') {
        Some((step, n)) if n.parse::<usize>().is_ok() => Some(step),
        _ => Some(rest),
    }
}

pub fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A minimal run for unit tests that need one in a registry.
#[cfg(test)]
pub(crate) fn test_run(id: &str) -> NewRun {
    NewRun {
        id: id.into(),
        experiment: "e".into(),
        pipeline: "p".into(),
        pipeline_file: "p.yaml".into(),
        pipeline_text: "{}".into(),
        pipeline_hash: "0".into(),
        git_commit: None,
        trigger: "manual",
        fire_at: None,
        steps: vec![("load".into(), "load".into())],
        params: vec![("params.seed".into(), serde_json::json!(42))],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str) -> NewRun {
        test_run(id)
    }

    async fn open(dir: &Path) -> Registry {
        Registry::open(&RegistryLocation::Sqlite(dir.join("r.db")))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn ten_thousand_metric_points_land_in_one_batch() {
        let dir = tempfile::tempdir().unwrap();
        let r = open(dir.path()).await;
        r.create_run(&run("aa")).await.unwrap();
        let points: Vec<MetricPoint> = (0..10_000)
            .map(|i| MetricPoint {
                step_id: "train".into(),
                key: "loss".into(),
                value: 1.0 / (1 + i) as f64,
                step: i,
                time_ms: i,
            })
            .collect();
        r.log_metrics("aa", &points).await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM metrics WHERE run_id = 'aa'")
            .fetch_one(&r.pool)
            .await
            .unwrap();
        assert_eq!(n, 10_000);
        let shown = r.show_run("aa").await.unwrap();
        assert_eq!(
            shown.metrics["train.loss"],
            serde_json::json!(1.0 / 10_000.0),
            "last value by step index"
        );
    }

    #[tokio::test]
    async fn params_are_immutable_and_metrics_append_only() {
        let dir = tempfile::tempdir().unwrap();
        let r = open(dir.path()).await;
        r.create_run(&run("bb")).await.unwrap();
        let update = sqlx::query("UPDATE params SET value = '7' WHERE run_id = 'bb'")
            .execute(&r.pool)
            .await;
        assert!(update.unwrap_err().to_string().contains("immutable"));
        r.log_metrics(
            "bb",
            &[MetricPoint {
                step_id: "s".into(),
                key: "k".into(),
                value: 1.0,
                step: 0,
                time_ms: 0,
            }],
        )
        .await
        .unwrap();
        let update = sqlx::query("UPDATE metrics SET value = 2").execute(&r.pool).await;
        assert!(update.unwrap_err().to_string().contains("append-only"));
    }

    #[tokio::test]
    async fn a_registry_from_a_newer_pmflow_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let r = open(dir.path()).await;
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (99991231000000, 'future', 1, x'00', 0)",
        )
        .execute(&r.pool)
        .await
        .unwrap();
        r.close().await;
        let err = Registry::open(&RegistryLocation::Sqlite(dir.path().join("r.db")))
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("written by a newer pmflow"), "{err}");
    }

    #[tokio::test]
    async fn run_ids_resolve_by_prefix_and_latest() {
        let dir = tempfile::tempdir().unwrap();
        let r = open(dir.path()).await;
        r.create_run(&run("abc1")).await.unwrap();
        r.create_run(&run("abd2")).await.unwrap();
        assert_eq!(r.resolve_run("abc").await.unwrap(), "abc1");
        assert!(r
            .resolve_run("ab")
            .await
            .unwrap_err()
            .to_string()
            .contains("matches several runs"));
        assert!(r.resolve_run("zz!").await.is_err());
        let latest = r.resolve_run("latest").await.unwrap();
        assert!(latest == "abd2" || latest == "abc1");
    }

    fn point(step_id: &str, key: &str, value: f64, step: i64) -> MetricPoint {
        MetricPoint {
            step_id: step_id.into(),
            key: key.into(),
            value,
            step,
            time_ms: 1_767_225_600_000 + step,
        }
    }

    #[tokio::test]
    async fn search_filters_on_last_metric_values_params_and_tags() {
        let dir = tempfile::tempdir().unwrap();
        let r = open(dir.path()).await;
        for (id, f1, seed) in [("aa", 0.9, 1), ("bb", 0.7, 2), ("cc", 0.8, 3)] {
            let mut new = run(id);
            new.params = vec![
                ("params.seed".into(), serde_json::json!(seed)),
                ("train.epochs".into(), serde_json::json!(20)),
                // serde_json's default parser reads this one unit in the last place off.
                ("train.lr".into(), serde_json::json!(0.9980345911949685)),
            ];
            r.create_run(&new).await.unwrap();
            // Logged out of order: the last value is the one at the highest step index.
            r.log_metrics(id, &[point("evaluate", "f1", f1, 2), point("evaluate", "f1", 0.0, 1)])
                .await
                .unwrap();
        }
        r.set_tag("cc", "owner", "ana").await.unwrap();
        let filter = filter::Filter::parse("f1 >= 0.8 and params.train.epochs = 20").unwrap();
        let order = [filter::OrderKey::parse("evaluate.f1").unwrap()];
        let found = r.search_runs(None, &filter, &order, None).await.unwrap();
        let ids: Vec<&str> = found.iter().map(|s| s.summary.id.as_str()).collect();
        assert_eq!(ids, ["cc", "aa"]);
        assert_eq!(found[0].order_values, [Some(filter::Value::Number(0.8))]);
        let exact = filter::Filter::parse("params.train.lr = 0.9980345911949685").unwrap();
        assert_eq!(r.search_runs(None, &exact, &[], None).await.unwrap().len(), 3);
        let tagged = filter::Filter::parse("tags.owner = 'ana' and params.seed < 5").unwrap();
        let found = r.search_runs(None, &tagged, &[], None).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].summary.id, "cc");
        let none = r.search_runs(Some("other"), &filter, &order, None).await.unwrap();
        assert!(none.is_empty(), "another experiment's runs only");
    }

    #[tokio::test]
    async fn metric_history_lists_every_point_but_superseded_attempts() {
        let dir = tempfile::tempdir().unwrap();
        let r = open(dir.path()).await;
        let mut new = run("aa");
        new.steps = vec![
            ("train".into(), "train-lstm".into()),
            ("evaluate".into(), "evaluate".into()),
        ];
        r.create_run(&new).await.unwrap();
        r.step_started("aa", "train").await.unwrap();
        r.log_metrics("aa", &[point("train", "loss", 9.0, 1)]).await.unwrap();
        // A retry: the first attempt's point moves to superseded_metrics.
        r.step_started("aa", "train").await.unwrap();
        r.log_metrics("aa", &[point("train", "loss", 0.5, 2), point("train", "loss", 0.7, 1)])
            .await
            .unwrap();
        r.log_metrics("aa", &[point("evaluate", "f1", 0.8, 0)]).await.unwrap();
        let history = r.metric_history("aa").await.unwrap();
        let shown: Vec<(&str, &str, i64, f64)> = history
            .iter()
            .map(|m| (m.step_id.as_str(), m.key.as_str(), m.step, m.value))
            .collect();
        assert_eq!(
            shown,
            [
                ("train", "loss", 1, 0.7),
                ("train", "loss", 2, 0.5),
                ("evaluate", "f1", 0, 0.8)
            ],
            "steps in execution order, each step index once"
        );
        assert_eq!(history[0].time_ms, 1_767_225_600_001);
    }
}
