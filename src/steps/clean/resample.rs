//! `clean`'s `resample`: each entity's rows into fixed time bins, as pandas'
//! `df.set_index(t).groupby(entity).resample(every)` makes them. Every bin from an entity's first
//! to its last is a row, so a bin without readings becomes a row of missing values that
//! `impute` then fills, and sequence models see evenly spaced steps.

use polars::prelude::*;

use crate::frame::{column_f64, entity_ranges, f64_column, time_values, Roles};
use crate::steps::context::StepError;
use crate::steps::spans::Horizon;

/// How a bin's readings become one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Mean,
    Min,
    Max,
    Sum,
    First,
    Last,
}

impl Aggregate {
    pub const NAMES: &'static [&'static str] = &["mean", "min", "max", "sum", "first", "last"];

    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "mean" => Self::Mean,
            "min" => Self::Min,
            "max" => Self::Max,
            "sum" => Self::Sum,
            "first" => Self::First,
            "last" => Self::Last,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Resample {
    /// The bin width: a duration for date-time timestamps, a number for cycles.
    pub every: Horizon,
    /// For decimal columns (default mean). Whole-number and true/false columns take `max`, so
    /// an event or alarm flag raised once in a bin is raised for the bin; text takes `last`.
    pub how: Aggregate,
    /// Per-column choices that override those defaults.
    pub columns: Vec<(String, Aggregate)>,
}

/// A day in milliseconds: bins of a date-time series start at midnight of its first day
/// (pandas' default `origin="start_day"`).
const DAY_MS: i64 = 86_400_000;

/// The resampled frame (sorted by entity, then bin) and how many bins had no reading.
pub fn resample(frame: &DataFrame, roles: &Roles, spec: &Resample) -> Result<(DataFrame, usize), StepError> {
    let Some(ts) = &roles.timestamp else {
        return Err(StepError::new(
            "`with.resample` needs a timestamp column; declare `timestamp` in `load`",
        ));
    };
    let (t, is_datetime) = time_values(frame, ts)?;
    let every = match (&spec.every, is_datetime) {
        (Horizon::Duration { ms, .. }, true) => *ms,
        (Horizon::Units(u), false) => *u,
        (Horizon::Duration { text, .. }, false) => {
            return Err(StepError::new(format!(
                "`with.resample.every` is a duration ({text}) but `{ts}` holds numbers (cycles); give a number"
            )))
        }
        (Horizon::Units(u), true) => {
            return Err(StepError::new(format!(
                "`with.resample.every` is a plain number ({u}) but `{ts}` holds date-times; give a duration such as 1h"
            )))
        }
    };
    if let Some(row) = t.iter().position(|v| *v == i64::MIN) {
        return Err(StepError::new(format!(
            "`with.resample`: `{ts}` is missing at row {}; a reading without a time has no bin",
            row + 1
        )));
    }
    let ranges = entity_ranges(frame, roles.entity.as_deref())?;
    // Output row of every input row, and the first input row of each output row's entity.
    let mut out_row = vec![0usize; t.len()];
    let mut bin_start: Vec<i64> = Vec::new();
    let mut entity_row: Vec<IdxSize> = Vec::new();
    for r in &ranges {
        let origin = if is_datetime {
            t[r.start].div_euclid(DAY_MS) * DAY_MS
        } else {
            t[r.start].div_euclid(every) * every
        };
        let bin = |v: i64| (v - origin).div_euclid(every);
        if let Some(i) = (r.start + 1..r.end).find(|&i| t[i] < t[i - 1]) {
            return Err(StepError::new(format!(
                "`with.resample`: `{ts}` goes back in time at row {}; keep `sort: true`",
                i + 1
            )));
        }
        let (first, last) = (bin(t[r.start]), bin(t[r.end - 1]));
        let base = bin_start.len();
        let bins = (last - first + 1) as usize;
        if bin_start.len() + bins > 10 * t.len() + 1_000_000 {
            return Err(StepError::new(format!(
                "`with.resample.every` is too fine for this data: the bins would outnumber the rows more than ten to one (an entity spans {} bins); choose a longer `every`",
                bins
            )));
        }
        bin_start.extend((first..=last).map(|b| origin + b * every));
        entity_row.extend(std::iter::repeat_n(r.start as IdxSize, bins));
        for i in r.clone() {
            out_row[i] = base + (bin(t[i]) - first) as usize;
        }
    }
    let bins = bin_start.len();
    let mut filled = vec![false; bins];
    for &o in &out_row {
        filled[o] = true;
    }
    let empty = filled.iter().filter(|f| !**f).count();

    let entity_rows = IdxCa::from_vec("".into(), entity_row);
    let mut columns = Vec::with_capacity(frame.width());
    for column in frame.columns() {
        let name = column.name();
        let out = if Some(name.as_str()) == roles.timestamp.as_deref() {
            let unit_ms = DataType::Datetime(TimeUnit::Milliseconds, None);
            let values = Int64Chunked::from_vec(name.clone(), bin_start.clone()).into_column();
            if is_datetime {
                values.cast(&unit_ms)?.cast(column.dtype())?
            } else {
                values.cast(column.dtype())?
            }
        } else if Some(name.as_str()) == roles.entity.as_deref() {
            column.take(&entity_rows)?
        } else {
            aggregated(frame, column, spec, &out_row, bins)?
        };
        columns.push(out);
    }
    Ok((DataFrame::new(bins, columns)?, empty))
}

