//! A register step's promotion gate, judged: which conditions (`min`, `max`, `max-drop`,
//! `max-rise` against an alias's holder) a candidate's metrics meet, each with its figures.
//!
//! The gate follows MLflow's `MetricThreshold`: a metric missing on either side fails its
//! condition; a condition relative to an alias nobody holds yet is not applied, so the first
//! version can be promoted on absolute thresholds alone.

use std::collections::BTreeMap;

use serde::Serialize;

use super::names::{find, MetricError, Named};

/// One condition of a gate, on one metric of the candidate run.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// A metric name (`evaluate.f1`) or a unique suffix of one (`f1`).
    pub metric: String,
    pub bound: Bound,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    /// candidate >= this.
    Min(f64),
    /// candidate <= this.
    Max(f64),
    /// candidate >= holder - drop (higher is better): at most this absolute drop.
    MaxDrop { drop: f64, vs: String },
    /// candidate <= holder + rise (lower is better, e.g. a false-alarm rate).
    MaxRise { rise: f64, vs: String },
}

impl Bound {
    /// The alias a relative bound compares with.
    pub fn vs(&self) -> Option<&str> {
        match self {
            Bound::MaxDrop { vs, .. } | Bound::MaxRise { vs, .. } => Some(vs),
            _ => None,
        }
    }
}

/// The version holding an alias, with its run's final metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct Holder {
    pub version: i64,
    pub metrics: BTreeMap<String, f64>,
}

/// One condition as judged, with its figures: printed, logged and kept in the alias history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// The condition as the user wrote it (`evaluate.f1 >= 0.8`).
    pub condition: String,
    /// The metric's full name, once resolved.
    pub metric: String,
    pub candidate: Option<f64>,
    /// The holder's value, for a relative condition.
    pub holder: Option<f64>,
    pub holder_version: Option<i64>,
    pub passed: bool,
    /// Why, in words (`0.71 < 0.80`, `no version holds production yet: not applied`).
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateOutcome {
    pub passed: bool,
    pub checks: Vec<Check>,
}

/// Judges `conditions` for a candidate with `metrics`; `holders` gives, per alias named by a
/// relative condition, its current holder (None: nobody holds it).
pub fn check_conditions(
    conditions: &[Condition],
    metrics: &BTreeMap<String, f64>,
    holders: &BTreeMap<String, Option<Holder>>,
) -> GateOutcome {
    let value_of = |m: &BTreeMap<String, f64>, name: &str| m.get(name).copied().filter(|v| v.is_finite());
    let checks: Vec<Check> = conditions
        .iter()
        .map(|c| {
            let condition = describe(c);
            // An ambiguous suffix is said as such (as `compare --metric` says it), not as missing.
            let (metric, candidate, ambiguous) = match find(&c.metric, metrics.keys()) {
                Named::One(full) => (full.to_string(), value_of(metrics, full), None),
                Named::None => (c.metric.clone(), None, None),
                Named::Several(all) => (
                    c.metric.clone(),
                    None,
                    Some(MetricError::ambiguous(&c.metric, &all).to_string()),
                ),
            };
            let mut check = Check {
                condition,
                metric: metric.clone(),
                candidate,
                holder: None,
                holder_version: None,
                passed: false,
                reason: String::new(),
            };
            let Some(value) = candidate else {
                check.reason = ambiguous.unwrap_or_else(|| format!("`{}` is missing in this run", c.metric));
                return check;
            };
            let (limit, higher_is_better) = match &c.bound {
                Bound::Min(t) => (*t, true),
                Bound::Max(t) => (*t, false),
                Bound::MaxDrop { drop, vs } | Bound::MaxRise { rise: drop, vs } => {
                    let Some(holder) = holders.get(vs).cloned().flatten() else {
                        check.passed = true;
                        check.reason = format!("no version holds `{vs}` yet: not applied");
                        return check;
                    };
                    check.holder_version = Some(holder.version);
                    let Some(theirs) = value_of(&holder.metrics, &metric) else {
                        check.reason = format!("`{metric}` is missing on `{vs}` (v{})", holder.version);
                        return check;
                    };
                    check.holder = Some(theirs);
                    match c.bound {
                        Bound::MaxDrop { .. } => (theirs - drop, true),
                        _ => (theirs + drop, false),
                    }
                }
            };
            // A value exactly at the limit in decimals meets it, whatever binary rounding did
            // to `holder - drop`.
            let figures = [check.holder.unwrap_or(limit), limit];
            check.passed = if higher_is_better {
                super::rounding::at_least(value, limit, &figures)
            } else {
                super::rounding::at_most(value, limit, &figures)
            };
            let sign = match (higher_is_better, check.passed) {
                (true, true) => ">=",
                (true, false) => "<",
                (false, true) => "<=",
                (false, false) => ">",
            };
            check.reason = match check.holder {
                Some(theirs) => format!(
                    "{} {sign} {} ({} on v{} {} {})",
                    figure(value),
                    figure(limit),
                    figure(theirs),
                    check.holder_version.unwrap_or(0),
                    if higher_is_better { "-" } else { "+" },
                    figure((limit - theirs).abs())
                ),
                None => format!("{} {sign} {}", figure(value), figure(limit)),
            };
            check
        })
        .collect();
    GateOutcome {
        passed: checks.iter().all(|c| c.passed),
        checks,
    }
}

