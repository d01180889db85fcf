//! Built-in step kinds: a closed enum, one file per kind, one dispatch for parsing and running.

pub mod clean;
pub mod evaluate;
mod event_log;
pub mod feature;
mod feature_label;
mod feature_row;
mod feature_spec;
mod leakage;
pub mod load;
mod load_csv;
mod load_text;
mod model_card;
mod order;
#[cfg(test)]
mod parity;
mod resample;
mod sequences;
pub mod smote;
mod sources;
pub mod split;
mod timestamps;
pub mod train_lstm;

pub use feature_spec::parse_duration as duration_ms;

use crate::exec::context::{StepContext, StepError, StepOutput};
use crate::pipeline::fields::Fields;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    Load,
    Clean,
    Feature,
    Split,
    Smote,
    TrainLstm,
    Evaluate,
}

const ALL: &[(StepKind, &str)] = &[
    (StepKind::Load, "load"),
    (StepKind::Clean, "clean"),
    (StepKind::Feature, "feature"),
    (StepKind::Split, "split"),
    (StepKind::Smote, "smote"),
    (StepKind::TrainLstm, "train-lstm"),
    (StepKind::Evaluate, "evaluate"),
];

impl StepKind {
    pub fn names() -> Vec<&'static str> {
        ALL.iter().map(|(_, n)| *n).collect()
    }

    pub fn from_name(name: &str) -> Option<StepKind> {
        ALL.iter().find(|(_, n)| *n == name).map(|(k, _)| *k)
    }

    pub fn name(self) -> &'static str {
        ALL.iter().find(|(k, _)| *k == self).map(|(_, n)| *n).unwrap_or("?")
    }
}

/// A step's validated `with:` parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum StepParams {
    Load(load::LoadParams),
    Clean(clean::CleanParams),
    Feature(feature::FeatureParams),
    Split(split::SplitParams),
    Smote(smote::SmoteParams),
    TrainLstm(train_lstm::TrainLstmParams),
    Evaluate(evaluate::EvaluateParams),
}

/// Reads the `with:` mapping of a step of `kind`; None after reporting problems.
pub fn parse_params(kind: StepKind, with: &mut Fields) -> Option<StepParams> {
    match kind {
        StepKind::Load => load::parse(with).map(StepParams::Load),
        StepKind::Clean => clean::parse(with).map(StepParams::Clean),
        StepKind::Feature => feature::parse(with).map(StepParams::Feature),
        StepKind::Split => split::parse(with).map(StepParams::Split),
        StepKind::Smote => smote::parse(with).map(StepParams::Smote),
        StepKind::TrainLstm => train_lstm::parse(with).map(StepParams::TrainLstm),
        StepKind::Evaluate => evaluate::parse(with).map(StepParams::Evaluate),
    }
}

/// The path (or pattern, or `s3://` URL) a step reads from outside the run, with the `with`
/// key that names it: `load`'s data and `feature`'s failure log.
fn input_path(params: &StepParams) -> Option<(&'static str, &str)> {
    match params {
        StepParams::Load(p) => Some(("with.path", &p.path)),
        StepParams::Feature(feature::FeatureParams {
            label: Some(feature_spec::LabelSpec::Log { log, .. }),
            ..
        }) => Some(("with.label.from-log", &log.path)),
        _ => None,
    }
}

/// Files (paths, or `s3://` URLs) outside the run's artifacts that a step reads; their content
/// is part of its cache key.
pub fn external_inputs(params: &StepParams, root: &std::path::Path) -> Vec<String> {
    // Every file a pattern matches now: a file added, removed or changed is a new input.
    // A pattern that cannot be listed gives no key part here; the step itself reports it.
    input_path(params)
        .map(|(_, path)| sources::expand(path, root).unwrap_or_default())
        .unwrap_or_default()
}

/// Why the local files a step reads cannot be read now, for `pmflow validate`: a missing file
/// or a pattern that matches nothing. S3 inputs are left to the run (they need credentials).
pub fn input_problems(params: &StepParams, root: &std::path::Path) -> Vec<String> {
    let Some((key, path)) = input_path(params) else {
        return Vec::new();
    };
    if path.starts_with("s3://") {
        return Vec::new();
    }
    match sources::expand(path, root) {
        Err(e) => vec![e.0],
        Ok(files) => files
            .iter()
            .filter(|f| !std::path::Path::new(f).is_file())
            .map(|f| format!("`{key}`: no file {f} (relative paths start at the project root)"))
            .collect(),
    }
}

/// Runs one step to completion on the calling thread.
pub fn run(params: &StepParams, ctx: &mut StepContext) -> Result<StepOutput, StepError> {
    match params {
        StepParams::Load(p) => load::run(p, ctx),
        StepParams::Clean(p) => clean::run(p, ctx),
        StepParams::Feature(p) => feature::run(p, ctx),
        StepParams::Split(p) => split::run(p, ctx),
        StepParams::Smote(p) => smote::run(p, ctx),
        StepParams::TrainLstm(p) => train_lstm::run(p, ctx),
        StepParams::Evaluate(p) => evaluate::run(p, ctx),
    }
}
