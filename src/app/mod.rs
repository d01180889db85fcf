//! The commands behind the CLI: each takes parsed arguments and returns a [`CliError`] on failure.

mod bench_lstm;
mod bench_registry;
mod compare;
mod gc;
mod gen_data;
mod info;
pub mod memory;
mod metrics;
mod models;
mod predict;
mod registry_copy;
mod report;
mod run;
mod runs;
mod schedule;
mod shared;
mod sides;
mod validate;

use crate::cli::{Cli, Command, RegistryCommand, RunsCommand};
use crate::error::CliError;

/// Runs one command to completion. Its error, printed by `main.rs`, has every URL in it
/// redacted: whatever the layer that wrote the message, no password reaches the terminal.
pub async fn main(cli: Cli) -> Result<(), CliError> {
    command(cli).await.map_err(redacted)
}

async fn command(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Validate(args) => validate::validate(&args),
        Command::Gc(args) => gc::gc(&args).await,
        Command::Info => info::info(),
        Command::GenData(args) => gen_data::gen_data(&args, cli.progress),
        Command::BenchRegistry {
            points,
            registry,
            single,
        } => bench_registry::bench_registry(points, &registry, single).await,
        Command::Registry(RegistryCommand::Copy { from, to }) => registry_copy::copy(&from, &to).await,
        Command::BenchLstm(args) => bench_lstm::bench_lstm(&args),
        Command::Run(args) => run::run(&args, cli.progress).await,
        Command::Models(command) => models::command(command).await,
        Command::Compare(args) => compare::compare(&args).await,
        Command::Predict(args) => predict::predict(&args, cli.progress).await,
        Command::Report(args) => report::report(&args).await,
        Command::Schedule(args) => schedule::schedule(&args).await,
        Command::Runs(RunsCommand::List {
            experiment,
            format,
            limit,
            filter,
            order_by,
            registry,
        }) => {
            let query = runs::Query {
                experiment: experiment.as_deref(),
                filter: filter.as_deref(),
                order_by: &order_by,
                limit,
            };
            runs::list(&registry.registry, &query, format).await
        }
        Command::Runs(RunsCommand::Show { run, format, registry }) => {
            runs::show(&registry.registry, &run, format).await
        }
        Command::Metrics(args) => metrics::metrics(&args).await,
    }
}

/// `e` with [`redact`](crate::pipeline::location::redact) applied to every message, and to the
/// `--set` texts that pipeline problems are located at.
fn redacted(e: CliError) -> CliError {
    let redact = |text: &str| crate::pipeline::location::redact(text).into_owned();
    match e {
        CliError::Invalid(mut diags) => {
            for d in &mut diags.items {
                d.message = redact(&d.message);
            }
            for o in &mut diags.overrides {
                *o = redact(o);
            }
            CliError::Invalid(diags)
        }
        CliError::Usage(m) => CliError::Usage(redact(&m)),
        CliError::RunFailed(m) => CliError::RunFailed(redact(&m)),
        CliError::Regression(m) => CliError::Regression(redact(&m)),
        CliError::Internal(m) => CliError::Internal(redact(&m)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::node::Pos;
    use crate::pipeline::Diagnostics;

    #[test]
    fn errors_reach_the_terminal_with_passwords_redacted() {
        let mut diags = Diagnostics::new("p.yaml", vec!["storage.artifacts=s3://a:SECRETPW@b/x".into()]);
        diags.push(Pos::override_n(1), "see s3://a:SECRETPW@b/x");
        let shown = redacted(CliError::Invalid(diags)).to_string();
        assert_eq!(shown, "--set storage.artifacts=s3://a:***@b/x: see s3://a:***@b/x\n");
        let shown = redacted(CliError::RunFailed("cannot read sqlite://u:SECRETPW@h/r.db".into()));
        assert_eq!(shown.to_string(), "cannot read sqlite://u:***@h/r.db");
    }
}
