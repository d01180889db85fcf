//! `smote`: oversamples the minority class of the training part only (validation and test pass
//! through untouched), with imbalanced-learn's semantics (see `ml::smote`).

use polars::prelude::*;
use serde_json::json;

use crate::frame::{column_f64, numeric_features, Table};
use crate::ml::rng::Rng;
use crate::ml::smote::{draw, nearest_neighbours, synthesize_columns, synthetic_count};
use crate::ml::windows::{flatten_columns, window_ends};
use crate::model::windows::{binary_labels, series_ranges};
use crate::pipeline::fields::Fields;
use crate::steps::context::{StepContext, StepError, StepOutput};
use crate::steps::ports::{Output, OutputKind, Ports};

#[derive(Debug, Clone, PartialEq)]
pub struct SmoteParams {
    pub k_neighbors: usize,
    /// Minority / majority after resampling.
    pub ratio: f64,
    pub seed: u64,
    /// Feature columns to interpolate; default: every numeric non-role column.
    pub columns: Option<Vec<String>>,
    /// Resample windows of this many rows (flattened, interpolated, reshaped) for sequence
    /// models; each synthetic window becomes a new entity of `window` rows. 1: rows.
    pub window: usize,
}

pub fn parse(f: &mut Fields) -> Option<SmoteParams> {
    let k_neighbors = f.optional_int("k-neighbors", 1, 1000).unwrap_or(5) as usize;
    let ratio = f.optional_f64("ratio", 1e-9, 1e6).unwrap_or(1.0);
    let seed = f.optional_int("seed", 0, i64::MAX).unwrap_or(42) as u64;
    let columns = f.optional_str_list("columns");
    let window = f.optional_int("window", 1, 100_000).unwrap_or(1) as usize;
    Some(SmoteParams {
        k_neighbors,
        ratio,
        seed,
        columns,
        window,
    })
}

pub fn run(p: &SmoteParams, ctx: &mut StepContext) -> Result<StepOutput, StepError> {
    let inputs = std::mem::take(&mut ctx.inputs);
    // The training part of a `split`, or the single table when there is no split.
    let train_at = match inputs.iter().position(|(name, _)| name.ends_with("/train")) {
        Some(i) => i,
        None if inputs.len() == 1 => 0,
        None => {
            return Err(StepError::new(
                "needs a `split` upstream (it resamples the `train` part only) or exactly one input table",
            ))
        }
    };
    let mut tables: Vec<(String, Table)> = Vec::new();
    let mut report = json!({});
    for (i, (name, table)) in inputs.into_iter().enumerate() {
        let short = name.rsplit('/').next().unwrap_or(&name).to_string();
        if i == train_at {
            // In-memory time, without the Parquet I/O around the step: what imbalanced-learn's
            // `fit_resample` is measured against in `just bench-ml`.
            let started = std::time::Instant::now();
            let (resampled, r) = oversample(p, table, ctx)?;
            ctx.metric("resample_seconds", started.elapsed().as_secs_f64());
            report = r;
            tables.push((short, resampled));
        } else {
            tables.push((short, table));
        }
    }
    Ok(StepOutput {
        tables,
        reports: vec![("smote_report".into(), report)],
        ..Default::default()
    })
}

