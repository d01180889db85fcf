//! Runs a validated pipeline: steps in dependency order, up to `jobs` at once, with retries,
//! timeouts and Ctrl-C/SIGTERM handling. Outputs go through the artifact store; everything that
//! happens is emitted as an [`Event`] for the reporter and the registry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::task::JoinSet;

use super::events::{self, Event, EventReceiver, EventSender, Listener, RunStatus, StepStatus};
pub use super::job::StepBody;
use super::job::{Done, StepJob};
use super::job_error::{JobError, STOP_GRACE};
use super::leftovers;
use super::recorder::Recorder;
use super::wiring;
use crate::artifacts::ArtifactStore;
use crate::frame::{OutputRef, Table};
use crate::pipeline::graph;
use crate::registry::{NewRun, Registry, RegistryError};
use crate::steps::Pipeline;

pub struct RunOptions {
    pub jobs: usize,
    pub trigger: &'static str,
    /// Steps to re-run without the cache (with everything downstream); `*` forces all.
    pub force: Vec<String>,
    /// Continue this failed or interrupted run instead of starting a new one.
    pub resume: Option<String>,
    /// The schedule fire this run belongs to.
    pub fire_at: Option<chrono::DateTime<chrono::Utc>>,
    /// What runs each step ([`StepBody::default`]: the step kinds).
    pub body: StepBody,
}

pub struct RunOutcome {
    pub run_id: String,
    pub status: RunStatus,
    pub error: Option<String>,
    pub duration: Duration,
    /// A registry write that failed during the run (the run itself may have succeeded).
    pub registry_error: Option<RegistryError>,
    /// Where the run's `report.html` went, or why it could not be written.
    pub report: Result<String, super::run_report::ReportError>,
}

enum State {
    Pending,
    Running,
    Done(Vec<OutputRef>),
    Failed,
    Skipped,
}

/// For `--resume`: checks the run can be continued with this pipeline, puts it back to
/// `running`, and returns the outputs of its finished steps.
async fn reopen(
    pipeline: &Pipeline,
    registry: &Registry,
    run_id: &str,
) -> Result<HashMap<String, Vec<OutputRef>>, RegistryError> {
    let (hash, status, done) = registry.succeeded_outputs(run_id).await?;
    if status != "failed" && status != "interrupted" {
        return Err(RegistryError::Refused(format!(
            "run {run_id} is {status}; only failed or interrupted runs can be resumed"
        )));
    }
    if hash != pipeline.source.hash {
        return Err(RegistryError::Refused(format!(
            "the pipeline differs from the one run {run_id} used (after --set); resume with the same file and overrides, or start a new run: unchanged steps come from the cache"
        )));
    }
    registry.reopen_run(run_id).await?;
    Ok(done)
}

/// Runs the pipeline to the end (or to an interrupt) and returns how it went.
pub async fn run(
    pipeline: &Pipeline,
    registry: Registry,
    store: ArtifactStore,
    reporter: Box<dyn Listener>,
    options: RunOptions,
    interrupt: impl std::future::Future<Output = ()>,
) -> Result<RunOutcome, RegistryError> {
    let started = Instant::now();
    let order = graph::order(&pipeline.steps);
    let steps_meta: Vec<(String, String)> = order
        .iter()
        .map(|&i| (pipeline.steps[i].id.clone(), pipeline.steps[i].kind.name().to_string()))
        .collect();
    let (run_id, reused) = match &options.resume {
        None => {
            let run_id = uuid::Uuid::now_v7().simple().to_string();
            registry
                .create_run(&new_run(pipeline, &run_id, &steps_meta, &options))
                .await?;
            (run_id, HashMap::new())
        }
        Some(run_id) => (run_id.clone(), reopen(pipeline, &registry, run_id).await?),
    };

    let (tx, rx) = events::channel();
    // The recorder says when the registry stopped answering (beyond its wait): the run stops
    // then, as on a signal, rather than computing what it can no longer record.
    let (lost_tx, lost_rx) = tokio::sync::watch::channel(None::<String>);
    let consumer = tokio::spawn(consume(
        rx,
        reporter,
        Recorder::new(registry.clone(), run_id.clone()).on_lost(lost_tx),
    ));
    let stop = stop_reason(interrupt, lost_rx);
    let _ = tx.send(Event::RunStarted {
        run_id: run_id.clone(),
        resumed: options.resume.is_some(),
        pipeline: pipeline.name.clone(),
        steps: steps_meta,
        artifacts: pipeline.storage.artifacts.url(),
        registry: pipeline.storage.registry.url(),
    });
    // The resolved pipeline sits next to the run's artifacts, as burn does with its configs.
    let prefix = format!("{}/{}", pipeline.experiment, run_id);
    let (report_store, report_prefix) = (store.clone(), prefix.clone());
    let written = open_run_folder(
        pipeline,
        &store,
        &registry,
        &prefix,
        &run_id,
        options.resume.is_some(),
        &tx,
    )
    .await;
    let (status, error) = match written {
        Ok(()) => {
            let step_loop = StepLoop {
                pipeline,
                registry: registry.clone(),
                store,
                prefix,
                run_id: run_id.clone(),
                tx: tx.clone(),
            };
            step_loop.run(&order, &options, reused, stop).await
        }
        Err(e) => (
            RunStatus::Failed,
            Some(format!("the artifact store is not usable: {e}")),
        ),
    };
    let duration = started.elapsed();
    let _ = tx.send(Event::RunFinished {
        run_id: run_id.clone(),
        status,
        duration,
        error: error.clone(),
    });
    drop(tx);
    let registry_error = consumer.await.ok().flatten();
    // After the recorder has written everything, so the page shows the run as it ended.
    let report = match &registry_error {
        None => super::run_report::write(&registry, &report_store, &report_prefix, &run_id).await,
        Some(e) => Err(super::run_report::ReportError::Incomplete(e.to_string())),
    };
    Ok(RunOutcome {
        report,
        run_id,
        status,
        error,
        duration,
        registry_error,
    })
}

