//! Runs a validated pipeline: steps in dependency order, up to `jobs` at once, with retries,
//! timeouts and Ctrl-C/SIGTERM handling. Outputs go through the artifact store; everything that
//! happens is emitted as an [`Event`] for the reporter and the registry.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::context::{StepContext, StepError, StepOutput};
use super::events::{Event, EventSender, RunStatus, StepStatus};
use super::recorder::Recorder;
use crate::artifacts::ArtifactStore;
use crate::pipeline::{graph, Pipeline};
use crate::registry::{NewRun, Registry, RegistryError};
use crate::report::Reporter;
use crate::steps;
use crate::table::{Roles, Table};

pub struct RunOptions {
    pub jobs: usize,
    pub trigger: &'static str,
}

pub struct RunOutcome {
    pub run_id: String,
    pub status: RunStatus,
    pub error: Option<String>,
    pub duration: Duration,
    /// A registry write that failed during the run (the run itself may have succeeded).
    pub registry_error: Option<RegistryError>,
}

/// A table output as later steps find it.
#[derive(Clone)]
struct TableRef {
    name: String,
    uri: String,
    roles: Roles,
}

enum State {
    Pending,
    Running,
    Done(Vec<TableRef>),
    Failed,
    Skipped,
}

/// Runs the pipeline to the end (or to an interrupt) and returns how it went.
pub async fn run(
    pipeline: &Pipeline,
    registry: Registry,
    store: ArtifactStore,
    reporter: Box<dyn Reporter>,
    options: RunOptions,
    interrupt: impl std::future::Future<Output = ()>,
) -> Result<RunOutcome, RegistryError> {
    let started = Instant::now();
    let run_id = uuid::Uuid::now_v7().simple().to_string();
    let order = graph::order(&pipeline.steps);
    let steps_meta: Vec<(String, String)> = order
        .iter()
        .map(|&i| (pipeline.steps[i].id.clone(), pipeline.steps[i].kind.name().to_string()))
        .collect();
    registry
        .create_run(&new_run(pipeline, &run_id, &steps_meta, options.trigger))
        .await?;

    let (tx, rx) = mpsc::unbounded_channel();
    let consumer = tokio::spawn(consume(rx, reporter, Recorder::new(registry, run_id.clone())));
    let _ = tx.send(Event::RunStarted {
        run_id: run_id.clone(),
        pipeline: pipeline.name.clone(),
        steps: steps_meta,
        artifacts: pipeline.storage.artifacts.url(),
        registry: pipeline.storage.registry.url(),
    });
    // The resolved pipeline sits next to the run's artifacts, as burn does with its configs.
    let prefix = format!("{}/{}", pipeline.experiment, run_id);
    if let Ok(stored) = store
        .put(
            &format!("{prefix}/pipeline.json"),
            Bytes::from(pipeline.source.resolved.clone()),
        )
        .await
    {
        let _ = tx.send(Event::Artifact {
            step: String::new(),
            name: "pipeline.json".into(),
            stored,
        });
    }

    let (status, error) = schedule(pipeline, &order, &store, &prefix, &tx, options.jobs.max(1), interrupt).await;
    let duration = started.elapsed();
    let _ = tx.send(Event::RunFinished {
        run_id: run_id.clone(),
        status,
        duration,
        error: error.clone(),
    });
    drop(tx);
    let registry_error = consumer.await.ok().flatten();
    Ok(RunOutcome {
        run_id,
        status,
        error,
        duration,
        registry_error,
    })
}

fn new_run(pipeline: &Pipeline, run_id: &str, steps: &[(String, String)], trigger: &'static str) -> NewRun {
    let mut params: Vec<(String, serde_json::Value)> = pipeline
        .params
        .iter()
        .map(|(k, v)| (format!("params.{k}"), v.clone()))
        .collect();
    for step in &pipeline.steps {
        if let serde_json::Value::Object(map) = &step.with {
            params.extend(map.iter().map(|(k, v)| (format!("{}.{k}", step.id), v.clone())));
        }
    }
    NewRun {
        id: run_id.to_string(),
        experiment: pipeline.experiment.clone(),
        pipeline: pipeline.name.clone(),
        pipeline_file: pipeline.source.file.display().to_string(),
        pipeline_text: pipeline.source.resolved.clone(),
        pipeline_hash: pipeline.source.hash.clone(),
        git_commit: git_commit(&pipeline.source.root),
        trigger,
        steps: steps.to_vec(),
        params,
    }
}

