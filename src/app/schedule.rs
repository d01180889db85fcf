//! `pmflow schedule`: a foreground daemon that fires each enabled pipeline schedule, with
//! tokio-cron-scheduler as its clock. Each fire is a normal tracked run (trigger `schedule`, its
//! fire time, the cron's scheduled instant, recorded). Which process runs a fire is decided in
//! the registry, not in memory: a lease per pipeline, and the fire time of the last run, so two
//! daemons never both run one fire. Manual runs take no lease; a fire that finds one running
//! follows `overlap`. Missed fires are caught up at most once (`on-missed: run-once`);
//! `when: drift` runs the pipeline's drift step first and retrains only when it finds drift.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::artifacts::ArtifactStore;
use crate::cli::{LogFormat, ScheduleArgs};
use crate::error::CliError;
use crate::exec::events::{Listener, RunStatus, Timed};
use crate::exec::runner::{self, RunOptions};
use crate::pipeline::cron;
use crate::pipeline::model::{OnMissed, Overlap, When};

/// A fire later than this was missed, not merely slow to start.
const LATE: chrono::Duration = chrono::Duration::seconds(60);
/// How often a queued fire asks whether the run it waits for has ended.
const OTHER_RUN_POLL: std::time::Duration = std::time::Duration::from_secs(1);
use crate::registry::Registry;
use crate::steps::{Effect, Pipeline};

use crate::registry::LEASE_TTL as LEASE;

pub async fn schedule(args: &ScheduleArgs) -> Result<(), CliError> {
    let files = pipeline_files(&args.pipelines)?;
    let registry = super::shared::registry_override(args.registry.as_deref())?;
    let scheduled = scheduled(files, registry.as_ref())?;
    let log = Log(args.log_format);
    print_next_fires(&scheduled);
    if args.list {
        return Ok(());
    }

    let daemon = Arc::new(Daemon {
        registry,
        log,
        owner: crate::registry::lease_owner(),
        state: Mutex::new(HashMap::new()),
        stop: tokio::sync::watch::channel(false).0,
        grace: std::time::Duration::from_secs(args.grace_secs),
    });
    let scheduler = JobScheduler::new()
        .await
        .map_err(|e| CliError::Internal(format!("the scheduler did not start: {e}")))?;
    let mut runs = tokio::task::JoinSet::new();
    let (fires, mut fired) = tokio::sync::mpsc::unbounded_channel::<(usize, DateTime<Utc>, bool)>();
    let mut calendar = Vec::new();
    for (index, (_, p, parsed)) in scheduled.iter().enumerate() {
        let s = p.schedule.as_ref().expect("scheduled");
        // Missed fires first: at most one catch-up, from the last fire the registry recorded.
        if s.on_missed == OnMissed::RunOnce {
            let registry = Registry::open(&p.storage.registry).await?;
            let last = registry.last_fire(&p.name).await?;
            registry.close().await;
            if let Some(t) = cron::catch_up(parsed, s.timezone, last, Utc::now(), true) {
                daemon.log.line(
                    &p.name,
                    "missed",
                    &[("fire", &text(t.with_timezone(&Utc))), ("policy", "run-once")],
                );
                let _ = fires.send((index, t.with_timezone(&Utc), true));
            }
        }
        calendar.push(cron::Fires::after(parsed.clone(), s.timezone, Utc::now()));
    }
    // tokio-cron-scheduler is the clock, ticking each second in UTC (no zone offset to go
    // stale); which fire is due, and its name, come from each pipeline's own calendar.
    let calendar = Mutex::new(calendar);
    let sender = fires.clone();
    let tick = Job::new_async("* * * * * *", move |_id, _lock| {
        let now = Utc::now();
        let mut calendar = calendar.lock().unwrap_or_else(|e| e.into_inner());
        for (index, fires) in calendar.iter_mut().enumerate() {
            if let Some(at) = fires.due(now) {
                let _ = sender.send((index, at, false));
            }
        }
        Box::pin(async {})
    })
    .map_err(|e| CliError::Internal(format!("the scheduler refused its clock: {e}")))?;
    scheduler
        .add(tick)
        .await
        .map_err(|e| CliError::Internal(format!("the scheduler refused a job: {e}")))?;
    scheduler
        .start()
        .await
        .map_err(|e| CliError::Internal(format!("the scheduler did not start: {e}")))?;
    daemon
        .log
        .line("-", "started", &[("pipelines", &scheduled.len().to_string())]);

    let signal = super::shared::shutdown_signal();
    tokio::pin!(signal);
    loop {
        tokio::select! {
            Some((index, at, catching_up)) = fired.recv() => {
                let (file, pipeline, _) = scheduled[index].clone();
                let daemon = daemon.clone();
                runs.spawn(async move { daemon.fire(&file, &pipeline.name, at, catching_up).await });
            }
            Some(_) = runs.join_next(), if !runs.is_empty() => {}
            _ = &mut signal => break,
        }
    }
    daemon
        .log
        .line("-", "stopping", &[("grace_secs", &args.grace_secs.to_string())]);
    let mut scheduler = scheduler;
    let _ = scheduler.shutdown().await;
    let _ = daemon.stop.send(true);
    while runs.join_next().await.is_some() {}
    daemon.log.line("-", "stopped", &[]);
    Ok(())
}

