//! Issue 27, the schedule: manual runs of a scheduled pipeline never refuse each other (SQLite
//! and PostgreSQL), a fire during a manual run follows `overlap`, and a cron that never fires
//! is refused at its line. (The fire names on daylight-saving days are unit tests of
//! `pipeline::cron`, which the daemon asks for every fire.)

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::Project;

/// A scheduled pipeline whose run takes a while (a generated fleet, interpolated).
fn scheduled_project(cron: &str, overlap: &str, equipment: &str) -> Project {
    let p = Project::new();
    p.write_fleet(equipment);
    p.write(
        "pipelines/slow.yaml",
        format!(
            r#"name: slow
params: {{seed: 0}}
schedule: {{cron: "{cron}", overlap: {overlap}}}
steps:
  - {{id: load, kind: load, with: {{path: data/big.csv, timestamp: timestamp, entity: equipment_id}}}}
  - {{id: clean, kind: clean, needs: [load], with: {{impute: interpolate}}}}
"#
        ),
    );
    p
}

/// `pmflow ARGS`, started in the project, on `registry` when given.
fn spawn(p: &Project, registry: Option<&str>, args: &[&str]) -> Child {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("pmflow"));
    cmd.current_dir(p.root())
        .env("CI", "1")
        .env_remove("PMFLOW_REGISTRY")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(url) = registry {
        cmd.env("PMFLOW_REGISTRY", url);
    }
    cmd.spawn().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The runs, as `runs list --format json` gives them.
fn runs(p: &Project, registry: Option<&str>) -> Vec<serde_json::Value> {
    listed(p, registry).unwrap_or_else(|e| panic!("{e}"))
}

fn listed(p: &Project, registry: Option<&str>) -> Result<Vec<serde_json::Value>, String> {
    let mut cmd = p.pmflow(&["runs", "list", "--format", "json", "--limit", "1000"]);
    if let Some(url) = registry {
        cmd.env("PMFLOW_REGISTRY", url);
    }
    let out = cmd.output().unwrap();
    if !out.status.success() {
        return Err(text(&out));
    }
    Ok(serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone())
}

/// Four people start the scheduled pipeline at once with four seeds: four runs, no refusal.
fn four_manual_runs_at_once(registry: Option<&str>) {
    let p = scheduled_project("0 0 3 * * Mon", "skip", "40");
    let children: Vec<Child> = (1..=4)
        .map(|seed| {
            let set = format!("params.seed={seed}");
            spawn(&p, registry, &["run", "pipelines/slow.yaml", "--set", &set])
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let shown = text(&out);
        assert_eq!(out.status.code(), Some(0), "{shown}");
        assert!(!shown.contains("is being run by"), "{shown}");
    }
    let runs = runs(&p, registry);
    assert_eq!(runs.len(), 4, "{runs:?}");
    assert!(
        runs.iter()
            .all(|r| r["status"] == "succeeded" && r["trigger"] == "manual"),
        "{runs:?}"
    );
}

#[test]
fn manual_runs_of_a_scheduled_pipeline_never_refuse_each_other() {
    four_manual_runs_at_once(None);
}

#[test]
fn manual_runs_of_a_scheduled_pipeline_never_refuse_each_other_on_postgres() {
    let server = crate::pg_server::shared();
    let url = server.url(&server.create_database("manual"));
    four_manual_runs_at_once(Some(&url));
}

/// SIGTERM, then the daemon's exit code and log.
fn stop(child: Child) -> (i32, String) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), text(&out))
}

