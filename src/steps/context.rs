//! What a step sees while it runs: its inputs, the project root, a way to report metrics,
//! warnings and progress, and the narrow views of the world outside the run that the runner
//! hands it (files in object storage, the registry read-only). Steps are synchronous and never
//! open a store or the registry themselves, so every step is testable without either.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::frame::Table;
use crate::model::formats::State;
use crate::model::{ModelBundle, ModelError};

/// The input name under which the runner hands over the files of a model a step names
/// ([`super::ports::Input::Model`]): `@model/model_card.json`, `@model/STEP/outlier_fences.json`.
pub const MODEL_INPUT: &str = "@model";

/// A step's failure, as shown to the user; the runner adds the step id.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct StepError(pub String);

impl StepError {
    pub fn new(message: impl Into<String>) -> Self {
        StepError(message.into())
    }
}

impl From<polars::error::PolarsError> for StepError {
    fn from(e: polars::error::PolarsError) -> Self {
        StepError(format!("data error: {e}"))
    }
}

impl From<ModelError> for StepError {
    fn from(e: ModelError) -> Self {
        StepError(e.0)
    }
}

/// Asks a running step to stop. The runner raises it on Ctrl-C or SIGTERM and when the step's
/// `timeout-secs` passes, then waits for the step to return: a thread cannot be killed, so a
/// step that ran on would keep writing (and using libtorch) after its run ended, or beside its
/// own retry. Long loops look at it between units of work (a batch, an epoch, a chunk).
#[derive(Clone, Debug, Default)]
pub struct Cancel(Vec<Arc<AtomicBool>>);

impl Cancel {
    /// Raised when any of `flags` is (the run's and the attempt's).
    pub fn any_of(flags: impl IntoIterator<Item = Arc<AtomicBool>>) -> Self {
        Cancel(flags.into_iter().collect())
    }

    pub fn is_raised(&self) -> bool {
        self.0.iter().any(|f| f.load(Ordering::Relaxed))
    }

    /// An error to return when the step was asked to stop.
    pub fn check(&self) -> Result<(), StepError> {
        match self.is_raised() {
            true => Err(StepError::new("stopped: the step was cancelled")),
            false => Ok(()),
        }
    }
}

/// What a step tells the runner while it works; the runner stamps each with the time it was
/// sent and adds the step id.
#[derive(Debug, Clone, PartialEq)]
pub enum StepEvent {
    /// A metric at a step index (epoch, iteration; 0 for a single value).
    Metric {
        key: String,
        value: f64,
        index: i64,
    },
    Warning {
        message: String,
    },
    /// A key/value to tag the run with (a `command` step's program sends these).
    Tag {
        key: String,
        value: String,
    },
    /// `done` of `total` units (rows, epochs, ...).
    Progress {
        done: u64,
        total: u64,
        message: String,
    },
}

/// Where a step's events go (the runner's event bus, or a test's channel).
pub type StepEvents = Box<dyn Fn(StepEvent) + Send>;

/// Files outside the run that live in object storage (`s3://` URLs), reached through the
/// runner's stores. Called from the step's own (blocking) thread.
pub trait RemoteFiles: Send + Sync {
    /// Every URL that matches `pattern` (an `s3://` URL with `*`, `?` or `[...]`).
    fn matching(&self, pattern: &str) -> Result<Vec<String>, StepError>;
    /// Downloads `url` into a new temporary local file whose name ends with `name`.
    fn download(&self, url: &str, name: &str) -> Result<PathBuf, StepError>;
}

/// For places that only read local files (`pmflow validate`, unit tests).
pub struct LocalOnly;

impl RemoteFiles for LocalOnly {
    fn matching(&self, pattern: &str) -> Result<Vec<String>, StepError> {
        Err(StepError::new(format!(
            "cannot list {pattern} here: only local files are read"
        )))
    }

