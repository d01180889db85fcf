//! The run registry: runs, steps, params, metrics, tags, artifacts, model versions and schedule
//! leases, in a SQLite file (one machine) or a PostgreSQL database (many hosts), with the same
//! semantics on both.

mod cache;
mod connect;
mod copy;
mod digests;
pub mod filter;
mod gc;
mod leases;
mod liveness;
mod models;
mod query;
mod run_summary;
pub mod schema;
mod who;
mod write;

#[cfg(test)]
pub(crate) mod pg_test_server;
#[cfg(test)]
pub(crate) mod testing;

use sqlx::AnyPool;

pub use cache::CachedStep;
pub use copy::{copy_registry, Copied, CopyProgress};
pub use digests::FileStamp;
pub use gc::GcRun;
pub use leases::{lease_owner, LEASE_TTL};
pub use liveness::{pmflow_alive, HEARTBEAT_EVERY};
pub use models::{AliasEvent, ModelSummary, ModelVersionView, NewModelVersion, Promotion, Registered};
pub use query::{ArtifactView, MetricRecord, RunDetail, StepView};
pub use run_summary::RunSummary;
pub use who::who;
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

impl RegistryError {
    /// Whether the registry could not be reached (a server down, a network gone) rather than
    /// refusing a statement: worth waiting for, not a bug.
    pub fn is_unreachable(&self) -> bool {
        match self {
            RegistryError::Query(e) => connect::is_unreachable(e),
            _ => false,
        }
    }
}

/// Which database holds the registry. Queries are written once (sqlx's `Any` driver, `$N`
/// placeholders, which SQLite also reads); the few places where the two differ ask this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Registry {
    pool: AnyPool,
    backend: Backend,
    /// The location as shown to people (redacted).
    shown: String,
}

impl Registry {
    /// Opens (creating a SQLite file if needed) and migrates the registry, then marks the runs
    /// whose process is gone `interrupted`.
    pub async fn open(location: &RegistryLocation) -> Result<Registry, RegistryError> {
        let registry = connect::open(location, connect::Access::ReadWrite).await?;
        registry.mark_dead_runs().await?;
        Ok(registry)
    }

    /// Opens a registry that cannot be written (a read-only file or mount, `chattr +i`) for
    /// reading only: no lock, no migration, no sweep of dead runs. Its schema must be the one
    /// this pmflow writes; an older one needs one writable open to be upgraded.
    pub async fn open_read_only(location: &RegistryLocation) -> Result<Registry, RegistryError> {
        connect::open(location, connect::Access::ReadOnly).await
    }

    /// Where the registry is, as shown to people (no password).
    pub fn shown(&self) -> &str {
        &self.shown
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Serialises the transactions that decide a model's version numbers and aliases. SQLite
    /// needs nothing: a write transaction holds the whole file. PostgreSQL takes a transaction
    /// advisory lock on the model's name, released at commit or rollback.
    pub(crate) async fn lock_model(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        name: &str,
    ) -> Result<(), sqlx::Error> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(lock_key("model", name))
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}

/// `(…), (…)` for a multi-row INSERT of `rows` rows of `columns` values. SQLite gets bare `?`:
/// sqlx binds numbered ones (`$7`) by looking each name up, which SQLite does by a linear scan,
/// so a 3,000-value statement with `$N` took 30 times as long. The text depends only on the
/// shape, so each shape is prepared once per connection.
pub(crate) fn values_sql(backend: Backend, rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 6);
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..columns {
            if c > 0 {
                sql.push_str(", ");
            }
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => sql.push_str(&format!("${}", r * columns + c + 1)),
            }
        }
        sql.push(')');
    }
    sql
}

