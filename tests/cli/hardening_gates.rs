//! Issue 27's cases on the gates and the commands around them, through the real binary:
//! `compare` on metrics the candidate lacks and on a drop equal to the tolerance, `models
//! rollback` to changed files, `models history` for an alias never set and with no `$USER`,
//! experiment names, an ambiguous register gate, `--out` naming a folder, and a `predict`
//! step with no model to score with.

use crate::support::Project;

/// A small training pipeline split in time: the test part is the last 15% of the readings.
const TIMED: &str = r#"name: pump-timed
experiment: gates
steps:
  - {id: load, kind: load, with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}
  - {id: clean, kind: clean, needs: [load], with: {impute: median}}
  - {id: split, kind: split, needs: [clean], with: {by: time}}
  - {id: train, kind: train-lstm, needs: [split], with: {window: 12, hidden: 8, epochs: 2, seed: 42}}
  - {id: evaluate, kind: evaluate, needs: [train, split]}
"#;

/// A gated registration, as README's training pipeline has one, with a second evaluate step
/// (`holdout`) so that `pr_auc` names two metrics.
const GATED: &str = r#"name: pump-gated
experiment: gates
steps:
  - {id: load, kind: load, with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}
  - {id: clean, kind: clean, needs: [load], with: {impute: median}}
  - {id: split, kind: split, needs: [clean], with: {by: entity, seed: 42}}
  - {id: train, kind: train-lstm, needs: [split], with: {window: 12, hidden: 8, epochs: 2, seed: 42}}
  - {id: evaluate, kind: evaluate, needs: [train, split]}
  - id: register
    kind: register
    needs: [evaluate]
    with:
      promote:
        alias: production
        when: [{metric: evaluate.pr_auc, max-drop: 0.5, vs: production}]
"#;

fn run_ok(p: &Project, args: &[&str]) -> serde_json::Value {
    let (code, out, err) = p.output(args);
    assert_eq!(code, 0, "{args:?}: {out}{err}");
    p.show("latest")
}

fn id(run: &serde_json::Value) -> String {
    run["id"].as_str().unwrap().to_string()
}

/// The name of the uid the tests run as, as `id -un` prints it.
fn uid_name() -> String {
    let out = std::process::Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// data/late-healthy.csv: the sample with the test part's failures moved to its first
/// timestamp. `split` still finds positives there, but no window of 12 readings ends on one,
/// so the test windows have one class only and `evaluate` logs no PR-AUC or ROC-AUC.
fn write_late_healthy(p: &Project) {
    let text = std::fs::read_to_string(p.root().join("data/sensors.csv")).unwrap();
    let mut times: Vec<&str> = text.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    times.sort_unstable();
    times.dedup();
    // `by: time` cuts at 85% of the distinct timestamps (`split`'s `cut_points`).
    let test_start = times[(times.len() as f64 * 0.85).round() as usize].to_string();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let mut fields: Vec<&str> = line.split(',').collect();
        if i > 0 && fields[0] >= test_start.as_str() {
            *fields.last_mut().unwrap() = if fields[0] == test_start { "1" } else { "0" };
        }
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    p.write("data/late-healthy.csv", out);
}

/// Item 6: a candidate whose test part had one class logs no PR-AUC or ROC-AUC; `compare`
/// without `--metric` lists what it lacks and fails instead of judging the rest.
#[test]
fn compare_fails_on_metrics_the_candidate_lacks() {
    let p = Project::new();
    p.write("pipelines/timed.yaml", TIMED);
    write_late_healthy(&p);
    let baseline = run_ok(&p, &["run", "pipelines/timed.yaml"]);
    assert!(
        baseline["metrics"]["evaluate.pr_auc"].is_number(),
        "{}",
        baseline["metrics"]
    );
    let candidate = run_ok(
        &p,
        &[
            "run",
            "pipelines/timed.yaml",
            "--set",
            "load.with.path=data/late-healthy.csv",
        ],
    );
    assert!(
        candidate["metrics"]["evaluate.pr_auc"].is_null(),
        "{}",
        candidate["metrics"]
    );
    let (b, c) = (id(&baseline), id(&candidate));

    let (code, out, err) = p.output(&["compare", &b, &c]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(&format!("the candidate `{c}` lacks"))
            && err.contains("evaluate.pr_auc")
            && err.contains("evaluate.roc_auc")
            && err.contains("a missing metric fails the gate"),
        "{err}"
    );
    assert!(out.contains("MISSING in the candidate"), "{out}");
    assert!(out.contains("evaluate.f1"), "the common metrics are still shown: {out}");
    let (code, out, _) = p.output(&["compare", &b, &c, "--format", "json"]);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["regression"], true);
    let missing: Vec<&str> = json["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert!(
        missing.contains(&"evaluate.pr_auc") && missing.contains(&"evaluate.roc_auc"),
        "{missing:?}"
    );
    // Named metrics are what the user asked for: nothing else is required.
    let (code, out, err) = p.output(&["compare", &b, &c, "--metric", "windows:higher", "--max-drop", "1000000"]);
    assert_eq!(code, 0, "{out}{err}");
    // And a run compared with itself lacks nothing.
    let (code, out, err) = p.output(&["compare", &b, &b]);
    assert_eq!(code, 0, "{out}{err}");
}

