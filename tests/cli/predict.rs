//! Batch scoring through the real binary: `pmflow predict` gives the training run's own test
//! machines the scores `evaluate` gave them (no training/serving skew), by run id or registered
//! alias; every bad input is an error that names what is wrong; the `predict` step in a
//! pipeline stores its scores and logs its machine counts.

use std::collections::HashMap;

use polars::prelude::*;

use crate::support::Project;

/// Clips outliers at whole-table fences (fitted on all machines) and makes rolling, lag and
/// interaction features, so a replay that refitted anything on the new file alone would differ.
const TRAIN: &str = r#"name: pump-sensors
experiment: predict
steps:
  - {id: load, kind: load, with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}
  - {id: clean, kind: clean, needs: [load], with: {impute: interpolate, outliers: {method: iqr, factor: 1.0, action: clip}}}
  - id: feature
    kind: feature
    needs: [clean]
    with:
      columns: [temperature, pressure, vibration, rpm]
      rolling: {windows: [6], stats: [mean, std]}
      lags: [1]
      interactions: {load_index: "pressure * rpm"}
  - {id: split, kind: split, needs: [feature], with: {by: entity, seed: 42}}
  - {id: train, kind: train-lstm, needs: [split], with: {window: 12, hidden: 8, epochs: 2, seed: 42}}
  - {id: evaluate, kind: evaluate, needs: [train, split]}
  - {id: register, kind: register, needs: [evaluate], with: {model: pumps, promote: {alias: production}}}
"#;

fn read_parquet(uri: &str) -> DataFrame {
    let path = uri.strip_prefix("file://").expect("a local artifact");
    ParquetReader::new(std::fs::File::open(path).unwrap()).finish().unwrap()
}

fn read_csv(path: &std::path::Path) -> DataFrame {
    CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .unwrap()
        .finish()
        .unwrap()
}

