//! A step's contract with the engine, declared by its kind from its settings: the named, typed
//! inputs it reads (an upstream table or model, a file outside the run, an earlier run's table, a
//! registered model), the outputs it writes (tables, a model, fitted state, reports, pictures)
//! and its effect beyond its outputs (registering a model, a drift verdict). The runner, `--dry-run`,
//! `validate`, `predict` and the scheduler read a step through its ports, never through its kind.

use std::borrow::Cow;

use super::context::StepOutput;
use crate::model::bundle;

pub use super::context::MODEL_INPUT;

/// What `evaluate` and `register` tell the user when no step upstream trained a model.
pub const NO_UPSTREAM_MODEL: &str =
    "needs a `train` step upstream (under `needs:`, directly or further up), or a `command` step with a `model` output";

/// What a step reads, writes and does.
#[derive(Debug, Clone, PartialEq)]
pub struct Ports<'a> {
    pub inputs: Vec<Input<'a>>,
    pub outputs: Vec<Output>,
    /// Set by [`super::ports`] from the kind (see [`super::StepKind::effect`]).
    pub effect: Effect,
}

/// One thing a step reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Input<'a> {
    /// The table of each step under `needs:` (a whole frame, or split parts passed on).
    Tables,
    /// The same tables as files (Parquet), not read into memory: for a program run as the
    /// step, which reads them itself ([`super::context::StepContext::table_files`]).
    TableFiles,
    /// Files of the user's code (paths or patterns under the project root): their content is
    /// part of the step's cache key and their digests of its lineage.
    Code { patterns: &'a [String] },
    /// A trained model from a step upstream (directly or further up); `missing` tells the user
    /// what to do when there is none, so `validate` refuses the pipeline at the step's line.
    UpstreamModel { missing: &'static str },
    /// A file outside the run (a path, a pattern or an `s3://` URL), with the `with` key that
    /// names it; its content is part of the step's cache key.
    External { key: &'static str, path: &'a str },
    /// A table an earlier run recorded, found through the registry and digest-checked.
    RunTable(RunTable),
    /// A registered model version (`NAME@ALIAS`, `NAME@vN`, `NAME`) or a run's model, found
    /// through the registry and digest-checked; it replaces an upstream model.
    Model { spec: &'a str },
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

/// One thing a step writes, by the name later steps and people find it under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub name: OutputName,
    pub kind: OutputKind,
}

/// How an output is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputName {
    /// A fixed name (`frame`, `scaler.json`), or one the pipeline declares (a `command` step's).
    Fixed(Cow<'static, str>),
    /// One table per part the step splits its input into, or passes on (`train`, `val`, ...).
    Parts,
}

/// What an output is, which says who may read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// Rows, stored as Parquet and handed to the steps that need this one.
    Table,
    /// A trained model: what `evaluate`, `register` and `predict` read.
    Model,
    /// Something fitted on the training data that new data must be prepared with (fences, a
    /// scaler, the feature recipe); handed to every step downstream.
    State,
    /// A summary for people, stored as JSON.
    Report,
    /// A picture (SVG) for people.
    Picture,
    /// A file of any format, for people or other programs (a CSV for a maintenance system).
    File,
}

/// What a step does besides writing its outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    None,
    /// Writes a new model version to the registry (and may move an alias): the runner does
    /// it, since steps never open the registry, and never from the cache.
    RegisterModel,
    /// Its metrics say whether the data drifted (`when: drift` schedules read them).
    DriftVerdict,
    /// Its metrics measure a model on held-out data (what `compare` compares by default).
    ModelQuality,
}

impl Output {
    pub const fn table(name: &'static str) -> Output {
        Output::of(OutputKind::Table, name)
    }

    pub const fn parts() -> Output {
        Output {
            name: OutputName::Parts,
            kind: OutputKind::Table,
        }
    }

    pub const fn of(kind: OutputKind, name: &'static str) -> Output {
        Output {
            name: OutputName::Fixed(Cow::Borrowed(name)),
            kind,
        }
    }

    /// An output whose name the pipeline declares.
    pub fn declared(kind: OutputKind, name: String) -> Output {
        Output {
            name: OutputName::Fixed(Cow::Owned(name)),
            kind,
        }
    }
}

