//! indicatif bars for a terminal: one for the run, one spinner or bar per running step.

use std::collections::HashMap;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::{describe, Redact};
use crate::exec::events::{Event, Listener, Timed};

pub struct Bars {
    multi: MultiProgress,
    run: Option<ProgressBar>,
    steps: HashMap<String, ProgressBar>,
    redact: Redact,
}

impl Bars {
    pub fn new(redact: Redact) -> Self {
        Bars {
            multi: MultiProgress::new(),
            run: None,
            steps: HashMap::new(),
            redact,
        }
    }

    fn println(&self, text: String) {
        // Printing through MultiProgress keeps lines above the bars instead of tearing them.
        let _ = self.multi.println(text);
    }
}

fn step_style() -> ProgressStyle {
    ProgressStyle::with_template("  {spinner} {prefix:<14} {wide_msg} {elapsed:>5}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn step_bar_style() -> ProgressStyle {
    ProgressStyle::with_template("  {spinner} {prefix:<14} [{bar:30}] {pos}/{len} {wide_msg} {elapsed:>5}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

impl Listener for Bars {
    fn on_event(&mut self, timed: &Timed) {
        let event = &timed.event;
        match event {
            Event::RunStarted {
                run_id,
                resumed: _,
                pipeline,
                steps,
                artifacts,
                ..
            } => {
                self.println(format!("run {run_id} of `{pipeline}` -> {}", (self.redact)(artifacts)));
                let bar = self.multi.add(ProgressBar::new(steps.len() as u64));
                bar.set_style(
                    ProgressStyle::with_template("{prefix:>4} [{bar:30}] {pos}/{len} steps {elapsed:>5}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                bar.set_prefix("run");
                self.run = Some(bar);
            }
            Event::StepStarted { step, attempt, of } => {
                let bar = self.steps.entry(step.clone()).or_insert_with(|| {
                    let bar = self.multi.add(ProgressBar::new_spinner());
                    bar.set_style(step_style());
                    bar.set_prefix(step.clone());
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                });
                bar.set_message(if *of > 1 {
                    format!("attempt {attempt}/{of}")
                } else {
                    String::new()
                });
            }
            Event::StepProgress {
                step,
                done,
                total,
                message,
            } => {
                if let Some(bar) = self.steps.get(step) {
                    if bar.length() != Some(*total) {
                        bar.set_style(step_bar_style());
                        bar.set_length(*total);
                    }
                    bar.set_position(*done);
                    bar.set_message(message.clone());
                }
            }
            Event::StepReused { step } => self.println(format!("  {:>11} {step:<14} done before the resume", "reused")),
            Event::StepRetrying { .. } | Event::Warning { .. } | Event::Note { .. } => {
                if let Some((step, text)) = describe::note(event) {
                    self.println(format!("{step}: {}", (self.redact)(&text)));
                }
            }
            Event::StepFinished {
                step,
                status,
                duration,
                error,
                cached_from,
            } => {
                if let Some(bar) = self.steps.remove(step) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
                let error = error.as_deref().map(self.redact);
                let outcome = describe::outcome(*status, *duration, error.as_deref(), cached_from.as_deref());
                self.println(format!("  {:>11} {step:<14} {}", outcome.mark, outcome.detail));
                if let Some(run) = &self.run {
                    run.inc(1);
                }
            }
            Event::RunFinished { .. } => {
                if let Some(run) = self.run.take() {
                    run.finish_and_clear();
                }
            }
            Event::Metric { .. }
            | Event::Artifact { .. }
            | Event::StepOutputs { .. }
            | Event::Barrier(_)
            | Event::Tag { .. } => {}
        }
    }

    fn finish(&mut self) {
        for (_, bar) in self.steps.drain() {
            bar.finish_and_clear();
        }
        let _ = self.multi.clear();
    }
}
