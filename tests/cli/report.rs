//! The run report through the real binary: every run writes `report.html` beside its
//! artifacts (succeeded, or failed half-way), `runs show` says where, `pmflow report --vs`
//! adds a comparison, and the page loads in a real browser (Debian's headless Chromium) with
//! every picture decoded and nothing fetched from outside.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::Project;

const FULL: &str = r#"name: pump-sensors
experiment: report
steps:
  - {id: load, kind: load, with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}
  - {id: clean, kind: clean, needs: [load], with: {impute: median}}
  - {id: split, kind: split, needs: [clean], with: {by: entity, seed: 42}}
  - {id: drift, kind: drift, needs: [split], with: {reference: train, current: test}}
  - {id: train, kind: train-lstm, needs: [split], with: {window: 12, hidden: 8, epochs: 3, patience: 100, seed: 42}}
  - {id: evaluate, kind: evaluate, needs: [train, split]}
"#;

const SHORT: &str = r#"name: pump-clean
experiment: report
steps:
  - {id: load, kind: load, with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id}}
  - {id: clean, kind: clean, needs: [load], with: {impute: interpolate}}
"#;

/// Fails in `feature`, after `load` and `clean` succeeded.
const HALF: &str = r#"name: pump-half
experiment: report
steps:
  - {id: load, kind: load, with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id}}
  - {id: clean, kind: clean, needs: [load], with: {impute: interpolate}}
  - {id: feature, kind: feature, needs: [clean], with: {columns: [no_such_sensor], lags: [1]}}
"#;

