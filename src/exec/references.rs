//! Tables of earlier runs that a step names (`drift`'s `reference: {run: RUN}`), found through
//! the registry and checked against the digest recorded when they were written, before the
//! step sees them. A table changed or deleted since is an error that says so: comparing with
//! something other than what that run produced would be a silent lie.

use super::cache::stored_sha256;
use crate::artifacts::ArtifactStore;
use crate::frame::{OutputFormat, OutputRef};
use crate::registry::Registry;
use crate::steps::context::StepError;
use crate::steps::RunTable;

pub async fn resolve(wanted: &RunTable, registry: &Registry, store: &ArtifactStore) -> Result<OutputRef, StepError> {
    let run = registry
        .resolve_run(&wanted.run)
        .await
        .map_err(|e| StepError::new(format!("`with.reference.run`: {e}")))?;
    let (_, status, outputs) = registry
        .resumable(&run)
        .await
        .map_err(|e| StepError::new(format!("`with.reference.run`: {e}")))?;
    let mut found: Vec<(String, OutputRef)> = outputs
        .into_iter()
        .flat_map(|(step, tables)| tables.into_iter().map(move |t| (step.clone(), t)))
        .filter(|(_, t)| t.format == OutputFormat::Table && t.name == wanted.part)
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let (step, table) = match found.len() {
        1 => found.remove(0),
        0 => {
            return Err(StepError::new(format!(
                "`with.reference`: run {run} ({status}) has no table `{}` among the outputs of its succeeded steps",
                wanted.part
            )))
        }
        _ => {
            let steps: Vec<&str> = found.iter().map(|(s, _)| s.as_str()).collect();
            return Err(StepError::new(format!(
                "`with.reference`: run {run} has a table `{}` in several steps ({}); name one as `part: STEP/{}`",
                wanted.part,
                steps.join(", "),
                wanted.part
            )));
        }
    };
    match stored_sha256(&table.uri, store, registry).await {
        Ok(sha256) if sha256 == table.sha256 => Ok(table),
        Ok(_) => Err(StepError::new(format!(
            "`with.reference`: the `{}` table of run {run} (step `{step}`, {}) changed since that run recorded it; it no longer is the data that run used",
            wanted.part, table.uri
        ))),
        Err(e) => Err(StepError::new(format!(
            "`with.reference`: the `{}` table of run {run} (step `{step}`) cannot be read: {e}",
            wanted.part
        ))),
    }
}
