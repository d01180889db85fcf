//! `pmflow runs list` and `pmflow runs show`: tables for people, JSON for scripts.

use crate::cli::Format;
use crate::error::CliError;
use crate::registry::{Registry, RegistryLocation, RunDetail};

pub(super) async fn open(url: &str) -> Result<Registry, CliError> {
    let cwd = std::env::current_dir().map_err(|e| CliError::Internal(e.to_string()))?;
    let location = RegistryLocation::parse(url, &cwd)
        .map_err(|e| CliError::Usage(format!("--registry (or PMFLOW_REGISTRY): {e}")))?;
    let RegistryLocation::Sqlite(path) = &location;
    if !path.exists() {
        return Err(CliError::Usage(format!(
            "no registry at {}; run a pipeline first, or point --registry (or PMFLOW_REGISTRY) at one",
            path.display()
        )));
    }
    // A registry that cannot be written (read-only file or mount, `chattr +i`) can still be
    // read: listing runs must not need the lock and migrations a writer takes.
    let writable = std::fs::OpenOptions::new().append(true).open(path).is_ok();
    if writable {
        Ok(Registry::open(&location).await?)
    } else {
        Ok(Registry::open_read_only(&location).await?)
    }
}

pub(super) fn json(value: &impl serde::Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::Internal(e.to_string()))?;
    println!("{text}");
    Ok(())
}

pub async fn list(url: &str, experiment: Option<&str>, format: Format, limit: i64) -> Result<(), CliError> {
    let registry = open(url).await?;
    let runs = registry.list_runs(experiment, limit).await?;
    registry.close().await;
    if format == Format::Json {
        return json(&runs);
    }
    if runs.is_empty() {
        println!("no runs");
        return Ok(());
    }
    println!(
        "{:<12}  {:<16}  {:<18}  {:<11}  {:<24}  DURATION",
        "RUN", "EXPERIMENT", "PIPELINE", "STATUS", "STARTED"
    );
    for r in &runs {
        println!(
            "{:<12}  {:<16}  {:<18}  {:<11}  {:<24}  {}",
            &r.id[..12.min(r.id.len())],
            r.experiment,
            r.pipeline,
            r.status,
            r.started_at,
            duration(&r.started_at, r.ended_at.as_deref())
        );
    }
    Ok(())
}

pub async fn show(url: &str, spec: &str, format: Format) -> Result<(), CliError> {
    let registry = open(url).await?;
    let id = registry.resolve_run(spec).await?;
    let run = registry.show_run(&id).await?;
    registry.close().await;
    if format == Format::Json {
        return json(&run);
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
        "trigger    {}   pmflow {}   git {}",
        s.trigger,
        run.pmflow_version,
        run.git_commit.as_deref().unwrap_or("-")
    );
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
