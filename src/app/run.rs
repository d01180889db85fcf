//! `pmflow run FILE`: validate, open the registry and artifact store, run, summarise.

use crate::artifacts::ArtifactStore;
use crate::cli::RunArgs;
use crate::error::CliError;
use crate::exec::events::RunStatus;
use crate::exec::runner::{self, RunOptions};
use crate::registry::Registry;
use crate::report::{self, format_duration, ProgressMode};

pub async fn run(args: &RunArgs, progress: ProgressMode) -> Result<(), CliError> {
    let pipeline = super::validate::load(&args.pipeline)?;
    let registry = Registry::open(&pipeline.storage.registry).await?;
    let store = ArtifactStore::open(&pipeline.storage.artifacts).map_err(|e| CliError::Usage(e.to_string()))?;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let outcome = runner::run(
        &pipeline,
        registry.clone(),
        store,
        report::reporter(progress),
        RunOptions {
            jobs,
            trigger: "manual",
        },
        shutdown_signal(),
    )
    .await?;
    registry.close().await;
    let short = &outcome.run_id[..12.min(outcome.run_id.len())];
    println!(
        "run {} {} in {} (details: pmflow runs show {short})",
        outcome.run_id,
        outcome.status.as_str(),
        format_duration(outcome.duration)
    );
    if let Some(e) = outcome.registry_error {
        return Err(CliError::Internal(format!(
            "the run finished but recording it failed: {e}"
        )));
    }
    match outcome.status {
        RunStatus::Succeeded => Ok(()),
        _ => Err(CliError::RunFailed(
            outcome.error.unwrap_or_else(|| "the run failed".into()),
        )),
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
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
