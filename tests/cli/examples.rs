//! Every pipeline shipped in `pipelines/` is an example a user copies: each one validates, plans
//! and runs end to end on the shipped data (with one training epoch, so the suite stays fast).

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
        } else if line.strip_prefix("kind:").map(str::trim) == Some("train-lstm") {
            return id;
        }
    }
    None
}

/// A project holding one shipped pipeline and (a link to) the shipped data.
fn project_with(file: &Path) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pipelines")).unwrap();
    std::os::unix::fs::symlink(repo().join("data"), dir.path().join("data")).unwrap();
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::copy(file, dir.path().join("pipelines").join(&name)).unwrap();
    (dir, format!("pipelines/{name}"))
}

fn pmflow(root: &Path, args: &[&str]) -> (bool, String, String) {
    let out = assert_cmd::Command::cargo_bin("pmflow")
        .unwrap()
        .current_dir(root)
        .env("CI", "1")
        .env_remove("PMFLOW_REGISTRY")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_shipped_pipeline_validates_plans_and_runs() {
    for file in shipped_pipelines() {
        let shown = file.display().to_string();
        let (dir, rel) = project_with(&file);
        let root = dir.path();
        let (ok, _, err) = pmflow(root, &["validate", &rel]);
        assert!(ok, "{shown} does not validate: {err}");
        let (ok, plan, err) = pmflow(root, &["run", &rel, "--dry-run"]);
        assert!(ok && plan.contains("plan for"), "{shown}: no plan: {err}");

        let text = std::fs::read_to_string(&file).unwrap();
        let mut args = vec!["run".to_string(), rel.clone()];
        if let Some(train) = training_step(&text) {
            args.extend(["--set".to_string(), format!("{train}.with.epochs=1")]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, _, err) = pmflow(root, &args);
        assert!(ok, "{shown} does not run: {err}");
        assert!(err.contains("run succeeded"), "{shown}: {err}");
    }
}

#[test]
fn the_training_step_is_found_in_pipeline_text() {
    let text = "steps:\n  - id: load\n    kind: load\n  - id: fit\n    kind: train-lstm\n";
    assert_eq!(training_step(text).as_deref(), Some("fit"));
    assert_eq!(training_step("steps:\n  - id: load\n    kind: load\n"), None);
}
