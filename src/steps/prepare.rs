//! A new file prepared exactly as the pipeline prepared its own data: the pipeline's `load`,
//! `clean` and `feature` settings replayed on another path, with no label needed, then the
//! scaler `split` fitted on the training rows. `drift` compares such a file with the training
//! data; batch scoring will prepare its input the same way, so the features a model sees can
//! never be made differently from those it learned from.

use std::sync::{Arc, Mutex};

use polars::prelude::DataFrame;

use super::clean::FENCES_FILE;
use super::context::{StepContext, StepError, StepEvent, StepEvents, StepOutput};
use super::ports::MODEL_INPUT;
use super::{clean, command, feature, load, preparer, Preparer};
use crate::frame::Table;
use crate::model::formats::Scaler;

/// Runs the `load`, `clean` and `feature` steps of `upstream` (in order) on `path`, then, when
/// `scale` says the data being compared with was scaled, applies the `scaler.json` among
/// `ctx`'s files. Warnings of the replayed steps reach `ctx`,
/// prefixed with the file and the step.
pub fn prepare(path: &str, ctx: &StepContext, scale: bool) -> Result<Table, StepError> {
    prepare_checked(NewData::File(path), ctx, scale, &|_| Ok(()))
}

/// [`prepare`] on rows already in memory (`shown` names them in messages): the pipeline's
/// `load` settings give them their roles and types as they give the file's, then the same
/// `clean` and `feature` replay. What scoring rows that arrive without a file goes through.
pub fn prepare_frame(frame: DataFrame, shown: &str, ctx: &StepContext, scale: bool) -> Result<Table, StepError> {
    prepare_checked(NewData::Frame { frame, shown }, ctx, scale, &|_| Ok(()))
}

/// The new data to prepare: a file (a path, a pattern or an `s3://` URL) or rows in memory.
pub(super) enum NewData<'a> {
    File(&'a str),
    Frame { frame: DataFrame, shown: &'a str },
}

impl NewData<'_> {
    fn shown(&self) -> &str {
        match self {
            NewData::File(path) => path,
            NewData::Frame { shown, .. } => shown,
        }
    }
}

/// [`prepare`], with `after_load` called on the file as `load` read it, before any other step
/// replays: `predict` names a missing or retyped sensor there, before `clean` trips on it.
pub(super) fn prepare_checked(
    new: NewData,
    ctx: &StepContext,
    scale: bool,
    after_load: &dyn Fn(&Table) -> Result<(), StepError>,
) -> Result<Table, StepError> {
    let path = new.shown().to_string();
    let path = path.as_str();
    let mut new = Some(new);
    let chain: Vec<(&String, Preparer)> = ctx
        .upstream
        .iter()
        .filter_map(|(id, p)| Some((id, preparer(p)?)))
        .collect();
    if !matches!(chain.first(), Some((_, Preparer::Source(_)))) {
        return Err(StepError::new(format!(
            "cannot prepare {path}: no `load` step upstream to read it the way the pipeline reads its data"
        )));
    }
    let warnings = Arc::new(Mutex::new(Vec::new()));
    let mut table: Option<Table> = None;
    let mut previous: Option<&String> = None;
    for &(id, params) in &chain {
        let collected = warnings.clone();
        let step = id.clone();
        let events: StepEvents = Box::new(move |e| {
            if let StepEvent::Warning { message } = e {
                if let Ok(mut w) = collected.lock() {
                    w.push(format!("{step}: {message}"));
                }
            }
        });
        let inputs = table
            .take()
            .map(|t| vec![(format!("{id}/frame"), t)])
            .unwrap_or_default();
        let mut child = StepContext::new(ctx.step_id.clone(), ctx.root.clone(), inputs, events);
        child.remote = ctx.remote.clone();
        child.cancel = ctx.cancel.clone();
        let fail = |e: StepError| StepError::new(format!("preparing {path} as `{id}` does: {}", e.0));
        let mut out = match params {
            Preparer::Source(p) => {
                let mut p = p.clone();
                // New data has no label yet; a label column it does carry is dropped, or it
                // would become an ordinary column (cleaned, made into features by a `feature`
                // step without `columns`, and its empty cells would drop rows).
                let label = p.roles.label.take().filter(|l| !named_by_a_step(&chain, l));
                let mut out = match new.take() {
                    Some(NewData::Frame { frame, shown }) => load::run_on_frame(&p, frame, shown, &mut child),
                    _ => {
                        p.path = path.to_string();
                        load::run(&p, &mut child)
                    }
                }
                .map_err(fail)?;
                if let Some((_, loaded)) = out.tables.iter_mut().find(|(name, _)| name == "frame") {
                    if let Some(label) = &label {
                        if loaded.frame.column(label).is_ok() {
                            loaded.frame = loaded.frame.drop(label)?;
                        }
                    }
                    after_load(loaded)?;
                    numbers_where_empty(loaded)?;
                }
                out
            }
            Preparer::Cleaner(p) => {
                let mut p = p.clone();
                if let Some(bytes) = fitted(ctx, id, FENCES_FILE) {
                    p.fitted_fences = Some(clean::parse_fences(bytes)?);
                }
                clean::run(&p, &mut child).map_err(fail)?
            }
            Preparer::Features(p) => replay_features(p, &mut child).map_err(fail)?,
            Preparer::Program(p) => {
                // The program reads its table under the name the step before it goes by.
                let from = previous.map_or(id.as_str(), |s| s.as_str());
                replay_program(p, id, from, ctx, &mut child).map_err(fail)?
            }
        };
        previous = Some(id);
        table = out.tables.drain(..).find(|(name, _)| name == "frame").map(|(_, t)| t);
    }
    for w in warnings.lock().map(|w| w.clone()).unwrap_or_default() {
        ctx.warn(format!("preparing {path}: {w}"));
    }
    let mut table = table.ok_or_else(|| StepError::new(format!("preparing {path} produced no table")))?;
    if let (true, Some(scaler)) = (scale, ctx.state::<Scaler>()) {
        let scaler = scaler.map_err(|e| StepError::new(format!("the pipeline's {e}")))?;
        apply_scaler(&mut table, &scaler)?;
    }
    Ok(table)
}

