//! The step API (the closed `StepKind` enum, `StepParams`, one dispatch for parsing and running,
//! `StepContext`) and the built-in kinds: one file per kind, or one folder for a kind that needs
//! several. Steps never import the runner, the registry or the artifact stores.

pub mod catalog;
pub mod clean;
pub mod command;
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
pub mod ports;
pub mod predict;
mod prepare;
pub mod register;
pub use prepare::{prepare, prepare_frame};
pub mod smote;
mod sources;
mod spans;
pub mod split;
mod timestamps;
pub mod train;

use crate::pipeline::fields::Fields;
use crate::pipeline::StepCatalog;
pub use catalog::Catalog;
use context::{RemoteFiles, StepContext, StepError, StepOutput};
pub use ports::{Effect, Input, Ports, RunTable, TableSource};

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

    fn missing_upstream(params: &StepParams, ancestors: &[&StepParams]) -> Option<&'static str> {
        let missing = ports(params).needs_upstream_model()?;
        let trained = ancestors.iter().any(|p| ports(p).writes_model());
        (!trained).then_some(missing)
    }

    fn unknown_inputs(params: &StepParams, needs: &[(&str, &StepParams)]) -> Vec<String> {
        match params {
            StepParams::Command(p) => {
                let needs: Vec<(&str, Ports)> = needs.iter().map(|(id, p)| (*id, ports(p))).collect();
                command::unknown_inputs(p, &needs)
            }
            _ => Vec::new(),
        }
    }

    fn judges_drift(params: &StepParams) -> bool {
        ports(params).effect == Effect::DriftVerdict
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    Load,
    Clean,
    Feature,
    Split,
    Smote,
    Train,
    Evaluate,
    Drift,
    Register,
    Predict,
    Command,
}

impl StepKind {
    pub fn names() -> Vec<&'static str> {
        Catalog::builtin().names()
    }

    /// The kind a pipeline file names (its name, or a former one).
    pub fn from_name(name: &str) -> Option<StepKind> {
        Catalog::builtin().find(name).map(|e| e.kind)
    }

    pub fn name(self) -> &'static str {
        Catalog::builtin().entry(self).map_or("?", |e| e.name)
    }

    /// What a step of this kind does besides writing its outputs.
    pub fn effect(self) -> Effect {
        Catalog::builtin().entry(self).map_or(Effect::None, |e| e.effect)
    }

    /// The names of the kinds with `effect` (for code that knows a recorded step only by its
    /// kind's name, as `compare` does).
    pub fn names_with(effect: Effect) -> Vec<&'static str> {
        Catalog::builtin().names_with(effect)
    }
}

/// A step's validated `with:` parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum StepParams {
    Load(load::LoadParams),
    Clean(clean::CleanParams),
    /// Boxed: the largest settings by far, and every step's settings are cloned into each step
    /// downstream's context.
    Feature(Box<feature::FeatureParams>),
    Split(split::SplitParams),
    Smote(smote::SmoteParams),
    Train(train::TrainParams),
    Evaluate(evaluate::EvaluateParams),
    Drift(drift::DriftParams),
    Register(register::RegisterParams),
    Predict(predict::PredictParams),
    Command(command::CommandParams),
}

/// Reads the `with:` mapping of a step of `kind`; None after reporting problems.
pub fn parse_params(kind: StepKind, with: &mut Fields) -> Option<StepParams> {
    match kind {
        StepKind::Load => load::parse(with).map(StepParams::Load),
        StepKind::Clean => clean::parse(with).map(StepParams::Clean),
        StepKind::Feature => feature::parse(with).map(|p| StepParams::Feature(Box::new(p))),
        StepKind::Split => split::parse(with).map(StepParams::Split),
        StepKind::Smote => smote::parse(with).map(StepParams::Smote),
        StepKind::Train => train::parse(with).map(StepParams::Train),
        StepKind::Evaluate => evaluate::parse(with).map(StepParams::Evaluate),
        StepKind::Drift => drift::parse(with).map(StepParams::Drift),
        StepKind::Register => register::parse(with).map(StepParams::Register),
        StepKind::Predict => predict::parse(with).map(StepParams::Predict),
        StepKind::Command => command::parse(with).map(StepParams::Command),
    }
}

impl StepParams {
    /// The kind these are the settings of.
    pub fn kind(&self) -> StepKind {
        match self {
            StepParams::Load(_) => StepKind::Load,
            StepParams::Clean(_) => StepKind::Clean,
            StepParams::Feature(_) => StepKind::Feature,
            StepParams::Split(_) => StepKind::Split,
            StepParams::Smote(_) => StepKind::Smote,
            StepParams::Train(_) => StepKind::Train,
            StepParams::Evaluate(_) => StepKind::Evaluate,
            StepParams::Drift(_) => StepKind::Drift,
            StepParams::Register(_) => StepKind::Register,
            StepParams::Predict(_) => StepKind::Predict,
            StepParams::Command(_) => StepKind::Command,
        }
    }