/// The commit checked out where the pipeline lives, when that is a git work tree.
fn git_commit(root: &std::path::Path) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Feeds every event to the reporter and the registry, in order. Returns the first registry error.
async fn consume(
    mut rx: mpsc::UnboundedReceiver<Event>,
    mut reporter: Box<dyn Reporter>,
    mut recorder: Recorder,
) -> Option<RegistryError> {
    let mut heartbeat = tokio::time::interval(crate::registry::HEARTBEAT_EVERY);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let event = tokio::select! {
            event = rx.recv() => event,
            _ = heartbeat.tick() => {
                recorder.heartbeat().await;
                continue;
            }
        };
        let Some(event) = event else { break };
        reporter.on_event(&event);
        recorder.on_event(&event).await;
        // A step abandoned by a timeout or an interrupt may still hold a sender on a blocked
        // thread, so the channel never closes: the run's end is the last event that counts.
        if matches!(event, Event::RunFinished { .. }) {
            break;
        }
        if rx.is_empty() {
            recorder.flush().await;
        }
    }
    recorder.flush().await;
    reporter.finish();
    recorder.error
}

/// The scheduling loop: start every ready step (up to `jobs`), wait for one to end, repeat.
async fn schedule(
    pipeline: &Pipeline,
    order: &[usize],
    store: &ArtifactStore,
    prefix: &str,
    tx: &EventSender,
    jobs: usize,
    interrupt: impl std::future::Future<Output = ()>,
) -> (RunStatus, Option<String>) {
    let steps = &pipeline.steps;
    let index_of: HashMap<&str, usize> = steps.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
    let mut state: Vec<State> = steps.iter().map(|_| State::Pending).collect();
    let mut running: JoinSet<(usize, Duration, Result<Vec<TableRef>, String>)> = JoinSet::new();
    let mut first_error: Option<String> = None;
    tokio::pin!(interrupt);

    loop {
        for &i in order {
            if running.len() >= jobs {
                break;
            }
            if !matches!(state[i], State::Pending) {
                continue;
            }
            let needs: Vec<usize> = steps[i]
                .needs
                .iter()
                .filter_map(|n| index_of.get(n.as_str()).copied())
                .collect();
            if !needs.iter().all(|&j| matches!(state[j], State::Done(_))) {
                continue;
            }
            let inputs: Vec<(String, TableRef)> = needs
                .iter()
                .flat_map(|&j| match &state[j] {
                    State::Done(tables) => tables.iter().map(|t| (steps[j].id.clone(), t.clone())).collect(),
                    _ => Vec::new(),
                })
                .collect();
            state[i] = State::Running;
            let job = StepJob {
                step: Arc::new(steps[i].clone()),
                root: pipeline.source.root.clone(),
                store: store.clone(),
                prefix: format!("{prefix}/{}", steps[i].id),
                tx: tx.clone(),
                inputs,
            };
            running.spawn(async move {
                let started = Instant::now();
                let result = job.run_with_retries().await;
                (i, started.elapsed(), result)
            });
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            joined = running.join_next() => {
                let Some(joined) = joined else { break };
                let (i, duration, result) = match joined {
                    Ok(r) => r,
                    Err(e) => {
                        // A panic inside pmflow: never user input's fault, but never lose the run either.
                        first_error.get_or_insert(format!("internal error: a step task ended abnormally ({e})"));
                        continue;
                    }
                };
                let id = steps[i].id.clone();
                match result {
                    Ok(tables) => {
                        state[i] = State::Done(tables);
                        let _ = tx.send(Event::StepFinished { step: id, status: StepStatus::Succeeded, duration, error: None });
                    }
                    Err(message) => {
                        state[i] = State::Failed;
                        first_error.get_or_insert(format!("step `{id}` failed: {message}"));
                        let _ = tx.send(Event::StepFinished { step: id.clone(), status: StepStatus::Failed, duration, error: Some(message) });
                        for j in graph::downstream(steps, i) {
                            if matches!(state[j], State::Pending) {
                                state[j] = State::Skipped;
                                let _ = tx.send(Event::StepFinished {
                                    step: steps[j].id.clone(),
                                    status: StepStatus::Skipped,
                                    duration: Duration::ZERO,
                                    error: Some(format!("skipped because `{id}` failed")),
                                });
                            }
                        }
                    }
                }
            }
            _ = &mut interrupt => {
                running.abort_all();
                for (i, s) in state.iter().enumerate() {
                    if matches!(s, State::Running) {
                        let _ = tx.send(Event::StepFinished {
                            step: steps[i].id.clone(),
                            status: StepStatus::Interrupted,
                            duration: Duration::ZERO,
                            error: Some("interrupted".into()),
                        });
                    }
                }
                return (RunStatus::Interrupted, Some("interrupted by a signal (Ctrl-C or SIGTERM)".into()));
            }
        }
    }
    match first_error {
        None => (RunStatus::Succeeded, None),
        Some(e) => (RunStatus::Failed, Some(e)),
    }
}