/// A condition in one line, as a person would write it.
pub fn describe(c: &Condition) -> String {
    match &c.bound {
        Bound::Min(t) => format!("{} >= {}", c.metric, figure(*t)),
        Bound::Max(t) => format!("{} <= {}", c.metric, figure(*t)),
        Bound::MaxDrop { drop, vs } => format!("{} drops at most {} vs {vs}", c.metric, figure(*drop)),
        Bound::MaxRise { rise, vs } => format!("{} rises at most {} vs {vs}", c.metric, figure(*rise)),
    }
}

/// A figure with as many digits as it needs, up to 4 decimals.
fn figure(v: f64) -> String {
    let text = format!("{v:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() || text == "-" {
        "0".into()
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn on(metric: &str, bound: Bound) -> Condition {
        Condition {
            metric: metric.into(),
            bound,
        }
    }

    /// Known answers, one per bound: the verdict and the figures in words.
    #[test]
    fn each_bound_is_judged_with_its_figures() {
        let candidate = metrics(&[("evaluate.f1", 0.85), ("evaluate.fpr", 0.05)]);
        let holder = Holder {
            version: 4,
            metrics: metrics(&[("evaluate.f1", 0.9), ("evaluate.fpr", 0.03)]),
        };
        let holders = BTreeMap::from([("production".to_string(), Some(holder))]);
        let vs = "production".to_string();
        let outcome = check_conditions(
            &[
                on("f1", Bound::Min(0.8)),
                on("evaluate.fpr", Bound::Max(0.04)),
                on(
                    "f1",
                    Bound::MaxDrop {
                        drop: 0.05,
                        vs: vs.clone(),
                    },
                ),
                on("fpr", Bound::MaxRise { rise: 0.01, vs }),
            ],
            &candidate,
            &holders,
        );
        let seen: Vec<(bool, &str)> = outcome.checks.iter().map(|c| (c.passed, c.reason.as_str())).collect();
        assert_eq!(
            seen,
            [
                (true, "0.85 >= 0.8"),
                (false, "0.05 > 0.04"),
                (true, "0.85 >= 0.85 (0.9 on v4 - 0.05)"),
                (false, "0.05 > 0.04 (0.03 on v4 + 0.01)"),
            ]
        );
        assert!(!outcome.passed);
        assert_eq!(describe(&on("f1", Bound::Min(0.8))), "f1 >= 0.8");
    }
}
