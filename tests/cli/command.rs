//! `kind: command`: the user's own programs (Python from the project venv, `sh`) run as real
//! subprocesses under pmflow's cache, tracking and lineage; every bad case is an error naming
//! the step and what to do, and leaves no artifact behind.

use std::time::{Duration, Instant};

use polars::prelude::*;

use crate::support::{artifact_path, repo, venv_python as python, Project};

/// load -> clean on the sample, then the command step `STEP` written by `with`.
fn pipeline(with: &str) -> String {
    format!(
        r#"name: custom
experiment: command
steps:
  - {{id: load, kind: load, with: {{path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}}}
  - {{id: clean, kind: clean, needs: [load], with: {{impute: interpolate}}}}
  - id: envelope
    kind: command
    needs: [clean]
    with:
{with}
"#
    )
}

/// A program that reads everything the contract gives it and uses every kind of output.
const ENVELOPE: &str = r#"
import json, os, sys
import pandas as pd
ctx = json.load(open(os.environ["PMFLOW_STEP"]))
def say(**m):
    with open(ctx["messages"], "a") as f:
        f.write(json.dumps(m) + "\n")
frame = pd.read_parquet(ctx["inputs"]["clean"]["path"])
assert len(frame) == ctx["inputs"]["clean"]["rows"], "rows as the context says"
frame["vibration_x2"] = frame["vibration"] * ctx["params"]["factor"]
frame.to_parquet(ctx["outputs"]["frame"]["path"], index=False)
for epoch in range(3):
    say(metric="loss", value=1.0 / (epoch + 1), step=epoch)
say(metric="rows", value=len(frame))
say(warning="machine P07 has no first week")
say(tag="source", value="historian")
say(progress=1, total=1, message="machines")
json.dump({"machines": int(frame["equipment_id"].nunique())}, open(ctx["outputs"]["summary"]["path"], "w"))
open(ctx["outputs"]["spectrum"]["path"], "w").write('<svg xmlns="http://www.w3.org/2000/svg"></svg>')
json.dump(ctx, open(ctx["outputs"]["context.json"]["path"], "w"))
open(os.path.join(ctx["workdir"], "out", "stray.parquet"), "w").write("not declared")
open("stray-in-the-project.txt", "w").write("outside its folder")
open(ctx["outputs"]["secret.txt"]["path"], "w").write(str(len(os.environ["HISTORIAN_TOKEN"])))
print("envelope done", os.environ.get("OMP_NUM_THREADS"), os.environ.get("AWS_SECRET_ACCESS_KEY"))
"#;

fn envelope_with(p: &Project) -> String {
    p.write("steps/envelope.py", ENVELOPE);
    format!(
        r#"      run: [{python}, steps/envelope.py]
      code: [steps/envelope.py]
      outputs: {{frame: table, summary: report, spectrum: picture, context.json: file, secret.txt: file}}
      env: {{OMP_NUM_THREADS: "1"}}
      secrets: [HISTORIAN_TOKEN]
      params: {{factor: 2}}"#,
        python = python()
    )
}

/// `pmflow ARGS` with the secret the envelope program needs set.
fn run_with_token(p: &Project, args: &[&str]) -> (i32, String, String) {
    let out = p
        .pmflow(args)
        .env("HISTORIAN_TOKEN", "s3cr3t-historian-token")
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The record of step `id` in a run's `runs show --format json`.
fn step<'a>(run: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step `{id}` in {run}"))
}

fn artifact_names(run: &serde_json::Value, step: &str) -> Vec<String> {
    run["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["step"] == step)
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_program_gets_its_context_and_its_checked_outputs_become_the_step_s_artifacts() {
    let p = Project::new();
    let with = envelope_with(&p);
    p.write("pipelines/custom.yaml", pipeline(&with));
    let out = p
        .pmflow(&["run", "pipelines/custom.yaml"])
        .env("AWS_SECRET_ACCESS_KEY", "do-not-pass-me")
        .env("HISTORIAN_TOKEN", "s3cr3t-historian-token")
        .output()
        .unwrap();
    let (code, err) = (out.status.code().unwrap(), String::from_utf8_lossy(&out.stderr));
    assert_eq!(code, 0, "{err}");
    let run = p.show("latest");
    let mut names = artifact_names(&run, "envelope");
    names.sort();
    assert_eq!(
        names,
        [
            "context.json",
            "frame.parquet",
            "log.txt",
            "secret.txt",
            "spectrum.svg",
            "summary.json"
        ],
        "declared outputs and the log; what it wrote elsewhere is not kept"
    );
    // The secret reached the program by name; its value is nowhere in the registry.
    assert_eq!(
        std::fs::read_to_string(artifact_path(&run, "envelope", "secret.txt")).unwrap(),
        "22"
    );
    assert!(!run.to_string().contains("s3cr3t-historian-token"), "{run}");
    let (_, out, _) = p.output(&["runs", "show", "latest"]);
    assert!(!out.contains("s3cr3t"), "{out}");

    // The context as documented: run and step ids, roles, params, inputs with rows and columns.
    let ctx: serde_json::Value =
        serde_json::from_slice(&std::fs::read(artifact_path(&run, "envelope", "context.json")).unwrap()).unwrap();
    assert_eq!(ctx["run"], run["id"]);
    assert_eq!(ctx["step"], "envelope");
    assert_eq!(ctx["attempt"], 1);
    assert_eq!(ctx["seed"], 42);
    assert_eq!(ctx["roles"]["entity"], "equipment_id");
    assert_eq!(ctx["roles"]["label"], "failure");
    assert_eq!(ctx["params"]["factor"], 2);
    assert_eq!(ctx["inputs"]["clean"]["rows"], 4000);
    assert!(ctx["inputs"]["clean"]["columns"]
        .as_array()
        .unwrap()
        .contains(&"vibration".into()));
    assert_eq!(ctx["outputs"]["frame"]["kind"], "table");

    // The table output, with its roles, handed to the registry like any step's.
    let frame = ParquetReader::new(std::fs::File::open(artifact_path(&run, "envelope", "frame.parquet")).unwrap())
        .finish()
        .unwrap();
    assert_eq!(frame.height(), 4000);
    assert!(frame.column("vibration_x2").is_ok());

    // Messages: a metric, a per-step series, a warning, a tag.
    let metrics = &run["metrics"];
    assert_eq!(metrics["envelope.rows"], 4000.0, "{metrics}");
    let series: Vec<f64> = run["series"]["envelope.loss"]
        .as_array()
        .unwrap_or_else(|| panic!("no series: {}", run["series"]))
        .iter()
        .map(|p| p[1].as_f64().unwrap())
        .collect();
    assert_eq!(series.len(), 3, "{}", run["series"]);
    assert!(run.to_string().contains("machine P07 has no first week"));
    assert!(run.to_string().contains("historian"));

    // The log holds what it printed; only the declared environment reached it.
    let log = std::fs::read_to_string(artifact_path(&run, "envelope", "log.txt")).unwrap();
    assert!(log.contains("envelope done 1 None"), "{log}");
}

#[test]
fn an_unchanged_program_comes_from_the_cache_and_an_edited_one_runs_again() {
    let p = Project::new();
    let with = envelope_with(&p);
    p.write("pipelines/custom.yaml", pipeline(&with));
    for _ in 0..2 {
        let (code, _, err) = run_with_token(&p, &["run", "pipelines/custom.yaml"]);
        assert_eq!(code, 0, "{err}");
    }
    let run = p.show("latest");
    let cached = |run: &serde_json::Value, id: &str| step(run, id)["cached"] == true;
    assert!(cached(&run, "envelope"), "unchanged code: from the cache");

    // An edit to the code file (not the pipeline) runs it again, and says why in the plan.
    p.write("steps/envelope.py", format!("{ENVELOPE}\n# tuned\n"));
    let (code, plan, err) = p.output(&["run", "pipelines/custom.yaml", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(plan.contains("steps/envelope.py changed"), "{plan}");
    // A secret that is not set is named, with what to do.
    let (code, _, err) = p.output(&["run", "pipelines/custom.yaml"]);
    assert_eq!(code, 1);
    assert!(err.contains("secret `HISTORIAN_TOKEN` is not set"), "{err}");
    let (code, _, err) = run_with_token(&p, &["run", "pipelines/custom.yaml"]);
    assert_eq!(code, 0, "{err}");
    let run = p.show("latest");
    assert!(!cached(&run, "envelope") && cached(&run, "clean"));
    // Lineage: the code file's digest (of its edited content) is recorded with the run.
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(
        std::fs::read(p.root().join("steps/envelope.py")).unwrap(),
    ));
    let read = run["tags"]["input.envelope"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", run["tags"]));
    assert!(read.contains("steps/envelope.py") && read.contains(&digest), "{read}");
}

/// Runs a pipeline whose command step is `with`, expecting it to fail; the error, and the
/// names of what the step left among the artifacts.
fn failing(p: &Project, with: &str) -> (String, Vec<String>) {
    p.write("pipelines/custom.yaml", pipeline(with));
    let (code, _, err) = p.output(&["run", "pipelines/custom.yaml"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("step `envelope` failed"), "{err}");
    let run = p.show("latest");
    (err, artifact_names(&run, "envelope"))
}

#[test]
fn every_broken_promise_of_a_program_fails_its_step_and_keeps_nothing() {
    let p = Project::new();
    let cases = [
        (
            "      run: \"echo working; echo 'cannot reach the historian' >&2; exit 3\"\n      outputs: {frame: table}",
            vec!["exit code 3", "cannot reach the historian"],
        ),
        (
            "      run: \"true\"\n      outputs: {frame: table}",
            vec!["output `frame`", "was not written"],
        ),
        (
            "      run: \"echo nonsense > $PMFLOW_OUTPUT_FRAME\"\n      outputs: {frame: table}",
            vec!["is not a Parquet file", "to_parquet"],
        ),
        (
            &format!(
                "      run: [{}, -c, \"import os,pandas as pd; pd.read_parquet(os.environ['PMFLOW_INPUT_CLEAN']).drop(columns=['equipment_id']).to_parquet(os.environ['PMFLOW_OUTPUT_FRAME'])\"]\n      outputs: {{frame: table}}",
                python()
            ),
            vec!["lacks the entity column `equipment_id`", "drops-roles"],
        ),
    ];
    for (with, expected) in cases {
        let (err, kept) = failing(&p, with);
        for want in expected {
            assert!(err.contains(want), "{with}: `{want}` not in: {err}");
        }
        assert!(kept.is_empty(), "{with}: nothing is kept, found {kept:?}");
    }
    // A dropped role the step declares is fine.
    let with = format!(
        "      run: [{}, -c, \"import os,pandas as pd; pd.read_parquet(os.environ['PMFLOW_INPUT_CLEAN']).drop(columns=['failure']).to_parquet(os.environ['PMFLOW_OUTPUT_FRAME'])\"]\n      outputs: {{frame: table}}\n      drops-roles: [label]",
        python()
    );
    p.write("pipelines/custom.yaml", pipeline(&with));
    let (code, _, err) = p.output(&["run", "pipelines/custom.yaml"]);
    assert_eq!(code, 0, "{err}");
}

/// A program that, until data/go exists, starts a background sleeper, writes its pid to
/// data/sleeper.pid, says it started, and hangs; once data/go exists, it copies its input.
const HANG: &str = r#"      run: "if [ -f data/go ]; then cp $PMFLOW_INPUT_CLEAN $PMFLOW_OUTPUT_FRAME; exit 0; fi; sleep 300 & echo $! > data/sleeper.pid; echo '{\"progress\": 1, \"total\": 4, \"message\": \"machines\"}' >> $PMFLOW_MESSAGES; echo '{\"warning\": \"still waiting for the historian\"}' >> $PMFLOW_MESSAGES; for i in 1 2; do echo \"{\\\"metric\\\": \\\"loss\\\", \\\"value\\\": $i, \\\"step\\\": $i}\" >> $PMFLOW_MESSAGES; done; echo '{\"metric\": \"started\", \"value\": 1}' >> $PMFLOW_MESSAGES; wait"
      outputs: {frame: table}"#;

fn sleeper(p: &Project) -> i32 {
    std::fs::read_to_string(p.root().join("data/sleeper.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_hanging_program_is_killed_with_its_process_group_on_timeout() {
    let p = Project::new();
    let started = Instant::now();
    let (err, kept) = failing(&p, &format!("{HANG}\n      timeout-secs: 2"));
    assert!(err.contains("timed out after 2 s"), "{err}");
    assert!(kept.is_empty());
    assert!(started.elapsed() < Duration::from_secs(60));
    let pid = sleeper(&p);
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !pmflow::subprocess::running(pid),
        "the program's background child {pid} survived"
    );
}

/// Starts `pmflow run` in the background and waits until the registry shows the metric
/// `envelope.started` (sent by the program while it runs).
#[allow(clippy::zombie_processes)]
fn start_until_started(p: &Project) -> std::process::Child {
    let log = std::fs::File::create(p.root().join("run.log")).unwrap();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pmflow"))
        .current_dir(p.root())
        .env("CI", "1")
        .args(["run", "pipelines/custom.yaml"])
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            Instant::now() < deadline,
            "the program's metric never reached the registry"
        );
        let (code, out, _) = p.output(&["runs", "show", "latest", "--format", "json"]);
        if code == 0 && out.contains("envelope.started") {
            return child;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn sigterm_stops_a_running_program_and_a_resume_runs_only_it_again() {
    let p = Project::new();
    p.write("pipelines/custom.yaml", pipeline(HANG));
    // Its messages arrive while it still runs (it never ends by itself): the metric, the
    // series and the warning in the registry, the progress on pmflow's progress lines.
    let mut child = start_until_started(&p);
    let live = p.show("latest");
    assert_eq!(live["status"], "running");
    assert_eq!(
        live["series"]["envelope.loss"],
        serde_json::json!([[1, 1.0], [2, 2.0]]),
        "{live}"
    );
    assert!(live.to_string().contains("still waiting for the historian"), "{live}");
    let progress = std::fs::read_to_string(p.root().join("run.log")).unwrap();
    assert!(progress.contains("envelope: 1/4 machines"), "{progress}");
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    assert_eq!(child.wait().unwrap().code(), Some(1));
    let run = p.show("latest");
    assert_eq!(run["status"], "interrupted");
    let envelope = step(&run, "envelope");
    assert_eq!(envelope["status"], "interrupted", "{run}");
    let pid = sleeper(&p);
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !pmflow::subprocess::running(pid),
        "the program's background child {pid} survived"
    );

    // Once the program can finish, `--resume` runs it alone: the steps before it are reused.
    p.write("data/go", "");
    let id = run["id"].as_str().unwrap().to_string();
    let (code, _, err) = p.output(&["run", "pipelines/custom.yaml", "--resume", &id]);
    assert_eq!(code, 0, "{err}");
    let before = run;
    let run = p.show(&id);
    for (old, new) in before["steps"]
        .as_array()
        .unwrap()
        .iter()
        .zip(run["steps"].as_array().unwrap())
        .take(2)
    {
        assert_eq!(
            old["started_at"], new["started_at"],
            "`{}` was reused, not run again",
            old["id"]
        );
    }
    assert_eq!(run["status"], "succeeded");
    let envelope = step(&run, "envelope");
    assert_eq!(envelope["status"], "succeeded", "{envelope}");
}

#[test]
fn validate_names_what_is_wrong_with_a_command_step() {
    let p = Project::new();
    p.write(
        "pipelines/custom.yaml",
        pipeline("      run: []\n      code: [steps/missing.py]\n      outputs: {frame: tabel, scaler.json: file}\n      env: {1BAD: x}"),
    );
    let (code, _, err) = p.output(&["validate", "pipelines/custom.yaml"]);
    assert_eq!(code, 2, "{err}");
    for want in [
        "`run` must not be empty",
        "must be one of table, picture, file, report, model, state; found `tabel`",
        "did you mean `table`",
        "`scaler.json` is the name of a file pmflow writes itself",
        "`1BAD` is not a variable name",
    ] {
        assert!(err.contains(want), "`{want}` not in: {err}");
    }
    p.write(
        "pipelines/custom.yaml",
        pipeline("      run: [sh, steps/missing.sh]\n      code: [steps/missing.sh]\n      outputs: {frame: table}"),
    );
    let (code, _, err) = p.output(&["validate", "pipelines/custom.yaml"]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("`code`: no file") && err.contains("steps/missing.sh"),
        "{err}"
    );
    // An input no step under `needs` gives is named at validation, with what there is.
    p.write("steps/ok.sh", "true");
    p.write(
        "pipelines/custom.yaml",
        pipeline(
            "      run: [sh, steps/ok.sh]\n      inputs: [clen, clean/frame, load]\n      outputs: {frame: table}",
        ),
    );
    let (code, _, err) = p.output(&["validate", "pipelines/custom.yaml"]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("`inputs`: `clen` is no table of the steps under `needs` (`clean`)"),
        "{err}"
    );
    assert!(err.contains("`inputs`: `load` is no table"), "{err}");
    assert!(!err.contains("`clean/frame` is no table"), "{err}");
}

/// The fenced block of README.md that follows the line starting with `after`.
fn readme_block(after: &str) -> String {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let from = readme.find(after).unwrap_or_else(|| panic!("README has no `{after}`"));
    let rest = &readme[from..];
    let start = rest.find("```").unwrap();
    let body = &rest[start..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("```").unwrap()].to_string()
}

#[test]
fn the_readme_s_python_and_shell_examples_run_as_written() {
    let p = Project::new();
    let (code, _, err) = p.output(&[
        "gen-data",
        "--equipment",
        "4",
        "--days",
        "5",
        "--interval",
        "1h",
        "--seed",
        "3",
        "--out",
        "data/fleet.csv",
    ]);
    assert_eq!(code, 0, "{err}");
    p.write("steps/envelope.py", readme_block("A Python program in full"));
    p.write("steps/critical.sh", readme_block("And in shell, a step that lists"));
    p.write(
        "data/machines.csv",
        "equipment_id,timestamp,score,alarm,risk\nM1,2024-01-01 00:00:00,0.9,true,critical\nM2,2024-01-01 00:00:00,0.2,false,healthy\nM3,2024-01-01 00:00:00,0.8,true,critical\n",
    );
    p.write(
        "pipelines/readme.yaml",
        format!(
            r#"name: readme
steps:
  - {{id: load, kind: load, with: {{path: data/fleet.csv, timestamp: timestamp, entity: equipment_id}}}}
  - {{id: clean, kind: clean, needs: [load], with: {{impute: interpolate}}}}
  - {{id: envelope, kind: command, needs: [clean], with: {{run: [{python}, steps/envelope.py], code: [steps/envelope.py], outputs: {{frame: table}}}}}}
  - {{id: machines, kind: load, with: {{path: data/machines.csv, timestamp: timestamp, entity: equipment_id}}}}
  - {{id: critical, kind: command, needs: [machines], with: {{run: [sh, steps/critical.sh], input-format: csv, outputs: {{critical.txt: file}}}}}}
"#,
            python = python()
        ),
    );
    let (code, _, err) = p.output(&["run", "pipelines/readme.yaml"]);
    assert_eq!(code, 0, "{err}");
    let run = p.show("latest");
    assert_eq!(run["metrics"]["envelope.machines"], 4.0, "{}", run["metrics"]);
    assert_eq!(run["metrics"]["critical.critical"], 2.0, "{}", run["metrics"]);
    let critical = std::fs::read_to_string(artifact_path(&run, "critical", "critical.txt")).unwrap();
    assert_eq!(critical, "M1\nM3\n");
    let frame = ParquetReader::new(std::fs::File::open(artifact_path(&run, "envelope", "frame.parquet")).unwrap())
        .finish()
        .unwrap();
    assert!(frame.column("vibration_envelope_24").is_ok());
}
