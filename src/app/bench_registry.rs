//! `pmflow bench-registry N REGISTRY [--single M]` (hidden): logs N metric points into a fresh
//! run the way a training step does (the runner's batching: one transaction per 5,000 points),
//! then M points one write each (a transaction per point, as a step logging one value does),
//! and prints the elapsed seconds as JSON, for `just bench` to compare with MLflow.

use std::time::Instant;

use crate::error::CliError;
use crate::registry::{MetricPoint, NewRun, Registry, RegistryLocation};

pub async fn bench_registry(points: i64, registry: &str, single: i64) -> Result<(), CliError> {
    let cwd = std::env::current_dir().map_err(|e| CliError::Internal(e.to_string()))?;
    let location = RegistryLocation::parse(registry, &cwd).map_err(|e| CliError::Usage(e.to_string()))?;
    if let RegistryLocation::Sqlite(file) = &location {
        let _ = std::fs::remove_file(file);
    }
    let registry = Registry::open(&location).await?;
    let run_id = uuid::Uuid::now_v7().simple().to_string();
    let run = NewRun {
        id: run_id.clone(),
        experiment: "bench".into(),
        pipeline: "bench".into(),
        pipeline_file: "-".into(),
        pipeline_text: "{}".into(),
        pipeline_hash: "-".into(),
        git_commit: None,
        trigger: "manual",
        fire_at: None,
        steps: vec![("train".into(), "train".into())],
        params: Vec::new(),
    };
    registry.create_run(&run).await?;
    let point = |i: i64| MetricPoint {
        step_id: "train".into(),
        key: "loss".into(),
        value: 1.0 / (1 + i) as f64,
        step: i,
        time_ms: i,
    };
    let started = Instant::now();
    let all: Vec<MetricPoint> = (0..points).map(point).collect();
    for batch in all.chunks(5_000) {
        registry.log_metrics(&run_id, batch).await?;
    }
    let batched = started.elapsed().as_secs_f64();
    let started = Instant::now();
    for i in 0..single {
        registry.log_metrics(&run_id, &[point(points + i)]).await?;
    }
    let singles = started.elapsed().as_secs_f64();
    println!(
        "{{\"points\": {points}, \"seconds\": {batched:.4}, \"single\": {single}, \"single_seconds\": {singles:.4}}}"
    );
    registry.close().await;
    Ok(())
}
