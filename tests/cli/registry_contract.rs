//! The JSON contract of `runs list` / `runs show` that CI scripts rely on, run-id resolution,
//! and what the SQLite file itself holds.

use crate::support::{Project, SAMPLE};

#[test]
fn runs_list_and_show_json_contract() {
    let p = Project::new();
    p.write("pipelines/train.yaml", SAMPLE);
    assert_eq!(p.output(&["run", "pipelines/train.yaml"]).0, 0);
    assert_eq!(
        p.output(&["run", "pipelines/train.yaml", "--set", "experiment=other"])
            .0,
        0
    );

    let (code, out, _) = p.output(&["runs", "list", "--format", "json"]);
    assert_eq!(code, 0);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let list = list.as_array().expect("an array");
    assert_eq!(list.len(), 2);
    for run in list {
        for key in ["id", "experiment", "pipeline", "status", "started_at", "ended_at"] {
            assert!(run.get(key).is_some(), "runs list item has `{key}`: {run}");
        }
    }
    assert_eq!(list[0]["experiment"], "other", "newest first");

    let (_, out, _) = p.output(&["runs", "list", "--format", "json", "--experiment", "pumps"]);
    let only: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(only.as_array().unwrap().len(), 1);

    let id = list[1]["id"].as_str().unwrap();
    let shown = p.show(&id[..10]);
    assert_eq!(shown["id"], id, "a unique prefix resolves");
    for key in ["id", "status", "params", "metrics", "steps", "artifacts"] {
        assert!(shown.get(key).is_some(), "runs show has `{key}`");
    }
    assert!(shown["params"].is_object() && shown["metrics"].is_object());
    for step in shown["steps"].as_array().unwrap() {
        for key in ["id", "kind", "status", "cached", "duration_ms", "error"] {
            assert!(step.get(key).is_some(), "step has `{key}`: {step}");
        }
    }
    for a in shown["artifacts"].as_array().unwrap() {
        for key in ["step", "name", "uri", "sha256", "bytes"] {
            assert!(a.get(key).is_some(), "artifact has `{key}`: {a}");
        }
    }

    let (code, _, err) = p.output(&["runs", "show", "ffffffff"]);
    assert_eq!(code, 2);
    assert!(err.contains("no run matches `ffffffff`"), "{err}");
    let (code, out, _) = p.output(&["runs", "list"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("RUN"), "table header: {out}");
}

#[test]
fn runs_commands_without_a_registry_explain_what_to_do() {
    let p = Project::new();
    let (code, _, err) = p.output(&["runs", "list"]);
    assert_eq!(code, 2);
    assert!(err.contains("no registry at") && err.contains("--registry"), "{err}");
}

#[test]
fn a_file_that_is_not_a_registry_is_refused_untouched() {
    let p = Project::new();
    let junk = b"this is not a database, just some text that happens to be here\n".repeat(100);
    p.write("experiments/registry.db", &junk);
    p.write("pipelines/train.yaml", SAMPLE);
    let (code, _, err) = p.output(&["run", "pipelines/train.yaml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a pmflow registry"), "{err}");
    assert_eq!(
        std::fs::read(p.root().join("experiments/registry.db")).unwrap(),
        junk,
        "nothing overwritten"
    );
}