/// Everything one step needs to run on its own task.
struct StepJob {
    step: Arc<crate::pipeline::Step>,
    root: std::path::PathBuf,
    store: ArtifactStore,
    prefix: String,
    tx: EventSender,
    inputs: Vec<(String, TableRef)>,
}

impl StepJob {
    async fn run_with_retries(self) -> Result<Vec<TableRef>, String> {
        let attempts = self.step.retries + 1;
        let mut attempt = 1;
        loop {
            let _ = self.tx.send(Event::StepStarted {
                step: self.step.id.clone(),
                attempt,
                of: attempts,
            });
            match self.attempt().await {
                Ok(tables) => return Ok(tables),
                Err(e) if attempt < attempts => {
                    let _ = self.tx.send(Event::StepRetrying {
                        step: self.step.id.clone(),
                        attempt,
                        error: e,
                    });
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn attempt(&self) -> Result<Vec<TableRef>, String> {
        let mut inputs = Vec::with_capacity(self.inputs.len());
        for (from, t) in &self.inputs {
            let bytes = self.store.get(&t.uri).await.map_err(|e| e.to_string())?;
            let table =
                Table::from_parquet(&bytes, t.roles.clone()).map_err(|e| format!("cannot read {}: {e}", t.uri))?;
            inputs.push((format!("{from}/{}", t.name), table));
        }
        let mut ctx = StepContext::new(self.step.id.clone(), self.root.clone(), inputs, self.tx.clone());
        let step = self.step.clone();
        // Steps are CPU-bound and synchronous: run them off the async threads.
        let work = tokio::task::spawn_blocking(move || steps::run(&step.params, &mut ctx));
        let output: StepOutput = match self.step.timeout {
            Some(limit) => match tokio::time::timeout(limit, work).await {
                Ok(joined) => joined,
                Err(_) => return Err(format!("timed out after {} s (`timeout-secs`)", limit.as_secs())),
            },
            None => work.await,
        }
        .map_err(|e| format!("internal error: the step panicked ({e}); please report this"))?
        .map_err(|e: StepError| e.0)?;
        self.store_outputs(output).await
    }

    /// Uploads tables (Parquet + roles) and reports (JSON), emitting one event per artifact.
    async fn store_outputs(&self, output: StepOutput) -> Result<Vec<TableRef>, String> {
        let mut tables = Vec::new();
        for (name, table) in output.tables {
            let bytes = table
                .to_parquet()
                .map_err(|e| format!("cannot encode `{name}` as Parquet: {e}"))?;
            let stored = self.put(&format!("{name}.parquet"), Bytes::from(bytes)).await?;
            tables.push(TableRef {
                name: name.clone(),
                uri: stored.uri.clone(),
                roles: table.roles.clone(),
            });
            let _ = self.tx.send(Event::Artifact {
                step: self.step.id.clone(),
                name: format!("{name}.parquet"),
                stored,
            });
        }
        for (name, report) in output.reports {
            let text = serde_json::to_vec_pretty(&report).unwrap_or_default();
            let stored = self.put(&format!("{name}.json"), Bytes::from(text)).await?;
            let _ = self.tx.send(Event::Artifact {
                step: self.step.id.clone(),
                name: format!("{name}.json"),
                stored,
            });
        }
        Ok(tables)
    }

    async fn put(&self, name: &str, bytes: Bytes) -> Result<crate::artifacts::StoredArtifact, String> {
        self.store
            .put(&format!("{}/{name}", self.prefix), bytes)
            .await
            .map_err(|e| e.to_string())
    }
}
