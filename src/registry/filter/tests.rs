//! The filter language, parsed and judged, with known answers.

use std::collections::BTreeMap;

use super::parse::{EXPECTED_NAME, EXPECTED_OP, EXPECTED_VALUE};
use super::select::like;
use super::*;
use crate::registry::run_summary::RunSummary;

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