fn oversample(p: &SmoteParams, table: Table, ctx: &StepContext) -> Result<(Table, serde_json::Value), StepError> {
    let Table { frame, roles } = table;
    let label = roles
        .label
        .clone()
        .ok_or_else(|| StepError::new("needs a label column; declare `label` in `load` or make one in `feature`"))?;
    let columns = p.columns.clone().unwrap_or_else(|| numeric_features(&frame, &roles));
    if columns.is_empty() {
        return Err(StepError::new(
            "the training table has no numeric feature columns to interpolate",
        ));
    }
    let y = binary_labels(&frame, &label, "train")?;
    let dim = columns.len();
    let mut values_by_column: Vec<Vec<f64>> = Vec::with_capacity(dim);
    for name in &columns {
        let values = column_f64(&frame, name)
            .map_err(|_| StepError::new(format!("`with.columns`: column `{name}` is missing or not numeric")))?;
        // NaN or infinity would make distances meaningless.
        if let Some(bad) = values.iter().position(|v| !v.is_finite()) {
            return Err(StepError::new(format!(
                "column `{name}` has {} at training row {}; impute in `clean` or drop such rows before `smote`",
                values[bad],
                bad + 1
            )));
        }
        values_by_column.push(values);
    }
    // Samples are rows, or windows of rows named by their last row (whose label they carry).
    let ends: Vec<usize> = if p.window > 1 {
        window_ends(&series_ranges(&frame, &roles, "train", p.window)?, p.window)
    } else {
        (0..frame.height()).collect()
    };
    let unit = if p.window > 1 { "windows" } else { "samples" };
    let positives = ends.iter().filter(|&&e| y[e] == 1.0).count();
    let negatives = ends.len() - positives;
    if positives == 0 || negatives == 0 {
        return Err(StepError::new(format!(
            "the training part has one class only (label `{label}`, {} {unit}); SMOTE needs both",
            ends.len()
        )));
    }
    let (minority_class, n_min, n_maj) = if positives <= negatives {
        (1.0, positives, negatives)
    } else {
        (0.0, negatives, positives)
    };
    if n_min < p.k_neighbors + 1 {
        return Err(StepError::new(format!(
            "`k-neighbors: {}` needs at least {} minority {unit}, but the training part has {n_min}; use `k-neighbors: {}` or fewer",
            p.k_neighbors,
            p.k_neighbors + 1,
            n_min.saturating_sub(1).max(1)
        )));
    }
    let count = synthetic_count(n_min, n_maj, p.ratio).map_err(|e| StepError::new(e.0))?;
    let minority: Vec<usize> = ends.iter().copied().filter(|&e| y[e] == minority_class).collect();
    let sample_dim = dim * p.window;
    let samples = flatten_columns(&values_by_column, &minority, p.window);
    let neighbours = nearest_neighbours(&samples, sample_dim, p.k_neighbors);
    let origins = draw(&neighbours, count, &mut Rng::new(p.seed));
    let made = origins.len();
    let new_rows = made * p.window;

    // New rows: interpolated features, the minority label; windows get a new entity each
    // (so no window crosses two of them); nothing for ids and times.
    let mut out = frame.clone();
    for name in &columns {
        let cast = out.column(name)?.cast(&DataType::Float64)?;
        out.replace(name, cast)?;
    }
    let mut synthetic_columns = synthesize_columns(&samples, dim, p.window, &origins);
    let mut new_columns: Vec<Column> = Vec::with_capacity(out.width());
    for column in out.columns() {
        let name = column.name().as_str();
        let new = if let Some(c) = columns.iter().position(|n| n == name) {
            Column::new(name.into(), std::mem::take(&mut synthetic_columns[c]))
        } else if name == label {
            Column::new(name.into(), vec![minority_class as i64; new_rows]).cast(column.dtype())?
        } else if p.window > 1 && roles.entity.as_deref() == Some(name) {
            synthetic_entities(name, column.dtype(), made, p.window)?
        } else {
            Column::full_null(name.into(), new_rows, column.dtype())
        };
        new_columns.push(new);
    }
    let extra = DataFrame::new(new_rows, new_columns)?;
    out.vstack_mut(&extra)?;
    ctx.metric("minority_before", n_min as f64);
    ctx.metric("minority_after", (n_min + made) as f64);
    ctx.metric("majority", n_maj as f64);
    ctx.metric("synthetic", made as f64);
    let report = json!({
        "label": label, "minority_class": minority_class as i64, "k_neighbors": p.k_neighbors, "ratio": p.ratio,
        "seed": p.seed, "columns": columns, "window": p.window, "unit": unit,
        "minority_before": n_min, "majority": n_maj, "synthetic": made,
        "rows_before": frame.height(), "rows_after": out.height(),
    });
    Ok((Table { frame: out, roles }, report))
}

/// Ids for synthetic windows that no real entity has: `smote-<k>` for text ids, -k for numbers.
fn synthetic_entities(name: &str, dtype: &DataType, windows: usize, length: usize) -> PolarsResult<Column> {
    let window_of = |r: usize| r / length + 1;
    if dtype.is_primitive_numeric() {
        let ids: Vec<i64> = (0..windows * length).map(|r| -(window_of(r) as i64)).collect();
        return Column::new(name.into(), ids).cast(dtype);
    }
    let ids: Vec<String> = (0..windows * length)
        .map(|r| format!("smote-{}", window_of(r)))
        .collect();
    Column::new(name.into(), ids).cast(dtype)
}