impl<'a> Ports<'a> {
    /// A step that reads the tables under `needs:` and writes `outputs`.
    pub fn on_tables(outputs: Vec<Output>) -> Ports<'a> {
        Ports {
            inputs: vec![Input::Tables],
            outputs,
            effect: Effect::None,
        }
    }

    pub fn and(mut self, input: Input<'a>) -> Ports<'a> {
        self.inputs.push(input);
        self
    }

    /// The file outside the run it reads, with the `with` key naming it.
    pub fn external(&self) -> Option<(&'static str, &'a str)> {
        self.inputs.iter().find_map(|i| match i {
            Input::External { key, path } => Some((*key, *path)),
            _ => None,
        })
    }

    /// The code files (patterns) it runs, whose content is part of its key.
    pub fn code(&self) -> &'a [String] {
        self.inputs
            .iter()
            .find_map(|i| match i {
                Input::Code { patterns } => Some(*patterns),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// Whether it reads its input tables as files rather than in memory.
    pub fn reads_table_files(&self) -> bool {
        self.inputs.contains(&Input::TableFiles)
    }

    /// The registered model (or run) it names.
    pub fn model(&self) -> Option<&'a str> {
        self.inputs.iter().find_map(|i| match i {
            Input::Model { spec } => Some(*spec),
            _ => None,
        })
    }

    /// The earlier runs' tables it reads.
    pub fn run_tables(&self) -> Vec<RunTable> {
        self.inputs
            .iter()
            .filter_map(|i| match i {
                Input::RunTable(t) => Some(t.clone()),
                _ => None,
            })
            .collect()
    }

    /// What to tell the user when no step upstream trained a model, if it needs one.
    pub fn needs_upstream_model(&self) -> Option<&'static str> {
        self.inputs.iter().find_map(|i| match i {
            Input::UpstreamModel { missing } => Some(*missing),
            _ => None,
        })
    }

    /// Whether it writes a trained model.
    pub fn writes_model(&self) -> bool {
        self.outputs.iter().any(|o| o.kind == OutputKind::Model)
    }

    /// Whether it writes `name` as fitted state (new data is prepared with it).
    pub fn writes_state(&self, name: &str) -> bool {
        self.outputs
            .iter()
            .any(|o| o.kind == OutputKind::State && o.name.matches(name))
    }
}

impl Ports<'_> {
    /// What `output` holds that this contract does not declare, as `name (kind)`: a kind that
    /// writes what it does not declare is a bug, since the steps after it, `predict` and the
    /// report find outputs by what kinds declare.
    pub fn undeclared(&self, output: &StepOutput) -> Vec<String> {
        let tables = output.tables.iter().map(|(n, _)| (n.as_str(), OutputKind::Table));
        let reports = output.reports.iter().map(|(n, _)| (n.as_str(), OutputKind::Report));
        let files = output.files.iter().map(|(n, _)| {
            let kind = if bundle::is_model_file(n) {
                OutputKind::Model
            } else if n.ends_with(".svg") {
                OutputKind::Picture
            } else {
                OutputKind::State
            };
            (n.as_str(), kind)
        });
        tables
            .chain(reports)
            .chain(files)
            .filter(|(name, kind)| {
                !self.outputs.iter().any(|o| match (o.kind, *kind) {
                    // A model is declared once and stored as its bundle's files.
                    (OutputKind::Model, OutputKind::Model) => true,
                    // A file written under a declared name is that output, whatever it holds.
                    (OutputKind::File, OutputKind::Picture | OutputKind::State) => o.name.matches(name),
                    (declared, written) => declared == written && o.name.matches(name),
                })
            })
            .map(|(name, kind)| format!("`{name}` ({kind:?})"))
            .collect()
    }
}

impl OutputName {
    /// Whether this is the output `name` (a part matches any name).
    pub fn matches(&self, name: &str) -> bool {
        match self {
            OutputName::Fixed(fixed) => fixed == name,
            OutputName::Parts => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Table;

    fn output(tables: &[&str], reports: &[&str], files: &[&str]) -> StepOutput {
        StepOutput {
            tables: tables
                .iter()
                .map(|n| {
                    (
                        n.to_string(),
                        Table {
                            frame: polars::prelude::DataFrame::empty(),
                            roles: Default::default(),
                        },
                    )
                })
                .collect(),
            reports: reports
                .iter()
                .map(|n| (n.to_string(), serde_json::Value::Null))
                .collect(),
            files: files.iter().map(|n| (n.to_string(), Vec::new())).collect(),
        }
    }

    #[test]
    fn what_a_step_writes_is_checked_against_what_its_kind_declares() {
        let ports = Ports::on_tables(vec![
            Output::table("frame"),
            Output::of(OutputKind::Report, "clean_report"),
            Output::of(OutputKind::State, "outlier_fences.json"),
            Output::of(OutputKind::Model, "model"),
        ]);
        let declared = output(
            &["frame"],
            &["clean_report"],
            &["outlier_fences.json", "model.safetensors", "model_card.json"],
        );
        assert!(ports.undeclared(&declared).is_empty());
        // Declared but not written is fine (a `clean` without fences writes none).
        assert!(ports.undeclared(&output(&["frame"], &[], &[])).is_empty());
        let stray = output(&["frame", "train"], &["frame"], &["scaler.json", "curve.svg"]);
        assert_eq!(
            ports.undeclared(&stray),
            [
                "`train` (Table)",
                "`frame` (Report)",
                "`scaler.json` (State)",
                "`curve.svg` (Picture)"
            ]
        );
    }

    #[test]
    fn split_parts_match_any_table_name() {
        let ports = Ports::on_tables(vec![Output::parts()]);
        assert!(ports
            .undeclared(&output(&["train", "val", "test"], &[], &[]))
            .is_empty());
        assert_eq!(ports.undeclared(&output(&[], &["train"], &[])), ["`train` (Report)"]);
    }
}