/// Runs `pipeline` and returns (run JSON, the report's local path, its text).
fn run_and_report(p: &Project, file: &str, text: &str, succeeds: bool) -> (serde_json::Value, PathBuf, String) {
    p.write(file, text);
    let (code, out, err) = p.output(&["run", file]);
    assert_eq!(code == 0, succeeds, "{out}{err}");
    assert!(out.contains("report: "), "the run says where its report is: {out}");
    let run = p.show("latest");
    let report = run["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["step"] == "" && a["name"] == "report.html")
        .unwrap_or_else(|| panic!("no report.html among {}", run["artifacts"]));
    let path = PathBuf::from(report["uri"].as_str().unwrap().strip_prefix("file://").unwrap());
    let html = std::fs::read_to_string(&path).unwrap();
    assert_eq!(report["bytes"].as_u64().unwrap() as usize, html.len());
    (run, path, html)
}

/// Nothing the page would fetch: no scripts, style sheets, frames or remote pictures.
fn assert_self_contained(html: &str) {
    for banned in [
        "<script",
        "<link",
        "<iframe",
        "@import",
        "src=\"http",
        "href=\"http",
        "url(http",
    ] {
        assert!(!html.contains(banned), "the report holds `{banned}`");
    }
}

#[test]
fn every_run_writes_its_report_with_what_it_did() {
    let p = Project::new();
    let (run, path, html) = run_and_report(&p, "pipelines/full.yaml", FULL, true);
    let id = run["id"].as_str().unwrap();
    assert_self_contained(&html);
    for wanted in [
        id,
        "badge succeeded",
        "<h2>Steps</h2>",
        "timeline of the steps",
        "<h2>Metrics (last values)</h2>",
        "<h2>Per-epoch curves</h2>",
        "train: val_f1, val_pr_auc",
        "evaluate / pr_curve.svg",
        "evaluate / roc_curve.svg",
        "evaluate / confusion_matrix.svg",
        "<h2>Drift (drift): train vs test</h2>",
        "<h2>Artifacts (",
        "model.safetensors",
        "<h2>Lineage</h2>",
        "trained on",
    ] {
        assert!(html.contains(wanted), "`{wanted}` missing from the report");
    }
    // Lineage: the data file read, with its digest as it was read.
    use sha2::Digest;
    let data = std::fs::read(p.root().join("data/sensors.csv")).unwrap();
    let sha256 = hex::encode(sha2::Sha256::digest(&data));
    assert!(
        html.contains(&format!(
            "data/sensors.csv</td><td>read</td><td><code title=\"{sha256}\">"
        )),
        "the data read and its digest"
    );
    // The evaluate PR-AUC, as a headline tile.
    let pr_auc = run["metrics"]["evaluate.pr_auc"].as_f64().unwrap();
    assert!(
        html.contains(&format!("<b>{pr_auc:.4}</b><span>PR-AUC</span>")),
        "PR-AUC tile"
    );

    // `runs show` prints where it is.
    let (code, out, _) = p.output(&["runs", "show", id]);
    assert_eq!(code, 0);
    assert!(out.contains(&format!("report     {}", path.display())), "{out}");

    // On demand, beside another run: the comparison with deltas.
    let (code, _, err) = p.output(&[
        "run",
        "pipelines/full.yaml",
        "--force",
        "train",
        "--set",
        "train.with.epochs=1",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = p.output(&["report", "latest", "--vs", &id[..12], "--out", "vs.html"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("vs.html"), "{out}");
    let vs = std::fs::read_to_string(p.root().join("vs.html")).unwrap();
    assert!(
        vs.contains(&format!("<h2>Against run {}</h2>", &id[..12])),
        "comparison section"
    );
    assert!(vs.contains("evaluate.pr_auc"));
    assert_self_contained(&vs);

    // And it loads in a browser.
    render_in_chromium(&path);
}

#[test]
fn runs_without_drift_or_evaluate_and_failed_runs_get_a_report() {
    let p = Project::new();
    let (_, _, html) = run_and_report(&p, "pipelines/short.yaml", SHORT, true);
    assert!(html.contains("<h2>Steps</h2>") && html.contains("<h3>clean</h3>"));
    for absent in ["<h2>Drift", "<h2>Pictures", "<h2>Per-epoch curves"] {
        assert!(!html.contains(absent), "{absent} in a report of load and clean");
    }

    let (run, path, html) = run_and_report(&p, "pipelines/half.yaml", HALF, false);
    assert_eq!(run["status"], "failed");
    assert!(html.contains("badge failed"));
    assert!(html.contains("<h2>Why it stopped</h2>"));
    assert!(html.contains("no_such_sensor"), "the error is shown");
    // What it did before failing: load's and clean's metrics.
    assert!(html.contains("<h3>load</h3>") && html.contains("<h3>clean</h3>"));
    render_in_chromium(&path);
}

/// Debian's Chromium, which scripts/setup.sh installs.
fn chromium() -> PathBuf {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    found.expect("Chromium is not installed; `bash scripts/setup.sh` installs Debian's `chromium` (the report test renders a page in it)")
}

/// Opens a copy of the report in headless Chromium with a check appended that counts the
/// pictures that did not decode and anything that would be fetched, then reads the result
/// from the rendered page.
fn render_in_chromium(report: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let html = std::fs::read_to_string(report).unwrap();
    let check = r#"<script>
window.addEventListener('load', () => {
  const images = [...document.images];
  const broken = images.filter(i => !(i.complete && i.naturalWidth > 0)).length;
  const outside = document.querySelectorAll('script[src], link[href], iframe, img:not([src^="data:"])').length;
  const out = document.createElement('pre');
  out.id = 'pmflow-check';
  out.textContent = `images=${images.length} broken=${broken} outside=${outside} sections=${document.querySelectorAll('section').length}`;
  document.body.appendChild(out);
});
</script></body>"#;
    let page = dir.path().join("check.html");
    std::fs::write(&page, html.replace("</body>", check)).unwrap();
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", dir.path().join("profile").display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("start chromium");
    let dom = String::from_utf8_lossy(&out.stdout);
    let result = dom
        .split("<pre id=\"pmflow-check\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .unwrap_or_else(|| {
            panic!(
                "the page did not finish loading in Chromium: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let value = |key: &str| -> usize {
        result
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {result}"))
    };
    assert!(value("images") >= 1, "{result}");
    assert_eq!(value("broken"), 0, "every picture decodes: {result}");
    assert_eq!(value("outside"), 0, "nothing from outside: {result}");
    assert!(value("sections") >= 3, "{result}");
}
