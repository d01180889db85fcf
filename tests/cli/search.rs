//! `runs list --where ... --order-by ...` and `pmflow metrics` over real runs of a short
//! training pipeline (under a second each), trained for 1, 2 and 3 epochs.

use crate::support::Project;

/// load -> clean -> split -> a tiny LSTM -> evaluate on the sample data.
const FAST: &str = r#"name: fast-training
experiment: search
params:
  seed: 1
steps:
  - {id: load, kind: load, with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}
  - {id: clean, kind: clean, needs: [load], with: {impute: median}}
  - {id: split, kind: split, needs: [clean], with: {by: entity, seed: 1}}
  - {id: train, kind: train-lstm, needs: [split], with: {window: 2, hidden: 4, epochs: 2, patience: 100, seed: "${params.seed}"}}
  - {id: evaluate, kind: evaluate, needs: [train, split]}
"#;

fn list(p: &Project, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["runs", "list", "--format", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = p.output(&all);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).expect("runs list prints JSON")
}

fn ids(runs: &[serde_json::Value]) -> Vec<&str> {
    runs.iter().map(|r| r["id"].as_str().unwrap()).collect()
}

fn pr_auc(run: &serde_json::Value) -> f64 {
    run["metrics"]["evaluate.pr_auc"].as_f64().unwrap()
}

#[test]
fn runs_list_filters_and_orders_real_runs_and_metrics_prints_every_point() {
    let p = Project::new();
    p.write("pipelines/fast.yaml", FAST);
    let mut runs = Vec::new();
    for epochs in 1..=3 {
        let set = format!("train.with.epochs={epochs}");
        let (code, _, err) = p.output(&["run", "pipelines/fast.yaml", "--set", &set]);
        assert_eq!(code, 0, "{err}");
        runs.push(p.show("latest"));
    }

    // The runs trained for 2 and 3 epochs, best PR-AUC first (equal ones newest first).
    let mut expected: Vec<&serde_json::Value> = runs[1..].iter().rev().collect();
    expected.sort_by(|a, b| pr_auc(b).total_cmp(&pr_auc(a)));
    let expected: Vec<&str> = expected.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let filter = "f1 >= 0 and params.train.epochs >= 2 AND status = 'succeeded'";
    let got = list(&p, &["--where", filter, "--order-by", "evaluate.pr_auc:desc"]);
    assert_eq!(ids(&got), expected);
    assert_eq!(
        got[0]["order_by"]["evaluate.pr_auc"].as_f64(),
        Some(pr_auc(&p.show(expected[0])))
    );
    for key in [
        "id",
        "experiment",
        "pipeline",
        "status",
        "trigger",
        "started_at",
        "ended_at",
    ] {
        assert!(got[0].get(key).is_some(), "the list contract keeps `{key}`");
    }
    let limited = list(
        &p,
        &["--where", filter, "--order-by", "evaluate.pr_auc:desc", "--limit", "1"],
    );
    assert_eq!(ids(&limited), &expected[..1], "the limit applies after ordering");

    // Exact param equality, ascending by default, a column as the key.
    let one = list(&p, &["--where", "params.train.epochs = 1 and experiment = 'search'"]);
    assert_eq!(ids(&one), [runs[0]["id"].as_str().unwrap()]);
    let oldest_first = list(&p, &["--order-by", "started_at"]);
    let in_order: Vec<&str> = runs.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids(&oldest_first), in_order);
    assert!(list(&p, &["--where", "pipeline LIKE 'other%'"]).is_empty());

    // The table shows the sort key as a column.
    let (code, out, err) = p.output(&["runs", "list", "--order-by", "evaluate.pr_auc:desc"]);
    assert_eq!(code, 0, "{err}");
    let header = out.lines().next().unwrap();
    assert!(
        header.starts_with("RUN") && header.ends_with("evaluate.pr_auc"),
        "{out}"
    );
    assert!(out.lines().nth(1).unwrap().starts_with(&expected[0][..12]), "{out}");

    // A bad expression is a usage error that points at the problem.
    let (code, _, err) = p.output(&["runs", "list", "--where", "evaluate.f1 => 0.8"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--where: expected a comparison operator (=, !=, <, <=, >, >=)"),
        "{err}"
    );
    assert!(err.contains("\n  evaluate.f1 => 0.8\n              ^"), "{err}");
    // So is a suffix that names several metrics: train and evaluate both log a threshold.
    let (code, _, err) = p.output(&["runs", "list", "--order-by", "threshold:desc"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("metric `threshold` is ambiguous") && err.contains("evaluate.threshold, train.threshold"),
        "{err}"
    );

    // `pmflow metrics`: every point of the latest run (3 epochs), per-epoch series included.
    let latest = &runs[2];
    let (code, csv, err) = p.output(&["metrics", "latest"]);
    assert_eq!(code, 0, "{err}");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("step_id,key,step,value,time"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(rows.iter().all(|r| r.len() == 5), "{csv}");
    let epochs: Vec<(&str, f64)> = rows
        .iter()
        .filter(|r| r[0] == "train" && r[1] == "val_pr_auc")
        .map(|r| (r[2], r[3].parse().unwrap()))
        .collect();
    let series: Vec<(String, f64)> = latest["series"]["train.val_pr_auc"]
        .as_array()
        .unwrap()
        .iter()
        .map(|point| (point[0].to_string(), point[1].as_f64().unwrap()))
        .collect();
    assert_eq!(epochs.len(), 3, "{csv}");
    // serde_json's default float parser may miss by one unit in the last place.
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(1.0);
    for ((step, value), (want_step, want_value)) in epochs.iter().zip(&series) {
        assert_eq!(*step, want_step.as_str());
        assert!(close(*value, *want_value), "{value} vs {want_value}");
    }
    let f1 = rows
        .iter()
        .find(|r| r[0] == "evaluate" && r[1] == "f1")
        .expect("evaluate,f1 row");
    assert!(close(
        f1[3].parse::<f64>().unwrap(),
        latest["metrics"]["evaluate.f1"].as_f64().unwrap()
    ));
    let time = f1[4];
    assert!(
        time.len() == 24 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
        "{time}"
    );
    // One row per point: each metric once, plus the extra points of the series.
    let extra: usize = latest["series"]
        .as_object()
        .unwrap()
        .values()
        .map(|s| s.as_array().unwrap().len() - 1)
        .sum();
    assert_eq!(rows.len(), latest["metrics"].as_object().unwrap().len() + extra);

    let id = latest["id"].as_str().unwrap();
    let (code, out, err) = p.output(&["metrics", &id[..12], "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let points: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(points.len(), rows.len());
    assert_eq!(points[0]["step_id"], rows[0][0]);
    for key in ["step_id", "key", "step", "value", "time"] {
        assert!(points[0].get(key).is_some(), "a point has `{key}`");
    }
    let (code, _, err) = p.output(&["metrics", "ffffffff"]);
    assert_eq!(code, 2, "{err}");
}
