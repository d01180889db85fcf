//! Dead sensors in new data (issue 27, items 14 and 15): `predict` names a sensor column empty
//! on every row, scores the fleet around a machine whose sensor has no readings (naming it and
//! why, as `--skip-short` does for short series) and fails only when no machine is left; `drift`
//! on a new file whose column is empty skips that feature with a warning and checks the others.

use std::collections::BTreeMap;

use crate::predict::{sensors_of, trained};
use crate::support::Project;

const MACHINES: [&str; 8] = ["P01", "P02", "P03", "P04", "P05", "P06", "P07", "P08"];

fn all() -> Vec<String> {
    MACHINES.iter().map(|m| m.to_string()).collect()
}

/// data/sensors.csv without labels, with the fields at `columns` (2 temperature, 3 pressure,
/// 4 vibration, 5 rpm) blanked on the rows of the machines `dead(machine)` returns them for.
fn with_blanks(p: &Project, machines: &[String], dead: impl Fn(&str) -> Vec<usize>) -> String {
    sensors_of(p, machines, |fields, header| {
        if !header {
            for c in dead(&fields[1]) {
                fields[c] = String::new();
            }
        }
    })
}

/// `predict --model MODEL --format json` on `data`: (exit code, machine -> score, the JSON,
/// stderr).
fn predict_json(p: &Project, model: &str, data: &str) -> (i32, BTreeMap<String, f64>, serde_json::Value, String) {
    let (code, out, err) = p.output(&["predict", "--model", model, "--data", data, "--format", "json"]);
    if code != 0 {
        return (code, BTreeMap::new(), serde_json::Value::Null, err);
    }
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let scores = json["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["equipment_id"].as_str().unwrap().to_string(),
                m["score"].as_f64().unwrap(),
            )
        })
        .collect();
    (code, scores, json, err)
}

#[test]
fn predict_scores_the_fleet_around_a_machine_whose_sensor_has_no_readings() {
    let (p, _) = trained();
    // P03's rpm and P06's pressure and rpm are blank on every one of their rows.
    p.write(
        "data/dead.csv",
        with_blanks(&p, &all(), |m| match m {
            "P03" => vec![5],
            "P06" => vec![3, 5],
            _ => vec![],
        }),
    );
    let (code, scored, json, err) = predict_json(&p, "pumps@production", "data/dead.csv");
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(
            "warning: data/dead.csv: not scored: 2 machine(s) without readings of a sensor the model needs: sensor `rpm` has no readings for machine P03; sensors `pressure`, `rpm` have no readings for machine P06"
        ),
        "{err}"
    );
    let names: Vec<&String> = scored.keys().collect();
    assert_eq!(
        names,
        ["P01", "P02", "P04", "P05", "P07", "P08"],
        "the others are scored"
    );
    let not_scored = json["summary"]["not_scored"].as_array().unwrap();
    assert_eq!(not_scored.len(), 2, "{not_scored:?}");
    assert_eq!(not_scored[0]["machine"], "P03");
    assert_eq!(not_scored[0]["reason"], "sensor `rpm` has no readings for machine P03");

    // The others are scored exactly as in a file without the two machines: leaving them out
    // changed nothing in how the model's chain prepared the rest.
    let others: Vec<String> = all().into_iter().filter(|m| m != "P03" && m != "P06").collect();
    p.write("data/others.csv", sensors_of(&p, &others, |_, _| {}));
    let (code, alone, _, err) = predict_json(&p, "pumps@production", "data/others.csv");
    assert_eq!(code, 0, "{err}");
    assert_eq!(scored, alone);

    // A gap the model's `clean` fills (interpolate) leaves its machine in: only what cannot
    // be computed is left out.
    let text = with_blanks(&p, &all(), |m| if m == "P03" { vec![5] } else { vec![] });
    let mut first = true;
    let revived: String = text
        .lines()
        .map(|l| {
            // P03's first rpm reading comes back: interpolate carries it over the rest.
            if first && l.contains(",P03,") {
                first = false;
                format!("{}1474.5\n", l)
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    p.write("data/revived.csv", revived);
    let (code, scored, _, err) = predict_json(&p, "pumps@production", "data/revived.csv");
    assert_eq!(code, 0, "{err}");
    assert_eq!(scored.len(), 8, "P03 has a reading to fill from: {err}");
    assert!(!err.contains("not scored"), "{err}");

    // A model trained without a `feature` step: the empty sensor reaches its windows as it
    // is, where it used to stop the whole fleet.
    p.write(
        "pipelines/plain.yaml",
        r#"name: plain
experiment: predict
steps:
  - {id: load, kind: load, with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}
  - {id: clean, kind: clean, needs: [load], with: {impute: median}}
  - {id: split, kind: split, needs: [clean], with: {by: entity, seed: 42}}
  - {id: train, kind: train-lstm, needs: [split], with: {window: 12, hidden: 8, epochs: 1, seed: 42}}
"#,
    );
    let (code, _, err) = p.output(&["run", "pipelines/plain.yaml"]);
    assert_eq!(code, 0, "{err}");
    let plain = p.show("latest")["id"].as_str().unwrap()[..12].to_string();
    let (code, scored, _, err) = predict_json(&p, &plain, "data/dead.csv");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("not scored: 2 machine(s)"), "{err}");
    assert_eq!(scored.len(), 6, "{scored:?}");

    // The `predict` step in a pipeline does the same, and the run records why.
    p.write(
        "pipelines/score.yaml",
        "name: scoring\nexperiment: predict\nsteps:\n  - {id: score, kind: predict, with: {model: pumps@production, path: data/dead.csv}}\n",
    );
    let (code, _, err) = p.output(&["run", "pipelines/score.yaml"]);
    assert_eq!(code, 0, "{err}");
    let run = p.show("latest");
    assert_eq!(run["metrics"]["score.machines_scored"], 6.0);
    assert!(
        warnings(&run, "score")
            .iter()
            .any(|w| w.contains("not scored: 2 machine(s)")
                && w.contains("sensor `rpm` has no readings for machine P03")),
        "{}",
        run["tags"]
    );
}

/// The warnings the run recorded for `step` (tags `warning.STEP`, `warning.STEP.2`, ...).
fn warnings<'a>(run: &'a serde_json::Value, step: &str) -> Vec<&'a str> {
    let prefix = format!("warning.{step}");
    run["tags"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| **k == prefix || k.starts_with(&format!("{prefix}.")))
        .filter_map(|(_, v)| v.as_str())
        .collect()
}