/// A column that is neither the timestamp nor the entity, combined bin by bin: as its
/// `with.resample.columns` entry says, else by its type's default.
fn aggregated(
    frame: &DataFrame,
    column: &Column,
    spec: &Resample,
    out_row: &[usize],
    bins: usize,
) -> Result<Column, StepError> {
    let name = column.name();
    let chosen = spec.columns.iter().find(|(c, _)| c == name.as_str()).map(|(_, a)| *a);
    let dtype = column.dtype();
    let how = match chosen {
        Some(a) => a,
        None if dtype.is_float() => spec.how,
        None if dtype.is_integer() || dtype == &DataType::Boolean => Aggregate::Max,
        None => Aggregate::Last,
    };
    let numeric = dtype.is_primitive_numeric() || dtype == &DataType::Boolean;
    Ok(match how {
        Aggregate::First | Aggregate::Last => pick(column, out_row, bins, how)?,
        _ if numeric => {
            let values = column_f64(frame, name)?;
            let combined = combine(&values, out_row, bins, how);
            let keep_type = !matches!(how, Aggregate::Mean) && !dtype.is_float();
            let out = f64_column(name.as_str(), combined);
            if keep_type {
                out.cast(dtype)?
            } else {
                out
            }
        }
        _ => {
            return Err(StepError::new(format!(
                "`with.resample`: column `{name}` holds {dtype}; only `first` or `last` can combine it"
            )))
        }
    })
}

/// Mean, min, max or sum of each bin's present (non-NaN) readings; NaN for a bin with none,
/// except that an empty sum is 0, as in pandas.
fn combine(values: &[f64], out_row: &[usize], bins: usize, how: Aggregate) -> Vec<f64> {
    let empty = if how == Aggregate::Sum { 0.0 } else { f64::NAN };
    let mut acc = vec![empty; bins];
    let mut count = vec![0u32; bins];
    for (v, &o) in values.iter().zip(out_row) {
        if v.is_nan() {
            continue;
        }
        acc[o] = if count[o] == 0 {
            *v
        } else {
            match how {
                Aggregate::Min => acc[o].min(*v),
                Aggregate::Max => acc[o].max(*v),
                _ => acc[o] + v,
            }
        };
        count[o] += 1;
    }
    if how == Aggregate::Mean {
        for (a, n) in acc.iter_mut().zip(&count) {
            if *n > 0 {
                *a /= f64::from(*n);
            }
        }
    }
    acc
}

