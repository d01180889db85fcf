//! Every pipeline shipped in `pipelines/` is an example a user copies: each one validates, plans
//! and runs end to end on the shipped data (with one training epoch, so the suite stays fast),
//! doing what `--dry-run` said it would, cold and warm.

use std::path::{Path, PathBuf};

use crate::support::repo;

fn shipped_pipelines() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("pipelines"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "pipelines/ holds no pipeline");
    files
}

/// The id of the pipeline's `train-lstm` step, if it has one (`- id: X` then `kind: train-lstm`).
fn training_step(text: &str) -> Option<String> {
    let mut id = None;
    for line in text.lines() {
        let line = line.trim().trim_start_matches("- ");
        if let Some(rest) = line.strip_prefix("id:") {
            id = Some(rest.trim().to_string());
        } else if matches!(line.strip_prefix("kind:").map(str::trim), Some("train" | "train-lstm")) {
            return id;
        }
    }
    None
}

/// A project holding one shipped pipeline and (links to) the shipped data, the example
/// programs and the project venv.
fn project_with(file: &Path) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pipelines")).unwrap();
    std::os::unix::fs::symlink(repo().join("data"), dir.path().join("data")).unwrap();
    // The user programs the `command` examples run, and the project venv they run with.
    std::os::unix::fs::symlink(repo().join("pipelines/steps"), dir.path().join("pipelines/steps")).unwrap();
    std::os::unix::fs::symlink(repo().join(".venv"), dir.path().join(".venv")).unwrap();
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::copy(file, dir.path().join("pipelines").join(&name)).unwrap();
    (dir, format!("pipelines/{name}"))
}

fn pmflow(root: &Path, args: &[&str]) -> (bool, String, String) {
    let (code, out, err) = crate::support::pmflow_in(root, args);
    (code == 0, out, err)
}

/// The plan `--dry-run` prints, as (step, "run" or "cached").
fn planned(root: &Path, args: &[&str]) -> Vec<(String, String)> {
    let mut with_dry_run = args.to_vec();
    with_dry_run.push("--dry-run");
    let (ok, plan, err) = pmflow(root, &with_dry_run);
    assert!(ok && plan.contains("plan for"), "{args:?}: no plan: {err}");
    plan.lines()
        .skip(1)
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            (words[0].to_string(), words[2].to_string())
        })
        .collect()
}

/// What the latest run did with each step, as (step, "run" or "cached").
fn what_ran(root: &Path) -> Vec<(String, String)> {
    let (ok, out, err) = pmflow(root, &["runs", "show", "latest", "--format", "json"]);
    assert!(ok, "{err}");
    let run: serde_json::Value = serde_json::from_str(&out).unwrap();
    run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let what = if s["cached"] == true { "cached" } else { "run" };
            (s["id"].as_str().unwrap().to_string(), what.to_string())
        })
        .collect()
}

#[test]
fn every_shipped_pipeline_validates_plans_and_runs_as_planned() {
    for file in shipped_pipelines() {
        let shown = file.display().to_string();
        let (dir, rel) = project_with(&file);
        let root = dir.path();
        let (ok, _, err) = pmflow(root, &["validate", &rel]);
        assert!(ok, "{shown} does not validate: {err}");

        let text = std::fs::read_to_string(&file).unwrap();
        let mut args = vec!["run".to_string(), rel.clone()];
        if let Some(train) = training_step(&text) {
            args.extend(["--set".to_string(), format!("{train}.with.epochs=1")]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // Cold, then warm: what `--dry-run` says is what the run then does, step by step.
        for round in ["cold", "warm"] {
            let plan = planned(root, &args);
            let (ok, _, err) = pmflow(root, &args);
            assert!(ok, "{shown} does not run ({round}): {err}");
            assert!(err.contains("run succeeded"), "{shown}: {err}");
            assert_eq!(plan, what_ran(root), "{shown} ({round}): the plan, then the run");
        }
        let warm = planned(root, &args);
        assert!(
            warm.iter().filter(|(_, what)| what == "cached").count() >= warm.len() - 1,
            "{shown}: a second run takes every step but `register` from the cache: {warm:?}"
        );
        if rel.ends_with("custom.yaml") {
            user_model_scores_the_fleet(root);
        }
    }
}

/// `pmflow predict` with the version `pipelines/custom.yaml` registered (scikit-learn's trees,
/// behind its own score command; the per-machine baseline replayed with its training state):
/// every machine of the fleet gets a score and a risk, and its work orders list the machines
/// at risk.
fn user_model_scores_the_fleet(root: &Path) {
    let (ok, out, err) = pmflow(
        root,
        &[
            "predict",
            "--model",
            "pump-failure-gbm@production",
            "--data",
            "data/fleet.csv",
            "--format",
            "json",
        ],
    );
    assert!(ok, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let machines = json["machines"].as_array().unwrap();
    assert_eq!(machines.len(), 80, "{out}");
    let at_risk = machines.iter().filter(|m| m["risk"] != "healthy").count();
    let (ok, out, err) = pmflow(root, &["runs", "show", "latest", "--format", "json"]);
    assert!(ok, "{err}");
    let run: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        run["metrics"]["work_orders.work_orders"], at_risk as f64,
        "{}",
        run["metrics"]
    );
}

#[test]
fn the_training_step_is_found_in_pipeline_text() {
    let text = "steps:\n  - id: load\n    kind: load\n  - id: fit\n    kind: train-lstm\n";
    assert_eq!(training_step(text).as_deref(), Some("fit"));
    assert_eq!(training_step("steps:\n  - id: load\n    kind: load\n"), None);
}
