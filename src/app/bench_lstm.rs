//! `pmflow bench-lstm` (hidden): trains the LSTM classifier through the same training loop as
//! `train` on random windows (one warm-up epoch, one timed epoch) and prints sequences per
//! second of wall time and of CPU time as JSON, for `just bench` to compare with PyTorch.

use std::time::Instant;

use tch::{nn, Device};

use crate::cli::BenchLstmArgs;
use crate::error::CliError;
use crate::ml::network::{Architecture, Classifier, ModelKind};
use crate::ml::rng::Rng;
use crate::ml::training::{fit, FitOptions, WindowSet};

pub fn bench_lstm(a: &BenchLstmArgs) -> Result<(), CliError> {
    tch::set_num_threads(a.threads as i32);
    tch::manual_seed(1);
    let train = random_windows(a, a.windows, 1);
    // A tiny validation set: its scoring is part of every epoch but not what is measured.
    let val = random_windows(a, 256, 2);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Classifier::new(
        &vs.root(),
        Architecture {
            kind: ModelKind::Lstm,
            features: a.features as i64,
            hidden: a.hidden,
            layers: a.layers,
            dropout: 0.0,
            bidirectional: false,
            attention: false,
            skip: false,
        },
    );
    let opts = FitOptions {
        epochs: 1,
        batch_size: a.batch,
        lr: 1e-3,
        weight_decay: 0.0,
        clip_norm: None,
        patience: 1,
        pos_weight: None,
        seed: 1,
        start_competes: false,
        start_margin: 1.0,
    };
    let run = || {
        fit(
            &vs,
            &model,
            &train,
            &val,
            &opts,
            |_| std::ops::ControlFlow::Continue(()),
        )
        .map_err(|e| CliError::Internal(e.0))
    };
    run()?; // warm-up: allocator and libtorch's lazy initialisation
    let (wall, cpu) = (Instant::now(), cpu_seconds());
    run()?;
    let (wall, cpu) = (wall.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    println!(
        "{}",
        serde_json::json!({
            "sequences": a.windows, "seconds": wall, "cpu_seconds": cpu, "threads": a.threads,
            "sequences_per_sec": a.windows as f64 / wall, "sequences_per_cpu_sec": a.windows as f64 / cpu,
        })
    );
    Ok(())
}

/// Non-overlapping windows of standard-normal-ish features, 5% positive.
fn random_windows(a: &BenchLstmArgs, count: usize, seed: u64) -> WindowSet {
    let mut rng = Rng::new(seed);
    let rows = count * a.window;
    let matrix: Vec<f32> = (0..rows * a.features)
        .map(|_| (rng.next_f64() * 2.0 - 1.0) as f32)
        .collect();
    let ends: Vec<i64> = (0..count).map(|i| ((i + 1) * a.window - 1) as i64).collect();
    let labels: Vec<f32> = (0..count).map(|_| f32::from(rng.next_f64() < 0.05)).collect();
    WindowSet::new(&matrix, a.features, ends, labels, a.window, Device::Cpu)
}

/// User + system CPU time of this process so far, from /proc (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields
        .get(11..13)
        .map_or(0.0, |f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum());
    // USER_HZ is 100 on every Linux architecture pmflow builds for.
    ticks / 100.0
}