    fn download(&self, url: &str, _name: &str) -> Result<PathBuf, StepError> {
        Err(StepError::new(format!(
            "cannot read {url} here: only local files are read"
        )))
    }
}

/// One recorded run as a step may see it: what it was given and what it measured.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunRecord {
    pub id: String,
    pub pipeline: String,
    pub status: String,
    /// Parameter name -> value, as recorded.
    pub params: BTreeMap<String, serde_json::Value>,
    /// `step.metric` -> its last value.
    pub metrics: BTreeMap<String, f64>,
}

/// The registry, read-only, as the runner hands it to steps (a promotion gate reads the alias
/// holder's metrics; drift reads a reference run). Steps cannot write through it.
pub trait RegistryView: Send + Sync {
    /// The run named by `spec` (a run id, a unique prefix of one, or `latest`), or None.
    fn run(&self, spec: &str) -> Result<Option<RunRecord>, StepError>;
}

/// For steps run without a registry (unit tests): knows no run.
pub struct NoRegistry;

impl RegistryView for NoRegistry {
    fn run(&self, _spec: &str) -> Result<Option<RunRecord>, StepError> {
        Ok(None)
    }
}

pub struct StepContext {
    pub step_id: String,
    pub root: PathBuf,
    /// Upstream tables as (`step/output`, table), in `needs` order.
    pub inputs: Vec<(String, Table)>,
    /// Upstream files as (`step/name.ext`, bytes), in `needs` order.
    pub files: Vec<(String, Vec<u8>)>,
    /// The sha256 of every input (tables and files) as (`step/name`, digest), for provenance.
    pub digests: Vec<(String, String)>,
    pub remote: Arc<dyn RemoteFiles>,
    pub registry: Arc<dyn RegistryView>,
    /// The steps upstream of this one, in execution order, with their settings: what a step
    /// needs to prepare a new file the way the pipeline prepared its own data (`prepare.rs`).
    pub upstream: Vec<(String, super::StepParams)>,
    /// Raised when the step must stop (see [`Cancel`]); never, unless the runner sets it.
    pub cancel: Cancel,
    /// The run this execution belongs to (empty outside a run) and which attempt it is (1 =
    /// the first; a retry is 2): what a program run as a step is told.
    pub run_id: String,
    pub attempt: u32,
    /// For a step that reads its tables as files ([`super::ports::Input::TableFiles`]): each
    /// upstream table's Parquet file, in `needs` order, instead of `inputs`.
    pub table_files: Vec<TableFile>,
    events: StepEvents,
}

/// An upstream table handed over as its Parquet file.
#[derive(Debug, Clone, PartialEq)]
pub struct TableFile {
    /// `step/output`, as [`StepContext::inputs`] names tables.
    pub name: String,
    pub path: PathBuf,
    pub roles: crate::frame::Roles,
}

/// What a step produced: tables (stored as Parquet), reports (stored as JSON, for people) and
/// files (stored as they are and handed to later steps, e.g. weights; named with extension).
#[derive(Default)]
pub struct StepOutput {
    pub tables: Vec<(String, Table)>,
    pub reports: Vec<(String, serde_json::Value)>,
    pub files: Vec<(String, Vec<u8>)>,
}

impl StepContext {
    /// A context with no upstream files, no remote files and no registry; the runner sets what
    /// the step may use.
    pub fn new(step_id: String, root: PathBuf, inputs: Vec<(String, Table)>, events: StepEvents) -> Self {
        StepContext {
            step_id,
            root,
            inputs,
            files: Vec::new(),
            digests: Vec::new(),
            remote: Arc::new(LocalOnly),
            registry: Arc::new(NoRegistry),
            upstream: Vec::new(),
            cancel: Cancel::default(),
            run_id: String::new(),
            attempt: 1,
            table_files: Vec::new(),
            events,
        }
    }

