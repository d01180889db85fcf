//! The commands behind the CLI: each takes parsed arguments and returns a [`CliError`] on failure.

mod bench_lstm;
mod bench_registry;
mod gen_data;
mod info;
pub mod memory;
mod run;
mod runs;
mod validate;

use crate::cli::{Cli, Command, RunsCommand};
use crate::error::CliError;

/// Runs one command to completion.
pub async fn main(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Validate(args) => validate::validate(&args),
        Command::Info => info::info(),
        Command::GenData(args) => gen_data::gen_data(&args, cli.progress.into()),
        Command::BenchRegistry { points, file } => bench_registry::bench_registry(points, &file).await,
        Command::BenchLstm(args) => bench_lstm::bench_lstm(&args),
        Command::Run(args) => run::run(&args, cli.progress.into()).await,
        Command::Runs(RunsCommand::List {
            experiment,
            format,
            limit,
            registry,
        }) => runs::list(&registry.registry, experiment.as_deref(), format, limit).await,
        Command::Runs(RunsCommand::Show { run, format, registry }) => {
            runs::show(&registry.registry, &run, format).await
        }
    }
}
