//! `pmflow run`: a real run into a real SQLite registry and artifact folder; overrides; a
//! failing step (run failed, downstream skipped); the real AI4I and C-MAPSS files.

use crate::support::{Project, SAMPLE};

fn metric(run: &serde_json::Value, key: &str) -> f64 {
    run["metrics"][key]
        .as_f64()
        .unwrap_or_else(|| panic!("metric {key} missing in {}", run["metrics"]))
}

#[test]
fn warnings_are_recorded_and_shown_with_the_run() {
    let p = Project::new();
    p.write("data/dead.csv", "t,x,dead\n1,1.5,\n2,2.5,\n");
    p.write(
        "pipelines/dead.yaml",
        "name: dead\nsteps:\n  - {id: load, kind: load, with: {path: data/dead.csv}}\n",
    );
    let (code, _, err) = p.output(&["run", "pipelines/dead.yaml"]);
    assert_eq!(code, 0, "{err}");
    let warning = "data/dead.csv: column `dead` is empty on every row";
    assert!(err.contains(&format!("load: warning: {warning}")), "{err}");
    assert_eq!(
        p.show("latest")["tags"]["warning.load"].as_str().unwrap_or_default(),
        format!("{warning}; no step will use it as a feature")
    );
    let (_, out, _) = p.output(&["runs", "show", "latest"]);
    assert!(out.contains(&format!("WARNINGS\n  load: {warning}")), "{out}");
    // A cache hit gives the same warning again: the data behind it has not changed.
    let (code, _, err) = p.output(&["run", "pipelines/dead.yaml"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("load: cached") && err.contains(&format!("load: warning: {warning}")),
        "{err}"
    );
    let again = p.show("latest");
    assert!(again["tags"]["warning.load"]
        .as_str()
        .unwrap_or_default()
        .starts_with(warning));
}

#[test]
fn successful_run_leaves_registry_rows_and_artifacts() {
    let p = Project::new();
    p.write("pipelines/train.yaml", SAMPLE);
    let (code, out, err) = p.output(&["run", "pipelines/train.yaml"]);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(out.contains("succeeded"), "{out}");
    assert!(
        err.contains("load: succeeded") && err.contains("clean: succeeded"),
        "plain progress lines: {err}"
    );

    let run = p.show("latest");
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["experiment"], "pumps");
    assert_eq!(run["pipeline"], "pump-failure");
    let steps = run["steps"].as_array().unwrap();
    assert_eq!(
        steps.iter().map(|s| s["id"].as_str().unwrap()).collect::<Vec<_>>(),
        ["load", "clean"]
    );
    assert!(steps
        .iter()
        .all(|s| s["status"] == "succeeded" && s["cached"] == false && s["error"].is_null()));
    assert_eq!(run["params"]["params.seed"], 42);
    assert_eq!(
        run["params"]["clean.impute"], "interpolate",
        "params record the resolved ${{params.method}}"
    );

    // data/sensors.csv: 4010 lines of data, 10 of them exact repeats (scripts/make_sample_sensors.py).
    assert_eq!(metric(&run, "load.rows"), 4010.0);
    assert_eq!(metric(&run, "clean.duplicates_dropped"), 10.0);
    assert_eq!(metric(&run, "clean.rows_out"), 4000.0);
    assert!(metric(&run, "clean.imputed.temperature") > 0.0);

    // Every artifact exists where the registry says, with the recorded size and digest.
    let artifacts = run["artifacts"].as_array().unwrap();
    let names: Vec<&str> = artifacts.iter().map(|a| a["name"].as_str().unwrap()).collect();
    for expected in [
        "pipeline.json",
        "frame.parquet",
        "load_report.json",
        "clean_report.json",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    for a in artifacts {
        let uri = a["uri"].as_str().unwrap();
        let path = uri.strip_prefix("file://").expect("local artifact uri");
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{uri}: {e}"));
        assert_eq!(bytes.len() as u64, a["bytes"].as_u64().unwrap(), "{uri}");
        let digest = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&bytes))
        };
        assert_eq!(digest, a["sha256"].as_str().unwrap(), "{uri}");
        assert!(
            path.starts_with(p.root().join("artifacts").to_str().unwrap()),
            "{uri} under the project's artifacts/"
        );
    }
    assert!(p.root().join("experiments/registry.db").exists());
}

#[test]
fn set_overrides_reach_the_run_and_its_params() {
    let p = Project::new();
    p.write("pipelines/train.yaml", SAMPLE);
    let (code, _, err) = p.output(&[
        "run",
        "pipelines/train.yaml",
        "--set",
        "params.seed=7",
        "--set",
        "clean.with.impute=mean",
    ]);
    assert_eq!(code, 0, "{err}");
    let run = p.show("latest");
    assert_eq!(run["params"]["params.seed"], 7);
    assert_eq!(run["params"]["clean.impute"], "mean");
}

