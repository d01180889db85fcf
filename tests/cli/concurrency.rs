//! Several pmflow processes on one registry: no "database is locked", no migration race, every
//! row of every run present.

use crate::support::{Project, SAMPLE};

#[test]
fn four_concurrent_runs_on_a_fresh_registry_all_land() {
    let p = Project::new();
    p.write("pipelines/train.yaml", SAMPLE);
    // Start all four before any has created the registry file.
    let children: Vec<std::process::Child> = (0..4)
        .map(|i| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("pmflow"))
                .current_dir(p.root())
                .env("CI", "1")
                .args(["run", "pipelines/train.yaml", "--set", &format!("params.seed={i}")])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(!err.contains("locked"), "{err}");
    }
    let (_, out, _) = p.output(&["runs", "list", "--format", "json"]);
    let runs: serde_json::Value = serde_json::from_str(&out).unwrap();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 4);
    let mut seeds: Vec<i64> = Vec::new();
    for r in runs {
        let run = p.show(r["id"].as_str().unwrap());
        assert_eq!(run["status"], "succeeded");
        seeds.push(run["params"]["params.seed"].as_i64().unwrap());
        // load logs 3 metrics; clean logs 5 plus imputed/outliers/clipped for each of 4 columns;
        // each step adds write_seconds.
        assert_eq!(run["metrics"].as_object().unwrap().len(), 23, "{}", run["metrics"]);
        // pipeline.json, load's frame and report, clean's frame, report and fitted fences, and
        // the run report.
        assert_eq!(run["artifacts"].as_array().unwrap().len(), 7);
    }
    seeds.sort();
    assert_eq!(seeds, [0, 1, 2, 3]);
}
