//! The registry's side of `pmflow gc` and of clearing a resumed run's leftovers: which runs
//! exist, what each recorded and references, and stamping what was removed. Records are never
//! deleted: a collected run keeps its params, metrics and the list of the files it had.

use std::collections::HashSet;

use sqlx::Row;

use super::{now_text, Registry, RegistryError};

/// A run as `gc` weighs it.
#[derive(Debug, Clone, PartialEq)]
pub struct GcRun {
    pub id: String,
    pub experiment: String,
    pub pipeline: String,
    pub status: String,
    pub started_at: String,
    /// A model version was registered from it: its files stay.
    pub has_model: bool,
}

impl Registry {
    /// Every run, newest first.
    pub async fn gc_runs(&self) -> Result<Vec<GcRun>, RegistryError> {
        let rows = sqlx::query(
            "SELECT r.id, e.name AS experiment, r.pipeline, r.status, r.started_at,
                    CASE WHEN EXISTS (SELECT 1 FROM model_versions m WHERE m.run_id = r.id) THEN 1 ELSE 0 END AS has_model
             FROM runs r JOIN experiments e ON e.id = r.experiment_id
             ORDER BY r.started_at DESC, r.id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(GcRun {
                    id: r.try_get("id")?,
                    experiment: r.try_get("experiment")?,
                    pipeline: r.try_get("pipeline")?,
                    status: r.try_get("status")?,
                    started_at: r.try_get("started_at")?,
                    has_model: r.try_get::<i32, _>("has_model")? != 0,
                })
            })
            .collect()
    }

    /// The URIs a run recorded as its artifacts and not yet removed.
    pub async fn recorded_uris(&self, run_id: &str) -> Result<HashSet<String>, RegistryError> {
        let uris: Vec<String> =
            sqlx::query_scalar("SELECT uri FROM artifacts WHERE run_id = $1 AND removed_at IS NULL")
                .bind(run_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(uris.into_iter().collect())
    }

    /// Every URI a run relies on: its artifacts and the tables its steps use as outputs, which
    /// for a step served from the cache are an earlier run's files.
    pub async fn referenced_uris(&self, run_id: &str) -> Result<HashSet<String>, RegistryError> {
        let mut uris = self.recorded_uris(run_id).await?;
        let outputs: Vec<Option<String>> = sqlx::query_scalar("SELECT outputs FROM step_runs WHERE run_id = $1")
            .bind(run_id)
            .fetch_all(&self.pool)
            .await?;
        for text in outputs.into_iter().flatten() {
            if let Ok(serde_json::Value::Array(tables)) = serde_json::from_str(&text) {
                uris.extend(tables.iter().filter_map(|t| t["uri"].as_str().map(str::to_string)));
            }
        }
        Ok(uris)
    }

    /// Records that `uris` of `run_id` were removed, and takes the run's steps out of the step
    /// cache (their tables are gone), in one transaction.
    pub async fn mark_removed(&self, run_id: &str, uris: &[String]) -> Result<(), RegistryError> {
        let now = now_text();
        let mut tx = self.pool.begin().await?;
        for uri in uris {
            sqlx::query("UPDATE artifacts SET removed_at = $1 WHERE run_id = $2 AND uri = $3")
                .bind(&now)
                .bind(run_id)
                .bind(uri)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE step_runs SET cache_key = NULL WHERE run_id = $1")
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
