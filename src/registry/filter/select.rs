//! Judging runs against a parsed filter and ordering them by sort keys, over the values the
//! registry fetched ([`RunFacts`]).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use super::{Ambiguous, Column, Comparison, Filter, Literal, Name, Op, OrderKey};
use crate::registry::run_summary::RunSummary;

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
pub(super) fn like(text: &str, pattern: &str, ignore_case: bool) -> bool {
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
