//! `runs list --where` and `--order-by`: MLflow-like filter strings (comparisons joined by
//! `and`) and sort keys over a run's metrics, params, tags and columns. Parsing is pure; the
//! registry fetches the values and [`select`] filters, orders and limits the runs in Rust.
//!
//! Here: the language's parts and its errors; `parse.rs` reads a filter or sort key,
//! `select.rs` judges runs against them, `tests.rs` checks both.

mod parse;
mod select;
#[cfg(test)]
mod tests;

use std::fmt;

pub use select::{select, Needs, RunFacts, Selected, Value};

/// What a name in a filter or a sort key refers to.
#[derive(Debug, Clone, PartialEq)]
pub enum Name {
    /// A metric's last value (by step index), by full name (`evaluate.f1`) or by a suffix
    /// after a dot that only one of the run's metrics has (`f1`).
    Metric(String),
    /// `params.<key>`: the pipeline parameter `params.<key>`, else the step param `<key>`
    /// (a step's `with` key, stored as `<step>.<key>`).
    Param(String),
    /// `tags.<key>`.
    Tag(String),
    Column(Column),
}

/// The run columns a filter may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Status,
    Pipeline,
    Experiment,
    Trigger,
    StartedAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// SQL's `%` and `_` wildcards, case-sensitive as in MLflow.
    Like,
    /// LIKE, ignoring case.
    ILike,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Number(f64),
    Text(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub name: Name,
    pub op: Op,
    pub value: Literal,
}

/// Comparisons that must all hold; with none, every run passes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    pub comparisons: Vec<Comparison>,
}

/// One `--order-by NAME[:asc|:desc]`.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderKey {
    /// The name as written, for table headers and JSON keys.
    pub text: String,
    pub name: Name,
    pub descending: bool,
}

/// A filter or sort key that does not parse: the message, and where in the text it went wrong
/// (shown under the text with a caret).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct SyntaxError {
    pub expression: String,
    /// In characters from the start of `expression`.
    pub at: usize,
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tabs and newlines would move the caret off its column.
        let shown: String = self
            .expression
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        write!(f, "{}\n  {shown}\n  {}^", self.message, " ".repeat(self.at))
    }
}

/// A metric suffix that more than one of a run's metrics ends with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "{option}: metric `{name}` is ambiguous in run {run}: {} all end with `.{name}`; give the full name",
    candidates.join(", ")
)]
pub struct Ambiguous {
    pub option: &'static str,
    pub name: String,
    pub run: String,
    pub candidates: Vec<String>,
}
