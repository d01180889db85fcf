//! The only module that knows the YAML library: text in, positioned [`Node`] tree out.
//!
//! serde-saphyr is used through its serde interface only, so swapping it for another
//! serde-compatible YAML crate that reports positions touches this file alone.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{DuplicateKeyPolicy, Options, Spanned};

use super::node::{Key, Node, Pos, Value};

/// A YAML syntax problem, or input the parser refused (too deep, alias bomb, several documents).
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    pub pos: Pos,
    pub message: String,
}

/// Parses one YAML document. An empty document (or only comments) is `Value::Null`.
///
/// Limits (nesting depth, alias expansion, node count, input size) are the parser's budget, so
/// hostile input fails fast with an error instead of eating memory.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    match serde_saphyr::from_str_with_options::<Option<Spanned<Value>>>(text, options()) {
        Ok(Some(spanned)) => Ok(Node::new(spanned.value, pos_of(&spanned.referenced))),
        Ok(None) => Ok(Node::new(Value::Null, Pos::at(1, 1))),
        Err(err) => {
            let pos = err.location().map(|l| pos_of(&l)).unwrap_or_else(|| Pos::at(1, 1));
            Err(YamlError {
                pos,
                message: clean_message(&err.to_string()),
            })
        }
    }
}

fn options() -> Options {
    let mut options = Options::default();
    // Repeated keys reach our visitor, which keeps them all; validation reports each one.
    options.duplicate_keys = DuplicateKeyPolicy::PassThrough;
    options.with_snippet = false;
    // YAML 1.2 booleans only: `n`, `no`, `on` and `y` stay strings (the "Norway problem").
    options.strict_booleans = true;
    options
}

/// Parses a scalar written on the command line (`--set key=VALUE`) with YAML's typing rules,
/// so `7` is an integer, `true` a boolean and `mean` a string.
pub fn parse_scalar(text: &str) -> Value {
    match serde_saphyr::from_str_with_options::<Option<Spanned<Value>>>(text, options()) {
        Ok(Some(spanned)) => spanned.value,
        Ok(None) => Value::Null,
        Err(_) => Value::Str(text.to_string()),
    }
}

fn pos_of(location: &serde_saphyr::Location) -> Pos {
    let clamp = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    Pos::at(clamp(location.line()), clamp(location.column()))
}

/// The library's messages may repeat the position ("at line 3 column 5"); ours prints it in front.
fn clean_message(message: &str) -> String {
    let first = message.lines().next().unwrap_or(message).trim();
    let cut = first.find(" at line ").map(|i| &first[..i]).unwrap_or(first);
    format!("YAML syntax error: {}", cut.trim_end_matches(['.', ',']))
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map(Value::Int).unwrap_or(Value::Float(v as f64)))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(i64::try_from(v).map(Value::Int).unwrap_or(Value::Float(v as f64)))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(i64::try_from(v).map(Value::Int).unwrap_or(Value::Float(v as f64)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Value>>()? {
            items.push(Node::new(item.value, pos_of(&item.referenced)));
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<Value>>()? {
            let name = match &key.value {
                Value::Seq(_) | Value::Map(_) => {
                    return Err(de::Error::custom("mapping keys must be plain scalars"));
                }
                scalar => scalar.to_string(),
            };
            let value = map.next_value::<Spanned<Value>>()?;
            entries.push((
                Key {
                    name,
                    pos: pos_of(&key.referenced),
                },
                Node::new(value.value, pos_of(&value.referenced)),
            ));
        }
        Ok(Value::Map(entries))
    }
}
