//! Tables to LSTM windows, shared by `train` and `evaluate`: features in a fixed order,
//! 0/1 labels, windows that never leave an entity (and so never a split part).

use std::ops::Range;

use polars::prelude::{DataFrame, DataType};
use tch::Device;

use super::ModelError;
use crate::frame::{column_f64, column_f64_ref, entity_ranges, time_values, Roles, Table};
use crate::ml::training::WindowSet;
use crate::ml::windows::window_ends;

/// The windows of one part, and how many entities were too short for a single window.
pub struct PartWindows {
    pub set: WindowSet,
    pub short_entities: usize,
    pub entities: usize,
}

pub fn build(
    table: &Table,
    part: &str,
    features: &[String],
    window: usize,
    device: Device,
) -> Result<PartWindows, ModelError> {
    let frame = &table.frame;
    let roles = &table.roles;
    let label = roles
        .label
        .as_deref()
        .ok_or_else(|| ModelError::new("needs a label column; declare `label` in `load` or make one in `feature`"))?;
    let ranges = series_ranges(frame, roles, part, window)?;

    let matrix = feature_matrix(
        frame,
        part,
        features,
        "impute it in `clean` (or drop the column) before training",
    )?;
    let y = binary_labels(frame, label, part)?;
    let ends = window_ends(&ranges, window);
    let labels: Vec<f32> = ends.iter().map(|&e| y[e] as f32).collect();
    let ends: Vec<i64> = ends.into_iter().map(|e| e as i64).collect();
    Ok(PartWindows {
        set: WindowSet::new(&matrix, features.len(), ends, labels, window, device),
        short_entities: ranges.iter().filter(|r| r.len() < window).count(),
        entities: ranges.len(),
    })
}

/// Which windows of new data are scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowsAt {
    /// Each entity's last window only (what a planner acts on).
    Latest,
    /// Every window.
    All,
}

/// Unlabelled windows of new data to score, and the entities too short for one window (with
/// their row counts), in row order.
pub struct ScoringWindows {
    pub set: WindowSet,
    pub short: Vec<(String, usize)>,
    /// How many entities (machines) the table holds.
    pub entities: usize,
}

/// The windows of `table` (prepared new data, no label) in the model's feature order: every
/// window, or each entity's latest. The same matrix and window rules as [`build`], so a window
/// scored here is the window `evaluate` scored.
pub fn for_scoring(
    table: &Table,
    features: &[String],
    window: usize,
    at: WindowsAt,
    device: Device,
) -> Result<ScoringWindows, ModelError> {
    let frame = &table.frame;
    let ranges = series_ranges(frame, &table.roles, "new data", window)?;
    let matrix = feature_matrix(
        frame,
        "new data",
        features,
        "the model's own `clean` settings left it missing there (a sensor empty at the start of a machine's series cannot be interpolated); fill it in the file or score from a later row",
    )?;
    let window = window.max(1);
    let ends: Vec<usize> = match at {
        WindowsAt::All => window_ends(&ranges, window),
        WindowsAt::Latest => ranges.iter().filter(|r| r.len() >= window).map(|r| r.end - 1).collect(),
    };
    let short = match table.roles.entity.as_deref() {
        Some(entity) => {
            let keys = frame.column(entity)?.cast(&DataType::String)?;
            let keys = keys.str()?;
            ranges
                .iter()
                .filter(|r| r.len() < window)
                .map(|r| (keys.get(r.start).unwrap_or_default().to_string(), r.len()))
                .collect()
        }
        None => ranges
            .iter()
            .filter(|r| r.len() < window)
            .map(|r| ("(all rows)".to_string(), r.len()))
            .collect(),
    };
    let labels = vec![0f32; ends.len()];
    let ends = ends.into_iter().map(|e| e as i64).collect();
    Ok(ScoringWindows {
        set: WindowSet::new(&matrix, features.len(), ends, labels, window, device),
        short,
        entities: ranges.len(),
    })
}

/// The feature columns as one row-major f32 matrix, in `features` order; a missing or
/// non-finite feature is an error naming it (and the row).
fn feature_matrix(frame: &DataFrame, part: &str, features: &[String], fix: &str) -> Result<Vec<f32>, ModelError> {
    let mut columns = Vec::with_capacity(features.len());
    for name in features {
        let values = column_f64_ref(frame, name).map_err(|_| {
            ModelError::new(format!(
                "the `{part}` part has no numeric column `{name}`, which the model uses; the data and the model's feature list must match"
            ))
        })?;
        if let Some(bad) = values.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::new(format!(
                "feature `{name}` is {} at row {} of the `{part}` part; {fix}",
                values[bad],
                bad + 1
            )));
        }
        columns.push(values);
    }
    // Row-major, filled a block of rows at a time: each block of the matrix stays in cache
    // while every column writes into it (column by column over the whole matrix, each write
    // landed in another cache line: 1.7 s of 1M x 66).
    const BLOCK: usize = 256;
    let width = features.len();
    let mut matrix = vec![0f32; frame.height() * width];
    for (block, out) in matrix.chunks_mut(BLOCK * width.max(1)).enumerate() {
        let start = block * BLOCK;
        for (c, column) in columns.iter().enumerate() {
            for (row, v) in out.chunks_exact_mut(width).zip(&column[start..]) {
                row[c] = *v as f32;
            }
        }
    }
    Ok(matrix)
}

