//! `command`: the user's own program as a step. pmflow hands it its input tables as files and a
//! context file (`pmflow-step.json`), runs it in a process group of its own with a declared
//! environment, reads the messages it appends (metrics, warnings, tags, progress) while it
//! runs, and keeps its declared outputs only after checking them. The program may be written in
//! any language; the contract is files (README: "Your own code as a step").

mod messages;
mod names;
mod outputs;
mod program;
mod user_model;
mod workdir;

use std::collections::BTreeMap;

use crate::frame::Table;
use crate::pipeline::fields::Fields;
use crate::pipeline::node::{Node, Value};
use crate::steps::context::{StepContext, StepError, StepOutput};
use crate::steps::ports::{Input, Output, OutputKind, Ports};

pub use names::RESERVED;

/// How the program is started.
#[derive(Debug, Clone, PartialEq)]
pub enum Program {
    /// An argument vector, run without a shell.
    Argv(Vec<String>),
    /// A line run by `sh -c`.
    Shell(String),
}

/// The format input tables are handed over in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    Parquet,
    /// For programs (shell tools) that read text.
    Csv,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommandParams {
    pub program: Program,
    /// Paths or patterns (project root) of the code the program runs.
    pub code: Vec<String>,
    /// The upstream tables handed over (`step` or `step/part`); None: all of them.
    pub inputs: Option<Vec<String>>,
    /// Declared outputs, in the order written.
    pub outputs: Vec<(String, OutputKind)>,
    pub env: BTreeMap<String, String>,
    /// Variables passed from pmflow's environment by name; their values are never recorded.
    pub secrets: Vec<String>,
    pub params: serde_json::Value,
    pub timeout_secs: Option<u64>,
    pub threads: usize,
    pub seed: u64,
    pub input_format: InputFormat,
    /// Role columns a table output may leave out.
    pub drops_roles: Vec<String>,
}

const OUTPUT_KINDS: [&str; 6] = ["table", "picture", "file", "report", "model", "state"];
const ROLES: [&str; 3] = ["entity", "timestamp", "label"];

pub fn parse(f: &mut Fields) -> Option<CommandParams> {
    let program = parse_program(f);
    let code = f.optional_str_list("code").unwrap_or_default();
    let inputs = f.optional_str_list("inputs");
    let outputs = parse_outputs(f);
    let env = parse_env(f);
    let secrets = f.optional_str_list("secrets").unwrap_or_default();
    for name in &secrets {
        if !is_variable_name(name) {
            let pos = f.pos();
            f.error(
                pos,
                format!("`secrets`: `{name}` is not a variable name (letters, digits, `_`)"),
            );
        }
    }
    let params = f.node("params").map(Node::to_json).unwrap_or(serde_json::Value::Null);
    let drops_roles = f.optional_str_list("drops-roles").unwrap_or_default();
    for role in &drops_roles {
        if !ROLES.contains(&role.as_str()) {
            let pos = f.pos();
            f.error(
                pos,
                format!("`drops-roles`: `{role}` is not a role; roles are {}", ROLES.join(", ")),
            );
        }
    }
    let input_format = match f.optional_choice("input-format", &["parquet", "csv"]) {
        Some("csv") => InputFormat::Csv,
        _ => InputFormat::Parquet,
    };
    Some(CommandParams {
        program: program?,
        code,
        inputs,
        outputs: outputs?,
        env: env?,
        secrets,
        params,
        timeout_secs: f.optional_int("timeout-secs", 1, i64::MAX).map(|t| t as u64),
        threads: f.optional_int("threads", 1, 256).unwrap_or(1) as usize,
        seed: f.optional_int("seed", 0, i64::MAX).unwrap_or(42) as u64,
        input_format,
        drops_roles,
    })
}

/// `run:` as a list (argv) or a string (`sh -c`).
fn parse_program(f: &mut Fields) -> Option<Program> {
    let hint = " (the program to run: a list such as [python3, steps/envelope.py], or a shell line)";
    let Some(node) = f.node("run") else {
        let pos = f.pos();
        f.error(pos, format!("missing required key `run`{hint}"));
        return None;
    };
    match &node.value {
        Value::Str(line) if !line.trim().is_empty() => Some(Program::Shell(line.clone())),
        Value::Seq(items) if !items.is_empty() => {
            let argv: Vec<String> = items.iter().filter_map(Node::scalar_text).collect();
            if argv.len() != items.len() || argv[0].is_empty() {
                f.error(
                    node.pos,
                    "`run`: every item must be a string (or a number), the first a program",
                );
                return None;
            }
            Some(Program::Argv(argv))
        }
        _ => {
            f.error(node.pos, format!("`run` must not be empty{hint}"));
            None
        }
    }
}

/// `outputs: {name: kind}`.
fn parse_outputs(f: &mut Fields) -> Option<Vec<(String, OutputKind)>> {
    let Some(node) = f.node("outputs") else {
        return Some(Vec::new());
    };
    if node.value == Value::Null {
        return Some(Vec::new());
    }
    let Some(entries) = node.as_map() else {
        f.error(
            node.pos,
            "`outputs` must map each output's name to its kind (table, picture, file, report, model, state)",
        );
        return None;
    };
    let mut outputs = Vec::new();
    let mut ok = true;
    for (key, value) in entries {
        let kind = match f.expect_choice(&format!("outputs.{}", key.name), value, &OUTPUT_KINDS) {
            Some("table") => OutputKind::Table,
            Some("picture") => OutputKind::Picture,
            Some("file") => OutputKind::File,
            Some("report") => OutputKind::Report,
            Some("model") => OutputKind::Model,
            Some("state") => OutputKind::State,
            _ => {
                ok = false;
                continue;
            }
        };
        if let Err(why) = names::check_name(&key.name, kind) {
            f.error(key.pos, format!("`outputs`: {why}"));
            ok = false;
        }
        outputs.push((key.name.clone(), kind));
    }
    if outputs.iter().filter(|(_, k)| *k == OutputKind::Model).count() > 1 {
        f.error(node.pos, "`outputs`: a step writes at most one `model`");
        ok = false;
    }
    ok.then_some(outputs)
}

