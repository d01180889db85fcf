//! A user's model from a `command` step, through pmflow's own `evaluate`, `register` and
//! `pmflow predict`: the score command gets prepared windows (a user's transform replayed on the
//! new file too) and gives the same scores in both, to 1e-9.

use std::collections::HashMap;

use polars::prelude::*;

use crate::support::{artifact_path as artifact, venv_python as python, Project};

/// Per machine, temperature minus the mean of the machine's first day: fitted in training and
/// kept as state, so new data that starts later is centred by the same figures.
const CENTRE: &str = r#"
import json, os, pandas as pd
ctx = json.load(open(os.environ["PMFLOW_STEP"]))
frame = pd.read_parquet(os.environ["PMFLOW_INPUT_CLEAN"])
if ctx["replay"]:
    means = json.load(open(ctx["fitted"]["centre.json"]))
else:
    first = frame.sort_values("timestamp").groupby("equipment_id").head(24)
    means = first.groupby("equipment_id")["temperature"].mean().to_dict()
    json.dump(means, open(ctx["outputs"]["centre.json"]["path"], "w"))
frame["temperature_centred"] = frame["temperature"] - frame["equipment_id"].map(means)
frame.to_parquet(os.environ["PMFLOW_OUTPUT_FRAME"], index=False)
"#;

/// A least-squares linear scorer squashed by a sigmoid: small, deterministic, numpy only.
const FIT: &str = r#"
import json, os, shutil, sys
import numpy as np, pandas as pd
ctx = json.load(open(os.environ["PMFLOW_STEP"]))
train = pd.read_parquet(ctx["inputs"]["train"]["path"])
roles = ctx["roles"]
features = [c for c in train.columns if c not in roles.values() and pd.api.types.is_float_dtype(train[c])]
x = np.c_[train[features].to_numpy(), np.ones(len(train))]
w = np.linalg.lstsq(x, train[roles["label"]].to_numpy(dtype=float), rcond=None)[0]
out = ctx["outputs"]["model"]["path"]
os.makedirs(out)
json.dump({"weights": w.tolist()}, open(os.path.join(out, "weights.json"), "w"))
shutil.copy(os.path.join(os.path.dirname(__file__), "score.py"), out)
json.dump({"score": [sys.executable, "score.py"], "features": features}, open(os.path.join(out, "model.json"), "w"))
"#;

const SCORE: &str = r#"
import json, os
import numpy as np, pandas as pd
spec = json.load(open("model.json"))
w = np.array(json.load(open("weights.json"))["weights"])
rows = pd.read_parquet(os.environ["PMFLOW_SCORE_INPUT"])
x = np.c_[rows[spec["features"]].to_numpy(), np.ones(len(rows))]
pd.DataFrame({"score": 1 / (1 + np.exp(-8 * (x @ w - 0.1)))}).to_parquet(os.environ["PMFLOW_SCORE_OUTPUT"])
"#;

