//! Issue 27, item 1: two registries on one artifact folder (a `--registry` trial, a project
//! moved to PostgreSQL that kept `file://artifacts`). `pmflow gc` from either one removes
//! nothing of the other's runs, registered model included, unless `--unknown-runs` says so.

use crate::support::Project;

/// Trains a small model and registers it, so the run's weights are a model version's.
const REGISTERED: &str = r#"name: shared-store
experiment: shared
steps:
  - {id: load, kind: load, with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}
  - {id: clean, kind: clean, needs: [load], with: {impute: median}}
  - {id: split, kind: split, needs: [clean], with: {by: entity, seed: 42}}
  - {id: train, kind: train-lstm, needs: [split], with: {window: 24, hidden: 8, epochs: 1, patience: 100, seed: 42}}
  - {id: register, kind: register, needs: [train]}
"#;

const OTHER: &str = "sqlite://experiments/other.db";

/// The run folder of the latest run in `registry` (`artifacts/shared/RUN`).
fn latest_folder(p: &Project, registry: &str) -> std::path::PathBuf {
    let (code, out, err) = p.output(&["runs", "show", "latest", "--format", "json", "--registry", registry]);
    assert_eq!(code, 0, "{err}");
    let run: serde_json::Value = serde_json::from_str(&out).unwrap();
    p.root().join("artifacts/shared").join(run["id"].as_str().unwrap())
}

/// Every file under `dir`, sorted, as paths relative to it.
fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut found: Vec<String> = walk(dir)
        .into_iter()
        .map(|f| f.strip_prefix(dir).unwrap().display().to_string())
        .collect();
    found.sort();
    found
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// `predict` with the registry's latest model on the sample data works (its weights are there).
fn predicts(p: &Project, registry: &str) {
    let (code, _, err) = p.output(&[
        "predict",
        "--registry",
        registry,
        "--model",
        "shared-store",
        "--data",
        "data/sensors.csv",
        "--out",
        "scores.csv",
    ]);
    assert_eq!(code, 0, "predict on {registry}: {err}");
}

#[test]
fn gc_from_either_registry_leaves_the_other_registrys_runs_alone() {
    let p = Project::new();
    p.write("pipelines/train.yaml", REGISTERED);
    let default = "sqlite://experiments/registry.db";
    for registry in [default, OTHER] {
        let (code, _, err) = p.output(&["run", "pipelines/train.yaml", "--registry", registry]);
        assert_eq!(code, 0, "{err}");
    }
    let (mine, theirs) = (latest_folder(&p, default), latest_folder(&p, OTHER));
    assert_ne!(mine, theirs);
    let (mine_files, theirs_files) = (files_under(&mine), files_under(&theirs));
    assert!(
        theirs_files.iter().any(|f| f.ends_with("model.safetensors")),
        "{theirs_files:?}"
    );

    // A plain gc from each registry: the other's complete run is named and kept, whole.
    for (registry, other_folder) in [(default, &theirs), (OTHER, &mine)] {
        let (code, out, err) = p.output(&["gc", "--registry", registry]);
        assert_eq!(code, 0, "{err}");
        let shown = other_folder
            .strip_prefix(p.root().join("artifacts"))
            .unwrap()
            .display()
            .to_string();
        assert!(
            out.contains("kept run unknown to this registry") && out.contains(&shown),
            "{registry}: {out}"
        );
        assert!(err.contains("pass --unknown-runs to remove them"), "{err}");
        assert!(!out.contains("removed run unknown"), "{out}");
    }
    assert_eq!(files_under(&mine), mine_files);
    assert_eq!(files_under(&theirs), theirs_files);
    predicts(&p, default);
    predicts(&p, OTHER);

    // Old-run collection in one registry keeps every file of the other's.
    let (code, _, err) = p.output(&["gc", "--keep-last", "0", "--registry", default]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(files_under(&theirs), theirs_files);
    predicts(&p, OTHER);

    // Asked by name: listed by --dry-run first, then removed.
    let (code, out, err) = p.output(&["gc", "--unknown-runs", "--dry-run", "--registry", default]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("would remove run unknown to the registry"), "{out}");
    assert!(out.contains("model.safetensors"), "{out}");
    assert_eq!(files_under(&theirs), theirs_files, "a dry run removes nothing");
    let (code, _, err) = p.output(&["gc", "--unknown-runs", "--registry", default]);
    assert_eq!(code, 0, "{err}");
    assert!(!theirs.exists(), "--unknown-runs removes the other registry's run");
    predicts(&p, default);
}
