//! `feature`: per-entity, time-ordered features (rolling statistics over rows or durations,
//! lags, differences, time of day and day of week, interactions, one-hot categories) and label
//! engineering (failure within a horizon), with a manifest recording how each was made.

mod dropped;
mod event_log;
mod label;
mod per_column;
mod row;
mod spec;

use polars::prelude::*;
use serde_json::json;

use crate::frame::{column_f64_ref, entity_ranges, f64_column, numeric_features, time_values, Roles, Table};
use crate::model::formats::FEATURE_MANIFEST;
use crate::pipeline::diagnostic::did_you_mean;
use crate::steps::context::{StepContext, StepError, StepOutput};
use crate::steps::ports::{Input, Output, OutputKind, Ports};
use crate::steps::spans::WindowSpec;
use label::{label_sources, make_label};
use row as row_features;

pub use spec::{parse, FeatureParams, LabelSpec};

/// A generated column and how it was made, for the manifest.
pub(super) struct Made {
    pub(super) name: String,
    pub(super) values: Vec<f64>,
    pub(super) manifest: serde_json::Value,
}

pub fn run(p: &FeatureParams, ctx: &mut StepContext) -> Result<StepOutput, StepError> {
    let Table { frame, roles } = ctx.take_single_input()?;
    let input = InputColumns {
        names: frame.get_column_names().iter().map(|n| n.to_string()).collect(),
        answers: label_sources(p.label.as_ref(), &roles),
    };
    let sources = source_columns(p, &frame, &roles, &input)?;
    let ranges = entity_ranges(&frame, roles.entity.as_deref())?;
    let times = match &roles.timestamp {
        Some(ts) => Some(time_values(&frame, ts)?),
        None => None,
    };
    if let Some((t, _)) = &times {
        check_monotonic(t, &ranges, &frame, &roles)?;
    }
    check_windows(p, &ranges, &times, &roles, ctx)?;
    let made = features(p, &frame, &roles, &sources, &ranges, &times, &input)?;
    let label = match &p.label {
        Some(spec) => Some(make_label(spec, &frame, &roles, &ranges, &times, ctx)?),
        None => None,
    };
    check_unique_names(&made, label.as_ref(), &input.names)?;
    // Decided before the values move into the frame.
    let keep = match p.drop_na {
        true => Some(rows_to_keep(p, &made, &frame, &sources, &ranges)?),
        false => None,
    };
    let manifest = json!({
        "features": made.iter().map(|m| &m.manifest).collect::<Vec<_>>(),
        "label": label.as_ref().map(|l| &l.manifest),
        "removed-label-sources": input.answers,
        "entity": roles.entity,
        "timestamp": roles.timestamp,
    });
    let Table { frame, roles } = add_columns(Table { frame, roles }, made, label, ctx)?;
    let frame = drop_columns(frame, &roles, p, &input)?;
    let frame = drop_incomplete_rows(frame, keep, ctx)?;
    Ok(StepOutput {
        tables: vec![("frame".into(), Table { frame, roles })],
        // A file, not a report: `train` copies it into the model card.
        files: vec![(
            FEATURE_MANIFEST.into(),
            serde_json::to_vec_pretty(&manifest).unwrap_or_default(),
        )],
        ..Default::default()
    })
}

/// The input's column names, and those that carry the answer: the event column a new label is
/// made from, and a label declared before this step. A feature made from them at row t would
/// see the failure the label marks at t, so they are never sources and they leave the table.
struct InputColumns {
    names: Vec<String>,
    answers: Vec<String>,
}

impl InputColumns {
    /// `c`, named by `with.key`, is a column of the input.
    fn check(&self, c: &str, key: &str) -> Result<(), StepError> {
        if self.names.iter().any(|n| n == c) {
            Ok(())
        } else {
            let hint = did_you_mean(c, self.names.iter().map(String::as_str));
            Err(StepError::new(format!(
                "`with.{key}`: column `{c}` is not in the input{hint}; columns are: {}",
                self.names.join(", ")
            )))
        }
    }

