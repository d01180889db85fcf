//! Writes runner events into the registry. Metric points are buffered and written in batches,
//! one transaction each, so a step logging thousands of points costs milliseconds.

use std::collections::HashMap;
use std::time::UNIX_EPOCH;

use super::events::{Event, Timed};
use crate::registry::{MetricPoint, Registry, RegistryError};

pub struct Recorder {
    registry: Registry,
    run_id: String,
    pending: Vec<MetricPoint>,
    /// Warnings recorded per step so far: each gets its own tag.
    warnings: HashMap<String, usize>,
    /// The first write that failed; the run goes on, the command reports it at the end.
    pub error: Option<RegistryError>,
}

/// Flush when this many points are waiting, even if more keep coming.
const BATCH: usize = 5_000;

impl Recorder {
    pub fn new(registry: Registry, run_id: String) -> Self {
        Recorder {
            registry,
            run_id,
            pending: Vec::new(),
            warnings: HashMap::new(),
            error: None,
        }
    }

    pub async fn on_event(&mut self, timed: &Timed) {
        let event = &timed.event;
        if let Event::Metric {
            step,
            key,
            value,
            index,
        } = event
        {
            // The time the step logged it, not the time it reached the registry.
            let time_ms = timed
                .at
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0);
            self.pending.push(MetricPoint {
                step_id: step.clone(),
                key: key.clone(),
                value: *value,
                step: *index,
                time_ms,
            });
            if self.pending.len() >= BATCH {
                self.flush().await;
            }
            return;
        }
        // Everything else is rare; keep metrics ordered before the event that follows them.
        self.flush().await;
        let run = self.run_id.as_str();
        let result = match event {
            Event::StepStarted { step, .. } => self.registry.step_started(run, step).await,
            Event::StepFinished {
                step,
                status,
                duration,
                error,
                cached_from,
            } => {
                let ms = duration.as_millis() as i64;
                let cached = cached_from.is_some();
                self.registry
                    .step_finished(run, step, status.as_str(), cached, Some(ms), error.as_deref())
                    .await
            }
            Event::StepOutputs {
                step,
                cache_key,
                tables,
            } => {
                self.registry
                    .step_outputs(run, step, cache_key.as_deref(), tables)
                    .await
            }
            Event::Artifact { step, name, stored } => self.registry.log_artifact(run, step, name, stored).await,
            Event::Warning { step, message } => {
                let count = self.warnings.entry(step.clone()).or_insert(0);
                *count += 1;
                let key = crate::registry::warning_tag(step, *count);
                self.registry.set_tag(run, &key, message).await
            }
            Event::Tag { key, value } => self.registry.set_tag(run, key, value).await,
            Event::RunFinished { status, error, .. } => {
                self.registry.finish_run(run, status.as_str(), error.as_deref()).await
            }
            _ => Ok(()),
        };
        self.keep_first_error(result);
    }

    /// Writes buffered metric points; called when the event queue runs dry and at the end.
    pub async fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let points = std::mem::take(&mut self.pending);
        let result = self.registry.log_metrics(&self.run_id, &points).await;
        self.keep_first_error(result);
    }

    /// Tells the registry this run's process is alive (see `registry::liveness`).
    pub async fn heartbeat(&mut self) {
        let result = self.registry.heartbeat(&self.run_id).await;
        self.keep_first_error(result);
    }

    fn keep_first_error(&mut self, result: Result<(), RegistryError>) {
        if let Err(e) = result {
            self.error.get_or_insert(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{test_run, RegistryLocation};

    #[tokio::test]
    async fn every_warning_of_a_step_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::open(&RegistryLocation::Sqlite(dir.path().join("r.db")))
            .await
            .unwrap();
        let run = test_run("w1");
        registry.create_run(&run).await.unwrap();
        let mut recorder = Recorder::new(registry.clone(), "w1".into());
        for message in ["short entities in train", "short entities in val"] {
            let warning = Timed {
                at: std::time::SystemTime::now(),
                event: Event::Warning {
                    step: "train".into(),
                    message: message.into(),
                },
            };
            recorder.on_event(&warning).await;
        }
        let tags = registry.show_run("w1").await.unwrap().tags;
        assert_eq!(tags["warning.train"], "short entities in train");
        assert_eq!(tags["warning.train.2"], "short entities in val");
    }

    /// A metric keeps the time the step logged it, however late the recorder gets to it.
    #[tokio::test]
    async fn a_metric_is_stamped_when_it_happened() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("r.db");
        let registry = Registry::open(&RegistryLocation::Sqlite(file.clone())).await.unwrap();
        registry.create_run(&test_run("m1")).await.unwrap();
        let mut recorder = Recorder::new(registry.clone(), "m1".into());
        let logged = UNIX_EPOCH + std::time::Duration::from_millis(1_600_000_000_123);
        let metric = Timed {
            at: logged,
            event: Event::Metric {
                step: "train".into(),
                key: "loss".into(),
                value: 0.5,
                index: 1,
            },
        };
        recorder.on_event(&metric).await;
        recorder.flush().await;
        assert!(recorder.error.is_none(), "{:?}", recorder.error);
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        let (time_ms,): (i64,) = sqlx::query_as("SELECT time_ms FROM metrics WHERE run_id = 'm1'")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(time_ms, 1_600_000_000_123);
    }
}
