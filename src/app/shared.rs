//! What several commands use, so no command file imports another: loading the pipeline named
//! on the command line, opening a registry, writing an output file whole, and printing.

use std::path::Path;

use crate::cli::PipelineArgs;
use crate::error::CliError;
use crate::registry::{Registry, RegistryLocation};
use crate::steps::{self, Pipeline};

/// Loads and validates the pipeline named on the command line.
pub(super) fn load_pipeline(args: &PipelineArgs) -> Result<Pipeline, CliError> {
    let mut pipeline =
        steps::load_pipeline(&args.file, &args.overrides, args.root.as_deref()).map_err(CliError::Invalid)?;
    if let Some(registry) = registry_override(args.registry.as_deref())? {
        pipeline.storage.registry = registry;
    }
    Ok(pipeline)
}

/// `--registry` (or `PMFLOW_REGISTRY`), when given: the registry to use in place of the
/// pipeline's `storage.registry`. It is parsed against the current directory, as the commands
/// that read a registry do, and is not part of the resolved pipeline stored with each run.
pub(super) fn registry_override(registry: Option<&str>) -> Result<Option<RegistryLocation>, CliError> {
    registry
        .filter(|u| !u.trim().is_empty())
        .map(|url| registry_location(url, "--registry (or PMFLOW_REGISTRY)"))
        .transpose()
}

/// A registry URL given on the command line, resolved against the current directory (as every
/// command that takes one does); `option` names where it came from in the error.
pub(super) fn registry_location(url: &str, option: &str) -> Result<RegistryLocation, CliError> {
    let cwd = std::env::current_dir().map_err(|e| CliError::Internal(e.to_string()))?;
    RegistryLocation::parse(url, &cwd).map_err(|e| CliError::Usage(format!("{option}: {e}")))
}

/// Opens the registry a reading command names: one that must already exist, opened read-only
/// when it cannot be written.
pub(super) async fn open_registry(url: &str) -> Result<Registry, CliError> {
    let location = registry_location(url, "--registry (or PMFLOW_REGISTRY)")?;
    let RegistryLocation::Sqlite(path) = &location else {
        // A database server: nothing to check on this machine; the open names what is wrong.
        return Ok(Registry::open(&location).await?);
    };
    if !path.exists() {
        return Err(CliError::Usage(format!(
            "no registry at {}; run a pipeline first, or point --registry (or PMFLOW_REGISTRY) at one",
            path.display()
        )));
    }
    // A registry that cannot be written (read-only file or mount, `chattr +i`) can still be
    // read: listing runs must not need the lock and migrations a writer takes.
    let writable = std::fs::OpenOptions::new().append(true).open(path).is_ok();
    if writable {
        Ok(Registry::open(&location).await?)
    } else {
        Ok(Registry::open_read_only(&location).await?)
    }
}

/// Prints `value` as pretty JSON on stdout: the `--format json` of every command.
pub(super) fn print_json(value: &impl serde::Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::Internal(e.to_string()))?;
    println!("{text}");
    Ok(())
}

/// A metric value as people read it: up to 6 significant decimals, no trailing zeros.
pub(super) fn number(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        return format!("{x:.0}");
    }
    let text = format!("{x:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A local artifact as a path a person can open; other URIs as they are.
pub(super) fn shown_location(uri: &str) -> String {
    uri.strip_prefix("file://")
        .map(str::to_string)
        .unwrap_or_else(|| uri.to_string())
}

/// Refuses an `--out` that names an existing folder, before any work is done: renaming a
/// file onto a folder fails only at the end, and it is the user's slip, not pmflow's.
pub(super) fn out_is_a_file(out: &Path) -> Result<(), CliError> {
    if out.is_dir() {
        return Err(CliError::Usage(format!(
            "--out {} names a folder; give a file",
            out.display()
        )));
    }
    Ok(())
}

/// Writes the file `out` through a staging file beside it: `write` fills the staging path,
/// which is renamed into place when it succeeds and removed when anything fails, so a reader
/// (a dashboard, a mail attachment, a pipeline) never sees half a file.
pub(super) fn write_beside<T>(out: &Path, write: impl FnOnce(&Path) -> Result<T, CliError>) -> Result<T, CliError> {
    out_is_a_file(out)?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let staging = out.with_file_name(format!("{name}.partial-{}", std::process::id()));
    let written = write(&staging).and_then(|value| {
        std::fs::rename(&staging, out)
            .map(|_| value)
            .map_err(|e| CliError::Internal(format!("cannot move {} into place: {e}", out.display())))
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&staging);
    }
    written
}

/// Resolves on Ctrl-C or SIGTERM.
pub(super) async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
