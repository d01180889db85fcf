//! `pmflow compare BASELINE CANDIDATE`: the CI gate. Each metric is judged better, the same,
//! worse within the tolerance, or a regression; any regression exits 1, an error (an unknown
//! run or model, a named metric missing on one side) exits 2. `--format md` is a table for a
//! pull-request comment, `--format json` the stable contract for scripts.

use serde::Serialize;

use super::shared::{number, open_registry, print_json};
use super::sides::{label, side, Side};
use crate::cli::{CompareArgs, CompareFormat};
use crate::error::CliError;
use crate::ml::gate::{direction_of, is_timing, judge, resolve_metric, Better, Tolerance, Verdict};

#[derive(Debug, Serialize)]
pub struct Row {
    pub metric: String,
    pub better: Better,
    pub baseline: f64,
    pub candidate: f64,
    pub delta: f64,
    pub verdict: Verdict,
}

#[derive(Debug, Serialize)]
pub struct Comparison {
    pub baseline: Side,
    pub candidate: Side,
    pub tolerance: Tolerance,
    pub metrics: Vec<Row>,
    /// The baseline's evaluate metrics the candidate did not log (without `--metric`): each
    /// fails the gate, as a missing metric fails a register step's gate.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// Whether the gate failed: a regression or a missing metric (exit 1).
    pub regression: bool,
}

/// Each chosen metric judged: both values, the change and the verdict.
fn rows(chosen: Vec<(String, Better)>, baseline: &Side, candidate: &Side, tolerance: Tolerance) -> Vec<Row> {
    chosen
        .into_iter()
        .map(|(metric, better)| {
            let (b, c) = (baseline.metrics[&metric], candidate.metrics[&metric]);
            Row {
                verdict: judge(better, b, c, tolerance),
                metric,
                better,
                baseline: b,
                candidate: c,
                delta: c - b,
            }
        })
        .collect()
}

/// The baseline's evaluate metrics (timings aside) that the candidate lacks: a candidate whose
/// test part had one class logs no PR-AUC, and must not pass on the remaining counts.
fn lacking(baseline: &Side, candidate: &Side) -> Vec<String> {
    baseline
        .evaluated
        .iter()
        .filter(|m| !candidate.metrics.contains_key(*m) && !is_timing(m))
        .cloned()
        .collect()
}

/// The metrics to compare, each with its direction: the named ones, else every evaluate
/// metric both sides have.
fn chosen(args: &[String], baseline: &Side, candidate: &Side) -> Result<Vec<(String, Better)>, CliError> {
    if args.is_empty() {
        let both: Vec<(String, Better)> = baseline
            .evaluated
            .iter()
            .filter(|m| candidate.metrics.contains_key(*m) && !is_timing(m))
            .map(|m| (m.clone(), direction_of(m)))
            .collect();
        if both.is_empty() {
            return Err(CliError::Usage(format!(
                "`{}` and `{}` have no `evaluate` metric in common; name metrics with --metric",
                baseline.spec, candidate.spec
            )));
        }
        return Ok(both);
    }
    let mut out = Vec::new();
    for arg in args {
        let (name, better) = match arg.rsplit_once(':') {
            Some((n, "lower")) => (n, Some(Better::Lower)),
            Some((n, "higher")) => (n, Some(Better::Higher)),
            Some((_, other)) => {
                return Err(CliError::Usage(format!(
                    "--metric {arg}: `:{other}` is not a direction; use `:lower` or `:higher`"
                )))
            }
            None => (arg.as_str(), None),
        };
        let full = resolve_metric(name, baseline.metrics.keys())
            .map_err(|e| CliError::Usage(format!("--metric {name}: {e} in the baseline `{}`", baseline.spec)))?;
        if !candidate.metrics.contains_key(&full) {
            return Err(CliError::Usage(format!(
                "--metric {name}: `{full}` is missing in the candidate `{}`",
                candidate.spec
            )));
        }
        let better = better.unwrap_or_else(|| match direction_of(&full) {
            Better::Neither => Better::Higher,
            d => d,
        });
        out.push((full, better));
    }
    Ok(out)
}

