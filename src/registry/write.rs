//! Writes: runs, step runs, params (immutable), metrics (append-only, batched), artifacts.

use super::{now_text, Registry, RegistryError};
use crate::frame::StoredArtifact;

/// A run about to start.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub id: String,
    pub experiment: String,
    pub pipeline: String,
    pub pipeline_file: String,
    pub pipeline_text: String,
    pub pipeline_hash: String,
    pub git_commit: Option<String>,
    pub trigger: &'static str,
    /// The schedule fire a scheduled run belongs to (UTC RFC 3339), recorded with the run so a
    /// daemon that dies mid-run leaves the fire marked as taken.
    pub fire_at: Option<String>,
    /// (step id, kind) in execution order.
    pub steps: Vec<(String, String)>,
    pub params: Vec<(String, serde_json::Value)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    pub step_id: String,
    pub key: String,
    pub value: f64,
    pub step: i64,
    pub time_ms: i64,
}

/// Metric points per INSERT statement: 3,000 bound values, well under SQLite's 32,766 and
/// PostgreSQL's 65,535.
const METRICS_PER_INSERT: usize = 500;

/// The INSERT of `chunk`'s points. Built by hand: sqlx's QueryBuilder writes `?` placeholders for
/// `Any`, which PostgreSQL does not read.
fn insert_metrics<'q>(
    backend: super::Backend,
    run_id: &'q str,
    chunk: &'q [MetricPoint],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    let sql = format!(
        "INSERT INTO metrics (run_id, step_id, key, value, step, time_ms) VALUES {}",
        super::values_sql(backend, chunk.len(), 6)
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for p in chunk {
        query = query
            .bind(run_id)
            .bind(&p.step_id)
            .bind(&p.key)
            .bind(p.value)
            .bind(p.step)
            .bind(p.time_ms);
    }
    query
}

