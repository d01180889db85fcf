//! The runner with a fake step body: the step kinds' ports and settings as they are, their work
//! replaced by a closure that counts its calls and fails, waits or writes as each test says, on a
//! real SQLite registry and a real artifact folder. What the runner promises (cache hits, retries,
//! failure, cancellation, resume, declared outputs) is checked without training anything.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use polars::prelude::*;

use super::events::{Listener, RunStatus, Timed};
use super::runner::{run, RunOptions, RunOutcome, StepBody};
use crate::artifacts::ArtifactStore;
use crate::frame::Table;
use crate::pipeline::location::ArtifactLocation;
use crate::registry::testing::Fresh;
use crate::registry::{Backend, Registry};
use crate::steps::context::{StepContext, StepError, StepOutput};
use crate::steps::{Pipeline, StepParams};

/// `a` reads a file (its content is part of `a`'s cache key); `b` needs `a` and may retry once.
const PIPELINE: &str = "name: fake
steps:
  - {id: a, kind: load, with: {path: data.csv}}
  - {id: b, kind: clean, needs: [a], retries: 1, with: {impute: median}}
";

struct Silent;

impl Listener for Silent {
    fn on_event(&mut self, _: &Timed) {}
}

/// A project folder with its data file, registry and artifact store.
struct Bench {
    dir: tempfile::TempDir,
    fresh: Fresh,
    registry: Registry,
    store: ArtifactStore,
    pipeline: Pipeline,
}

impl Bench {
    async fn new() -> Bench {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("data.csv"), "x\n1\n2\n").unwrap();
        let fresh = Fresh::new(Backend::Sqlite);
        let registry = fresh.open().await;
        let store = ArtifactStore::open(&ArtifactLocation::Local(dir.path().join("artifacts"))).unwrap();
        let pipeline = crate::steps::pipeline_from_text(PIPELINE, "fake.yaml", dir.path()).unwrap();
        Bench {
            dir,
            fresh,
            registry,
            store,
            pipeline,
        }
    }

    async fn run_with(
        &self,
        body: StepBody,
        resume: Option<String>,
        interrupt: impl Future<Output = ()>,
    ) -> RunOutcome {
        self.run_with_options(body, resume, Vec::new(), interrupt).await
    }

    async fn run_with_options(
        &self,
        body: StepBody,
        resume: Option<String>,
        force: Vec<String>,
        interrupt: impl Future<Output = ()>,
    ) -> RunOutcome {
        let options = RunOptions {
            jobs: 2,
            trigger: "manual",
            force,
            resume,
            fire_at: None,
            body,
        };
        let registry = self.registry.clone();
        run(
            &self.pipeline,
            registry,
            self.store.clone(),
            Box::new(Silent),
            options,
            interrupt,
        )
        .await
        .unwrap()
    }

    async fn run_forced(&self, body: StepBody, step: &str) -> RunOutcome {
        self.run_with_options(body, None, vec![step.to_string()], std::future::pending())
            .await
    }

    async fn run(&self, body: StepBody) -> RunOutcome {
        self.run_with(body, None, std::future::pending()).await
    }

    async fn status(&self, run: &str) -> String {
        let _ = (&self.dir, &self.fresh);
        self.registry.show_run(run).await.unwrap().summary.status
    }
}

/// Which steps the body ran, in order.
type Calls = Arc<Mutex<Vec<String>>>;

/// A body that records each call and then does `work` (given the step id and how many times
/// that step ran before).
fn body(
    calls: &Calls,
    work: impl Fn(&str, usize, &mut StepContext) -> Result<StepOutput, StepError> + Send + Sync + 'static,
) -> StepBody {
    let calls = calls.clone();
    StepBody(Arc::new(move |_: &StepParams, ctx: &mut StepContext| {
        let before = {
            let mut calls = calls.lock().unwrap();
            let before = calls.iter().filter(|c| **c == ctx.step_id).count();
            calls.push(ctx.step_id.clone());
            before
        };
        work(&ctx.step_id.clone(), before, ctx)
    }))
}

/// What a working step writes: its input passed on, or (for the first step) a small table.
fn frame(ctx: &mut StepContext) -> Result<StepOutput, StepError> {
    let table = match ctx.inputs.is_empty() {
        true => Table {
            frame: df!("x" => [1.0, 2.0])?,
            roles: Default::default(),
        },
        false => ctx.take_single_input()?,
    };
    Ok(StepOutput {
        tables: vec![("frame".into(), table)],
        ..Default::default()
    })
}

