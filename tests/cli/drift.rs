//! The `drift` step through the real binary: a current file whose temperature runs hotter fails
//! the run under `on-drift: fail` and the registry says why; `warn` goes on and records the
//! warning, the report and the picture; a bad reference fails the run with the step's error.

use crate::support::Project;

const PIPELINE: &str = r#"name: drift-check
steps:
  - {id: before, kind: load, with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}
  - {id: after, kind: load, with: {path: data/hotter.csv, timestamp: timestamp, entity: equipment_id, label: failure}}
  - {id: drift, kind: drift, needs: [before, after], with: {reference: before/frame, current: after/frame, on-drift: fail}}
"#;

fn step<'a>(run: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    run["steps"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap()
}

#[test]
fn drift_fails_or_warns_as_asked_and_the_registry_says_why() {
    let p = Project::new();
    p.write_hotter();
    p.write("pipelines/drift.yaml", PIPELINE);

    let (code, _, err) = p.output(&["run", "pipelines/drift.yaml"]);
    assert_eq!(code, 1, "{err}");
    let run = p.show("latest");
    assert_eq!(run["status"], "failed");
    let error = step(&run, "drift")["error"].as_str().unwrap();
    assert!(
        error.starts_with("1 of 4 features drifted between `before/frame` and `after/frame`: temperature (D "),
        "{error}"
    );
    assert!(error.contains("`on-drift: fail` stops the run"), "{error}");

    let (code, _, err) = p.output(&["run", "pipelines/drift.yaml", "--set", "drift.with.on-drift=warn"]);
    assert_eq!(code, 0, "{err}");
    let run = p.show("latest");
    assert_eq!(run["metrics"]["drift.temperature.drifted"], 1.0);
    assert_eq!(run["metrics"]["drift.pressure.drifted"], 0.0);
    assert_eq!(run["metrics"]["drift.share"], 0.25);
    assert!(
        run["tags"]["warning.drift"]
            .as_str()
            .unwrap()
            .contains("temperature (D "),
        "{run}"
    );
    let names: Vec<&str> = run["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["step"] == "drift")
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"drift.svg") && names.contains(&"drift_report.json"),
        "{names:?}"
    );

    let (code, _, err) = p.output(&[
        "run",
        "pipelines/drift.yaml",
        "--set",
        "drift.with.reference=validation",
    ]);
    assert_eq!(code, 1, "{err}");
    let run = p.show("latest");
    assert_eq!(run["status"], "failed");
    let error = step(&run, "drift")["error"].as_str().unwrap();
    assert!(
        error.contains("`with.reference`: no input table `validation`"),
        "{error}"
    );
}

