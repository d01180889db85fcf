//! A program's declared outputs: where each goes, what names are allowed, and the checks that
//! turn what the program wrote into the step's artifacts. Nothing that fails a check is kept.

use std::path::Path;

use super::user_model;
use super::workdir::Workdir;
use super::CommandParams;
use crate::frame::{Roles, Table};
use crate::model::bundle;
use crate::model::formats::{FEATURE_MANIFEST, OUTLIER_FENCES, SCALER};
use crate::steps::context::{StepContext, StepError, StepOutput};
use crate::steps::ports::OutputKind;

/// The program's stdout and stderr, kept as a step artifact.
pub const LOG: &str = "log.txt";

/// Names pmflow gives its own files: an output may not take one, or later steps would read it
/// as pmflow's (a `scaler.json` as the split's scaler).
pub const RESERVED: [&str; 9] = [
    LOG,
    bundle::CARD,
    bundle::WEIGHTS,
    crate::model::user::FILES,
    bundle::TRAINING_LOAD_REPORT,
    SCALER,
    OUTLIER_FENCES,
    FEATURE_MANIFEST,
    "pipeline.json",
];

/// Why `name` cannot name an output of `kind`.
pub fn check_name(name: &str, kind: OutputKind) -> Result<(), String> {
    let safe = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !safe {
        return Err(format!(
            "`{name}` is not an output name (letters, digits, `.`, `_`, `-`; not starting with `.`)"
        ));
    }
    if RESERVED.contains(&artifact_name(name, kind).as_str()) {
        return Err(format!(
            "`{name}` is the name of a file pmflow writes itself; choose another"
        ));
    }
    Ok(())
}

/// The name the output is stored and declared under: a table by its name (stored as
/// `NAME.parquet`), a picture as `NAME.svg`, a report by its name (stored as `NAME.json`), a
/// file as named.
pub fn artifact_name(name: &str, kind: OutputKind) -> String {
    match kind {
        OutputKind::Picture if !name.ends_with(".svg") => format!("{name}.svg"),
        OutputKind::Report => name.strip_suffix(".json").unwrap_or(name).to_string(),
        _ => name.to_string(),
    }
}

/// Where, in the working folder's `out/`, the program writes the output.
pub fn output_path(name: &str, kind: OutputKind) -> String {
    match kind {
        OutputKind::Table => format!("{name}.parquet"),
        OutputKind::Report => format!("{}.json", artifact_name(name, kind)),
        _ => artifact_name(name, kind),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_named_by_kind_and_may_not_take_pmflow_s_names() {
        assert_eq!(output_path("frame", OutputKind::Table), "frame.parquet");
        assert_eq!(output_path("spectrum", OutputKind::Picture), "spectrum.svg");
        assert_eq!(output_path("notes.txt", OutputKind::File), "notes.txt");
        assert_eq!(output_path("summary", OutputKind::Report), "summary.json");
        assert_eq!(artifact_name("summary.json", OutputKind::Report), "summary");
        assert!(check_name("scaler.json", OutputKind::File)
            .unwrap_err()
            .contains("pmflow writes itself"));
        assert!(check_name("log.txt", OutputKind::File).is_err());
        assert!(check_name("../x", OutputKind::File)
            .unwrap_err()
            .contains("not an output name"));
        assert!(check_name(".hidden", OutputKind::File).is_err());
        assert!(check_name("work_orders.csv", OutputKind::File).is_ok());
    }
}
