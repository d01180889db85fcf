//! Registry reads and writes behind the step cache and `--resume`.

use std::collections::HashMap;

use sqlx::Row;

use super::{Registry, RegistryError};
use crate::frame::OutputRef;
use crate::frame::StoredArtifact;

/// A succeeded step execution whose outputs can be reused.
pub struct CachedStep {
    pub run_id: String,
    pub tables: Vec<OutputRef>,
    /// (artifact name, record) of everything the step stored.
    pub artifacts: Vec<(String, StoredArtifact)>,
    /// (key, value, step index) of every metric the step logged, copied into the new run so its
    /// metrics stay complete.
    pub metrics: Vec<(String, f64, i64)>,
    /// The warnings the step gave, repeated in the new run: the data behind them is the same.
    pub warnings: Vec<String>,
}

impl Registry {
    /// The files outside the run that step `step` of pipeline `pipeline` read in the newest run
    /// that recorded them, as (file, version): what `--dry-run` compares today's files with to
    /// say which one changed.
    pub async fn last_files_read(&self, pipeline: &str, step: &str) -> Result<Vec<(String, String)>, RegistryError> {
        let row = sqlx::query(
            "SELECT t.value FROM tags t JOIN runs r ON r.id = t.run_id
             WHERE r.pipeline = $1 AND t.key = $2 ORDER BY r.started_at DESC LIMIT 1",
        )
        .bind(pipeline)
        .bind(format!("{}{step}", super::INPUT_TAG))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(Vec::new()) };
        let value: String = row.try_get("value")?;
        Ok(super::files_read(&value))
    }

    /// The newest succeeded execution with this cache key, if any.
    pub async fn find_cached(&self, cache_key: &str) -> Result<Option<CachedStep>, RegistryError> {
        let row = sqlx::query(
            "SELECT run_id, step_id, outputs FROM step_runs
             WHERE cache_key = $1 AND status = 'succeeded' AND outputs IS NOT NULL
             ORDER BY ended_at DESC LIMIT 1",
        )
        .bind(cache_key)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let (run_id, step_id): (String, String) = (row.try_get("run_id")?, row.try_get("step_id")?);
        let outputs: String = row.try_get("outputs")?;
        let Ok(tables) = serde_json::from_str::<Vec<OutputRef>>(&outputs) else {
            return Ok(None);
        };
        let artifacts = self.step_artifacts(&run_id, &step_id).await?;
        let metrics =
            sqlx::query("SELECT key, value, step FROM metrics WHERE run_id = $1 AND step_id = $2 ORDER BY id")
                .bind(&run_id)
                .bind(&step_id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| Ok((r.try_get("key")?, r.try_get("value")?, r.try_get("step")?)))
                .collect::<Result<_, sqlx::Error>>()?;
        // The step's warning tags, in the order they were given: `warning.s`, `warning.s.2`,
        // ..., `warning.s.10` sort so by length, then text.
        let warnings = sqlx::query(
            "SELECT key, value FROM tags WHERE run_id = $1 AND key LIKE 'warning.%' ORDER BY LENGTH(key), key",
        )
        .bind(&run_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .filter_map(|r| {
            let key: String = r.try_get("key").ok()?;
            (super::warning_tag_step(&key) == Some(step_id.as_str()))
                .then(|| r.try_get("value").ok())
                .flatten()
        })
        .collect();
        Ok(Some(CachedStep {
            run_id,
            tables,
            artifacts,
            metrics,
            warnings,
        }))
    }

    async fn step_artifacts(
        &self,
        run_id: &str,
        step_id: &str,
    ) -> Result<Vec<(String, StoredArtifact)>, RegistryError> {
        let rows = sqlx::query(
            "SELECT name, uri, sha256, bytes FROM artifacts WHERE run_id = $1 AND step_id = $2 ORDER BY name",
        )
        .bind(run_id)
        .bind(step_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let bytes: i64 = r.try_get("bytes")?;
                Ok((
                    r.try_get("name")?,
                    StoredArtifact {
                        uri: r.try_get("uri")?,
                        sha256: r.try_get("sha256")?,
                        bytes: bytes as u64,
                    },
                ))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Records a finished step's cache key and output tables.
    pub async fn step_outputs(
        &self,
        run_id: &str,
        step_id: &str,
        cache_key: Option<&str>,
        tables: &[OutputRef],
    ) -> Result<(), RegistryError> {
        let outputs = serde_json::to_string(tables).unwrap_or_else(|_| "[]".into());
        sqlx::query("UPDATE step_runs SET cache_key = $1, outputs = $2 WHERE run_id = $3 AND step_id = $4")
            .bind(cache_key)
            .bind(outputs)
            .bind(run_id)
            .bind(step_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The run's pipeline hash, status, and the outputs of its succeeded steps: what `--resume`
    /// reuses, and where a named model or an earlier run's table is found.
    pub async fn succeeded_outputs(
        &self,
        run_id: &str,
    ) -> Result<(String, String, HashMap<String, Vec<OutputRef>>), RegistryError> {
        let row = sqlx::query("SELECT pipeline_hash, status FROM runs WHERE id = $1")
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| RegistryError::NotFound(format!("no run `{run_id}`")))?;
        let mut done = HashMap::new();
        let steps = sqlx::query("SELECT step_id, outputs FROM step_runs WHERE run_id = $1 AND status = 'succeeded'")
            .bind(run_id)
            .fetch_all(&self.pool)
            .await?;
        for s in steps {
            let outputs: Option<String> = s.try_get("outputs")?;
            if let Some(tables) = outputs.and_then(|o| serde_json::from_str::<Vec<OutputRef>>(&o).ok()) {
                done.insert(s.try_get("step_id")?, tables);
            }
        }
        Ok((row.try_get("pipeline_hash")?, row.try_get("status")?, done))
    }

    /// Puts a failed or interrupted run back to `running` under this process; its unfinished
    /// steps go back to `pending`.
    pub async fn reopen_run(&self, run_id: &str) -> Result<(), RegistryError> {
        let now = super::stamp(self.clock().await?);
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE runs SET status = 'running', ended_at = NULL, error = NULL, host = $1, pid = $2, heartbeat_at = $3 WHERE id = $4",
        )
        .bind(super::liveness::this_host())
        .bind(std::process::id() as i64)
        .bind(&now)
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE step_runs SET status = 'pending', error = NULL WHERE run_id = $1 AND status <> 'succeeded'",
        )
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
