//! The model a step or `pmflow predict` names (`NAME@ALIAS`, `NAME@vN`, `NAME`, or a run id),
//! found through the registry, its files checked against the digests recorded when they were
//! written, and the training run's own preparation chain: everything scoring needs, settled
//! before any data is read.

use std::path::Path;

use super::{digest_of, Digest};
use crate::artifacts::store_for_url;
use crate::frame::{OutputFormat, OutputRef, Roles};
use crate::model::bundle::{self, TRAINING_LOAD_REPORT};
use crate::model::formats::FEATURE_MANIFEST;
use crate::pipeline::graph;
use crate::registry::{Registry, RunDetail};
use crate::steps::context::StepError;
use crate::steps::ports::MODEL_INPUT;
use crate::steps::{ports, preparer, Preparer, StepParams};

/// A model ready to be handed to a step.
pub struct ModelSource {
    /// How messages name it: "`pump-failure` v3 (run 01ab...)" or "run 01ab...".
    pub shown: String,
    pub run_id: String,
    /// (name, version) when it came from the model registry.
    pub version: Option<(String, i64)>,
    /// The card, the weights, the outlier fences its `clean` steps fitted and (when found) the
    /// training run's load report, as file outputs with the input name each is handed over
    /// under (`@model`, or `@model/STEP` for a step's fitted state).
    pub files: Vec<(String, OutputRef)>,
    /// The training step's ancestors in execution order, with their settings.
    pub chain: Vec<(String, StepParams)>,
}

pub async fn model(spec: &str, root: &Path, registry: &Registry) -> Result<ModelSource, StepError> {
    let fail = |e: crate::registry::RegistryError| StepError::new(format!("model `{spec}`: {e}"));
    let is_model = spec.contains('@')
        || registry
            .list_models()
            .await
            .map_err(fail)?
            .iter()
            .any(|m| m.name == spec);
    let (run_id, version, wanted) = if is_model {
        let v = registry.model_version_of(spec).await.map_err(fail)?;
        let (Some(card_uri), Some(card_sha)) = (v.card_uri.clone(), v.card_sha256.clone()) else {
            return Err(StepError::new(format!(
                "`{}` v{} recorded no model card; register it again from its run",
                v.name, v.version
            )));
        };
        let weights = (v.model_uri.clone(), v.model_sha256.clone().unwrap_or_default());
        (
            v.run_id.clone(),
            Some((v.name.clone(), v.version)),
            Some(((card_uri, card_sha), weights)),
        )
    } else {
        (registry.resolve_run(spec).await.map_err(fail)?, None, None)
    };
    let shown = match &version {
        Some((name, v)) => format!("`{name}` v{v} (run {run_id})"),
        None => format!("run {run_id}"),
    };
    let (_, status, outputs) = registry.succeeded_outputs(&run_id).await.map_err(fail)?;
    let (step, card_ref, weights_ref) = trained_files(&outputs, wanted.as_ref(), &shown, &status)?;
    if let Some(((_, card_sha), (_, weights_sha))) = &wanted {
        if &card_ref.sha256 != card_sha || (!weights_sha.is_empty() && &weights_ref.sha256 != weights_sha) {
            return Err(StepError::new(format!(
                "{shown}: the files the registry recorded for the version differ from those its run recorded"
            )));
        }
    }
    for file in [&card_ref, &weights_ref] {
        checked(file, &shown, registry).await?;
    }

    let text = registry.pipeline_text(&run_id).await.map_err(fail)?;
    let chain = training_chain(&text, &step, &shown, root)?;
    let detail = registry.show_run(&run_id).await.map_err(fail)?;
    super::code::unchanged(&chain, &detail, root, registry, &shown).await?;

    let mut files = vec![
        (MODEL_INPUT.to_string(), card_ref),
        (MODEL_INPUT.to_string(), weights_ref),
    ];
    // The state the chain's data steps fitted (a `clean`'s fences, a user transform's own),
    // which new data is prepared with; the feature recipe travels in the card.
    for (id, params) in chain.iter().filter(|(_, p)| preparer(p).is_some()) {
        let ports = ports(params);
        let fitted =
            outputs.get(id).into_iter().flatten().filter(|r| {
                r.format == OutputFormat::File && r.name != FEATURE_MANIFEST && ports.writes_state(&r.name)
            });
        for state in fitted {
            checked(state, &shown, registry).await?;
            files.push((format!("{MODEL_INPUT}/{id}"), state.clone()));
        }
    }
    if let Some(report) = load_report(&detail, &chain) {
        files.push((MODEL_INPUT.to_string(), report));
    }
    Ok(ModelSource {
        shown,
        run_id,
        version,
        files,
        chain,
    })
}