/// `feature` as it runs on new data: no label to make, rows with empty columns kept (the
/// reader of the prepared table names them), and columns the pipeline drops because they carry
/// the answer may be absent.
fn replay_features(p: &feature::FeatureParams, child: &mut StepContext) -> Result<StepOutput, StepError> {
    let mut p = p.clone();
    p.label = None;
    p.keep_rows_of_empty_columns = true;
    let present = child
        .inputs
        .first()
        .map(|(_, t)| {
            t.frame
                .get_column_names()
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    p.drop.retain(|c| present.contains(c));
    feature::run(&p, child)
}

/// The state `name` that step `id` fitted on the pipeline's data, as handed to `ctx`: a named
/// model's (`@model/ID/NAME`) first, else this pipeline's (`ID/NAME`).
fn fitted<'a>(ctx: &'a StepContext, id: &str, name: &str) -> Option<&'a [u8]> {
    [format!("{MODEL_INPUT}/{id}/{name}"), format!("{id}/{name}")]
        .iter()
        .find_map(|key| ctx.files.iter().find(|(k, _)| k == key))
        .map(|(_, bytes)| bytes.as_slice())
}

/// A user's transform as it runs on new data: handed the state it fitted on the pipeline's data
/// (a named model's first), it writes only its table.
fn replay_program(
    p: &command::CommandParams,
    id: &str,
    from: &str,
    ctx: &StepContext,
    child: &mut StepContext,
) -> Result<StepOutput, StepError> {
    let input = child.take_single_input()?;
    let state: Vec<(String, Vec<u8>)> = p
        .state_outputs()
        .into_iter()
        .filter_map(|name| Some((name.to_string(), fitted(ctx, id, name)?.to_vec())))
        .collect();
    let prepared = command::transform(p, from, input, &state, child)?;
    Ok(StepOutput {
        tables: vec![("frame".into(), prepared)],
        ..Default::default()
    })
}

/// A column the new file has no value in (a sensor with no readings) has no type of its own:
/// the CSV reader calls it text, which `clean` would refuse and `feature` would not make
/// features from. As numbers, all missing, it goes through the steps as the pipeline's data did
/// (`feature` keeps the rows, `keep_rows_of_empty_columns`), and the reader of the prepared
/// table names it.
fn numbers_where_empty(table: &mut Table) -> Result<(), StepError> {
    let rows = table.frame.height();
    let empty: Vec<String> = table
        .frame
        .columns()
        .iter()
        .filter(|c| rows > 0 && c.null_count() == rows && !c.dtype().is_primitive_numeric())
        .map(|c| c.name().to_string())
        .filter(|name| !table.roles.is_role(name))
        .collect();
    for name in empty {
        let numbers = table.frame.column(&name)?.cast(&polars::prelude::DataType::Float64)?;
        table.frame.replace(&name, numbers)?;
    }
    Ok(())
}

/// Whether a `clean` or `feature` step of `chain` lists `column` under `columns`.
fn named_by_a_step(chain: &[(&String, Preparer)], column: &str) -> bool {
    chain.iter().any(|(_, p)| {
        let columns = match p {
            Preparer::Cleaner(c) => c.columns.as_ref(),
            Preparer::Features(f) => f.columns.as_ref(),
            Preparer::Source(_) | Preparer::Program(_) => None,
        };
        columns.is_some_and(|c| c.iter().any(|n| n == column))
    })
}