#[test]
fn predict_names_a_sensor_empty_on_every_row_and_fails_when_no_machine_is_left() {
    let (p, _) = trained();
    let expect_error = |data: &str, wanted: &[&str]| {
        let (code, out, err) = p.output(&["predict", "--model", "pumps@production", "--data", data]);
        assert_eq!(code, 1, "{data}: {err}");
        assert!(out.is_empty(), "nothing on stdout: {out}");
        for w in wanted {
            assert!(err.contains(w), "{data}: `{w}` not in: {err}");
        }
        assert!(!err.contains("read as str"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    };

    p.write("data/no_rpm.csv", with_blanks(&p, &all(), |_| vec![5]));
    expect_error(
        "data/no_rpm.csv",
        &[
            "column `rpm` of data/no_rpm.csv is empty on every row",
            "rpm_roll6_mean",
        ],
    );

    // Every machine lacks one sensor (no column is empty everywhere): nothing to score.
    p.write(
        "data/all_dead.csv",
        with_blanks(&p, &all(), |m| if m < "P05" { vec![5] } else { vec![4] }),
    );
    expect_error(
        "data/all_dead.csv",
        &[
            "data/all_dead.csv: no machine can be scored: 8 machine(s) without readings of a sensor the model needs",
            "sensor `rpm` has no readings for machine P01",
            "sensor `vibration` has no readings for machine P05",
            "and 3 more",
        ],
    );
}

#[test]
fn drift_skips_a_feature_empty_in_the_current_file_and_checks_the_others() {
    let p = Project::new();
    p.write_hotter();
    // hotter.csv with no pressure readings at all: its column is blank on every row.
    let text = std::fs::read_to_string(p.root().join("data/hotter.csv")).unwrap();
    let blank: String = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut fields: Vec<&str> = l.split(',').collect();
            if i > 0 {
                fields[3] = "";
            }
            format!("{}\n", fields.join(","))
        })
        .collect();
    p.write("data/hotter_no_pressure.csv", blank);
    // `feature` makes features from the column (it used to fail in `drop-na`); in the second
    // pipeline `clean` names it too (it used to fail there, the column being read as text).
    let pipeline = |clean: &str| {
        format!(
            r#"name: new-week
steps:
  - {{id: load, kind: load, with: {{path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}}}
  - {{id: clean, kind: clean, needs: [load], with: {clean}}}
  - {{id: feature, kind: feature, needs: [clean], with: {{columns: [temperature, pressure], rolling: {{windows: [3], stats: [mean]}}}}}}
  - {{id: split, kind: split, needs: [feature], with: {{by: time, fractions: [0.5, 0.25, 0.25]}}}}
  - {{id: drift, kind: drift, needs: [split], with: {{reference: train, current: {{path: data/hotter_no_pressure.csv}}, on-drift: warn, min-statistic: 0.2}}}}
"#
        )
    };
    p.write("pipelines/new.yaml", pipeline("{impute: median}"));
    p.write(
        "pipelines/named.yaml",
        pipeline("{impute: median, columns: [temperature, pressure, vibration, rpm]}"),
    );
    for file in ["pipelines/new.yaml", "pipelines/named.yaml"] {
        let (code, _, err) = p.output(&["run", file]);
        assert_eq!(code, 0, "{file}: {err}");
        skipped_pressure_and_compared_the_rest(&p.show("latest"));
    }
}

fn skipped_pressure_and_compared_the_rest(run: &serde_json::Value) {
    let m = &run["metrics"];
    assert!(m.get("drift.pressure.ks").is_none(), "{m}");
    assert!(m.get("drift.pressure_roll3_mean.ks").is_none(), "{m}");
    assert_eq!(m["drift.features"], 4.0, "the four others are compared: {m}");
    assert_eq!(m["drift.temperature.drifted"], 1.0, "{m}");
    assert_eq!(m["drift.temperature_roll3_mean.drifted"], 1.0, "{m}");
    assert_eq!(m["drift.rpm.drifted"], 0.0, "{m}");
    let warnings = warnings(run, "drift");
    assert!(
        warnings.iter().any(|w| w.contains(
            "2 columns have no values in the current table `data/hotter_no_pressure.csv`: `pressure`, `pressure_roll3_mean`; they are not compared"
        )),
        "{warnings:?}"
    );
}
