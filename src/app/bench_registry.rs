//! `pmflow bench-registry N FILE` (hidden): logs N metric points into a fresh SQLite registry the
//! way a training step does (the runner's batching: one transaction per 5,000 points) and prints
//! the elapsed seconds as JSON, for `just bench` to compare with MLflow.

use std::path::Path;
use std::time::Instant;

use crate::error::CliError;
use crate::registry::{MetricPoint, NewRun, Registry, RegistryLocation};

pub async fn bench_registry(points: i64, file: &Path) -> Result<(), CliError> {
    let _ = std::fs::remove_file(file);
    let registry = Registry::open(&RegistryLocation::Sqlite(file.to_path_buf())).await?;
    let run = NewRun {
        id: "bench".into(),
        experiment: "bench".into(),
        pipeline: "bench".into(),
        pipeline_file: "-".into(),
        pipeline_text: "{}".into(),
        pipeline_hash: "-".into(),
        git_commit: None,
        trigger: "manual",
        fire_at: None,
        steps: vec![("train".into(), "train-lstm".into())],
        params: Vec::new(),
    };
    registry.create_run(&run).await?;
    let started = Instant::now();
    let all: Vec<MetricPoint> = (0..points)
        .map(|i| MetricPoint {
            step_id: "train".into(),
            key: "loss".into(),
            value: 1.0 / (1 + i) as f64,
            step: i,
            time_ms: i,
        })
        .collect();
    for batch in all.chunks(5_000) {
        registry.log_metrics("bench", batch).await?;
    }
    println!(
        "{{\"points\": {points}, \"seconds\": {:.4}}}",
        started.elapsed().as_secs_f64()
    );
    registry.close().await;
    Ok(())
}
