//! An earlier run's table a step names (`drift`'s `reference: {run: RUN}` or `{model:
//! NAME@ALIAS}`), found through the registry and checked against the digest recorded when it
//! was written. A table changed or deleted since is an error that says so: comparing with
//! something other than what that run produced would be a silent lie.

use super::{digest_of, Digest};
use crate::artifacts::ArtifactStore;
use crate::frame::{OutputFormat, OutputRef};
use crate::registry::Registry;
use crate::steps::context::StepError;
use crate::steps::{RunTable, TableSource};

/// The table `wanted` names, digest-checked.
pub async fn resolve(wanted: &RunTable, registry: &Registry, store: &ArtifactStore) -> Result<OutputRef, StepError> {
    let (run, part, what) = match &wanted.source {
        TableSource::Run(spec) => {
            let run = registry
                .resolve_run(spec)
                .await
                .map_err(|e| StepError::new(format!("`with.reference.run`: {e}")))?;
            let what = format!("run {run}");
            (run, wanted.part.clone().unwrap_or_else(|| "train".into()), what)
        }
        TableSource::Model(spec) => {
            let fail = |e: crate::registry::RegistryError| StepError::new(format!("`with.reference.model`: {e}"));
            let v = registry.model_version_of(spec).await.map_err(fail)?;
            let what = format!("`{}` v{} (run {})", v.name, v.version, v.run_id);
            match (&wanted.part, &v.data_uri, &v.data_sha256) {
                (Some(part), _, _) => (v.run_id, part.clone(), what),
                (None, Some(uri), Some(sha256)) => {
                    let table = recorded_table(registry, &v.run_id, uri, sha256).await?;
                    return checked(table, &what, store, registry).await;
                }
                _ => {
                    return Err(StepError::new(format!(
                        "`with.reference`: {what} recorded no training table; name one with `part: STEP/train`"
                    )))
                }
            }
        }
    };
    let (step_wanted, name) = match part.split_once('/') {
        Some((step, name)) => (Some(step.to_string()), name.to_string()),
        None => (None, part.clone()),
    };
    let (_, status, outputs) = registry
        .succeeded_outputs(&run)
        .await
        .map_err(|e| StepError::new(format!("`with.reference`: {e}")))?;
    let mut found: Vec<(String, OutputRef)> = outputs
        .into_iter()
        .filter(|(step, _)| step_wanted.as_deref().is_none_or(|w| w == step))
        .flat_map(|(step, tables)| tables.into_iter().map(move |t| (step.clone(), t)))
        .filter(|(_, t)| t.format == OutputFormat::Table && t.name == name)
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let (step, table) = match found.len() {
        1 => found.remove(0),
        0 => {
            return Err(StepError::new(format!(
                "`with.reference`: {what} ({status}) has no table `{part}` among the outputs of its succeeded steps"
            )))
        }
        _ => {
            let steps: Vec<&str> = found.iter().map(|(s, _)| s.as_str()).collect();
            return Err(StepError::new(format!(
                "`with.reference`: {what} has a table `{name}` in several steps ({}); name one as `part: STEP/{name}`",
                steps.join(", ")
            )));
        }
    };
    checked(
        table,
        &format!("the `{part}` table of {what} (step `{step}`)"),
        store,
        registry,
    )
    .await
}

/// The output of `run` stored at `uri` with digest `sha256`, as that run recorded it.
async fn recorded_table(registry: &Registry, run: &str, uri: &str, sha256: &str) -> Result<OutputRef, StepError> {
    let (_, _, outputs) = registry
        .succeeded_outputs(run)
        .await
        .map_err(|e| StepError::new(format!("`with.reference`: {e}")))?;
    outputs
        .into_values()
        .flatten()
        .find(|t| t.uri == uri && t.sha256 == sha256)
        .ok_or_else(|| {
            StepError::new(format!(
                "`with.reference`: the training table {uri} is no longer among run {run}'s recorded outputs"
            ))
        })
}

/// `table` when its file still has the digest recorded for it.
async fn checked(
    table: OutputRef,
    what: &str,
    store: &ArtifactStore,
    registry: &Registry,
) -> Result<OutputRef, StepError> {
    match digest_of(&table, store, registry).await {
        Digest::AsRecorded => Ok(table),
        Digest::Changed => Err(StepError::new(format!(
            "`with.reference`: {what} ({}) changed since that run recorded it; it no longer is the data that run used",
            table.uri
        ))),
        Digest::Unreadable(e) => Err(StepError::new(format!("`with.reference`: {what} cannot be read: {e}"))),
    }
}