    /// `c`, named by `with.key`, does not carry the label.
    fn refuse_answer(&self, c: &str, key: &str) -> Result<(), StepError> {
        match self.answers.iter().find(|a| a.as_str() == c) {
            Some(a) => Err(StepError::new(format!(
                "`with.{key}`: column `{a}` carries the label (it marks the failures the label is made from), so a feature made from it would leak the answer into the model's inputs; leave it out"
            ))),
            None => Ok(()),
        }
    }
}

/// The columns features are made from: `with.columns`, else every numeric feature column that
/// does not carry the answer.
fn source_columns(
    p: &FeatureParams,
    frame: &DataFrame,
    roles: &Roles,
    input: &InputColumns,
) -> Result<Vec<String>, StepError> {
    Ok(match &p.columns {
        Some(c) => {
            c.iter().try_for_each(|c| input.check(c, "columns"))?;
            c.iter().try_for_each(|c| input.refuse_answer(c, "columns"))?;
            c.clone()
        }
        None => numeric_features(frame, roles)
            .into_iter()
            .filter(|c| !input.answers.contains(c))
            .collect(),
    })
}

/// The timestamps in milliseconds, for a setting (`with.key`) that uses a duration: refused
/// when the table has no timestamp, or one that counts cycles.
fn time_ms<'t>(times: &'t Option<(Vec<i64>, bool)>, roles: &Roles, key: &str) -> Result<&'t [i64], StepError> {
    match times {
        Some((t, true)) => Ok(t),
        Some((_, false)) => Err(StepError::new(format!(
            "`with.{key}` uses a duration, but the timestamp column `{}` holds numbers (cycles), not date-times; give the window in rows (or, if the numbers are Unix times, set `timestamp-unit: s` or `ms` in `load`)",
            roles.timestamp.as_deref().unwrap_or_default()
        ))),
        None => Err(StepError::new(format!("`with.{key}` needs a timestamp column; declare `timestamp` in `load`"))),
    }
}

/// Warns of a row window longer than an entity's series, and refuses a duration window
/// without date-times.
fn check_windows(
    p: &FeatureParams,
    ranges: &[std::ops::Range<usize>],
    times: &Option<(Vec<i64>, bool)>,
    roles: &Roles,
    ctx: &StepContext,
) -> Result<(), StepError> {
    let shortest = ranges.iter().map(|r| r.len()).min().unwrap_or(0);
    for window in &p.windows {
        if let WindowSpec::Rows(w) = window {
            if *w > shortest {
                ctx.warn(format!(
                    "rolling window of {w} rows is longer than the shortest entity series ({shortest} rows): there it is an expanding window"
                ));
            }
        }
    }
    if p.windows.iter().any(|w| matches!(w, WindowSpec::Duration { .. })) {
        time_ms(times, roles, "rolling.windows")?;
    }
    Ok(())
}

/// Every feature, in manifest order: each source column's (on all cores, in column order),
/// then time parts, interactions and one-hot columns.
fn features(
    p: &FeatureParams,
    frame: &DataFrame,
    roles: &Roles,
    sources: &[String],
    ranges: &[std::ops::Range<usize>],
    times: &Option<(Vec<i64>, bool)>,
    input: &InputColumns,
) -> Result<Vec<Made>, StepError> {
    let span_times: &[i64] = times.as_ref().map(|(t, _)| t.as_slice()).unwrap_or(&[]);
    let mut made: Vec<Made> = Vec::new();
    // Source columns are independent: compute them on all cores, keeping column order.
    let per_column = |column: &String| per_column::features(p, frame, column, ranges, span_times);
    for result in crate::ml::parallel::map(sources, per_column) {
        made.extend(result?);
    }
    if !p.time.is_empty() {
        made.extend(row_features::time_parts(
            p,
            time_ms(times, roles, "time")?,
            roles.timestamp.as_deref(),
        ));
    }
    made.extend(row_features::interactions(p, frame, &|c: &str, key: &str| {
        input.check(c, key)?;
        input.refuse_answer(c, key)
    })?);
    made.extend(row_features::one_hot(p, frame, &|c: &str, key: &str| {
        input.check(c, key)
    })?);
    Ok(made)
}