/// The pipelines to fire, each with its file and its cron expression parsed once.
type Scheduled = Vec<(PathBuf, Pipeline, croner::Cron)>;

/// The pipelines of `files` with an enabled schedule (on `registry` when given); refused when
/// none has one.
fn scheduled(files: Vec<PathBuf>, registry: Option<&crate::registry::RegistryLocation>) -> Result<Scheduled, CliError> {
    let mut scheduled: Vec<(PathBuf, Pipeline, croner::Cron)> = Vec::new();
    for file in files {
        let mut pipeline = crate::steps::load_pipeline(&file, &[], None).map_err(CliError::Invalid)?;
        if let Some(registry) = registry {
            pipeline.storage.registry = registry.clone();
        }
        if let Some(s) = pipeline.schedule.as_ref().filter(|s| s.enabled) {
            let parsed = cron::parse_cron(&s.cron).map_err(|e| CliError::Usage(e.to_string()))?;
            scheduled.push((file, pipeline, parsed));
        }
    }
    if scheduled.is_empty() {
        return Err(CliError::Usage(
            "none of the given pipelines has an enabled `schedule`; add `schedule: {cron: \"0 0 3 * * Mon\"}` to one"
                .into(),
        ));
    }
    Ok(scheduled)
}

/// Each scheduled pipeline's next three fires, in its zone and in UTC.
fn print_next_fires(scheduled: &Scheduled) {
    for (file, p, parsed) in scheduled {
        let s = p.schedule.as_ref().expect("only scheduled pipelines are kept");
        let next: Vec<String> = cron::next_fire_times(parsed, s.timezone, 3)
            .iter()
            .map(|t| {
                format!(
                    "{} ({})",
                    t.format("%Y-%m-%d %H:%M:%S %Z"),
                    t.with_timezone(&Utc).format("%H:%M:%S UTC")
                )
            })
            .collect();
        println!(
            "{} ({}): `{}` in {}; next {}",
            p.name,
            file.display(),
            s.cron,
            s.timezone,
            next.join(", ")
        );
    }
}

/// The files named: each file as is, each folder's `*.yaml` and `*.yml` files in name order.
fn pipeline_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            found.sort();
            out.extend(found);
        } else if path.exists() {
            out.push(path.clone());
        } else {
            return Err(CliError::Usage(format!("no pipeline file {}", path.display())));
        }
    }
    Ok(out)
}

/// What one pipeline's fires are doing in this daemon.
#[derive(Default)]
struct Firing {
    running: bool,
    /// A fire waiting for the running one (`overlap: queue`): at most one.
    queued: Option<DateTime<Utc>>,
}

struct Daemon {
    /// `--registry` (or `PMFLOW_REGISTRY`), in place of each pipeline's own, at every fire.
    registry: Option<crate::registry::RegistryLocation>,
    log: Log,
    owner: String,
    state: Mutex<HashMap<String, Firing>>,
    /// Set on SIGINT/SIGTERM: runs still going get the grace period, then are interrupted.
    stop: tokio::sync::watch::Sender<bool>,
    grace: std::time::Duration,
}

