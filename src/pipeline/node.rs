//! A YAML document as a tree of values that remember where they were written.
//!
//! Validation walks this tree instead of deserializing straight into typed structs, so it can
//! collect every problem in one pass and point at each one.

use std::fmt;

/// Where a value came from: a line and column in the pipeline file, or the n-th `--set` override.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
    /// 0 = the pipeline file; n > 0 = the n-th `--set` on the command line.
    pub origin: u16,
}

impl Pos {
    pub fn at(line: u32, col: u32) -> Self {
        Pos { line, col, origin: 0 }
    }
    pub fn override_n(n: u16) -> Self {
        Pos {
            line: 0,
            col: 0,
            origin: n,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

impl Node {
    pub fn new(value: Value, pos: Pos) -> Self {
        Node { value, pos }
    }

    /// The entries of a mapping, or None when this node is not a mapping.
    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// A scalar as the text a CSV cell would hold (`comp4`, `3`, `2.5`, `true`).
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value under `key` in a mapping (the last one if the key is repeated, as YAML
    /// parsers that accept duplicates do; duplicates are reported separately).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().rev().find(|(k, _)| k.name == key).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match &mut self.value {
            Value::Map(entries) => entries.iter_mut().rev().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A short name of the node's type for error messages ("a mapping", "a string", ...).
    pub fn type_name(&self) -> &'static str {
        self.value.type_name()
    }

    /// Converts to JSON, used for the resolved pipeline record and step parameters.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map(J::Number).unwrap_or(J::Null),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => {
                let mut map = serde_json::Map::new();
                for (k, v) in entries {
                    map.insert(k.name.clone(), v.to_json());
                }
                J::Object(map)
            }
        }
    }
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

impl fmt::Display for Value {
    /// Scalars as a user would write them; used when a value is spliced into a string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => write!(f, "null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => write!(f, "{s}"),
            Value::Seq(_) | Value::Map(_) => write!(f, "{}", Node::new(self.clone(), Pos::default()).to_json()),
        }
    }
}