/// Item 7: a drop equal to the stated tolerance is within it. 0.29 x 100 rows is
/// 28.999999999999996 in binary; 100 -> 71 rows drops by exactly 29.
#[test]
fn a_drop_equal_to_the_tolerance_passes_compare() {
    let p = Project::new();
    let text = std::fs::read_to_string(p.root().join("data/sensors.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    p.write("data/hundred.csv", lines[..101].join("\n") + "\n");
    p.write("data/seventy-one.csv", lines[..72].join("\n") + "\n");
    p.write(
        "pipelines/rows.yaml",
        "name: rows\nexperiment: gates\nsteps:\n  - {id: load, kind: load, with: {path: data/hundred.csv, timestamp: timestamp, entity: equipment_id, label: failure}}\n",
    );
    let hundred = id(&run_ok(&p, &["run", "pipelines/rows.yaml"]));
    let seventy_one = id(&run_ok(
        &p,
        &[
            "run",
            "pipelines/rows.yaml",
            "--set",
            "load.with.path=data/seventy-one.csv",
        ],
    ));
    let compare = |rtol: &str| {
        p.output(&[
            "compare",
            &hundred,
            &seventy_one,
            "--metric",
            "load.rows:higher",
            "--rtol",
            rtol,
        ])
    };
    let (code, out, err) = compare("0.29");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("worse, within tolerance"), "{out}");
    let (code, out, err) = compare("0.28");
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("REGRESSION"), "{out}");
    let (code, out, err) = p.output(&[
        "compare",
        &hundred,
        &seventy_one,
        "--metric",
        "load.rows:higher",
        "--max-drop",
        "29",
    ]);
    assert_eq!(code, 0, "{out}{err}");
}

