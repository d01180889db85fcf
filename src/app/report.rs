//! `pmflow report RUN [--out FILE] [--vs SPEC]`: a run's report as one HTML file, made from the
//! registry and the run's files (a run killed before it could write its own gets one too).

use super::shared::open_registry;
use super::sides::{label, side};
use crate::cli::ReportArgs;
use crate::error::CliError;
use crate::ml::gate::{direction_of, is_timing, Better};
use crate::registry::Registry;

pub async fn report(args: &ReportArgs) -> Result<(), CliError> {
    super::shared::out_is_a_file(&args.out)?;
    let registry = open_registry(&args.registry.registry).await?;
    let run = registry.resolve_run(&args.run).await?;
    let vs = match &args.vs {
        Some(spec) => Some(versus(&registry, spec, &run).await?),
        None => None,
    };
    let page = crate::exec::run_report::render(&registry, &run, vs).await;
    registry.close().await;
    let page = page.map_err(|e| CliError::RunFailed(format!("cannot make the report of run {run}: {e}")))?;
    // A half-written page never replaces a good one.
    super::shared::write_beside(&args.out, |staging| {
        std::fs::write(staging, page)
            .map_err(|e| CliError::RunFailed(format!("cannot write {}: {e}", args.out.display())))
    })?;
    println!("report of run {run}: {}", args.out.display());
    Ok(())
}

/// `pmflow report --vs SPEC`: the run's metrics beside SPEC's (every metric both have, the
/// evaluate ones first), each marked better or worse by its direction.
async fn versus(registry: &Registry, spec: &str, run: &str) -> Result<crate::html::Versus, CliError> {
    let baseline = side(registry, spec).await?;
    let candidate = side(registry, run).await?;
    // The evaluate metrics when both have them (what a promotion is judged on), else all.
    let common = |names: &mut dyn Iterator<Item = &String>| -> Vec<String> {
        names
            .filter(|m| candidate.metrics.contains_key(*m) && !is_timing(m))
            .cloned()
            .collect()
    };
    let mut names = common(&mut baseline.evaluated.iter());
    if names.is_empty() {
        names = common(&mut baseline.metrics.keys());
    }
    let rows = names
        .into_iter()
        .map(|m| {
            let (b, c) = (baseline.metrics[&m], candidate.metrics[&m]);
            let better = match direction_of(&m) {
                _ if b == c => None,
                Better::Higher => Some(c > b),
                Better::Lower => Some(c < b),
                Better::Neither => None,
            };
            crate::html::VersusRow {
                metric: m,
                baseline: Some(b),
                value: Some(c),
                better,
            }
        })
        .collect();
    Ok(crate::html::Versus {
        label: label(&baseline),
        rows,
    })
}
