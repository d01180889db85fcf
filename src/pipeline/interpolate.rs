//! `${params.name}` references inside step `with:` values.
//!
//! A string that is exactly one reference takes the parameter's value and type
//! (`seed: ${params.seed}` stays an integer); references inside longer strings are spliced in
//! as text. Undefined names are reported with a did-you-mean.

use super::diagnostic::{did_you_mean, Diagnostics};
use super::node::{Node, Value};

/// Replaces references in every step's `with:` of `doc`, using `doc.params`.
pub fn resolve(doc: &mut Node, diags: &mut Diagnostics) {
    let params = doc.get("params").cloned();
    let Some(Node {
        value: Value::Seq(steps),
        ..
    }) = doc.get_mut("steps")
    else {
        return;
    };
    for step in steps {
        let label = match step.get("id").and_then(Node::as_str) {
            Some(id) => format!("step `{id}` `with`"),
            None => "step `with`".to_string(),
        };
        if let Some(with) = step.get_mut("with") {
            walk(with, &label, params.as_ref(), diags);
        }
    }
}

fn walk(node: &mut Node, label: &str, params: Option<&Node>, diags: &mut Diagnostics) {
    match &mut node.value {
        Value::Str(s) if s.contains("${") => {
            if let Some(v) = substitute(s, label, node.pos, params, diags) {
                node.value = v;
            }
        }
        Value::Seq(items) => items.iter_mut().for_each(|n| walk(n, label, params, diags)),
        Value::Map(entries) => entries.iter_mut().for_each(|(_, n)| walk(n, label, params, diags)),
        _ => {}
    }
}

fn substitute(
    text: &str,
    label: &str,
    pos: super::node::Pos,
    params: Option<&Node>,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let mut out = String::new();
    let mut rest = text;
    let mut whole: Option<Value> = None;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('}') else {
            diags.push(
                pos,
                format!("unclosed `${{` in `{text}`; write references as `${{params.name}}`"),
            );
            return None;
        };
        let reference = rest[start + 2..start + len].trim();
        let value = lookup(reference, params).or_else(|| {
            let names = param_names(params);
            let hint = did_you_mean(reference, names.iter().map(String::as_str));
            let known = if names.is_empty() {
                "no params are defined".to_string()
            } else {
                format!("defined: {}", names.join(", "))
            };
            diags.push(
                pos,
                format!("{label}: undefined parameter `{reference}`{hint}; {known}"),
            );
            None
        })?;
        if start == 0 && start + len + 1 == rest.len() && out.is_empty() {
            whole = Some(value.clone());
        }
        out.push_str(&value.to_string());
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    Some(whole.unwrap_or(Value::Str(out)))
}

fn lookup(reference: &str, params: Option<&Node>) -> Option<Value> {
    let path = reference.strip_prefix("params.")?;
    let mut node = params?;
    for part in path.split('.') {
        node = node.get(part)?;
    }
    Some(node.value.clone())
}

fn param_names(params: Option<&Node>) -> Vec<String> {
    fn collect(prefix: &str, node: &Node, out: &mut Vec<String>) {
        match node.as_map() {
            Some(entries) if !entries.is_empty() => {
                for (k, v) in entries {
                    collect(&format!("{prefix}.{}", k.name), v, out);
                }
            }
            _ => out.push(prefix.to_string()),
        }
    }
    let mut out = Vec::new();
    if let Some(p) = params {
        if p.as_map().is_some() {
            collect("params", p, &mut out);
            out.retain(|n| n != "params");
        }
    }
    out
}