/// The id of the first run seen `running`, waiting up to a minute for it (and for the
/// registry the run makes).
fn running_run(p: &Project) -> String {
    let start = Instant::now();
    loop {
        let runs = listed(p, None).unwrap_or_default();
        if let Some(run) = runs.iter().find(|r| r["status"] == "running") {
            return run["id"].as_str().unwrap().to_string();
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no run started");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A per-second schedule fires while a manual run of its pipeline runs: with `overlap: skip`
/// each fire is skipped, naming the manual run, and no scheduled run starts before it ends;
/// with `overlap: queue` one fire waits for it and then runs.
#[test]
fn a_fire_during_a_manual_run_follows_overlap() {
    let p = scheduled_project("* * * * * *", "skip", "200");
    let manual = spawn(&p, None, &["run", "pipelines/slow.yaml"]);
    let id = running_run(&p);
    let daemon = spawn(&p, None, &["schedule", "pipelines/slow.yaml", "--grace-secs", "0"]);
    let out = manual.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (code, log) = stop(daemon);
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains(" slow skipped fire=") && log.contains(&format!("reason=run {id} of this pipeline is running")),
        "{log}"
    );
    let all = runs(&p, None);
    let ended = all.iter().find(|r| r["id"] == id.as_str()).unwrap()["ended_at"]
        .as_str()
        .unwrap()
        .to_string();
    for fired in all.iter().filter(|r| r["trigger"] == "schedule") {
        assert!(
            fired["started_at"].as_str().unwrap() >= ended.as_str(),
            "a fire ran during the manual run: {all:?}\n{log}"
        );
    }

    // Queue: the file is read again at each fire. `--force *` makes the run slow again.
    p.write(
        "pipelines/slow.yaml",
        std::fs::read_to_string(p.root().join("pipelines/slow.yaml"))
            .unwrap()
            .replace("overlap: skip", "overlap: queue"),
    );
    let manual = spawn(&p, None, &["run", "pipelines/slow.yaml", "--force", "*"]);
    let id = running_run(&p);
    let daemon = spawn(&p, None, &["schedule", "pipelines/slow.yaml"]);
    let out = manual.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The queued fire starts within a poll of the manual run's end; its run is a cache hit.
    std::thread::sleep(Duration::from_millis(3000));
    let (code, log) = stop(daemon);
    assert_eq!(code, 0, "{log}");
    let queued: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" slow queued ") && l.contains(&format!("reason=run {id} of this pipeline is running")))
        .collect();
    assert_eq!(queued.len(), 1, "one fire waits: {log}");
    let fire = queued[0].split("fire=").nth(1).unwrap().split(' ').next().unwrap();
    assert!(
        log.contains(&format!(" slow start fire={fire}")),
        "the queued fire ran after the manual run: {log}"
    );
}

/// A pipeline with `cron` on line 3.
fn with_cron(cron: &str) -> String {
    format!(
        r#"name: never
params: {{seed: 0}}
schedule: {{cron: "{cron}"}}
steps:
  - {{id: load, kind: load, with: {{path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}}}
"#
    )
}

#[test]
fn a_cron_that_never_fires_is_refused_at_its_line() {
    let p = Project::new();
    for cron in ["0 0 0 30 2 *", "0 0 0 31 4 *", "0 0 3 1 1 * 2020"] {
        p.write("pipelines/never.yaml", with_cron(cron));
        let (code, _, err) = p.output(&["validate", "pipelines/never.yaml"]);
        assert_eq!(code, 2, "{cron}: {err}");
        assert!(
            err.contains("pipelines/never.yaml:3:") && err.contains(&format!("`{cron}` never fires")),
            "{cron}: {err}"
        );
        let (code, _, err) = p.output(&["schedule", "pipelines/never.yaml", "--list"]);
        assert_eq!(code, 2, "the daemon does not idle forever: {err}");
        assert!(err.contains("never fires"), "{err}");
    }
    // 29 February fires (in leap years); so does a year to come.
    for cron in ["0 0 0 29 2 *", "0 0 3 1 1 * 2099"] {
        p.write("pipelines/rare.yaml", with_cron(cron));
        let (code, _, err) = p.output(&["validate", "pipelines/rare.yaml"]);
        assert_eq!(code, 0, "{cron}: {err}");
    }
}
