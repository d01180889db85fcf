//! `pmflow registry copy FROM TO`: every run (steps, params, metrics, superseded attempts, tags,
//! artifact records), model version, alias and alias decision of one registry into another, in
//! one transaction on the target, so a copy that fails leaves the target as it was. The usual
//! move is a local SQLite registry into the PostgreSQL one a team shares; any direction works.
//!
//! Left behind on purpose: remembered file digests (paths on the source's machine) and schedule
//! leases (held by live processes, which renew them where they run).

use std::collections::{HashMap, HashSet};

use futures::TryStreamExt;
use sqlx::Row;

use super::{Registry, RegistryError};

/// What was copied, table by table, in copy order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Copied {
    pub tables: Vec<(&'static str, u64)>,
}

impl Copied {
    pub fn count(&self, table: &str) -> u64 {
        self.tables.iter().find(|(t, _)| *t == table).map_or(0, |(_, n)| *n)
    }
}

/// Told each table as it is done: (table, rows).
pub type CopyProgress<'a> = &'a mut (dyn FnMut(&'static str, u64) + Send);

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Int,
    Real,
}

/// A table copied as is, its columns in order, read in `order` (the order rows were written,
/// where the target numbers them itself).
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, Kind)],
    order: &'static str,
}

use Kind::{Int, Real, Text};

/// In the order foreign keys need. `runs` comes first with its experiment mapped by name.
const TABLES: [Table; 10] = [
    Table {
        name: "runs",
        columns: &[
            ("id", Text),
            ("experiment_id", Int),
            ("pipeline", Text),
            ("pipeline_file", Text),
            ("pipeline_text", Text),
            ("pipeline_hash", Text),
            ("git_commit", Text),
            ("status", Text),
            ("trigger", Text),
            ("started_at", Text),
            ("ended_at", Text),
            ("error", Text),
            ("pmflow_version", Text),
            ("host", Text),
            ("pid", Int),
            ("heartbeat_at", Text),
            ("fire_at", Text),
        ],
        order: "started_at, id",
    },
    Table {
        name: "step_runs",
        columns: &[
            ("run_id", Text),
            ("step_id", Text),
            ("kind", Text),
            ("position", Int),
            ("status", Text),
            ("cached", Int),
            ("attempts", Int),
            ("started_at", Text),
            ("ended_at", Text),
            ("duration_ms", Int),
            ("error", Text),
            ("cache_key", Text),
            ("outputs", Text),
        ],
        order: "run_id, position",
    },
    Table {
        name: "params",
        columns: &[("run_id", Text), ("key", Text), ("value", Text)],
        order: "run_id, key",
    },
    Table {
        name: "metrics",
        columns: &[
            ("run_id", Text),
            ("step_id", Text),
            ("key", Text),
            ("value", Real),
            ("step", Int),
            ("time_ms", Int),
        ],
        order: "id",
    },
    Table {
        name: "superseded_metrics",
        columns: &[
            ("run_id", Text),
            ("step_id", Text),
            ("attempt", Int),
            ("key", Text),
            ("value", Real),
            ("step", Int),
            ("time_ms", Int),
        ],
        order: "run_id, step_id, attempt, key, step, time_ms",
    },
    Table {
        name: "tags",
        columns: &[("run_id", Text), ("key", Text), ("value", Text)],
        order: "run_id, key",
    },
    Table {
        name: "artifacts",
        columns: &[
            ("run_id", Text),
            ("step_id", Text),
            ("name", Text),
            ("uri", Text),
            ("sha256", Text),
            ("bytes", Int),
            ("created_at", Text),
            ("removed_at", Text),
        ],
        order: "run_id, step_id, name",
    },
    Table {
        name: "model_versions",
        columns: &[
            ("name", Text),
            ("version", Int),
            ("run_id", Text),
            ("uri", Text),
            ("created_at", Text),
            ("description", Text),
            ("model_sha256", Text),
            ("card_uri", Text),
            ("card_sha256", Text),
            ("data_uri", Text),
            ("data_sha256", Text),
            ("metrics", Text),
            ("params", Text),
            ("git_commit", Text),
            ("pmflow_version", Text),
        ],
        order: "name, version",
    },
    Table {
        name: "model_aliases",
        columns: &[
            ("name", Text),
            ("alias", Text),
            ("version", Int),
            ("set_at", Text),
            ("set_by", Text),
        ],
        order: "name, alias",
    },
    Table {
        name: "model_alias_history",
        columns: &[
            ("name", Text),
            ("alias", Text),
            ("version", Int),
            ("previous", Int),
            ("action", Text),
            ("at", Text),
            ("who", Text),
            ("reason", Text),
            ("gate", Text),
        ],
        order: "id",
    },
];