/// No feature (or the label) takes an input column's name or another feature's.
fn check_unique_names(made: &[Made], label: Option<&Made>, names: &[String]) -> Result<(), StepError> {
    let mut seen = std::collections::HashSet::new();
    for m in made.iter().chain(label) {
        if names.contains(&m.name) {
            return Err(StepError::new(format!(
                "feature `{}` would overwrite an input column of that name; rename it",
                m.name
            )));
        }
        if !seen.insert(m.name.as_str()) {
            return Err(StepError::new(format!(
                "two features are named `{}` (an interaction, the label or a one-hot column repeats a generated name); rename one",
                m.name
            )));
        }
    }
    Ok(())
}

/// `drop-na`: the rows every feature and source has a value in, and why the others go.
fn rows_to_keep(
    p: &FeatureParams,
    made: &[Made],
    frame: &DataFrame,
    sources: &[String],
    ranges: &[std::ops::Range<usize>],
) -> Result<(BooleanChunked, dropped::Dropped), StepError> {
    let sources = sources
        .iter()
        .map(|c| column_f64_ref(frame, c))
        .collect::<PolarsResult<Vec<_>>>()?;
    let sources: Vec<&[f64]> = sources.iter().map(|s| s.as_ref()).collect();
    Ok(dropped::complete_rows(
        made,
        &sources,
        ranges,
        frame.height(),
        p.keep_rows_of_empty_columns,
    ))
}

/// The features and the label joined to the table (the label as 0/1 with its role), with
/// their counts as metrics.
fn add_columns(table: Table, made: Vec<Made>, label: Option<Made>, ctx: &StepContext) -> Result<Table, StepError> {
    let Table { mut frame, mut roles } = table;
    ctx.metric("features", made.len() as f64);
    let mut columns: Vec<Column> = made.into_iter().map(|m| f64_column(&m.name, m.values)).collect();
    if let Some(l) = label {
        let positives = l.values.iter().filter(|v| **v == 1.0).count();
        ctx.metric("label_positives", positives as f64);
        let flags: Vec<i64> = l.values.iter().map(|&v| i64::from(v == 1.0)).collect();
        columns.push(Int64Chunked::from_vec(l.name.as_str().into(), flags).into_column());
        roles.label = Some(l.name);
    }
    frame.hstack_mut(&columns)?;
    Ok(Table { frame, roles })
}

/// The table without the columns that carry the answer and those `with.drop` names.
fn drop_columns(
    mut frame: DataFrame,
    roles: &Roles,
    p: &FeatureParams,
    input: &InputColumns,
) -> Result<DataFrame, StepError> {
    for c in &input.answers {
        // A declared label that the new one replaces has lost its role by now.
        if frame.get_column_names().iter().any(|n| n.as_str() == c) && !roles.is_role(c) {
            frame = frame.drop(c)?;
        }
    }
    for c in &p.drop {
        input.check(c, "drop")?;
        if input.answers.contains(c) {
            continue; // already gone with the label's sources
        }
        if roles.is_role(c) {
            return Err(StepError::new(format!(
                "`with.drop`: column `{c}` is the table's timestamp, entity or label; it cannot be dropped"
            )));
        }
        frame = frame.drop(c)?;
    }
    Ok(frame)
}

/// `drop-na`'s rows removed (`keep`), refused when none would be left, warned of when rows
/// other than warm-up ones go, and counted in metrics.
fn drop_incomplete_rows(
    mut frame: DataFrame,
    keep: Option<(BooleanChunked, dropped::Dropped)>,
    ctx: &StepContext,
) -> Result<DataFrame, StepError> {
    let mut dropped = dropped::Dropped::default();
    if let Some((keep, why)) = keep {
        frame = frame.filter(&keep)?;
        dropped = why;
    }
    if frame.height() == 0 {
        return Err(StepError::new(format!(
            "`drop-na` would remove every row ({}): {}; shorten windows and lags, impute missing values in `clean`, or set `drop-na: false`",
            dropped.total(),
            dropped.describe()
        )));
    }
    if dropped.unexpected() > 0 {
        ctx.warn(format!(
            "`drop-na` removed {} of {} rows: {}; impute missing values in `clean` to keep them",
            dropped.total(),
            frame.height() + dropped.total(),
            dropped.describe()
        ));
    }
    ctx.metric("rows_dropped_na", dropped.total() as f64);
    ctx.metric("rows_dropped_warm_up", dropped.warm_up as f64);
    ctx.metric(
        "rows_dropped_missing",
        (dropped.missing_input + dropped.after_missing) as f64,
    );
    ctx.metric("rows_dropped_infinite", dropped.infinite as f64);
    ctx.metric("rows_out", frame.height() as f64);
    Ok(frame)
}

