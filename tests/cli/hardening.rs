//! Issue 12's hostile-user cases that need the real binary killed, resumed or collected:
//! SIGKILL during training and `--resume`, what a killed run leaves in its folder, `pmflow gc`,
//! `--resume latest` with several pipelines, a registry that cannot be written, `-j 0`.

use std::time::{Duration, Instant};

use crate::support::Project;

/// A short training run on the sample data: four epochs of about a second each.
const TRAINING: &str = r#"name: killed-training
experiment: hardening
steps:
  - {id: load, kind: load, with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}
  - {id: clean, kind: clean, needs: [load], with: {impute: median}}
  - {id: split, kind: split, needs: [clean], with: {by: entity, seed: 1}}
  - {id: train, kind: train-lstm, needs: [split], with: {window: 48, hidden: 96, epochs: 4, patience: 100}}
"#;

fn series_len(run: &serde_json::Value, key: &str) -> usize {
    run["series"][key].as_array().map_or(0, |s| s.len())
}

/// Starts the pipeline and SIGKILLs it once `train` has logged `epochs` epochs.
fn kill_after_epochs(p: &Project, file: &str, epochs: usize) -> String {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pmflow"))
        .current_dir(p.root())
        .env("CI", "1")
        .args(["run", file])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let outcome = loop {
        if Instant::now() > deadline {
            break Err(format!("training never reached epoch {epochs}"));
        }
        let (code, out, _) = p.output(&["runs", "show", "latest", "--format", "json"]);
        if code == 0 {
            let run: serde_json::Value = serde_json::from_str(&out).unwrap();
            if run["status"] != "running" {
                break Err(format!("the run ended before it could be killed: {run}"));
            }
            if series_len(&run, "train.val_pr_auc") >= epochs {
                break Ok(run["id"].as_str().unwrap().to_string());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    child.kill().unwrap(); // SIGKILL: no chance to record or clean anything
    child.wait().unwrap();
    outcome.unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_run_killed_in_training_resumes_with_one_point_per_epoch_and_no_leftovers() {
    let p = Project::new();
    p.write("pipelines/train.yaml", TRAINING);
    let id = kill_after_epochs(&p, "pipelines/train.yaml", 2);
    let killed = p.show(&id);
    assert_eq!(killed["status"], "interrupted", "{killed}");
    assert!(series_len(&killed, "train.val_pr_auc") >= 2);

    // What a SIGKILL in `split` leaves (its staging file of a dead writer, a table renamed
    // into place but never recorded), planted beside the real run's recorded tables.
    let split = p.root().join(format!("artifacts/hardening/{id}/split"));
    let recorded = std::fs::read(split.join("train.parquet")).unwrap();
    std::fs::write(split.join(".val.parquet.partial-999999"), b"half a table").unwrap();
    std::fs::write(split.join("extra.parquet"), b"complete but unrecorded").unwrap();

    let (code, _, err) = p.output(&["run", "pipelines/train.yaml", "--resume", "latest"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("removed 2 file(s)"), "{err}");
    let resumed = p.show(&id);
    assert_eq!(resumed["status"], "succeeded");
    // Each epoch once, from the attempt that produced the model.
    let series = resumed["series"]["train.val_pr_auc"].as_array().unwrap();
    let epochs: Vec<i64> = series.iter().map(|point| point[0].as_i64().unwrap()).collect();
    assert_eq!(epochs, [1, 2, 3, 4], "{series:?}");
    assert_eq!(
        resumed["steps"][3]["attempts"], 2,
        "the killed attempt and the resumed one"
    );
    assert!(!split.join(".val.parquet.partial-999999").exists());
    assert!(!split.join("extra.parquet").exists());
    assert_eq!(
        std::fs::read(split.join("train.parquet")).unwrap(),
        recorded,
        "recorded tables untouched"
    );

    // The killed attempt's points are kept apart, labelled with their attempt.
    let db = p.root().join("experiments/registry.db");
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg("import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute(\"SELECT COUNT(*), MIN(attempt), MAX(attempt) FROM superseded_metrics WHERE key='val_pr_auc'\").fetchone())")
        .arg(&db)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let (count, first, last): (usize, i64, i64) = {
        let nums: Vec<i64> = text
            .trim()
            .trim_matches(['(', ')'])
            .split(',')
            .map(|n| n.trim().parse().unwrap())
            .collect();
        (nums[0] as usize, nums[1], nums[2])
    };
    assert!(count >= 2 && first == 1 && last == 1, "{text}");
}

const TINY: &str = r#"name: NAME
experiment: hardening
params: {factor: 3.0}
steps:
  - {id: load, kind: load, with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}
  - {id: clean, kind: clean, needs: [load], with: {outliers: {method: iqr, factor: "${params.factor}", action: clip}}}
"#;

fn artifact_files(p: &Project, run: &serde_json::Value) -> Vec<std::path::PathBuf> {
    let _ = p;
    run["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| std::path::PathBuf::from(a["uri"].as_str().unwrap().strip_prefix("file://").unwrap()))
        .collect()
}

#[test]
fn gc_removes_leftovers_unknown_runs_and_old_runs_but_not_what_kept_runs_use() {
    let p = Project::new();
    p.write("pipelines/tiny.yaml", TINY.replace("NAME", "tiny"));
    let mut ids = Vec::new();
    for factor in ["2.0", "3.0", "2.0"] {
        let set = format!("params.factor={factor}");
        let (code, _, err) = p.output(&["run", "pipelines/tiny.yaml", "--set", &set]);
        assert_eq!(code, 0, "{err}");
        ids.push(p.show("latest")["id"].as_str().unwrap().to_string());
    }
    let runs: Vec<serde_json::Value> = ids.iter().map(|id| p.show(id)).collect();
    // The third run took both steps from the first run's cache: it uses the first run's tables.
    assert_eq!(runs[2]["steps"][1]["cached"], true, "{}", runs[2]);
    let folder = |id: &str| p.root().join(format!("artifacts/hardening/{id}"));
    let stray_run = "0123456789abcdef0123456789abcdef";
    p.write(
        &format!("artifacts/hardening/{stray_run}/clean/frame.parquet"),
        b"of a run the registry forgot",
    );
    p.write(
        &format!("artifacts/hardening/{}/clean/.frame.parquet.partial-999999", ids[1]),
        b"half",
    );
    p.write("artifacts/notes.txt", b"not pmflow's");

    let (code, out, err) = p.output(&["gc", "--keep-last", "1", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("would remove leftover of a killed run"), "{out}");
    assert!(out.contains("would remove incomplete unknown run"), "{out}");
    assert!(out.contains("would remove old run"), "{out}");
    assert!(folder(stray_run).exists(), "a dry run removes nothing");

    let (code, out, err) = p.output(&["gc", "--keep-last", "1"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("gc: removed"), "{out}");
    assert!(!folder(stray_run).exists());
    assert!(!folder(&ids[1]).exists(), "run 2 is old and nothing uses its files");
    // Run 1's files stay exactly where run 3 (kept, served from the cache) points at them.
    let used_by_run_3 = artifact_files(&p, &runs[2]);
    let first = artifact_files(&p, &runs[0]);
    assert!(
        first.iter().any(|f| used_by_run_3.contains(f)),
        "run 3 reuses run 1's tables"
    );
    // Its `pipeline.json` stays with them: it tells another registry's gc the folder is a run.
    for file in first {
        let kept = used_by_run_3.contains(&file) || file.ends_with("pipeline.json");
        assert_eq!(file.exists(), kept, "{}", file.display());
    }
    assert!(
        p.root().join("artifacts/notes.txt").exists(),
        "files that are not pmflow's stay"
    );
    let old = p.show(&ids[1]);
    // Records and files agree: each artifact of the collected run is either stamped removed or
    // still there (its cached `load` tables are run 1's, which run 3 uses).
    for a in old["artifacts"].as_array().unwrap() {
        let file = std::path::PathBuf::from(a["uri"].as_str().unwrap().strip_prefix("file://").unwrap());
        assert_ne!(a["removed_at"].is_string(), file.exists(), "{a}");
    }
    assert!(old["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["removed_at"].is_string()));
    // The collected run is no longer a cache entry: the same settings run again, for real.
    let (code, _, err) = p.output(&["run", "pipelines/tiny.yaml", "--set", "params.factor=3.0"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(p.show("latest")["steps"][1]["cached"], false);
    let (code, _, err) = p.output(&["gc", "--older-than", "30x"]);
    assert_eq!(code, 2);
    assert!(err.contains("--older-than `30x`"), "{err}");
}

#[test]
fn resume_latest_stays_within_its_pipeline() {
    let p = Project::new();
    // Pipeline `a` fails in `load` (its label holds a 2); pipeline `b` then succeeds.
    p.write(
        "data/a.csv",
        "timestamp,equipment_id,x,failure\n2024-01-01 00:00:00,P1,1.0,2\n",
    );
    p.write(
        "pipelines/a.yaml",
        TINY.replace("NAME", "a").replace("data/sensors.csv", "data/a.csv"),
    );
    p.write("pipelines/b.yaml", TINY.replace("NAME", "b"));
    let (code, _, _) = p.output(&["run", "pipelines/a.yaml"]);
    assert_eq!(code, 1);
    let a_run = p.show("latest")["id"].as_str().unwrap().to_string();
    let (code, _, err) = p.output(&["run", "pipelines/b.yaml"]);
    assert_eq!(code, 0, "{err}");
    let b_run = p.show("latest")["id"].as_str().unwrap().to_string();

    // The data is fixed; `latest` is a's failed run, not b's newer one.
    std::fs::copy(p.root().join("data/sensors.csv"), p.root().join("data/a.csv")).unwrap();
    let (code, _, err) = p.output(&["run", "pipelines/a.yaml", "--resume", "latest"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(p.show(&a_run)["status"], "succeeded");
    let (code, _, err) = p.output(&["run", "pipelines/a.yaml", "--resume", &b_run]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is a run of pipeline `b` (pipelines/b.yaml)"), "{err}");
}

#[test]
fn a_registry_that_cannot_be_written_can_still_be_listed() {
    let p = Project::new();
    p.write("pipelines/tiny.yaml", TINY.replace("NAME", "tiny"));
    let (code, _, err) = p.output(&["run", "pipelines/tiny.yaml"]);
    assert_eq!(code, 0, "{err}");
    let db = p.root().join("experiments/registry.db");
    // Root ignores permission bits; the immutable attribute stops even root.
    let immutable = std::process::Command::new("chattr")
        .arg("+i")
        .arg(&db)
        .status()
        .is_ok_and(|s| s.success());
    if !immutable {
        let mut perms = std::fs::metadata(&db).unwrap().permissions();
        perms.set_readonly(true);
        std::fs::set_permissions(&db, perms).unwrap();
    }
    let (code, out, err) = p.output(&["runs", "list"]);
    let (show_code, show, _) = p.output(&["runs", "show", "latest"]);
    if immutable {
        let _ = std::process::Command::new("chattr").arg("-i").arg(&db).status();
    }
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("tiny"), "{out}");
    assert_eq!(show_code, 0);
    assert!(show.contains("succeeded"), "{show}");
}

#[test]
fn zero_jobs_is_refused() {
    let p = Project::new();
    p.write("pipelines/tiny.yaml", TINY.replace("NAME", "tiny"));
    let (code, _, err) = p.output(&["run", "pipelines/tiny.yaml", "-j", "0"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("must be at least 1"), "{err}");
}