/// Each bin's first or last present value, of any type; missing for a bin with none.
fn pick(column: &Column, out_row: &[usize], bins: usize, how: Aggregate) -> PolarsResult<Column> {
    let present = column.is_not_null();
    let mut chosen: Vec<Option<IdxSize>> = vec![None; bins];
    for (i, (&o, ok)) in out_row.iter().zip(present.iter()).enumerate() {
        if ok == Some(true) && (how == Aggregate::Last || chosen[o].is_none()) {
            chosen[o] = Some(i as IdxSize);
        }
    }
    column.take(&IdxCa::from_iter_options("".into(), chosen.into_iter()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Machine A: readings at 00:00, 00:20, 00:40 and 02:10 (nothing in the 01:00 bin); machine
    /// B: one reading at 01:30. 2024-01-01, UTC.
    fn frame() -> DataFrame {
        let minutes = [0i64, 20, 40, 130, 90];
        let t: Vec<i64> = minutes.iter().map(|m| 1_704_067_200_000 + m * 60_000).collect();
        df!(
            "m" => ["A", "A", "A", "A", "B"],
            "t" => t,
            "x" => [Some(1.0), Some(2.0), None, Some(4.0), Some(10.0)],
            "flag" => [0i64, 1, 0, 0, 0],
            "mode" => [Some("a"), Some("b"), None, Some("c"), None],
        )
        .unwrap()
        .lazy()
        .with_column(col("t").cast(DataType::Datetime(TimeUnit::Milliseconds, None)))
        .collect()
        .unwrap()
    }

    fn roles() -> Roles {
        Roles {
            timestamp: Some("t".into()),
            entity: Some("m".into()),
            label: None,
        }
    }

    fn hourly(how: Aggregate) -> Resample {
        Resample {
            every: Horizon::Duration {
                text: "1h".into(),
                ms: 3_600_000,
            },
            how,
            columns: Vec::new(),
        }
    }

    #[test]
    fn bins_match_pandas_groupby_resample() {
        // pandas 3.1.1:
        //   df.set_index("t").groupby("m").resample("1h")
        //     .agg({"x": "mean", "flag": "max", "mode": "last"})
        // A 00:00 -> x 1.5, flag 1, mode "b"; A 01:00 -> NaN, NaN, None; A 02:00 -> 4.0, 0, "c";
        // B 01:00 -> 10.0, 0, None.
        let (out, empty) = resample(&frame(), &roles(), &hourly(Aggregate::Mean)).unwrap();
        assert_eq!(empty, 1);
        let m: Vec<Option<&str>> = out.column("m").unwrap().str().unwrap().iter().collect();
        assert_eq!(m, [Some("A"), Some("A"), Some("A"), Some("B")]);
        let hours: Vec<i64> = out
            .column("t")
            .unwrap()
            .cast(&DataType::Int64)
            .unwrap()
            .i64()
            .unwrap()
            .into_no_null_iter()
            .map(|ms| (ms - 1_704_067_200_000) / 3_600_000)
            .collect();
        assert_eq!(hours, [0, 1, 2, 1]);
        let x: Vec<Option<f64>> = out.column("x").unwrap().f64().unwrap().iter().collect();
        assert_eq!(x, [Some(1.5), None, Some(4.0), Some(10.0)]);
        let flag: Vec<Option<i64>> = out.column("flag").unwrap().i64().unwrap().iter().collect();
        assert_eq!(flag, [Some(1), None, Some(0), Some(0)]);
        let mode: Vec<Option<&str>> = out.column("mode").unwrap().str().unwrap().iter().collect();
        assert_eq!(mode, [Some("b"), None, Some("c"), None]);

        // .agg({"x": "max", "flag": "sum"}) -> x [2.0, NaN, 4.0, 10.0], flag [1, 0, 0, 0] (an
        // empty sum is 0); per-column choices override the default.
        let mut spec = hourly(Aggregate::Max);
        spec.columns.push(("flag".into(), Aggregate::Sum));
        let (out, _) = resample(&frame(), &roles(), &spec).unwrap();
        let x: Vec<Option<f64>> = out.column("x").unwrap().f64().unwrap().iter().collect();
        assert_eq!(x, [Some(2.0), None, Some(4.0), Some(10.0)]);
        let flag: Vec<Option<i64>> = out.column("flag").unwrap().i64().unwrap().iter().collect();
        assert_eq!(flag, [Some(1), Some(0), Some(0), Some(0)]);
    }

    #[test]
    fn bad_bins_are_errors() {
        let mut spec = hourly(Aggregate::Mean);
        spec.every = Horizon::Units(5);
        let e = resample(&frame(), &roles(), &spec).unwrap_err().0;
        assert!(e.contains("is a plain number (5) but `t` holds date-times"), "{e}");
        let mut spec = hourly(Aggregate::Mean);
        spec.every = Horizon::Duration {
            text: "1ms".into(),
            ms: 1,
        };
        let e = resample(&frame(), &roles(), &spec).unwrap_err().0;
        assert!(e.contains("too fine"), "{e}");
        let mut spec = hourly(Aggregate::Mean);
        spec.columns.push(("mode".into(), Aggregate::Mean));
        let e = resample(&frame(), &roles(), &spec).unwrap_err().0;
        assert!(e.contains("column `mode` holds str"), "{e}");
    }
}