/// The label column as 0.0 / 1.0 values; anything else is an error naming the row.
pub fn binary_labels(frame: &DataFrame, label: &str, part: &str) -> Result<Vec<f64>, ModelError> {
    let y = column_f64(frame, label)?;
    if let Some(bad) = y.iter().position(|v| *v != 0.0 && *v != 1.0) {
        return Err(ModelError::new(format!(
            "label `{label}` is {} at row {} of the `{part}` part; it must be 0 or 1",
            y[bad],
            bad + 1
        )));
    }
    Ok(y)
}

/// Each entity's block of rows. With `window` > 1 the blocks must be whole time-ordered
/// series: a `stratified` split or row-wise `smote` breaks that, and is an error here.
pub fn series_ranges(
    frame: &DataFrame,
    roles: &Roles,
    part: &str,
    window: usize,
) -> Result<Vec<Range<usize>>, ModelError> {
    let ranges = entity_ranges(frame, roles.entity.as_deref())?;
    if window <= 1 {
        return Ok(ranges);
    }
    if let Some(entity) = roles.entity.as_deref() {
        if frame.column(entity)?.null_count() > 0 {
            return Err(ModelError::new(format!(
                "the `{part}` part has rows without `{entity}` (row-wise `smote` makes them); windows need whole series: give `smote` the same `window`, or use `window: 1`"
            )));
        }
    }
    if let Some(ts) = roles.timestamp.as_deref() {
        let (times, _) = time_values(frame, ts)?;
        for range in &ranges {
            if let Some(i) = (range.start + 1..range.end).find(|&i| times[i] < times[i - 1]) {
                return Err(ModelError::new(format!(
                    "rows of the `{part}` part are not in time order within an entity (row {}); windows need time-ordered series: split `by: entity` or `by: time`, or use `window: 1`",
                    i + 1
                )));
            }
        }
    }
    // The same entity in two blocks means rows were shuffled (e.g. a stratified split).
    if let Some(entity) = roles.entity.as_deref() {
        let keys = frame.column(entity)?.cast(&DataType::String)?;
        let keys = keys.str()?;
        let mut seen = std::collections::HashSet::new();
        for range in &ranges {
            let key = keys.get(range.start);
            if !seen.insert(key) {
                return Err(ModelError::new(format!(
                    "entity {} appears in more than one block of the `{part}` part: its rows were shuffled; split `by: entity` or `by: time`, or use `window: 1`",
                    key.unwrap_or_default()
                )));
            }
        }
    }
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Roles;
    use polars::prelude::*;

    fn table(machines: &[&str], t: &[i64], x: &[f64], y: &[i64]) -> Table {
        Table {
            frame: df!("machine" => machines, "t" => t, "x" => x, "y" => y).unwrap(),
            roles: Roles {
                timestamp: Some("t".into()),
                entity: Some("machine".into()),
                label: Some("y".into()),
            },
        }
    }

    #[test]
    fn windows_follow_entities_and_take_the_last_label() {
        let t = table(
            &["a", "a", "a", "b", "b"],
            &[1, 2, 3, 1, 2],
            &[0.0, 1.0, 2.0, 3.0, 4.0],
            &[0, 0, 1, 0, 1],
        );
        let w = build(&t, "train", &["x".into()], 2, Device::Cpu).unwrap();
        assert_eq!(w.set.ends, vec![1, 2, 4]);
        assert_eq!(w.set.labels, vec![0.0, 1.0, 1.0]);
        assert_eq!((w.entities, w.short_entities), (2, 0));
        let w = build(&t, "train", &["x".into()], 3, Device::Cpu).unwrap();
        assert_eq!((w.set.ends.clone(), w.short_entities), (vec![2], 1));
    }

    #[test]
    fn bad_inputs_name_the_part_column_and_row() {
        let err = |t: &Table, window: usize| build(t, "test", &["x".into()], window, Device::Cpu).err().unwrap().0;
        let nan = table(&["a", "a"], &[1, 2], &[0.0, f64::NAN], &[0, 1]);
        assert!(
            err(&nan, 1).contains("feature `x` is NaN at row 2 of the `test` part"),
            "{}",
            err(&nan, 1)
        );
        let label = table(&["a", "a"], &[1, 2], &[0.0, 1.0], &[0, 2]);
        assert!(err(&label, 1).contains("label `y` is 2 at row 2 of the `test` part; it must be 0 or 1"));
        let missing = build(&label, "test", &["z".into()], 1, Device::Cpu).err().unwrap().0;
        assert!(
            missing.contains("the `test` part has no numeric column `z`, which the model uses"),
            "{missing}"
        );
        let backwards = table(&["a", "a"], &[2, 1], &[0.0, 1.0], &[0, 1]);
        assert!(err(&backwards, 2).contains("not in time order within an entity (row 2)"));
        let shuffled = table(&["a", "b", "a"], &[1, 1, 2], &[0.0, 1.0, 2.0], &[0, 1, 0]);
        assert!(
            err(&shuffled, 2).contains("entity a appears in more than one block"),
            "{}",
            err(&shuffled, 2)
        );
        // Tabular windows (1 row) accept any order.
        assert!(build(&shuffled, "test", &["x".into()], 1, Device::Cpu).is_ok());
    }
}
