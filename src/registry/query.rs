//! Reads for `runs list`, `runs show` and `metrics`, shaped as the documented JSON contract.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::Row;

use super::filter::{self, Filter, Needs, OrderKey, RunFacts, Selected};
use super::run_summary::RunSummary;
use super::{Registry, RegistryError};

/// A JSON object: a run's params, metrics, series or tags.
type JsonMap = serde_json::Map<String, serde_json::Value>;

#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub cached: bool,
    pub attempts: i64,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArtifactView {
    pub step: String,
    pub name: String,
    pub uri: String,
    pub sha256: String,
    pub bytes: i64,
    /// When `pmflow gc` removed the file (the record stays).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunDetail {
    #[serde(flatten)]
    pub summary: RunSummary,
    pub pipeline_file: String,
    pub pipeline_hash: String,
    pub git_commit: Option<String>,
    pub pmflow_version: String,
    /// The host (`PMFLOW_HOST` or the hostname) and process that ran it last.
    pub host: String,
    pub pid: i64,
    pub error: Option<String>,
    pub params: serde_json::Map<String, serde_json::Value>,
    /// name -> last value (by step index, then time).
    pub metrics: serde_json::Map<String, serde_json::Value>,
    /// name -> [[step index, value], ...] for metrics logged at more than one step (per epoch).
    pub series: serde_json::Map<String, serde_json::Value>,
    pub tags: serde_json::Map<String, serde_json::Value>,
    pub steps: Vec<StepView>,
    pub artifacts: Vec<ArtifactView>,
}

/// One point of a run's metric history, as `pmflow metrics` prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRecord {
    pub step_id: String,
    pub key: String,
    /// The step index (the epoch of per-epoch metrics; 0 for one-off values).
    pub step: i64,
    pub value: f64,
    pub time_ms: i64,
}

/// A param as stored (JSON text). Numbers are read with Rust's exact parser: serde_json's
/// default one can be off by one unit in the last place, and `params.lr = 0.002` must hold.
fn param_value(text: String) -> serde_json::Value {
    if let Some(n) = text.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
        return serde_json::Value::Number(n);
    }
    serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
}

impl RunDetail {
    /// The metrics' last values as numbers (name -> value), for code that computes with them.
    pub fn metric_values(&self) -> std::collections::BTreeMap<String, f64> {
        self.metrics
            .iter()
            .filter_map(|(k, v)| v.as_f64().map(|v| (k.clone(), v)))
            .collect()
    }
}

fn summary(row: &sqlx::any::AnyRow) -> Result<RunSummary, sqlx::Error> {
    Ok(RunSummary {
        id: row.try_get("id")?,
        experiment: row.try_get("experiment")?,
        pipeline: row.try_get("pipeline")?,
        status: row.try_get("status")?,
        trigger: row.try_get("trigger")?,
        started_at: row.try_get("started_at")?,
        ended_at: row.try_get("ended_at")?,
        fire_at: row.try_get("fire_at")?,
    })
}

