//! The shipped end-to-end pipeline: load -> clean -> feature -> split -> smote -> train-lstm ->
//! evaluate on the generated fleet, with a real libtorch LSTM.

use crate::support::{repo, Project};

fn metric(run: &serde_json::Value, key: &str) -> f64 {
    run["metrics"][key]
        .as_f64()
        .unwrap_or_else(|| panic!("metric {key} missing in {}", run["metrics"]))
}

fn artifact(run: &serde_json::Value, step: &str, name: &str) -> (std::path::PathBuf, String) {
    let a = run["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["step"] == step && a["name"] == name)
        .unwrap_or_else(|| panic!("no artifact {step}/{name}"));
    let uri = a["uri"].as_str().unwrap();
    (
        std::path::PathBuf::from(uri.strip_prefix("file://").unwrap()),
        a["sha256"].as_str().unwrap().to_string(),
    )
}

#[test]
fn shipped_pipeline_trains_evaluates_and_repeats_bit_for_bit() {
    let p = Project::new();
    std::fs::copy(repo().join("data/fleet.csv"), p.root().join("data/fleet.csv")).unwrap();
    let text = std::fs::read_to_string(repo().join("pipelines/train.yaml")).unwrap();
    p.write("pipelines/train.yaml", text);
    let (code, _, err) = p.output(&["run", "pipelines/train.yaml"]);
    assert_eq!(code, 0, "{err}");
    // Plain progress: one line per finished epoch, never one per batch.
    assert!(err.contains("train: ") && err.contains(" epoch 1/"), "{err}");
    let first = p.show("latest");

    // Test metrics at the tuned threshold are consistent with the confusion matrix.
    let (tp, fp, tn, fn_) = (
        metric(&first, "evaluate.tp"),
        metric(&first, "evaluate.fp"),
        metric(&first, "evaluate.tn"),
        metric(&first, "evaluate.fn"),
    );
    assert_eq!(tp + fp + tn + fn_, metric(&first, "evaluate.windows"));
    assert_eq!(tp + fn_, metric(&first, "evaluate.support"));
    assert!((metric(&first, "evaluate.f1") - 2.0 * tp / (2.0 * tp + fp + fn_)).abs() < 1e-12);
    assert!((metric(&first, "evaluate.false_alarm_rate") - fp / (fp + tn)).abs() < 1e-12);
    // The model learned something: far better than the failure rate (about 1-2% of windows).
    let base_rate = (tp + fn_) / (tp + fp + tn + fn_);
    assert!(
        metric(&first, "evaluate.pr_auc") > 5.0 * base_rate,
        "{}",
        first["metrics"]
    );
    assert!(metric(&first, "evaluate.roc_auc") > 0.8, "{}", first["metrics"]);

    // The model card describes the model the weights belong to, and its threshold.
    let (card_path, _) = artifact(&first, "train", "model_card.json");
    let card: serde_json::Value = serde_json::from_slice(&std::fs::read(card_path).unwrap()).unwrap();
    assert_eq!(card["window"], 12);
    assert_eq!(
        card["threshold"].as_f64().unwrap(),
        metric(&first, "evaluate.threshold")
    );
    assert_eq!(
        card["features"].as_array().unwrap().len() as i64,
        card["architecture"]["features"].as_i64().unwrap()
    );
    assert!(
        card["scaler"]["columns"].is_object(),
        "the scaler fitted by split is in the card"
    );
    assert!(
        !card["feature-manifest"].is_null(),
        "the feature manifest is in the card"
    );
    let best = card["training"]["best-epoch"].as_u64().unwrap();
    assert_eq!(metric(&first, "train.best_epoch"), best as f64);
    let history = card["training"]["history"].as_array().unwrap();
    if best == 0 {
        // No epoch beat the start by one standard error: the start, which is the baseline, is
        // kept (scored in f32 by the network, in f64 as the baseline).
        let kept = metric(&first, "train.best_val_pr_auc");
        assert!((kept - metric(&first, "train.baseline_val_pr_auc")).abs() < 1e-3);
    } else {
        let best_auc = history[best as usize - 1]["val-pr-auc"].as_f64().unwrap();
        assert!(history.iter().all(|e| e["val-pr-auc"].as_f64().unwrap() <= best_auc));
    }
    // Every epoch's validation PR-AUC is in the registry, with the epoch as its step.
    let series = first["series"]["train.val_pr_auc"].as_array().unwrap();
    assert_eq!(series.len(), history.len());
    for (point, epoch) in series.iter().zip(history) {
        assert_eq!(point[0], epoch["epoch"]);
        assert_eq!(point[1], epoch["val-pr-auc"]);
    }
    for picture in ["pr_curve.svg", "roc_curve.svg", "confusion_matrix.svg"] {
        let (path, _) = artifact(&first, "evaluate", picture);
        assert!(std::fs::read_to_string(path).unwrap().starts_with("<svg"), "{picture}");
    }
    artifact(&first, "train", "loss_curve.svg");

    // Same seed, forced retraining: the same weights, byte for byte.
    let (code, _, err) = p.output(&["run", "pipelines/train.yaml", "--force", "train"]);
    assert_eq!(code, 0, "{err}");
    let second = p.show("latest");
    assert_ne!(first["id"], second["id"]);
    assert_eq!(
        artifact(&first, "train", "model.safetensors").1,
        artifact(&second, "train", "model.safetensors").1
    );
    assert_eq!(metric(&first, "evaluate.f1"), metric(&second, "evaluate.f1"));
}

#[test]
fn training_problems_fail_the_run_with_the_step_and_a_fix() {
    let p = Project::new();
    let pipeline = |impute: &str, train_with: &str| {
        format!(
            r#"name: bad-training
steps:
  - {{id: load, kind: load, with: {{path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}}}
  - {{id: clean, kind: clean, needs: [load], with: {{impute: {impute}}}}}
  - {{id: split, kind: split, needs: [clean], with: {{by: entity, seed: 1}}}}
  - {{id: train, kind: train-lstm, needs: [split], with: {train_with}}}
  - {{id: evaluate, kind: evaluate, needs: [train, split]}}
"#
        )
    };
    // Interpolation leaves a gap at the start of a series: NaN must not reach training.
    p.write("pipelines/nan.yaml", pipeline("interpolate", "{window: 2, epochs: 1}"));
    let (code, _, err) = p.output(&["run", "pipelines/nan.yaml"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(
            "step `train` failed: feature `vibration` is NaN at row 1501 of the `train` part; impute it in `clean`"
        ),
        "{err}"
    );

    p.write("pipelines/long.yaml", pipeline("median", "{window: 100000, epochs: 1}"));
    let (code, _, err) = p.output(&["run", "pipelines/long.yaml"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("train") && err.contains("`window: 100000` is longer than every entity's series"),
        "{err}"
    );
    let run = p.show("latest");
    assert_eq!(run["status"], "failed");
    // No model is left behind by a failed training step.
    assert!(!run["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["step"] == "train"));

    if !std::path::Path::new("/dev/nvidia0").exists() {
        p.write(
            "pipelines/cuda.yaml",
            pipeline("median", "{window: 2, epochs: 1, device: cuda}"),
        );
        let (code, _, err) = p.output(&["run", "pipelines/cuda.yaml"]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("`device: cuda` but libtorch sees no CUDA device"), "{err}");
    }

    p.write(
        "pipelines/typo.yaml",
        pipeline("median", "{window: 2, epoch: 1, pos-weight: lots}"),
    );
    let (code, _, err) = p.output(&["validate", "pipelines/typo.yaml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown key `epoch` (did you mean `epochs`?)"), "{err}");
    assert!(err.contains("`pos-weight` must be `auto`"), "{err}");
}
