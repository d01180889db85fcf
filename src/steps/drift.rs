//! `drift`: has the data changed? Compares a reference table with a current one, feature by
//! feature: the two-sample KS test (as scipy's `ks_2samp`), the population stability index,
//! and the Wasserstein distance normed by the reference's spread (Evidently's default figure).
//! A feature drifts, by default, when its corrected p-value is below `alpha` **and** its KS
//! statistic reaches `min-statistic`: on hundreds of thousands of autocorrelated rows p alone
//! flags differences nobody would retrain for.

use crate::frame::{numeric_features, Table};
use crate::ml::drift::{psi, sorted_numbers, std_population, Correction};
use crate::ml::ks::ks_2samp_of_gap;
use crate::model::formats::{DriftReport, FeatureDrift, Scaler, SCALER};
use crate::pipeline::fields::Fields;
use crate::plot::{drift_picture, DriftBar, DriftCurves};
use crate::steps::context::{StepContext, StepError, StepOutput};
use crate::steps::ports::{Input, Output, OutputKind, Ports, RunTable, TableSource};

/// Normed Wasserstein distance at which a feature drifts under `verdict: wasserstein`
/// (Evidently's default threshold).
const WASSERSTEIN_THRESHOLD: f64 = 0.1;
/// PSI at which a feature drifts under `verdict: psi` (the "significant shift" band).
const PSI_THRESHOLD: f64 = 0.25;
/// How many drifted features a warning or error names (the largest D first).
const LISTED: usize = 5;
/// How many of the most drifted features get their distribution functions drawn.
const CURVES_DRAWN: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDrift {
    Warn,
    Fail,
    Continue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ks,
    Wasserstein,
    Psi,
}

/// Where the reference table comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Reference {
    /// An input table by part name (`train`, or `split/train`).
    Part(String),
    /// A table an earlier run recorded (`{run: RUN, part: train}`): the runner finds it in the
    /// registry, checks its digest, and hands it to the step as the input [`RUN_INPUT`]`/PART`.
    Run { run: String, part: String },
    /// The table a registered model version trained on (`{model: NAME@ALIAS}`), or with
    /// `part`, that table of the version's run; handed over as [`RUN_INPUT`]`/PART`.
    Model { model: String, part: Option<String> },
}

/// Whether step `step` scaled the tables it made: the scaler it wrote (`split`'s) names a
/// kind (`scaler: none` writes one with none).
fn scaled_by(ctx: &StepContext, step: &str) -> bool {
    let key = format!("{step}/{SCALER}");
    ctx.files
        .iter()
        .find(|(k, _)| *k == key)
        .and_then(|(_, bytes)| Scaler::parse(bytes).ok())
        .is_some_and(|scaler| scaler.scales())
}

/// `train` of `split/train`: the name a table has among its step's outputs.
pub fn last_segment(part: &str) -> &str {
    part.rsplit('/').next().unwrap_or(part)
}

/// The input name under which the runner hands over a `{run: ...}` reference table.
pub const RUN_INPUT: &str = "@reference";