impl Daemon {
    async fn fire(self: Arc<Self>, file: &Path, name: &str, at: DateTime<Utc>, catching_up: bool) {
        let (mut at, mut catching_up) = (at, catching_up);
        loop {
            {
                let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                let firing = state.entry(name.to_string()).or_default();
                if firing.running {
                    // Re-read for the policy: the file may have changed since the daemon started.
                    let overlap = crate::steps::load_pipeline(file, &[], None)
                        .ok()
                        .and_then(|p| p.schedule.map(|s| s.overlap))
                        .unwrap_or(Overlap::Skip);
                    if overlap == Overlap::Queue && firing.queued.is_none() {
                        firing.queued = Some(at);
                        self.log.line(
                            name,
                            "queued",
                            &[("fire", &text(at)), ("reason", "the previous fire is still running")],
                        );
                    } else {
                        self.log.line(
                            name,
                            "skipped",
                            &[("fire", &text(at)), ("reason", "the previous fire is still running")],
                        );
                    }
                    return;
                }
                firing.running = true;
            }
            self.fire_once(file, name, at, catching_up).await;
            let next = {
                let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                let firing = state.entry(name.to_string()).or_default();
                firing.running = false;
                firing.queued.take()
            };
            match next {
                // A queued fire waited on purpose: late, but not missed.
                Some(queued) if !*self.stop.borrow() => (at, catching_up) = (queued, true),
                _ => return,
            }
        }
    }

    /// One fire: re-read the file, take the lease, check nobody ran this fire yet, run.
    async fn fire_once(&self, file: &Path, name: &str, at: DateTime<Utc>, catching_up: bool) {
        let fire = text(at);
        let Some((pipeline, schedule)) = self.fresh_pipeline(file, name, &fire) else {
            return;
        };
        // A fire handed over long after its time was missed (the machine slept through it):
        // it follows `on-missed` like fires missed while the daemon was down.
        let late = Utc::now() - at;
        if late > LATE && !catching_up && schedule.on_missed == OnMissed::Skip {
            let reason = format!("{} s late (the machine slept?); `on-missed: skip`", late.num_seconds());
            self.log.line(name, "missed", &[("fire", &fire), ("reason", &reason)]);
            return;
        }
        let registry = match Registry::open(&pipeline.storage.registry).await {
            Ok(r) => r,
            Err(e) => {
                self.log
                    .line(name, "error", &[("fire", &fire), ("reason", &e.to_string())]);
                return;
            }
        };
        let _ = registry.clear_dead_holder(&pipeline.name).await;
        match registry.take_lease(&pipeline.name, &self.owner, Some(at), LEASE).await {
            Ok(true) => {}
            Ok(false) => {
                self.log.line(
                    name,
                    "skipped",
                    &[
                        ("fire", &fire),
                        ("reason", "another process holds the pipeline's lease"),
                    ],
                );
                registry.close().await;
                return;
            }
            Err(e) => {
                self.log
                    .line(name, "error", &[("fire", &fire), ("reason", &e.to_string())]);
                registry.close().await;
                return;
            }
        }
        // Under the lease: a fire already recorded (by another daemon) is not run again.
        if registry
            .last_fire(&pipeline.name)
            .await
            .ok()
            .flatten()
            .is_some_and(|last| last >= at)
        {
            self.log
                .line(name, "skipped", &[("fire", &fire), ("reason", "this fire already ran")]);
        } else {
            let renew = async {
                registry.renew_until_lost(&pipeline.name, &self.owner).await;
                self.log.line(
                    &pipeline.name,
                    "error",
                    &[("reason", "the lease was lost; another process may run this pipeline")],
                );
                // The run goes on; only `work` ends this fire.
                std::future::pending::<()>().await
            };
            tokio::pin!(renew);
            let work = async {
                if self
                    .clear_of_other_runs(&registry, &pipeline.name, schedule.overlap, at)
                    .await
                {
                    self.run_fire(&registry, &pipeline, schedule.when, at).await;
                }
            };
            tokio::select! {
                _ = work => {}
                _ = &mut renew => {}
            }
        }
        let _ = registry.release_lease(&pipeline.name, &self.owner).await;
        registry.close().await;
    }