/// `env: {NAME: value}` (values as text).
fn parse_env(f: &mut Fields) -> Option<BTreeMap<String, String>> {
    let Some(node) = f.node("env") else {
        return Some(BTreeMap::new());
    };
    if node.value == Value::Null {
        return Some(BTreeMap::new());
    }
    let Some(entries) = node.as_map() else {
        f.error(node.pos, "`env` must map variable names to values");
        return None;
    };
    let mut env = BTreeMap::new();
    let mut ok = true;
    for (key, value) in entries {
        match value.scalar_text() {
            Some(text) if is_variable_name(&key.name) => {
                env.insert(key.name.clone(), text);
            }
            Some(_) => {
                f.error(
                    key.pos,
                    format!("`env`: `{}` is not a variable name (letters, digits, `_`)", key.name),
                );
                ok = false;
            }
            None => {
                f.error(value.pos, format!("`env.{}` must be a string or a number", key.name));
                ok = false;
            }
        }
    }
    ok.then_some(env)
}

fn is_variable_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Reads its upstream tables as files, runs the user's code; writes what it declares.
pub fn ports(p: &CommandParams) -> Ports<'_> {
    let outputs = p
        .outputs
        .iter()
        .map(|(name, kind)| Output::declared(*kind, names::artifact_name(name, *kind)))
        .chain([Output::of(OutputKind::File, names::LOG)])
        .collect();
    Ports {
        inputs: vec![Input::TableFiles, Input::Code { patterns: &p.code }],
        outputs,
        effect: crate::steps::Effect::None,
    }
}

impl CommandParams {
    /// The names of the state outputs: what a replay on new data is handed back.
    pub fn state_outputs(&self) -> Vec<&str> {
        self.outputs
            .iter()
            .filter(|(_, kind)| *kind == OutputKind::State)
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// Whether the step transforms one table into one: then it is part of how data is
    /// prepared, and is replayed on new data before a model scores it.
    pub fn is_transform(&self) -> bool {
        let tables = self.outputs.iter().filter(|(_, k)| *k == OutputKind::Table).count();
        let models = self.outputs.iter().any(|(_, k)| *k == OutputKind::Model);
        tables == 1 && !models && self.inputs.as_ref().is_none_or(|i| i.len() == 1)
    }
}

/// The entries of `inputs` that name no table of the steps under `needs` (their ids and
/// ports), as messages: an entry is a step's id (its tables), `STEP/NAME`, or a table's name
/// (`train`: any name, when a need splits its input into parts).
pub fn unknown_inputs(p: &CommandParams, needs: &[(&str, Ports)]) -> Vec<String> {
    let gives = |ports: &Ports, name: &str| {
        ports
            .outputs
            .iter()
            .any(|o| o.kind == OutputKind::Table && o.name.matches(name))
    };
    let known = |entry: &str| match entry.split_once('/') {
        Some((step, name)) => needs.iter().any(|(id, ports)| *id == step && gives(ports, name)),
        None => needs.iter().any(|(id, ports)| *id == entry || gives(ports, entry)),
    };
    let listed: Vec<String> = needs.iter().map(|(id, _)| format!("`{id}`")).collect();
    p.inputs
        .iter()
        .flatten()
        .filter(|entry| !known(entry))
        .map(|entry| {
            format!(
                "`inputs`: `{entry}` is no table of the steps under `needs` ({}); name a step, `STEP/TABLE` or a table such as `train`",
                if listed.is_empty() { "none".into() } else { listed.join(", ") }
            )
        })
        .collect()
}

/// Runs the program on the step's inputs (files, or tables in memory) and collects its outputs.
pub fn run(p: &CommandParams, ctx: &mut StepContext) -> Result<StepOutput, StepError> {
    run_as(p, ctx, None)
}

/// [`run`], as a replay on new data when `fitted` holds the state the step wrote in training.
fn run_as(
    p: &CommandParams,
    ctx: &mut StepContext,
    fitted: Option<&[(String, Vec<u8>)]>,
) -> Result<StepOutput, StepError> {
    let work = workdir::Workdir::make(p, ctx, fitted)?;
    let collected = program::run(p, ctx, &work).and_then(|ran| outputs::collect(p, ctx, &work, ran.log));
    // The folder goes whatever happened: only checked outputs leave it, as artifacts.
    work.remove();
    collected
}

/// Replays a transform (see [`CommandParams::is_transform`]) on `table`, as preparing new
/// data for a model does: the program gets the one table (named as step `from`'s, as in the
/// pipeline) and the state it fitted in training (`fitted`, by output name; the context says
/// `"replay": true`), and writes only its table, which is the result.
pub fn transform(
    p: &CommandParams,
    from: &str,
    table: Table,
    fitted: &[(String, Vec<u8>)],
    ctx: &mut StepContext,
) -> Result<Table, StepError> {
    ctx.inputs = vec![(format!("{from}/frame"), table)];
    let mut replayed = p.clone();
    replayed.outputs.retain(|(_, kind)| *kind == OutputKind::Table);
    let mut out = run_as(&replayed, ctx, Some(fitted))?;
    out.tables
        .pop()
        .map(|(_, t)| t)
        .ok_or_else(|| StepError::new("the program wrote no table"))
}
