//! Parquet output for `gen-data`: machine blocks become row groups of one file, written as they
//! are generated (streaming, like the CSV writer).

use polars::prelude::*;

use super::{generate_machine, GenOptions, MachineBlock, COLUMNS, FAILURE_MODES};

fn frame(block: &MachineBlock) -> PolarsResult<DataFrame> {
    let n = block.timestamps.len();
    let mut columns: Vec<Column> = Vec::with_capacity(COLUMNS.len());
    let ms: Vec<i64> = block.timestamps.iter().map(|s| s * 1000).collect();
    columns.push(Column::new(COLUMNS[0].into(), ms).cast(&DataType::Datetime(TimeUnit::Milliseconds, None))?);
    let id = format!("M{:04}", block.equipment);
    columns.push(Column::new(COLUMNS[1].into(), vec![id.as_str(); n]));
    for (k, sensor) in block.sensors.iter().enumerate() {
        let values: Vec<Option<f64>> = sensor.iter().map(|v| (!v.is_nan()).then_some(*v)).collect();
        columns.push(Column::new(COLUMNS[2 + k].into(), values));
    }
    columns.push(Column::new(
        COLUMNS[10].into(),
        block.failure_event.iter().map(|&v| v as i64).collect::<Vec<_>>(),
    ));
    let modes: Vec<Option<&str>> = block
        .failure_mode
        .iter()
        .map(|&m| (m > 0).then(|| FAILURE_MODES[(m - 1) as usize]))
        .collect();
    columns.push(Column::new(COLUMNS[11].into(), modes));
    columns.push(Column::new(
        COLUMNS[12].into(),
        block.failure.iter().map(|&v| v as i64).collect::<Vec<_>>(),
    ));
    DataFrame::new(n, columns)
}

/// Writes every machine as one Parquet file (zstd), one machine block at a time.
pub fn write_parquet(
    opts: &GenOptions,
    out: impl std::io::Write,
    progress: &mut dyn FnMut(u64, u64),
) -> PolarsResult<u64> {
    let total = opts.rows();
    let first = frame(&generate_machine(opts, 0))?;
    let mut writer = ParquetWriter::new(out)
        .with_compression(ParquetCompression::Zstd(None))
        .batched(first.schema())?;
    writer.write_batch(&first)?;
    let mut rows = first.height() as u64;
    progress(rows, total);
    for m in 1..opts.equipment {
        let df = frame(&generate_machine(opts, m))?;
        writer.write_batch(&df)?;
        rows += df.height() as u64;
        progress(rows, total);
    }
    writer.finish()?;
    Ok(rows)
}
