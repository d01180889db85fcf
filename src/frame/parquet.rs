//! Writing frames as Parquet with compression on every core and the file I/O overlapped:
//! row group `n + 1` is encoded and compressed while row group `n` is written.
//!
//! polars' own writer encodes the columns of a row group in parallel but compresses each page
//! lazily, on the thread that writes the file, and does not encode while it writes. On the
//! 10M-row benchmark that left one core idle for most of a 3.7 GB write. The files are the
//! same Parquet (same schema, encodings and page layout); only the work is scheduled better.

use std::io::Write;
use std::sync::mpsc;

use polars::prelude::*;
use polars_arrow::datatypes::ArrowDataType;
use polars_parquet::write::{
    array_to_columns, compress, CompressedPage, CompressionOptions, Encoding, ParquetType, StatisticsOptions, Version,
    WriteOptions,
};

/// Rows per row group: polars' default, small enough that two groups in flight stay well under
/// the frame's own size.
const ROW_GROUP_ROWS: usize = 512 * 512;

/// One row group, encoded and compressed: its row count and the pages of each leaf column.
type EncodedGroup = (u64, Vec<Vec<CompressedPage>>);

/// Writes `frame` to `out` as a Parquet file compressed with `compression`, without min/max
/// statistics (artifacts are read whole). Returns the file's size in bytes.
pub fn write(frame: &DataFrame, out: &mut dyn Write, compression: ParquetCompression) -> PolarsResult<u64> {
    let options = WriteOptions {
        statistics: StatisticsOptions::empty(),
        version: Version::V1,
        compression: CompressionOptions::from(compression),
        data_page_size: None,
    };
    let mut writer = ParquetWriter::new(out)
        .with_compression(compression)
        .with_statistics(StatisticsOptions::empty())
        .batched(frame.schema())?;
    let arrow_schema = frame.schema().to_arrow(CompatLevel::newest());
    // polars tries dictionary encoding on every primitive column, but for floats its cast to a
    // dictionary fails and it writes them plain anyway, after estimating their cardinality
    // (5% of the benchmark's CPU time). Floats are declared plain up front.
    let encodings: Vec<Vec<Encoding>> = get_encodings(&arrow_schema)
        .iter()
        .zip(arrow_schema.iter_values())
        .map(|(encoding, field)| match field.dtype {
            ArrowDataType::Float32 | ArrowDataType::Float64 => vec![Encoding::Plain],
            _ => encoding.clone(),
        })
        .collect();
    let fields: Vec<ParquetType> = writer.parquet_schema().fields().to_vec();

    let height = frame.height();
    // Capacity 1: one group waits while the next is encoded, bounding the memory in flight.
    let (tx, rx) = mpsc::sync_channel::<PolarsResult<EncodedGroup>>(1);
    std::thread::scope(|scope| -> PolarsResult<()> {
        scope.spawn(|| {
            let tx = tx;
            for offset in (0..height).step_by(ROW_GROUP_ROWS) {
                let rows = ROW_GROUP_ROWS.min(height - offset);
                let group = encode_group(&frame.slice(offset as i64, rows), &fields, &encodings, options)
                    .map(|pages| (rows as u64, pages));
                let failed = group.is_err();
                // The receiver is gone when writing failed; stop encoding then.
                if tx.send(group).is_err() || failed {
                    return;
                }
            }
        });
        // Leaving this closure early drops `rx`, which stops the encoder at its next send.
        for group in rx {
            let (rows, pages) = group?;
            writer.write_row_group(rows, &pages)?;
        }
        Ok(())
    })?;
    writer.finish()
}

/// Encodes and compresses the columns of one row group on all cores.
fn encode_group(
    group: &DataFrame,
    fields: &[ParquetType],
    encodings: &[Vec<Encoding>],
    options: WriteOptions,
) -> PolarsResult<Vec<Vec<CompressedPage>>> {
    let mut group = group.clone();
    // A slice can span chunks of a column; Parquet wants one array per column and group.
    group.rechunk_mut_par();
    let Some(batch) = group.iter_chunks(CompatLevel::newest(), false).next() else {
        return Ok(Vec::new());
    };
    let columns: Vec<usize> = (0..batch.columns().len()).collect();
    let encoded = crate::ml::parallel::map(&columns, |&i| -> PolarsResult<Vec<Vec<CompressedPage>>> {
        array_to_columns(&batch.columns()[i], fields[i].clone(), options, &encodings[i])?
            .into_iter()
            .map(|pages| {
                pages
                    .map(|page| Ok(compress(page?, Vec::new(), options.compression)?))
                    .collect::<PolarsResult<Vec<CompressedPage>>>()
            })
            .collect()
    });
    // One entry per leaf column, in schema order (nested columns have several leaves).
    let mut leaves = Vec::new();
    for column in encoded {
        leaves.extend(column?);
    }
    Ok(leaves)
}
