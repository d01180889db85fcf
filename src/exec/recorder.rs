//! Writes runner events into the registry. Metric points are buffered and written in batches,
//! one transaction each, so a step logging thousands of points costs milliseconds.
//!
//! A registry that stops answering (a database server restarting, a network gone) is waited
//! for: each write is tried again for up to [`registry_wait`]. Past that the recorder gives up,
//! tells the run to stop, and writes nothing more; what the registry confirmed stays, and the
//! run, left `running` there, is marked `interrupted` once the registry is back and its
//! heartbeat has stopped.

use std::collections::HashMap;
use std::time::{Duration, Instant, UNIX_EPOCH};

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
    /// Told why, once the registry is given up on.
    lost: Option<tokio::sync::watch::Sender<Option<String>>>,
    /// The registry was given up on: later writes are not tried.
    gone: bool,
    wait: Duration,
}

/// Flush when this many points are waiting, even if more keep coming.
const BATCH: usize = 5_000;

/// How long a write waits for a registry that stopped answering: `PMFLOW_REGISTRY_WAIT_SECS`,
/// 60 s by default (a database failover or restart takes seconds to a minute).
pub fn registry_wait() -> Duration {
    let secs = std::env::var("PMFLOW_REGISTRY_WAIT_SECS")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(60);
    Duration::from_secs(secs)
}

/// Runs `write` until it succeeds, fails for another reason than an unreachable registry, or
/// `wait` has passed, sleeping between tries (0.5 s, doubling up to 5 s).
async fn retrying<F, Fut>(wait: Duration, write: F) -> Result<(), RegistryError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), RegistryError>>,
{
    let started = Instant::now();
    let mut pause = Duration::from_millis(500);
    loop {
        match write().await {
            Err(e) if e.is_unreachable() && started.elapsed() + pause <= wait => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            done => return done,
        }
    }
}

impl Recorder {
    pub fn new(registry: Registry, run_id: String) -> Self {
        Recorder {
            registry,
            run_id,
            pending: Vec::new(),
            warnings: HashMap::new(),
            error: None,
            lost: None,
            gone: false,
            wait: registry_wait(),
        }
    }

    /// Where to say that the registry was given up on.
    pub fn on_lost(mut self, lost: tokio::sync::watch::Sender<Option<String>>) -> Self {
        self.lost = Some(lost);
        self
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
        if self.gone {
            return;
        }
        let warning_key = match event {
            Event::Warning { step, .. } => {
                let count = self.warnings.entry(step.clone()).or_insert(0);
                *count += 1;
                Some(crate::registry::warning_tag(step, *count))
            }
            _ => None,
        };
        let (registry, run, warning_key) = (&self.registry, self.run_id.as_str(), &warning_key);
        let write = move || async move {
            match event {
                Event::StepStarted { step, .. } => registry.step_started(run, step).await,
                Event::StepFinished {
                    step,
                    status,
                    duration,
                    error,
                    cached_from,
                } => {
                    let ms = duration.as_millis() as i64;
                    let cached = cached_from.is_some();
                    registry
                        .step_finished(run, step, status.as_str(), cached, Some(ms), error.as_deref())
                        .await
                }
                Event::StepOutputs {
                    step,
                    cache_key,
                    tables,
                } => registry.step_outputs(run, step, cache_key.as_deref(), tables).await,
                Event::Artifact { step, name, stored } => registry.log_artifact(run, step, name, stored).await,
                Event::Warning { message, .. } => {
                    let key = warning_key.as_deref().unwrap_or_default();
                    registry.set_tag(run, key, message).await
                }
                Event::Tag { key, value } => registry.set_tag(run, key, value).await,
                Event::RunFinished { status, error, .. } => {
                    registry.finish_run(run, status.as_str(), error.as_deref()).await
                }
                _ => Ok(()),
            }
        };
        let result = retrying(self.wait, write).await;
        self.keep_first_error(result);
    }

    /// Writes buffered metric points; called when the event queue runs dry and at the end.
    pub async fn flush(&mut self) {
        if self.pending.is_empty() || self.gone {
            return;
        }
        let points = std::mem::take(&mut self.pending);
        let (registry, run) = (&self.registry, self.run_id.as_str());
        let points = &points;
        let result = retrying(self.wait, move || registry.log_metrics(run, points)).await;
        self.keep_first_error(result);
    }

    /// Tells the registry this run's process is alive (see `registry::liveness`).
    pub async fn heartbeat(&mut self) {
        if self.gone {
            return;
        }
        let (registry, run) = (&self.registry, self.run_id.as_str());
        let result = retrying(self.wait, move || registry.heartbeat(run)).await;
        self.keep_first_error(result);
    }

    fn keep_first_error(&mut self, result: Result<(), RegistryError>) {
        let Err(e) = result else { return };
        if e.is_unreachable() && !self.gone {
            self.gone = true;
            let why = format!(
                "the registry {} stopped answering for {} s ({e}); the run stopped. What it had recorded is kept; once the registry is back the run shows as interrupted and `--resume` continues it",
                self.registry.shown(),
                self.wait.as_secs()
            );
            if let Some(lost) = &self.lost {
                let _ = lost.send(Some(why));
            }
        }
        self.error.get_or_insert(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{test_run, RegistryLocation};

    /// A write that fails `failures` times as an unreachable registry would, then succeeds.
    async fn flaky(tries: &std::sync::atomic::AtomicUsize, failures: usize) -> Result<(), RegistryError> {
        if tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < failures {
            Err(RegistryError::Query(sqlx::Error::PoolTimedOut))
        } else {
            Ok(())
        }
    }

    #[tokio::test]
    async fn an_unreachable_registry_is_waited_for_and_then_given_up_on() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        // Back within the wait: the write lands.
        let tries = AtomicUsize::new(0);
        retrying(Duration::from_secs(3), || flaky(&tries, 2)).await.unwrap();
        assert_eq!(tries.load(Ordering::SeqCst), 3);
        // Gone for longer: given up on once the next pause would pass the wait.
        let tries = AtomicUsize::new(0);
        let started = Instant::now();
        let err = retrying(Duration::from_secs(1), || flaky(&tries, usize::MAX))
            .await
            .unwrap_err();
        assert!(err.is_unreachable());
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        assert_eq!(tries.load(Ordering::SeqCst), 2, "tried at 0 s and 0.5 s");
        // Refused for another reason: not tried again.
        let tries = AtomicUsize::new(0);
        let refused = retrying(Duration::from_secs(3), || async {
            tries.fetch_add(1, Ordering::SeqCst);
            Err(RegistryError::NotFound("no run".into()))
        })
        .await;
        assert!(refused.is_err());
        assert_eq!(tries.load(Ordering::SeqCst), 1);
    }

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
