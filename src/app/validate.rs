//! `pmflow validate FILE`: every problem at once, or a one-line summary of a valid pipeline.

use crate::cli::PipelineArgs;
use crate::error::CliError;
use crate::pipeline::{self, Pipeline};

pub fn validate(args: &PipelineArgs) -> Result<(), CliError> {
    let p = load(args)?;
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
        if let Ok(cron) = crate::schedule::parse_cron(&s.cron) {
            let next: Vec<String> = crate::schedule::next_fire_times(&cron, s.timezone, 3)
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
    pipeline::load(&args.file, &args.overrides, args.root.as_deref()).map_err(CliError::Invalid)
}
