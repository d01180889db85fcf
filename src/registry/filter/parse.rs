//! Reading `--where` and `--order-by` text into a [`Filter`] and [`OrderKey`]s, with the
//! position of the first mistake.

use super::{Column, Comparison, Filter, Literal, Name, Op, OrderKey, SyntaxError};

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

pub(super) const EXPECTED_NAME: &str = "expected a name: a metric (evaluate.f1, or a unique suffix such as f1), params.<key>, tags.<key>, status, pipeline, experiment, trigger or started_at";
pub(super) const EXPECTED_OP: &str = "expected a comparison operator (=, !=, <, <=, >, >=), LIKE or ILIKE";
pub(super) const EXPECTED_VALUE: &str = "expected a value: a number, or a string in quotes ('x' or \"x\")";

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
