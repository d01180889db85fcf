//! The run report: one self-contained HTML page (no network, scripts or fonts from outside) of
//! what a run did: status and timeline, metrics (and a comparison), per-epoch curves, the
//! evaluate and drift pictures, warnings, artifacts with their digests, and lineage. Pure:
//! the caller gathers the run's records and files; this only lays them out.

mod markup;

use std::collections::BTreeMap;
use std::fmt::Write;

use markup::{badge, digest, escape, number, picture, size, table};
use serde_json::Value;

use crate::ml::verdict::BaselineVerdict;
use crate::model::bundle;
use crate::model::formats::{DriftReport, FeatureDrift};
use crate::plot::{line_chart, timeline, Chart, Series, TimelineBar};
use crate::registry::{warning_tag_step, RunDetail, INPUT_TAG};

/// The file name every run writes its report under, beside `pipeline.json`.
pub const FILE: &str = "report.html";

/// What the page is made from.
pub struct ReportInput<'a> {
    pub run: &'a RunDetail,
    /// The run's pictures and JSON reports by (step, file name), as far as they could be read.
    pub files: BTreeMap<(String, String), Vec<u8>>,
    /// Model versions registered from the run, as (name, version).
    pub versions: Vec<(String, i64)>,
    pub vs: Option<Versus>,
    /// When the page was made (shown in the footer).
    pub generated_at: String,
}

/// The run's metrics beside another run's or model version's.
pub struct Versus {
    /// "`pump-failure` v3 (run 01ab...)".
    pub label: String,
    pub rows: Vec<VersusRow>,
}

pub struct VersusRow {
    pub metric: String,
    pub baseline: Option<f64>,
    pub value: Option<f64>,
    /// True when this run's value is the better one, false when worse, None when equal or not
    /// judged.
    pub better: Option<bool>,
}

/// Files the report reads (pictures and JSON reports), by name.
pub fn wanted(name: &str) -> bool {
    name.ends_with(".svg")
        || matches!(name, "evaluation.json" | "predict_report.json")
        || name == DriftReport::FILE
        || name == bundle::CARD
}

pub fn render(input: &ReportInput) -> String {
    let run = input.run;
    let s = &run.summary;
    let mut body = String::new();
    let _ = write!(
        body,
        "<header><h1>{} {}</h1><div class=\"sub\">run <code>{}</code> · experiment {} · {} trigger · started {}{}</div></header><main>",
        escape(&s.pipeline),
        badge(&s.status),
        escape(&s.id),
        escape(&s.experiment),
        escape(&s.trigger),
        escape(&s.started_at),
        s.ended_at.as_deref().map(|e| format!(" · ended {}", escape(e))).unwrap_or_default(),
    );
    if let Some(error) = &run.error {
        let _ = write!(
            body,
            "<section class=\"error\"><h2>Why it stopped</h2>{}</section>",
            escape(error)
        );
    }
    // What a person looks at first (figures and pictures), then what they look things up in.
    body.push_str(&headline(input));
    body.push_str(&baseline(run));
    if let Some(vs) = &input.vs {
        body.push_str(&versus(vs));
    }
    body.push_str(&warnings(run));
    body.push_str(&pictures(input));
    body.push_str(&curves(run));
    body.push_str(&drift(input));
    body.push_str(&steps(run));
    body.push_str(&metrics(run));
    body.push_str(&params(run));
    body.push_str(&artifacts(run));
    body.push_str(&lineage(input));
    let _ = write!(
        body,
        "</main><footer>pmflow {} · report made {}</footer>",
        escape(&run.pmflow_version),
        escape(&input.generated_at)
    );
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{} · {}</title><style>{}</style></head><body>{body}</body></html>\n",
        escape(&s.pipeline),
        escape(&s.id),
        markup::STYLE
    )
}

/// The figures a person looks for first, as tiles.
fn headline(input: &ReportInput) -> String {
    let m = &input.run.metrics;
    let pick = |suffix: &str| {
        m.iter()
            .find(|(k, _)| k.ends_with(suffix) && !k.contains(".baseline"))
            .and_then(|(k, v)| v.as_f64().map(|v| (k.clone(), v)))
    };
    let mut tiles = String::new();
    for (suffix, label) in [
        (".pr_auc", "PR-AUC"),
        (".roc_auc", "ROC-AUC"),
        (".f1", "F1"),
        (".recall", "recall"),
        (".precision", "precision"),
        (".false_alarm_rate", "false-alarm rate"),
        ("drift.share", "drifted share"),
        (".machines_critical", "machines critical"),
    ] {
        if let Some((key, value)) = pick(suffix) {
            let _ = write!(
                tiles,
                "<div class=\"tile\" title=\"{}\"><b>{}</b><span>{label}</span></div>",
                escape(&key),
                number(value)
            );
        }
    }
    let took = duration(input.run);
    let _ = write!(tiles, "<div class=\"tile\"><b>{took}</b><span>duration</span></div>");
    for (name, version) in &input.versions {
        let _ = write!(
            tiles,
            "<div class=\"tile\"><b>v{version}</b><span>registered as {}</span></div>",
            escape(name)
        );
    }
    format!("<section><div class=\"tiles\">{tiles}</div></section>")
}

