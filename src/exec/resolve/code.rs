//! The code of a model's user transforms (`command` steps that prepare its data), checked
//! against the digests its training run recorded: new data prepared by edited code would not be
//! prepared as the model's training data was, so scoring with it is refused, not left to drift.

use std::path::Path;

use crate::exec::cache::local_sha256;
use crate::registry::{files_read, Registry, RunDetail, INPUT_TAG};
use crate::steps::context::{LocalOnly, StepError};
use crate::steps::{external_inputs, preparer, Preparer, StepParams};

/// Fails when a code file of a transform in `chain` differs from the one the training run (its
/// record `run`) read; a file the run did not record (a pattern that matches more now) is left
/// to the transform's own checks.
pub async fn unchanged(
    chain: &[(String, StepParams)],
    run: &RunDetail,
    root: &Path,
    registry: &Registry,
    shown: &str,
) -> Result<(), StepError> {
    for (id, params) in chain {
        if !matches!(preparer(params), Some(Preparer::Program(_))) {
            continue;
        }
        let recorded = run
            .tags
            .get(&format!("{INPUT_TAG}{id}"))
            .and_then(|v| v.as_str())
            .map(files_read)
            .unwrap_or_default();
        for file in external_inputs(params, root, &LocalOnly) {
            let path = Path::new(&file);
            let relative = path.strip_prefix(root).unwrap_or(path);
            // Recorded under the training project's root, which may be another folder.
            let Some((_, then)) = recorded.iter().find(|(f, _)| Path::new(f).ends_with(relative)) else {
                continue;
            };
            let now = local_sha256(path, registry).await.ok();
            if now.as_ref() != Some(then) {
                let restore = match &run.git_commit {
                    Some(commit) => format!("restore it as it was (git checkout {commit} -- {})", relative.display()),
                    None => "restore it as it was".to_string(),
                };
                return Err(StepError::new(format!(
                    "{shown}: the code of its transform `{id}` changed since it was trained ({} differs from what the training run read), so new data would not be prepared as its training data was; {restore}, or train and register a new version",
                    relative.display()
                )));
            }
        }
    }
    Ok(())
}
