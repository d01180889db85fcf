//! The `pmflow` binary: parse the command line, run the command, print the error, exit with a
//! documented code (see `pmflow --help`).

use clap::Parser;
use pmflow::error::{exit, CliError};

fn main() {
    pmflow::app::memory::keep_freed_memory();
    let cli = pmflow::cli::Cli::parse();
    if !matches!(cli.command, pmflow::cli::Command::Run(_)) {
        quiet_on_broken_pipe();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(exit::INTERNAL);
        }
    };
    let result = runtime.block_on(pmflow::app::main(cli));
    // Blocking step threads may still be running after an interrupt; do not wait for them.
    runtime.shutdown_background();
    match result {
        Ok(()) => std::process::exit(exit::SUCCESS),
        Err(e) => {
            match &e {
                CliError::Invalid(diags) => {
                    eprint!("{diags}");
                    eprintln!(
                        "{} problem{} found",
                        diags.len(),
                        if diags.len() == 1 { "" } else { "s" }
                    );
                }
                other => eprintln!("error: {other}"),
            }
            std::process::exit(e.exit_code());
        }
    }
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`pmflow runs show | head`) panics.
/// Commands that only print get the Unix default back: they end quietly. `run` keeps ignoring
/// it, so a closed pipe cannot kill a run halfway.
fn quiet_on_broken_pipe() {
    #[cfg(unix)]
    // SAFETY: called before any other thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
