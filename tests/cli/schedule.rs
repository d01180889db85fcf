//! `pmflow schedule` through the real binary: a per-second schedule fires real (cached, fast)
//! runs; two daemons on one registry never run one fire twice; after downtime `on-missed:
//! run-once` catches up exactly once; an edited file that no longer validates skips its fire
//! and the daemon goes on; SIGTERM stops it with exit 0.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::Project;

const TICK: &str = r#"name: tick
schedule: {cron: "* * * * * *", on-missed: run-once}
steps:
  - {id: load, kind: load, with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}
"#;

fn daemon(p: &Project, args: &[&str]) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("pmflow"))
        .current_dir(p.root())
        .env("CI", "1")
        .arg("schedule")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// SIGTERM, then the exit code and the log.
fn stop(child: Child) -> (i32, String) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The scheduled runs: (fire time, status).
fn scheduled_runs(p: &Project) -> Vec<(String, String)> {
    let (code, out, err) = p.output(&["runs", "list", "--format", "json", "--limit", "1000"]);
    assert_eq!(code, 0, "{err}");
    let runs: serde_json::Value = serde_json::from_str(&out).unwrap();
    runs.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["trigger"] == "schedule")
        .map(|r| {
            (
                r["fire_at"].as_str().unwrap_or("").to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn fires_are_runs_and_two_daemons_never_run_one_fire_twice() {
    let p = Project::new();
    p.write("pipelines/tick.yaml", TICK);
    let (code, out, err) = p.output(&["schedule", "pipelines", "--list"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("tick (pipelines/tick.yaml): `* * * * * *` in UTC; next "),
        "{out}"
    );

    let (a, b) = (
        daemon(&p, &["pipelines/tick.yaml"]),
        daemon(&p, &["pipelines", "--log-format", "json"]),
    );
    std::thread::sleep(Duration::from_millis(3500));
    let ((code_a, log_a), (code_b, log_b)) = (stop(a), stop(b));
    assert_eq!((code_a, code_b), (0, 0), "{log_a}\n{log_b}");
    let runs = scheduled_runs(&p);
    assert!(
        runs.len() >= 2,
        "a per-second schedule fired: {runs:?}\n{log_a}\n{log_b}"
    );
    let fires: HashSet<&str> = runs.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fires.len(),
        runs.len(),
        "one run per fire across both daemons: {runs:?}"
    );
    assert!(runs.iter().all(|(f, s)| !f.is_empty() && s == "succeeded"), "{runs:?}");
    assert!(
        log_a.contains(" - started pipelines=1") && log_a.contains(" - stopped"),
        "{log_a}"
    );
    // JSON lines for log shippers: every line after the fire-time listing is one object.
    let events: Vec<serde_json::Value> = log_b
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(events.first().unwrap()["event"], "started", "{log_b}");
    assert_eq!(events.last().unwrap()["event"], "stopped", "{log_b}");
    let ends = log_a.matches(" tick end fire=").count() + events.iter().filter(|e| e["event"] == "end").count();
    assert_eq!(ends, runs.len(), "{log_a}{log_b}");
}

#[test]
fn downtime_is_caught_up_once_and_a_broken_edit_skips_its_fire() {
    let p = Project::new();
    // A weekly schedule that fired once before, long ago: every fire since was missed.
    p.write(
        "pipelines/weekly.yaml",
        TICK.replace("* * * * * *", "0 0 3 * * Mon").replace("tick", "weekly"),
    );
    let first = daemon(&p, &["pipelines/weekly.yaml"]);
    std::thread::sleep(Duration::from_millis(800));
    let (code, log) = stop(first);
    assert_eq!(code, 0, "{log}");
    assert!(scheduled_runs(&p).is_empty(), "a new schedule misses nothing: {log}");
    // Record a fire three weeks back, as a daemon would have.
    let (code, _, err) = p.output(&["run", "pipelines/weekly.yaml"]);
    assert_eq!(code, 0, "{err}");
    let db = p.root().join("experiments/registry.db");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        sqlx::query("UPDATE runs SET fire_at = '2026-11-02T03:00:00.000Z', trigger = 'schedule'")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
    let second = daemon(&p, &["pipelines/weekly.yaml"]);
    std::thread::sleep(Duration::from_millis(1500));
    let (code, log) = stop(second);
    assert_eq!(code, 0, "{log}");
    assert_eq!(log.matches(" weekly missed ").count(), 1, "{log}");
    let runs = scheduled_runs(&p);
    assert_eq!(
        runs.len(),
        2,
        "one catch-up run, not one per missed Monday: {runs:?}\n{log}"
    );

    // An edit that breaks the file: the fire is skipped with the reason, the daemon goes on.
    p.write("pipelines/tick.yaml", TICK);
    let third = daemon(&p, &["pipelines/tick.yaml"]);
    std::thread::sleep(Duration::from_millis(1200));
    p.write("pipelines/tick.yaml", TICK.replace("kind: load", "kind: lod"));
    std::thread::sleep(Duration::from_millis(1500));
    let (code, log) = stop(third);
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains(" tick error ") && log.contains("the pipeline no longer validates"),
        "{log}"
    );
}

/// `when: drift`: a fire runs the steps up to the drift step; only drift retrains.
const GATED_BY_DRIFT: &str = r#"name: watch
schedule: {cron: "* * * * * *", when: drift}
steps:
  - {id: before, kind: load, with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}
  - {id: after, kind: load, with: {path: data/CURRENT.csv, timestamp: timestamp, entity: equipment_id, label: failure}}
  - {id: drift, kind: drift, needs: [before, after], with: {reference: before/frame, current: after/frame, share: 0.2, on-drift: continue}}
  - {id: retrain, kind: clean, needs: [after, drift], with: {impute: median}}
"#;

/// The scheduled runs' decisions and whether each ran the step after the drift check.
fn decisions(p: &Project) -> Vec<(Option<String>, bool)> {
    let (_, out, _) = p.output(&["runs", "list", "--format", "json", "--limit", "1000"]);
    // No registry yet (before the first fire): no runs.
    let runs: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    runs.as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let shown = p.show(r["id"].as_str().unwrap());
            let decision = shown["tags"]["schedule.decision"].as_str().map(str::to_string);
            let retrained = shown["steps"].as_array().unwrap().iter().any(|s| s["id"] == "retrain");
            (decision, retrained)
        })
        .collect()
}

