//! What the runner reports while it works. Reporters draw it, the registry records it.

use std::time::{Duration, SystemTime};

use crate::frame::{OutputRef, StoredArtifact};
use crate::steps::context::StepEvent;

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
    /// News from a step a person should read, that is no warning (a model registered, an
    /// alias moved).
    Note {
        step: String,
        message: String,
    },
    /// A fact about the run worth keeping as a tag (the files a step read, with their digests).
    Tag {
        key: String,
        value: String,
    },
    /// Asks the recorder to write everything before it and then wake the waiter: a step that
    /// reads the run back from the registry (`register`) sees every metric sent so far.
    Barrier(std::sync::Arc<tokio::sync::Notify>),
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

/// Who listens to a run's events besides the registry: the progress reporters of `report`.
pub trait Listener: Send {
    fn on_event(&mut self, timed: &Timed);
    fn finish(&mut self) {}
}

/// An event with the moment it happened (not when a listener got to it).
#[derive(Debug, Clone)]
pub struct Timed {
    pub at: SystemTime,
    pub event: Event,
}

/// The runner's event bus: every event is stamped as it is sent.
#[derive(Debug, Clone)]
pub struct EventSender(tokio::sync::mpsc::UnboundedSender<Timed>);

pub type EventReceiver = tokio::sync::mpsc::UnboundedReceiver<Timed>;

/// A new bus: its sender (clone it for every task) and the one receiver.
pub fn channel() -> (EventSender, EventReceiver) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    (EventSender(tx), rx)
}

/// Sending fails only once the receiver is gone: the run is being torn down.
#[derive(Debug)]
pub struct Closed;

impl EventSender {
    pub fn send(&self, event: Event) -> Result<(), Closed> {
        let timed = Timed {
            at: SystemTime::now(),
            event,
        };
        self.0.send(timed).map_err(|_| Closed)
    }

    /// Where a step's events go: stamped now, with the step's id.
    pub fn for_step(&self, step: &str) -> crate::steps::context::StepEvents {
        let (tx, step) = (self.clone(), step.to_string());
        Box::new(move |e| {
            let step = step.clone();
            let _ = tx.send(match e {
                StepEvent::Metric { key, value, index } => Event::Metric {
                    step,
                    key,
                    value,
                    index,
                },
                StepEvent::Warning { message } => Event::Warning { step, message },
                // A step's own tags are named under it, apart from pmflow's.
                StepEvent::Tag { key, value } => Event::Tag {
                    key: format!("{step}.{key}"),
                    value,
                },
                StepEvent::Progress { done, total, message } => Event::StepProgress {
                    step,
                    done,
                    total,
                    message,
                },
            });
        })
    }
}
