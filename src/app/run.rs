//! `pmflow run FILE`: validate, open the registry and artifact store, run (or plan), summarise.

use crate::artifacts::ArtifactStore;
use crate::cli::RunArgs;
use crate::error::CliError;
use crate::exec::events::RunStatus;
use crate::exec::plan::plan;
use crate::exec::runner::{self, RunOptions};
use crate::registry::Registry;
use crate::report::{self, format_duration, ProgressMode};
use crate::steps::Pipeline;

pub async fn run(args: &RunArgs, progress: ProgressMode) -> Result<(), CliError> {
    let pipeline = super::shared::load_pipeline(&args.pipeline)?;
    check_force(&pipeline, &args.force)?;
    let registry = Registry::open(&pipeline.storage.registry).await?;
    let store = ArtifactStore::open(&pipeline.storage.artifacts).map_err(|e| CliError::Usage(e.to_string()))?;
    if args.dry_run {
        let lines = plan(&pipeline, &registry, &store, &args.force).await?;
        registry.close().await;
        println!("plan for `{}` ({} steps):", pipeline.name, lines.len());
        for l in lines {
            let what = if l.cached { "cached" } else { "run" };
            println!("  {:<14} {:<10} {what:<7} {}", l.step, l.kind, l.why);
        }
        return Ok(());
    }
    let resume = match &args.resume {
        Some(spec) => Some(registry.resolve_run_of(spec, &pipeline.name).await?),
        None => None,
    };
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let options = RunOptions {
        jobs,
        trigger: "manual",
        force: args.force.clone(),
        resume,
        fire_at: None,
        body: Default::default(),
    };
    let outcome = runner::run(
        &pipeline,
        registry.clone(),
        store,
        report::reporter(progress, |text| crate::pipeline::location::redact(text).into_owned()),
        options,
        super::shared::shutdown_signal(),
    )
    .await;
    let outcome = outcome?;
    registry.close().await;
    let short = &outcome.run_id[..12.min(outcome.run_id.len())];
    println!(
        "run {} {} in {} (details: pmflow runs show {short})",
        outcome.run_id,
        outcome.status.as_str(),
        format_duration(outcome.duration)
    );
    match &outcome.report {
        Ok(uri) => println!("report: {}", super::shared::shown_location(uri)),
        Err(e) => eprintln!("warning: the run's report could not be written: {e}"),
    }
    if let Some(e) = outcome.registry_error {
        if e.is_unreachable() {
            // The run stopped because of it: its error says so, with what happens next.
            return Err(CliError::RunFailed(
                outcome
                    .error
                    .unwrap_or_else(|| format!("the registry stopped answering: {e}")),
            ));
        }
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

/// `--force STEP` must name a step of the pipeline.
fn check_force(pipeline: &Pipeline, force: &[String]) -> Result<(), CliError> {
    for f in force.iter().filter(|f| *f != "*") {
        if !pipeline.steps.iter().any(|s| &s.id == f) {
            let ids: Vec<&str> = pipeline.steps.iter().map(|s| s.id.as_str()).collect();
            let hint = crate::pipeline::diagnostic::did_you_mean(f, ids.iter().copied());
            return Err(CliError::Usage(format!(
                "--force {f}: no such step{hint}; steps: {}",
                ids.join(", ")
            )));
        }
    }
    Ok(())
}
