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