/// Items 8, 12, 13, 17 and 18 on one registered model.
#[test]
fn rollback_history_gates_and_out_on_a_registered_model() {
    let p = Project::new();
    p.write("pipelines/gated.yaml", GATED);
    let me = uid_name();
    // With no $USER (root in a container, a systemd service): the uid's name is recorded.
    let no_user = |args: &[&str]| {
        let out = p
            .pmflow(args)
            .env_remove("USER")
            .env_remove("LOGNAME")
            .env_remove("USERNAME")
            .output()
            .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
    };
    let (code, _, err) = no_user(&["run", "pipelines/gated.yaml"]);
    assert_eq!(code, 0, "{err}");
    // The same settings: train is cached, v2 points at v1's files and passes the gate.
    let (code, _, err) = no_user(&["run", "pipelines/gated.yaml"]);
    assert_eq!(code, 0, "{err}");
    let history = serde_json::from_str::<serde_json::Value>(
        &p.output(&["models", "history", "pump-gated", "--format", "json"]).1,
    )
    .unwrap();
    let events = history.as_array().unwrap();
    assert_eq!(events.len(), 2, "{history}");
    for e in events {
        let who = e["who"].as_str().unwrap();
        assert!(who.starts_with(&format!("{me}@")), "{who} (id -un: {me})");
    }
    let (code, out, _) = no_user(&["models", "history", "pump-gated"]);
    assert_eq!(code, 0);
    assert!(out.contains(&format!("{me}@")) && !out.contains("unknown@"), "{out}");

    // Item 17: an alias never set is named, with the aliases that were.
    let (code, out, err) = p.output(&["models", "history", "pump-gated", "--alias", "never-set"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.trim(),
        "alias `never-set` of `pump-gated` was never set; aliases that were: production"
    );

    // Item 13: `--out` naming a folder is the user's slip (exit 2), in predict and report.
    std::fs::create_dir_all(p.root().join("scores.csv")).unwrap();
    std::fs::create_dir_all(p.root().join("reports")).unwrap();
    let (code, _, err) = p.output(&[
        "predict",
        "--model",
        "pump-gated@production",
        "--data",
        "data/sensors.csv",
        "--out",
        "scores.csv",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--out scores.csv names a folder; give a file"), "{err}");
    let (code, _, err) = p.output(&["report", "latest", "--out", "reports"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--out reports names a folder; give a file"), "{err}");

    // Item 8: the version a rollback would give `production` back to has changed weights.
    let v1 = serde_json::from_str::<serde_json::Value>(
        &p.output(&["models", "show", "pump-gated@v1", "--format", "json"]).1,
    )
    .unwrap();
    let weights = std::path::PathBuf::from(v1["model_uri"].as_str().unwrap().strip_prefix("file://").unwrap());
    let original = std::fs::read(&weights).unwrap();
    let mut changed = original.clone();
    changed.push(0);
    std::fs::write(&weights, &changed).unwrap();
    let (code, out, err) = p.output(&["models", "rollback", "pump-gated", "--alias", "production"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("`pump-gated` v1 is not promoted: weights")
            && err.contains("is changed. It is no longer the model that was registered"),
        "{err}"
    );
    let (_, out, _) = p.output(&["models", "show", "pump-gated@production", "--format", "json"]);
    let held: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(held["version"], 2, "the alias did not move");
    // The same files as registered: the rollback goes through.
    std::fs::write(&weights, &original).unwrap();
    let (code, out, err) = no_user(&["models", "rollback", "pump-gated", "--alias", "production"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("v2 -> v1 (rolled back)"), "{out}");

    // Item 12: a gate on a suffix two metrics end with says it is ambiguous.
    let twice = GATED
        .replace(
            "  - id: register",
            "  - {id: holdout, kind: evaluate, needs: [train, split]}\n  - id: register",
        )
        .replace("needs: [evaluate]", "needs: [evaluate, holdout]")
        .replace("metric: evaluate.pr_auc", "metric: pr_auc");
    p.write("pipelines/twice.yaml", twice);
    run_ok(&p, &["run", "pipelines/twice.yaml"]);
    let (_, out, _) = p.output(&["models", "history", "pump-gated", "--format", "json"]);
    let history: serde_json::Value = serde_json::from_str(&out).unwrap();
    let last = history.as_array().unwrap().last().unwrap();
    assert_eq!(last["action"], "refused", "{last}");
    assert_eq!(
        last["gate"]["checks"][0]["reason"],
        "`pr_auc` matches several metrics (evaluate.pr_auc, holdout.pr_auc); name one in full",
        "{last}"
    );
}

/// Item 11: an experiment name that a path would spell another way is refused by `validate`
/// at its line, as `name` is.
#[test]
fn experiment_names_are_checked_as_names_are() {
    let p = Project::new();
    for bad in ["a%20b", "'a#b'", "a?b", "a<b", "'.'", "'..'", "a/b"] {
        p.write(
            "pipelines/x.yaml",
            format!(
                "name: x\nexperiment: {bad}\nsteps:\n  - {{id: load, kind: load, with: {{path: data/sensors.csv}}}}\n"
            ),
        );
        let (code, out, err) = p.output(&["validate", "pipelines/x.yaml"]);
        assert_eq!(code, 2, "{bad}: {out}{err}");
        assert!(err.contains("pipelines/x.yaml:2:13: "), "{bad}: {err}");
        assert!(
            err.contains("`experiment`") || err.contains("`experiment: "),
            "{bad}: {err}"
        );
        let (code, _, err) = p.output(&["run", "pipelines/x.yaml"]);
        assert_eq!(code, 2, "{bad}: {err}");
    }
    p.write(
        "pipelines/x.yaml",
        "name: x\nexperiment: pumps.v2_a-b\nsteps:\n  - {id: load, kind: load, with: {path: data/sensors.csv}}\n",
    );
    let (code, out, err) = p.output(&["validate", "pipelines/x.yaml"]);
    assert_eq!(code, 0, "{out}{err}");
}

/// Item 16: a `predict` step with no `model:` and no training step upstream cannot score;
/// `validate` says so at the step.
#[test]
fn a_predict_step_without_a_model_is_refused_by_validate() {
    let p = Project::new();
    let load = "  - {id: load, kind: load, with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}\n";
    let pipeline = |steps: &str| format!("name: score\nsteps:\n{steps}");
    p.write(
        "pipelines/alone.yaml",
        pipeline("  - {id: score, kind: predict, with: {path: data/sensors.csv}}\n"),
    );
    let (code, out, err) = p.output(&["validate", "pipelines/alone.yaml"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("pipelines/alone.yaml:3:5: step `score`: needs a model: name one with `model: NAME@ALIAS`"),
        "{err}"
    );
    p.write(
        "pipelines/load.yaml",
        pipeline(&format!(
            "{load}  - {{id: score, kind: predict, needs: [load], with: {{path: data/sensors.csv}}}}\n"
        )),
    );
    let (code, _, err) = p.output(&["validate", "pipelines/load.yaml"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("pipelines/load.yaml:4:5: step `score`: needs a model"),
        "{err}"
    );
    // A model named, or a training step further up: valid.
    p.write(
        "pipelines/named.yaml",
        pipeline("  - {id: score, kind: predict, with: {model: pumps@production, path: data/sensors.csv}}\n"),
    );
    let (code, out, err) = p.output(&["validate", "pipelines/named.yaml"]);
    assert_eq!(code, 0, "{out}{err}");
    p.write(
        "pipelines/trained.yaml",
        pipeline(&format!(
            "{load}  - {{id: split, kind: split, needs: [load], with: {{by: entity}}}}\n  - {{id: train, kind: train-lstm, needs: [split]}}\n  - {{id: evaluate, kind: evaluate, needs: [train, split]}}\n  - {{id: score, kind: predict, needs: [evaluate], with: {{path: data/sensors.csv}}}}\n"
        )),
    );
    let (code, out, err) = p.output(&["validate", "pipelines/trained.yaml"]);
    assert_eq!(code, 0, "{out}{err}");
}

/// `evaluate` and `register` read the model a step upstream trained (their ports say so):
/// without one every run fails there, so `validate` refuses the pipeline at the step.
#[test]
fn evaluate_and_register_without_a_trained_model_are_refused_by_validate() {
    let p = Project::new();
    let head = "name: pumps\nsteps:\n  - {id: load, kind: load, with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}\n  - {id: split, kind: split, needs: [load], with: {by: entity}}\n";
    p.write(
        "pipelines/eval.yaml",
        format!("{head}  - {{id: evaluate, kind: evaluate, needs: [split]}}\n"),
    );
    let (code, out, err) = p.output(&["validate", "pipelines/eval.yaml"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("pipelines/eval.yaml:5:5: step `evaluate`: needs a `train` step upstream (under `needs:`, directly or further up)"),
        "{err}"
    );
    p.write(
        "pipelines/reg.yaml",
        format!("{head}  - {{id: register, kind: register, needs: [split]}}\n"),
    );
    let (code, _, err) = p.output(&["run", "pipelines/reg.yaml"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("pipelines/reg.yaml:5:5: step `register`: needs a `train` step upstream"),
        "{err}"
    );
    // With the training step in between: valid.
    p.write(
        "pipelines/ok.yaml",
        format!("{head}  - {{id: train, kind: train-lstm, needs: [split]}}\n  - {{id: evaluate, kind: evaluate, needs: [train, split]}}\n  - {{id: register, kind: register, needs: [evaluate]}}\n"),
    );
    let (code, out, err) = p.output(&["validate", "pipelines/ok.yaml"]);
    assert_eq!(code, 0, "{out}{err}");
}
