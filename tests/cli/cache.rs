//! The step cache, `--force`, `--dry-run` and `--resume`.

use crate::support::{Project, SAMPLE};

fn run_ok(p: &Project, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["run", "pipelines/train.yaml"];
    args.extend_from_slice(extra);
    let (code, out, err) = p.output(&args);
    assert_eq!(code, 0, "{out}{err}");
    p.show("latest")
}

fn cached(run: &serde_json::Value) -> Vec<bool> {
    run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["cached"].as_bool().unwrap())
        .collect()
}

#[test]
fn unchanged_steps_are_cache_hits_and_changes_are_misses() {
    let p = Project::new();
    p.write("pipelines/train.yaml", SAMPLE);
    let first = run_ok(&p, &[]);
    assert_eq!(cached(&first), [false, false]);

    let second = run_ok(&p, &[]);
    assert_eq!(cached(&second), [true, true], "nothing changed");
    // A hit reuses the recorded outputs and keeps the run's record complete.
    let uris = |r: &serde_json::Value| -> Vec<String> {
        r["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["step"] != "")
            .map(|a| a["uri"].to_string())
            .collect()
    };
    assert_eq!(uris(&first), uris(&second));
    assert_eq!(
        first["metrics"], second["metrics"],
        "metrics of cached steps are carried over"
    );

    let changed_with = run_ok(&p, &["--set", "clean.with.impute=mean"]);
    assert_eq!(
        cached(&changed_with),
        [true, false],
        "a `with` change re-runs that step only"
    );

    let forced = run_ok(&p, &["--force", "clean"]);
    assert_eq!(
        cached(&forced),
        [true, false],
        "--force STEP re-runs it and what follows"
    );
    let all = run_ok(&p, &["--force"]);
    assert_eq!(cached(&all), [false, false], "--force alone re-runs everything");

    let mut csv = std::fs::read_to_string(p.root().join("data/sensors.csv")).unwrap();
    csv.push_str("2024-01-30 00:00:00,P01,60.0,5.0,0.9,1480.0,0\n");
    p.write("data/sensors.csv", csv);
    let (code, out, _) = p.output(&["run", "pipelines/train.yaml", "--dry-run"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("load           load       run     data/sensors.csv changed since the last run"),
        "{out}"
    );
    assert!(
        out.contains("clean          clean      run     upstream `load` will run"),
        "{out}"
    );
    let changed_file = run_ok(&p, &[]);
    assert_eq!(
        cached(&changed_file),
        [false, false],
        "an input file change re-runs everything after it"
    );

    let (code, out, _) = p.output(&["run", "pipelines/train.yaml", "--dry-run"]);
    assert_eq!(code, 0);
    assert_eq!(out.matches(" cached ").count(), 2, "{out}");
    let (code, _, err) = p.output(&["run", "pipelines/train.yaml", "--force", "cleen"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--force cleen: no such step (did you mean `clean`?)"),
        "{err}"
    );
}

#[test]
fn a_pattern_reruns_load_when_a_matching_file_comes_or_goes() {
    let p = Project::new();
    p.write("pipelines/train.yaml", SAMPLE);
    let csv = std::fs::read_to_string(p.root().join("data/sensors.csv")).unwrap();
    let (header, rows) = csv.split_once('\n').unwrap();
    let rows: Vec<&str> = rows.lines().collect();
    p.write("data/parts/a.csv", format!("{header}\n{}\n", rows[..2000].join("\n")));
    p.write("data/parts/b.csv", format!("{header}\n{}\n", rows[2000..].join("\n")));
    let pattern = ["--set", "load.with.path=data/parts/*.csv"];
    let first = run_ok(&p, &pattern);
    assert_eq!(first["metrics"]["load.rows"], 4010.0);
    assert_eq!(cached(&run_ok(&p, &pattern)), [true, true], "the same files");

    p.write("data/parts/c.csv", format!("{header}\n{}\n", rows[..10].join("\n")));
    let grown = run_ok(&p, &pattern);
    assert_eq!(cached(&grown), [false, false], "a new matching file re-runs load");
    assert_eq!(grown["metrics"]["load.rows"], 4020.0);

    std::fs::remove_file(p.root().join("data/parts/c.csv")).unwrap();
    let shrunk = run_ok(&p, &pattern);
    assert_eq!(shrunk["metrics"]["load.rows"], 4010.0);
    assert_eq!(
        cached(&shrunk),
        [true, true],
        "back to the first two files: their outputs"
    );
}

/// The local file of `clean`'s frame in a run's artifacts.
fn clean_frame_file(run: &serde_json::Value) -> String {
    let uri = run["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["step"] == "clean" && a["name"] == "frame.parquet")
        .unwrap()["uri"]
        .as_str()
        .unwrap();
    uri.strip_prefix("file://").unwrap().to_string()
}

#[test]
fn a_changed_or_deleted_cached_artifact_is_rebuilt() {
    let p = Project::new();
    p.write("pipelines/train.yaml", SAMPLE);
    let path = clean_frame_file(&run_ok(&p, &[]));
    // A cache hit does not read the artifact again (its stamp is remembered), but a file
    // changed in place, even to the same size, is noticed: its modification time moved.
    assert_eq!(cached(&run_ok(&p, &[])), [true, true]);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&path, bytes).unwrap();
    let (code, out, err) = p.output(&["run", "pipelines/train.yaml"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("not reused: cached `frame.parquet` changed since it was recorded"),
        "{err}"
    );
    assert_eq!(cached(&p.show("latest")), [true, false]);

    // The run above rebuilt clean's frame under its own id; remove that one.
    std::fs::remove_file(clean_frame_file(&p.show("latest"))).unwrap();
    let (code, out, err) = p.output(&["run", "pipelines/train.yaml"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("not reused: cached `frame.parquet` is gone"), "{err}");
    assert_eq!(cached(&p.show("latest")), [true, false]);
}

const TWO_LOADS: &str = r#"name: two
steps:
  - id: sensors
    kind: load
    with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id}
  - id: other
    kind: load
    with: {path: data/other.csv}
  - id: clean
    kind: clean
    needs: [sensors]
"#;

#[test]
fn resume_continues_a_failed_run_from_its_unfinished_steps() {
    let p = Project::new();
    p.write("pipelines/train.yaml", TWO_LOADS);
    let (code, _, _) = p.output(&["run", "pipelines/train.yaml", "-j", "1"]);
    assert_eq!(code, 1, "data/other.csv is missing");
    let failed = p.show("latest");
    let id = failed["id"].as_str().unwrap().to_string();
    let status = |r: &serde_json::Value| -> Vec<String> {
        r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["status"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(failed["status"], "failed");
    assert_eq!(status(&failed)[1], "failed");

    let (code, _, err) = p.output(&[
        "run",
        "pipelines/train.yaml",
        "--resume",
        &id,
        "--set",
        "clean.retries=1",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("the pipeline differs"), "{err}");

    p.write("data/other.csv", "a,b\n1,2\n");
    let (code, _, err) = p.output(&["run", "pipelines/train.yaml", "--resume", &id[..8]]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("sensors: done before the resume, not run again"), "{err}");
    let resumed = p.show(&id);
    assert_eq!(resumed["status"], "succeeded");
    assert_eq!(status(&resumed), ["succeeded", "succeeded", "succeeded"]);
    let (_, out, _) = p.output(&["runs", "list", "--format", "json"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1,
        "same run"
    );

    let (code, _, err) = p.output(&["run", "pipelines/train.yaml", "--resume", &id]);
    assert_eq!(code, 2);
    assert!(
        err.contains("is succeeded; only failed or interrupted runs can be resumed"),
        "{err}"
    );
}

/// Within a run, a step gets the tables of the step that just finished in memory instead of
/// reading their artifacts back. Both ways must give the same bytes: here `split` runs once on
/// `feature`'s frame handed over in memory and once (`--force split`, feature cached) on the
/// Parquet artifact read from the store.
#[test]
fn a_frame_handed_over_in_memory_gives_the_same_outputs_as_its_artifact() {
    let p = Project::new();
    p.write(
        "pipelines/train.yaml",
        format!(
            "{SAMPLE}{}",
            r#"  - id: feature
    kind: feature
    needs: [clean]
    with: {rolling: {windows: [3, 6h], stats: [mean, std, max]}, lags: [1, 2], diff: [1], time: [hour], drop-na: false}
  - id: split
    kind: split
    needs: [feature]
    with: {by: entity, fractions: [0.6, 0.2, 0.2], seed: 3}
"#
        ),
    );
    let digests = |run: &serde_json::Value| -> Vec<(String, String)> {
        run["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["step"] == "split")
            .map(|a| (a["name"].to_string(), a["sha256"].to_string()))
            .collect()
    };
    let first = run_ok(&p, &[]);
    assert_eq!(cached(&first), [false; 4]);
    let again = run_ok(&p, &["--force", "split"]);
    assert_eq!(
        cached(&again),
        [true, true, true, false],
        "split re-ran on the stored artifact"
    );
    assert_eq!(
        digests(&first).len(),
        5,
        "train, val, test, scaler and report: {:?}",
        digests(&first)
    );
    assert_eq!(digests(&first), digests(&again));
}
