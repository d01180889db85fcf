//! What a `command` step's outputs are called: the names a pipeline may give them, the name
//! each is stored under and the path in the working folder the program writes it to.

use crate::model::bundle;
use crate::model::formats::{FEATURE_MANIFEST, OUTLIER_FENCES, SCALER};
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