/// Waits (at most a minute) until the scheduled runs' decisions satisfy `done`.
fn decided(p: &Project, done: impl Fn(&[(Option<String>, bool)]) -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !done(&decisions(p)) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_drift_gated_fire_retrains_only_on_drift() {
    let p = Project::new();
    let sample = std::fs::read_to_string(p.root().join("data/sensors.csv")).unwrap();
    p.write("data/same.csv", &sample);
    p.write_hotter();

    p.write("pipelines/watch.yaml", GATED_BY_DRIFT.replace("CURRENT", "same"));
    let quiet = daemon(&p, &["pipelines/watch.yaml"]);
    // Until a fire has decided (a fixed wait misses every fire when the machine is busy).
    decided(&p, |seen| seen.iter().any(|(d, _)| d.is_some()));
    let (code, log) = stop(quiet);
    assert_eq!(code, 0, "{log}");
    let seen = decisions(&p);
    assert!(!seen.is_empty(), "{log}");
    for (decision, retrained) in &seen {
        assert!(!retrained, "no drift, no retraining: {seen:?}\n{log}");
        assert!(
            decision
                .as_deref()
                .unwrap_or("")
                .starts_with("no retraining: no dataset drift, 0 of 4 features drifted"),
            "{seen:?}"
        );
    }
    assert!(log.contains(" watch no-drift "), "{log}");

    p.write("pipelines/watch.yaml", GATED_BY_DRIFT.replace("CURRENT", "hotter"));
    let before = seen.len();
    let drifting = daemon(&p, &["pipelines/watch.yaml"]);
    decided(&p, |seen| {
        seen.len() > before && seen.iter().any(|(_, retrained)| *retrained)
    });
    let (code, log) = stop(drifting);
    assert_eq!(code, 0, "{log}");
    let seen = decisions(&p);
    let new = &seen[..seen.len() - before];
    // Each drift fire: the check (tagged `retraining: ...`) and the full run after it.
    assert!(
        new.iter().any(|(d, _)| d
            .as_deref()
            .unwrap_or("")
            .starts_with("retraining: 1 of 4 features drifted")),
        "{new:?}\n{log}"
    );
    assert!(new.iter().any(|(_, retrained)| *retrained), "{new:?}\n{log}");
}

/// A pipeline whose first run takes seconds (a generated fleet of 960,000 rows, interpolated):
/// later runs are cache hits.
fn slow_project(overlap: &str) -> Project {
    let p = Project::new();
    p.write_fleet("200");
    p.write(
        "pipelines/slow.yaml",
        format!(
            r#"name: slow
schedule: {{cron: "* * * * * *", overlap: {overlap}}}
steps:
  - {{id: load, kind: load, with: {{path: data/big.csv, timestamp: timestamp, entity: equipment_id}}}}
  - {{id: clean, kind: clean, needs: [load], with: {{impute: interpolate}}}}
"#
        ),
    );
    p
}

#[test]
fn overlapping_fires_are_skipped_or_queued_once() {
    let p = slow_project("skip");
    let d = daemon(&p, &["pipelines/slow.yaml"]);
    std::thread::sleep(Duration::from_millis(4500));
    let (code, log) = stop(d);
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains(" slow skipped ") && log.contains("reason=the previous fire is still running"),
        "{log}"
    );
    let runs = scheduled_runs(&p);
    let fires: HashSet<&str> = runs.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(fires.len(), runs.len(), "{runs:?}");

    let p = slow_project("queue");
    let d = daemon(&p, &["pipelines/slow.yaml"]);
    // Until the queued fire's run has started: on a busy machine the first run alone took
    // 15 s (4.5 s and 7 s of sleep were not enough).
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(120) {
        let (code, out, _) = p.output(&["runs", "list", "--format", "json", "--limit", "1000"]);
        if code == 0
            && serde_json::from_str::<serde_json::Value>(&out)
                .unwrap()
                .as_array()
                .unwrap()
                .len()
                >= 2
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let (code, log) = stop(d);
    assert_eq!(code, 0, "{log}");
    // While the first run goes on, one fire waits and the rest are skipped; the waiting one
    // runs when the first ends.
    let queued: Vec<&str> = log.lines().filter(|l| l.contains(" slow queued ")).collect();
    assert!(!queued.is_empty(), "{log}");
    let fire = queued[0].split("fire=").nth(1).unwrap().split(' ').next().unwrap();
    assert!(
        log.contains(&format!(" slow start fire={fire}")),
        "the queued fire ran: {log}"
    );
}

#[test]
fn sigterm_interrupts_a_run_after_the_grace_period_and_exits_zero() {
    let p = slow_project("skip");
    let d = daemon(&p, &["pipelines/slow.yaml", "--grace-secs", "0"]);
    // Long enough for the first fire's run to start (the run itself takes seconds).
    std::thread::sleep(Duration::from_millis(2500));
    let (code, log) = stop(d);
    assert_eq!(code, 0, "{log}");
    let runs = scheduled_runs(&p);
    assert_eq!(runs.len(), 1, "{runs:?}\n{log}");
    assert_eq!(runs[0].1, "interrupted", "{log}");
    assert!(
        log.contains("status=interrupted") && log.contains(" - stopped"),
        "{log}"
    );
}