/// Before a resumed run goes on: removes what its killed attempt left in the run's folder
/// (staging files, files written but never recorded), and says so. A failure to clean is a
/// warning; the steps that run again overwrite what they write.
async fn clear_leftovers(store: &ArtifactStore, registry: &Registry, prefix: &str, run_id: &str, tx: &EventSender) {
    let cleared = async {
        let found = leftovers::of_run(store, registry, prefix, run_id).await?;
        let freed = leftovers::remove(store, &found).await?;
        Ok::<_, leftovers::LeftoverError>((found.len(), freed))
    };
    let message = match cleared.await {
        Ok((0, _)) => return,
        Ok((files, freed)) => format!(
            "removed {files} file(s) ({:.1} MB) that the interrupted attempt left unrecorded in its folder",
            freed as f64 / 1e6
        ),
        Err(e) => format!("could not clear what the interrupted attempt left in its folder: {e}"),
    };
    let _ = tx.send(Event::Warning {
        step: "resume".into(),
        message,
    });
}

fn new_run(pipeline: &Pipeline, run_id: &str, steps: &[(String, String)], options: &RunOptions) -> NewRun {
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
        trigger: options.trigger,
        fire_at: options.fire_at.map(crate::registry::stamp),
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
    mut rx: EventReceiver,
    mut reporter: Box<dyn Listener>,
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
        let Some(timed) = event else { break };
        reporter.on_event(&timed);
        recorder.on_event(&timed).await;
        if let Event::Barrier(waiter) = &timed.event {
            recorder.flush().await;
            waiter.notify_one();
        }
        // A step abandoned by a timeout or an interrupt may still hold a sender on a blocked
        // thread, so the channel never closes: the run's end is the last event that counts.
        if matches!(timed.event, Event::RunFinished { .. }) {
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

/// Why the run must stop, when it must: a signal (`interrupt`), or the recorder's word that the
/// registry stopped answering (`lost`).
async fn stop_reason(
    interrupt: impl std::future::Future<Output = ()>,
    mut lost: tokio::sync::watch::Receiver<Option<String>>,
) -> String {
    let lost = async move {
        let reason = lost
            .wait_for(Option::is_some)
            .await
            .ok()
            .map(|reason| (*reason).clone().unwrap_or_default());
        match reason {
            Some(reason) => reason,
            // The recorder ended first: nothing more can be lost.
            None => std::future::pending::<String>().await,
        }
    };
    tokio::select! {
        _ = interrupt => "interrupted by a signal (Ctrl-C or SIGTERM)".to_string(),
        reason = lost => reason,
    }
}

/// Readies the run's folder: a new run writes its resolved pipeline there first, which also
/// proves the store is reachable before any step runs; a resumed run (which wrote it already,
/// and whose hash matched) has what its killed attempt left cleared instead.
async fn open_run_folder(
    pipeline: &Pipeline,
    store: &ArtifactStore,
    registry: &Registry,
    prefix: &str,
    run_id: &str,
    resumed: bool,
    tx: &EventSender,
) -> Result<(), crate::artifacts::ArtifactError> {
    if resumed {
        clear_leftovers(store, registry, prefix, run_id, tx).await;
        return Ok(());
    }
    let stored = store
        .put(
            &format!("{prefix}/pipeline.json"),
            Bytes::from(pipeline.source.resolved.clone()),
        )
        .await?;
    let _ = tx.send(Event::Artifact {
        step: String::new(),
        name: "pipeline.json".into(),
        stored,
    });
    Ok(())
}

/// Every ancestor of step `i` with its settings, in execution order: what a step needs to
/// prepare a new file the way the pipeline prepares its own (`drift`'s `current: {path}`).
fn upstream_settings(
    steps: &[crate::steps::Step],
    index_of: &HashMap<&str, usize>,
    order: &[usize],
    i: usize,
) -> Vec<(String, crate::steps::StepParams)> {
    let ancestors: Vec<usize> = graph::ancestors(steps, index_of, i)
        .into_iter()
        .map(|(_, j)| j)
        .collect();
    order
        .iter()
        .filter(|j| ancestors.contains(j))
        .map(|&j| (steps[j].id.clone(), steps[j].params.clone()))
        .collect()
}

/// The step loop (start every ready step, wait for one to end, repeat) and what it shares
/// with every step job. Not the cron daemon: that is `app::schedule`.
struct StepLoop<'a> {
    pipeline: &'a Pipeline,
    registry: Registry,
    store: ArtifactStore,
    /// `<experiment>/<run id>`: where this run's artifacts go.
    prefix: String,
    run_id: String,
    tx: EventSender,
}

impl StepLoop<'_> {
    /// Starts every ready step (up to `jobs`), waits for one to end, repeats.
    async fn run(
        &self,
        order: &[usize],
        options: &RunOptions,
        mut reused: HashMap<String, Vec<OutputRef>>,
        interrupt: impl std::future::Future<Output = String>,
    ) -> (RunStatus, Option<String>) {
        let steps = &self.pipeline.steps;
        let tx = &self.tx;
        let index_of: HashMap<&str, usize> = steps.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
        let forced = graph::forced(steps, &options.force);
        let mut state = self.start_state(&mut reused);
        let mut running: JoinSet<(usize, Duration, Result<Done, JobError>)> = JoinSet::new();
        // Tables of the step that just finished, handed to the steps that start right after it
        // and then dropped, so no frame is held while it waits for a later consumer.
        let mut handoff: HashMap<String, Table> = HashMap::new();
        let mut first_error: Option<String> = None;
        // Raised on an interrupt: running steps stop at their next check.
        let interrupted = Arc::new(AtomicBool::new(false));
        tokio::pin!(interrupt);

        loop {
            for &i in order {
                if running.len() >= options.jobs.max(1) {
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
                let done_outputs = |j: usize| match &state[j] {
                    State::Done(outputs) => Some(outputs.as_slice()),
                    _ => None,
                };
                let Ok(inputs) = wiring::step_inputs(steps, &index_of, i, done_outputs) else {
                    continue;
                };
                let upstream = upstream_settings(steps, &index_of, order, i);
                state[i] = State::Running;
                let handed = inputs
                    .iter()
                    .filter_map(|(_, t)| handoff.get(&t.uri).map(|frame| (t.uri.clone(), frame.clone())))
                    .collect();
                let job = StepJob {
                    step: Arc::new(steps[i].clone()),
                    root: self.pipeline.source.root.clone(),
                    store: self.store.clone(),
                    registry: self.registry.clone(),
                    prefix: format!("{}/{}", self.prefix, steps[i].id),
                    run_id: self.run_id.clone(),
                    pipeline: self.pipeline.name.clone(),
                    tx: tx.clone(),
                    inputs,
                    upstream,
                    use_cache: !forced.contains(&i),
                    interrupted: interrupted.clone(),
                    handed: Mutex::new(handed),
                    body: options.body.clone(),
                };
                running.spawn(async move {
                    let started = Instant::now();
                    let result = job.run().await;
                    (i, started.elapsed(), result)
                });
            }
            handoff.clear();
            if running.is_empty() {
                break;
            }
            tokio::select! {
                joined = running.join_next() => {
                    let Some(joined) = joined else { break };
                    let (i, duration, result) = match joined {
                        Ok(r) => r,
                        Err(e) => {
                            // A bug inside pmflow: never the input's fault, but never lose the run either.
                            first_error.get_or_insert(format!("internal error: a step task ended abnormally ({e})"));
                            continue;
                        }
                    };
                    let id = steps[i].id.clone();
                    match result {
                        Ok(mut done) => {
                            handoff.extend(std::mem::take(&mut done.frames));
                            state[i] = self.succeeded(i, duration, done);
                        }
                        Err(e) => {
                            first_error.get_or_insert(format!("step `{id}` failed: {e}"));
                            self.failed(&mut state, i, duration, e.to_string());
                        }
                    }
                }
                why = &mut interrupt => {
                    interrupted.store(true, Ordering::Relaxed);
                    self.stop(&mut state, &mut running).await;
                    return (RunStatus::Interrupted, Some(why));
                }
            }
        }
        match first_error {
            None => (RunStatus::Succeeded, None),
            Some(e) => (RunStatus::Failed, Some(e)),
        }
    }

    /// Each step's state as the loop starts: done when a resumed run's attempt finished it
    /// (its outputs `reused`), else pending.
    fn start_state(&self, reused: &mut HashMap<String, Vec<OutputRef>>) -> Vec<State> {
        self.pipeline
            .steps
            .iter()
            .map(|s| match reused.remove(&s.id) {
                Some(tables) => {
                    let _ = self.tx.send(Event::StepReused { step: s.id.clone() });
                    State::Done(tables)
                }
                None => State::Pending,
            })
            .collect()
    }

    /// Records step `i`'s failure and skips every step downstream of it that has not started.
    fn failed(&self, state: &mut [State], i: usize, duration: Duration, message: String) {
        let steps = &self.pipeline.steps;
        let id = steps[i].id.clone();
        state[i] = State::Failed;
        let _ = self.tx.send(Event::StepFinished {
            step: id.clone(),
            status: StepStatus::Failed,
            duration,
            error: Some(message),
            cached_from: None,
        });
        for j in graph::downstream(steps, i) {
            if matches!(state[j], State::Pending) {
                state[j] = State::Skipped;
                let _ = self.tx.send(Event::StepFinished {
                    step: steps[j].id.clone(),
                    status: StepStatus::Skipped,
                    duration: Duration::ZERO,
                    error: Some(format!("skipped because `{id}` failed")),
                    cached_from: None,
                });
            }
        }
    }

    /// Records step `i`'s success (its outputs, then its end) and returns its new state.
    fn succeeded(&self, i: usize, duration: Duration, done: Done) -> State {
        let id = self.pipeline.steps[i].id.clone();
        let _ = self.tx.send(Event::StepOutputs {
            step: id.clone(),
            cache_key: done.cache_key,
            tables: done.tables.clone(),
        });
        let _ = self.tx.send(Event::StepFinished {
            step: id,
            status: StepStatus::Succeeded,
            duration,
            error: None,
            cached_from: done.cached_from,
        });
        State::Done(done.tables)
    }

    /// After an interrupt: waits (up to [`STOP_GRACE`]) for the running steps to reach a check
    /// and return, so none goes on using libtorch or the store after the run has ended. A step
    /// that finished meanwhile keeps its outputs (a resume reuses them); the others are
    /// recorded as interrupted, and one still blocked after the grace is left behind.
    async fn stop(&self, state: &mut [State], running: &mut JoinSet<(usize, Duration, Result<Done, JobError>)>) {
        let steps = &self.pipeline.steps;
        let waiting: Vec<&str> = state
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s, State::Running))
            .map(|(i, _)| steps[i].id.as_str())
            .collect();
        if !waiting.is_empty() {
            let _ = self.tx.send(Event::Note {
                step: "run".into(),
                message: format!(
                    "stopping: waiting up to {} s for {} to stop",
                    STOP_GRACE.as_secs(),
                    waiting.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
                ),
            });
        }
        let deadline = tokio::time::Instant::now() + STOP_GRACE;
        loop {
            match tokio::time::timeout_at(deadline, running.join_next()).await {
                Ok(Some(Ok((i, duration, Ok(done))))) => state[i] = self.succeeded(i, duration, done),
                Ok(Some(Ok((i, duration, Err(_))))) => {
                    state[i] = State::Failed;
                    let _ = self.tx.send(Event::StepFinished {
                        step: steps[i].id.clone(),
                        status: StepStatus::Interrupted,
                        duration,
                        error: Some("interrupted".into()),
                        cached_from: None,
                    });
                }
                Ok(Some(Err(_))) => {}
                Ok(None) => break,
                Err(_) => {
                    running.abort_all();
                    break;
                }
            }
        }
        for (i, s) in state.iter().enumerate() {
            if matches!(s, State::Running) {
                let _ = self.tx.send(Event::StepFinished {
                    step: steps[i].id.clone(),
                    status: StepStatus::Interrupted,
                    duration: Duration::ZERO,
                    error: Some(format!(
                        "interrupted (still running after {} s; left behind)",
                        STOP_GRACE.as_secs()
                    )),
                    cached_from: None,
                });
            }
        }
    }
}