fn pipeline() -> String {
    let python = python();
    format!(
        r#"name: pumps-user
experiment: command-model
steps:
  - {{id: load, kind: load, with: {{path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}}}
  - {{id: clean, kind: clean, needs: [load], with: {{impute: interpolate}}}}
  - id: centre
    kind: command
    needs: [clean]
    with: {{run: [{python}, steps/centre.py], code: [steps/centre.py], outputs: {{frame: table, centre.json: state}}}}
  - id: feature
    kind: feature
    needs: [centre]
    with: {{columns: [temperature, pressure, vibration, rpm, temperature_centred], rolling: {{windows: [6], stats: [mean]}}, lags: [1]}}
  - {{id: split, kind: split, needs: [feature], with: {{by: entity, seed: 42}}}}
  - id: fit
    kind: command
    needs: [split]
    with: {{run: [{python}, steps/fit.py], code: [steps/fit.py, steps/score.py], inputs: [train, val], outputs: {{model: model}}}}
  - {{id: evaluate, kind: evaluate, needs: [fit, split], with: {{importance: {{per-feature: true, repeats: 30}}}}}}
  - {{id: register, kind: register, needs: [evaluate], with: {{promote: {{alias: production}}}}}}
"#
    )
}

/// (machine, time) -> score of a Parquet table of scored windows.
fn scores(path: &std::path::Path) -> HashMap<(String, i64), f64> {
    let frame = ParquetReader::new(std::fs::File::open(path).unwrap()).finish().unwrap();
    let machines = frame.column("equipment_id").unwrap().cast(&DataType::String).unwrap();
    let times = frame.column("timestamp").unwrap().cast(&DataType::Int64).unwrap();
    let score = frame.column("score").unwrap().f64().unwrap().clone();
    (0..frame.height())
        .map(|i| {
            (
                (
                    machines.str().unwrap().get(i).unwrap().to_string(),
                    times.i64().unwrap().get(i).unwrap(),
                ),
                score.get(i).unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_user_model_is_evaluated_registered_and_scored_by_predict_as_evaluate_scored_it() {
    let p = Project::new();
    p.write("steps/centre.py", CENTRE);
    p.write("steps/fit.py", FIT);
    p.write("steps/score.py", SCORE);
    p.write("pipelines/user.yaml", pipeline());
    let (code, _, err) = p.output(&["run", "pipelines/user.yaml"]);
    assert_eq!(code, 0, "{err}");
    let run = p.show("latest");
    let metrics = &run["metrics"];
    assert!(metrics["evaluate.pr_auc"].as_f64().is_some(), "{metrics}");
    assert!(
        metrics["fit.threshold"].as_f64().is_some(),
        "threshold chosen on val: {metrics}"
    );
    assert_eq!(metrics["register.version"], 1.0, "{metrics}");
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(artifact(&run, "fit", "model_card.json")).unwrap()).unwrap();
    assert_eq!(card["format"], "pmflow-command/1");
    assert_eq!(card["threshold-rule"], "max-f1");
    assert!(
        card["features"]
            .as_array()
            .unwrap()
            .contains(&"temperature_centred_lag1".into()),
        "{card}"
    );

    permutation_importance_matches_scikit_learn(&p, &run);

    // The test machines' raw readings from day 5 on (no label), scored by the registered
    // version: the transform replays on them with the figures it fitted in training (their
    // first day is not in this file), and every window past the features' warm-up gets
    // evaluate's score.
    let evaluated = scores(&artifact(&run, "evaluate", "predictions.parquet"));
    let mut machines: Vec<String> = evaluated.keys().map(|(m, _)| m.clone()).collect();
    machines.sort();
    machines.dedup();
    let all = crate::predict::sensors_of(&p, &machines, |_, _| {});
    let late: Vec<&str> = all
        .lines()
        .enumerate()
        .filter(|(i, line)| *i == 0 || line[..10] >= *"2024-01-05")
        .map(|(_, line)| line)
        .collect();
    p.write("data/test_machines.csv", late.join("\n") + "\n");
    let (code, _, err) = p.output(&[
        "predict",
        "--model",
        "pumps-user@production",
        "--data",
        "data/test_machines.csv",
        "--at",
        "all",
        "--out",
        "scores.parquet",
    ]);
    assert_eq!(code, 0, "{err}");
    let predicted = scores(&p.root().join("scores.parquet"));
    let mut compared = 0;
    let mut worst = 0.0f64;
    for machine in &machines {
        let mut windows: Vec<(&(String, i64), &f64)> = predicted.iter().filter(|((m, _), _)| m == machine).collect();
        windows.sort_by_key(|(key, _)| key.1);
        // The first day of the file: rolling means and lags still warming up.
        for (key, score) in windows.into_iter().skip(24) {
            let want = evaluated
                .get(key)
                .unwrap_or_else(|| panic!("{key:?} was not evaluated"));
            worst = worst.max((score - want).abs());
            compared += 1;
        }
    }
    assert!(compared > 100, "only {compared} windows compared");
    assert!(worst <= 1e-9, "largest difference from evaluate: {worst}");

    // The transform's code edited since training: scoring is refused, naming the file.
    p.write("steps/centre.py", format!("{CENTRE}\n# tuned\n"));
    let (code, _, err) = p.output(&[
        "predict",
        "--model",
        "pumps-user@production",
        "--data",
        "data/test_machines.csv",
    ]);
    assert_ne!(code, 0);
    assert!(
        err.contains("the code of its transform `centre` changed since it was trained")
            && err.contains("steps/centre.py"),
        "{err}"
    );
    p.write("steps/centre.py", CENTRE);

    // A score command that breaks is named with what it said.
    p.write("steps/score.py", "import sys; sys.exit('weights are corrupt')");
    let (code, _, err) = p.output(&["run", "pipelines/user.yaml"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("step `fit` failed") && err.contains("weights are corrupt"),
        "{err}"
    );
}

/// scikit-learn's `permutation_importance` of the same model (its weights, read from the
/// registered zip) on the same test rows, as float32 as pmflow hands them over.
const SKLEARN_IMPORTANCE: &str = r#"
import io, json, sys, zipfile
import numpy as np, pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.inspection import permutation_importance
test_path, zip_path, card_path = sys.argv[1:4]
card = json.load(open(card_path))
archive = zipfile.ZipFile(zip_path)
w = np.array(json.load(archive.open("weights.json"))["weights"])
class Linear(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        return self
    def predict_proba(self, X):
        s = 1 / (1 + np.exp(-8 * (np.c_[X, np.ones(len(X))] @ w - 0.1)))
        return np.c_[1 - s, s]
model = Linear()
model.classes_ = np.array([0, 1])
test = pd.read_parquet(test_path)
X = test[card["features"]].to_numpy(dtype=np.float32).astype(np.float64)
y = test[card["label"]].to_numpy()
found = permutation_importance(model, X, y, scoring="average_precision", n_repeats=30, random_state=0)
print(json.dumps({f: [m, s] for f, m, s in zip(card["features"], found.importances_mean, found.importances_std)}))
"#;

/// pmflow's per-feature permutation importance (30 repeats) against scikit-learn's (30 other
/// shuffles) for the same model and rows. Both estimate the same expected drop; their means
/// differ by the shuffles drawn, whose standard error is std/sqrt(30) each: they must agree
/// within 4 combined standard errors (plus 1e-3 for float32 inputs).
fn permutation_importance_matches_scikit_learn(p: &Project, run: &serde_json::Value) {
    let evaluation: serde_json::Value =
        serde_json::from_slice(&std::fs::read(artifact(run, "evaluate", "evaluation.json")).unwrap()).unwrap();
    let ours = evaluation["importance"]["by_feature"]
        .as_array()
        .expect("per-feature importance");
    let script = p.write("check_importance.py", SKLEARN_IMPORTANCE);
    let out = std::process::Command::new(python())
        .arg(&script)
        .arg(artifact(run, "split", "test.parquet"))
        .arg(artifact(run, "fit", "model.zip"))
        .arg(artifact(run, "fit", "model_card.json"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let theirs: HashMap<String, (f64, f64)> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ours.len(), theirs.len(), "one figure per feature");
    let mut largest = 0.0f64;
    for figure in ours {
        let name = figure["name"].as_str().unwrap();
        let (mean, std) = (figure["pr_auc_drop"].as_f64().unwrap(), figure["std"].as_f64().unwrap());
        let (their_mean, their_std) = theirs[name];
        let tolerance = 4.0 * ((std * std + their_std * their_std) / 30.0).sqrt() + 1e-3;
        assert!(
            (mean - their_mean).abs() <= tolerance,
            "{name}: pmflow {mean:.4} +- {std:.4}, scikit-learn {their_mean:.4} +- {their_std:.4}"
        );
        largest = largest.max(mean);
    }
    assert!(largest > 0.01, "some feature matters to the model: {ours:?}");
}
