//! `clean`: sort by entity and time, drop exact duplicates, impute gaps per entity, and find
//! outliers (report, clip or drop). Every change is counted and logged as a metric.

mod order;
mod resample;

use polars::prelude::*;

use crate::frame::{numeric_features, Roles, Table};
use crate::ml::impute::{count_missing, impute, ImputeMethod};
use crate::ml::outliers::{clip, fences, outlier_indices, Fences, OutlierRule};
use crate::pipeline::fields::Fields;
use crate::pipeline::node::Value;
use crate::steps::context::{StepContext, StepError, StepOutput};
use crate::steps::ports::{Output, OutputKind, Ports};
use resample::{Aggregate, Resample};

#[derive(Debug, Clone, PartialEq)]
pub struct CleanParams {
    pub sort: bool,
    pub dedupe: bool,
    /// Method for every feature column, overridden per column.
    pub impute: Option<ImputeMethod>,
    pub impute_columns: Vec<(String, Option<ImputeMethod>)>,
    /// Columns to impute and check; default: every numeric column that is not a role.
    pub columns: Option<Vec<String>>,
    pub outliers: Option<Outliers>,
    /// Fixed time bins per entity, before imputing (which then fills the empty bins).
    pub resample: Option<Resample>,
    /// Whole-table outlier fences fitted by an earlier run of this step (column -> fences),
    /// used instead of fitting them again: new data replayed through a pipeline (`predict`,
    /// `drift`'s `current: {path}`) is clipped where the training data was. Never from YAML.
    pub fitted_fences: Option<std::collections::BTreeMap<String, Fences>>,
}

/// The file `clean` writes its whole-table fences to, for replays of the step on new data.
pub use crate::model::formats::OUTLIER_FENCES as FENCES_FILE;
use crate::model::formats::{self, OutlierFences};

