//! The step API (the closed `StepKind` enum, `StepParams`, one dispatch for parsing and running,
//! `StepContext`) and the built-in kinds: one file per kind, or one folder for a kind that needs
//! several. Steps never import the runner, the registry or the artifact stores.

pub mod clean;
pub mod context;
pub mod drift;
#[cfg(test)]
mod drift_cmapss;
pub mod evaluate;
pub mod feature;
#[cfg(test)]
mod format_tests;
pub mod load;
mod model_io;
#[cfg(test)]
mod parity;
pub mod predict;
mod prepare;
pub mod register;
pub use prepare::prepare;
pub mod smote;
mod sources;
mod spans;
pub mod split;
mod timestamps;
pub mod train_lstm;

use crate::pipeline::fields::Fields;
use crate::pipeline::StepCatalog;
use context::{RemoteFiles, StepContext, StepError, StepOutput};

/// The built-in step kinds, as the pipeline format sees them.
#[derive(Debug, Clone, Copy)]
pub struct Builtin;

/// A checked pipeline of built-in steps.
pub type Pipeline = crate::pipeline::Pipeline<Builtin>;
/// One checked step of a [`Pipeline`].
pub type Step = crate::pipeline::Step<Builtin>;

/// Reads, overrides, resolves and validates a pipeline file of built-in steps.
pub fn load_pipeline(
    file: &std::path::Path,
    overrides: &[String],
    root: Option<&std::path::Path>,
) -> Result<Pipeline, crate::pipeline::Diagnostics> {
    crate::pipeline::load::<Builtin>(file, overrides, root)
}

/// Validates a pipeline recorded as text (a run's resolved `pipeline.json`), shown as `shown`
/// in messages, with relative paths under `root`.
pub fn pipeline_from_text(
    text: &str,
    shown: &str,
    root: &std::path::Path,
) -> Result<Pipeline, crate::pipeline::Diagnostics> {
    let diags = crate::pipeline::Diagnostics::new(shown.to_string(), Vec::new());
    crate::pipeline::from_str::<Builtin>(text, std::path::Path::new(shown), root, diags)
}

impl StepCatalog for Builtin {
    type Kind = StepKind;
    type Params = StepParams;

    fn kind_names() -> Vec<&'static str> {
        StepKind::names()
    }

    fn kind(name: &str) -> Option<StepKind> {
        StepKind::from_name(name)
    }

    fn parse(kind: StepKind, with: &mut Fields) -> Option<StepParams> {
        parse_params(kind, with)
    }

    fn needs_upstream(params: &StepParams) -> Option<(Vec<StepKind>, &'static str)> {
        match params {
            StepParams::Predict(p) if p.model.is_none() => Some((vec![StepKind::TrainLstm], predict::NO_MODEL)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    Load,
    Clean,
    Feature,
    Split,
    Smote,
    TrainLstm,
    Evaluate,
    Drift,
    Register,
    Predict,
}

const ALL: &[(StepKind, &str)] = &[
    (StepKind::Load, "load"),
    (StepKind::Clean, "clean"),
    (StepKind::Feature, "feature"),
    (StepKind::Split, "split"),
    (StepKind::Smote, "smote"),
    (StepKind::TrainLstm, "train-lstm"),
    (StepKind::Evaluate, "evaluate"),
    (StepKind::Drift, "drift"),
    (StepKind::Register, "register"),
    (StepKind::Predict, "predict"),
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
    Drift(drift::DriftParams),
    Register(register::RegisterParams),
    Predict(predict::PredictParams),
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
        StepKind::Drift => drift::parse(with).map(StepParams::Drift),
        StepKind::Register => register::parse(with).map(StepParams::Register),
        StepKind::Predict => predict::parse(with).map(StepParams::Predict),
    }
}

/// The path (or pattern, or `s3://` URL) a step reads from outside the run, with the `with`
/// key that names it: `load`'s data and `feature`'s failure log.
fn input_path(params: &StepParams) -> Option<(&'static str, &str)> {
    match params {
        StepParams::Load(p) => Some(("with.path", &p.path)),
        StepParams::Feature(feature::FeatureParams {
            label: Some(feature::LabelSpec::Log { log, .. }),
            ..
        }) => Some(("with.label.from-log", &log.path)),
        StepParams::Drift(drift::DriftParams {
            current_path: Some(path),
            ..
        }) => Some(("with.current.path", path)),
        StepParams::Predict(p) => Some(("with.path", &p.path)),
        _ => None,
    }
}

/// Files (paths, or `s3://` URLs) outside the run's artifacts that a step reads; their content
/// is part of its cache key.
pub fn external_inputs(params: &StepParams, root: &std::path::Path, remote: &dyn RemoteFiles) -> Vec<String> {
    // Every file a pattern matches now: a file added, removed or changed is a new input.
    // A pattern that cannot be listed gives no key part here; the step itself reports it.
    input_path(params)
        .map(|(_, path)| sources::expand(path, root, remote).unwrap_or_default())
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
    match sources::expand(path, root, &context::LocalOnly) {
        Err(e) => vec![e.0],
        Ok(files) => files
            .iter()
            .filter(|f| !std::path::Path::new(f).is_file())
            .map(|f| format!("`{key}`: no file {f} (relative paths start at the project root)"))
            .collect(),
    }
}

/// A table of an earlier run that a step reads (`drift`'s `reference: {run: RUN}`): the runner
/// finds it in the registry, checks its digest, and adds it to the step's inputs as
/// `input/part`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunTable {
    pub source: TableSource,
    /// The table's name among that run's step outputs: `train`, or `split/train`; None: the
    /// table a model version recorded as its training data.
    pub part: Option<String>,
    /// The input step name the table is handed over under.
    pub input: &'static str,
}

