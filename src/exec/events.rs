//! What the runner reports while it works. Reporters draw it, the registry records it.

use std::time::Duration;

use crate::artifacts::StoredArtifact;
use crate::table::OutputRef;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    Succeeded,
    Failed,
    Skipped,
    Interrupted,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Succeeded => "succeeded",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
            StepStatus::Interrupted => "interrupted",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Succeeded,
    Failed,
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

#[derive(Debug, Clone)]
pub enum Event {
    RunStarted {
        run_id: String,
        /// A `--resume` of an earlier run rather than a new one.
        resumed: bool,
        pipeline: String,
        steps: Vec<(String, String)>,
        artifacts: String,
        registry: String,
    },
    StepStarted {
        step: String,
        attempt: u32,
        of: u32,
    },
    /// A failed attempt that will be retried.
    StepRetrying {
        step: String,
        attempt: u32,
        error: String,
    },
    /// Progress inside a step: `done` of `total` units (rows, epochs, ...).
    StepProgress {
        step: String,
        done: u64,
        total: u64,
        message: String,
    },
    Warning {
        step: String,
        message: String,
    },
    Metric {
        step: String,
        key: String,
        value: f64,
        index: i64,
    },
    Artifact {
        step: String,
        name: String,
        stored: StoredArtifact,
    },
    /// The tables a succeeded step left, and its cache key (sent just before `StepFinished`).
    StepOutputs {
        step: String,
        cache_key: Option<String>,
        tables: Vec<OutputRef>,
    },
    StepFinished {
        step: String,
        status: StepStatus,
        duration: Duration,
        error: Option<String>,
        /// On a cache hit, the run whose outputs were reused.
        cached_from: Option<String>,
    },
    /// `--resume`: a step that had succeeded before and is not run again.
    StepReused {
        step: String,
    },
    RunFinished {
        run_id: String,
        status: RunStatus,
        duration: Duration,
        error: Option<String>,
    },
}

pub type EventSender = tokio::sync::mpsc::UnboundedSender<Event>;