    /// The pipeline as its file is now, with its schedule; None (logged) when the file no
    /// longer validates or its schedule is gone or disabled.
    fn fresh_pipeline(
        &self,
        file: &Path,
        name: &str,
        fire: &str,
    ) -> Option<(Pipeline, crate::pipeline::model::Schedule)> {
        // An edited pipeline takes effect at the next fire; one that no longer validates is
        // logged and this fire is skipped.
        let pipeline = match crate::steps::load_pipeline(file, &[], None) {
            Ok(mut p) => {
                if let Some(registry) = &self.registry {
                    p.storage.registry = registry.clone();
                }
                p
            }
            Err(diags) => {
                let problems = diags.to_string();
                let first = problems.lines().next().unwrap_or("invalid").to_string();
                self.log.line(
                    name,
                    "error",
                    &[
                        ("fire", fire),
                        ("reason", &format!("the pipeline no longer validates: {first}")),
                    ],
                );
                return None;
            }
        };
        let Some(schedule) = pipeline.schedule.clone() else {
            self.log.line(
                name,
                "skipped",
                &[("fire", fire), ("reason", "the file has no schedule any more")],
            );
            return None;
        };
        if !schedule.enabled {
            self.log.line(
                name,
                "skipped",
                &[("fire", fire), ("reason", "the schedule is disabled")],
            );
            return None;
        }
        Some((pipeline, schedule))
    }

    /// A run of the pipeline that no fire started (by hand, or a resume) is running: the fire
    /// follows `overlap` as it does for the daemon's own fires. Skip: logged and not run.
    /// Queue: it waits (the lease renewed meanwhile) until that run ends or dies, or the daemon
    /// stops. Manual runs take no lease, so they never refuse each other; this check is what
    /// keeps a fire off them.
    async fn clear_of_other_runs(&self, registry: &Registry, name: &str, overlap: Overlap, at: DateTime<Utc>) -> bool {
        let fire = text(at);
        let mut stop = self.stop.subscribe();
        let mut waiting = false;
        loop {
            let running = match registry.live_run_of(name).await {
                Ok(None) => return true,
                Ok(Some(run)) => run,
                Err(e) => {
                    self.log
                        .line(name, "error", &[("fire", &fire), ("reason", &e.to_string())]);
                    return false;
                }
            };
            let reason = format!("run {running} of this pipeline is running");
            if overlap == Overlap::Skip {
                self.log.line(name, "skipped", &[("fire", &fire), ("reason", &reason)]);
                return false;
            }
            if !waiting {
                self.log.line(name, "queued", &[("fire", &fire), ("reason", &reason)]);
                waiting = true;
            }
            tokio::select! {
                _ = tokio::time::sleep(OTHER_RUN_POLL) => {}
                _ = stop.wait_for(|s| *s) => {
                    self.log.line(name, "skipped", &[("fire", &fire), ("reason", "the daemon is stopping")]);
                    return false;
                }
            }
        }
    }

    async fn run_fire(&self, registry: &Registry, pipeline: &Pipeline, when: When, at: DateTime<Utc>) {
        let fire = text(at);
        if when == When::Drift {
            let Some(check) = up_to_drift(pipeline) else {
                self.log.line(
                    &pipeline.name,
                    "error",
                    &[("fire", &fire), ("reason", "`when: drift` but no drift step")],
                );
                return;
            };
            let Some((run_id, status)) = self.one_run(registry, &check, at, "drift check").await else {
                return;
            };
            if status != RunStatus::Succeeded {
                return;
            }
            let drift_step = check
                .steps
                .iter()
                .find(|s| s.kind.effect() == Effect::DriftVerdict)
                .map(|s| s.id.clone())
                .unwrap_or_default();
            let metrics = registry.show_run(&run_id).await.map(|r| r.metrics).unwrap_or_default();
            let figure = |key: &str| metrics.get(&format!("{drift_step}.{key}")).and_then(|v| v.as_f64());
            let drifted = figure("dataset_drift").unwrap_or(0.0) > 0.0;
            let why = format!(
                "{} of {} features drifted (share {})",
                figure("drifted_features").unwrap_or(0.0),
                figure("features").unwrap_or(0.0),
                figure("share").unwrap_or(0.0)
            );
            if !drifted {
                let reason = format!("no retraining: no dataset drift, {why}");
                let _ = registry.set_tag(&run_id, "schedule.decision", &reason).await;
                self.log.line(
                    &pipeline.name,
                    "no-drift",
                    &[("fire", &fire), ("run", &run_id), ("reason", &reason)],
                );
                return;
            }
            let _ = registry
                .set_tag(&run_id, "schedule.decision", &format!("retraining: {why}"))
                .await;
        }
        self.one_run(registry, pipeline, at, "run").await;
    }