pub async fn compare(args: &CompareArgs) -> Result<(), CliError> {
    let tolerance = match (args.max_drop, args.rtol, args.atol) {
        (Some(d), _, _) => Tolerance { atol: d, rtol: 0.0 },
        (None, r, a) => Tolerance {
            atol: a.unwrap_or(0.0),
            rtol: r.unwrap_or(0.0),
        },
    };
    if [tolerance.atol, tolerance.rtol]
        .iter()
        .any(|t| !t.is_finite() || *t < 0.0)
    {
        return Err(CliError::Usage("tolerances must be numbers >= 0".into()));
    }
    let registry = open_registry(&args.registry.registry).await?;
    let baseline = side(&registry, &args.baseline).await?;
    let candidate = side(&registry, &args.candidate).await?;
    registry.close().await;
    let rows = rows(
        chosen(&args.metrics, &baseline, &candidate)?,
        &baseline,
        &candidate,
        tolerance,
    );
    // Named metrics are checked on both sides by `chosen`; the default set is the baseline's.
    let missing = if args.metrics.is_empty() {
        lacking(&baseline, &candidate)
    } else {
        Vec::new()
    };
    let regressions: Vec<&str> = rows
        .iter()
        .filter(|r| r.verdict == Verdict::Regression)
        .map(|r| r.metric.as_str())
        .collect();
    let mut failures = Vec::new();
    if !regressions.is_empty() {
        failures.push(format!(
            "{} of {} metrics regressed from `{}` to `{}`: {}",
            regressions.len(),
            rows.len(),
            args.baseline,
            args.candidate,
            regressions.join(", ")
        ));
    }
    if !missing.is_empty() {
        failures.push(format!(
            "the candidate `{}` lacks {} metric(s) the baseline `{}` has: {} (a missing metric fails the gate; name the metrics to compare with --metric to leave them out)",
            args.candidate,
            missing.len(),
            args.baseline,
            missing.join(", ")
        ));
    }
    let message = (!failures.is_empty()).then(|| failures.join("; "));
    let comparison = Comparison {
        baseline,
        candidate,
        tolerance,
        regression: message.is_some(),
        metrics: rows,
        missing,
    };
    match args.format {
        CompareFormat::Json => print_json(&comparison)?,
        CompareFormat::Md => print!("{}", markdown(&comparison)),
        CompareFormat::Table => print!("{}", table(&comparison)),
    }
    match message {
        Some(m) => Err(CliError::Regression(m)),
        None => Ok(()),
    }
}

fn signed(x: f64) -> String {
    let text = number(x.abs());
    if x > 0.0 {
        format!("+{text}")
    } else if x < 0.0 {
        format!("-{text}")
    } else {
        "0".into()
    }
}

fn table(c: &Comparison) -> String {
    let mut out = format!(
        "baseline   {}\ncandidate  {}\n\n",
        label(&c.baseline),
        label(&c.candidate)
    );
    let width = c
        .metrics
        .iter()
        .map(|r| r.metric.as_str())
        .chain(c.missing.iter().map(String::as_str))
        .map(str::len)
        .max()
        .unwrap_or(6)
        .max(6);
    out.push_str(&format!(
        "{:<width$}  {:>12}  {:>12}  {:>10}  VERDICT\n",
        "METRIC", "BASELINE", "CANDIDATE", "DELTA"
    ));
    for r in &c.metrics {
        out.push_str(&format!(
            "{:<width$}  {:>12}  {:>12}  {:>10}  {}\n",
            r.metric,
            number(r.baseline),
            number(r.candidate),
            signed(r.delta),
            r.verdict.text()
        ));
    }
    for m in &c.missing {
        out.push_str(&format!(
            "{m:<width$}  {:>12}  {:>12}  {:>10}  MISSING in the candidate\n",
            number(c.baseline.metrics.get(m).copied().unwrap_or(f64::NAN)),
            "-",
            "-"
        ));
    }
    out
}