/// A stable 64-bit advisory-lock key for `(kind, name)` (the first 8 bytes of a sha256), so every
/// pmflow host computes the same one.
fn lock_key(kind: &str, name: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("pmflow.{kind}:{name}").as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// The tag key of a step's `n`-th warning (from 1): `warning.<step>`, then `warning.<step>.2`,
/// ..., so a second warning does not overwrite the first.
pub fn warning_tag(step: &str, n: usize) -> String {
    match n {
        1 => format!("warning.{step}"),
        n => format!("warning.{step}.{n}"),
    }
}

/// The tag prefix of the files a step read from outside the run: `input.<step>` holds a JSON
/// array of `{file, sha256}` ([`files_read_tag`], read back by [`files_read`]).
pub const INPUT_TAG: &str = "input.";

/// The value of an `input.<step>` tag for `files`, as (file, version).
pub fn files_read_tag(files: &[(String, String)]) -> String {
    let read: Vec<serde_json::Value> = files
        .iter()
        .map(|(file, version)| serde_json::json!({"file": file, "sha256": version}))
        .collect();
    serde_json::Value::Array(read).to_string()
}

/// The files an `input.<step>` tag's value says were read, as (file, version); none when it
/// is not such a list.
pub fn files_read(value: &str) -> Vec<(String, String)> {
    let read: Vec<serde_json::Value> = serde_json::from_str(value).unwrap_or_default();
    read.iter()
        .filter_map(|f| Some((f["file"].as_str()?.to_string(), f["sha256"].as_str()?.to_string())))
        .collect()
}

/// The step a [`warning_tag`] belongs to; `None` for any other tag.
pub fn warning_tag_step(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("warning.")?;
    match rest.rsplit_once('.') {
        Some((step, n)) if n.parse::<usize>().is_ok() => Some(step),
        _ => Some(rest),
    }
}

/// Now by this machine's clock, as the registry stores times.
pub fn now_text() -> String {
    stamp(chrono::Utc::now())
}

/// A time as the registry stores it: RFC 3339, UTC, milliseconds (sortable as text).
pub fn stamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
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

/// A model version of `pump` registered from `run`, with `evaluate.f1` = `f1`, for unit tests.
#[cfg(test)]
pub(crate) fn test_version(run: &str, f1: f64) -> NewModelVersion {
    NewModelVersion {
        name: "pump".into(),
        run_id: run.into(),
        model_uri: format!("file:///a/{run}/model.safetensors"),
        model_sha256: "aa".into(),
        card_uri: format!("file:///a/{run}/model_card.json"),
        card_sha256: "bb".into(),
        data_uri: None,
        data_sha256: None,
        metrics: std::collections::BTreeMap::from([("evaluate.f1".to_string(), f1)]),
        params: serde_json::Map::new(),
        git_commit: None,
        pmflow_version: "0".into(),
        description: Some("weekly".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::testing::on_both_backends;
    use super::*;

    fn run(id: &str) -> NewRun {
        test_run(id)
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

    on_both_backends! {
        async fn ten_thousand_metric_points_land_in_one_batch(fresh) {
            let r = fresh.open().await;
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

        async fn params_are_immutable_and_metrics_append_only(fresh) {
            let r = fresh.open().await;
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

        async fn a_registry_from_a_newer_pmflow_is_refused(fresh) {
            let r = fresh.open().await;
            let future = match fresh.backend {
                Backend::Sqlite => "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (99991231000000, 'future', 1, x'00', 0)",
                Backend::Postgres => "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (99991231000000, 'future', TRUE, '\\x00'::bytea, 0)",
            };
            sqlx::query(future).execute(&r.pool).await.unwrap();
            r.close().await;
            let err = Registry::open(&fresh.location).await.err().unwrap().to_string();
            assert!(err.contains("written by a newer pmflow"), "{err}");
            let read_only = Registry::open_read_only(&fresh.location).await.err().unwrap().to_string();
            assert!(read_only.contains("written by a newer pmflow"), "{read_only}");
        }

        async fn run_ids_resolve_by_prefix_and_latest(fresh) {
            let r = fresh.open().await;
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

        async fn search_filters_on_last_metric_values_params_and_tags(fresh) {
            let r = fresh.open().await;
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

        async fn metric_history_lists_every_point_but_superseded_attempts(fresh) {
            let r = fresh.open().await;
            let mut new = run("aa");
            new.steps = vec![
                ("train".into(), "train".into()),
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
}
