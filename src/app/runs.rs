//! `pmflow runs list` (with `--where` and `--order-by`) and `pmflow runs show`: tables for
//! people, JSON for scripts.

use super::shared::{open_registry, print_json};
use crate::cli::Format;
use crate::error::CliError;
use crate::registry::filter::{Filter, OrderKey, Selected, Value};
use crate::registry::{RunDetail, RunSummary};

/// What `runs list` selects: `--experiment`, `--where`, `--order-by`, `--limit`.
pub struct Query<'a> {
    pub experiment: Option<&'a str>,
    pub filter: Option<&'a str>,
    pub order_by: &'a [String],
    pub limit: i64,
}

/// A listed run in JSON: the summary, and the sort keys' values when there are sort keys.
#[derive(serde::Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    summary: &'a RunSummary,
    /// name as given to --order-by -> the run's value (null when it has none).
    order_by: serde_json::Map<String, serde_json::Value>,
}

pub async fn list(url: &str, query: &Query<'_>, format: Format) -> Result<(), CliError> {
    // Parsed before the registry is opened, so a mistyped expression is reported as such.
    let filter = Filter::parse(query.filter.unwrap_or("")).map_err(|e| CliError::Usage(format!("--where: {e}")))?;
    let order = query
        .order_by
        .iter()
        .map(|text| OrderKey::parse(text).map_err(|e| CliError::Usage(format!("--order-by: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let registry = open_registry(url).await?;
    let runs = select(&registry, query, &filter, &order).await;
    registry.close().await;
    let runs: Vec<Selected> = runs?;
    if format == Format::Json {
        return print_listed(&runs, &order);
    }
    print_table(&runs, &order);
    Ok(())
}

/// The runs `query` selects: listed plainly, or searched when there is a filter or sort key.
async fn select(
    registry: &crate::registry::Registry,
    query: &Query<'_>,
    filter: &Filter,
    order: &[OrderKey],
) -> Result<Vec<Selected>, crate::registry::RegistryError> {
    if filter.is_empty() && order.is_empty() {
        registry.list_runs(query.experiment, query.limit).await.map(|runs| {
            runs.into_iter()
                .map(|summary| Selected {
                    summary,
                    order_values: Vec::new(),
                })
                .collect()
        })
    } else {
        // A negative limit is no limit, as SQLite's LIMIT reads it on the path above.
        let limit = usize::try_from(query.limit).ok();
        registry.search_runs(query.experiment, filter, order, limit).await
    }
}

/// `runs list --format json`: the summaries, with the sort keys' values when there are any.
fn print_listed(runs: &[Selected], order: &[OrderKey]) -> Result<(), CliError> {
    if order.is_empty() {
        return print_json(&runs.iter().map(|r| &r.summary).collect::<Vec<_>>());
    }
    let listed: Vec<Listed> = runs
        .iter()
        .map(|r| Listed {
            summary: &r.summary,
            order_by: order
                .iter()
                .zip(&r.order_values)
                // A missing value, or one JSON cannot hold (infinity), is null.
                .map(|(key, value)| (key.text.clone(), serde_json::to_value(value).unwrap_or_default()))
                .collect(),
        })
        .collect();
    print_json(&listed)
}

/// `runs list` as a table, the sort keys' values as extra columns.
fn print_table(runs: &[Selected], order: &[OrderKey]) {
    if runs.is_empty() {
        println!("no runs");
        return;
    }
    // The sort keys' values as extra columns, as wide as their longest entry.
    let extra: Vec<(usize, Vec<String>)> = order
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let cells: Vec<String> = runs
                .iter()
                .map(|r| {
                    r.order_values[i]
                        .as_ref()
                        .map_or_else(|| "-".to_string(), Value::to_string)
                })
                .collect();
            let width = cells
                .iter()
                .map(|c| c.chars().count())
                .chain([key.text.chars().count()])
                .max()
                .unwrap_or(0);
            (width, cells)
        })
        .collect();
    let extra_cells = |row: Option<usize>| -> String {
        extra
            .iter()
            .zip(order)
            .map(|((width, cells), key)| {
                let cell = row.map_or(key.text.as_str(), |r| cells[r].as_str());
                format!("  {cell:<width$}")
            })
            .collect::<String>()
    };
    // DURATION is padded only when columns follow it, so the plain table stays as it was.
    let duration_width = if order.is_empty() { 0 } else { 8 };
    let header = format!(
        "{:<12}  {:<16}  {:<18}  {:<11}  {:<24}  {:<duration_width$}{}",
        "RUN",
        "EXPERIMENT",
        "PIPELINE",
        "STATUS",
        "STARTED",
        "DURATION",
        extra_cells(None)
    );
    println!("{}", header.trim_end());
    for (n, r) in runs.iter().enumerate() {
        let s = &r.summary;
        let line = format!(
            "{:<12}  {:<16}  {:<18}  {:<11}  {:<24}  {:<duration_width$}{}",
            &s.id[..12.min(s.id.len())],
            s.experiment,
            s.pipeline,
            s.status,
            s.started_at,
            duration(&s.started_at, s.ended_at.as_deref()),
            extra_cells(Some(n))
        );
        println!("{}", line.trim_end());
    }
}

pub async fn show(url: &str, spec: &str, format: Format) -> Result<(), CliError> {
    let registry = open_registry(url).await?;
    let id = registry.resolve_run(spec).await?;
    let run = registry.show_run(&id).await?;
    registry.close().await;
    if format == Format::Json {
        return print_json(&run);
    }
    print_detail(&run);
    Ok(())
}

fn print_detail(run: &RunDetail) {
    let s = &run.summary;
    println!("run        {}", s.id);
    println!("pipeline   {} ({})", s.pipeline, run.pipeline_file);
    println!("experiment {}", s.experiment);
    println!(
        "status     {}{}",
        s.status,
        run.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
    );
    println!(
        "started    {}  ({})",
        s.started_at,
        duration(&s.started_at, s.ended_at.as_deref())
    );
    println!(
        "trigger    {}   host {} (pid {})   pmflow {}   git {}",
        s.trigger,
        run.host,
        run.pid,
        run.pmflow_version,
        run.git_commit.as_deref().unwrap_or("-")
    );
    let report = run
        .artifacts
        .iter()
        .find(|a| a.step.is_empty() && a.name == crate::html::FILE && a.removed_at.is_none());
    match report {
        Some(a) => println!("report     {}", super::shared::shown_location(&a.uri)),
        None => println!(
            "report     none yet; make one with `pmflow report {}`",
            &s.id[..12.min(s.id.len())]
        ),
    }
    println!("\nSTEPS");
    let id_width = run.steps.iter().map(|s| s.id.len()).max().unwrap_or(0).max(14);
    let kind_width = run.steps.iter().map(|s| s.kind.len()).max().unwrap_or(0).max(8);
    for st in &run.steps {
        let time = st
            .duration_ms
            .map(|ms| format!("{:.2}s", ms as f64 / 1000.0))
            .unwrap_or_else(|| "-".into());
        let cached = if st.cached { " (cached)" } else { "" };
        let error = st.error.as_deref().map(|e| format!("  {e}")).unwrap_or_default();
        println!(
            "  {:<id_width$} {:<kind_width$} {:<11}{cached} {time:>8}{error}",
            st.id, st.kind, st.status
        );
    }
    if let Some(verdict) = crate::ml::verdict::BaselineVerdict::of(&run.metric_values()) {
        let mark = if verdict.baseline_wins() { "WARNING: " } else { "" };
        println!("\nBASELINE\n  {mark}{}", verdict.sentence());
    }
    print_importance(run);
    // Warnings are tags (`registry::warning_tag`): shown first, since a run that succeeded
    // with a warning may still need a look.
    let (warnings, tags): (Vec<_>, Vec<_>) = run
        .tags
        .iter()
        .partition(|(k, _)| crate::registry::warning_tag_step(k).is_some());
    if !warnings.is_empty() {
        println!("\nWARNINGS");
        for (k, v) in warnings {
            let step = crate::registry::warning_tag_step(k).unwrap_or_default();
            println!("  {step}: {}", v.as_str().unwrap_or_default());
        }
    }
    if !tags.is_empty() {
        println!("\nTAGS");
        for (k, v) in tags {
            println!(
                "  {k} = {}",
                v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())
            );
        }
    }
    if !run.params.is_empty() {
        println!("\nPARAMS");
        for (k, v) in &run.params {
            println!("  {k} = {v}");
        }
    }
    if !run.metrics.is_empty() {
        println!("\nMETRICS (last value; per-step series drawn from first to last step)");
        for (k, v) in &run.metrics {
            match run.series.get(k).and_then(|s| s.as_array()) {
                Some(points) => println!("  {k} = {v}  {} ({} steps)", sparkline(points), points.len()),
                None => println!("  {k} = {v}"),
            }
        }
    }
    if !run.artifacts.is_empty() {
        println!("\nARTIFACTS");
        for a in &run.artifacts {
            let removed = a
                .removed_at
                .as_deref()
                .map(|t| format!("  (removed by gc at {t})"))
                .unwrap_or_default();
            println!("  {:<14} {:<24} {:>10} B  {}{removed}", a.step, a.name, a.bytes, a.uri);
        }
    }
}

/// The five sensors whose shuffling cost each evaluating step the most test PR-AUC (its
/// `importance.SENSOR` metrics), most first.
fn print_importance(run: &RunDetail) {
    let mut by_step: std::collections::BTreeMap<&str, Vec<(&str, f64)>> = Default::default();
    for (key, value) in &run.metrics {
        let Some((step, sensor)) = key.split_once(".importance.") else {
            continue;
        };
        if let Some(v) = value.as_f64() {
            by_step.entry(step).or_default().push((sensor, v));
        }
    }
    if by_step.is_empty() {
        return;
    }
    println!(
        "
IMPORTANCE (drop in test PR-AUC when a sensor is shuffled; top 5)"
    );
    for (step, mut sensors) in by_step {
        sensors.sort_by(|a, b| b.1.total_cmp(&a.1));
        let top: Vec<String> = sensors.iter().take(5).map(|(s, v)| format!("{s} {v:.3}")).collect();
        println!("  {step}: {}", top.join(", "));
    }
}

fn duration(started: &str, ended: Option<&str>) -> String {
    let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
    match (parse(started), ended.and_then(parse)) {
        (Some(a), Some(b)) => format!("{:.2}s", (b - a).num_milliseconds() as f64 / 1000.0),
        _ => "-".into(),
    }
}

/// A series as one line of block characters, lowest value to highest (per-epoch losses and
/// scores at a glance).
fn sparkline(points: &[serde_json::Value]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let values: Vec<f64> = points
        .iter()
        .filter_map(|p| p.get(1).and_then(|v| v.as_f64()))
        .collect();
    let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(*v), hi.max(*v))
    });
    values
        .iter()
        .map(|v| {
            let level = if hi > lo { (v - lo) / (hi - lo) * 7.0 } else { 3.0 };
            BARS[(level.round() as usize).min(7)]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn sparkline_spans_lowest_to_highest() {
        let points: Vec<serde_json::Value> = [0.5, 0.25, 0.0, 1.0]
            .iter()
            .enumerate()
            .map(|(i, v)| serde_json::json!([i, v]))
            .collect();
        assert_eq!(super::sparkline(&points), "▅▃▁█");
        let flat: Vec<serde_json::Value> = (0..3).map(|i| serde_json::json!([i, 2.0])).collect();
        assert_eq!(super::sparkline(&flat), "▄▄▄");
    }
}
