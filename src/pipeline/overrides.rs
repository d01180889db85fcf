//! `--set PATH=VALUE` overrides, applied to the document before validation so they are checked
//! exactly like values written in the file.
//!
//! PATH starts with a top-level key (`params.seed`, `storage.artifacts`, `name`) or a step id
//! (`clean.with.impute`, `clean.retries`). VALUE is typed by YAML rules (`7` is an integer).

use super::diagnostic::{did_you_mean, Diagnostics};
use super::node::{Key, Node, Pos, Value};
use super::yaml;

const TOP_LEVEL: &[&str] = &["name", "experiment", "description", "params", "storage", "schedule"];

/// Applies each override in order; problems are reported at `--set <text>`.
pub fn apply(doc: &mut Node, overrides: &[String], diags: &mut Diagnostics) {
    for (i, text) in overrides.iter().enumerate() {
        let pos = Pos::override_n(u16::try_from(i + 1).unwrap_or(u16::MAX));
        if let Err(OverrideError(message)) = apply_one(doc, text, pos) {
            diags.push(pos, message);
        }
    }
}

/// Why one `--set` cannot be applied; reported at the override's position.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
struct OverrideError(String);

impl From<&str> for OverrideError {
    fn from(message: &str) -> Self {
        OverrideError(message.to_string())
    }
}

fn apply_one(doc: &mut Node, text: &str, pos: Pos) -> Result<(), OverrideError> {
    let (path, raw) = text
        .split_once('=')
        .ok_or("expected PATH=VALUE, e.g. `params.seed=7` or `clean.with.impute=mean`")?;
    let parts: Vec<&str> = path.trim().split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(OverrideError(format!(
            "`{path}` is not a valid path; use dots between keys, e.g. `clean.with.impute`"
        )));
    }
    let value = Node::new(with_pos(yaml::parse_scalar(raw.trim()), pos), pos);
    if TOP_LEVEL.contains(&parts[0]) {
        if parts[0] == "params" && parts.len() > 1 {
            let params = doc.get("params").ok_or("the pipeline has no `params` to override")?;
            if lookup(params, &parts[1..]).is_none() {
                let names = leaf_names(params, "");
                let hint = did_you_mean(&parts[1..].join("."), names.iter().map(String::as_str));
                return Err(OverrideError(format!(
                    "no parameter `{}` in `params`{hint}",
                    parts[1..].join(".")
                )));
            }
        }
        return set(doc, &parts, value);
    }
    let Some(Node {
        value: Value::Seq(steps),
        ..
    }) = doc.get_mut("steps")
    else {
        return Err(OverrideError(format!(
            "`{}` is neither a top-level key nor a step id",
            parts[0]
        )));
    };
    let ids: Vec<String> = steps
        .iter()
        .filter_map(|s| s.get("id").and_then(Node::as_str).map(String::from))
        .collect();
    let Some(step) = steps
        .iter_mut()
        .find(|s| s.get("id").and_then(Node::as_str) == Some(parts[0]))
    else {
        let hint = did_you_mean(
            parts[0],
            ids.iter().map(String::as_str).chain(TOP_LEVEL.iter().copied()),
        );
        return Err(OverrideError(format!("no step with id `{}`{hint}", parts[0])));
    };
    if parts.len() < 2 {
        return Err(OverrideError(format!(
            "`{path}` names a whole step; set one of its keys, e.g. `{path}.with.KEY=VALUE`"
        )));
    }
    set(step, &parts[1..], value)
}

/// Sets `node[path] = value`, creating missing mappings on the way.
fn set(node: &mut Node, path: &[&str], value: Node) -> Result<(), OverrideError> {
    let (first, rest) = path.split_first().ok_or("empty path")?;
    if node.value == Value::Null {
        node.value = Value::Map(Vec::new());
    }
    let Value::Map(entries) = &mut node.value else {
        return Err(OverrideError(format!(
            "cannot set `{first}`: its parent is {}, not a mapping",
            node.value.type_name()
        )));
    };
    let index = match entries.iter().rposition(|(k, _)| k.name == *first) {
        Some(i) => i,
        None => {
            entries.push((
                Key {
                    name: first.to_string(),
                    pos: value.pos,
                },
                Node::new(Value::Null, value.pos),
            ));
            entries.len() - 1
        }
    };
    if rest.is_empty() {
        entries[index].1 = value;
        Ok(())
    } else {
        set(&mut entries[index].1, rest, value)
    }
}

fn with_pos(value: Value, pos: Pos) -> Value {
    // Collections typed on the command line (`--set x.needs=[a]`) carry the override position.
    match value {
        Value::Seq(items) => Value::Seq(
            items
                .into_iter()
                .map(|n| Node::new(with_pos(n.value, pos), pos))
                .collect(),
        ),
        Value::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, n)| (Key { name: k.name, pos }, Node::new(with_pos(n.value, pos), pos)))
                .collect(),
        ),
        scalar => scalar,
    }
}

fn lookup<'a>(node: &'a Node, path: &[&str]) -> Option<&'a Node> {
    path.iter().try_fold(node, |n, p| n.get(p))
}

fn leaf_names(node: &Node, prefix: &str) -> Vec<String> {
    match node.as_map() {
        Some(entries) => entries
            .iter()
            .flat_map(|(k, v)| {
                let name = if prefix.is_empty() {
                    k.name.clone()
                } else {
                    format!("{prefix}.{}", k.name)
                };
                let mut inner = leaf_names(v, &name);
                if inner.is_empty() {
                    inner.push(name);
                }
                inner
            })
            .collect(),
        None => Vec::new(),
    }
}