#[test]
fn failing_step_fails_the_run_and_skips_downstream() {
    let p = Project::new();
    p.write("pipelines/train.yaml", SAMPLE);
    let (code, out, err) = p.output(&["run", "pipelines/train.yaml", "--set", "load.with.path=data/nope.csv"]);
    assert_eq!(code, 1, "a failed run exits 1; stdout {out} stderr {err}");
    assert!(err.contains("data/nope.csv"), "the error names the file: {err}");
    let run = p.show("latest");
    assert_eq!(run["status"], "failed");
    assert!(run["ended_at"].is_string());
    let steps = run["steps"].as_array().unwrap();
    assert_eq!(steps[0]["status"], "failed");
    assert!(steps[0]["error"].as_str().unwrap().contains("data/nope.csv"));
    assert_eq!(steps[1]["status"], "skipped");
}

#[test]
fn retries_are_attempted_and_counted() {
    let p = Project::new();
    p.write("pipelines/train.yaml", SAMPLE);
    let (code, _, err) = p.output(&[
        "run",
        "pipelines/train.yaml",
        "--set",
        "load.with.path=data/nope.csv",
        "--set",
        "load.retries=2",
    ]);
    assert_eq!(code, 1);
    assert_eq!(err.matches("retrying").count(), 2, "{err}");
    let run = p.show("latest");
    assert_eq!(run["steps"][0]["attempts"], 3);
}

#[test]
fn bad_data_fails_with_file_column_and_row() {
    let p = Project::new();
    let mut csv = std::fs::read_to_string(p.root().join("data/sensors.csv")).unwrap();
    csv = csv.replacen("\n2024-01-01 05:00:00,P01,", "\n2024-01-01 05:00:00,P01,ERR", 1);
    p.write("data/sensors.csv", csv);
    p.write("pipelines/train.yaml", SAMPLE);
    let (code, _, err) = p.output(&["run", "pipelines/train.yaml"]);
    assert_eq!(code, 1);
    assert!(err.contains("data/sensors.csv: column `temperature`"), "{err}");
    assert!(err.contains("row 6 (line 7)"), "{err}");
}

#[test]
fn shipped_real_data_pipelines_run() {
    // The real files with their quirks: AI4I (BOM, CRLF, bracketed names), C-MAPSS
    // (headerless, whitespace-separated, trailing spaces).
    let p = Project::new();
    for dir in ["ai4i2020", "cmapss_fd001"] {
        for entry in std::fs::read_dir(crate::support::repo().join("data").join(dir)).unwrap() {
            let entry = entry.unwrap();
            let text = std::fs::read(entry.path()).unwrap();
            p.write(&format!("data/{dir}/{}", entry.file_name().to_string_lossy()), text);
        }
    }
    for name in ["ai4i", "cmapss"] {
        let text = std::fs::read_to_string(crate::support::repo().join(format!("pipelines/{name}.yaml"))).unwrap();
        p.write(&format!("pipelines/{name}.yaml"), text);
        let (code, _, err) = p.output(&["run", &format!("pipelines/{name}.yaml")]);
        assert_eq!(code, 0, "{name}: {err}");
    }
    let runs: serde_json::Value = serde_json::from_str(&p.output(&["runs", "list", "--format", "json"]).1).unwrap();
    let ids: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    let cmapss = p.show(ids[0]);
    let ai4i = p.show(ids[1]);
    assert_eq!(metric(&ai4i, "load.rows"), 10000.0);
    assert_eq!(metric(&ai4i, "load.columns"), 14.0);
    assert_eq!(metric(&cmapss, "load.rows"), 20631.0);
    assert_eq!(metric(&cmapss, "load.columns"), 26.0);

    // Every failure survives the split: AI4I has 339 (README of ../shared/data); C-MAPSS has
    // 31 cycles with RUL <= 30 in each of its 100 run-to-failure engines.
    let positives = |run: &serde_json::Value| -> f64 {
        ["train", "val", "test"]
            .iter()
            .map(|p| metric(run, &format!("split.{p}.positives")))
            .sum()
    };
    assert_eq!(positives(&ai4i), 339.0);
    assert_eq!(positives(&cmapss), 3100.0);
    // Stratified: each AI4I part keeps the 3.39% failure rate within one percentage point.
    for part in ["train", "val", "test"] {
        let rate = metric(&ai4i, &format!("split.{part}.positives")) / metric(&ai4i, &format!("split.{part}.rows"));
        assert!((rate - 0.0339).abs() <= 0.01, "{part}: {rate}");
    }
}

#[test]
fn binary_runs_libtorch_from_any_directory_without_ld_library_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("pmflow")
        .unwrap()
        .current_dir(dir.path())
        .env_remove("LD_LIBRARY_PATH")
        .env_remove("LIBTORCH")
        .arg("info")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("libtorch: ok (self-check 1 + 2 + 3 = 6)"), "{text}");
}

#[test]
fn help_documents_the_exit_codes() {
    let out = assert_cmd::Command::cargo_bin("pmflow")
        .unwrap()
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "0  success",
        "1  the run failed",
        "2  invalid usage or invalid pipeline",
        "3  internal error",
    ] {
        assert!(text.contains(line), "{text}");
    }
}