/// Applies `split`'s scaler (`{"columns": {name: {offset, scale}}}`, as `scaler.json` and the
/// model card hold it) to the columns it names; a named column the table lacks is an error
/// naming it.
pub(super) fn apply_scaler(table: &mut Table, scaler: &Scaler) -> Result<(), StepError> {
    for (name, scale) in &scaler.columns {
        let values = crate::frame::column_f64(&table.frame, name).map_err(|_| {
            StepError::new(format!(
                "column `{name}`, which the pipeline scales, is missing or not numeric in the prepared file"
            ))
        })?;
        let scaled: Vec<f64> = values.iter().map(|v| scale.transform(*v)).collect();
        table.frame.replace(name, crate::frame::f64_column(name, scaled))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::{parse_params, StepKind, StepParams};

    fn step(kind: StepKind, with: &str) -> StepParams {
        crate::steps::parse_with(with, |f| parse_params(kind, f))
    }

    /// `load` of the shipped sample, with its label.
    fn sensors_load() -> (String, StepParams) {
        let with = "{path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}";
        ("load".to_string(), step(StepKind::Load, with))
    }

    /// `load` of the sample, `clean` and a `feature` step making rolling means and deviations
    /// and lags of two sensors.
    fn sensors_chain() -> Vec<(String, StepParams)> {
        vec![
            sensors_load(),
            ("clean".to_string(), step(StepKind::Clean, "{impute: median}")),
            (
                "feature".to_string(),
                step(
                    StepKind::Feature,
                    "{columns: [temperature, rpm], rolling: {windows: [3], stats: [mean, std]}, lags: [1]}",
                ),
            ),
        ]
    }

    /// The pipeline's own data, prepared again: the same frame the steps made, value for value
    /// (no training/serving skew by construction), without the label.
    #[test]
    fn preparing_the_pipelines_own_file_gives_its_features_back() {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let chain = sensors_chain();
        // The steps themselves.
        let mut table: Option<Table> = None;
        for (id, params) in &chain {
            let inputs = table
                .take()
                .map(|t| vec![(format!("{id}/frame"), t)])
                .unwrap_or_default();
            let (mut ctx, _rx) = StepContext::detached(&root, inputs);
            table = Some(crate::steps::run(params, &mut ctx).unwrap().tables.remove(0).1);
        }
        let made = table.unwrap();
        let (mut ctx, _rx) = StepContext::detached(&root, Vec::new());
        ctx.upstream = chain;
        let prepared = prepare("data/sensors.csv", &ctx, true).unwrap();
        assert!(prepared.roles.label.is_none(), "new data has no label");
        assert!(
            prepared.frame.column("failure").is_err(),
            "the label column the file carries is dropped, not made an input"
        );
        assert_eq!(prepared.frame.height(), made.frame.height());
        for name in [
            "temperature",
            "temperature_roll3_mean",
            "temperature_roll3_std",
            "rpm_lag1",
        ] {
            let (a, b) = (
                crate::frame::column_f64(&made.frame, name).unwrap(),
                crate::frame::column_f64(&prepared.frame, name).unwrap(),
            );
            let same = a.iter().zip(&b).all(|(x, y)| (x.is_nan() && y.is_nan()) || x == y);
            assert!(same, "{name} differs");
        }
    }

    /// A `feature` step without `columns` takes every numeric column: the label a new file
    /// carries must not become one (its lags would be features the model never saw, and its
    /// empty cells would drop rows).
    #[test]
    fn a_label_in_the_new_file_makes_no_features() {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let chain = vec![
            sensors_load(),
            ("feature".to_string(), step(StepKind::Feature, "{lags: [1]}")),
        ];
        let (mut ctx, _rx) = StepContext::detached(&root, Vec::new());
        ctx.upstream = chain;
        let prepared = prepare("data/sensors.csv", &ctx, false).unwrap();
        let names: Vec<String> = prepared
            .frame
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert!(!names.iter().any(|n| n.starts_with("failure")), "{names:?}");
        assert!(names.contains(&"rpm_lag1".to_string()), "{names:?}");
    }

    /// Rows in memory (as a scoring request brings them: timestamps as text) come out prepared
    /// exactly as the same rows read from their file.
    #[test]
    fn rows_in_memory_are_prepared_as_their_file_is() {
        use polars::prelude::{CsvReadOptions, SerReader};
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let chain = sensors_chain();
        let (mut ctx, _rx) = StepContext::detached(&root, Vec::new());
        ctx.upstream = chain;
        let from_file = prepare("data/sensors.csv", &ctx, false).unwrap();
        let rows = CsvReadOptions::default()
            .try_into_reader_with_file_path(Some(root.join("data/sensors.csv")))
            .unwrap()
            .finish()
            .unwrap();
        assert!(
            rows.column("timestamp").unwrap().dtype().is_string(),
            "text, as a request sends it"
        );
        let from_rows = prepare_frame(rows, "the request", &ctx, false).unwrap();
        assert_eq!(from_rows.roles, from_file.roles);
        assert!(
            from_rows.frame.equals_missing(&from_file.frame),
            "{from_rows:?}\n{from_file:?}"
        );
        // Rows the pipeline could not read are refused as the file would be, named as given.
        let bad = polars::df!("timestamp" => ["not a time"], "equipment_id" => ["e1"]).unwrap();
        let err = prepare_frame(bad, "the request", &ctx, false).unwrap_err().0;
        assert!(err.contains("the request") && err.contains("not a date-time"), "{err}");
    }
}