/// Whose table a step reads.
#[derive(Debug, Clone, PartialEq)]
pub enum TableSource {
    /// A run id, a unique prefix of one, or `latest`.
    Run(String),
    /// `NAME@ALIAS`, `NAME@vN` or `NAME`: a registered model version.
    Model(String),
}

/// The earlier runs' tables a step reads.
pub fn run_tables(params: &StepParams) -> Vec<RunTable> {
    match params {
        StepParams::Drift(drift::DriftParams {
            reference: drift::Reference::Run { run, part },
            ..
        }) => vec![RunTable {
            source: TableSource::Run(run.clone()),
            part: Some(part.clone()),
            input: drift::RUN_INPUT,
        }],
        StepParams::Drift(drift::DriftParams {
            reference: drift::Reference::Model { model, part },
            ..
        }) => vec![RunTable {
            source: TableSource::Model(model.clone()),
            part: part.clone(),
            input: drift::RUN_INPUT,
        }],
        _ => Vec::new(),
    }
}

/// The registered model (or run) a step scores with (`predict`'s `model:`): the runner finds
/// it, checks its files' digests and hands them over as [`predict::MODEL_INPUT`]`/...`.
pub fn model_named(params: &StepParams) -> Option<&str> {
    match params {
        StepParams::Predict(p) => p.model.as_deref(),
        _ => None,
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
        StepParams::Drift(p) => drift::run(p, ctx),
        StepParams::Predict(p) => predict::run(p, ctx),
        // Registering writes the registry, which steps never open: the runner does it.
        StepParams::Register(_) => Err(StepError::new(
            "`register` writes the model registry and runs only inside `pmflow run`",
        )),
    }
}

/// A step's `with:` written as YAML, parsed by `parse`, for unit tests; panics on any problem.
#[cfg(test)]
pub(crate) fn parse_with<T>(text: &str, parse: impl FnOnce(&mut Fields) -> Option<T>) -> T {
    let node = crate::pipeline::yaml::parse(text).unwrap();
    let mut diags = crate::pipeline::Diagnostics::new("t.yaml", Vec::new());
    let mut f = Fields::new(&node, "with", &mut diags).unwrap();
    let parsed = parse(&mut f).unwrap();
    f.finish();
    assert!(diags.is_empty(), "{diags}");
    parsed
}
