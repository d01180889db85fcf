//! Progress of one long counted task outside a pipeline run (`gen-data`): a bar on a terminal,
//! a plain line every 10% otherwise.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use super::ProgressMode;

pub struct Counter {
    bar: Option<ProgressBar>,
    label: String,
    unit: String,
    total: u64,
    next_line: u64,
    started: Instant,
    quiet: bool,
}

/// A counter for `total` units of `unit` (rows, epochs).
pub fn counter(mode: ProgressMode, label: &str, total: u64, unit: &str) -> Counter {
    let terminal = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    let bars = mode == ProgressMode::Bars || (mode == ProgressMode::Auto && terminal);
    let bar = bars.then(|| {
        let bar = ProgressBar::new(total);
        let template = format!("{label} [{{bar:30}}] {{human_pos}}/{{human_len}} {unit} {{per_sec}} eta {{eta}}");
        bar.set_style(
            ProgressStyle::with_template(&template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    });
    Counter {
        bar,
        label: label.to_string(),
        unit: unit.to_string(),
        total,
        next_line: total / 10,
        started: Instant::now(),
        quiet: mode == ProgressMode::Quiet,
    }
}

impl Counter {
    pub fn set(&mut self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        } else if !self.quiet && done >= self.next_line && done < self.total && self.started.elapsed().as_secs() >= 1 {
            // Plain lines only for work long enough to wonder about (>= 1 s), every 10%.
            eprintln!(
                "{}: {done}/{} {} ({:.1}s)",
                self.label,
                self.total,
                self.unit,
                self.started.elapsed().as_secs_f64()
            );
            self.next_line = done + (self.total / 10).max(1);
        }
    }

    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
