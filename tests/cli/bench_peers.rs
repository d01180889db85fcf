//! The benchmarks' Python peers read pmflow's models: for every kind of network `train-lstm`
//! makes, bench/peer_check.py (plain python3) finds in the real binary's model.safetensors
//! exactly the variables of bench/peer_model.py's network, and that network gives the scores
//! `pmflow predict` gave. A change to pmflow's network that the peers do not follow fails here,
//! not in `just bench` (as the skip path once did: "Unexpected key(s) skip.bias, skip.weight").

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{repo, Project};

/// 8 machines x 40 hourly rows of three sensors, no gaps; failures every tenth and eleventh
/// hour, announced by the first sensor, so every split part holds positive windows.
fn fleet() -> String {
    let mut text = String::from("timestamp,equipment_id,a,b,c,failure\n");
    for m in 0..8 {
        for t in 0..40u32 {
            let failure = u8::from(t % 10 >= 8);
            let x = f64::from(t) * 0.7 + f64::from(m);
            text.push_str(&format!(
                "2024-01-{:02} {:02}:00:00,M{m},{:.4},{:.4},{:.4},{failure}\n",
                1 + t / 24,
                t % 24,
                x.sin() + 1.5 * f64::from(failure),
                x.cos() * 10.0 + 50.0,
                (x * 0.3).sin() * 0.1,
            ));
        }
    }
    text
}

/// Trains `train` (the train-lstm step's `with:` entries) on the fleet and scores it with
/// `pmflow predict --at all`: the folder of the model's files.
fn trained(p: &Project, train: &str) -> PathBuf {
    p.write("data/fleet.csv", fleet());
    p.write(
        "pipelines/peers.yaml",
        format!(
            r#"name: peers
steps:
  - {{id: load, kind: load, with: {{path: data/fleet.csv, timestamp: timestamp, entity: equipment_id, label: failure}}}}
  - {{id: split, kind: split, needs: [load], with: {{by: entity, seed: 1}}}}
  - {{id: train, kind: train-lstm, needs: [split], with: {{window: 4, hidden: 3, epochs: 2, batch-size: 16, seed: 1, {train}}}}}
"#
        ),
    );
    let (code, _, err) = p.output(&["run", "pipelines/peers.yaml"]);
    assert_eq!(code, 0, "{train}: {err}");
    let run = p.show("latest");
    let card = run["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "model_card.json")
        .expect("the run stores a model card")["uri"]
        .as_str()
        .unwrap()
        .strip_prefix("file://")
        .expect("a local artifact")
        .to_string();
    let run_id = run["id"].as_str().unwrap();
    let (code, _, err) = p.output(&[
        "predict",
        "--model",
        run_id,
        "--data",
        "data/fleet.csv",
        "--at",
        "all",
        "--out",
        "scores.csv",
    ]);
    assert_eq!(code, 0, "{train}: {err}");
    Path::new(&card).parent().unwrap().to_path_buf()
}

/// `python3 bench/peer_check.py MODEL_DIR data/fleet.csv scores.csv`: (exit code, output).
fn peer_check(p: &Project, model_dir: &Path) -> (i32, String) {
    let out = Command::new("python3")
        .arg(repo().join("bench/peer_check.py"))
        .arg(model_dir)
        .args(["data/fleet.csv", "scores.csv", "3"])
        .current_dir(p.root())
        .output()
        .expect("python3 runs (scripts/setup.sh needs it too)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn the_peers_network_loads_and_scores_every_kind_pmflow_trains() {
    for train in [
        "layers: 2",                                                   // the default: LSTM with its skip path
        "layers: 1, attention: true, skip: false",                     // the projected-rows scorer, pooled
        "model: gru, layers: 2, bidirectional: true, attention: true", // through the plain forward pass
        "model: linear",
    ] {
        let p = Project::new();
        let model_dir = trained(&p, train);
        let (code, out) = peer_check(&p, &model_dir);
        assert_eq!(code, 0, "{train}: {out}");
        assert!(out.starts_with("ok: "), "{train}: {out}");
    }
}

#[test]
fn a_network_the_peers_do_not_know_is_refused_by_name() {
    // The card says the network has no skip path, the weights have one: what the peers saw
    // when pmflow gained it and they did not.
    let p = Project::new();
    let model_dir = trained(&p, "layers: 1");
    let copy = p.root().join("stale-card");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(model_dir.join("model.safetensors"), copy.join("model.safetensors")).unwrap();
    let card = std::fs::read_to_string(model_dir.join("model_card.json")).unwrap();
    let mut card: serde_json::Value = serde_json::from_str(&card).unwrap();
    assert_eq!(card["architecture"]["skip"], true, "skip is the default");
    card["architecture"]["skip"] = false.into();
    std::fs::write(copy.join("model_card.json"), card.to_string()).unwrap();
    let (code, out) = peer_check(&p, &copy);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("unexpected key(s) ['skip.bias', 'skip.weight']"), "{out}");
}