#[derive(Debug, Clone)]
enum Value {
    Text(Option<String>),
    Int(Option<i64>),
    Real(Option<f64>),
}

/// Bound values per INSERT: well under SQLite's 32,766 and PostgreSQL's 65,535.
const VALUES_PER_INSERT: usize = 3_000;

/// Copies everything `from` holds into `to`. Refused, with nothing written, when `to` already
/// holds one of `from`'s run ids or model versions, or when a run of `from` is still running.
pub async fn copy_registry(
    from: &Registry,
    to: &Registry,
    progress: CopyProgress<'_>,
) -> Result<Copied, RegistryError> {
    refuse_clashes(from, to).await?;
    let mut copied = Copied::default();
    let mut tx = to.pool.begin().await?;
    // Experiments by name: the target numbers its own, and may know some names already.
    let mut experiment_ids: HashMap<i64, i64> = HashMap::new();
    let experiments = sqlx::query("SELECT id, name, created_at FROM experiments ORDER BY id")
        .fetch_all(&from.pool)
        .await?;
    for row in &experiments {
        let (id, name, created_at): (i64, String, String) =
            (row.try_get("id")?, row.try_get("name")?, row.try_get("created_at")?);
        sqlx::query("INSERT INTO experiments (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(&name)
            .bind(&created_at)
            .execute(&mut *tx)
            .await?;
        let target: i64 = sqlx::query_scalar("SELECT id FROM experiments WHERE name = $1")
            .bind(&name)
            .fetch_one(&mut *tx)
            .await?;
        experiment_ids.insert(id, target);
    }
    progress("experiments", experiments.len() as u64);
    copied.tables.push(("experiments", experiments.len() as u64));

    for table in &TABLES {
        let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
        let select = format!(
            "SELECT {} FROM {} ORDER BY {}",
            columns.join(", "),
            table.name,
            table.order
        );
        let per_insert = (VALUES_PER_INSERT / columns.len()).max(1);
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(&from.pool);
        let mut batch: Vec<Vec<Value>> = Vec::with_capacity(per_insert);
        let mut count = 0u64;
        while let Some(row) = rows.try_next().await? {
            let mut values = Vec::with_capacity(columns.len());
            for (column, kind) in table.columns {
                values.push(match kind {
                    Kind::Text => Value::Text(row.try_get(*column)?),
                    Kind::Int => Value::Int(row.try_get(*column)?),
                    Kind::Real => Value::Real(row.try_get(*column)?),
                });
            }
            if table.name == "runs" {
                if let Value::Int(Some(e)) = values[1] {
                    values[1] = Value::Int(experiment_ids.get(&e).copied());
                }
            }
            batch.push(values);
            if batch.len() == per_insert {
                insert(&mut tx, to.backend, table.name, &columns, &batch).await?;
                count += batch.len() as u64;
                batch.clear();
            }
        }
        if !batch.is_empty() {
            insert(&mut tx, to.backend, table.name, &columns, &batch).await?;
            count += batch.len() as u64;
        }
        progress(table.name, count);
        copied.tables.push((table.name, count));
    }
    tx.commit().await?;
    Ok(copied)
}

/// Refuses the copy, before anything is written, when a run of `from` is still running or
/// `to` already holds one of its run ids or model versions.
async fn refuse_clashes(from: &Registry, to: &Registry) -> Result<(), RegistryError> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM runs ORDER BY id")
        .fetch_all(&from.pool)
        .await?;
    let running: Vec<String> = sqlx::query_scalar("SELECT id FROM runs WHERE status = 'running' ORDER BY id")
        .fetch_all(&from.pool)
        .await?;
    if !running.is_empty() {
        return Err(RegistryError::Refused(format!(
            "{} run(s) of {} are still running ({}); copy once they have ended, so that no metric is left behind",
            running.len(),
            from.shown(),
            sample(&running)
        )));
    }
    let existing: HashSet<String> = sqlx::query_scalar("SELECT id FROM runs")
        .fetch_all(&to.pool)
        .await?
        .into_iter()
        .collect();
    let clashing: Vec<String> = ids.iter().filter(|id| existing.contains(*id)).cloned().collect();
    if !clashing.is_empty() {
        return Err(RegistryError::Refused(format!(
            "{} already holds {} of the {} run(s) being copied ({}); pmflow does not merge registries that share runs. Nothing was copied",
            to.shown(),
            clashing.len(),
            ids.len(),
            sample(&clashing)
        )));
    }
    let versions = model_versions(from).await?;
    let taken = model_versions(to).await?;
    let clashing: Vec<String> = versions
        .intersection(&taken)
        .map(|(name, v)| format!("{name} v{v}"))
        .collect();
    if !clashing.is_empty() {
        return Err(RegistryError::Refused(format!(
            "{} already has model version(s) {} that the copy would bring too; version numbers must stay unique. Nothing was copied",
            to.shown(),
            sample(&clashing)
        )));
    }
    Ok(())
}

