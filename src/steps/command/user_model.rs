//! A `model` output made into a model bundle: the user's folder packed, with a model card that
//! pmflow fills from the run (roles, the scaler and feature recipe fitted upstream, the training
//! data's digests) and from `model.json` (the score command, features, window). Without a
//! threshold in `model.json`, the one with the best F1 on the `val` part is chosen here, by
//! scoring that part through the user's own command, as `evaluate` will.

use std::path::Path;

use super::workdir::Workdir;
use super::CommandParams;
use crate::frame::{numeric_features, Table};
use crate::ml::metrics::OperatingPoints;
use crate::model::card::ModelCard;
use crate::model::formats::{Scaler, FEATURE_MANIFEST};
use crate::model::scorer::Scorer;
use crate::model::user::{self, CommandScorer, Spec};
use crate::model::windows as sequences;
use crate::model::ModelBundle;
use crate::steps::context::{StepContext, StepError};

/// The threshold used when neither `model.json` nor a `val` part gives one.
const FALLBACK_THRESHOLD: f64 = 0.5;

/// The bundle's files (the packed folder and the card) for the model folder at `folder`.
pub fn bundle(
    folder: &Path,
    p: &CommandParams,
    ctx: &StepContext,
    work: &Workdir,
) -> Result<Vec<(String, Vec<u8>)>, StepError> {
    let spec = Spec::read(folder)?;
    let roles = &work.roles;
    let label = roles.label.clone().ok_or_else(|| {
        StepError::new("a `model` output needs a label column among the inputs' roles (declare `label` in `load` or make one in `feature`)")
    })?;
    let training = work
        .inputs
        .iter()
        .find(|i| i.name == "train" || i.name.ends_with("/train"))
        .or(work.inputs.first());
    let features = match &spec.features {
        Some(features) => features.clone(),
        None => {
            let input = training.ok_or_else(|| {
                StepError::new("`model.json` names no `features` and the step reads no table to take them from")
            })?;
            let table = Table::read_parquet_file(&input.path, input.roles.clone())?;
            numeric_features(&table.frame, &table.roles)
        }
    };
    let payload = user::pack(folder)?;
    let mut card = ModelCard {
        format: user::FORMAT.into(),
        architecture: None,
        score: Some(spec.score.clone()),
        window: spec.window.unwrap_or(1),
        features,
        label,
        entity: roles.entity.clone(),
        timestamp: roles.timestamp.clone(),
        threshold: spec.threshold.unwrap_or(FALLBACK_THRESHOLD),
        threshold_rule: "model.json".into(),
        feature_manifest: ctx.file(FEATURE_MANIFEST).and_then(|b| serde_json::from_slice(b).ok()),
        scaler: ctx.state::<Scaler>().and_then(Result::ok),
        training_data: ctx.digests.clone(),
        seed: p.seed,
        pmflow_version: env!("CARGO_PKG_VERSION").into(),
        training: None,
        baseline: None,
    };
    if spec.threshold.is_none() {
        let (threshold, rule) = threshold_on_val(&card, &payload, work, ctx)?;
        card.threshold = threshold;
        card.threshold_rule = rule;
        ctx.metric("threshold", threshold);
    }
    Ok(ModelBundle { card, payload }.files()?)
}

/// The max-F1 threshold of the model's scores on the `val` input, and how it was chosen; the
/// fallback, with a warning, when the step reads no `val` part.
fn threshold_on_val(
    card: &ModelCard,
    payload: &[u8],
    work: &Workdir,
    ctx: &StepContext,
) -> Result<(f64, String), StepError> {
    let Some(val) = work.inputs.iter().find(|i| i.name == "val" || i.name.ends_with("/val")) else {
        ctx.warn(format!(
            "`model.json` gives no `threshold` and the step reads no `val` part to choose one on: alarming at {FALLBACK_THRESHOLD}; add `val` to `inputs`, or set `threshold`"
        ));
        return Ok((FALLBACK_THRESHOLD, "fixed 0.5".into()));
    };
    let table = Table::read_parquet_file(&val.path, val.roles.clone())?;
    let windows = sequences::build(&table, "val", &card.features, card.window, tch::Device::Cpu)?;
    let scorer = CommandScorer::unpack(card.clone(), payload)?;
    let scores = scorer.score(&windows.set, 0)?;
    let labels: Vec<bool> = windows.set.labels.iter().map(|y| *y == 1.0).collect();
    let points = OperatingPoints::new(&labels, &scores);
    if let Some(pr_auc) = points.average_precision() {
        ctx.metric("val_pr_auc", pr_auc);
    }
    match points.max_f1_threshold() {
        Some((threshold, f1)) if labels.iter().any(|l| *l) => {
            ctx.metric("val_f1", f1);
            Ok((threshold, "max-f1".into()))
        }
        _ => {
            ctx.warn(format!(
                "the val part has no failure to choose a threshold on: alarming at {FALLBACK_THRESHOLD}"
            ));
            Ok((FALLBACK_THRESHOLD, "fixed 0.5".into()))
        }
    }
}
