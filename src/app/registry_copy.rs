//! `pmflow registry copy FROM TO`: moves a registry's records into another (a local SQLite
//! file into the team's PostgreSQL), printing each table as it is done.

use crate::error::CliError;
use crate::registry::{copy_registry, Registry, RegistryLocation};

pub async fn copy(from: &str, to: &str) -> Result<(), CliError> {
    let (from_location, to_location) = (
        super::shared::registry_location(from, "FROM")?,
        super::shared::registry_location(to, "TO")?,
    );
    if from_location == to_location {
        return Err(CliError::Usage(format!(
            "FROM and TO are the same registry ({}); nothing to copy",
            from_location.url()
        )));
    }
    if let RegistryLocation::Sqlite(path) = &from_location {
        if !path.exists() {
            return Err(CliError::Usage(format!(
                "FROM: no registry at {}; give the file a run wrote (default: experiments/registry.db)",
                path.display()
            )));
        }
    }
    let source = Registry::open(&from_location).await?;
    let target = Registry::open(&to_location).await?;
    eprintln!("copying {} into {}", source.shown(), target.shown());
    let mut progress = |table: &'static str, rows: u64| eprintln!("  {table}: {rows} row(s)");
    let copied = copy_registry(&source, &target, &mut progress).await;
    source.close().await;
    target.close().await;
    let copied = copied.map_err(|e| match e {
        crate::registry::RegistryError::Refused(m) => CliError::Usage(m),
        other => other.into(),
    })?;
    println!(
        "copied {} run(s), {} metric point(s), {} model version(s) and {} alias decision(s) into {}",
        copied.count("runs"),
        copied.count("metrics") + copied.count("superseded_metrics"),
        copied.count("model_versions"),
        copied.count("model_alias_history"),
        to_location.url()
    );
    Ok(())
}