/// The registered version's files (card, weights) as `(card, weights)` URIs with digests.
type Wanted = ((String, String), (String, String));

/// The step whose files a model is, with its card and weights: the registered URIs, or a run's
/// one trained model.
fn trained_files(
    outputs: &std::collections::HashMap<String, Vec<OutputRef>>,
    wanted: Option<&Wanted>,
    shown: &str,
    status: &str,
) -> Result<(String, OutputRef, OutputRef), StepError> {
    let mut trained: Vec<(String, OutputRef, OutputRef)> = outputs
        .iter()
        .filter_map(|(step, refs)| {
            let file = |name: &str| {
                refs.iter()
                    .find(|r| r.format == OutputFormat::File && r.name == name)
                    .cloned()
            };
            let payload = bundle::PAYLOADS.iter().find_map(|name| file(name))?;
            Some((step.clone(), file(bundle::CARD)?, payload))
        })
        .collect();
    if let Some(((card_uri, _), (weights_uri, _))) = wanted {
        trained.retain(|(_, c, w)| &c.uri == card_uri && &w.uri == weights_uri);
    }
    trained.sort_by(|a, b| a.0.cmp(&b.0));
    match trained.len() {
        1 => Ok(trained.remove(0)),
        0 if wanted.is_some() => Err(StepError::new(format!(
            "{shown}: its files are no longer among that run's recorded outputs"
        ))),
        0 => Err(StepError::new(format!(
            "{shown} ({status}) has no trained model: no succeeded step wrote {} and {} (or {})",
            bundle::CARD,
            bundle::WEIGHTS,
            bundle::PAYLOADS[1]
        ))),
        _ => {
            let steps: Vec<&str> = trained.iter().map(|(s, _, _)| s.as_str()).collect();
            Err(StepError::new(format!(
                "{shown} trained several models ({}); register the one you mean with a `register` step and name it `NAME@vN`",
                steps.join(", ")
            )))
        }
    }
}

/// The training step's ancestors in execution order, with their settings, from the pipeline
/// text its run recorded.
fn training_chain(text: &str, step: &str, shown: &str, root: &Path) -> Result<Vec<(String, StepParams)>, StepError> {
    let pipeline = crate::steps::pipeline_from_text(text, &format!("the pipeline of {shown}"), root).map_err(|d| {
        StepError::new(format!(
            "{shown}: this pmflow cannot read the pipeline that trained it: {}",
            d.to_string().trim()
        ))
    })?;
    let steps = &pipeline.steps;
    let index_of = steps.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
    let at = steps
        .iter()
        .position(|s| s.id == step)
        .ok_or_else(|| StepError::new(format!("{shown}: its pipeline has no step `{step}`")))?;
    let ancestors: Vec<usize> = graph::ancestors(steps, &index_of, at)
        .into_iter()
        .map(|(_, j)| j)
        .collect();
    Ok(graph::order(steps)
        .into_iter()
        .filter(|j| ancestors.contains(j))
        .map(|j| (steps[j].id.clone(), steps[j].params.clone()))
        .collect())
}

/// The training run's `load_report.json` (the columns and types its data had), as a file input
/// named [`TRAINING_LOAD_REPORT`], from the run's record; None when it is not recorded.
fn load_report(run: &RunDetail, chain: &[(String, StepParams)]) -> Option<OutputRef> {
    // The step that read the data from outside the run (its `load`), as `prepare` replays it.
    let load = chain
        .iter()
        .find(|(_, p)| matches!(preparer(p), Some(Preparer::Source(_))))?
        .0
        .clone();
    let a = run
        .artifacts
        .iter()
        .find(|a| a.step == load && a.name == "load_report.json" && a.removed_at.is_none())?;
    Some(OutputRef {
        name: TRAINING_LOAD_REPORT.into(),
        uri: a.uri.clone(),
        sha256: a.sha256.clone(),
        roles: Roles::default(),
        format: OutputFormat::File,
    })
}

/// Fails unless `file` still has the digest recorded for it (read from wherever it lives: the
/// model may come from another artifact store than the pipeline's).
async fn checked(file: &OutputRef, shown: &str, registry: &Registry) -> Result<(), StepError> {
    let store = store_for_url(&file.uri).map_err(|e| StepError::new(format!("{shown}: {e}")))?;
    match digest_of(file, &store, registry).await {
        Digest::AsRecorded => Ok(()),
        Digest::Changed => Err(StepError::new(format!(
            "{shown}: {} ({}) changed since it was recorded (sha256 differs); it is not the model that was trained and registered",
            file.name, file.uri
        ))),
        Digest::Unreadable(e) => Err(StepError::new(format!("{shown}: {} cannot be read: {e}", file.name))),
    }
}
