//! `runs list --where` and `--order-by`: MLflow-like filter strings (comparisons joined by
//! `and`) and sort keys over a run's metrics, params, tags and columns. Parsing is pure; the
//! registry fetches the values and [`select`] filters, orders and limits the runs in Rust.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use super::query::RunSummary;

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

/// Each column as written, with a value to show in the message when it is compared to a number.
const COLUMNS: [(&str, Column, &str); 5] = [
    ("status", Column::Status, "'succeeded'"),
    ("pipeline", Column::Pipeline, "'pump-failure'"),
    ("experiment", Column::Experiment, "'pumps'"),
    ("trigger", Column::Trigger, "'manual'"),
    ("started_at", Column::StartedAt, "'2026-01-31'"),
];

/// What the registry's CHECK constraints allow, so that `status = 'sucess'` is a usage error
/// rather than a filter that silently matches nothing.
const STATUSES: [&str; 5] = ["queued", "running", "succeeded", "failed", "interrupted"];
const TRIGGERS: [&str; 2] = ["manual", "schedule"];

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

const EXPECTED_NAME: &str = "expected a name: a metric (evaluate.f1, or a unique suffix such as f1), params.<key>, tags.<key>, status, pipeline, experiment, trigger or started_at";
const EXPECTED_OP: &str = "expected a comparison operator (=, !=, <, <=, >, >=), LIKE or ILIKE";
const EXPECTED_VALUE: &str = "expected a value: a number, or a string in quotes ('x' or \"x\")";