impl Registry {
    /// Runs, newest first, optionally of one experiment.
    pub async fn list_runs(&self, experiment: Option<&str>, limit: i64) -> Result<Vec<RunSummary>, RegistryError> {
        let rows = sqlx::query(
            "SELECT r.id, e.name AS experiment, r.pipeline, r.status, r.trigger, r.started_at, r.ended_at, r.fire_at
             FROM runs r JOIN experiments e ON e.id = r.experiment_id
             WHERE ($1 IS NULL OR e.name = $1)
             ORDER BY r.started_at DESC, r.id DESC LIMIT $2",
        )
        .bind(experiment)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(summary).collect::<Result<_, _>>()?)
    }

    /// `runs list --where ... --order-by ...`: the runs (optionally of one experiment) that pass
    /// `filter`, in `order`, at most `limit`. The values are fetched for all runs at once (one
    /// query for the last metric values, one for params, one for tags, each only when named)
    /// and the filter is evaluated in Rust, which takes milliseconds for thousands of runs.
    pub async fn search_runs(
        &self,
        experiment: Option<&str>,
        filter: &Filter,
        order: &[OrderKey],
        limit: Option<usize>,
    ) -> Result<Vec<Selected>, RegistryError> {
        let facts = self.run_facts(experiment, Needs::of(filter, order)).await?;
        Ok(filter::select(facts, filter, order, limit)?)
    }

    /// Every run (newest first, optionally of one experiment) with what `needs` asks for.
    async fn run_facts(&self, experiment: Option<&str>, needs: Needs) -> Result<Vec<RunFacts>, RegistryError> {
        let mut facts: Vec<RunFacts> = self
            .list_runs(experiment, i64::MAX)
            .await?
            .into_iter()
            .map(|summary| RunFacts {
                summary,
                metrics: Default::default(),
                params: Default::default(),
                tags: Default::default(),
            })
            .collect();
        let index: HashMap<String, usize> = facts
            .iter()
            .enumerate()
            .map(|(i, f)| (f.summary.id.clone(), i))
            .collect();
        // Static SQL (sqlx refuses built strings): `x` is the table read, and the subquery keeps
        // the runs of the experiment, all runs when it is NULL.
        macro_rules! of_experiment {
            ($select:literal) => {
                concat!(
                    $select,
                    " WHERE x.run_id IN (SELECT r.id FROM runs r JOIN experiments e ON e.id = r.experiment_id
                                         WHERE ($1 IS NULL OR e.name = $1))"
                )
            };
        }
        if needs.metrics {
            // The last value by step index (then time, then insertion), as `show_run` picks it.
            let sql = concat!(
                "SELECT run_id, name, value FROM (",
                of_experiment!(
                    "SELECT x.run_id, x.step_id || '.' || x.key AS name, x.value,
                            ROW_NUMBER() OVER (PARTITION BY x.run_id, x.step_id || '.' || x.key
                                               ORDER BY x.step DESC, x.time_ms DESC, x.id DESC) AS nth
                     FROM metrics x"
                ),
                ") ranked WHERE nth = 1"
            );
            for row in sqlx::query(sql).bind(experiment).fetch_all(&self.pool).await? {
                let run: String = row.try_get("run_id")?;
                if let Some(&i) = index.get(&run) {
                    facts[i].metrics.insert(row.try_get("name")?, row.try_get("value")?);
                }
            }
        }
        if needs.params {
            let sql = of_experiment!("SELECT x.run_id, x.key, x.value FROM params x");
            for row in sqlx::query(sql).bind(experiment).fetch_all(&self.pool).await? {
                let run: String = row.try_get("run_id")?;
                if let Some(&i) = index.get(&run) {
                    let value: String = row.try_get("value")?;
                    facts[i].params.insert(row.try_get("key")?, param_value(value));
                }
            }
        }
        if needs.tags {
            let sql = of_experiment!("SELECT x.run_id, x.key, x.value FROM tags x");
            for row in sqlx::query(sql).bind(experiment).fetch_all(&self.pool).await? {
                let run: String = row.try_get("run_id")?;
                if let Some(&i) = index.get(&run) {
                    facts[i].tags.insert(row.try_get("key")?, row.try_get("value")?);
                }
            }
        }
        Ok(facts)
    }

    /// Every metric point of a run, per-epoch series included, in the order its steps ran,
    /// then by key and step index. Points of superseded attempts (in `superseded_metrics`)
    /// are not among them, as in `runs show`.
    pub async fn metric_history(&self, id: &str) -> Result<Vec<MetricRecord>, RegistryError> {
        // Run-level rows (no step) first on both databases: PostgreSQL sorts NULLs last.
        let rows = sqlx::query(
            "SELECT m.step_id, m.key, m.step, m.value, m.time_ms FROM metrics m
             LEFT JOIN step_runs s ON s.run_id = m.run_id AND s.step_id = m.step_id
             WHERE m.run_id = $1 ORDER BY COALESCE(s.position, -1), m.step_id, m.key, m.step, m.time_ms, m.id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok(MetricRecord {
                    step_id: r.try_get("step_id")?,
                    key: r.try_get("key")?,
                    step: r.try_get("step")?,
                    value: r.try_get("value")?,
                    time_ms: r.try_get("time_ms")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// For `--resume`: like [`Registry::resolve_run`], but `latest` is the newest run of
    /// `pipeline`, and a run of another pipeline is refused with a message naming its owner.
    pub async fn resolve_run_of(&self, spec: &str, pipeline: &str) -> Result<String, RegistryError> {
        if spec == "latest" {
            let id: Option<String> =
                sqlx::query_scalar("SELECT id FROM runs WHERE pipeline = $1 ORDER BY started_at DESC, id DESC LIMIT 1")
                    .bind(pipeline)
                    .fetch_optional(&self.pool)
                    .await?;
            return id.ok_or_else(|| {
                RegistryError::NotFound(format!(
                    "no run of pipeline `{pipeline}` is recorded yet; start one without --resume"
                ))
            });
        }
        let id = self.resolve_run(spec).await?;
        let (owner, file): (String, String) = sqlx::query_as("SELECT pipeline, pipeline_file FROM runs WHERE id = $1")
            .bind(&id)
            .fetch_one(&self.pool)
            .await?;
        if owner != pipeline {
            return Err(RegistryError::Refused(format!(
                "run {id} is a run of pipeline `{owner}` ({file}), not of `{pipeline}`; resume it with `pmflow run {file} --resume {id}`"
            )));
        }
        Ok(id)
    }

    /// A full id, a unique id prefix, or `latest`.
    pub async fn resolve_run(&self, spec: &str) -> Result<String, RegistryError> {
        if spec == "latest" {
            let id: Option<String> =
                sqlx::query_scalar("SELECT id FROM runs ORDER BY started_at DESC, id DESC LIMIT 1")
                    .fetch_optional(&self.pool)
                    .await?;
            return id.ok_or_else(|| {
                RegistryError::NotFound("no runs recorded yet; start one with `pmflow run PIPELINE`".into())
            });
        }
        if spec.is_empty() || !spec.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(RegistryError::NotFound(format!(
                "`{spec}` is not a run id; give an id, a unique id prefix, or `latest`"
            )));
        }
        let pattern = format!("{}%", spec.replace('-', "").to_ascii_lowercase());
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM runs WHERE id LIKE $1 ORDER BY id LIMIT 3")
            .bind(&pattern)
            .fetch_all(&self.pool)
            .await?;
        match ids.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(RegistryError::NotFound(format!(
                "no run matches `{spec}`; `pmflow runs list` shows the ids"
            ))),
            _ => Err(RegistryError::NotFound(format!(
                "`{spec}` matches several runs ({}, ...); give more characters",
                ids.join(", ")
            ))),
        }
    }

    /// The model versions registered from a run, as (name, version).
    pub async fn versions_of_run(&self, id: &str) -> Result<Vec<(String, i64)>, RegistryError> {
        let rows = sqlx::query("SELECT name, version FROM model_versions WHERE run_id = $1 ORDER BY name, version")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("name")?, r.try_get("version")?)))
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// The resolved pipeline a run ran (JSON, as `pipeline.json` beside its artifacts).
    pub async fn pipeline_text(&self, id: &str) -> Result<String, RegistryError> {
        sqlx::query_scalar("SELECT pipeline_text FROM runs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| RegistryError::NotFound(format!("no run `{id}`")))
    }

    pub async fn show_run(&self, id: &str) -> Result<RunDetail, RegistryError> {
        let row = sqlx::query(
            "SELECT r.id, e.name AS experiment, r.pipeline, r.status, r.trigger, r.started_at, r.ended_at, r.fire_at,
                    r.pipeline_file, r.pipeline_hash, r.git_commit, r.pmflow_version, r.host, r.pid, r.error
             FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE r.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| RegistryError::NotFound(format!("no run `{id}`")))?;

        let params = self.run_params(id).await?;
        let (metrics, series) = self.run_metrics(id).await?;
        let tags = self.run_tags(id).await?;
        let steps = self.run_steps(id).await?;
        let artifacts = self.run_artifacts(id).await?;

        Ok(RunDetail {
            summary: summary(&row)?,
            pipeline_file: row.try_get("pipeline_file")?,
            pipeline_hash: row.try_get("pipeline_hash")?,
            git_commit: row.try_get("git_commit")?,
            pmflow_version: row.try_get("pmflow_version")?,
            host: row.try_get("host")?,
            pid: row.try_get("pid")?,
            error: row.try_get("error")?,
            params,
            metrics,
            series,
            tags,
            steps,
            artifacts,
        })
    }

    /// A run's params, each value as JSON (text that is not JSON as a string).
    async fn run_params(&self, id: &str) -> Result<JsonMap, RegistryError> {
        let mut params = serde_json::Map::new();
        for r in sqlx::query("SELECT key, value FROM params WHERE run_id = $1 ORDER BY key")
            .bind(id)
            .fetch_all(&self.pool)
            .await?
        {
            let value: String = r.try_get("value")?;
            params.insert(
                r.try_get("key")?,
                serde_json::from_str(&value).unwrap_or(serde_json::Value::String(value)),
            );
        }
        Ok(params)
    }

    /// A run's metrics: each one's last value, and the series of those with several points.
    async fn run_metrics(&self, id: &str) -> Result<(JsonMap, JsonMap), RegistryError> {
        let mut metrics = serde_json::Map::new();
        let mut series = serde_json::Map::new();
        let metric_rows = sqlx::query(
            "SELECT step_id || '.' || key AS name, step, value FROM metrics WHERE run_id = $1 ORDER BY name, step, time_ms, id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        for r in metric_rows {
            let name: String = r.try_get("name")?;
            let value = serde_json::Number::from_f64(r.try_get("value")?).map_or(serde_json::Value::Null, Into::into);
            let step: i64 = r.try_get("step")?;
            let points = series
                .entry(name.clone())
                .or_insert_with(|| serde_json::Value::Array(Vec::new()));
            if let serde_json::Value::Array(points) = points {
                points.push(serde_json::json!([step, value.clone()]));
            }
            metrics.insert(name, value);
        }
        series.retain(|_, points| points.as_array().is_some_and(|p| p.len() > 1));
        Ok((metrics, series))
    }

    async fn run_tags(&self, id: &str) -> Result<JsonMap, RegistryError> {
        let mut tags = serde_json::Map::new();
        for r in sqlx::query("SELECT key, value FROM tags WHERE run_id = $1 ORDER BY key")
            .bind(id)
            .fetch_all(&self.pool)
            .await?
        {
            let value: String = r.try_get("value")?;
            tags.insert(r.try_get("key")?, value.into());
        }
        Ok(tags)
    }

    /// A run's steps, in pipeline order.
    async fn run_steps(&self, id: &str) -> Result<Vec<StepView>, RegistryError> {
        let steps = sqlx::query(
            "SELECT step_id, kind, status, cached, attempts, duration_ms, error, started_at, ended_at FROM step_runs WHERE run_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(StepView {
                id: r.try_get("step_id")?,
                kind: r.try_get("kind")?,
                status: r.try_get("status")?,
                cached: r.try_get::<i64, _>("cached")? != 0,
                attempts: r.try_get("attempts")?,
                duration_ms: r.try_get("duration_ms")?,
                error: r.try_get("error")?,
                started_at: r.try_get("started_at")?,
                ended_at: r.try_get("ended_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(steps)
    }

    /// A run's files, by step in pipeline order (the run's own files first), then by name.
    async fn run_artifacts(&self, id: &str) -> Result<Vec<ArtifactView>, RegistryError> {
        let artifacts = sqlx::query(
            "SELECT a.step_id, a.name, a.uri, a.sha256, a.bytes, a.removed_at FROM artifacts a
             LEFT JOIN step_runs s ON s.run_id = a.run_id AND s.step_id = a.step_id
             WHERE a.run_id = $1 ORDER BY COALESCE(s.position, -1), a.name",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(ArtifactView {
                step: r.try_get("step_id")?,
                name: r.try_get("name")?,
                uri: r.try_get("uri")?,
                sha256: r.try_get("sha256")?,
                bytes: r.try_get("bytes")?,
                removed_at: r.try_get("removed_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;

        Ok(artifacts)
    }
}