fn seconds_between(a: &str, b: &str) -> Option<f64> {
    let a = chrono::DateTime::parse_from_rfc3339(a).ok()?;
    let b = chrono::DateTime::parse_from_rfc3339(b).ok()?;
    Some((b - a).num_milliseconds() as f64 / 1000.0)
}

fn duration(run: &RunDetail) -> String {
    match run
        .summary
        .ended_at
        .as_deref()
        .and_then(|end| seconds_between(&run.summary.started_at, end))
    {
        Some(s) if s >= 120.0 => format!("{:.1} min", s / 60.0),
        Some(s) => format!("{s:.1} s"),
        None => "—".into(),
    }
}

/// The timeline and the step table.
fn steps(run: &RunDetail) -> String {
    let bars: Vec<TimelineBar> = run
        .steps
        .iter()
        .map(|st| {
            let span = st.started_at.as_deref().and_then(|start| {
                let from = seconds_between(&run.summary.started_at, start)?;
                let to = match st.ended_at.as_deref() {
                    Some(end) => seconds_between(&run.summary.started_at, end)?,
                    None => from + st.duration_ms.unwrap_or(0) as f64 / 1000.0,
                };
                Some((from.max(0.0), to.max(from)))
            });
            TimelineBar {
                step: st.id.clone(),
                span,
                status: st.status.clone(),
                cached: st.cached,
            }
        })
        .collect();
    let rows: Vec<Vec<String>> = run
        .steps
        .iter()
        .map(|st| {
            vec![
                escape(&st.id),
                escape(&st.kind),
                badge(&st.status),
                if st.cached { "yes".into() } else { String::new() },
                st.attempts.to_string(),
                st.duration_ms
                    .map(|d| format!("{:.2} s", d as f64 / 1000.0))
                    .unwrap_or_default(),
                st.error.as_deref().map(escape).unwrap_or_default(),
            ]
        })
        .collect();
    format!(
        "<section><h2>Steps</h2>{}<details><summary>step table</summary>{}</details></section>",
        picture(timeline(&bars).as_bytes(), "timeline of the steps").replace("<img ", "<img class=\"wide\" "),
        table(
            &["step", "kind", "status", "cached", "attempts", "duration", "error"],
            &rows,
            ""
        )
    )
}

fn versus(vs: &Versus) -> String {
    let rows: Vec<Vec<String>> = vs
        .rows
        .iter()
        .map(|r| {
            let delta = match (r.value, r.baseline) {
                (Some(v), Some(b)) => {
                    let class = match r.better {
                        Some(true) => "better",
                        Some(false) => "worse",
                        None => "",
                    };
                    format!("<span class=\"{class}\">{:+.4}</span>", v - b)
                }
                _ => "—".into(),
            };
            let shown = |v: Option<f64>| v.map(number).unwrap_or_else(|| "—".into());
            vec![escape(&r.metric), shown(r.baseline), shown(r.value), delta]
        })
        .collect();
    format!(
        "<section><h2>Against {}</h2>{}</section>",
        escape(&vs.label),
        table(&["metric", "baseline", "this run", "delta"], &rows, "narrow")
    )
}

/// Final metrics, one table per step.
fn metrics(run: &RunDetail) -> String {
    let mut by_step: BTreeMap<&str, Vec<(&str, &Value)>> = BTreeMap::new();
    for (name, value) in &run.metrics {
        let (step, key) = name.split_once('.').unwrap_or(("", name));
        by_step.entry(step).or_default().push((key, value));
    }
    if by_step.is_empty() {
        return String::new();
    }
    let order: Vec<&str> = run.steps.iter().map(|s| s.id.as_str()).collect();
    let mut steps: Vec<&&str> = by_step.keys().collect();
    steps.sort_by_key(|s| order.iter().position(|o| o == *s).unwrap_or(usize::MAX));
    let mut out = String::from("<section><h2>Metrics (last values)</h2><div class=\"pictures\">");
    for step in steps {
        let rows: Vec<Vec<String>> = by_step[*step]
            .iter()
            .map(|(k, v)| {
                let shown = v.as_f64().map(number).unwrap_or_else(|| v.to_string());
                vec![escape(k), format!("<span class=\"num\">{shown}</span>")]
            })
            .collect();
        let shown = table(&["metric", "value"], &rows, "");
        // A step with many figures (drift logs five per feature) is folded away.
        if rows.len() > 16 {
            let _ = write!(
                out,
                "<div><h3>{}</h3><details><summary>{} metrics</summary>{shown}</details></div>",
                escape(step),
                rows.len()
            );
        } else {
            let _ = write!(out, "<div><h3>{}</h3>{shown}</div>", escape(step));
        }
    }
    out.push_str("</div></section>");
    out
}

