//! `pmflow validate FILE`: every problem at once, or a one-line summary of a valid pipeline.

use crate::cli::PipelineArgs;
use crate::error::CliError;
use crate::steps;

pub fn validate(args: &PipelineArgs) -> Result<(), CliError> {
    let p = super::shared::load_pipeline(args)?;
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
