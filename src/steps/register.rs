//! The `register` step's settings, its promotion gate among them. Registering writes the
//! registry, which steps never open, so the runner carries the step out (`exec::register`); the
//! gate is judged by the pure `ml::gate` (`check_conditions`), as `compare` judges there too.

pub use crate::ml::gate::{check_conditions, Bound, Condition, GateOutcome, Holder};
use crate::pipeline::fields::Fields;
use crate::pipeline::node::{Node, Value};
use crate::steps::ports::{Input, Output, OutputKind, Ports, NO_UPSTREAM_MODEL};

#[derive(Debug, Clone, PartialEq)]
pub struct RegisterParams {
    /// The model's name; None: the pipeline's name.
    pub model: Option<String>,
    pub description: Option<String>,
    pub promote: Option<Promote>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Promote {
    pub alias: String,
    pub when: Vec<Condition>,
}

/// Names an alias or a model may take: letters, digits, `-`, `_`, `.`; not starting with `v`
/// and a digit (that spells a version, `@v7`).
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    let looks_like_version = name.starts_with('v') && name[1..].chars().all(|c| c.is_ascii_digit()) && name.len() > 1;
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && !looks_like_version
}

pub fn parse(f: &mut Fields) -> Option<RegisterParams> {
    let model = f.optional_str("model");
    if let Some(name) = &model {
        if !valid_name(name) {
            let pos = f.node("model").map(|n| n.pos).unwrap_or(f.pos());
            f.error(
                pos,
                format!("`model: {name}` is not a model name: use letters, digits, `-`, `_` and `.`"),
            );
        }
    }
    let description = f.optional_str("description");
    let promote = match f.node("promote") {
        Some(node) => parse_promote(node, f),
        None => None,
    };
    Some(RegisterParams {
        model,
        description,
        promote,
    })
}

