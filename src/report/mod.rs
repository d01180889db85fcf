//! Turns runner events into output for people: indicatif bars on a terminal, plain lines
//! otherwise (CI, logs, pipes). Nothing outside this module uses indicatif.

mod bars;
mod counter;
mod describe;
mod plain;

pub use counter::{counter, Counter};

use std::io::IsTerminal;

use crate::exec::events::Listener;

/// How progress is shown: `--progress`, as the command line spells it too (one enum for the
/// flag and the reporters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// Bars on a terminal, plain lines otherwise (and always in CI).
    Auto,
    Bars,
    Plain,
    /// Nothing but warnings and the final summary.
    Quiet,
}

/// Hides the passwords of the URLs in a text. The caller passes the pipeline format's
/// `location::redact` (this layer sits above the format but does not name it): every URL and
/// error a reporter prints goes through it.
pub type Redact = fn(&str) -> String;

pub fn reporter(mode: ProgressMode, redact: Redact) -> Box<dyn Listener> {
    let terminal = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    match mode {
        ProgressMode::Bars => Box::new(bars::Bars::new(redact)),
        ProgressMode::Auto if terminal => Box::new(bars::Bars::new(redact)),
        ProgressMode::Quiet => Box::new(plain::Plain::new(true, redact)),
        _ => Box::new(plain::Plain::new(false, redact)),
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