impl Registry {
    /// Records a new run as `running`, its steps as `pending` and its params, in one transaction.
    pub async fn create_run(&self, run: &NewRun) -> Result<(), RegistryError> {
        // The registry's clock: runs of several hosts order by when they started, and the
        // first heartbeat is judged by the clock that judges the later ones.
        let now = super::stamp(self.clock().await?);
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO experiments (name, created_at) VALUES ($1, $2) ON CONFLICT(name) DO NOTHING")
            .bind(&run.experiment)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO runs (id, experiment_id, pipeline, pipeline_file, pipeline_text, pipeline_hash, git_commit,
                               status, trigger, started_at, pmflow_version, host, pid, heartbeat_at, fire_at)
             VALUES ($1, (SELECT id FROM experiments WHERE name = $2), $3, $4, $5, $6, $7, 'running', $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&run.id)
        .bind(&run.experiment)
        .bind(&run.pipeline)
        .bind(&run.pipeline_file)
        .bind(&run.pipeline_text)
        .bind(&run.pipeline_hash)
        .bind(&run.git_commit)
        .bind(run.trigger)
        .bind(&now)
        .bind(env!("CARGO_PKG_VERSION"))
        .bind(super::liveness::this_host())
        .bind(std::process::id() as i64)
        .bind(&now)
        .bind(&run.fire_at)
        .execute(&mut *tx)
        .await?;
        for (position, (step_id, kind)) in run.steps.iter().enumerate() {
            sqlx::query(
                "INSERT INTO step_runs (run_id, step_id, kind, position, status) VALUES ($1, $2, $3, $4, 'pending')",
            )
            .bind(&run.id)
            .bind(step_id)
            .bind(kind)
            .bind(position as i64)
            .execute(&mut *tx)
            .await?;
        }
        for (key, value) in &run.params {
            sqlx::query("INSERT INTO params (run_id, key, value) VALUES ($1, $2, $3)")
                .bind(&run.id)
                .bind(key)
                .bind(value.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn finish_run(&self, run_id: &str, status: &str, error: Option<&str>) -> Result<(), RegistryError> {
        sqlx::query("UPDATE runs SET status = $1, ended_at = $2, error = $3 WHERE id = $4")
            .bind(status)
            .bind(super::stamp(self.clock().await?))
            .bind(error)
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks a step running as a new attempt. Points an earlier attempt of it logged in this run
    /// (a failed try before a retry, or a killed process before `--resume`) move to
    /// `superseded_metrics` under that attempt's number, in the same transaction, so the
    /// step's series holds only what this attempt logs. `attempts` counts every attempt the
    /// step had in this run, across resumes.
    pub async fn step_started(&self, run_id: &str, step_id: &str) -> Result<(), RegistryError> {
        // Writes only, the first one included: a transaction that reads first and writes later
        // can fail with SQLITE_BUSY_SNAPSHOT when another process commits in between, which
        // the busy timeout does not cover. Every point still in `metrics` for this step is an
        // earlier attempt's (the recorder flushes before it records a start).
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO superseded_metrics (run_id, step_id, attempt, key, value, step, time_ms)
             SELECT m.run_id, m.step_id, s.attempts, m.key, m.value, m.step, m.time_ms
             FROM metrics m JOIN step_runs s ON s.run_id = m.run_id AND s.step_id = m.step_id
             WHERE m.run_id = $1 AND m.step_id = $2 AND s.attempts > 0 ORDER BY m.id",
        )
        .bind(run_id)
        .bind(step_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM metrics WHERE run_id = $1 AND step_id = $2
             AND (SELECT attempts FROM step_runs WHERE run_id = $3 AND step_id = $4) > 0",
        )
        .bind(run_id)
        .bind(step_id)
        .bind(run_id)
        .bind(step_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE step_runs SET status = 'running', attempts = attempts + 1, started_at = COALESCE(started_at, $1), error = NULL
             WHERE run_id = $2 AND step_id = $3",
        )
        .bind(now_text())
        .bind(run_id)
        .bind(step_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn step_finished(
        &self,
        run_id: &str,
        step_id: &str,
        status: &str,
        cached: bool,
        duration_ms: Option<i64>,
        error: Option<&str>,
    ) -> Result<(), RegistryError> {
        sqlx::query(
            "UPDATE step_runs SET status = $1, cached = $2, ended_at = $3, duration_ms = $4, error = $5
             WHERE run_id = $6 AND step_id = $7",
        )
        .bind(status)
        .bind(cached as i64)
        .bind(now_text())
        .bind(duration_ms)
        .bind(error)
        .bind(run_id)
        .bind(step_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Appends many metric points in one transaction (one fsync, not one per point).
    pub async fn log_metrics(&self, run_id: &str, points: &[MetricPoint]) -> Result<(), RegistryError> {
        if points.is_empty() {
            return Ok(());
        }
        // Multi-row INSERTs, one statement per 500 points, instead of one round trip per
        // point. A batch that fits one statement needs no transaction around it (a statement is
        // atomic): one round trip, which is most of a single point's cost on PostgreSQL.
        if points.len() <= METRICS_PER_INSERT {
            insert_metrics(self.backend, run_id, points).execute(&self.pool).await?;
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for chunk in points.chunks(METRICS_PER_INSERT) {
            insert_metrics(self.backend, run_id, chunk).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn log_artifact(
        &self,
        run_id: &str,
        step_id: &str,
        name: &str,
        a: &StoredArtifact,
    ) -> Result<(), RegistryError> {
        sqlx::query(
            "INSERT INTO artifacts (run_id, step_id, name, uri, sha256, bytes, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT(run_id, step_id, name) DO UPDATE SET uri = excluded.uri, sha256 = excluded.sha256,
                 bytes = excluded.bytes, created_at = excluded.created_at",
        )
        .bind(run_id)
        .bind(step_id)
        .bind(name)
        .bind(&a.uri)
        .bind(&a.sha256)
        .bind(a.bytes as i64)
        .bind(now_text())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn set_tag(&self, run_id: &str, key: &str, value: &str) -> Result<(), RegistryError> {
        sqlx::query("INSERT INTO tags (run_id, key, value) VALUES ($1, $2, $3) ON CONFLICT(run_id, key) DO UPDATE SET value = excluded.value")
            .bind(run_id)
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
