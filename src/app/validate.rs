//! `pmflow validate FILE`: every problem at once, or a one-line summary of a valid pipeline.

use crate::cli::PipelineArgs;
use crate::error::CliError;
use crate::registry::RegistryLocation;
use crate::steps::{self, Pipeline};

pub fn validate(args: &PipelineArgs) -> Result<(), CliError> {
    let p = load(args)?;
    // A run would stop at once on an input that is not there: say so now.
    let mut missing = crate::pipeline::diagnostic::Diagnostics::new(args.file.display().to_string(), Vec::new());
    for step in &p.steps {
        for problem in steps::input_problems(&step.params, &p.source.root) {
            missing.push(Default::default(), format!("step `{}`: {problem}", step.id));
        }
    }
    if !missing.is_empty() {
        return Err(CliError::Invalid(missing));
    }
    println!(
        "{}: ok: pipeline `{}`, {} step{} ({}); root {}",
        args.file.display(),
        p.name,
        p.steps.len(),
        if p.steps.len() == 1 { "" } else { "s" },
        p.steps.iter().map(|s| s.id.as_str()).collect::<Vec<_>>().join(" -> "),
        p.source.root.display()
    );
    if let Some(s) = &p.schedule {
        if let Ok(cron) = crate::pipeline::cron::parse_cron(&s.cron) {
            let next: Vec<String> = crate::pipeline::cron::next_fire_times(&cron, s.timezone, 3)
                .iter()
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .collect();
            println!("schedule `{}` ({}): next {}", s.cron, s.timezone, next.join(", "));
        }
    }
    Ok(())
}

/// Loads and validates the pipeline named on the command line.
pub fn load(args: &PipelineArgs) -> Result<Pipeline, CliError> {
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
pub fn registry_override(registry: Option<&str>) -> Result<Option<RegistryLocation>, CliError> {
    registry
        .filter(|u| !u.trim().is_empty())
        .map(|url| super::registry_location(url, "--registry (or PMFLOW_REGISTRY)"))
        .transpose()
}