fn markdown(c: &Comparison) -> String {
    let verdict = match (
        c.metrics.iter().any(|r| r.verdict == Verdict::Regression),
        c.missing.is_empty(),
    ) {
        (true, _) => "regression",
        (false, false) => "metrics missing in the candidate",
        (false, true) => "no regression",
    };
    let mut out = format!(
        "**pmflow compare**: {verdict}. Baseline {}, candidate {}.\n\n| metric | baseline | candidate | delta | verdict |\n|---|---:|---:|---:|---|\n",
        label(&c.baseline),
        label(&c.candidate)
    );
    for r in &c.metrics {
        let verdict = match r.verdict {
            Verdict::Regression => "**regression**".to_string(),
            v => v.text().to_string(),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {verdict} |\n",
            r.metric,
            number(r.baseline),
            number(r.candidate),
            signed(r.delta)
        ));
    }
    for m in &c.missing {
        out.push_str(&format!(
            "| `{m}` | {} | - | - | **missing in the candidate** |\n",
            number(c.baseline.metrics.get(m).copied().unwrap_or(f64::NAN))
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: Tolerance = Tolerance { atol: 0.0, rtol: 0.0 };

    fn side(metrics: &[(&str, f64)]) -> Side {
        Side {
            spec: "s".into(),
            run: "r".into(),
            model: None,
            version: None,
            metrics: metrics.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            evaluated: metrics.iter().map(|(k, _)| k.to_string()).collect(),
        }
    }

    /// The three outputs of one comparison, exactly: the table, the pull-request comment and
    /// the JSON contract scripts read.
    #[test]
    fn the_outputs_keep_their_shape() {
        let mut baseline = side(&[
            ("evaluate.f1", 0.8),
            ("evaluate.false_alarm_rate", 0.05),
            ("evaluate.windows", 400.0),
        ]);
        baseline.spec = "pump@production".into();
        baseline.run = "01a2b3c4d5e6f7a8".into();
        baseline.model = Some("pump".into());
        baseline.version = Some(3);
        let mut candidate = side(&[
            ("evaluate.f1", 0.79),
            ("evaluate.false_alarm_rate", 0.04),
            ("evaluate.windows", 400.0),
        ]);
        candidate.spec = "latest".into();
        candidate.run = "01a2ffffeeee0000".into();
        let tolerance = Tolerance { atol: 0.005, rtol: 0.0 };
        let metrics = rows(
            chosen(&[], &baseline, &candidate).unwrap(),
            &baseline,
            &candidate,
            tolerance,
        );
        let c = Comparison {
            baseline,
            candidate,
            tolerance,
            metrics,
            missing: Vec::new(),
            regression: true,
        };
        insta::assert_snapshot!("compare_table", table(&c));
        insta::assert_snapshot!("compare_md", markdown(&c));
        insta::assert_snapshot!("compare_json", serde_json::to_string_pretty(&c).unwrap());
    }

    /// Without `--metric`, the baseline's evaluate metrics the candidate lacks are listed (and
    /// fail the gate in `compare`), timings aside.
    #[test]
    fn metrics_the_candidate_lacks_are_listed() {
        let b = side(&[
            ("evaluate.f1", 0.8),
            ("evaluate.pr_auc", 0.9),
            ("evaluate.roc_auc", 0.95),
            ("evaluate.write_seconds", 0.1),
        ]);
        let c = side(&[("evaluate.f1", 0.8)]);
        assert_eq!(lacking(&b, &c), ["evaluate.pr_auc", "evaluate.roc_auc"]);
        assert!(lacking(&b, &b).is_empty());
        let metrics = rows(chosen(&[], &b, &c).unwrap(), &b, &c, STRICT);
        let comparison = Comparison {
            missing: lacking(&b, &c),
            baseline: b,
            candidate: c,
            tolerance: STRICT,
            metrics,
            regression: true,
        };
        let shown = table(&comparison);
        assert!(
            shown.contains("evaluate.pr_auc            0.9             -           -  MISSING in the candidate"),
            "{shown}"
        );
        assert!(markdown(&comparison).contains("| `evaluate.roc_auc` | 0.95 | - | - | **missing in the candidate** |"));
        let json = serde_json::to_value(&comparison).unwrap();
        assert_eq!(
            json["missing"],
            serde_json::json!(["evaluate.pr_auc", "evaluate.roc_auc"])
        );
    }

    #[test]
    fn named_metrics_resolve_and_a_missing_one_is_an_error() {
        let b = side(&[("evaluate.f1", 0.8), ("evaluate.false_alarm_rate", 0.05)]);
        let c = side(&[("evaluate.f1", 0.9)]);
        let picked = chosen(&["f1".into()], &b, &c).unwrap();
        assert_eq!(picked, [("evaluate.f1".to_string(), Better::Higher)]);
        let err = chosen(&["false_alarm_rate:lower".into()], &b, &c)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "--metric false_alarm_rate: `evaluate.false_alarm_rate` is missing in the candidate `s`"
        );
        let err = chosen(&["f1:up".into()], &b, &c).unwrap_err().to_string();
        assert!(err.contains("use `:lower` or `:higher`"), "{err}");
        // By default: the evaluate metrics both sides have, timings left out.
        let b = side(&[("evaluate.f1", 0.8), ("evaluate.write_seconds", 0.1)]);
        let c = side(&[("evaluate.f1", 0.9), ("evaluate.write_seconds", 0.2)]);
        assert_eq!(
            chosen(&[], &b, &c).unwrap(),
            [("evaluate.f1".to_string(), Better::Higher)]
        );
    }
}
