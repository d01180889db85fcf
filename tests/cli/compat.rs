//! A registry the previous version wrote still works: tests/fixtures/registry_v0.tar.gz is a
//! project made by pmflow at commit bdc379d (before the step contract; its pipelines say
//! `kind: train-lstm`): two registered versions of `pumps` with `production` on v2, and a run of
//! `pumps-drift` that failed in its drift step on a bad `data/current.csv`
//! (tests/fixtures/registry_v0.md says how it was made). Its artifact URIs are absolute, so it is
//! unpacked where it was made.

use std::path::Path;

use crate::support::{pmflow_in, repo};

const MADE_AT: &str = "/tmp/pmflow-compat-v0";
const FAILED_RUN: &str = "01a252a2791b77d9abc667bb043d3258";

fn pmflow(args: &[&str]) -> (i32, String, String) {
    pmflow_in(Path::new(MADE_AT), args)
}

#[test]
fn a_registry_of_the_previous_version_serves_predict_compare_and_resume() {
    let _ = std::fs::remove_dir_all(MADE_AT);
    let unpacked = std::process::Command::new("tar")
        .args([
            "xzf",
            &repo().join("tests/fixtures/registry_v0.tar.gz").display().to_string(),
            "-C",
        ])
        .arg(Path::new(MADE_AT).parent().unwrap())
        .status()
        .unwrap();
    assert!(unpacked.success());

    // Its pipelines, with the kind's former name, still validate.
    let (code, out, err) = pmflow(&["validate", "pipelines/pumps.yaml"]);
    assert_eq!(code, 0, "{out}{err}");

    // The production model scores new readings.
    let (code, out, err) = pmflow(&[
        "predict",
        "--model",
        "pumps@production",
        "--data",
        "data/sensors.csv",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let scored: serde_json::Value = serde_json::from_str(&out).expect("predict prints JSON");
    let machines = scored["machines"].as_array().expect("one row per machine");
    assert!(
        !machines.is_empty() && machines.iter().all(|m| m["score"].is_number()),
        "{out}"
    );

    // The two versions compare on the metrics their runs recorded.
    let (code, out, err) = pmflow(&["compare", "pumps@v1", "pumps@production", "--format", "json"]);
    assert!(code == 0 || code == 1, "exit {code}: {out}{err}");
    assert!(out.contains("evaluate.pr_auc"), "{out}");

    // The failed run resumes once its input is fixed: what succeeded is reused, drift runs.
    std::fs::copy(
        Path::new(MADE_AT).join("data/sensors.csv"),
        Path::new(MADE_AT).join("data/current.csv"),
    )
    .unwrap();
    let (code, out, err) = pmflow(&["run", "pipelines/resume.yaml", "--resume", FAILED_RUN]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = pmflow(&["runs", "show", FAILED_RUN, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let run: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(run["status"], "succeeded", "{out}");
    let step = |id: &str| {
        run["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(step("drift")["status"], "succeeded", "{out}");
    assert_eq!(
        step("train")["attempts"],
        1,
        "the trained model is reused, not retrained: {out}"
    );
    let _ = std::fs::remove_dir_all(MADE_AT);
}