/// Every metric logged at more than one step index, drawn per step: losses on one chart,
/// the other series (validation PR-AUC, F1) on another.
fn curves(run: &RunDetail) -> String {
    let mut by_step: BTreeMap<String, (Vec<Series>, Vec<Series>)> = BTreeMap::new();
    for (name, points) in &run.series {
        let Some(points) = points.as_array() else { continue };
        let xy: Vec<(f64, f64)> = points
            .iter()
            .filter_map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?)))
            .collect();
        if xy.len() < 2 {
            continue;
        }
        let (step, key) = name.split_once('.').unwrap_or(("", name));
        let mut series = Series::new(key, xy);
        series.dots = false;
        let entry = by_step.entry(step.to_string()).or_default();
        if key.contains("loss") {
            entry.0.push(series);
        } else {
            entry.1.push(series);
        }
    }
    if by_step.is_empty() {
        return String::new();
    }
    let mut out = String::from("<section><h2>Per-epoch curves</h2><div class=\"pictures\">");
    for (step, (losses, others)) in &by_step {
        for (series, what) in [(losses, "loss"), (others, "value")] {
            if series.is_empty() {
                continue;
            }
            let title = format!(
                "{step}: {}",
                series.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
            );
            let chart = Chart {
                title: &title,
                x_label: "epoch",
                y_label: what,
                x_range: None,
                y_range: None,
            };
            out.push_str(&picture(line_chart(&chart, series).as_bytes(), &title));
        }
    }
    out.push_str("</div></section>");
    out
}

/// The pictures the steps drew (evaluate's PR, ROC and confusion matrix, ...).
fn pictures(input: &ReportInput) -> String {
    let shown: Vec<String> = input
        .files
        .iter()
        // Drift's picture goes with its table; the loss curve is drawn with the other series.
        .filter(|((_, name), _)| name.ends_with(".svg") && name != "drift.svg" && name != "loss_curve.svg")
        .map(|((step, name), bytes)| {
            format!(
                "<figure style=\"margin:0\">{}<figcaption class=\"muted\">{} / {}</figcaption></figure>",
                picture(bytes, name),
                escape(step),
                escape(name)
            )
        })
        .collect();
    if shown.is_empty() {
        return String::new();
    }
    format!(
        "<section><h2>Pictures</h2><div class=\"pictures\">{}</div></section>",
        shown.concat()
    )
}

fn drift(input: &ReportInput) -> String {
    let mut out = String::new();
    for ((step, name), bytes) in &input.files {
        if name != DriftReport::FILE {
            continue;
        }
        let Ok(report) = DriftReport::parse(bytes) else {
            continue;
        };
        let mut features: Vec<&FeatureDrift> = report.features.iter().collect();
        features.sort_by(|a, b| b.ks.unwrap_or(0.0).total_cmp(&a.ks.unwrap_or(0.0)));
        let drifted = features.iter().filter(|f| f.drifted).count();
        let cell = |v: Option<f64>| v.map(number).unwrap_or_else(|| "—".into());
        let rows: Vec<Vec<String>> = features
            .iter()
            .map(|f| {
                vec![
                    escape(&f.feature),
                    cell(f.ks),
                    cell(f.p_corrected),
                    cell(f.psi),
                    cell(f.wasserstein_normed),
                    if f.drifted {
                        "<span class=\"worse\">drifted</span>".into()
                    } else {
                        String::new()
                    },
                ]
            })
            .collect();
        let verdict = match report.dataset_drift {
            true => "<b class=\"worse\">dataset drift</b>",
            false => "<b class=\"better\">no dataset drift</b>",
        };
        let _ = write!(
            out,
            "<section><h2>Drift ({}): {} vs {}</h2><p>{verdict}: {drifted} of {} features drifted (share {}, threshold {}).</p>",
            escape(step),
            escape(&report.reference),
            escape(&report.current),
            features.len(),
            cell(Some(report.share)),
            cell(Some(report.share_threshold)),
        );
        if let Some(svg) = input.files.get(&(step.clone(), "drift.svg".to_string())) {
            let _ = write!(
                out,
                "<details open><summary>picture</summary>{}</details>",
                picture(svg, "drift per feature")
            );
        }
        let _ = write!(
            out,
            "<details><summary>all {} features</summary>{}</details></section>",
            features.len(),
            table(
                &["feature", "KS D", "p (corrected)", "PSI", "Wasserstein (normed)", ""],
                &rows,
                ""
            )
        );
    }
    out
}