#[derive(Debug, Clone, PartialEq)]
pub struct Outliers {
    pub rule: OutlierRule,
    pub action: OutlierAction,
    pub per_entity: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutlierAction {
    Report,
    Clip,
    Drop,
}

const METHODS: &[&str] = &["none", "ffill", "bfill", "mean", "median", "interpolate"];

fn method(name: &str) -> Option<ImputeMethod> {
    match name {
        "ffill" => Some(ImputeMethod::Ffill),
        "bfill" => Some(ImputeMethod::Bfill),
        "mean" => Some(ImputeMethod::Mean),
        "median" => Some(ImputeMethod::Median),
        "interpolate" => Some(ImputeMethod::Interpolate),
        _ => None,
    }
}

pub fn parse(f: &mut Fields) -> Option<CleanParams> {
    let sort = f.optional_bool("sort").unwrap_or(true);
    let dedupe = f.optional_bool("dedupe").unwrap_or(true);
    let columns = f.optional_str_list("columns");
    let mut impute_all = None;
    let mut impute_columns = Vec::new();
    if let Some(node) = f.node("impute") {
        match &node.value {
            Value::Map(entries) => {
                for (key, value) in entries {
                    if let Some(m) = f.expect_choice(&format!("impute.{}", key.name), value, METHODS) {
                        impute_columns.push((key.name.clone(), method(m)));
                    }
                }
            }
            _ => impute_all = f.expect_choice("impute", node, METHODS).and_then(method),
        }
    }
    let outliers = f.node("outliers").and_then(|node| {
        if node.as_str() == Some("none") {
            return None;
        }
        let context = format!("{} `outliers`", f.context());
        let mut o = Fields::new(node, context, f.diags)?;
        let kind = o.optional_choice("method", &["iqr", "zscore"]).unwrap_or("iqr");
        let factor = o.optional_f64("factor", 0.0, 100.0).unwrap_or(1.5);
        let threshold = o.optional_f64("threshold", 0.0, 100.0).unwrap_or(3.0);
        let action = match o.optional_choice("action", &["report", "clip", "drop"]) {
            Some("clip") => OutlierAction::Clip,
            Some("drop") => OutlierAction::Drop,
            _ => OutlierAction::Report,
        };
        let per_entity = o.optional_bool("per-entity").unwrap_or(false);
        o.finish();
        let rule = if kind == "iqr" {
            OutlierRule::Iqr { factor }
        } else {
            OutlierRule::ZScore { threshold }
        };
        Some(Outliers {
            rule,
            action,
            per_entity,
        })
    });
    let resample = f.node("resample").and_then(|node| parse_resample(node, f));
    Some(CleanParams {
        sort,
        dedupe,
        impute: impute_all,
        impute_columns,
        columns,
        outliers,
        resample,
        fitted_fences: None,
    })
}

/// `resample: 1h`, or `resample: {every: 1h, how: mean, columns: {failure_event: max}}`.
fn parse_resample(node: &crate::pipeline::node::Node, f: &mut Fields) -> Option<Resample> {
    if !matches!(node.value, Value::Map(_)) {
        let every = crate::steps::spans::span_of(node, f, "resample")?;
        return Some(Resample {
            every,
            how: Aggregate::Mean,
            columns: Vec::new(),
        });
    }
    let context = format!("{} `resample`", f.context());
    let mut r = Fields::new(node, context, f.diags)?;
    let every = match r.node("every") {
        Some(n) => crate::steps::spans::span_of(n, &mut r, "resample.every"),
        None => {
            let pos = r.pos();
            r.error(
                pos,
                "`every` is required: the bin width, such as 1h (or a number for cycles)",
            );
            None
        }
    };
    let how = r
        .optional_choice("how", Aggregate::NAMES)
        .and_then(Aggregate::from_name)
        .unwrap_or(Aggregate::Mean);
    let mut columns = Vec::new();
    if let Some(Value::Map(entries)) = r.node("columns").map(|n| &n.value) {
        for (key, value) in entries {
            if let Some(a) = r.expect_choice(&format!("columns.{}", key.name), value, Aggregate::NAMES) {
                columns.extend(Aggregate::from_name(a).map(|a| (key.name.clone(), a)));
            }
        }
    }
    r.finish();
    Some(Resample {
        every: every?,
        how,
        columns,
    })
}

pub fn run(p: &CleanParams, ctx: &mut StepContext) -> Result<StepOutput, StepError> {
    let Table { mut frame, roles } = ctx.take_single_input()?;
    ctx.metric("rows_in", frame.height() as f64);
    frame = drop_rows_without_keys(frame, &roles, ctx)?;
    let rows_in = frame.height();

    frame = sort_and_dedupe(p, frame, &roles, ctx)?;
    if let Some(spec) = &p.resample {
        frame = resample_rows(&frame, &roles, spec, ctx)?;
    }

    let columns = target_columns(p, &frame, &roles)?;
    let groups = crate::frame::entity_ranges(&frame, roles.entity.as_deref())?;
    let mut report = serde_json::Map::new();
    let mut drop_rows = vec![false; frame.height()];
    let mut fitted = std::collections::BTreeMap::new();
    for name in &columns {
        let method = p
            .impute_columns
            .iter()
            .find(|(c, _)| c == name)
            .map(|(_, m)| *m)
            .unwrap_or(p.impute);
        let mut values = to_f64(&frame, name)?;
        let missing_before = count_missing(&values);
        let imputed = match method {
            Some(m) => groups.iter().map(|r| impute(&mut values[r.clone()], m)).sum(),
            None => 0,
        };
        let mut entry = serde_json::json!({ "missing": missing_before, "imputed": imputed, "missing_after": count_missing(&values) });
        ctx.metric(format!("imputed.{name}"), imputed as f64);
        if let Some(o) = &p.outliers {
            let ranges = if o.per_entity {
                groups.clone()
            } else {
                std::iter::once(0..values.len()).collect()
            };
            let (mut found, mut clipped) = (0usize, 0usize);
            for range in ranges {
                let given = match (&p.fitted_fences, o.per_entity) {
                    (Some(f), false) => f.get(name).copied(),
                    _ => None,
                };
                let Some(fence) = given.or_else(|| fences(&values[range.clone()], o.rule)) else {
                    continue;
                };
                let idx = outlier_indices(&values[range.clone()], &fence);
                found += idx.len();
                match o.action {
                    OutlierAction::Report => {}
                    OutlierAction::Clip => clipped += clip(&mut values[range.clone()], &fence),
                    OutlierAction::Drop => idx.iter().for_each(|i| drop_rows[range.start + i] = true),
                }
                if !o.per_entity {
                    entry["fences"] = serde_json::json!([fence.low, fence.high]);
                    fitted.insert(name.clone(), fence);
                }
            }
            entry["outliers"] = found.into();
            ctx.metric(format!("outliers.{name}"), found as f64);
            if o.action == OutlierAction::Clip {
                entry["clipped"] = clipped.into();
                ctx.metric(format!("clipped.{name}"), clipped as f64);
            }
        }
        let changed = imputed > 0 || entry.get("clipped").and_then(serde_json::Value::as_u64).unwrap_or(0) > 0;
        if changed {
            frame.replace(name, crate::frame::f64_column(name, values))?;
        }
        report.insert(name.clone(), entry);
    }
    let (frame, dropped) = drop_marked_rows(p, frame, &drop_rows, ctx)?;
    let summary = serde_json::json!({
        "rows_in": rows_in,
        "rows_out": frame.height(),
        "outlier_rows_dropped": dropped,
        "columns": report,
    });
    // Fences that change data (clip, drop) are part of what the step learned from its data.
    let files = match &p.outliers {
        Some(o) if !o.per_entity && o.action != OutlierAction::Report && !fitted.is_empty() => {
            let fences = OutlierFences {
                columns: fitted
                    .iter()
                    .map(|(c, f): (&String, &Fences)| (c.clone(), (f.low, f.high)))
                    .collect(),
            };
            vec![(FENCES_FILE.to_string(), formats::to_json(&fences))]
        }
        _ => Vec::new(),
    };
    Ok(StepOutput {
        tables: vec![("frame".into(), Table { frame, roles })],
        reports: vec![("clean_report".into(), summary)],
        files,
    })
}

/// The rows outliers marked for dropping removed, with the counts as metrics; refused when no
/// row is left.
fn drop_marked_rows(
    p: &CleanParams,
    mut frame: DataFrame,
    drop_rows: &[bool],
    ctx: &StepContext,
) -> Result<(DataFrame, usize), StepError> {
    let dropped = drop_rows.iter().filter(|d| **d).count();
    if dropped > 0 {
        let keep: BooleanChunked = drop_rows.iter().map(|d| !d).collect();
        frame = frame.filter(&keep)?;
    }
    if p.outliers.as_ref().is_some_and(|o| o.action == OutlierAction::Drop) {
        ctx.metric("outlier_rows_dropped", dropped as f64);
    }
    ctx.metric("rows_out", frame.height() as f64);
    if frame.height() == 0 {
        return Err(StepError::new(
            "no rows are left after cleaning; loosen `outliers` or check the input",
        ));
    }
    Ok((frame, dropped))
}

/// `sort` (by entity, then timestamp) and `dedupe` (rows repeated whole; rows that repeat only
/// the keys are counted and warned of).
fn sort_and_dedupe(
    p: &CleanParams,
    mut frame: DataFrame,
    roles: &Roles,
    ctx: &StepContext,
) -> Result<DataFrame, StepError> {
    let rows_in = frame.height();
    let mut sort_keys: Vec<PlSmallStr> = Vec::new();
    if let Some(e) = &roles.entity {
        sort_keys.push(e.as_str().into());
    }
    if let Some(t) = &roles.timestamp {
        sort_keys.push(t.as_str().into());
    }
    let mut known_order = None;
    if p.sort && !sort_keys.is_empty() {
        (frame, known_order) = order::sort_by_keys(frame, &sort_keys)?;
    } else if p.sort {
        ctx.warn("no `timestamp` or `entity` declared by `load`: rows keep their file order");
    }
    if p.dedupe {
        // Only a frame this step has put in key order lets repeats be looked for among rows
        // with equal keys.
        let sorted_keys = if p.sort { sort_keys.as_slice() } else { &[] };
        let conflicts;
        (frame, conflicts) = order::drop_repeats(frame, sorted_keys, known_order)?;
        ctx.metric("duplicates_dropped", (rows_in - frame.height()) as f64);
        if let (Some(n), Some(ts)) = (conflicts, &roles.timestamp) {
            ctx.metric("conflicting_readings", n as f64);
            if n > 0 {
                ctx.warn(format!(
                    "{n} rows repeat an earlier row's {} with different values (double logging, or a clock set back?); both are kept, so windows and lags count them as separate readings",
                    match &roles.entity {
                        Some(e) => format!("`{e}` and `{ts}`"),
                        None => format!("`{ts}`"),
                    },
                ));
            }
        }
    }
    Ok(frame)
}

/// `resample`: the rows binned by time, with the counts as metrics.
fn resample_rows(
    frame: &DataFrame,
    roles: &Roles,
    spec: &resample::Resample,
    ctx: &StepContext,
) -> Result<DataFrame, StepError> {
    let rows_before = frame.height();
    let (binned, empty) = resample::resample(frame, roles, spec)?;
    ctx.metric("resample_rows_in", rows_before as f64);
    ctx.metric("resample_empty_bins", empty as f64);
    Ok(binned)
}

/// The feature columns to clean: those listed under `columns` (checked), else every numeric
/// non-role column.
fn target_columns(p: &CleanParams, frame: &DataFrame, roles: &Roles) -> Result<Vec<String>, StepError> {
    let names: Vec<String> = frame.get_column_names().iter().map(|n| n.to_string()).collect();
    let requested: Vec<String> = match &p.columns {
        Some(c) => c.clone(),
        // Flags (failure events, alarms) are not measurements: their "outliers" are the very
        // events (an IQR of 0 puts every 1 outside the fences, so `clip` or `drop` would erase
        // the failures) and interpolating them makes fractions. Named under `columns`, they
        // are cleaned like any other column.
        None => numeric_features(frame, roles)
            .into_iter()
            .filter(|c| frame.column(c).map(|c| !crate::frame::is_flag(c)).unwrap_or(true))
            .collect(),
    };
    for c in requested.iter().chain(p.impute_columns.iter().map(|(c, _)| c)) {
        if !names.contains(c) {
            let hint = crate::pipeline::diagnostic::did_you_mean(c, names.iter().map(String::as_str));
            return Err(StepError::new(format!(
                "column `{c}` is not in the input{hint}; columns are: {}",
                names.join(", ")
            )));
        }
    }
    let mut out = requested;
    for (c, _) in &p.impute_columns {
        if !out.contains(c) {
            out.push(c.clone());
        }
    }
    Ok(out)
}

/// Rows without a timestamp or an entity cannot be put in order or given to a machine: they
/// are dropped, counted (`rows_missing_key`) and reported with the first one's row number.
fn drop_rows_without_keys(frame: DataFrame, roles: &Roles, ctx: &StepContext) -> Result<DataFrame, StepError> {
    let keys: Vec<&String> = [&roles.timestamp, &roles.entity].into_iter().flatten().collect();
    let mut missing: Option<BooleanChunked> = None;
    for key in &keys {
        let nulls = frame.column(key)?.is_null();
        missing = Some(match missing {
            Some(m) => &m | &nulls,
            None => nulls,
        });
    }
    let Some(missing) = missing else { return Ok(frame) };
    let count = missing.sum().unwrap_or(0) as usize;
    ctx.metric("rows_missing_key", count as f64);
    if count == 0 {
        return Ok(frame);
    }
    let first = missing.iter().position(|m| m == Some(true)).unwrap_or(0);
    let names: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    ctx.warn(format!(
        "dropped {count} rows without {} (the first is row {} of the input): they cannot be ordered or given to a machine",
        names.join(" or "),
        first + 1
    ));
    if count == frame.height() {
        return Err(StepError::new(format!(
            "every row lacks {}; check the `timestamp` and `entity` columns named in `load`",
            names.join(" or ")
        )));
    }
    Ok(frame.filter(&!missing)?)
}

fn to_f64(frame: &DataFrame, name: &str) -> Result<Vec<f64>, StepError> {
    let column = frame.column(name)?;
    if !column.dtype().is_primitive_numeric() {
        return Err(StepError::new(format!(
            "column `{name}` is {}, not numeric; it cannot be imputed or checked for outliers",
            column.dtype()
        )));
    }
    Ok(crate::frame::column_f64(frame, name)?)
}

/// Reads a [`FENCES_FILE`] back (`{"columns": {name: [low, high]}}`).
pub fn parse_fences(bytes: &[u8]) -> Result<std::collections::BTreeMap<String, Fences>, StepError> {
    let fences = OutlierFences::parse(bytes)?;
    Ok(fences
        .columns
        .into_iter()
        .map(|(name, (low, high))| (name, Fences { low, high }))
        .collect())
}

/// Reads one frame; writes it cleaned, with the outlier fences it fitted (new data is cleaned
/// with them).
pub fn ports(_: &CleanParams) -> Ports<'static> {
    Ports::on_tables(vec![
        Output::table("frame"),
        Output::of(OutputKind::Report, "clean_report"),
        Output::of(OutputKind::State, FENCES_FILE),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::context::drain_metrics;

    /// Two machines written out of order, one repeated row, gaps at the start, middle and end.
    fn table() -> Table {
        let frame = df!(
            "machine" => ["B", "A", "A", "A", "B", "A", "B", "A"],
            "t" => [2i64, 1, 2, 3, 1, 3, 3, 4],
            "x" => [Some(10.0), Some(1.0), None, Some(3.0), None, Some(3.0), Some(20.0), None],
        )
        .unwrap();
        Table {
            frame,
            roles: Roles {
                timestamp: Some("t".into()),
                entity: Some("machine".into()),
                label: None,
            },
        }
    }

    fn params(impute: Option<ImputeMethod>) -> CleanParams {
        CleanParams {
            sort: true,
            dedupe: true,
            impute,
            impute_columns: Vec::new(),
            columns: None,
            outliers: None,
            resample: None,
            fitted_fences: None,
        }
    }

    fn clean(p: &CleanParams, t: Table) -> (DataFrame, Vec<(String, f64)>) {
        let (mut ctx, mut rx) = StepContext::detached(std::path::Path::new("."), vec![("load/frame".into(), t)]);
        let out = run(p, &mut ctx).unwrap();
        (out.tables.into_iter().next().unwrap().1.frame, drain_metrics(&mut rx))
    }

    fn x(frame: &DataFrame) -> Vec<Option<f64>> {
        frame.column("x").unwrap().f64().unwrap().iter().collect()
    }

    // Expected values worked out by hand. Sorted by (machine, t) and deduplicated:
    //   A: t=1..4, x = [1, -, 3, -]     B: t=1..3, x = [-, 10, 20]
    #[test]
    fn sorts_dedupes_and_ffills_within_each_machine() {
        let (frame, metrics) = clean(&params(Some(ImputeMethod::Ffill)), table());
        let machines: Vec<&str> = frame
            .column("machine")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .flatten()
            .collect();
        assert_eq!(machines, ["A", "A", "A", "A", "B", "B", "B"]);
        // B's first value stays missing: a forward fill must not carry A's last value into B.
        assert_eq!(
            x(&frame),
            [Some(1.0), Some(1.0), Some(3.0), Some(3.0), None, Some(10.0), Some(20.0)]
        );
        assert!(metrics.contains(&("duplicates_dropped".into(), 1.0)));
        assert!(metrics.contains(&("conflicting_readings".into(), 0.0)));
        assert!(metrics.contains(&("imputed.x".into(), 2.0)));
        assert!(metrics.contains(&("rows_out".into(), 7.0)));
    }

    #[test]
    fn flags_are_not_measurements_and_keep_their_events() {
        let mut t = table();
        // One failure event among eight rows: its IQR is 0, so a clip would erase it.
        let event = Column::new("event".into(), [0i64, 0, 0, 1, 0, 0, 0, 0]);
        t.frame.with_column(event).unwrap();
        let mut p = params(Some(ImputeMethod::Ffill));
        p.outliers = Some(Outliers {
            rule: OutlierRule::Iqr { factor: 1.5 },
            action: OutlierAction::Clip,
            per_entity: false,
        });
        let (frame, metrics) = clean(&p, t.clone());
        assert_eq!(frame.column("event").unwrap().i64().unwrap().sum(), Some(1));
        assert!(!metrics.iter().any(|(k, _)| k.ends_with(".event")), "{metrics:?}");
        assert!(metrics.iter().any(|(k, _)| k == "imputed.x"), "{metrics:?}");
        // Named under `columns`, a flag is cleaned like any other column.
        p.columns = Some(vec!["x".into(), "event".into()]);
        let (frame, _) = clean(&p, t);
        let event = frame.column("event").unwrap().cast(&DataType::Float64).unwrap();
        assert_eq!(event.f64().unwrap().sum(), Some(0.0), "clipped to the fences [0, 0]");
    }

    #[test]
    fn rows_without_a_time_or_machine_are_dropped_and_counted() {
        let mut t = table();
        t.frame = t
            .frame
            .vstack(
                &df!("machine" => [None, Some("A")], "t" => [Some(9i64), None], "x" => [Some(1.0), Some(2.0)]).unwrap(),
            )
            .unwrap();
        let (frame, metrics) = clean(&params(None), t);
        assert_eq!(frame.height(), 7, "8 rows, one exact repeat, two without keys");
        assert!(metrics.contains(&("rows_in".into(), 10.0)));
        assert!(metrics.contains(&("rows_missing_key".into(), 2.0)));
    }

    #[test]
    fn two_different_readings_for_one_moment_are_kept_and_counted() {
        let mut t = table();
        // A second reading for machine A at t=3 with another value, next to the exact repeat.
        t.frame = t
            .frame
            .vstack(&df!("machine" => ["A"], "t" => [3i64], "x" => [Some(3.5)]).unwrap())
            .unwrap();
        let (frame, metrics) = clean(&params(None), t);
        assert_eq!(frame.height(), 8, "the exact repeat goes, the differing reading stays");
        assert!(metrics.contains(&("duplicates_dropped".into(), 1.0)));
        assert!(metrics.contains(&("conflicting_readings".into(), 1.0)));
    }

    #[test]
    fn interpolate_and_mean_are_per_machine() {
        let (frame, _) = clean(&params(Some(ImputeMethod::Interpolate)), table());
        // A: 2 between 1 and 3; the trailing gap takes the last value (pandas' interpolate).
        assert_eq!(
            x(&frame),
            [Some(1.0), Some(2.0), Some(3.0), Some(3.0), None, Some(10.0), Some(20.0)]
        );
        let (frame, _) = clean(&params(Some(ImputeMethod::Mean)), table());
        // A's mean is (1 + 3) / 2 = 2; B's is (10 + 20) / 2 = 15.
        assert_eq!(
            x(&frame),
            [
                Some(1.0),
                Some(2.0),
                Some(3.0),
                Some(2.0),
                Some(15.0),
                Some(10.0),
                Some(20.0)
            ]
        );
    }

    #[test]
    fn iqr_outliers_report_clip_or_drop() {
        let frame = df!("t" => [1i64, 2, 3, 4, 5], "y" => [1.0, 2.0, 3.0, 4.0, 100.0]).unwrap();
        let t = Table {
            frame,
            roles: Roles {
                timestamp: Some("t".into()),
                ..Roles::default()
            },
        };
        // numpy.percentile([1,2,3,4,100], [25, 75]) = [2, 4]; IQR 2; fences 2-3 = -1 and 4+3 = 7.
        let with = |action| CleanParams {
            outliers: Some(Outliers {
                rule: OutlierRule::Iqr { factor: 1.5 },
                action,
                per_entity: false,
            }),
            ..params(None)
        };
        let col = |f: &DataFrame| {
            f.column("y")
                .unwrap()
                .f64()
                .unwrap()
                .iter()
                .flatten()
                .collect::<Vec<_>>()
        };
        let (frame, metrics) = clean(&with(OutlierAction::Report), t.clone());
        assert_eq!(col(&frame), [1.0, 2.0, 3.0, 4.0, 100.0]);
        assert!(metrics.contains(&("outliers.y".into(), 1.0)));
        let (frame, metrics) = clean(&with(OutlierAction::Clip), t.clone());
        assert_eq!(col(&frame), [1.0, 2.0, 3.0, 4.0, 7.0]);
        assert!(metrics.contains(&("clipped.y".into(), 1.0)));
        let (frame, metrics) = clean(&with(OutlierAction::Drop), t);
        assert_eq!(col(&frame), [1.0, 2.0, 3.0, 4.0]);
        assert!(metrics.contains(&("outlier_rows_dropped".into(), 1.0)));
    }

    #[test]
    fn unknown_column_is_named_with_a_suggestion() {
        let p = CleanParams {
            columns: Some(vec!["xx".into()]),
            ..params(None)
        };
        let (mut ctx, _rx) = StepContext::detached(std::path::Path::new("."), vec![("load/frame".into(), table())]);
        let err = run(&p, &mut ctx).err().unwrap().0;
        assert!(
            err.contains("column `xx` is not in the input (did you mean `x`?)"),
            "{err}"
        );
    }
}