impl Filter {
    /// Parses `--where`: `NAME OP VALUE [and NAME OP VALUE]...`. Blank text is the filter
    /// that keeps every run, as in MLflow.
    pub fn parse(text: &str) -> Result<Filter, SyntaxError> {
        let mut c = Cursor::new(text);
        let mut comparisons = Vec::new();
        c.skip_ws();
        if c.at_end() {
            return Ok(Filter { comparisons });
        }
        loop {
            comparisons.push(c.comparison()?);
            c.skip_ws();
            if c.at_end() {
                return Ok(Filter { comparisons });
            }
            let start = c.at;
            let word = c.word();
            match word.to_ascii_lowercase().as_str() {
                "and" => {}
                "or" => {
                    return Err(c.fail(
                        start,
                        "expected `and`: comparisons can only be joined with `and`, not `or`",
                    ))
                }
                _ => return Err(c.fail(start, "expected `and` or the end of the expression")),
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.comparisons.is_empty()
    }
}

impl OrderKey {
    /// Parses one `--order-by`: `NAME`, `NAME:asc` or `NAME:desc` (also `NAME desc`, as
    /// MLflow writes it). Ascending unless told, as in SQL.
    pub fn parse(text: &str) -> Result<OrderKey, SyntaxError> {
        let mut c = Cursor::new(text);
        c.skip_ws();
        let (name, written) = c.name()?;
        c.skip_ws();
        let colon = c.peek() == Some(':');
        if colon {
            c.at += 1;
            c.skip_ws();
        }
        let start = c.at;
        let direction = c.word();
        let descending = match direction.to_ascii_lowercase().as_str() {
            "asc" => false,
            "desc" => true,
            "" if !colon => false,
            _ => return Err(c.fail(start, "expected `asc` or `desc` after the name and `:`")),
        };
        c.skip_ws();
        if !c.at_end() {
            return Err(c.fail(c.at, "expected the end after `NAME:asc` or `NAME:desc`"));
        }
        Ok(OrderKey {
            text: written,
            name,
            descending,
        })
    }
}

/// A character index into the text being parsed.
struct Cursor<'a> {
    text: &'a str,
    chars: Vec<char>,
    at: usize,
}

/// Characters of an unquoted name: metric keys hold dots, dashes and underscores.
fn name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Cursor<'a> {
        Cursor {
            text,
            chars: text.chars().collect(),
            at: 0,
        }
    }

    fn fail(&self, at: usize, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            expression: self.text.to_string(),
            at,
            message: message.into(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn at_end(&self) -> bool {
        self.at >= self.chars.len()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> String {
        let start = self.at;
        while self.peek().is_some_and(&keep) {
            self.at += 1;
        }
        self.chars[start..self.at].iter().collect()
    }

    fn word(&mut self) -> String {
        self.take_while(name_char)
    }

    fn comparison(&mut self) -> Result<Comparison, SyntaxError> {
        self.skip_ws();
        let (name, written) = self.name()?;
        self.skip_ws();
        let op_at = self.at;
        let op = self.op()?;
        let text_op = matches!(op, Op::Like | Op::ILike);
        if text_op && matches!(name, Name::Metric(_)) {
            return Err(self.fail(
                op_at,
                format!("LIKE and ILIKE compare text, and metric `{written}` is a number; compare it with =, !=, <, <=, > or >="),
            ));
        }
        self.skip_ws();
        let value_at = self.at;
        let value = self.value()?;
        match (&name, &value) {
            (_, Literal::Number(_)) if text_op => {
                return Err(self.fail(value_at, "expected a pattern in quotes after LIKE, such as 'pump%'"))
            }
            (Name::Metric(_), Literal::Text(_)) => {
                return Err(self.fail(value_at, format!("expected a number: metric `{written}` is a number")))
            }
            (Name::Column(column), Literal::Number(_)) => {
                let (_, _, example) = COLUMNS
                    .iter()
                    .find(|(_, c, _)| c == column)
                    .expect("every column is listed");
                return Err(self.fail(
                    value_at,
                    format!("expected a string in quotes: `{written}` is text, such as {written} = {example}"),
                ));
            }
            (Name::Column(column @ (Column::Status | Column::Trigger)), Literal::Text(text))
                if matches!(op, Op::Eq | Op::Ne) =>
            {
                let known: &[&str] = if *column == Column::Status {
                    &STATUSES
                } else {
                    &TRIGGERS
                };
                if !known.contains(&text.as_str()) {
                    return Err(self.fail(value_at, format!("expected a {written}: one of {}", known.join(", "))));
                }
            }
            _ => {}
        }
        Ok(Comparison { name, op, value })
    }

    /// A name: unquoted characters and `backquoted` parts (for keys with spaces or symbols),
    /// then what it refers to. Returns it with the text as decoded.
    fn name(&mut self) -> Result<(Name, String), SyntaxError> {
        let start = self.at;
        if !self.peek().is_some_and(|c| c.is_alphabetic() || c == '_' || c == '`') {
            return Err(self.fail(start, EXPECTED_NAME));
        }
        let mut text = String::new();
        loop {
            match self.peek() {
                Some('`') => {
                    let open = self.at;
                    self.at += 1;
                    let inner = self.take_while(|c| c != '`');
                    if self.at_end() {
                        return Err(self.fail(open, "unterminated name: no closing `"));
                    }
                    self.at += 1;
                    text.push_str(&inner);
                }
                Some(c) if name_char(c) => {
                    text.push(c);
                    self.at += 1;
                }
                _ => break,
            }
        }
        if text.ends_with('.') {
            return Err(self.fail(self.at, "expected the rest of the name after `.`"));
        }
        if let Some((_, column, _)) = COLUMNS.iter().find(|(n, _, _)| *n == text) {
            return Ok((Name::Column(*column), text));
        }
        if let Some(key) = text.strip_prefix("params.") {
            return Ok((Name::Param(key.into()), text));
        }
        if let Some(key) = text.strip_prefix("tags.") {
            return Ok((Name::Tag(key.into()), text));
        }
        // MLflow's spelling of a metric; the rest resolves as a bare name does.
        if let Some(metric) = text.strip_prefix("metrics.") {
            return Ok((Name::Metric(metric.into()), text));
        }
        if matches!(text.as_str(), "params" | "tags" | "metrics") {
            return Err(self.fail(
                self.at,
                format!("expected `.` and a key after `{text}`, such as {text}.seed"),
            ));
        }
        Ok((Name::Metric(text.clone()), text))
    }

    fn op(&mut self) -> Result<Op, SyntaxError> {
        let start = self.at;
        let symbol = self.take_while(|c| matches!(c, '=' | '!' | '<' | '>'));
        let op = match symbol.as_str() {
            "=" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "" => match self.word().to_ascii_lowercase().as_str() {
                "like" => Op::Like,
                "ilike" => Op::ILike,
                _ => return Err(self.fail(start, EXPECTED_OP)),
            },
            other => {
                let hint = match other {
                    "==" => " (`=` compares)",
                    "=>" => " (did you mean `>=`?)",
                    "=<" => " (did you mean `<=`?)",
                    "<>" => " (did you mean `!=`?)",
                    _ => "",
                };
                return Err(self.fail(start, format!("{EXPECTED_OP}; `{other}` is not one{hint}")));
            }
        };
        Ok(op)
    }

    fn value(&mut self) -> Result<Literal, SyntaxError> {
        let start = self.at;
        match self.peek() {
            Some(quote @ ('\'' | '"')) => {
                // SQL's escape: a doubled quote stands for one.
                self.at += 1;
                let mut text = String::new();
                loop {
                    match self.peek() {
                        None => return Err(self.fail(start, format!("unterminated string: no closing {quote}"))),
                        Some(c) if c == quote => {
                            self.at += 1;
                            if self.peek() == Some(quote) {
                                text.push(quote);
                                self.at += 1;
                            } else {
                                return Ok(Literal::Text(text));
                            }
                        }
                        Some(c) => {
                            text.push(c);
                            self.at += 1;
                        }
                    }
                }
            }
            Some(c) if c.is_ascii_digit() || matches!(c, '+' | '-' | '.') => {
                let text = self.take_while(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'));
                match text.parse::<f64>() {
                    // `-inf`, `nan` and 1e999 parse, but no metric is compared with them.
                    Ok(n) if n.is_finite() => Ok(Literal::Number(n)),
                    _ => Err(self.fail(start, format!("expected a number, found `{text}`"))),
                }
            }
            Some(c) if c.is_alphabetic() || c == '_' => {
                let word = self.word();
                Err(self.fail(start, format!("{EXPECTED_VALUE}; text goes in quotes: '{word}'")))
            }
            _ => Err(self.fail(start, EXPECTED_VALUE)),
        }
    }
}

/// A run's value for a name: metrics are numbers, columns and tags text, params either.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Value {
    Number(f64),
    Text(String),
}

impl Value {
    fn from_param(value: &serde_json::Value) -> Value {
        match value {
            serde_json::Value::Number(n) => n.as_f64().map_or_else(|| Value::Text(n.to_string()), Value::Number),
            serde_json::Value::String(s) => Value::Text(s.clone()),
            other => Value::Text(other.to_string()),
        }
    }

    /// The number, also of text that is one (a param given as "20").
    fn number(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            Value::Text(t) => t.trim().parse().ok().filter(|n: &f64| n.is_finite()),
        }
    }

    fn text(&self) -> Cow<'_, str> {
        match self {
            Value::Number(n) => Cow::Owned(n.to_string()),
            Value::Text(t) => Cow::Borrowed(t),
        }
    }

    /// The order of `--order-by`: numbers by value, before text by characters.
    fn sort_cmp(&self, other: &Value) -> Ordering {
        match (self.number(), other.number()) {
            (Some(a), Some(b)) => a.total_cmp(&b),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => self.text().cmp(&other.text()),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl Comparison {
    fn holds(&self, stored: &Value) -> bool {
        let ordering = match (&self.op, &self.value) {
            (Op::Like | Op::ILike, Literal::Text(pattern)) => {
                return like(&stored.text(), pattern, self.op == Op::ILike);
            }
            (Op::Like | Op::ILike, Literal::Number(_)) => return false,
            (_, Literal::Number(n)) => match stored.number() {
                Some(s) => s.partial_cmp(n),
                None => None,
            },
            (_, Literal::Text(t)) => Some(stored.text().as_ref().cmp(t.as_str())),
        };
        let Some(ordering) = ordering else {
            return false;
        };
        match self.op {
            Op::Eq => ordering.is_eq(),
            Op::Ne => ordering.is_ne(),
            Op::Lt => ordering.is_lt(),
            Op::Le => ordering.is_le(),
            Op::Gt => ordering.is_gt(),
            Op::Ge => ordering.is_ge(),
            Op::Like | Op::ILike => false,
        }
    }
}

/// SQL LIKE: `%` any run of characters, `_` any one; no escape character.
fn like(text: &str, pattern: &str, ignore_case: bool) -> bool {
    let fold = |s: &str| -> Vec<char> {
        if ignore_case {
            s.to_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    let (t, p) = (fold(text), fold(pattern));
    // Greedy matching that backtracks to the last `%`: linear in practice, no recursion.
    let (mut ti, mut pi) = (0, 0);
    let mut last_star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '%' {
            last_star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '_' || p[pi] == t[ti]) {
            ti += 1;
            pi += 1;
        } else if let Some((star, matched)) = last_star {
            pi = star + 1;
            ti = matched + 1;
            last_star = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '%')
}

/// What the registry knows of one run, as far as filters and sort keys can name it.
#[derive(Debug, Clone)]
pub struct RunFacts {
    pub summary: RunSummary,
    /// name (`step.key`) -> last value by step index.
    pub metrics: BTreeMap<String, f64>,
    /// key as stored (`params.seed`, `train.epochs`) -> value.
    pub params: BTreeMap<String, serde_json::Value>,
    pub tags: BTreeMap<String, String>,
}

impl RunFacts {
    fn value(&self, name: &Name, option: &'static str) -> Result<Option<Value>, Ambiguous> {
        let s = &self.summary;
        Ok(match name {
            Name::Metric(m) => self.metric(m, option)?.map(|(_, v)| Value::Number(v)),
            Name::Param(k) => self
                .params
                .get(&format!("params.{k}"))
                .or_else(|| self.params.get(k))
                .map(Value::from_param),
            Name::Tag(k) => self.tags.get(k).map(|t| Value::Text(t.clone())),
            Name::Column(c) => Some(Value::Text(
                match c {
                    Column::Status => &s.status,
                    Column::Pipeline => &s.pipeline,
                    Column::Experiment => &s.experiment,
                    Column::Trigger => &s.trigger,
                    Column::StartedAt => &s.started_at,
                }
                .clone(),
            )),
        })
    }

    /// The metric `name` names in this run: the one called so, else the only one whose name
    /// ends with `.name`. `None` when the run has neither.
    pub fn metric(&self, name: &str, option: &'static str) -> Result<Option<(&str, f64)>, Ambiguous> {
        use crate::ml::gate::{find, Named};
        match find(name, self.metrics.keys()) {
            Named::One(full) => Ok(self.metrics.get_key_value(full).map(|(k, v)| (k.as_str(), *v))),
            Named::None => Ok(None),
            Named::Several(all) => Err(Ambiguous {
                option,
                name: name.to_string(),
                run: self.summary.id.clone(),
                candidates: all.iter().map(|k| k.to_string()).collect(),
            }),
        }
    }
}

/// A run that passed the filter, with its values of the sort keys (`None` where it has none).
#[derive(Debug, Clone)]
pub struct Selected {
    pub summary: RunSummary,
    pub order_values: Vec<Option<Value>>,
}

/// The runs (given newest first) that pass `filter`, ordered by `order` (ties and the
/// no-key case keep newest first; runs without a key's value come after those with one, in
/// either direction), at most `limit` of them.
pub fn select(
    runs: Vec<RunFacts>,
    filter: &Filter,
    order: &[OrderKey],
    limit: Option<usize>,
) -> Result<Vec<Selected>, Ambiguous> {
    let mut kept = Vec::new();
    for run in runs {
        let mut passes = true;
        // Every comparison is resolved, even after one has failed, so an ambiguous name is an
        // error whatever the order the comparisons are written in.
        for c in &filter.comparisons {
            let value = run.value(&c.name, "--where")?;
            passes &= value.is_some_and(|v| c.holds(&v));
        }
        if !passes {
            continue;
        }
        let order_values = order
            .iter()
            .map(|k| run.value(&k.name, "--order-by"))
            .collect::<Result<Vec<_>, _>>()?;
        kept.push(Selected {
            summary: run.summary,
            order_values,
        });
    }
    // A stable sort: equal keys stay newest first.
    kept.sort_by(|a, b| {
        order
            .iter()
            .zip(a.order_values.iter().zip(&b.order_values))
            .map(|(key, pair)| match pair {
                (Some(x), Some(y)) if key.descending => y.sort_cmp(x),
                (Some(x), Some(y)) => x.sort_cmp(y),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    if let Some(n) = limit {
        kept.truncate(n);
    }
    Ok(kept)
}

/// Which kinds of values a filter and sort keys name, so the registry fetches only those.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    pub metrics: bool,
    pub params: bool,
    pub tags: bool,
}

impl Needs {
    pub fn of(filter: &Filter, order: &[OrderKey]) -> Needs {
        let names = filter
            .comparisons
            .iter()
            .map(|c| &c.name)
            .chain(order.iter().map(|k| &k.name));
        names.fold(Needs::default(), |n, name| Needs {
            metrics: n.metrics || matches!(name, Name::Metric(_)),
            params: n.params || matches!(name, Name::Param(_)),
            tags: n.tags || matches!(name, Name::Tag(_)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(name: Name, op: Op, value: Literal) -> Comparison {
        Comparison { name, op, value }
    }

    fn metric(n: &str) -> Name {
        Name::Metric(n.into())
    }

    /// The error's message and the caret's position.
    fn error(text: &str) -> (String, usize) {
        let e = Filter::parse(text).unwrap_err();
        (e.message, e.at)
    }

    #[test]
    fn comparisons_joined_by_and_parse() {
        let f = Filter::parse("evaluate.f1 >= 0.8 and params.train.epochs = 20").unwrap();
        assert_eq!(
            f.comparisons,
            [
                cmp(metric("evaluate.f1"), Op::Ge, Literal::Number(0.8)),
                cmp(Name::Param("train.epochs".into()), Op::Eq, Literal::Number(20.0)),
            ]
        );
        let f = Filter::parse(
            "  f1<1e-3 AND status != 'failed' And tags.`owner name`=\"it's\" and pipeline LIKE 'pump%' and x>-2",
        )
        .unwrap();
        assert_eq!(
            f.comparisons,
            [
                cmp(metric("f1"), Op::Lt, Literal::Number(0.001)),
                cmp(Name::Column(Column::Status), Op::Ne, Literal::Text("failed".into())),
                cmp(Name::Tag("owner name".into()), Op::Eq, Literal::Text("it's".into())),
                cmp(Name::Column(Column::Pipeline), Op::Like, Literal::Text("pump%".into())),
                cmp(metric("x"), Op::Gt, Literal::Number(-2.0)),
            ]
        );
        let f = Filter::parse("metrics.f1 <= 1 and started_at > '2026-01-01' and experiment ilike 'P%'").unwrap();
        assert_eq!(f.comparisons[0].name, metric("f1"));
        assert_eq!(f.comparisons[1].name, Name::Column(Column::StartedAt));
        assert_eq!(f.comparisons[2].op, Op::ILike);
        assert_eq!(
            Filter::parse("tags.x = 'a''b'").unwrap().comparisons[0].value,
            Literal::Text("a'b".into())
        );
        assert!(Filter::parse("").unwrap().is_empty());
        assert!(Filter::parse("   ").unwrap().is_empty());
    }

    #[test]
    fn each_error_points_at_its_place() {
        let (m, at) = error("evaluate.f1 => 0.8");
        assert!(
            m.starts_with("expected a comparison operator (=, !=, <, <=, >, >=)"),
            "{m}"
        );
        assert!(m.contains("did you mean `>=`?"), "{m}");
        assert_eq!(at, 12);
        assert_eq!(error("evaluate.f1 0.8"), (EXPECTED_OP.to_string(), 12));
        assert_eq!(error("evaluate.f1").1, 11, "at the end");
        assert_eq!(error("evaluate.f1 >= ").0, EXPECTED_VALUE);
        assert_eq!(error("evaluate.f1 >= ").1, 15);
        assert_eq!(error("f1 > 0.8.1"), ("expected a number, found `0.8.1`".into(), 5));
        assert_eq!(error("f1 > -inf").1, 5);
        assert_eq!(error("f1 > 0.5 or f1 < 0.1").1, 9);
        assert!(error("f1 > 0.5 or f1 < 0.1").0.contains("not `or`"));
        assert_eq!(
            error("f1 > 0.5 & f1 < 0.9"),
            ("expected `and` or the end of the expression".into(), 9)
        );
        assert_eq!(error("f1 > 0.5 and").0, EXPECTED_NAME);
        assert_eq!(error("f1 > 0.5 and").1, 12);
        assert_eq!(error("0.5 < f1"), (EXPECTED_NAME.to_string(), 0));
        assert_eq!(
            error("status = 'succeeded"),
            ("unterminated string: no closing '".into(), 9)
        );
        assert_eq!(error("status = succeeded").1, 9);
        assert!(error("status = succeeded").0.contains("'succeeded'"));
        assert_eq!(error("status = 'done'").1, 9);
        assert!(error("status = 'done'").0.contains("succeeded, failed"));
        assert_eq!(error("status = 3").1, 9);
        assert!(error("status = 3").0.contains("status = 'succeeded'"));
        assert_eq!(
            error("f1 = 'high'"),
            ("expected a number: metric `f1` is a number".into(), 5)
        );
        assert_eq!(error("f1 like 'a%'").1, 3);
        assert_eq!(error("pipeline like 3").1, 14);
        assert_eq!(error("params. = 1").1, 7);
        assert_eq!(error("params = 1").1, 6);
        assert_eq!(error("tags.`a b = 'x'"), ("unterminated name: no closing `".into(), 5));
        // Positions count characters, not bytes.
        assert_eq!(error("température => 1").1, 12);
    }

    #[test]
    fn the_message_shows_the_expression_with_a_caret() {
        let e = Filter::parse("evaluate.f1 => 0.8").unwrap_err();
        let shown = e.to_string();
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines[1], "  evaluate.f1 => 0.8");
        assert_eq!(lines[2], "              ^");
    }

    #[test]
    fn order_keys_parse_with_ascending_by_default() {
        let k = OrderKey::parse("evaluate.pr_auc:desc").unwrap();
        assert_eq!((k.text.as_str(), k.descending), ("evaluate.pr_auc", true));
        assert_eq!(k.name, metric("evaluate.pr_auc"));
        assert!(!OrderKey::parse("f1").unwrap().descending);
        assert!(!OrderKey::parse("f1:ASC").unwrap().descending);
        assert!(OrderKey::parse("params.seed DESC").unwrap().descending);
        assert_eq!(
            OrderKey::parse("started_at").unwrap().name,
            Name::Column(Column::StartedAt)
        );
        let e = OrderKey::parse("f1:down").unwrap_err();
        assert_eq!(e.at, 3);
        assert_eq!(OrderKey::parse("f1:").unwrap_err().at, 3);
        assert_eq!(OrderKey::parse("f1:desc x").unwrap_err().at, 8);
        assert_eq!(OrderKey::parse(":desc").unwrap_err().at, 0);
    }

    #[test]
    fn like_matches_sql_wildcards() {
        assert!(like("pump-failure", "pump%", false));
        assert!(like("pump-failure", "%fail%", false));
        assert!(like("pump-failure", "pump_failure", false));
        assert!(!like("pump-failure", "Pump%", false));
        assert!(like("pump-failure", "Pump%", true));
        assert!(like("", "%", false));
        assert!(!like("abc", "ab", false));
        assert!(like("aXbXc", "a%b%c", false));
        assert!(like("mississippi", "%ss%ss%i", false));
        assert!(!like("mississippi", "%ss%ss%ss%", false));
    }

    fn run(id: &str, metrics: &[(&str, f64)], params: &[(&str, serde_json::Value)]) -> RunFacts {
        RunFacts {
            summary: RunSummary {
                id: id.into(),
                experiment: "pumps".into(),
                pipeline: "p".into(),
                status: "succeeded".into(),
                trigger: "manual".into(),
                started_at: "2026-01-01T00:00:00.000Z".into(),
                ended_at: None,
                fire_at: None,
            },
            metrics: metrics.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            params: params.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            tags: BTreeMap::new(),
        }
    }

    fn ids(selected: &[Selected]) -> Vec<&str> {
        selected.iter().map(|s| s.summary.id.as_str()).collect()
    }

    fn runs() -> Vec<RunFacts> {
        use serde_json::json;
        // Newest first, as the registry lists them.
        vec![
            run("d", &[("evaluate.f1", 0.7)], &[("train.epochs", json!(10))]),
            run(
                "c",
                &[("evaluate.f1", 0.9), ("evaluate.pr_auc", 0.5)],
                &[("train.epochs", json!(20))],
            ),
            run("b", &[], &[("train.epochs", json!("20")), ("params.seed", json!(7))]),
            run(
                "a",
                &[("evaluate.f1", 0.85), ("evaluate.pr_auc", 0.6)],
                &[("train.epochs", json!(20))],
            ),
        ]
    }

    fn order(texts: &[&str]) -> Vec<OrderKey> {
        texts.iter().map(|t| OrderKey::parse(t).unwrap()).collect()
    }

    #[test]
    fn filters_order_then_limit() {
        let f = Filter::parse("evaluate.f1 >= 0.8 and params.train.epochs = 20").unwrap();
        let got = select(runs(), &f, &order(&["evaluate.pr_auc:desc"]), None).unwrap();
        assert_eq!(ids(&got), ["a", "c"]);
        assert_eq!(got[0].order_values, [Some(Value::Number(0.6))]);
        let got = select(runs(), &f, &order(&["evaluate.pr_auc:desc"]), Some(1)).unwrap();
        assert_eq!(ids(&got), ["a"], "the limit applies after ordering");
        // A param stored as text still compares as the number it is.
        let f = Filter::parse("params.train.epochs = 20").unwrap();
        assert_eq!(ids(&select(runs(), &f, &[], None).unwrap()), ["c", "b", "a"]);
        // `params.seed` is the pipeline parameter, stored under that name.
        let f = Filter::parse("params.seed = 7").unwrap();
        assert_eq!(ids(&select(runs(), &f, &[], None).unwrap()), ["b"]);
        // A run without the value fails every comparison, `!=` too.
        let f = Filter::parse("f1 != 0.7").unwrap();
        assert_eq!(ids(&select(runs(), &f, &[], None).unwrap()), ["c", "a"]);
    }

    #[test]
    fn runs_missing_the_value_sort_last_either_way() {
        let none = Filter::default();
        let asc = select(runs(), &none, &order(&["pr_auc"]), None).unwrap();
        assert_eq!(ids(&asc), ["c", "a", "d", "b"], "missing last, newest first among them");
        let desc = select(runs(), &none, &order(&["pr_auc:desc"]), None).unwrap();
        assert_eq!(ids(&desc), ["a", "c", "d", "b"]);
        assert_eq!(desc[2].order_values, [None]);
        // Ties fall through to the next key, then to newest first.
        let two = select(runs(), &none, &order(&["params.train.epochs:desc", "f1"]), None).unwrap();
        assert_eq!(ids(&two), ["a", "c", "b", "d"]);
        let status = select(runs(), &none, &order(&["status"]), Some(2)).unwrap();
        assert_eq!(ids(&status), ["d", "c"]);
    }

    #[test]
    fn a_suffix_resolves_per_run_and_ambiguity_names_the_candidates() {
        let mut facts = runs();
        facts.push(run("e", &[("train.threshold", 0.4), ("evaluate.threshold", 0.5)], &[]));
        facts.push(run("f", &[("evaluate.threshold", 0.3), ("threshold", 0.1)], &[]));
        facts.push(run("g", &[("train.val_f1", 0.99)], &[]));
        let f = Filter::parse("f1 > 0.8").unwrap();
        assert_eq!(
            ids(&select(facts.clone(), &f, &[], None).unwrap()),
            ["c", "a"],
            "`val_f1` is not `.f1`"
        );
        // An exact name wins over suffixes.
        let f = Filter::parse("threshold < 0.2").unwrap();
        let only_f: Vec<RunFacts> = facts.iter().filter(|r| r.summary.id == "f").cloned().collect();
        assert_eq!(ids(&select(only_f, &f, &[], None).unwrap()), ["f"]);
        let e = select(facts.clone(), &f, &[], None).unwrap_err();
        assert_eq!(e.run, "e");
        assert_eq!(e.candidates, ["evaluate.threshold", "train.threshold"]);
        let shown = e.to_string();
        assert!(
            shown.starts_with("--where: metric `threshold` is ambiguous in run e: evaluate.threshold, train.threshold"),
            "{shown}"
        );
        let e = select(facts, &Filter::default(), &order(&["threshold"]), None).unwrap_err();
        assert_eq!(e.option, "--order-by");
    }

    #[test]
    fn needs_name_only_what_is_used() {
        let f = Filter::parse("status = 'failed' and tags.x = 'y'").unwrap();
        let n = Needs::of(&f, &order(&["f1"]));
        assert_eq!(
            n,
            Needs {
                metrics: true,
                params: false,
                tags: true
            }
        );
    }
}
