//! `pmflow report RUN [--out FILE] [--vs SPEC]`: a run's report as one HTML file, made from the
//! registry and the run's files (a run killed before it could write its own gets one too).

use super::runs::open;
use crate::cli::ReportArgs;
use crate::error::CliError;

pub async fn report(args: &ReportArgs) -> Result<(), CliError> {
    super::out_is_a_file(&args.out)?;
    let registry = open(&args.registry.registry).await?;
    let run = registry.resolve_run(&args.run).await?;
    let vs = match &args.vs {
        Some(spec) => Some(super::compare::versus(&registry, spec, &run).await?),
        None => None,
    };
    let page = crate::exec::run_report::render(&registry, &run, vs).await;
    registry.close().await;
    let page = page.map_err(|e| CliError::RunFailed(format!("cannot make the report of run {run}: {e}")))?;
    // A half-written page never replaces a good one.
    super::write_beside(&args.out, |staging| {
        std::fs::write(staging, page)
            .map_err(|e| CliError::RunFailed(format!("cannot write {}: {e}", args.out.display())))
    })?;
    println!("report of run {run}: {}", args.out.display());
    Ok(())
}