async fn insert(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: super::Backend,
    table: &str,
    columns: &[&str],
    rows: &[Vec<Value>],
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES {}",
        columns.join(", "),
        super::values_sql(backend, rows.len(), columns.len())
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for row in rows {
        for value in row {
            query = match value {
                Value::Text(v) => query.bind(v.clone()),
                Value::Int(v) => query.bind(*v),
                Value::Real(v) => query.bind(*v),
            };
        }
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

async fn model_versions(registry: &Registry) -> Result<HashSet<(String, i64)>, RegistryError> {
    let rows = sqlx::query("SELECT name, version FROM model_versions")
        .fetch_all(&registry.pool)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("name")?, r.try_get("version")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// The first few of `items`, then how many more.
fn sample(items: &[String]) -> String {
    let shown: Vec<&str> = items.iter().take(3).map(String::as_str).collect();
    match items.len() {
        n if n > 3 => format!("{}, and {} more", shown.join(", "), n - 3),
        _ => shown.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::registry::testing::Fresh;
    use crate::registry::{test_run, test_version, Backend, MetricPoint, Promotion};

    /// Every table's row count, to compare a copy with its source.
    async fn row_counts(registry: &Registry) -> Result<BTreeMap<&'static str, i64>, RegistryError> {
        let mut counts = BTreeMap::new();
        for table in std::iter::once("experiments").chain(TABLES.iter().map(|t| t.name)) {
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&registry.pool)
                .await?;
            counts.insert(table, n);
        }
        Ok(counts)
    }

    fn point(step_id: &str, value: f64, step: i64) -> MetricPoint {
        MetricPoint {
            step_id: step_id.into(),
            key: "loss".into(),
            value,
            step,
            time_ms: 1_767_225_600_000 + step,
        }
    }

    /// A registry with two runs (one retried a step), a tag, an artifact and a promoted model.
    async fn filled(r: &Registry) {
        for id in ["r1", "r2"] {
            r.create_run(&test_run(id)).await.unwrap();
            r.step_started(id, "load").await.unwrap();
            r.log_metrics(id, &[point("load", 0.9, 0), point("load", 0.1, 1)])
                .await
                .unwrap();
            r.finish_run(id, "succeeded", None).await.unwrap();
        }
        // A retry: the first attempt's points move to superseded_metrics.
        r.step_started("r2", "load").await.unwrap();
        r.log_metrics("r2", &[point("load", 0.5, 0)]).await.unwrap();
        r.set_tag("r1", "owner", "ana").await.unwrap();
        let artifact = crate::frame::StoredArtifact {
            uri: "file:///a/r1/frame.parquet".into(),
            sha256: "ab".into(),
            bytes: 42,
        };
        r.log_artifact("r1", "load", "frame", &artifact).await.unwrap();
        let promotion = Promotion {
            alias: "production".into(),
            gate_passed: true,
            judged_against: None,
            who: "me@here".into(),
            reason: None,
            gate: serde_json::json!({"passed": true}),
        };
        r.register_model(&test_version("r1", 0.8), Some(&promotion))
            .await
            .unwrap();
    }

    async fn copy_between(from: Backend, to: Backend) {
        let (source, target) = (Fresh::new(from), Fresh::new(to));
        let (s, t) = (source.open().await, target.open().await);
        filled(&s).await;
        let mut told = Vec::new();
        let copied = copy_registry(&s, &t, &mut |table, n| told.push((table, n)))
            .await
            .unwrap();
        assert_eq!(copied.tables, told);
        assert_eq!(row_counts(&s).await.unwrap(), row_counts(&t).await.unwrap());
        assert_eq!(
            (
                copied.count("runs"),
                copied.count("metrics"),
                copied.count("superseded_metrics")
            ),
            (2, 3, 2)
        );
        for id in ["r1", "r2"] {
            let (a, b) = (s.show_run(id).await.unwrap(), t.show_run(id).await.unwrap());
            assert_eq!(serde_json::to_value(&a).unwrap(), serde_json::to_value(&b).unwrap());
            assert_eq!(s.metric_history(id).await.unwrap(), t.metric_history(id).await.unwrap());
        }
        assert_eq!(t.alias_holder("pump", "production").await.unwrap(), Some(1));
        assert_eq!(t.alias_history("pump", None).await.unwrap().len(), 1);
        // The target numbers what comes next after what it received.
        t.create_run(&test_run("r3")).await.unwrap();
        assert_eq!(
            t.register_model(&test_version("r3", 0.8), None).await.unwrap().version,
            2
        );

        // Again: the runs are there already. Refused, nothing written.
        let before = row_counts(&t).await.unwrap();
        let err = copy_registry(&s, &t, &mut |_, _| {}).await.unwrap_err().to_string();
        assert!(
            err.contains("already holds 2 of the 2 run(s) being copied (r1, r2)"),
            "{err}"
        );
        assert_eq!(row_counts(&t).await.unwrap(), before);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_into_postgres_and_back_row_for_row() {
        copy_between(Backend::Sqlite, Backend::Postgres).await;
        copy_between(Backend::Postgres, Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn clashing_model_versions_and_running_runs_are_refused() {
        let (source, target) = (Fresh::new(Backend::Sqlite), Fresh::new(Backend::Postgres));
        let (s, t) = (source.open().await, target.open().await);
        filled(&s).await;
        // Other runs, but `pump v1` is taken in the target.
        t.create_run(&test_run("other")).await.unwrap();
        t.finish_run("other", "succeeded", None).await.unwrap();
        t.register_model(&test_version("other", 0.8), None).await.unwrap();
        let before = row_counts(&t).await.unwrap();
        let err = copy_registry(&s, &t, &mut |_, _| {}).await.unwrap_err().to_string();
        assert!(err.contains("model version(s) pump v1"), "{err}");
        assert_eq!(row_counts(&t).await.unwrap(), before);
        // A run still running in the source.
        let empty = Fresh::new(Backend::Postgres);
        s.create_run(&test_run("live")).await.unwrap();
        let err = copy_registry(&s, &empty.open().await, &mut |_, _| {})
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("still running (live)"), "{err}");
    }
}
