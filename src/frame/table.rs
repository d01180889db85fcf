//! A frame plus the roles of its columns (timestamp, entity, label), the unit that flows
//! between steps. Stored as Parquet, with the roles in a JSON side-car.

use polars::prelude::*;
use polars_arrow::bitmap::Bitmap;
use serde::{Deserialize, Serialize};

/// A stored artifact (a step output, a report, a picture) as the registry records it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredArtifact {
    pub uri: String,
    pub sha256: String,
    pub bytes: u64,
}

/// Which columns play which part; declared by `load`, carried through every later step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Roles {
    pub timestamp: Option<String>,
    pub entity: Option<String>,
    pub label: Option<String>,
}

impl Roles {
    /// Columns that are not features: roles are never imputed, scaled or checked for outliers.
    pub fn is_role(&self, column: &str) -> bool {
        [&self.timestamp, &self.entity, &self.label]
            .iter()
            .any(|r| r.as_deref() == Some(column))
    }

    /// The role `column` plays (`timestamp`, `entity` or `label`), if any.
    pub fn role_of(&self, column: &str) -> Option<&'static str> {
        [
            ("timestamp", &self.timestamp),
            ("entity", &self.entity),
            ("label", &self.label),
        ]
        .into_iter()
        .find(|(_, r)| r.as_deref() == Some(column))
        .map(|(role, _)| role)
    }
}

/// A step output stored as an artifact (a table, or a file such as a model), as later steps,
/// the step cache and `--resume` find it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputRef {
    /// The table's name (`train`), or the file's name with its extension (`model.safetensors`).
    pub name: String,
    pub uri: String,
    pub sha256: String,
    pub roles: Roles,
    /// Older registries recorded tables only, hence the default.
    #[serde(default)]
    pub format: OutputFormat,
}

/// How an output is stored and handed to the next step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// Parquet, read back into a [`Table`].
    #[default]
    Table,
    /// Opaque bytes (weights, a model card), handed over as they are.
    File,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub frame: DataFrame,
    pub roles: Roles,
}

impl Table {
    /// Encodes the frame as Parquet into `out` (see [`crate::frame::parquet::write`]), LZ4-compressed
    /// on all cores. On the 10M-row benchmark, feature + split took 15.6 s uncompressed, 17.5 s
    /// with LZ4 and 21.2 s with zstd level 1, for 10.1, 7.7 and 6.7 GB of artifacts: LZ4 keeps
    /// most of the time and a quarter of the bytes. No min/max statistics: artifacts are read
    /// whole, and computing them took 8% of the CPU time of the 1M-row sensor pipeline.
    pub fn write_parquet(&self, out: &mut dyn std::io::Write) -> PolarsResult<()> {
        crate::frame::parquet::write(&self.frame, out, ParquetCompression::Lz4Raw)?;
        Ok(())
    }

    pub fn read_parquet_file(path: &std::path::Path, roles: Roles) -> PolarsResult<Table> {
        // Decoding from memory is faster than polars' reader seeking through the file (10% on
        // the 10M-row benchmark's split input), and a map avoids copying gigabytes into fresh
        // memory first (page zeroing was a third of the benchmark's CPU time).
        let file = std::fs::File::open(path)?;
        // SAFETY: artifacts are written to a staging name and renamed into place, never
        // modified afterwards, so the mapped bytes do not change while they are decoded.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Table::from_parquet(&map, roles)
    }

    pub fn from_parquet(bytes: &[u8], roles: Roles) -> PolarsResult<Table> {
        let frame = ParquetReader::new(std::io::Cursor::new(bytes)).finish()?;
        Ok(Table { frame, roles })
    }
}

/// Names of the numeric columns that are features (not roles).
pub fn numeric_features(frame: &DataFrame, roles: &Roles) -> Vec<String> {
    frame
        .columns()
        .iter()
        .filter(|c| c.dtype().is_primitive_numeric() && !roles.is_role(c.name()))
        .map(|c| c.name().to_string())
        .collect()
}

