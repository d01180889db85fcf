//! The checks that turn what a program wrote into the step's artifacts. Nothing that fails a
//! check is kept.

use std::path::Path;

use super::names::{artifact_name, LOG};
use super::user_model;
use super::workdir::Workdir;
use super::CommandParams;
use crate::frame::{Roles, Table};
use crate::steps::context::{StepContext, StepError, StepOutput};
use crate::steps::ports::OutputKind;

/// Checks every declared output and makes them the step's outputs, with the log; the error
/// lists every output that is missing or wrong.
pub fn collect(p: &CommandParams, ctx: &StepContext, work: &Workdir, log: Vec<u8>) -> Result<StepOutput, StepError> {
    let mut output = StepOutput::default();
    let mut wrong = Vec::new();
    let roles = kept_roles(&work.roles, &p.drops_roles);
    for (name, kind) in &p.outputs {
        let path = work.output(name, *kind);
        let shown = format!("output `{name}` ({})", path.display());
        if !path.exists() {
            wrong.push(format!("{shown} was not written"));
            continue;
        }
        let read = match kind {
            OutputKind::Table => table(&path, &roles).map(|t| output.tables.push((name.clone(), t))),
            OutputKind::Report => report(&path).map(|r| output.reports.push((artifact_name(name, *kind), r))),
            OutputKind::Picture => picture(&path).map(|b| output.files.push((artifact_name(name, *kind), b))),
            OutputKind::File => std::fs::read(&path)
                .map_err(|e| e.to_string())
                .map(|b| output.files.push((name.clone(), b))),
            OutputKind::Model => user_model::bundle(&path, p, ctx, work)
                .map_err(|e| e.0)
                .map(|files| output.files.extend(files)),
            OutputKind::State => std::fs::read(&path)
                .map_err(|e| e.to_string())
                .map(|b| output.files.push((name.clone(), b))),
        };
        if let Err(why) = read {
            wrong.push(format!("{shown} {why}"));
        }
    }
    if !wrong.is_empty() {
        return Err(StepError::new(format!(
            "{} exited 0, but {}; nothing was kept",
            super::program::shown(&p.program),
            wrong.join("; ")
        )));
    }
    output.files.push((LOG.into(), log));
    Ok(output)
}

/// The roles a table output keeps: the inputs' roles but those the step says it drops.
fn kept_roles(roles: &Roles, dropped: &[String]) -> Roles {
    let keep = |role: &str, column: &Option<String>| column.clone().filter(|_| !dropped.iter().any(|d| d == role));
    Roles {
        entity: keep("entity", &roles.entity),
        timestamp: keep("timestamp", &roles.timestamp),
        label: keep("label", &roles.label),
    }
}

/// A table output: a Parquet file that keeps the role columns.
fn table(path: &Path, roles: &Roles) -> Result<Table, String> {
    let table = Table::read_parquet_file(path, roles.clone()).map_err(|e| {
        format!("is not a Parquet file pmflow can read ({e}); write tables with pandas' `to_parquet` or pyarrow")
    })?;
    let columns = table.frame.get_column_names();
    for (role, column) in [
        ("entity", &roles.entity),
        ("timestamp", &roles.timestamp),
        ("label", &roles.label),
    ] {
        if let Some(column) = column {
            if !columns.iter().any(|c| c.as_str() == column) {
                return Err(format!(
                    "lacks the {role} column `{column}`; keep it, or list `{role}` under `drops-roles` if the step means to drop it"
                ));
            }
        }
    }
    Ok(table)
}

/// A report output: JSON.
fn report(path: &Path) -> Result<serde_json::Value, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| format!("is not JSON ({e})"))
}

/// A picture output: an SVG document.
fn picture(path: &Path) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).to_lowercase();
    match head.contains("<svg") {
        true => Ok(bytes),
        false => Err("is not an SVG picture (no `<svg` element near its start)".into()),
    }
}
