//! Ctrl-C / SIGTERM and step timeouts: the run ends cleanly and the registry says what happened.
//! A named pipe that nobody writes to makes `load` block for as long as the test needs.

use std::time::{Duration, Instant};

use crate::support::{Project, SAMPLE};

fn blocking_input(p: &Project) {
    let fifo = p.root().join("data/blocked.csv");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    p.write(
        "pipelines/train.yaml",
        SAMPLE.replace("data/sensors.csv", "data/blocked.csv"),
    );
}

#[test]
fn sigterm_marks_the_run_interrupted() {
    let p = Project::new();
    blocking_input(&p);
    let mut child = start_blocked_run(&p);
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "an interrupted run exits 1");
    let run = p.show("latest");
    assert_eq!(run["status"], "interrupted");
    assert!(run["ended_at"].is_string());
    assert_eq!(run["steps"][0]["status"], "interrupted");
    assert_eq!(run["steps"][1]["status"], "pending", "never started, left for a resume");
}

#[test]
fn a_step_past_its_timeout_fails_the_run() {
    let p = Project::new();
    blocking_input(&p);
    let (code, _, err) = p.output(&["run", "pipelines/train.yaml", "--set", "load.timeout-secs=1"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("timed out after 1 s"), "{err}");
    // Blocked in `open` of a pipe, the step never reaches a check: it is not retried.
    assert!(err.contains("did not stop within 5 s"), "{err}");
    let run = p.show("latest");
    assert_eq!(run["status"], "failed");
    assert_eq!(run["steps"][1]["status"], "skipped");
}

/// Starts `pmflow run` on a blocking input and waits until the registry shows `load` running.
// The child is returned to the caller, which kills and reaps it.
#[allow(clippy::zombie_processes)]
fn start_blocked_run(p: &Project) -> std::process::Child {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pmflow"))
        .current_dir(p.root())
        .env("CI", "1")
        .args(["run", "pipelines/train.yaml"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("load never started");
        }
        let (code, out, _) = p.output(&["runs", "show", "latest", "--format", "json"]);
        if code == 0 && out.contains("\"status\": \"running\"") && out.contains("\"attempts\": 1") {
            return child;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_killed_run_is_found_and_marked_interrupted() {
    let p = Project::new();
    blocking_input(&p);
    let mut child = start_blocked_run(&p);
    child.kill().unwrap(); // SIGKILL: no chance to record anything
    child.wait().unwrap();
    let (code, out, err) = p.output(&["runs", "list", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let runs: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(runs[0]["status"], "interrupted", "{out}");
    let run = p.show("latest");
    assert!(
        run["error"]
            .as_str()
            .unwrap()
            .contains("ended without finishing the run"),
        "{run}"
    );
    assert_eq!(run["steps"][0]["status"], "interrupted");

    // The input becomes readable (same path, so the same pipeline): `--resume` finishes the run.
    let fifo = p.root().join("data/blocked.csv");
    std::fs::remove_file(&fifo).unwrap();
    std::fs::copy(p.root().join("data/sensors.csv"), &fifo).unwrap();
    let id = run["id"].as_str().unwrap();
    let (code, _, err) = p.output(&["run", "pipelines/train.yaml", "--resume", id]);
    assert_eq!(code, 0, "{err}");
    let resumed = p.show(id);
    assert_eq!(resumed["status"], "succeeded");
    assert!(resumed["error"].is_null());
    assert_eq!(resumed["steps"][1]["status"], "succeeded");
}

#[test]
fn a_live_run_is_not_mistaken_for_a_dead_one() {
    let p = Project::new();
    blocking_input(&p);
    let mut child = start_blocked_run(&p);
    // Opening the registry from another process must leave the live run alone.
    let run = p.show("latest");
    assert_eq!(run["status"], "running");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Training that would take minutes: stopped by a signal or a timeout long before its end.
const LONG_TRAINING: &str = r#"name: long-training
experiment: interrupts
steps:
  - {id: load, kind: load, with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}
  - {id: clean, kind: clean, needs: [load], with: {impute: median}}
  - {id: split, kind: split, needs: [clean], with: {by: entity, seed: 1}}
  - {id: train, kind: train-lstm, needs: [split], with: {window: 24, hidden: 32, epochs: 500, patience: 1000}}
"#;

/// The epochs of `key` in the run's series, in the order recorded.
fn epochs_of(run: &serde_json::Value, key: &str) -> Vec<i64> {
    run["series"][key]
        .as_array()
        .map(|s| s.iter().map(|point| point[0].as_i64().unwrap()).collect())
        .unwrap_or_default()
}

/// Starts the training pipeline and returns the child once `train` has logged an epoch.
// The child is returned to the caller, which signals and reaps it.
#[allow(clippy::zombie_processes)]
fn start_training(p: &Project, earlier: &[String]) -> (std::process::Child, String) {
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pmflow"))
        .current_dir(p.root())
        .env("CI", "1")
        .args(["run", "pipelines/long.yaml"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "training never logged an epoch");
        let (code, out, _) = p.output(&["runs", "show", "latest", "--format", "json"]);
        if code == 0 {
            let run: serde_json::Value = serde_json::from_str(&out).unwrap();
            if earlier.iter().any(|id| run["id"] == id.as_str()) {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            assert_eq!(run["status"], "running", "the run ended before the signal: {run}");
            if !epochs_of(&run, "train.train_loss").is_empty() {
                return (child, run["id"].as_str().unwrap().to_string());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn sigterm_and_ctrl_c_during_training_stop_it_cleanly() {
    let p = Project::new();
    p.write("pipelines/long.yaml", LONG_TRAINING);
    let mut earlier = Vec::new();
    for signal in ["TERM", "INT", "TERM", "INT"] {
        let (child, id) = start_training(&p, &earlier);
        earlier.push(id.clone());
        let sent = std::process::Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        // Not 139 (a segmentation fault as libtorch is torn down under the training thread).
        assert_eq!(out.status.code(), Some(1), "SIG{signal}: {:?}\n{err}", out.status);
        assert!(!err.contains("panicked"), "SIG{signal}: {err}");
        assert!(err.contains("stopping: waiting up to 5 s for `train` to stop"), "{err}");
        let run = p.show(&id);
        assert_eq!(run["status"], "interrupted", "{run}");
        let train = &run["steps"][3];
        assert_eq!(train["id"], "train");
        assert_eq!(train["status"], "interrupted");
        // It stopped at a check, not left behind still training.
        assert_eq!(train["error"], "interrupted", "{train}");
        let epochs = epochs_of(&run, "train.train_loss");
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(
            epochs_of(&p.show(&id), "train.train_loss"),
            epochs,
            "nothing trains on after the process ended"
        );
    }
}

#[test]
fn a_timed_out_training_attempt_stops_before_its_retry_starts() {
    let p = Project::new();
    p.write(
        "pipelines/long.yaml",
        LONG_TRAINING.replace("patience: 1000}}", "patience: 1000}, timeout-secs: 6, retries: 1}"),
    );
    let (code, _, err) = p.output(&["run", "pipelines/long.yaml"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("timed out after 6 s (`timeout-secs`)"), "{err}");
    assert!(!err.contains("did not stop") && !err.contains("panicked"), "{err}");
    let run = p.show("latest");
    let train = &run["steps"][3];
    assert_eq!(train["attempts"], 2, "{train}");
    // The second attempt's epochs, each once and in order: the first attempt, stopped at its
    // timeout, logged nothing once its retry had started.
    let epochs = epochs_of(&run, "train.train_loss");
    assert!(!epochs.is_empty(), "{run}");
    let expected: Vec<i64> = (1..=epochs.len() as i64).collect();
    assert_eq!(epochs, expected);
}
