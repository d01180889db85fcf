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
    // A step left behind after an interrupt (blocked in a read that never ends) may still be
    // running; do not wait for it.
    runtime.shutdown_background();
    match result {
        Ok(()) => exit_now(exit::SUCCESS),
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
            exit_now(e.exit_code());
        }
    }
}

/// Ends the process without running C and C++ exit handlers. libtorch's static destructors
/// tear down its thread pools and allocators; a step thread left behind in libtorch would then
/// crash the process (exit 139) after the run was recorded. Everything pmflow must write is
/// written by now: the registry is closed and only the standard streams need flushing.
fn exit_now(code: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: `_exit` ends the process at once; no Rust state is used after it.
    unsafe { libc::_exit(code) }
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