/// Windows, lags and labels assume each entity's rows run forward in time.
fn check_monotonic(
    times: &[i64],
    ranges: &[std::ops::Range<usize>],
    frame: &DataFrame,
    roles: &Roles,
) -> Result<(), StepError> {
    for r in ranges {
        if let Some(i) = (r.start + 1..r.end).find(|&i| times[i] < times[i - 1]) {
            let entity = match &roles.entity {
                Some(e) => format!(
                    " of {e} {}",
                    frame
                        .column(e)?
                        .get(i)
                        .map(|v| v.str_value().into_owned())
                        .unwrap_or_default()
                ),
                None => String::new(),
            };
            return Err(StepError::new(format!(
                "timestamps{entity} go back in time at row {}; put a `clean` step (sort: true) before `feature`",
                i + 1
            )));
        }
    }
    Ok(())
}

/// Reads one frame (and a failure log, when the label comes from one); writes the features
/// with the recipe that made them.
pub fn ports(p: &FeatureParams) -> Ports<'_> {
    let ports = Ports::on_tables(vec![
        Output::table("frame"),
        Output::of(OutputKind::State, FEATURE_MANIFEST),
    ]);
    match &p.label {
        Some(LabelSpec::Log { log, .. }) => ports.and(Input::External {
            key: "with.label.from-log",
            path: &log.path,
        }),
        _ => ports,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::column_f64;
    use crate::pipeline::diagnostic::Diagnostics;
    use crate::pipeline::yaml;

    /// Machines A (5 hourly rows, a failure event at 04:00) and B (3 rows, a gap), 2024-01-01
    /// (a Monday).
    fn table() -> Table {
        let hours = [0i64, 1, 2, 3, 4, 0, 1, 2];
        let t: Vec<i64> = hours.iter().map(|h| 1_704_067_200_000 + h * 3_600_000).collect();
        let frame = df!(
            "m" => ["A", "A", "A", "A", "A", "B", "B", "B"],
            "t" => t,
            "x" => [Some(1.0), Some(2.0), Some(3.0), Some(4.0), Some(5.0), Some(10.0), None, Some(30.0)],
            "event" => [0i64, 0, 0, 0, 1, 0, 0, 0],
        )
        .unwrap()
        .lazy()
        .with_column(col("t").cast(DataType::Datetime(TimeUnit::Milliseconds, None)))
        .collect()
        .unwrap();
        Table {
            frame,
            roles: Roles {
                timestamp: Some("t".into()),
                entity: Some("m".into()),
                label: None,
            },
        }
    }

    fn params(yaml_text: &str) -> FeatureParams {
        let node = yaml::parse(yaml_text).unwrap();
        let mut diags = Diagnostics::new("t.yaml", Vec::new());
        let mut f = crate::pipeline::fields::Fields::new(&node, "with", &mut diags).unwrap();
        let p = parse(&mut f).unwrap();
        f.finish();
        assert!(diags.is_empty(), "{diags}");
        p
    }

    fn run_on(p: &FeatureParams, t: Table) -> Result<Table, StepError> {
        let (mut ctx, _rx) = StepContext::detached(std::path::Path::new("."), vec![("in/frame".into(), t)]);
        run(p, &mut ctx).map(|mut o| o.tables.remove(0).1)
    }

    fn col_values(t: &Table, c: &str) -> Vec<f64> {
        column_f64(&t.frame, c).unwrap()
    }

    fn same(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
        assert!(
            a.iter()
                .zip(b)
                .all(|(x, y)| (x.is_nan() && y.is_nan()) || (x - y).abs() < 1e-12),
            "{a:?} vs {b:?}"
        );
    }

    #[test]
    fn per_machine_features_match_pandas_groupby() {
        let p = params("{columns: [x], rolling: {windows: [2, 90m], stats: [mean, max]}, lags: [1], time: [hour, dayofweek], drop-na: false}");
        let t = run_on(&p, table()).unwrap();
        // pandas 3.1.1: df.groupby("m")["x"].rolling(2, min_periods=1).mean()
        same(
            &col_values(&t, "x_roll2_mean"),
            &[1.0, 1.5, 2.5, 3.5, 4.5, 10.0, 10.0, 30.0],
        );
        // df.groupby("m").rolling("90min", on="t")["x"].max()
        same(
            &col_values(&t, "x_roll90m_max"),
            &[1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 10.0, 30.0],
        );
        // df.groupby("m")["x"].shift(1): B's first row does not see A's last value.
        same(
            &col_values(&t, "x_lag1"),
            &[f64::NAN, 1.0, 2.0, 3.0, 4.0, f64::NAN, 10.0, f64::NAN],
        );
        // df.groupby("m")["x"].ewm(span=2).mean(): B starts afresh and carries over its gap.
        let t2 = run_on(&params("{columns: [x], ewm: [2], drop-na: false}"), table()).unwrap();
        same(
            &col_values(&t2, "x_ewm2"),
            &[1.0, 1.75, 2.615384615384615, 3.55, 4.520661157024794, 10.0, 10.0, 28.0],
        );
        // df["t"].dt.hour / .dt.day_of_week (2024-01-01 is a Monday = 0)
        same(&col_values(&t, "hour"), &[0.0, 1.0, 2.0, 3.0, 4.0, 0.0, 1.0, 2.0]);
        same(&col_values(&t, "dayofweek"), &[0.0; 8]);
    }

    #[test]
    fn time_features_on_a_zone_wall_clock() {
        // 2024-03-31 00:30 and 01:30 UTC: Berlin is UTC+1 then UTC+2 (daylight saving starts at
        // 01:00 UTC). pandas 3.1.1: pd.Series(pd.to_datetime([...], utc=True))
        // .dt.tz_convert("Europe/Berlin").dt.hour -> [1, 3]; .dt.dayofweek -> [6, 6] (Sunday).
        let t: Vec<i64> = [1_711_845_000_000i64, 1_711_848_600_000].to_vec();
        let frame = df!("t" => t)
            .unwrap()
            .lazy()
            .with_column(col("t").cast(DataType::Datetime(TimeUnit::Milliseconds, None)))
            .collect()
            .unwrap();
        let table = Table {
            frame,
            roles: Roles {
                timestamp: Some("t".into()),
                ..Default::default()
            },
        };
        let t = run_on(
            &params("{time: [hour, dayofweek], timezone: Europe/Berlin, drop-na: false}"),
            table.clone(),
        )
        .unwrap();
        same(&col_values(&t, "hour"), &[1.0, 3.0]);
        same(&col_values(&t, "dayofweek"), &[6.0, 6.0]);
        let utc = run_on(&params("{time: [hour], drop-na: false}"), table).unwrap();
        same(&col_values(&utc, "hour"), &[0.0, 1.0]);
    }

    #[test]
    fn frequency_features_per_machine() {
        let p = params("{columns: [x], fft: {windows: [4]}, drop-na: false}");
        let t = run_on(&p, table()).unwrap();
        // Machine A's windows [1, 2, 3, 4] and [2, 3, 4, 5]: numpy 2.4,
        // abs(np.fft.rfft(x - x.mean())[1:])**2 -> [8, 4], so bin 1 = 0.25 cycles per sample.
        // B (3 rows) never fills a window.
        let freq = col_values(&t, "x_fft4_domfreq");
        assert!(freq[..3].iter().all(|v| v.is_nan()));
        assert_eq!(freq[3], 0.25);
        assert_eq!(freq[4], 0.25);
        assert!(freq[5..].iter().all(|v| v.is_nan()));
        assert!(col_values(&t, "x_fft4_entropy")[4] > 0.0);
    }

    #[test]
    fn drop_na_removes_warm_up_rows() {
        let t = run_on(&params("{columns: [x], lags: [1]}"), table()).unwrap();
        // Rows with a missing lag: A's first, B's first and B's third (its lag is B's gap);
        // and B's gap itself, whose own `x` (a model input) is missing.
        assert_eq!(t.frame.height(), 4);
    }

    #[test]
    fn failure_within_horizon_and_rul_labels() {
        let t = run_on(
            &params("{label: {from-event: event, horizon: 2h, name: soon}, drop-na: false}"),
            table(),
        )
        .unwrap();
        // A's event is at 04:00: rows at 02:00, 03:00 and 04:00 are within 2 h of it; B has none.
        same(&col_values(&t, "soon"), &[0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
        assert_eq!(t.roles.label.as_deref(), Some("soon"));

        let mut cycles = table();
        cycles
            .frame
            .replace("t", Column::new("t".into(), [1i64, 2, 3, 4, 5, 1, 2, 3]))
            .unwrap();
        let t = run_on(&params("{label: {from-rul: true, horizon: 1}, drop-na: false}"), cycles).unwrap();
        // RUL = last cycle - cycle <= 1: the last two cycles of each machine.
        same(&col_values(&t, "label"), &[0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0]);
    }

    #[test]
    fn labels_from_a_separate_failure_log() {
        let dir = tempfile::tempdir().unwrap();
        // A's failure at 04:30 falls between readings; machine C is not in the table.
        std::fs::write(
            dir.path().join("failures.csv"),
            "when,machine,kind\n2024-01-01T04:30:00,A,bearing\n2024-01-01T01:00:00,C,seal\n",
        )
        .unwrap();
        let p = params(
            "{label: {from-log: {path: failures.csv, timestamp: when, entity: machine}, horizon: 2h}, drop-na: false}",
        );
        let (mut ctx, rx) = StepContext::detached(dir.path(), vec![("in/frame".into(), table())]);
        let t = run(&p, &mut ctx).unwrap().tables.remove(0).1;
        // 02:00 is 2.5 h before the failure; 03:00 and 04:00 are within 2 h of it.
        same(&col_values(&t, "label"), &[0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
        let mut warnings = Vec::new();
        while let Ok(e) = rx.try_recv() {
            if let crate::steps::context::StepEvent::Warning { message } = e {
                warnings.push(message);
            }
        }
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("1 events in failures.csv are for machines the table does not have (first: `C`)")),
            "{warnings:?}"
        );
        // A log whose events miss every machine is an error, not a label of zeros.
        std::fs::write(dir.path().join("failures.csv"), "when,machine\n2024-01-01T04:30:00,Z\n").unwrap();
        let (mut ctx, _rx) = StepContext::detached(dir.path(), vec![("in/frame".into(), table())]);
        let e = run(&p, &mut ctx).err().unwrap().0;
        assert!(
            e.contains("none of the 1 events in failures.csv falls within 2h"),
            "{e}"
        );
    }

    #[test]
    fn the_label_source_never_becomes_a_feature() {
        let names = |t: &Table| -> Vec<String> { t.frame.get_column_names().iter().map(|n| n.to_string()).collect() };
        // Default sources: `event` is numeric but it is what the label is made of.
        let t = run_on(
            &params("{lags: [1], label: {from-event: event, horizon: 2h}, drop-na: false}"),
            table(),
        )
        .unwrap();
        assert_eq!(names(&t), ["m", "t", "x", "x_lag1", "label"]);
        // Naming it in `drop` as well is harmless.
        let t = run_on(
            &params("{lags: [1], label: {from-event: event, horizon: 2h}, drop: [event], drop-na: false}"),
            table(),
        )
        .unwrap();
        assert_eq!(names(&t), ["m", "t", "x", "x_lag1", "label"]);
        // A label declared in `load` that a new label replaces is the answer too.
        let mut declared = table();
        declared.roles.label = Some("x".into());
        let t = run_on(
            &params("{label: {from-event: event, horizon: 2h}, drop-na: false}"),
            declared,
        )
        .unwrap();
        assert_eq!(names(&t), ["m", "t", "label"]);
        assert_eq!(t.roles.label.as_deref(), Some("label"));

        let err = |yaml_text: &str| run_on(&params(yaml_text), table()).unwrap_err().0;
        for spec in [
            "{columns: [x, event], rolling: {windows: [2]}, label: {from-event: event, horizon: 2h}}",
            "{interactions: {e2: \"event * 2\"}, label: {from-event: event, horizon: 2h}}",
        ] {
            let e = err(spec);
            assert!(e.contains("column `event` carries the label"), "{e}");
        }
    }

    #[test]
    fn interactions_and_one_hot() {
        let t = run_on(
            &params("{interactions: {double: \"x * 2\", gap: \"x - event\"}, one-hot: [m], drop-na: false}"),
            table(),
        )
        .unwrap();
        same(&col_values(&t, "double")[..2], &[2.0, 4.0]);
        same(&col_values(&t, "m_A"), &[1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
        same(&col_values(&t, "m_B"), &[0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
    }

    #[test]
    fn relative_features_compare_each_value_with_its_machine_s_own_mean() {
        let p = params("{columns: [x], relative: {to: [expanding, 2h]}, drop-na: false}");
        let t = run_on(&p, table()).unwrap();
        // As pandas gives x - df.groupby("m")["x"].expanding().mean(): B's gap is skipped.
        same(
            &col_values(&t, "x_minus_mean_expanding"),
            &[0.0, 0.5, 1.0, 1.5, 2.0, 0.0, f64::NAN, 10.0],
        );
        same(
            &col_values(&t, "x_over_mean_expanding"),
            &[1.0, 4.0 / 3.0, 1.5, 1.6, 5.0 / 3.0, 1.0, f64::NAN, 1.5],
        );
        // df.groupby("m").rolling("2h", on="t")["x"].mean()
        same(
            &col_values(&t, "x_minus_mean_2h"),
            &[0.0, 0.5, 0.5, 0.5, 0.5, 0.0, f64::NAN, 0.0],
        );
        // A mean of 0 has no ratio: missing, not infinite.
        let mut zeros = table();
        zeros
            .frame
            .replace("x", Column::new("x".into(), [0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]))
            .unwrap();
        let t = run_on(&params("{columns: [x], relative: {as: [over]}, drop-na: false}"), zeros).unwrap();
        assert!(
            t.frame.column("x_minus_mean_expanding").is_err(),
            "only the ratio asked for"
        );
        same(
            &col_values(&t, "x_over_mean_expanding"),
            &[f64::NAN, f64::NAN, 3.0, 2.0, 5.0 / 3.0, f64::NAN, f64::NAN, f64::NAN],
        );
    }

    #[test]
    fn bad_specs_name_the_key_and_column() {
        let err = |yaml_text: &str, t: Table| run_on(&params(yaml_text), t).unwrap_err().0;
        assert!(err("{columns: [xx], lags: [1]}", table())
            .contains("`with.columns`: column `xx` is not in the input (did you mean `x`?)"));
        assert!(err("{interactions: {a: \"x * y\"}}", table())
            .contains("`with.interactions.a`: column `y` is not in the input"));
        let no_events = err("{label: {from-event: x, horizon: 2h}}", {
            let mut t = table();
            t.frame.replace("x", Column::new("x".into(), [0i64; 8])).unwrap();
            t
        });
        assert!(no_events.contains("has no failure events"), "{no_events}");
        let mut cycles = table();
        cycles
            .frame
            .replace("t", Column::new("t".into(), [1i64, 2, 3, 4, 5, 1, 2, 3]))
            .unwrap();
        assert!(err("{rolling: {windows: [6h]}}", cycles.clone()).contains("holds numbers (cycles)"));
        assert!(err("{label: {from-event: event, horizon: 2h}}", cycles)
            .contains("is a duration (2h) but the timestamp column holds numbers"));
        let mut backwards = table();
        backwards
            .frame
            .replace("t", Column::new("t".into(), [1i64, 3, 2, 4, 5, 1, 2, 3]))
            .unwrap();
        let e = err("{lags: [1]}", backwards);
        assert!(e.contains("timestamps of m A go back in time at row 3"), "{e}");
    }
}
