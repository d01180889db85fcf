//! Reads the keys of one YAML mapping into typed values, collecting every problem.
//!
//! Each getter marks its key as known; [`Fields::finish`] then reports the keys nobody asked
//! for (with a did-you-mean) and repeated keys. Getters return `None` after recording a
//! diagnostic, so callers keep going and the user sees all mistakes at once.

use super::diagnostic::{did_you_mean, Diagnostics};
use super::node::{Node, Pos, Value};

pub struct Fields<'a, 'd> {
    node: &'a Node,
    /// Where these keys live, for messages: "step `clean` `with`", "`storage`".
    context: String,
    known: Vec<&'static str>,
    pub diags: &'d mut Diagnostics,
}

impl<'a, 'd> Fields<'a, 'd> {
    /// None (after a diagnostic) when `node` is not a mapping. A null node (`with:` left
    /// empty) reads as an empty mapping.
    pub fn new(node: &'a Node, context: impl Into<String>, diags: &'d mut Diagnostics) -> Option<Self> {
        let context = context.into();
        match &node.value {
            Value::Map(_) | Value::Null => Some(Fields {
                node,
                context,
                known: Vec::new(),
                diags,
            }),
            _ => {
                diags.push(
                    node.pos,
                    format!(
                        "{context} must be a mapping of keys to values, found {}",
                        node.type_name()
                    ),
                );
                None
            }
        }
    }

    pub fn context(&self) -> &str {
        &self.context
    }

    pub fn pos(&self) -> Pos {
        self.node.pos
    }

    /// The raw node under `key`, marking the key as known.
    pub fn node(&mut self, key: &'static str) -> Option<&'a Node> {
        // A key may be read twice (e.g. a step's `id`); list it once in "valid keys".
        if !self.known.contains(&key) {
            self.known.push(key);
        }
        self.node.get(key)
    }

    pub fn error(&mut self, pos: Pos, message: impl AsRef<str>) {
        let text = format!("{}: {}", self.context, message.as_ref());
        self.diags.push(pos, text);
    }

    fn type_error(&mut self, key: &str, node: &Node, expected: &str) {
        let text = format!(
            "{}: `{key}` must be {expected}, found {}",
            self.context,
            node.type_name()
        );
        self.diags.push(node.pos, text);
    }

    fn missing(&mut self, key: &str, hint: &str) {
        let text = format!("{}: missing required key `{key}`{hint}", self.context);
        let pos = self.node.pos;
        self.diags.push(pos, text);
    }

    pub fn required_str(&mut self, key: &'static str, hint: &str) -> Option<String> {
        match self.node(key) {
            None => {
                self.missing(key, hint);
                None
            }
            Some(n) => self.expect_str(key, n),
        }
    }

    pub fn optional_str(&mut self, key: &'static str) -> Option<String> {
        let n = self.node(key)?;
        if n.value == Value::Null {
            return None;
        }
        self.expect_str(key, n)
    }

    fn expect_str(&mut self, key: &str, n: &Node) -> Option<String> {
        match &n.value {
            Value::Str(s) if !s.is_empty() => Some(s.clone()),
            Value::Str(_) => {
                let text = format!("{}: `{key}` must not be empty", self.context);
                self.diags.push(n.pos, text);
                None
            }
            _ => {
                self.type_error(key, n, "a string");
                None
            }
        }
    }

    pub fn optional_bool(&mut self, key: &'static str) -> Option<bool> {
        let n = self.node(key)?;
        match n.value {
            Value::Bool(b) => Some(b),
            Value::Null => None,
            _ => {
                self.type_error(key, n, "true or false");
                None
            }
        }
    }

    /// An integer within `min..=max`.
    pub fn optional_int(&mut self, key: &'static str, min: i64, max: i64) -> Option<i64> {
        let n = self.node(key)?;
        match n.value {
            Value::Int(i) if (min..=max).contains(&i) => Some(i),
            Value::Int(i) => {
                let text = format!("{}: `{key}` must be between {min} and {max}, found {i}", self.context);
                self.diags.push(n.pos, text);
                None
            }
            Value::Null => None,
            _ => {
                self.type_error(key, n, "an integer");
                None
            }
        }
    }

    /// A finite number within `min..=max` (integers are accepted).
    pub fn optional_f64(&mut self, key: &'static str, min: f64, max: f64) -> Option<f64> {
        let n = self.node(key)?;
        let v = match n.value {
            Value::Int(i) => i as f64,
            Value::Float(f) => f,
            Value::Null => return None,
            _ => {
                self.type_error(key, n, "a number");
                return None;
            }
        };
        if v.is_finite() && v >= min && v <= max {
            Some(v)
        } else {
            let text = format!("{}: `{key}` must be between {min} and {max}, found {v}", self.context);
            self.diags.push(n.pos, text);
            None
        }
    }

    /// One of `choices`, with a did-you-mean for near misses.
    pub fn optional_choice(&mut self, key: &'static str, choices: &[&'static str]) -> Option<&'static str> {
        let n = self.node(key)?;
        self.expect_choice(key, n, choices)
    }

    pub fn expect_choice(&mut self, key: &str, n: &Node, choices: &[&'static str]) -> Option<&'static str> {
        match &n.value {
            Value::Str(s) => match choices.iter().find(|c| **c == s.as_str()) {
                Some(c) => Some(c),
                None => {
                    let hint = did_you_mean(s, choices.iter().copied());
                    let text = format!(
                        "{}: `{key}` must be one of {}; found `{s}`{hint}",
                        self.context,
                        choices.join(", ")
                    );
                    self.diags.push(n.pos, text);
                    None
                }
            },
            Value::Null => None,
            _ => {
                self.type_error(key, n, &format!("one of {}", choices.join(", ")));
                None
            }
        }
    }

    /// A list of non-empty strings; a single string is accepted as a list of one.
    pub fn optional_str_list(&mut self, key: &'static str) -> Option<Vec<String>> {
        let n = self.node(key)?;
        match &n.value {
            Value::Null => None,
            Value::Str(s) => Some(vec![s.clone()]),
            Value::Seq(items) => {
                let mut out = Vec::new();
                for item in items {
                    match &item.value {
                        Value::Str(s) if !s.is_empty() => out.push(s.clone()),
                        _ => {
                            let text = format!(
                                "{}: every item of `{key}` must be a non-empty string, found {}",
                                self.context,
                                item.type_name()
                            );
                            self.diags.push(item.pos, text);
                        }
                    }
                }
                Some(out)
            }
            _ => {
                self.type_error(key, n, "a list of strings");
                None
            }
        }
    }

    /// Reports unknown and repeated keys. Call after all getters.
    pub fn finish(self) {
        let Some(entries) = self.node.as_map() else { return };
        let mut seen: Vec<&str> = Vec::new();
        for (key, _) in entries {
            if seen.contains(&key.name.as_str()) {
                let text = format!("{}: key `{}` is repeated; keep one", self.context, key.name);
                self.diags.push(key.pos, text);
            } else if !self.known.contains(&key.name.as_str()) {
                let hint = did_you_mean(&key.name, self.known.iter().copied());
                let valid = if self.known.is_empty() {
                    "none".to_string()
                } else {
                    self.known.join(", ")
                };
                let text = format!(
                    "{}: unknown key `{}`{hint}; valid keys: {valid}",
                    self.context, key.name
                );
                self.diags.push(key.pos, text);
            }
            seen.push(&key.name);
        }
    }
}
