//! The model registry and the CI gate through the real binary: `register` with a promotion
//! gate, the alias history, files registered by reference and checked by `models show` and
//! `models promote`, rollback, `compare` exit codes and formats, drift against a model's data,
//! and README's "Use in CI" snippet run as written.

use crate::support::{repo, Project};

/// pipelines/ci.yaml with a gate on its `register` step.
const GATED: &str = r#"name: pump-sensors
experiment: ci
steps:
  - {id: load, kind: load, with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}
  - {id: clean, kind: clean, needs: [load], with: {impute: median}}
  - {id: split, kind: split, needs: [clean], with: {by: entity, seed: 42}}
  - {id: train, kind: train-lstm, needs: [split], with: {window: 24, hidden: 16, epochs: 3, patience: 100, seed: 42}}
  - {id: evaluate, kind: evaluate, needs: [train, split]}
  - id: register
    kind: register
    needs: [evaluate]
    with:
      promote:
        alias: production
        when:
          - {metric: pr_auc, max-drop: 0.01, vs: production}
          - {metric: evaluate.roc_auc, min: 0.5}
"#;

/// The issue's weakened candidate, trained from scratch (`skip: false`: started from its
/// baseline, even a 2-unit network scores as the regression). Training is deterministic; at seed 42 it measured test PR-AUC
/// 0.574 and F1 0.234 against 0.990 and 0.958 (seeds 2, 3, 7: also far worse; seed 1: not, the
/// sample is easy).
const WEAK: [&str; 6] = [
    "--set",
    "train.with.epochs=1",
    "--set",
    "train.with.hidden=2",
    "--set",
    "train.with.skip=false",
];

fn json(p: &Project, args: &[&str]) -> serde_json::Value {
    let (code, out, err) = p.output(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?} prints JSON ({e}): {out}"))
}

fn run(p: &Project, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["run", "pipelines/gated.yaml"];
    args.extend_from_slice(extra);
    let (code, _, err) = p.output(&args);
    assert_eq!(code, 0, "{err}");
    p.show("latest")
}

#[test]
fn the_gate_promotes_refuses_and_keeps_the_history() {
    let p = Project::new();
    p.write("pipelines/gated.yaml", GATED);

    let first = run(&p, &[]);
    assert_eq!(first["metrics"]["register.version"], 1.0);
    assert_eq!(
        first["metrics"]["register.promoted"], 1.0,
        "no holder yet: absolute thresholds only"
    );
    let weak = run(&p, &WEAK);
    assert_eq!(weak["metrics"]["register.version"], 2.0);
    assert_eq!(weak["metrics"]["register.promoted"], 0.0);
    assert_eq!(weak["metrics"]["register.gate.evaluate.pr_auc"], 0.0);
    // The same settings as the first run: train comes from the cache, and the new version
    // points at the first run's files, not at copies.
    let third = run(&p, &[]);
    assert_eq!(third["metrics"]["register.promoted"], 1.0);
    let v3 = json(&p, &["models", "show", "pump-sensors@production", "--format", "json"]);
    assert_eq!(v3["version"], 3);
    let first_id = first["id"].as_str().unwrap();
    assert!(v3["model_uri"].as_str().unwrap().contains(first_id), "{v3}");
    assert_eq!(v3["intact"], true);

    let history = json(&p, &["models", "history", "pump-sensors", "--format", "json"]);
    let actions: Vec<(&str, i64)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["action"].as_str().unwrap(), h["version"].as_i64().unwrap()))
        .collect();
    assert_eq!(actions, [("promoted", 1), ("refused", 2), ("promoted", 3)]);
    let refused = &history[1]["gate"]["checks"][0];
    assert_eq!(refused["passed"], false);
    assert!(
        refused["reason"].as_str().unwrap().contains("on v1 - 0.01"),
        "{refused}"
    );

    // Two processes registering at the same moment: two distinct versions.
    let spawn = || {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("pmflow"))
            .current_dir(p.root())
            .env("CI", "1")
            .args(["--progress", "quiet", "run", "pipelines/gated.yaml"])
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (spawn(), spawn());
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    let listed = json(&p, &["models", "list", "--format", "json"]);
    assert_eq!(listed[0]["versions"], 5, "{listed}");
    assert_eq!(listed[0]["latest"], 5, "{listed}");

    // Back to the holder before v5 (or v4, whichever won the race last).
    let holder = listed[0]["aliases"]["production"].as_i64().unwrap();
    let (code, out, err) = p.output(&["models", "rollback", "pump-sensors", "--alias", "production"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("v{holder} -> v")), "{out}");
}

