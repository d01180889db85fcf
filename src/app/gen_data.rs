//! `pmflow gen-data`: a synthetic fleet with real failure mechanics, streamed to CSV or Parquet.

use std::io::BufWriter;
use std::path::Path;

use crate::cli::GenDataArgs;
use crate::datagen::{self, GenOptions};
use crate::error::CliError;
use crate::pipeline::duration::duration_ms;
use crate::report::{self, ProgressMode};

pub fn gen_data(args: &GenDataArgs, mode: ProgressMode) -> Result<(), CliError> {
    let usage = |flag: &str, what: &str| CliError::Usage(format!("{flag}: {what}"));
    let interval_ms =
        duration_ms(&args.interval).ok_or_else(|| usage("--interval", "give a duration such as 10m, 1h or 30s"))?;
    let horizon_ms =
        duration_ms(&args.horizon).ok_or_else(|| usage("--horizon", "give a duration such as 24h or 2d"))?;
    if interval_ms % 1000 != 0 {
        return Err(usage("--interval", "must be whole seconds"));
    }
    let interval_secs = u32::try_from(interval_ms / 1000).map_err(|_| usage("--interval", "is too long"))?;
    let days = match args.samples {
        Some(n) => n as f64 * f64::from(interval_secs) / 86_400.0,
        None => args.days,
    };
    let opts = GenOptions {
        equipment: args.equipment,
        days,
        interval_secs,
        failure_rate_per_year: args.failure_rate,
        horizon_secs: (horizon_ms / 1000) as u64,
        seed: args.seed,
        missing_rate: args.missing_rate,
        spike_rate: args.spike_rate,
    };
    opts.validate().map_err(|e| CliError::Usage(e.0))?;
    super::shared::out_is_a_file(&args.out)?;
    let parquet = match args.out.extension().and_then(|e| e.to_str()) {
        Some("parquet") | Some("pq") => true,
        Some("csv") => false,
        _ => return Err(usage("--out", "name a .csv or .parquet file")),
    };
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| usage("--out", &format!("cannot create {}: {e}", dir.display())))?;
    }
    // Never a half-written data set.
    let rows = super::shared::write_beside(&args.out, |partial| write(&opts, partial, parquet, args.threads, mode))?;
    println!(
        "wrote {} rows ({} machines) to {}",
        rows,
        opts.equipment,
        args.out.display()
    );
    Ok(())
}

fn write(
    opts: &GenOptions,
    path: &Path,
    parquet: bool,
    threads: Option<usize>,
    mode: ProgressMode,
) -> Result<u64, CliError> {
    let file = std::fs::File::create(path)
        .map_err(|e| CliError::Usage(format!("--out: cannot create {}: {e}", path.display())))?;
    let mut bar = report::counter(mode, "gen-data", opts.rows(), "rows");
    let mut progress = |done: u64, _total: u64| bar.set(done);
    let threads = threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let rows = if parquet {
        datagen::write_parquet(opts, BufWriter::with_capacity(1 << 20, file), &mut progress)
            .map_err(|e| CliError::Internal(format!("writing Parquet: {e}")))?
    } else {
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let rows = datagen::write_csv(opts, &mut out, threads, &mut progress)
            .map_err(|e| CliError::Internal(format!("writing {}: {e}", path.display())))?;
        std::io::Write::flush(&mut out).map_err(|e| CliError::Internal(format!("writing {}: {e}", path.display())))?;
        rows
    };
    bar.finish();
    Ok(rows)
}