    /// The upstream file called `name` (e.g. `model.safetensors`), from whichever step made it.
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(key, _)| key.rsplit('/').next() == Some(name))
            .map(|(_, bytes)| bytes.as_slice())
    }

    /// The `part` table (`train`, `val`, `test`) among the inputs: from `split`, directly or
    /// passed on by `smote`. Taken, not copied: each part is read once.
    pub fn table(&mut self, part: &str) -> Result<Table, StepError> {
        let suffix = format!("/{part}");
        match self.inputs.iter().position(|(name, _)| name.ends_with(&suffix)) {
            Some(i) => Ok(self.inputs.remove(i).1),
            None => Err(StepError::new(format!(
                "needs the `{part}` part of a `split` (directly or through `smote`) under `needs:`"
            ))),
        }
    }

    /// The fitted state of type `T` a step upstream handed down (the nearest), if any.
    pub fn state<T: State>(&self) -> Option<Result<T, StepError>> {
        self.file(T::FILE).map(|bytes| T::parse(bytes).map_err(StepError::from))
    }

    /// A file of the model this step reads: the one it names (handed over under
    /// [`MODEL_INPUT`]), else the one trained upstream.
    pub fn model_file(&self, name: &str) -> Option<&[u8]> {
        let named = format!("{MODEL_INPUT}/{name}");
        self.files
            .iter()
            .find(|(key, _)| *key == named)
            .map(|(_, bytes)| bytes.as_slice())
            .or_else(|| self.file(name))
    }

    /// The model this step reads (see [`StepContext::model_file`]); None when there is none.
    pub fn model(&self) -> Result<Option<ModelBundle>, StepError> {
        Ok(ModelBundle::find(|name| self.model_file(name))?)
    }

    /// The one upstream table, for steps that transform a single frame.
    pub fn take_single_input(&mut self) -> Result<Table, StepError> {
        match self.inputs.len() {
            1 => Ok(self.inputs.remove(0).1),
            0 => Err(StepError::new(
                "needs one upstream step that produces a table; add it under `needs:`",
            )),
            n => Err(StepError::new(format!(
                "takes one input table but `needs` gives {n}; keep one"
            ))),
        }
    }

    pub fn metric(&self, key: impl Into<String>, value: f64) {
        self.metric_at(key, value, 0);
    }

    /// A metric at a step index (epoch, iteration).
    pub fn metric_at(&self, key: impl Into<String>, value: f64, index: i64) {
        (self.events)(StepEvent::Metric {
            key: key.into(),
            value,
            index,
        });
    }

    pub fn warn(&self, message: impl Into<String>) {
        (self.events)(StepEvent::Warning {
            message: message.into(),
        });
    }

    pub fn tag(&self, key: impl Into<String>, value: impl Into<String>) {
        (self.events)(StepEvent::Tag {
            key: key.into(),
            value: value.into(),
        });
    }

    pub fn progress(&self, done: u64, total: u64, message: impl Into<String>) {
        (self.events)(StepEvent::Progress {
            done,
            total,
            message: message.into(),
        });
    }
}

#[cfg(test)]
impl StepContext {
    /// A context for unit tests: events go to the returned receiver.
    pub fn detached(
        root: &std::path::Path,
        inputs: Vec<(String, Table)>,
    ) -> (StepContext, std::sync::mpsc::Receiver<StepEvent>) {
        let (tx, rx) = std::sync::mpsc::channel();
        let events: StepEvents = Box::new(move |e| {
            let _ = tx.send(e);
        });
        (StepContext::new("test".into(), root.to_path_buf(), inputs, events), rx)
    }
}

/// Metrics a step sent, as (key, value), for unit tests.
#[cfg(test)]
pub fn drain_metrics(rx: &mut std::sync::mpsc::Receiver<StepEvent>) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    while let Ok(e) = rx.try_recv() {
        if let StepEvent::Metric { key, value, .. } = e {
            out.push((key, value));
        }
    }
    out
}