/// The model against its logistic-regression baseline, in one sentence; marked when the
/// baseline wins.
fn baseline(run: &RunDetail) -> String {
    let Some(verdict) = BaselineVerdict::of(&run.metric_values()) else {
        return String::new();
    };
    let class = if verdict.baseline_wins() { "worse" } else { "better" };
    format!(
        "<section><h2>Against the baseline</h2><p class=\"{class}\">{}</p></section>",
        escape(&verdict.sentence())
    )
}

fn warnings(run: &RunDetail) -> String {
    let items: Vec<String> = run
        .tags
        .iter()
        .filter_map(|(k, v)| {
            let step = warning_tag_step(k)?;
            Some(format!(
                "<li><b>{}</b>: {}</li>",
                escape(step),
                escape(v.as_str().unwrap_or(&v.to_string()))
            ))
        })
        .collect();
    if items.is_empty() {
        return String::new();
    }
    format!(
        "<section><h2>Warnings ({})</h2><ul class=\"warnings\">{}</ul></section>",
        items.len(),
        items.concat()
    )
}

fn params(run: &RunDetail) -> String {
    let rows: Vec<Vec<String>> = run
        .params
        .iter()
        .map(|(k, v)| {
            let shown = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            vec![format!("<code>{}</code>", escape(k)), escape(&shown)]
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "<section><h2>Parameters</h2><details><summary>{} parameters</summary>{}</details></section>",
        rows.len(),
        table(&["name", "value"], &rows, "")
    )
}

fn artifacts(run: &RunDetail) -> String {
    let rows: Vec<Vec<String>> = run
        .artifacts
        .iter()
        .map(|a| {
            vec![
                escape(&a.step),
                escape(&a.name),
                format!("<span class=\"num\">{}</span>", size(a.bytes)),
                digest(&a.sha256),
                match &a.removed_at {
                    Some(at) => format!("<span class=\"muted\">removed by gc {}</span>", escape(at)),
                    None => format!("<code>{}</code>", escape(&a.uri)),
                },
            ]
        })
        .collect();
    format!(
        "<section><h2>Artifacts ({})</h2><details><summary>files, sizes and sha256 digests</summary>{}</details></section>",
        rows.len(),
        table(&["step", "name", "size", "sha256", "where"], &rows, "")
    )
}

/// Where the run's data and code came from, and where its model went.
fn lineage(input: &ReportInput) -> String {
    let run = input.run;
    let mut facts = vec![
        ("pipeline file", format!("<code>{}</code>", escape(&run.pipeline_file))),
        (
            "pipeline sha256",
            format!(
                "<code>{}</code>",
                escape(run.pipeline_hash.get(..16).unwrap_or(&run.pipeline_hash))
            ),
        ),
        (
            "git commit",
            run.git_commit
                .as_deref()
                .map(|c| format!("<code>{}</code>", escape(c)))
                .unwrap_or_else(|| "<span class=\"muted\">not a git work tree</span>".into()),
        ),
        ("pmflow", escape(&run.pmflow_version)),
    ];
    for (name, version) in &input.versions {
        facts.push(("model version", format!("{} v{version}", escape(name))));
    }
    let mut out = String::from("<section><h2>Lineage</h2><div class=\"facts\">");
    for (label, value) in facts {
        let _ = write!(out, "<div><span>{label}</span>{value}</div>");
    }
    out.push_str("</div>");
    let mut rows = Vec::new();
    // The files steps read from outside the run, as their digests were when read.
    for (key, value) in &run.tags {
        let Some(step) = key.strip_prefix(INPUT_TAG) else {
            continue;
        };
        let read: Vec<Value> = value
            .as_str()
            .and_then(|v| serde_json::from_str(v).ok())
            .unwrap_or_default();
        for f in read {
            rows.push(vec![
                escape(step),
                escape(f["file"].as_str().unwrap_or("?")),
                "read".into(),
                digest(f["sha256"].as_str().unwrap_or("")),
            ]);
        }
    }
    // What each model was trained on, from its card.
    for ((step, name), bytes) in &input.files {
        if name != bundle::CARD {
            continue;
        }
        let Ok(card) = serde_json::from_slice::<Value>(bytes) else {
            continue;
        };
        for pair in card["training-data"].as_array().into_iter().flatten() {
            let what = pair.get(0).and_then(Value::as_str).unwrap_or("?");
            let sha256 = pair.get(1).and_then(Value::as_str).unwrap_or("");
            rows.push(vec![escape(step), escape(what), "trained on".into(), digest(sha256)]);
        }
    }
    if !rows.is_empty() {
        out.push_str(&table(&["step", "data", "", "sha256"], &rows, ""));
    }
    out.push_str("</section>");
    out
}
