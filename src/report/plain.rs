//! One line per event on stderr, for logs and CI where bars would be noise.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::{describe, format_duration, Redact};
use crate::exec::events::{Event, Listener, Timed};

pub struct Plain {
    started: Instant,
    quiet: bool,
    /// When each step last printed progress: a step that reports every batch would otherwise
    /// flood the log.
    last_progress: HashMap<String, Instant>,
    redact: Redact,
}

/// At most one progress line per step this often, plus one at the end of each phase.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

impl Plain {
    pub fn new(quiet: bool, redact: Redact) -> Self {
        Plain {
            started: Instant::now(),
            quiet,
            last_progress: HashMap::new(),
            redact,
        }
    }

    fn line(&self, text: &str) {
        eprintln!("[{:>8}] {text}", format_duration(self.started.elapsed()));
    }
}

impl Listener for Plain {
    fn on_event(&mut self, timed: &Timed) {
        let event = &timed.event;
        if self.quiet && !matches!(event, Event::Warning { .. }) {
            return;
        }
        match event {
            Event::RunStarted {
                run_id,
                resumed,
                pipeline,
                steps,
                artifacts,
                registry,
            } => self.line(&format!(
                "{} {run_id} of `{pipeline}`: {} steps; artifacts {}; registry {}",
                if *resumed { "resuming run" } else { "run" },
                steps.len(),
                (self.redact)(artifacts),
                (self.redact)(registry)
            )),
            Event::StepOutputs { .. } => {}
            Event::StepStarted { step, attempt, of } if *of > 1 => {
                self.line(&format!("{step}: started (attempt {attempt} of {of})"))
            }
            Event::StepStarted { step, .. } => self.line(&format!("{step}: started")),
            Event::StepProgress {
                step,
                done,
                total,
                message,
            } => {
                let due = self
                    .last_progress
                    .get(step)
                    .is_none_or(|t| t.elapsed() >= PROGRESS_EVERY);
                if due || done == total {
                    self.last_progress.insert(step.clone(), Instant::now());
                    self.line(&format!("{step}: {done}/{total} {message}"));
                }
            }
            Event::StepRetrying { .. } | Event::Warning { .. } | Event::Note { .. } | Event::StepReused { .. } => {
                if let Some((step, text)) = describe::note(event) {
                    self.line(&format!("{step}: {}", (self.redact)(&text)));
                }
            }
            Event::Metric { .. } | Event::Artifact { .. } | Event::Barrier(_) | Event::Tag { .. } => {}
            Event::StepFinished {
                step,
                status,
                duration,
                error,
                cached_from,
            } => {
                let error = error.as_deref().map(self.redact);
                let outcome = describe::outcome(*status, *duration, error.as_deref(), cached_from.as_deref());
                self.line(&format!("{step}: {}", outcome.sentence));
            }
            Event::RunFinished { status, duration, .. } => {
                self.line(&format!("run {} in {}", status.as_str(), format_duration(*duration)))
            }
        }
    }
}