fn parse_promote(node: &Node, f: &mut Fields) -> Option<Promote> {
    let base = f.context().to_string();
    let mut p = Fields::new(node, format!("{base} `promote`"), f.diags)?;
    let alias = p.required_str("alias", " (the alias to move, such as `production`)");
    if let Some(a) = &alias {
        if !valid_name(a) {
            let pos = p.node("alias").map(|n| n.pos).unwrap_or(p.pos());
            p.error(
                pos,
                format!("`alias: {a}` is not an alias name: use letters, digits, `-`, `_` and `.`, and not `v` and a number"),
            );
        }
    }
    let mut when = Vec::new();
    if let Some(list) = p.node("when") {
        let items: Vec<&Node> = match &list.value {
            Value::Seq(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            _ => vec![list],
        };
        for item in items {
            let Some(mut c) = Fields::new(item, format!("{base} `promote.when`"), p.diags) else {
                continue;
            };
            if let Some(condition) = parse_condition(&mut c) {
                when.push(condition);
            }
            c.finish();
        }
    }
    p.finish();
    Some(Promote { alias: alias?, when })
}

const BOUNDS: &str = "`min`, `max`, `max-drop` (with `vs`) or `max-rise` (with `vs`)";

fn parse_condition(c: &mut Fields) -> Option<Condition> {
    let metric = c.required_str("metric", " (a metric of this run, such as `evaluate.f1`)");
    let min = c.optional_f64("min", f64::MIN, f64::MAX);
    let max = c.optional_f64("max", f64::MIN, f64::MAX);
    let drop = c.optional_f64("max-drop", 0.0, f64::MAX);
    let rise = c.optional_f64("max-rise", 0.0, f64::MAX);
    let vs = c.optional_str("vs");
    let given = [min.is_some(), max.is_some(), drop.is_some(), rise.is_some()]
        .iter()
        .filter(|g| **g)
        .count();
    if given != 1 {
        let pos = c.pos();
        c.error(pos, format!("a condition takes exactly one of {BOUNDS}"));
        return None;
    }
    let bound = match (min, max, drop, rise) {
        (Some(v), ..) => Bound::Min(v),
        (_, Some(v), ..) => Bound::Max(v),
        (_, _, Some(drop), _) | (_, _, _, Some(drop)) => {
            let Some(vs) = vs.clone() else {
                let pos = c.pos();
                c.error(
                    pos,
                    "`max-drop` and `max-rise` compare with an alias's holder: add `vs: ALIAS` (such as `vs: production`)",
                );
                return None;
            };
            if rise.is_some() {
                Bound::MaxRise { rise: drop, vs }
            } else {
                Bound::MaxDrop { drop, vs }
            }
        }
        _ => unreachable!("exactly one bound is given"),
    };
    if vs.is_some() && bound.vs().is_none() {
        let pos = c.node("vs").map(|n| n.pos).unwrap_or(c.pos());
        c.error(
            pos,
            "`vs` only goes with `max-drop` or `max-rise`; `min` and `max` are absolute",
        );
    }
    Some(Condition { metric: metric?, bound })
}

/// The table the model trained on, from its card: (`step`, `part`, sha256) of the input whose
/// part is `train` (after SMOTE, when SMOTE ran). None when the card names no such input.
pub fn training_table(card: &[u8]) -> Result<Option<(String, String, String)>, crate::steps::context::StepError> {
    let card = crate::model::card::ModelCard::parse(card)?;
    Ok(card.training_data.into_iter().find_map(|(name, sha256)| {
        let (step, part) = name.rsplit_once('/')?;
        (part == "train").then(|| (step.to_string(), part.to_string(), sha256))
    }))
}

/// Reads the model trained upstream and its run's metrics; registers it.
pub fn ports(_: &RegisterParams) -> Ports<'static> {
    Ports {
        inputs: vec![Input::UpstreamModel {
            missing: NO_UPSTREAM_MODEL,
        }],
        // Written by the runner, which registers.
        outputs: vec![Output::of(OutputKind::Report, "registration")],
        effect: super::Effect::None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::ml::gate::check_conditions as judge;
    use crate::steps::parse_with;

    fn metrics(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn gate() -> Vec<Condition> {
        let p = parse_with(
            "{promote: {alias: production, when: [{metric: evaluate.f1, min: 0.8}, {metric: pr_auc, max-drop: 0.01, vs: production}, {metric: evaluate.false_alarm_rate, max: 0.05}]}}",
            parse,
        );
        p.promote.unwrap().when
    }

    fn holders(holder: Option<Holder>) -> BTreeMap<String, Option<Holder>> {
        BTreeMap::from([("production".to_string(), holder)])
    }

    #[test]
    fn a_better_candidate_passes_and_each_condition_shows_its_figures() {
        let candidate = metrics(&[
            ("evaluate.f1", 0.85),
            ("evaluate.pr_auc", 0.905),
            ("evaluate.false_alarm_rate", 0.02),
        ]);
        let holder = Holder {
            version: 3,
            metrics: metrics(&[("evaluate.f1", 0.82), ("evaluate.pr_auc", 0.91)]),
        };
        let outcome = judge(&gate(), &candidate, &holders(Some(holder)));
        assert!(outcome.passed, "{outcome:?}");
        assert_eq!(outcome.checks[0].reason, "0.85 >= 0.8");
        assert_eq!(
            outcome.checks[1].metric, "evaluate.pr_auc",
            "a unique suffix names the metric"
        );
        assert_eq!(outcome.checks[1].reason, "0.905 >= 0.9 (0.91 on v3 - 0.01)");
        assert_eq!(outcome.checks[2].reason, "0.02 <= 0.05");
    }

    #[test]
    fn a_regression_beyond_the_allowed_drop_fails() {
        let candidate = metrics(&[
            ("evaluate.f1", 0.85),
            ("evaluate.pr_auc", 0.89),
            ("evaluate.false_alarm_rate", 0.02),
        ]);
        let holder = Holder {
            version: 3,
            metrics: metrics(&[("evaluate.pr_auc", 0.91)]),
        };
        let outcome = judge(&gate(), &candidate, &holders(Some(holder)));
        assert!(!outcome.passed);
        assert!(!outcome.checks[1].passed);
        assert_eq!(outcome.checks[1].reason, "0.89 < 0.9 (0.91 on v3 - 0.01)");
    }

    #[test]
    fn a_missing_metric_fails_on_either_side() {
        let candidate = metrics(&[("evaluate.pr_auc", 0.95), ("evaluate.false_alarm_rate", 0.02)]);
        let holder = Holder {
            version: 1,
            metrics: metrics(&[("evaluate.f1", 0.5)]),
        };
        let outcome = judge(&gate(), &candidate, &holders(Some(holder)));
        assert!(!outcome.passed);
        assert_eq!(outcome.checks[0].reason, "`evaluate.f1` is missing in this run");
        assert_eq!(
            outcome.checks[1].reason,
            "`evaluate.pr_auc` is missing on `production` (v1)"
        );
        // NaN counts as missing.
        let candidate = metrics(&[
            ("evaluate.f1", f64::NAN),
            ("evaluate.pr_auc", 0.95),
            ("evaluate.false_alarm_rate", 0.0),
        ]);
        assert!(!judge(&gate(), &candidate, &holders(None)).checks[0].passed);
    }

    #[test]
    fn with_no_holder_yet_only_absolute_thresholds_apply() {
        let candidate = metrics(&[
            ("evaluate.f1", 0.81),
            ("evaluate.pr_auc", 0.1),
            ("evaluate.false_alarm_rate", 0.05),
        ]);
        let outcome = judge(&gate(), &candidate, &holders(None));
        assert!(outcome.passed, "{outcome:?}");
        assert_eq!(
            outcome.checks[1].reason,
            "no version holds `production` yet: not applied"
        );
        let worse = metrics(&[
            ("evaluate.f1", 0.79),
            ("evaluate.pr_auc", 0.1),
            ("evaluate.false_alarm_rate", 0.05),
        ]);
        assert!(!judge(&gate(), &worse, &holders(None)).passed);
    }

    #[test]
    fn lower_is_better_metrics_take_max_rise() {
        let p = parse_with(
            "{promote: {alias: champion, when: [{metric: evaluate.false_alarm_rate, max-rise: 0.01, vs: champion}]}}",
            parse,
        );
        let when = p.promote.unwrap().when;
        let holder = Holder {
            version: 2,
            metrics: metrics(&[("evaluate.false_alarm_rate", 0.03)]),
        };
        let h = BTreeMap::from([("champion".to_string(), Some(holder))]);
        assert!(judge(&when, &metrics(&[("evaluate.false_alarm_rate", 0.035)]), &h).passed);
        let outcome = judge(&when, &metrics(&[("evaluate.false_alarm_rate", 0.05)]), &h);
        assert_eq!(outcome.checks[0].reason, "0.05 > 0.04 (0.03 on v2 + 0.01)");
    }

    /// A gate on a suffix two metrics end with says so, as `compare --metric` does, instead of
    /// calling the metric missing.
    #[test]
    fn an_ambiguous_gate_metric_lists_what_it_matches() {
        let when = parse_with("{promote: {alias: production, when: [{metric: f1, min: 0.5}]}}", parse)
            .promote
            .unwrap()
            .when;
        let outcome = judge(
            &when,
            &metrics(&[("evaluate.f1", 0.9), ("val.f1", 0.8)]),
            &holders(None),
        );
        assert!(!outcome.passed);
        assert_eq!(
            outcome.checks[0].reason,
            "`f1` matches several metrics (evaluate.f1, val.f1); name one in full"
        );
    }

    /// A value exactly at a limit written in decimals meets it: 0.07 - 0.01 is
    /// 0.06000000000000001 and 0.06 + 0.01 is 0.06999999999999999 in binary.
    #[test]
    fn a_drop_or_rise_equal_to_the_allowed_one_passes() {
        let gate = |bound: &str| {
            parse_with(
                &format!("{{promote: {{alias: production, when: [{{metric: evaluate.x, {bound}, vs: production}}]}}}}"),
                parse,
            )
            .promote
            .unwrap()
            .when
        };
        let held = |v: f64| {
            holders(Some(Holder {
                version: 1,
                metrics: metrics(&[("evaluate.x", v)]),
            }))
        };
        let drop = judge(&gate("max-drop: 0.01"), &metrics(&[("evaluate.x", 0.06)]), &held(0.07));
        assert!(drop.passed, "{drop:?}");
        assert_eq!(drop.checks[0].reason, "0.06 >= 0.06 (0.07 on v1 - 0.01)");
        let rise = judge(&gate("max-rise: 0.01"), &metrics(&[("evaluate.x", 0.07)]), &held(0.06));
        assert!(rise.passed, "{rise:?}");
        assert!(
            !judge(
                &gate("max-drop: 0.01"),
                &metrics(&[("evaluate.x", 0.0599)]),
                &held(0.07)
            )
            .passed
        );
        let min = parse_with("{promote: {alias: p, when: [{metric: evaluate.x, min: 0.3}]}}", parse)
            .promote
            .unwrap()
            .when;
        // A metric computed as 0.7 - 0.4 is 0.29999999999999993: it meets `min: 0.3`.
        assert!(judge(&min, &metrics(&[("evaluate.x", 0.7 - 0.4)]), &holders(None)).passed);
    }

    #[test]
    fn bad_settings_are_refused_with_the_reason() {
        let problems = |yaml: &str| {
            let node = crate::pipeline::yaml::parse(yaml).unwrap();
            let mut diags = crate::pipeline::Diagnostics::new("t.yaml", Vec::new());
            let mut f = Fields::new(&node, "with", &mut diags).unwrap();
            let _ = parse(&mut f);
            f.finish();
            diags.to_string()
        };
        assert!(
            problems("{promote: {alias: production, when: [{metric: f1, min: 0.8, max: 0.9}]}}")
                .contains("exactly one of")
        );
        assert!(
            problems("{promote: {alias: production, when: [{metric: f1, max-drop: 0.01}]}}")
                .contains("add `vs: ALIAS`")
        );
        assert!(problems("{promote: {alias: v7}}").contains("not an alias name"));
        assert!(problems("{promote: {when: []}}").contains("alias"));
        assert!(problems("{model: 'a b'}").contains("not a model name"));
    }
}