/// A numeric column whose values are 0 and 1 (and missing), with at least one 1: an event,
/// alarm or state flag rather than a measurement.
pub fn is_flag(column: &Column) -> bool {
    if !column.dtype().is_primitive_numeric() && column.dtype() != &DataType::Boolean {
        return false;
    }
    let Ok(values) = column.cast(&DataType::Float64) else {
        return false;
    };
    let Ok(values) = values.f64() else { return false };
    let mut any_one = false;
    for v in values.iter().flatten() {
        if v == 1.0 {
            any_one = true;
        } else if v != 0.0 {
            return false;
        }
    }
    any_one
}

/// Row ranges of consecutive rows with the same entity (the whole frame when there is no
/// entity). Steps after `clean` see frames sorted by entity, so each range is one entity.
pub fn entity_ranges(frame: &DataFrame, entity: Option<&str>) -> PolarsResult<Vec<std::ops::Range<usize>>> {
    let n = frame.height();
    let Some(entity) = entity else {
        return Ok(std::iter::once(0..n).collect());
    };
    let keys = frame.column(entity)?.cast(&DataType::String)?;
    let keys = keys.str()?;
    let mut ranges = Vec::new();
    let mut start = 0;
    // One sequential pass: `get(i)` looks up the chunk of every row (3% of the 10M-row
    // benchmark's CPU time).
    for (i, (prev, key)) in keys.iter().zip(keys.iter().skip(1)).enumerate() {
        if key != prev {
            ranges.push(start..i + 1);
            start = i + 1;
        }
    }
    if n > 0 {
        ranges.push(start..n);
    }
    Ok(ranges)
}

/// A numeric column as f64 values with missing values as NaN.
pub fn column_f64(frame: &DataFrame, name: &str) -> PolarsResult<Vec<f64>> {
    let cast = frame.column(name)?.cast(&DataType::Float64)?;
    let values = cast.f64()?;
    // Copy whole arrow buffers instead of going value by value through Options (10x faster on
    // large frames).
    let filled = if values.null_count() > 0 {
        values.fill_null_with_values(f64::NAN)?
    } else {
        values.clone()
    };
    let mut out = Vec::with_capacity(filled.len());
    for chunk in filled.downcast_iter() {
        out.extend_from_slice(chunk.values());
    }
    Ok(out)
}

/// [`column_f64`] without a copy when the column already is one f64 array with no missing
/// values, as cleaned sensor columns are: `feature` reads each source column this way.
pub fn column_f64_ref<'a>(frame: &'a DataFrame, name: &str) -> PolarsResult<std::borrow::Cow<'a, [f64]>> {
    if let Ok(values) = frame.column(name)?.as_materialized_series().f64() {
        if values.null_count() == 0 && values.chunks().len() == 1 {
            if let Some(chunk) = values.downcast_iter().next() {
                return Ok(std::borrow::Cow::Borrowed(chunk.values().as_slice()));
            }
        }
    }
    column_f64(frame, name).map(std::borrow::Cow::Owned)
}

/// f64 values back to a column, NaN as missing (null). The values move into the column
/// (no copy); the NaN slots are marked missing in a validity bitmap.
pub fn f64_column(name: &str, values: Vec<f64>) -> Column {
    let validity = values
        .iter()
        .any(|v| v.is_nan())
        .then(|| Bitmap::from_trusted_len_iter(values.iter().map(|v| !v.is_nan())));
    Float64Chunked::from_vec_validity(name.into(), values, validity).into_column()
}

/// The timestamp column as epoch milliseconds (datetimes) or raw integers (cycles, steps).
pub fn time_values(frame: &DataFrame, name: &str) -> PolarsResult<(Vec<i64>, bool)> {
    let column = frame.column(name)?;
    let (as_ms, is_datetime) = match column.dtype() {
        DataType::Datetime(unit, _) => {
            let per_ms = match unit {
                TimeUnit::Milliseconds => 1,
                TimeUnit::Microseconds => 1_000,
                TimeUnit::Nanoseconds => 1_000_000,
            };
            let raw = column.cast(&DataType::Int64)?;
            (
                raw.i64()?
                    .iter()
                    .map(|v| v.map(|x| x / per_ms).unwrap_or(i64::MIN))
                    .collect(),
                true,
            )
        }
        _ => {
            let raw = column.cast(&DataType::Int64)?;
            (raw.i64()?.iter().map(|v| v.unwrap_or(i64::MIN)).collect(), false)
        }
    };
    Ok((as_ms, is_datetime))
}