#[test]
fn compare_gates_on_metrics_with_exit_codes_and_formats() {
    let p = Project::new();
    p.write("pipelines/gated.yaml", GATED);
    run(&p, &[]);
    run(&p, &WEAK);
    let same = run(&p, &["--force", "train"]);
    assert_eq!(same["metrics"]["register.version"], 3.0);

    // The same settings retrained bit for bit: nothing regressed.
    let (code, out, err) = p.output(&["compare", "pump-sensors@v1", "pump-sensors@v3"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("evaluate.pr_auc") && out.contains("same"), "{out}");
    // The newest run of an experiment is a baseline too.
    let (code, out, err) = p.output(&["compare", "latest:ci", "pump-sensors@v3", "--metric", "f1"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("same"), "{out}");
    let (code, out, _) = p.output(&["run", "pipelines/gated.yaml", "--dry-run"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("always runs: registers a new version of `pump-sensors`"),
        "{out}"
    );
    // The weak version regressed; markdown for a pull request, JSON for scripts.
    let (code, out, err) = p.output(&["compare", "pump-sensors@v1", "pump-sensors@v2", "--format", "md"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("| metric | baseline | candidate | delta | verdict |"),
        "{out}"
    );
    assert!(out.contains("**regression**"), "{out}");
    assert!(
        err.contains("regressed from `pump-sensors@v1` to `pump-sensors@v2`"),
        "{err}"
    );
    let (code, out, _) = p.output(&[
        "compare",
        "pump-sensors@v1",
        "pump-sensors@v2",
        "--metric",
        "f1",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let c: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(c["regression"], true);
    assert_eq!(c["metrics"][0]["metric"], "evaluate.f1");
    assert_eq!(c["metrics"][0]["verdict"], "regression");
    assert_eq!(c["candidate"]["version"], 2);
    // A huge tolerance lets it pass; a lower-is-better metric reads the other way.
    let (code, _, _) = p.output(&[
        "compare",
        "pump-sensors@v1",
        "pump-sensors@v2",
        "--metric",
        "f1",
        "--max-drop",
        "1",
    ]);
    assert_eq!(code, 0);
    let (code, out, _) = p.output(&[
        "compare",
        "pump-sensors@v2",
        "pump-sensors@v1",
        "--metric",
        "false_alarm_rate",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("better"), "{out}");

    // Errors exit 2 and say what is wrong.
    let (code, _, err) = p.output(&["compare", "pump-sensors@v1", "latest", "--metric", "nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("--metric nope: no metric `nope`"), "{err}");
    let (code, _, err) = p.output(&["compare", "pump-sensors@staging", "latest"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no version of `pump-sensors` holds `staging` (aliases: production)"),
        "{err}"
    );
    let (code, _, err) = p.output(&["compare", "other@production", "latest"]);
    assert_eq!(code, 2);
    assert!(err.contains("no model `other`"), "{err}");
}

#[test]
fn changed_files_are_reported_and_refused_and_drift_reads_a_models_data() {
    let p = Project::new();
    p.write("pipelines/gated.yaml", GATED);
    run(&p, &[]);
    p.write(
        "pipelines/check.yaml",
        r#"name: weekly-check
steps:
  - {id: load, kind: load, with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}
  - {id: clean, kind: clean, needs: [load], with: {impute: median}}
  - {id: split, kind: split, needs: [clean], with: {by: entity, seed: 2}}
  - {id: drift, kind: drift, needs: [split], with: {reference: {model: pump-sensors@production}, current: test, on-drift: continue}}
"#,
    );
    let (code, _, err) = p.output(&["run", "pipelines/check.yaml"]);
    assert_eq!(code, 0, "{err}");
    let check = p.show("latest");
    assert_eq!(check["metrics"]["drift.features"], 4.0, "{}", check["metrics"]);

    let v1 = json(&p, &["models", "show", "pump-sensors@v1", "--format", "json"]);
    let weights = std::path::PathBuf::from(v1["model_uri"].as_str().unwrap().strip_prefix("file://").unwrap());
    let mut bytes = std::fs::read(&weights).unwrap();
    bytes.push(0);
    std::fs::write(&weights, bytes).unwrap();
    let v1 = json(&p, &["models", "show", "pump-sensors@v1", "--format", "json"]);
    assert_eq!(v1["intact"], false);
    assert_eq!(v1["files"][0]["state"], "changed");
    let (code, out, _) = p.output(&["models", "show", "pump-sensors"]);
    assert_eq!(code, 0);
    assert!(out.contains("!! weights") && out.contains("(changed)"), "{out}");
    let (code, _, err) = p.output(&["models", "promote", "pump-sensors", "1", "--alias", "champion"]);
    assert_eq!(code, 2);
    assert!(err.contains("`pump-sensors` v1 is not promoted: weights"), "{err}");
    assert!(err.contains("is changed"), "{err}");
    let (code, _, err) = p.output(&["models", "show", "pump-sensors@v9"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("model `pump-sensors` has no version 9 (versions 1 to 1)"),
        "{err}"
    );
}

/// README's "Use in CI" snippet, as written, with `pmflow` on the PATH.
fn readme_snippet() -> String {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let after = readme
        .split("<!-- ci-snippet -->")
        .nth(1)
        .expect("README marks the CI snippet");
    let block = after.split("```bash\n").nth(1).unwrap();
    block.split("```").next().unwrap().to_string()
}

fn run_snippet(p: &Project, run_args: &str) -> (i32, String) {
    let bin = assert_cmd::cargo::cargo_bin("pmflow");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(readme_snippet())
        .current_dir(p.root())
        .env("PATH", path)
        .env("CI", "1")
        .env("PMFLOW_RUN_ARGS", run_args)
        .env_remove("PMFLOW_REGISTRY")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_readme_ci_snippet_promotes_a_good_candidate_and_stops_a_weak_one() {
    let p = Project::new();
    p.write(
        "pipelines/ci.yaml",
        std::fs::read_to_string(repo().join("pipelines/ci.yaml")).unwrap(),
    );
    let (code, _, err) = p.output(&["run", "pipelines/ci.yaml"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = p.output(&["models", "promote", "pump-sensors", "1", "--alias", "production"]);
    assert_eq!(code, 0, "{err}");
    let holder =
        |p: &Project| json(p, &["models", "show", "pump-sensors@production", "--format", "json"])["version"].clone();

    // A good candidate (retrained, bit for bit the same): promoted.
    let (code, out) = run_snippet(&p, "--force train");
    assert_eq!(code, 0, "{out}");
    assert_eq!(holder(&p), 2);
    // A weakened one: the build fails, and production stays where it was.
    let (code, out) = run_snippet(
        &p,
        "--set train.with.epochs=1 --set train.with.hidden=2 --set train.with.skip=false",
    );
    assert_eq!(code, 1, "{out}");
    assert_eq!(holder(&p), 2);
    let comment = std::fs::read_to_string(p.root().join("compare.md")).unwrap();
    assert!(comment.contains("**regression**"), "{comment}");
    let history = json(&p, &["models", "history", "pump-sensors", "--format", "json"]);
    assert_eq!(history.as_array().unwrap().len(), 2, "{history}");
}