fn artifact(run: &serde_json::Value, step: &str, name: &str) -> String {
    run["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["step"] == step && a["name"] == name)
        .unwrap_or_else(|| panic!("no {step}/{name} among {}", run["artifacts"]))["uri"]
        .as_str()
        .unwrap()
        .to_string()
}

/// (machine, time as text) -> score.
fn scores(frame: &DataFrame) -> HashMap<(String, String), f64> {
    let text = |name: &str| -> Vec<String> {
        let c = frame.column(name).unwrap().cast(&DataType::String).unwrap();
        // CSV writes `2024-01-01T05:00:00.000`, a cast of the column `2024-01-01 05:00:00.000`.
        c.str()
            .unwrap()
            .iter()
            .map(|v| v.unwrap_or("").replace('T', " "))
            .collect()
    };
    let (machines, times) = (text("equipment_id"), text("timestamp"));
    let score = frame.column("score").unwrap().f64().unwrap().clone();
    (0..frame.height())
        .map(|i| ((machines[i].clone(), times[i].clone()), score.get(i).unwrap()))
        .collect()
}

/// data/sensors.csv's rows of `machines`, without the label column (new data has none), and
/// with `edit` applied to each (header, row) pair of fields.
pub(crate) fn sensors_of(p: &Project, machines: &[String], edit: impl Fn(&mut Vec<String>, bool)) -> String {
    let text = std::fs::read_to_string(p.root().join("data/sensors.csv")).unwrap();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let mut fields: Vec<String> = line.split(',').map(str::to_string).collect();
        if i > 0 && !machines.contains(&fields[1]) {
            continue;
        }
        fields.pop(); // failure
        edit(&mut fields, i == 0);
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// Writes data/test_machines.csv with the sensor rows of every machine `evaluated` scored
/// (without labels) and returns those machines, sorted.
fn write_scored_machines(p: &Project, evaluated: &HashMap<(String, String), f64>) -> Vec<String> {
    let mut machines: Vec<String> = evaluated.keys().map(|(m, _)| m.clone()).collect();
    machines.sort();
    machines.dedup();
    p.write("data/test_machines.csv", sensors_of(p, &machines, |_, _| {}));
    machines
}

/// `pmflow predict --model MODEL` on data/test_machines.csv, every window, to scores.csv: the
/// scores and what it printed.
fn predict_every_window(p: &Project, model: &str) -> (HashMap<(String, String), f64>, String) {
    let (code, out, err) = p.output(&[
        "predict",
        "--model",
        model,
        "--data",
        "data/test_machines.csv",
        "--at",
        "all",
        "--out",
        "scores.csv",
    ]);
    assert_eq!(code, 0, "{err}");
    (scores(&read_csv(&p.root().join("scores.csv"))), out)
}

pub(crate) fn trained() -> (Project, serde_json::Value) {
    let p = Project::new();
    p.write("pipelines/train.yaml", TRAIN);
    let (code, _, err) = p.output(&["run", "pipelines/train.yaml"]);
    assert_eq!(code, 0, "{err}");
    let run = p.show("latest");
    (p, run)
}

#[test]
fn predict_scores_the_test_machines_as_evaluate_did_and_ranks_them() {
    let (p, run) = trained();
    let run_id = run["id"].as_str().unwrap().to_string();
    let evaluated = read_parquet(&artifact(&run, "evaluate", "predictions.parquet"));
    let expected = scores(&evaluated);
    let machines = write_scored_machines(&p, &expected);

    // By run id, every window: the same windows and the same scores as evaluate's.
    let (got, out) = predict_every_window(&p, &run_id[..12]);
    assert_eq!(got.len(), expected.len(), "one score per window evaluate scored");
    let worst = expected
        .iter()
        .map(|(key, want)| (got.get(key).unwrap_or_else(|| panic!("window {key:?} not scored")) - want).abs())
        .fold(0.0f64, f64::max);
    assert!(worst <= 1e-6, "largest difference from evaluate: {worst}");
    assert!(
        out.contains("RISK") && out.contains("machines scored with run "),
        "{out}"
    );

    // By alias, as JSON: one row per machine (its latest window), most at risk first.
    let (code, out, err) = p.output(&[
        "predict",
        "--model",
        "pumps@production",
        "--data",
        "data/test_machines.csv",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["model"]["name"], "pumps");
    assert_eq!(json["model"]["version"], 1);
    let rows = json["machines"].as_array().unwrap();
    assert_eq!(rows.len(), machines.len());
    let threshold = json["summary"]["threshold"].as_f64().unwrap();
    let rank = |r: &str| ["critical", "warning", "healthy"].iter().position(|x| *x == r).unwrap();
    for pair in rows.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let key = |r: &serde_json::Value| (rank(r["risk"].as_str().unwrap()), -r["score"].as_f64().unwrap());
        assert!(key(a) <= key(b), "sorted by risk, then score: {a} before {b}");
    }
    for r in rows {
        let score = r["score"].as_f64().unwrap();
        let want = if score >= threshold {
            "critical"
        } else if score >= 0.5 * threshold {
            "warning"
        } else {
            "healthy"
        };
        assert_eq!(r["risk"], want, "{r}");
        assert_eq!(r["alarm"], score >= threshold);
        // The latest window is the machine's last scored window.
        let latest = expected
            .iter()
            .filter(|((m, _), _)| m == r["equipment_id"].as_str().unwrap())
            .max_by(|a, b| a.0 .1.cmp(&b.0 .1))
            .unwrap();
        assert_eq!(r["timestamp"].as_str().unwrap(), latest.0 .1);
        assert!((score - latest.1).abs() <= 1e-6);
    }

    // CSV for other tools.
    let (code, out, _) = p.output(&[
        "predict",
        "--model",
        "pumps",
        "--data",
        "data/test_machines.csv",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().next().unwrap(), "equipment_id,timestamp,score,alarm,risk");
    assert_eq!(out.lines().count(), machines.len() + 1);
}

#[test]
fn bad_inputs_name_the_column_machine_or_file() {
    let (p, run) = trained();
    let all: Vec<String> = (1..=8).map(|i| format!("P0{i}")).collect();
    let expect_error = |data: &str, code: i32, wanted: &[&str]| {
        let (got, out, err) = p.output(&["predict", "--model", "pumps@production", "--data", data]);
        assert_eq!(got, code, "{data}: {err}");
        assert!(out.is_empty(), "nothing printed on stdout: {out}");
        for w in wanted {
            assert!(err.contains(w), "{data}: `{w}` not in: {err}");
        }
        assert!(!err.contains("panicked"), "{err}");
    };

    // A sensor the model needs is missing; another is renamed; another holds text.
    p.write(
        "data/no_pressure.csv",
        sensors_of(&p, &all, |f, _| {
            f.remove(3);
        }),
    );
    expect_error(
        "data/no_pressure.csv",
        1,
        &[
            "has no column `pressure`",
            "pressure_roll6_mean",
            "Its columns are: timestamp, equipment_id",
        ],
    );
    p.write(
        "data/renamed.csv",
        sensors_of(&p, &all, |f, header| {
            if header {
                f[4] = "vibr".into();
            }
        }),
    );
    expect_error(
        "data/renamed.csv",
        1,
        &["has no column `vibration` (renamed? the file has column(s) the model's training data did not: `vibr`)"],
    );
    p.write(
        "data/retyped.csv",
        sensors_of(&p, &all, |f, header| {
            if !header {
                f[5] = format!("{} rpm", f[5]);
            }
        }),
    );
    expect_error(
        "data/retyped.csv",
        1,
        &[
            "column `rpm` of data/retyped.csv was read as str",
            "`1474.550 rpm`",
            "training data had f64",
        ],
    );

    // Too few rows for one window: the machine is named, with its row count.
    let text = sensors_of(&p, &all, |_, _| {});
    let mut short = String::new();
    let mut p2 = 0;
    for line in text.lines() {
        if line.contains(",P02,") {
            p2 += 1;
            if p2 > 8 {
                continue;
            }
        }
        short.push_str(line);
        short.push('\n');
    }
    p.write("data/short.csv", short);
    expect_error(
        "data/short.csv",
        1,
        &[
            "1 machine(s) have fewer prepared rows than the model's window of 12: P02 (",
            "short-series",
        ],
    );
    let (code, out, err) = p.output(&[
        "predict",
        "--model",
        "pumps",
        "--data",
        "data/short.csv",
        "--skip-short",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("not scored: 1 machine(s)"), "{err}");
    assert_eq!(out.lines().count(), 8, "the 7 others are scored");

    // No such model; no such file.
    let (code, _, err) = p.output(&["predict", "--model", "pumps@staging", "--data", "data/sensors.csv"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("staging"), "{err}");
    expect_error("data/nothing.csv", 1, &["data/nothing.csv"]);

    // Weights changed after registration: refused before any data is read (the data file
    // does not even exist).
    let weights = artifact(&run, "train", "model.safetensors");
    let path = weights.strip_prefix("file://").unwrap();
    let mut bytes = std::fs::read(path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(path, bytes).unwrap();
    let (code, _, err) = p.output(&["predict", "--model", "pumps@production", "--data", "data/nothing.csv"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("model.safetensors") && err.contains("changed since it was recorded"),
        "{err}"
    );
    assert!(!err.contains("nothing.csv ("), "the data is not read: {err}");
}

#[test]
fn the_predict_step_scores_in_a_pipeline_and_logs_machine_counts() {
    let (p, _) = trained();
    let all: Vec<String> = (1..=8).map(|i| format!("P0{i}")).collect();
    p.write("data/this_week.csv", sensors_of(&p, &all, |_, _| {}));
    p.write(
        "pipelines/score.yaml",
        r#"name: daily-scoring
experiment: predict
schedule: {cron: "0 0 6 * * *"}
steps:
  - id: score
    kind: predict
    with: {model: pumps@production, path: data/this_week.csv, levels: {warning: 0.25}, at: all}
"#,
    );
    let (code, out, err) = p.output(&["run", "pipelines/score.yaml"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("scoring with `pumps` v1") || out.contains("scoring with `pumps` v1"),
        "{out}{err}"
    );
    let run = p.show("latest");
    let m = &run["metrics"];
    assert_eq!(m["score.machines_scored"], 8.0);
    let counted = m["score.machines_critical"].as_f64().unwrap()
        + m["score.machines_warning"].as_f64().unwrap()
        + m["score.machines_healthy"].as_f64().unwrap();
    assert_eq!(counted, 8.0);
    let windows = read_parquet(&artifact(&run, "score", "scores.parquet"));
    assert_eq!(windows.height() as f64, m["score.windows_scored"].as_f64().unwrap());
    let machines = read_parquet(&artifact(&run, "score", "machines.parquet"));
    assert_eq!(machines.height(), 8);
    let names: Vec<String> = windows.get_column_names().iter().map(|n| n.to_string()).collect();
    assert_eq!(names, ["equipment_id", "timestamp", "score", "alarm", "risk"]);

    // Same model, same file: the plan and the next run take the scores from the cache.
    let (code, out, err) = p.output(&["run", "pipelines/score.yaml", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("outputs of run"), "{out}");

    // In the training pipeline itself, after `train`: no `model:` needed.
    let inline = TRAIN.replace(
        "  - {id: register",
        "  - {id: score, kind: predict, needs: [train], with: {path: data/this_week.csv}}\n  - {id: register",
    );
    p.write("pipelines/inline.yaml", inline);
    let (code, _, err) = p.output(&["run", "pipelines/inline.yaml"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(p.show("latest")["metrics"]["score.machines_scored"], 8.0);
}

/// Every training fits a logistic-regression baseline beside the model and `evaluate` scores
/// both; `runs show` and the report say who wins; `model: linear` ships that baseline itself
/// through register and predict, with exactly the baseline's coefficients.
#[test]
fn the_baseline_is_scored_beside_the_model_and_linear_ships_it() {
    let (p, lstm) = trained();
    let m = &lstm["metrics"];
    let metric = |run: &serde_json::Value, key: &str| {
        run["metrics"][key]
            .as_f64()
            .unwrap_or_else(|| panic!("no {key} in {}", run["metrics"]))
    };
    let (model, baseline) = (
        metric(&lstm, "evaluate.pr_auc"),
        metric(&lstm, "evaluate.baseline_pr_auc"),
    );
    assert!(
        (metric(&lstm, "evaluate.lift_pr_auc") - (model - baseline)).abs() < 1e-12,
        "{m}"
    );
    assert!((0.0..=1.0).contains(&metric(&lstm, "evaluate.baseline_f1")));
    assert!(metric(&lstm, "train.baseline_val_pr_auc") > 0.0);
    let (code, shown, _) = p.output(&["runs", "show", "latest"]);
    assert_eq!(code, 0);
    let verdict = if baseline > model {
        format!(
            "WARNING: the logistic-regression baseline beats the model: test PR-AUC {baseline:.3} against {model:.3}"
        )
    } else if baseline == model {
        // No epoch beat the start, which is the baseline: it is kept as it is.
        format!("the model scores as its logistic-regression baseline: test PR-AUC {model:.3}")
    } else {
        format!("the model beats its logistic-regression baseline: test PR-AUC {model:.3} against {baseline:.3}")
    };
    assert!(shown.contains("BASELINE") && shown.contains(&verdict), "{shown}");
    let report = std::fs::read_to_string(
        p.root()
            .join(artifact(&lstm, "", "report.html").trim_start_matches("file://")),
    )
    .unwrap();
    assert!(report.contains("Against the baseline"), "the report says it too");
    let card = |run: &serde_json::Value| -> serde_json::Value {
        let uri = artifact(run, "train", "model_card.json");
        serde_json::from_slice(&std::fs::read(uri.trim_start_matches("file://")).unwrap()).unwrap()
    };
    assert_eq!(card(&lstm)["architecture"]["kind"], "lstm");
    // Started from the baseline by default; epoch 0 is that start.
    assert_eq!(card(&lstm)["architecture"]["skip"], true);
    assert!(metric(&lstm, "train.best_epoch") >= 0.0);

    // The same pipeline with `model: linear`: the data steps come from the cache, the model is
    // the baseline (same coefficients), and it is registered and served like any model.
    let (code, _, err) = p.output(&["run", "pipelines/train.yaml", "--set", "train.with.model=linear"]);
    assert_eq!(code, 0, "{err}");
    let linear = p.show("latest");
    let linear_card = card(&linear);
    assert_eq!(linear_card["architecture"]["kind"], "linear");
    assert_eq!(
        linear_card["baseline"],
        card(&lstm)["baseline"],
        "the same baseline from the same data"
    );
    let (model, baseline) = (
        metric(&linear, "evaluate.pr_auc"),
        metric(&linear, "evaluate.baseline_pr_auc"),
    );
    assert!(
        (model - baseline).abs() < 1e-3,
        "the linear model is its baseline: {model} vs {baseline}"
    );
    assert_eq!(baseline, metric(&lstm, "evaluate.baseline_pr_auc"));
    let evaluated = scores(&read_parquet(&artifact(&linear, "evaluate", "predictions.parquet")));
    write_scored_machines(&p, &evaluated);
    let (served, _) = predict_every_window(&p, "pumps@production");
    let (_, out, _) = p.output(&[
        "predict",
        "--model",
        "pumps@production",
        "--data",
        "data/test_machines.csv",
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        json["model"]["version"], 2,
        "the linear model was registered and promoted"
    );
    assert_eq!(served.len(), evaluated.len());
    for (key, want) in &evaluated {
        assert!(
            (served[key] - want).abs() <= 1e-6,
            "window {key:?}: {} vs {want}",
            served[key]
        );
    }
}