fn ran(calls: &Calls) -> Vec<String> {
    calls.lock().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_takes_every_step_from_the_cache() {
    let bench = Bench::new().await;
    let calls = Calls::default();
    let first = bench.run(body(&calls, |_, _, ctx| frame(ctx))).await;
    assert_eq!(first.status, RunStatus::Succeeded, "{:?}", first.error);
    assert_eq!(ran(&calls), ["a", "b"]);
    let second = bench.run(body(&calls, |_, _, ctx| frame(ctx))).await;
    assert_eq!(second.status, RunStatus::Succeeded, "{:?}", second.error);
    assert_eq!(ran(&calls), ["a", "b"], "nothing ran again");
    // A changed input file is a new key for the step that reads it; the fake writes the same
    // table whatever it reads, so the next step's inputs, and key, are unchanged: keys follow
    // content, not the steps that ran.
    std::fs::write(bench.dir.path().join("data.csv"), "x\n1\n3\n").unwrap();
    let third = bench.run(body(&calls, |_, _, ctx| frame(ctx))).await;
    assert_eq!(third.status, RunStatus::Succeeded, "{:?}", third.error);
    assert_eq!(ran(&calls), ["a", "b", "a"]);
    // `--force`-like: with the cache off for `a` (forced), it and what follows run again.
    let forced = bench.run_forced(body(&calls, |_, _, ctx| frame(ctx)), "a").await;
    assert_eq!(forced.status, RunStatus::Succeeded, "{:?}", forced.error);
    assert_eq!(ran(&calls), ["a", "b", "a", "a", "b"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_that_fails_once_is_retried_and_the_run_succeeds() {
    let bench = Bench::new().await;
    let calls = Calls::default();
    let outcome = bench
        .run(body(&calls, |id, before, ctx| match (id, before) {
            ("b", 0) => Err(StepError::new("flaky")),
            _ => frame(ctx),
        }))
        .await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.error);
    assert_eq!(ran(&calls), ["a", "b", "b"]);
    assert_eq!(bench.status(&outcome.run_id).await, "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_step_fails_the_run_and_resume_runs_only_what_did_not_succeed() {
    let bench = Bench::new().await;
    let calls = Calls::default();
    let failed = bench
        .run(body(&calls, |id, _, ctx| match id {
            "b" => Err(StepError::new("the data is wrong")),
            _ => frame(ctx),
        }))
        .await;
    assert_eq!(failed.status, RunStatus::Failed);
    let error = failed.error.unwrap_or_default();
    assert!(
        error.contains("step `b`") && error.contains("the data is wrong"),
        "{error}"
    );
    assert_eq!(ran(&calls), ["a", "b", "b"], "one retry, then the run fails");
    assert_eq!(bench.status(&failed.run_id).await, "failed");

    let resumed = bench
        .run_with(
            body(&calls, |_, _, ctx| frame(ctx)),
            Some(failed.run_id.clone()),
            std::future::pending(),
        )
        .await;
    assert_eq!(resumed.status, RunStatus::Succeeded, "{:?}", resumed.error);
    assert_eq!(resumed.run_id, failed.run_id);
    assert_eq!(ran(&calls), ["a", "b", "b", "b"], "`a` succeeded before: reused");
    assert_eq!(bench.status(&failed.run_id).await, "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupt_cancels_the_running_step_and_the_run_ends_interrupted() {
    let bench = Bench::new().await;
    let calls = Calls::default();
    let saw_cancel = Arc::new(AtomicBool::new(false));
    let seen = saw_cancel.clone();
    let outcome = bench
        .run_with(
            body(&calls, move |id, _, ctx| {
                if id == "a" {
                    return frame(ctx);
                }
                // A long step that looks at the flag between units of work, as real ones do.
                for _ in 0..1000 {
                    if ctx.cancel.is_raised() {
                        seen.store(true, Ordering::Relaxed);
                        return ctx.cancel.check().map(|_| StepOutput::default());
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(StepError::new("never cancelled"))
            }),
            None,
            tokio::time::sleep(Duration::from_millis(500)),
        )
        .await;
    assert_eq!(outcome.status, RunStatus::Interrupted, "{:?}", outcome.error);
    assert!(saw_cancel.load(Ordering::Relaxed), "the step saw the cancel flag");
    assert_eq!(ran(&calls), ["a", "b"], "an interrupted step is not retried");
    assert_eq!(bench.status(&outcome.run_id).await, "interrupted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_that_writes_what_its_kind_does_not_declare_fails() {
    let bench = Bench::new().await;
    let calls = Calls::default();
    let outcome = bench
        .run(body(&calls, |id, _, ctx| {
            let mut out = frame(ctx)?;
            if id == "a" {
                out.files.push(("weights.bin".into(), vec![1, 2, 3]));
            }
            Ok(out)
        }))
        .await;
    assert_eq!(outcome.status, RunStatus::Failed);
    let error = outcome.error.unwrap_or_default();
    assert!(
        error.contains("a `load` step wrote `weights.bin` (State), which its kind does not declare"),
        "{error}"
    );
    assert_eq!(
        ran(&calls),
        ["a"],
        "an internal error is not retried away, and `b` never runs"
    );
}
