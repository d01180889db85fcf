//! What a step sees while it runs: its inputs, the project root, and a way to report metrics,
//! warnings and progress. Steps are synchronous and never touch storage or the registry.

use std::path::PathBuf;

use super::events::{Event, EventSender};
use crate::table::Table;

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

pub struct StepContext {
    pub step_id: String,
    pub root: PathBuf,
    /// Upstream tables as (`step/output`, table), in `needs` order.
    pub inputs: Vec<(String, Table)>,
    /// Upstream files as (`step/name.ext`, bytes), in `needs` order.
    pub files: Vec<(String, Vec<u8>)>,
    /// The sha256 of every input (tables and files) as (`step/name`, digest), for provenance.
    pub digests: Vec<(String, String)>,
    events: EventSender,
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
    pub fn new(step_id: String, root: PathBuf, inputs: Vec<(String, Table)>, events: EventSender) -> Self {
        StepContext {
            step_id,
            root,
            inputs,
            files: Vec::new(),
            digests: Vec::new(),
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
        // A closed channel means the run is being torn down; nothing useful to do then.
        let _ = self.events.send(Event::Metric {
            step: self.step_id.clone(),
            key: key.into(),
            value,
            index,
        });
    }

    pub fn warn(&self, message: impl Into<String>) {
        let _ = self.events.send(Event::Warning {
            step: self.step_id.clone(),
            message: message.into(),
        });
    }

    pub fn progress(&self, done: u64, total: u64, message: impl Into<String>) {
        let _ = self.events.send(Event::StepProgress {
            step: self.step_id.clone(),
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
    ) -> (StepContext, tokio::sync::mpsc::UnboundedReceiver<Event>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (StepContext::new("test".into(), root.to_path_buf(), inputs, tx), rx)
    }
}

/// Metrics a step sent, as (key, value), for unit tests.
#[cfg(test)]
pub fn drain_metrics(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Event>) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    while let Ok(e) = rx.try_recv() {
        if let Event::Metric { key, value, .. } = e {
            out.push((key, value));
        }
    }
    out
}