    /// A `register` step's settings (the runner registers; no step does).
    pub fn as_register(&self) -> Option<&register::RegisterParams> {
        match self {
            StepParams::Register(p) => Some(p),
            _ => None,
        }
    }
}

/// A step that prepares the pipeline's data, as `prepare` replays it on a new file: the
/// source that reads it, then the cleaning and the features, in the order they ran.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Preparer<'a> {
    Source(&'a load::LoadParams),
    Cleaner(&'a clean::CleanParams),
    Features(&'a feature::FeatureParams),
    /// A user's program that turns one table into one ([`command::CommandParams::is_transform`]).
    Program(&'a command::CommandParams),
}

/// How a step with `params` prepares data; None: it does not (it splits, trains, measures).
pub(crate) fn preparer(params: &StepParams) -> Option<Preparer<'_>> {
    match params {
        StepParams::Load(p) => Some(Preparer::Source(p)),
        StepParams::Clean(p) => Some(Preparer::Cleaner(p)),
        StepParams::Feature(p) => Some(Preparer::Features(p)),
        StepParams::Command(p) if p.is_transform() => Some(Preparer::Program(p)),
        _ => None,
    }
}

/// What a step with `params` reads, writes and does: the contract the engine runs it by.
pub fn ports(params: &StepParams) -> Ports<'_> {
    let mut ports = match params {
        StepParams::Load(p) => load::ports(p),
        StepParams::Clean(p) => clean::ports(p),
        StepParams::Feature(p) => feature::ports(p),
        StepParams::Split(p) => split::ports(p),
        StepParams::Smote(p) => smote::ports(p),
        StepParams::Train(p) => train::ports(p),
        StepParams::Evaluate(p) => evaluate::ports(p),
        StepParams::Drift(p) => drift::ports(p),
        StepParams::Register(p) => register::ports(p),
        StepParams::Predict(p) => predict::ports(p),
        StepParams::Command(p) => command::ports(p),
    };
    ports.effect = params.kind().effect();
    ports
}

/// Files (paths, or `s3://` URLs) outside the run's artifacts that a step reads; their content
/// is part of its cache key.
pub fn external_inputs(params: &StepParams, root: &std::path::Path, remote: &dyn RemoteFiles) -> Vec<String> {
    // Every file a pattern matches now: a file added, removed or changed is a new input.
    // A pattern that cannot be listed gives no key part here; the step itself reports it.
    let ports = ports(params);
    let mut files: Vec<String> = ports
        .external()
        .map(|(_, path)| sources::expand(path, root, remote).unwrap_or_default())
        .unwrap_or_default();
    for pattern in ports.code() {
        files.extend(sources::expand_key("code", pattern, root, &context::LocalOnly).unwrap_or_default());
    }
    files
}

/// Why the local files a step reads cannot be read now, for `pmflow validate`: a missing file
/// or a pattern that matches nothing. S3 inputs are left to the run (they need credentials).
pub fn input_problems(params: &StepParams, root: &std::path::Path) -> Vec<String> {
    let ports = ports(params);
    let mut problems = Vec::new();
    for pattern in ports.code() {
        match sources::expand_key("code", pattern, root, &context::LocalOnly) {
            Err(e) => problems.push(e.0),
            Ok(files) => problems.extend(
                files
                    .iter()
                    .filter(|f| !std::path::Path::new(f).is_file())
                    .map(|f| format!("`code`: no file {f} (relative paths start at the project root)")),
            ),
        }
    }
    let Some((key, path)) = ports.external() else {
        return problems;
    };
    if path.starts_with("s3://") {
        return problems;
    }
    match sources::expand(path, root, &context::LocalOnly) {
        Err(e) => problems.push(e.0),
        Ok(files) => problems.extend(
            files
                .iter()
                .filter(|f| !std::path::Path::new(f).is_file())
                .map(|f| format!("`{key}`: no file {f} (relative paths start at the project root)")),
        ),
    }
    problems
}

/// Runs one step to completion on the calling thread.
pub fn run(params: &StepParams, ctx: &mut StepContext) -> Result<StepOutput, StepError> {
    match params {
        StepParams::Load(p) => load::run(p, ctx),
        StepParams::Clean(p) => clean::run(p, ctx),
        StepParams::Feature(p) => feature::run(p, ctx),
        StepParams::Split(p) => split::run(p, ctx),
        StepParams::Smote(p) => smote::run(p, ctx),
        StepParams::Train(p) => train::run(p, ctx),
        StepParams::Evaluate(p) => evaluate::run(p, ctx),
        StepParams::Drift(p) => drift::run(p, ctx),
        StepParams::Predict(p) => predict::run(p, ctx),
        StepParams::Command(p) => command::run(p, ctx),
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
