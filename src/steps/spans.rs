//! Spans of rows or time in a step's `with:` (`windows: [6, 6h]`, `horizon: 48h`,
//! `resample: 10m`), shared by `feature` and `clean`.

use crate::pipeline::duration::duration_ms;
use crate::pipeline::fields::Fields;
use crate::pipeline::node::{Node, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum WindowSpec {
    Rows(usize),
    Duration { text: String, ms: i64 },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Horizon {
    Duration {
        text: String,
        ms: i64,
    },
    /// In the timestamp's own units (cycles, steps).
    Units(i64),
}

impl Horizon {
    pub fn text(&self) -> String {
        match self {
            Horizon::Duration { text, .. } => text.clone(),
            Horizon::Units(u) => u.to_string(),
        }
    }
}

const DURATION_HINT: &str = "a number of rows or a duration such as 30m, 6h, 1d";

pub fn window_of(node: &Node, f: &mut Fields, key: &str) -> Option<WindowSpec> {
    match &node.value {
        Value::Int(n) if *n >= 1 && *n <= 1_000_000 => Some(WindowSpec::Rows(*n as usize)),
        Value::Str(s) => match duration_ms(s) {
            Some(ms) => Some(WindowSpec::Duration {
                text: s.trim().to_string(),
                ms,
            }),
            None => {
                f.error(node.pos, format!("`{key}`: `{s}` is not {DURATION_HINT}"));
                None
            }
        },
        _ => {
            f.error(
                node.pos,
                format!("`{key}` must be {DURATION_HINT}, found {}", node.type_name()),
            );
            None
        }
    }
}

/// A span of time under `key`: a duration such as `6h`, or a number in the timestamp's units.
pub fn span_of(node: &Node, f: &mut Fields, key: &str) -> Option<Horizon> {
    match window_of(node, f, key)? {
        WindowSpec::Rows(n) => Some(Horizon::Units(n as i64)),
        WindowSpec::Duration { text, ms } => Some(Horizon::Duration { text, ms }),
    }
}
