//! `pmflow report RUN [--out FILE] [--vs SPEC]`: a run's report as one HTML file, made from the
//! registry and the run's files (a run killed before it could write its own gets one too).

use super::runs::open;
use crate::cli::ReportArgs;
use crate::error::CliError;

pub async fn report(args: &ReportArgs) -> Result<(), CliError> {
    let registry = open(&args.registry.registry).await?;
    let run = registry.resolve_run(&args.run).await?;
    let vs = match &args.vs {
        Some(spec) => Some(super::compare::versus(&registry, spec, &run).await?),
        None => None,
    };
    let page = crate::exec::run_report::render(&registry, &run, vs).await;
    registry.close().await;
    let page = page.map_err(|e| CliError::RunFailed(format!("cannot make the report of run {run}: {e}")))?;
    // Through a temporary file beside it: a half-written page never replaces a good one.
    let staging = args.out.with_extension(format!("html.partial-{}", std::process::id()));
    let written = std::fs::write(&staging, page).and_then(|_| std::fs::rename(&staging, &args.out));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&staging);
        return Err(CliError::RunFailed(format!("cannot write {}: {e}", args.out.display())));
    }
    println!("report of run {run}: {}", args.out.display());
    Ok(())
}
