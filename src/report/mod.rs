//! Turns runner events into output for people: indicatif bars on a terminal, plain lines
//! otherwise (CI, logs, pipes). Nothing outside this module uses indicatif.

mod bars;
mod counter;
mod describe;
mod plain;

pub use counter::{counter, Counter};

use std::io::IsTerminal;

use crate::exec::events::Listener;

/// How progress is shown (`--progress`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// Bars on a terminal, plain lines otherwise (and always in CI).
    Auto,
    Bars,
    Plain,
    /// Nothing but warnings and the final summary.
    Quiet,
}

pub fn reporter(mode: ProgressMode) -> Box<dyn Listener> {
    let terminal = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    match mode {
        ProgressMode::Bars => Box::new(bars::Bars::new()),
        ProgressMode::Auto if terminal => Box::new(bars::Bars::new()),
        ProgressMode::Quiet => Box::new(plain::Plain::new(true)),
        _ => Box::new(plain::Plain::new(false)),
    }
}

/// "1.23s", "2m05s": short durations for progress lines.
pub fn format_duration(d: std::time::Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.2}s")
    } else {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}