/// Reads split parts; passes them on with the train part resampled.
pub fn ports(_: &SmoteParams) -> Ports<'static> {
    Ports::on_tables(vec![Output::parts(), Output::of(OutputKind::Report, "smote_report")])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Roles;

    fn part(n: usize, positives: usize, offset: f64) -> Table {
        let x: Vec<f64> = (0..n).map(|i| offset + i as f64 * 1.5 + (i % 7) as f64).collect();
        let z: Vec<f64> = (0..n).map(|i| (i * i % 13) as f64).collect();
        let y: Vec<i64> = (0..n).map(|i| i64::from(i < positives)).collect();
        let ids: Vec<String> = (0..n).map(|i| format!("m{}", i % 4)).collect();
        let frame = df!("machine" => ids, "x" => x, "z" => z, "y" => y).unwrap();
        Table {
            frame,
            roles: Roles {
                timestamp: None,
                entity: Some("machine".into()),
                label: Some("y".into()),
            },
        }
    }

    fn run_with(p: &SmoteParams, train: Table) -> Result<StepOutput, StepError> {
        let inputs = vec![
            ("split/train".into(), train),
            ("split/val".into(), part(30, 3, 0.0)),
            ("split/test".into(), part(20, 2, 0.0)),
        ];
        let (mut ctx, _rx) = StepContext::detached(std::path::Path::new("."), inputs);
        run(p, &mut ctx)
    }

    fn params() -> SmoteParams {
        SmoteParams {
            k_neighbors: 5,
            ratio: 1.0,
            seed: 1,
            columns: None,
            window: 1,
        }
    }

    /// Four machines of 30 time-ordered rows; the last `failing` rows of machine m0 and m1 are
    /// positive.
    fn series(failing: usize) -> Table {
        let mut ids = Vec::new();
        let (mut t, mut x, mut y) = (Vec::new(), Vec::new(), Vec::new());
        for m in 0..4 {
            for i in 0..30 {
                ids.push(format!("m{m}"));
                t.push(i as i64);
                x.push(m as f64 * 10.0 + i as f64);
                y.push(i64::from(m < 2 && i >= 30 - failing));
            }
        }
        Table {
            frame: df!("machine" => ids, "t" => t, "x" => x, "y" => y).unwrap(),
            roles: Roles {
                timestamp: Some("t".into()),
                entity: Some("machine".into()),
                label: Some("y".into()),
            },
        }
    }

    #[test]
    fn windows_are_resampled_whole_and_become_new_entities() {
        let p = SmoteParams {
            window: 3,
            k_neighbors: 3,
            ratio: 0.5,
            ..params()
        };
        let out = run_with(&p, series(5)).unwrap();
        let train = &out.tables[0].1;
        // Windows of 3: 28 per machine, 112 in all; positive windows end on a positive row:
        // 5 per failing machine = 10, so 102 negatives; ratio 0.5 -> 51 minority, 41 new.
        let added = train.frame.height() - 120;
        assert_eq!(added, 41 * 3);
        let report = &out.reports[0].1;
        assert_eq!(
            (report["minority_before"].as_u64(), report["synthetic"].as_u64()),
            (Some(10), Some(41))
        );
        // Each synthetic window is its own entity of exactly 3 rows, labelled positive, and
        // lies on a segment between two real positive windows: consecutive x values keep
        // their step of 1 (every real window has x, x+1, x+2).
        let ranges = crate::frame::entity_ranges(&train.frame, Some("machine")).unwrap();
        assert_eq!(ranges.len(), 4 + 41);
        let x = column_f64(&train.frame, "x").unwrap();
        let y = column_f64(&train.frame, "y").unwrap();
        for r in &ranges[4..] {
            assert_eq!(r.len(), 3);
            assert!(y[r.clone()].iter().all(|v| *v == 1.0));
            assert!(
                (x[r.start + 1] - x[r.start] - 1.0).abs() < 1e-9
                    && (x[r.start + 2] - x[r.start + 1] - 1.0).abs() < 1e-9
            );
        }
        // Windowed SMOTE needs time order.
        let mut shuffled = series(5);
        shuffled.frame = shuffled
            .frame
            .sort(["x"], SortMultipleOptions::default().with_order_descending(true))
            .unwrap();
        let e = run_with(&p, shuffled).err().unwrap().0;
        assert!(e.contains("not in time order"), "{e}");
    }

    #[test]
    fn resamples_train_only_to_the_ratio() {
        let out = run_with(&params(), part(100, 10, 0.0)).unwrap();
        let heights: Vec<(String, usize)> = out.tables.iter().map(|(n, t)| (n.clone(), t.frame.height())).collect();
        // ratio 1.0: 90 majority -> 90 minority, so 80 new rows; val and test untouched.
        assert_eq!(
            heights,
            [
                ("train".to_string(), 180),
                ("val".to_string(), 30),
                ("test".to_string(), 20)
            ]
        );
        let train = &out.tables[0].1.frame;
        let y = column_f64(train, "y").unwrap();
        assert_eq!(y.iter().filter(|v| **v == 1.0).count(), 90);
        // Synthetic rows have no machine: they belong to no entity.
        assert_eq!(train.column("machine").unwrap().null_count(), 80);
        // Interpolated values stay within the minority range of each feature.
        let x = column_f64(train, "x").unwrap();
        let (lo, hi) = (0.0, 9.0 * 1.5 + 6.0);
        assert!(x[100..].iter().all(|v| *v >= lo && *v <= hi), "{:?}", &x[100..]);
    }

    #[test]
    fn clear_errors() {
        let err = |p: &SmoteParams, t: Table| run_with(p, t).err().unwrap().0;
        assert!(err(&params(), part(50, 0, 0.0)).contains("one class only"));
        let e = err(&params(), part(50, 4, 0.0));
        assert!(e.contains("`k-neighbors: 5` needs at least 6 minority samples, but the training part has 4; use `k-neighbors: 3` or fewer"), "{e}");
        let mut t = part(50, 10, 0.0);
        let mut x = column_f64(&t.frame, "x").unwrap();
        x[3] = f64::NAN;
        t.frame.replace("x", Column::new("x".into(), x)).unwrap();
        assert!(err(&params(), t).contains("column `x` has NaN at training row 4"));
        assert!(err(
            &SmoteParams {
                ratio: 0.01,
                ..params()
            },
            part(50, 10, 0.0)
        )
        .contains("SMOTE only adds samples"));
    }
}