impl Reference {
    /// How messages and the report name it: `train`, or `train of run 01a2...`.
    fn shown(&self) -> String {
        match self {
            Reference::Part(part) => part.clone(),
            Reference::Run { run, part } => format!("{part} of run {run}"),
            Reference::Model { model, part: None } => format!("the training data of {model}"),
            Reference::Model {
                model,
                part: Some(part),
            } => format!("{part} of {model}'s run"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DriftParams {
    pub reference: Reference,
    /// The current table's part name, or (with `current_path`) the file as the pipeline names it.
    pub current: String,
    /// `current: {path: FILE}`: a new file, prepared by this pipeline's own load, clean and
    /// feature settings (`steps::prepare`) before it is compared.
    pub current_path: Option<String>,
    pub columns: Option<Vec<String>>,
    pub alpha: f64,
    pub correction: Correction,
    pub min_statistic: f64,
    pub psi_bins: usize,
    /// Dataset drift when at least this share of the tested features drifts.
    pub share: f64,
    pub on_drift: OnDrift,
    pub verdict: Verdict,
}

pub fn parse(f: &mut Fields) -> Option<DriftParams> {
    let reference = match f.node("reference").map(|n| &n.value) {
        Some(crate::pipeline::node::Value::Map(_)) => {
            let node = f.node("reference")?;
            let context = format!("{} `reference`", f.context());
            let mut r = Fields::new(node, context, f.diags)?;
            let model = r.optional_str("model");
            let run = match &model {
                Some(_) => None,
                None => r.required_str(
                    "run",
                    " (a run id, a unique prefix of one, or `latest`; or `model: NAME@ALIAS`)",
                ),
            };
            let part = r.optional_str("part");
            if model.is_some() && r.node("run").is_some() {
                let pos = r.pos();
                r.error(pos, "give `run` or `model`, not both");
            }
            r.finish();
            match model {
                Some(model) => Reference::Model { model, part },
                None => Reference::Run {
                    run: run?,
                    part: part.unwrap_or_else(|| "train".into()),
                },
            }
        }
        _ => Reference::Part(f.optional_str("reference").unwrap_or_else(|| "train".into())),
    };
    let (current, current_path) = match f.node("current").map(|n| &n.value) {
        Some(crate::pipeline::node::Value::Map(_)) => {
            let node = f.node("current")?;
            let context = format!("{} `current`", f.context());
            let mut c = Fields::new(node, context, f.diags)?;
            let path = c.required_str("path", " (a new data file, prepared as this pipeline prepares its own)");
            c.finish();
            let path = path?;
            (path.clone(), Some(path))
        }
        _ => (f.optional_str("current").unwrap_or_else(|| "test".into()), None),
    };
    let columns = f.optional_str_list("columns");
    let alpha = f.optional_f64("alpha", 1e-12, 0.5).unwrap_or(0.05);
    let correction = f
        .optional_choice("correction", Correction::NAMES)
        .and_then(Correction::from_name)
        .unwrap_or(Correction::BenjaminiHochberg);
    let min_statistic = f.optional_f64("min-statistic", 0.0, 1.0).unwrap_or(0.1);
    let mut psi_bins = 10;
    if let Some(node) = f.node("psi") {
        let context = format!("{} `psi`", f.context());
        let mut psi = Fields::new(node, context, f.diags)?;
        psi_bins = psi.optional_int("bins", 2, 1000).unwrap_or(10) as usize;
        psi.finish();
    }
    let share = f.optional_f64("share", 0.0, 1.0).unwrap_or(0.5);
    let on_drift = match f.optional_choice("on-drift", &["warn", "fail", "continue"]) {
        Some("fail") => OnDrift::Fail,
        Some("continue") => OnDrift::Continue,
        _ => OnDrift::Warn,
    };
    let verdict = match f.optional_choice("verdict", &["ks", "wasserstein", "psi"]) {
        Some("wasserstein") => Verdict::Wasserstein,
        Some("psi") => Verdict::Psi,
        _ => Verdict::Ks,
    };
    if current_path.is_none() && reference == Reference::Part(current.clone()) {
        let pos = f.node("current").map(|n| n.pos).unwrap_or(f.pos());
        f.error(
            pos,
            format!("`reference` and `current` are both `{current}`; compare two different tables"),
        );
    }
    Some(DriftParams {
        reference,
        current,
        current_path,
        columns,
        alpha,
        correction,
        min_statistic,
        psi_bins,
        share,
        on_drift,
        verdict,
    })
}

/// One feature's figures.
#[derive(Debug, Clone)]
struct Figures {
    feature: String,
    statistic: f64,
    p: f64,
    p_corrected: f64,
    psi: f64,
    wasserstein: f64,
    reference_values: usize,
    current_values: usize,
    missing_dropped: usize,
    drifted: bool,
}

/// A feature's present values on both sides, sorted.
struct Sides {
    feature: String,
    reference: Vec<f64>,
    current: Vec<f64>,
    missing: usize,
}

pub fn run(p: &DriftParams, ctx: &mut StepContext) -> Result<StepOutput, StepError> {
    let reference_name = p.reference.shown();
    let reference_input = match &p.reference {
        Reference::Part(part) => part.clone(),
        Reference::Run { part, .. } => format!("{RUN_INPUT}/{}", last_segment(part)),
        Reference::Model { part, .. } => format!("{RUN_INPUT}/{}", last_segment(part.as_deref().unwrap_or("train"))),
    };
    let (reference_step, reference) = take_table(ctx, &reference_input, "reference")?;
    let current = match &p.current_path {
        Some(path) => {
            // A new file is scaled as the reference was: by the scaler of the split that made
            // the reference, and not at all when the reference was taken before any split.
            let scaled_by_split = scaled_by(ctx, &reference_step);
            if !matches!(p.reference, Reference::Part(_)) && ctx.state::<Scaler>().is_some() {
                return Err(StepError::new(
                    "`current: {path}` with `reference: {run: ...}` would scale the new file with this pipeline's scaler, not the referenced run's; compare the file with a part of this pipeline, or drop the scaler",
                ));
            }
            crate::steps::prepare(path, ctx, scaled_by_split)?
        }
        None => take_table(ctx, &p.current, "current")?.1,
    };
    let columns = match &p.columns {
        Some(c) => c.clone(),
        None => numeric_features(&reference.frame, &reference.roles),
    };
    if columns.is_empty() {
        return Err(StepError::new(format!(
            "the reference `{}` has no numeric feature columns to compare; list them under `columns`",
            reference_name
        )));
    }
    // Sorting every column of both sides is most of the work: on all cores.
    let started = std::time::Instant::now();
    let sides = compared_sides(p, &columns, &reference, &current, &reference_name, ctx)?;

    let bins = p.psi_bins;
    let mut figures: Vec<Figures> = crate::ml::parallel::map(&sides, |s| {
        // One walk over both sorted sides gives the KS gap and the Wasserstein area.
        let walked = crate::ml::ecdf::compare(&s.reference, &s.current);
        let ks = ks_2samp_of_gap(s.reference.len(), s.current.len(), walked.largest_gap);
        let spread = std_population(&s.reference);
        let distance = walked.area;
        Figures {
            feature: s.feature.clone(),
            statistic: ks.statistic,
            p: ks.p_value,
            p_corrected: ks.p_value,
            psi: psi(&s.reference, &s.current, bins),
            // A constant reference has no spread to norm by: the plain distance, then.
            wasserstein: if spread > 0.0 { distance / spread } else { distance },
            reference_values: s.reference.len(),
            current_values: s.current.len(),
            missing_dropped: s.missing,
            drifted: false,
        }
    });
    // The figures in memory (sorting included), without reading the tables: what a benchmark
    // compares with scipy.
    ctx.metric("compute_seconds", started.elapsed().as_secs_f64());
    let corrected = p.correction.adjust(&figures.iter().map(|f| f.p).collect::<Vec<_>>());
    for (f, q) in figures.iter_mut().zip(corrected) {
        f.p_corrected = q;
        f.drifted = match p.verdict {
            Verdict::Ks => q < p.alpha && f.statistic >= p.min_statistic,
            Verdict::Wasserstein => f.wasserstein >= WASSERSTEIN_THRESHOLD,
            Verdict::Psi => f.psi >= PSI_THRESHOLD,
        };
    }

    let drifted: Vec<&Figures> = figures.iter().filter(|f| f.drifted).collect();
    let share = drifted.len() as f64 / figures.len() as f64;
    let dataset_drift = !drifted.is_empty() && share >= p.share;
    log_metrics(&figures, drifted.len(), share, dataset_drift, ctx);

    let report = report(p, reference_name.clone(), &figures, share, dataset_drift)?;
    let picture = picture(p, &figures, &sides);

    announce(p, &drifted, figures.len(), &reference_name, dataset_drift, ctx)?;
    Ok(StepOutput {
        reports: vec![("drift_report".into(), report)],
        files: vec![("drift.svg".into(), picture.into_bytes())],
        ..Default::default()
    })
}

/// The step's report: the settings it judged by, the verdict and each feature's figures, as a
/// JSON value (keys in name order, as the file had them before it was typed).
fn report(
    p: &DriftParams,
    reference_name: String,
    figures: &[Figures],
    share: f64,
    dataset_drift: bool,
) -> Result<serde_json::Value, StepError> {
    let finite = |x: f64| x.is_finite().then_some(x);
    let report = DriftReport {
        reference: reference_name,
        current: p.current.clone(),
        verdict: match p.verdict {
            Verdict::Ks => "ks",
            Verdict::Wasserstein => "wasserstein",
            Verdict::Psi => "psi",
        }
        .into(),
        alpha: p.alpha,
        correction: p.correction.name().into(),
        min_statistic: p.min_statistic,
        psi_bins: p.psi_bins,
        share,
        share_threshold: p.share,
        dataset_drift,
        features: figures
            .iter()
            .map(|f| FeatureDrift {
                feature: f.feature.clone(),
                ks: finite(f.statistic),
                p: finite(f.p),
                p_corrected: finite(f.p_corrected),
                psi: finite(f.psi),
                wasserstein_normed: finite(f.wasserstein),
                drifted: f.drifted,
                reference_values: f.reference_values,
                current_values: f.current_values,
                missing_dropped: f.missing_dropped,
            })
            .collect(),
    };
    serde_json::to_value(&report).map_err(|e| StepError::new(format!("drift report: {e}")))
}

/// Each compared column's present values on both sides; columns empty on a side are skipped
/// with one warning per side, and a side with a single value is refused.
fn compared_sides(
    p: &DriftParams,
    columns: &[String],
    reference: &Table,
    current: &Table,
    reference_name: &str,
    ctx: &StepContext,
) -> Result<Vec<Sides>, StepError> {
    let prepared = crate::ml::parallel::map(columns, |c| {
        Ok::<_, StepError>((
            present_values(reference, c, "reference", reference_name)?,
            present_values(current, c, "current", &p.current)?,
        ))
    });
    let mut sides = Vec::with_capacity(columns.len());
    // Features with no value on one side (a sensor with no readings in the new file, and the
    // features made from it): skipped, named in one warning per side.
    let mut empty: [Vec<&str>; 2] = [Vec::new(), Vec::new()];
    for (c, values) in columns.iter().zip(prepared) {
        let (reference_values, current_values) = values?;
        let missing = reference.frame.height() + current.frame.height() - reference_values.len() - current_values.len();
        if reference_values.is_empty() || current_values.is_empty() {
            empty[usize::from(!reference_values.is_empty())].push(c);
            continue;
        }
        for (side, part, values) in [
            ("reference", reference_name, &reference_values),
            ("current", p.current.as_str(), &current_values),
        ] {
            if values.len() < 2 {
                return Err(StepError::new(format!(
                    "column `{c}` has {} value(s) in the {side} table `{part}`; a distribution needs at least 2",
                    values.len()
                )));
            }
        }
        sides.push(Sides {
            feature: c.clone(),
            reference: reference_values,
            current: current_values,
            missing,
        });
    }
    for ((side, part), names) in [("reference", reference_name), ("current", p.current.as_str())]
        .into_iter()
        .zip(&empty)
    {
        let listed: Vec<String> = names.iter().map(|c| format!("`{c}`")).collect();
        match listed.as_slice() {
            [] => {}
            [one] => ctx.warn(format!(
                "column {one} has no values in the {side} table `{part}`; it is not compared"
            )),
            _ => ctx.warn(format!(
                "{} columns have no values in the {side} table `{part}`: {}; they are not compared",
                listed.len(),
                listed.join(", ")
            )),
        }
    }
    if sides.is_empty() {
        return Err(StepError::new("no column has values on both sides; nothing to compare"));
    }
    Ok(sides)
}

/// Each feature's figures and the dataset's verdict, as metrics.
fn log_metrics(figures: &[Figures], drifted: usize, share: f64, dataset_drift: bool, ctx: &StepContext) {
    for f in figures {
        ctx.metric(format!("{}.ks", f.feature), f.statistic);
        ctx.metric(format!("{}.p", f.feature), f.p_corrected);
        ctx.metric(format!("{}.psi", f.feature), f.psi);
        ctx.metric(format!("{}.wasserstein", f.feature), f.wasserstein);
        ctx.metric(format!("{}.drifted", f.feature), f64::from(u8::from(f.drifted)));
    }
    ctx.metric("features", figures.len() as f64);
    ctx.metric("drifted_features", drifted as f64);
    ctx.metric("share", share);
    ctx.metric("dataset_drift", f64::from(u8::from(dataset_drift)));
}

/// The drifted features in one message, the largest moves first: an error, a warning or
/// nothing, as `on-drift` says.
fn announce(
    p: &DriftParams,
    drifted: &[&Figures],
    features: usize,
    reference_name: &str,
    dataset_drift: bool,
    ctx: &StepContext,
) -> Result<(), StepError> {
    if drifted.is_empty() {
        return Ok(());
    }
    // The largest moves first; a long list is cut (the report has every feature).
    let mut ranked = drifted.to_vec();
    ranked.sort_by(|a, b| b.statistic.total_cmp(&a.statistic));
    let mut list: Vec<String> = ranked
        .iter()
        .take(LISTED)
        .map(|f| {
            format!(
                "{} (D {:.3}, p {}, PSI {:.3})",
                f.feature,
                f.statistic,
                p_text(f.p_corrected),
                f.psi
            )
        })
        .collect();
    if ranked.len() > LISTED {
        list.push(format!("and {} more (drift_report.json)", ranked.len() - LISTED));
    }
    let what = format!(
        "{} of {} features drifted between `{}` and `{}`{}: {}",
        drifted.len(),
        features,
        reference_name,
        p.current,
        if dataset_drift { " (dataset drift)" } else { "" },
        list.join(", ")
    );
    match p.on_drift {
        OnDrift::Fail => {
            return Err(StepError::new(format!(
                "{what}; `on-drift: fail` stops the run (use `warn` to go on)"
            )))
        }
        OnDrift::Warn => ctx.warn(what),
        OnDrift::Continue => {}
    }
    Ok(())
}

/// A p-value for a message: `3.9e-58`, or `< 1e-300` where it underflows to 0.
fn p_text(p: f64) -> String {
    if p < 1e-300 {
        "< 1e-300".into()
    } else {
        format!("{p:.2e}")
    }
}

/// The input table whose name is `part` (`train`) or ends with it (`split/train`).
/// Returns the step that made it, with the table.
fn take_table(ctx: &mut StepContext, part: &str, side: &str) -> Result<(String, Table), StepError> {
    let matches: Vec<usize> = ctx
        .inputs
        .iter()
        .enumerate()
        .filter(|(_, (name, _))| name == part || name.ends_with(&format!("/{part}")))
        .map(|(i, _)| i)
        .collect();
    match matches.as_slice() {
        [i] => {
            let (name, table) = ctx.inputs.remove(*i);
            let step = name.split('/').next().unwrap_or_default().to_string();
            Ok((step, table))
        }
        [] => {
            let names: Vec<&str> = ctx.inputs.iter().map(|(n, _)| n.as_str()).collect();
            Err(StepError::new(format!(
                "`with.{side}`: no input table `{part}`; the step's inputs are: {} (name one, or add its step under `needs:`)",
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            )))
        }
        _ => Err(StepError::new(format!(
            "`with.{side}`: several inputs are called `{part}`; name it as `STEP/{part}`"
        ))),
    }
}

/// The column's present values (missing and NaN dropped), sorted; an error when the table has
/// no such numeric column.
fn present_values(t: &Table, column: &str, side: &str, part: &str) -> Result<Vec<f64>, StepError> {
    let values = crate::frame::column_f64_ref(&t.frame, column).map_err(|_| {
        StepError::new(format!(
            "column `{column}` is missing or not numeric in the {side} table `{part}`"
        ))
    })?;
    Ok(sorted_numbers(&values))
}

fn picture(p: &DriftParams, figures: &[Figures], sides: &[Sides]) -> String {
    let mut ranked: Vec<&Figures> = figures.iter().collect();
    ranked.sort_by(|a, b| b.statistic.total_cmp(&a.statistic));
    let bars: Vec<DriftBar> = ranked
        .iter()
        .map(|f| DriftBar {
            feature: f.feature.clone(),
            statistic: f.statistic,
            drifted: f.drifted,
        })
        .collect();
    let curves: Vec<DriftCurves> = ranked
        .iter()
        .filter(|f| f.drifted)
        .take(CURVES_DRAWN)
        .filter_map(|f| sides.iter().find(|s| s.feature == f.feature))
        .map(|s| DriftCurves {
            feature: s.feature.clone(),
            reference: ecdf(&s.reference),
            current: ecdf(&s.current),
        })
        .collect();
    let title = format!("drift: {} vs {}", p.reference.shown(), p.current);
    drift_picture(&title, &bars, p.min_statistic, &curves)
}

/// At most 200 points of a sorted sample's distribution function: enough for the eye.
fn ecdf(sorted: &[f64]) -> Vec<(f64, f64)> {
    let n = sorted.len();
    let step = n.div_ceil(200).max(1);
    let mut points: Vec<(f64, f64)> = (0..n)
        .step_by(step)
        .map(|i| (sorted[i], (i + 1) as f64 / n as f64))
        .collect();
    points.push((sorted[n - 1], 1.0));
    points
}

/// Reads a reference and a current table (upstream parts, a new file, an earlier run's table);
/// its metrics are a drift verdict.
pub fn ports(p: &DriftParams) -> Ports<'_> {
    let mut ports = Ports::on_tables(vec![
        Output::of(OutputKind::Report, "drift_report"),
        Output::of(OutputKind::Picture, "drift.svg"),
    ]);
    if let Some(path) = &p.current_path {
        ports = ports.and(Input::External {
            key: "with.current.path",
            path,
        });
    }
    let earlier = match &p.reference {
        Reference::Part(_) => None,
        Reference::Run { run, part } => Some(RunTable {
            source: TableSource::Run(run.clone()),
            part: Some(part.clone()),
            input: RUN_INPUT,
        }),
        Reference::Model { model, part } => Some(RunTable {
            source: TableSource::Model(model.clone()),
            part: part.clone(),
            input: RUN_INPUT,
        }),
    };
    match earlier {
        Some(table) => ports.and(Input::RunTable(table)),
        None => ports,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Roles;
    use polars::prelude::*;

    fn params(yaml: &str) -> DriftParams {
        crate::steps::parse_with(yaml, parse)
    }

    fn table(columns: Vec<(&str, Vec<f64>)>) -> Table {
        let columns: Vec<Column> = columns.into_iter().map(|(n, v)| Column::new(n.into(), v)).collect();
        Table {
            frame: DataFrame::new_infer_height(columns).unwrap(),
            roles: Roles::default(),
        }
    }

    /// The step's result, its metrics and its warnings.
    type Outcome = (Result<StepOutput, StepError>, Vec<(String, f64)>, Vec<String>);

    fn run_on(p: &DriftParams, reference: Table, current: Table) -> Outcome {
        let (mut ctx, rx) = StepContext::detached(
            std::path::Path::new("."),
            vec![("split/train".into(), reference), ("split/test".into(), current)],
        );
        let out = run(p, &mut ctx);
        drop(ctx);
        let mut warnings = Vec::new();
        let mut metrics = Vec::new();
        while let Ok(e) = rx.try_recv() {
            match e {
                crate::steps::context::StepEvent::Metric { key, value, .. } => metrics.push((key, value)),
                crate::steps::context::StepEvent::Warning { message } => warnings.push(message),
                _ => {}
            }
        }
        (out, metrics, warnings)
    }

    fn failure(result: Result<StepOutput, StepError>) -> String {
        match result {
            Err(e) => e.0,
            Ok(_) => panic!("the step succeeded"),
        }
    }

    fn spread(n: usize, shift: f64) -> Vec<f64> {
        (0..n)
            .map(|i| ((i as f64 * 0.6180339887498949) % 1.0) + shift)
            .collect()
    }

    #[test]
    fn a_shifted_feature_drifts_and_an_unchanged_one_does_not() {
        let p = params("{on-drift: warn}");
        let reference = table(vec![("a", spread(2000, 0.0)), ("b", spread(2000, 0.0))]);
        let current = table(vec![("a", spread(1500, 0.0)), ("b", spread(1500, 0.3))]);
        let (out, metrics, warnings) = run_on(&p, reference, current);
        let out = out.unwrap();
        let metric = |k: &str| metrics.iter().find(|(key, _)| key == k).map(|(_, v)| *v).unwrap();
        assert_eq!(metric("a.drifted"), 0.0);
        assert_eq!(metric("b.drifted"), 1.0);
        assert!((metric("b.ks") - 0.3).abs() < 0.01, "{}", metric("b.ks"));
        assert_eq!(metric("drifted_features"), 1.0);
        assert_eq!(metric("share"), 0.5);
        assert_eq!(metric("dataset_drift"), 1.0, "half the features reach share 0.5");
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with("1 of 2 features drifted between `train` and `test`")),
            "{warnings:?}"
        );
        assert_eq!(out.files[0].0, "drift.svg");
        assert_eq!(out.reports[0].1["features"][1]["feature"], "b");
    }

    #[test]
    fn fail_stops_the_step_and_names_the_features() {
        let p = params("{on-drift: fail}");
        let reference = table(vec![("b", spread(500, 0.0))]);
        let current = table(vec![("b", spread(500, 0.5))]);
        let e = failure(run_on(&p, reference, current).0);
        assert!(e.contains("1 of 1 features drifted") && e.contains("b (D 0.50"), "{e}");
        assert!(e.contains("`on-drift: fail`"), "{e}");
    }

    #[test]
    fn bad_inputs_name_the_side_and_the_column() {
        let p = params("{}");
        let e = failure(
            run_on(
                &p,
                table(vec![("a", spread(10, 0.0))]),
                table(vec![("z", spread(10, 0.0))]),
            )
            .0,
        );
        assert!(
            e.contains("column `a` is missing or not numeric in the current table `test`"),
            "{e}"
        );
        let e = failure(run_on(&p, table(vec![("a", spread(10, 0.0))]), table(vec![("a", vec![1.0])])).0);
        assert!(
            e.contains("column `a` has 1 value(s) in the current table `test`"),
            "{e}"
        );
        let (out, _, warnings) = run_on(
            &p,
            table(vec![("a", spread(10, 0.0)), ("gone", vec![f64::NAN; 10])]),
            table(vec![("a", spread(10, 0.0)), ("gone", spread(10, 0.0))]),
        );
        out.unwrap();
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("column `gone` has no values in the reference table")),
            "{warnings:?}"
        );
        let p = params("{reference: validation}");
        let e = failure(
            run_on(
                &p,
                table(vec![("a", spread(10, 0.0))]),
                table(vec![("a", spread(10, 0.0))]),
            )
            .0,
        );
        assert!(
            e.contains("no input table `validation`; the step's inputs are: split/train, split/test"),
            "{e}"
        );
    }
}