    /// Runs `pipeline` as a scheduled run of fire `at`; logs its start and end.
    async fn one_run(
        &self,
        registry: &Registry,
        pipeline: &Pipeline,
        at: DateTime<Utc>,
        what: &str,
    ) -> Option<(String, RunStatus)> {
        let fire = text(at);
        let store = match ArtifactStore::open(&pipeline.storage.artifacts) {
            Ok(s) => s,
            Err(e) => {
                self.log
                    .line(&pipeline.name, "error", &[("fire", &fire), ("reason", &e.to_string())]);
                return None;
            }
        };
        self.log
            .line(&pipeline.name, "start", &[("fire", &fire), ("what", what)]);
        let options = RunOptions {
            jobs: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            trigger: "schedule",
            force: Vec::new(),
            resume: None,
            fire_at: Some(at),
            body: Default::default(),
        };
        let mut stop = self.stop.subscribe();
        let grace = self.grace;
        let interrupt = async move {
            let _ = stop.wait_for(|s| *s).await;
            tokio::time::sleep(grace).await;
        };
        let outcome = runner::run(pipeline, registry.clone(), store, Box::new(Silent), options, interrupt).await;
        match outcome {
            Ok(o) => {
                let mut fields = vec![
                    ("fire", fire.clone()),
                    ("run", o.run_id.clone()),
                    ("status", o.status.as_str().to_string()),
                ];
                fields.push(("seconds", format!("{:.2}", o.duration.as_secs_f64())));
                if let Some(e) = &o.error {
                    fields.push(("error", crate::pipeline::location::redact(e).into_owned()));
                }
                let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                self.log.line(&pipeline.name, "end", &fields);
                Some((o.run_id, o.status))
            }
            Err(e) => {
                self.log
                    .line(&pipeline.name, "error", &[("fire", &fire), ("reason", &e.to_string())]);
                None
            }
        }
    }
}

/// The pipeline cut down to its drift step and what that step needs.
fn up_to_drift(pipeline: &Pipeline) -> Option<Pipeline> {
    let drift = pipeline
        .steps
        .iter()
        .find(|s| s.kind.effect() == Effect::DriftVerdict)?;
    let mut keep: Vec<String> = vec![drift.id.clone()];
    let mut i = 0;
    while i < keep.len() {
        let needs = pipeline
            .steps
            .iter()
            .find(|s| s.id == keep[i])
            .map(|s| s.needs.clone())
            .unwrap_or_default();
        for n in needs {
            if !keep.contains(&n) {
                keep.push(n);
            }
        }
        i += 1;
    }
    let mut cut = pipeline.clone();
    cut.steps.retain(|s| keep.contains(&s.id));
    Some(cut)
}

fn text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A run's own events are not the daemon's log: one line per start and end is.
struct Silent;

impl Listener for Silent {
    fn on_event(&mut self, _: &Timed) {}
}

/// The daemon's log on standard output: plain timestamped lines or JSON objects.
#[derive(Clone, Copy)]
struct Log(LogFormat);

impl Log {
    fn line(&self, pipeline: &str, event: &str, fields: &[(&str, &str)]) {
        let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let text = match self.0 {
            LogFormat::Plain => {
                let rest: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{now} {pipeline} {event} {}", rest.join(" "))
                    .trim_end()
                    .to_string()
            }
            LogFormat::Json => {
                let mut object = serde_json::Map::new();
                object.insert("time".into(), now.into());
                object.insert("pipeline".into(), pipeline.into());
                object.insert("event".into(), event.into());
                for (k, v) in fields {
                    object.insert(k.to_string(), (*v).into());
                }
                serde_json::Value::Object(object).to_string()
            }
        };
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }
}
