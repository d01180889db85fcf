//! Benchmark helper for `just bench`: logs N metric points into a fresh SQLite registry the way
//! a training step does (through the runner's batching: one transaction per 5,000 points) and
//! prints the elapsed seconds as JSON. Usage: log_metrics N REGISTRY_FILE

use std::time::Instant;

use pmflow::registry::{MetricPoint, NewRun, Registry, RegistryLocation};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: i64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let path = std::path::PathBuf::from(args.get(2).cloned().unwrap_or_else(|| "bench/out/metrics.db".into()));
    let _ = std::fs::remove_file(&path);
    let registry = Registry::open(&RegistryLocation::Sqlite(path)).await?;
    let run = NewRun {
        id: "bench".into(),
        experiment: "bench".into(),
        pipeline: "bench".into(),
        pipeline_file: "-".into(),
        pipeline_text: "{}".into(),
        pipeline_hash: "-".into(),
        git_commit: None,
        trigger: "manual",
        steps: vec![("train".into(), "train-lstm".into())],
        params: Vec::new(),
    };
    registry.create_run(&run).await?;
    let started = Instant::now();
    let points: Vec<MetricPoint> = (0..n)
        .map(|i| MetricPoint {
            step_id: "train".into(),
            key: "loss".into(),
            value: 1.0 / (1 + i) as f64,
            step: i,
            time_ms: i,
        })
        .collect();
    for batch in points.chunks(5_000) {
        registry.log_metrics("bench", batch).await?;
    }
    println!(
        "{{\"points\": {n}, \"seconds\": {:.4}}}",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