#[test]
fn an_earlier_runs_table_is_the_reference_while_its_digest_holds() {
    let p = Project::new();
    p.write_hotter();
    p.write(
        "pipelines/base.yaml",
        "name: base\nsteps:\n  - {id: load, kind: load, with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}\n",
    );
    let (code, _, err) = p.output(&["run", "pipelines/base.yaml"]);
    assert_eq!(code, 0, "{err}");
    let base = p.show("latest");
    let base_id = base["id"].as_str().unwrap().to_string();
    p.write(
        "pipelines/check.yaml",
        format!(
            "name: check\nsteps:\n  - {{id: now, kind: load, with: {{path: data/hotter.csv, timestamp: timestamp, entity: equipment_id, label: failure}}}}\n  - {{id: drift, kind: drift, needs: [now], with: {{reference: {{run: {}, part: frame}}, current: frame, on-drift: warn}}}}\n",
            &base_id[..12]
        ),
    );
    let (code, _, err) = p.output(&["run", "pipelines/check.yaml"]);
    assert_eq!(code, 0, "{err}");
    let run = p.show("latest");
    assert_eq!(run["metrics"]["drift.temperature.drifted"], 1.0, "{run}");
    assert_eq!(run["metrics"]["drift.rpm.drifted"], 0.0);

    // The base run's table changes on disk: it is no longer what that run recorded.
    let table = base["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "frame.parquet")
        .unwrap();
    let path = std::path::PathBuf::from(table["uri"].as_str().unwrap().strip_prefix("file://").unwrap());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.push(0);
    std::fs::write(&path, bytes).unwrap();
    let (code, _, err) = p.output(&["run", "pipelines/check.yaml", "--force", "drift"]);
    assert_eq!(code, 1, "{err}");
    let run = p.show("latest");
    let drift = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "drift")
        .unwrap();
    assert!(
        drift["error"]
            .as_str()
            .unwrap()
            .contains("changed since that run recorded it"),
        "{drift}"
    );

    let (code, _, err) = p.output(&[
        "run",
        "pipelines/check.yaml",
        "--set",
        "drift.with.reference.part=train",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("has no table `train` among the outputs of its succeeded steps"),
        "{err}"
    );
}

#[test]
fn a_new_file_is_prepared_as_the_pipeline_prepares_its_data_then_compared() {
    let p = Project::new();
    p.write_hotter();
    p.write(
        "pipelines/new.yaml",
        r#"name: new-week
steps:
  - {id: load, kind: load, with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}
  - {id: clean, kind: clean, needs: [load], with: {impute: median}}
  - {id: feature, kind: feature, needs: [clean], with: {columns: [temperature, pressure], rolling: {windows: [3], stats: [mean]}, drop: [vibration]}}
  - {id: split, kind: split, needs: [feature], with: {by: time, fractions: [0.5, 0.25, 0.25]}}
  - {id: drift, kind: drift, needs: [split], with: {reference: train, current: {path: data/hotter.csv}, on-drift: warn, min-statistic: 0.2}}
"#,
    );
    let (code, _, err) = p.output(&["run", "pipelines/new.yaml"]);
    assert_eq!(code, 0, "{err}");
    let run = p.show("latest");
    let m = &run["metrics"];
    // The rolling mean was made from the new file, and the train scaler applied to it. (The
    // sample's pressure trends over time, D 0.10 against the first half: the floor here is 0.2,
    // far below temperature's D of about 0.5.)
    assert_eq!(m["drift.temperature.drifted"], 1.0, "{m}");
    assert_eq!(m["drift.temperature_roll3_mean.drifted"], 1.0, "{m}");
    assert_eq!(m["drift.pressure.drifted"], 0.0, "{m}");
    assert_eq!(m["drift.pressure_roll3_mean.drifted"], 0.0, "{m}");
    assert!(
        m.get("drift.vibration.ks").is_none(),
        "dropped by feature, as in training: {m}"
    );

    // A new file without a column the pipeline uses: the error names the step and the column.
    let text = std::fs::read_to_string(p.root().join("data/sensors.csv")).unwrap();
    let without: String = text
        .lines()
        .map(|l| {
            l.split(',')
                .enumerate()
                .filter(|(i, _)| *i != 3)
                .map(|(_, f)| f)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect::<Vec<_>>()
        .join("\n");
    p.write("data/no_pressure.csv", without + "\n");
    let (code, _, err) = p.output(&[
        "run",
        "pipelines/new.yaml",
        "--set",
        "drift.with.current.path=data/no_pressure.csv",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("preparing data/no_pressure.csv as `feature` does"),
        "{err}"
    );
    assert!(err.contains("`pressure`"), "{err}");
}

/// A reference taken before `split` is not scaled, so neither is the new file: the pipeline's
/// own file against its own features drifts nowhere (D = 0 everywhere).
#[test]
fn a_new_file_is_scaled_only_when_the_reference_was() {
    let p = Project::new();
    p.write(
        "pipelines/unscaled.yaml",
        r#"name: unscaled
steps:
  - {id: load, kind: load, with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}
  - {id: feature, kind: feature, needs: [load], with: {columns: [temperature], lags: [1], drop-na: false}}
  - {id: split, kind: split, needs: [feature], with: {by: entity, seed: 1, fractions: [0.5, 0.25, 0.25]}}
  - {id: drift, kind: drift, needs: [feature, split], with: {reference: feature/frame, current: {path: data/sensors.csv}, on-drift: fail}}
"#,
    );
    let (code, _, err) = p.output(&["run", "pipelines/unscaled.yaml"]);
    assert_eq!(code, 0, "{err}");
    let run = p.show("latest");
    assert_eq!(run["metrics"]["drift.drifted_features"], 0.0, "{}", run["metrics"]);
    assert_eq!(run["metrics"]["drift.temperature.ks"], 0.0);
}
