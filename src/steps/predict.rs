//! `predict`: scores a new file with a trained model. The file is prepared by the model's own
//! training chain (its run's `load`, `clean` and `feature` settings, then the scaler in its
//! card), so the features it sees cannot be made differently from those it learned from. Each
//! window gets a score and an alarm; each machine its latest window's risk level.

use polars::prelude::*;
use serde_json::json;

use super::model_io::{parse_device, scored_rows};
use super::prepare::{apply_scaler, prepare_checked, NewData};
use crate::frame::Table;
use crate::model::bundle::TRAINING_LOAD_REPORT;
use crate::model::card::ModelCard;
use crate::model::device::{self, DeviceChoice};
use crate::model::windows::{self as sequences, WindowsAt};
use crate::pipeline::diagnostic::did_you_mean;
use crate::pipeline::fields::Fields;
use crate::steps::context::{StepContext, StepError, StepOutput};
use crate::steps::ports::{Effect, Input, Output, OutputKind, Ports};

pub use super::ports::MODEL_INPUT;

/// Why a `predict` step with no `model:` and no training step upstream cannot score.
pub const NO_MODEL: &str =
    "needs a model: name one with `model: NAME@ALIAS` (or a run id), or put a `train` step (or a `command` step with a `model` output) under `needs:` (directly or further up)";

/// A machine's risk, from its latest window's score against the model's threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Risk {
    Critical,
    Warning,
    Healthy,
}

impl Risk {
    pub fn name(self) -> &'static str {
        match self {
            Risk::Critical => "critical",
            Risk::Warning => "warning",
            Risk::Healthy => "healthy",
        }
    }
}

/// Risk bands as multiples of the model's threshold: `critical` at or above
/// `critical x threshold`, `warning` at or above `warning x threshold`, else `healthy`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Levels {
    pub warning: f64,
    pub critical: f64,
}

impl Default for Levels {
    fn default() -> Self {
        Levels {
            warning: 0.5,
            critical: 1.0,
        }
    }
}

impl Levels {
    pub fn risk(&self, score: f64, threshold: f64) -> Risk {
        if score >= self.critical * threshold {
            Risk::Critical
        } else if score >= self.warning * threshold {
            Risk::Warning
        } else {
            Risk::Healthy
        }
    }
}

/// What to do with a machine that has too few rows for one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShortSeries {
    Error,
    /// Scored without it, with a warning naming it.
    Skip,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PredictParams {
    /// `NAME@ALIAS`, `NAME@vN`, `NAME` or a run id; None: the `train` step upstream.
    pub model: Option<String>,
    pub path: String,
    pub levels: Levels,
    pub at: WindowsAt,
    pub short_series: ShortSeries,
    pub batch_size: usize,
    pub device: DeviceChoice,
    pub threads: usize,
}

impl PredictParams {
    /// Scoring `path` with defaults for everything else (`pmflow predict` sets the rest).
    pub fn new(path: impl Into<String>) -> Self {
        PredictParams {
            model: None,
            path: path.into(),
            levels: Levels::default(),
            at: WindowsAt::Latest,
            short_series: ShortSeries::Error,
            batch_size: 4096,
            device: DeviceChoice::Auto,
            threads: 0,
        }
    }
}

pub fn parse(f: &mut Fields) -> Option<PredictParams> {
    let model = f.optional_str("model");
    let path = f.required_str("path", " (the file of new readings to score)");
    let levels = match f.node("levels") {
        Some(node) => {
            let context = format!("{} `levels`", f.context());
            let mut l = Fields::new(node, context, f.diags)?;
            let warning = l.optional_f64("warning", 0.0, 100.0).unwrap_or(0.5);
            let critical = l.optional_f64("critical", 0.0, 100.0).unwrap_or(1.0);
            if warning > critical {
                let pos = l.pos();
                l.error(
                    pos,
                    format!("`warning` ({warning}) must not be above `critical` ({critical}); both are multiples of the model's threshold"),
                );
            }
            l.finish();
            Levels { warning, critical }
        }
        None => Levels::default(),
    };
    let at = match f.optional_choice("at", &["latest", "all"]) {
        Some("all") => WindowsAt::All,
        _ => WindowsAt::Latest,
    };
    let short_series = match f.optional_choice("short-series", &["error", "skip"]) {
        Some("skip") => ShortSeries::Skip,
        _ => ShortSeries::Error,
    };
    Some(PredictParams {
        model,
        path: path?,
        levels,
        at,
        short_series,
        batch_size: f.optional_int("batch-size", 1, 1 << 20).unwrap_or(4096) as usize,
        device: parse_device(f),
        threads: f.optional_int("threads", 0, 256).unwrap_or(0) as usize,
    })
}

pub fn run(p: &PredictParams, ctx: &mut StepContext) -> Result<StepOutput, StepError> {
    // The model first: a bad card or weights fail before any data is read.
    let bundle = ctx.model()?.ok_or_else(|| StepError::new(NO_MODEL))?;
    let device = device::pick(p.device)?;
    if p.threads > 0 {
        tch::set_num_threads(p.threads as i32);
    }
    let model = bundle.scorer(device)?;
    let card = model.card();
    // A user's transform in the chain may make columns the file lacks (the run's own `predict`
    // step has no training load report to tell them from sensors): they are checked once made.
    let transformed = ctx
        .upstream
        .iter()
        .any(|(_, p)| matches!(super::preparer(p), Some(super::Preparer::Program(_))));
    let expected = Expected::of(card, ctx.model_file(TRAINING_LOAD_REPORT), transformed);

    ctx.progress(0, 3, format!("preparing {} as the model's training data was", p.path));
    let started = std::time::Instant::now();
    let silent = std::cell::RefCell::new(Vec::new());
    let mut table = prepare_checked(NewData::File(&p.path), ctx, false, &|t| {
        expected.check(t, &p.path)?;
        *silent.borrow_mut() = expected.silent(t, &p.path)?;
        Ok(())
    })?;
    if let Some(scaler) = &card.scaler {
        apply_scaler(&mut table, scaler)?;
    }
    // The chain ran on every machine (the file as training would see it); a machine without
    // readings of a sensor came out of it without that sensor's features, or with them empty.
    let silent = silent.into_inner();
    let silent_what = listed(&silent, "machine(s) without readings of a sensor the model needs");
    if !silent.is_empty() {
        leave_out(&mut table, &silent)?;
        ctx.warn(format!("{}: not scored: {silent_what}", p.path));
    }
    ctx.metric("rows", table.frame.height() as f64);
    let prepare_seconds = started.elapsed().as_secs_f64();
    ctx.metric("prepare_seconds", prepare_seconds);

    let started = std::time::Instant::now();
    let windows = sequences::for_scoring(&table, &card.features, card.window, p.at, device)?;
    let windows_seconds = started.elapsed().as_secs_f64();
    if !windows.short.is_empty() {
        let what = too_short(&windows.short, card.window);
        if windows.set.is_empty() || p.short_series == ShortSeries::Error {
            return Err(StepError::new(format!(
                "{}: {what}; give them more history (the feature step's lags and rolling windows use up the first rows), or set `short-series: skip` to score the others{}",
                p.path,
                if silent.is_empty() {
                    String::new()
                } else {
                    format!(" (also not scored: {silent_what})")
                }
            )));
        }
        ctx.warn(format!("{}: not scored: {what}", p.path));
    }
    ctx.progress(
        1,
        3,
        format!("scoring {} windows of {} machines", windows.set.len(), windows.entities),
    );
    let started = std::time::Instant::now();
    let scores = model.score(&windows.set, p.batch_size)?;
    let score_seconds = started.elapsed().as_secs_f64();
    ctx.metric("score_seconds", score_seconds);
    let started = std::time::Instant::now();
    let scored = scored_windows(&table, &windows.set.ends, &scores, card.threshold, &p.levels)?;
    let machines = latest_per_machine(&scored)?;
    let tables_seconds = started.elapsed().as_secs_f64();
    ctx.progress(3, 3, format!("scored {} windows", scores.len()));
    let count = |risk: Risk| at_risk(&machines, risk);
    ctx.metric("windows_scored", scores.len() as f64);
    ctx.metric("machines_scored", machines.frame.height() as f64);
    ctx.metric("machines_critical", count(Risk::Critical) as f64);
    ctx.metric("machines_warning", count(Risk::Warning) as f64);
    ctx.metric("machines_healthy", count(Risk::Healthy) as f64);
    ctx.metric("threshold", card.threshold);
    let report = json!({
        "data": p.path,
        "threshold": card.threshold,
        "threshold_rule": card.threshold_rule,
        "levels": {"warning": p.levels.warning, "critical": p.levels.critical},
        "windows": scores.len(),
        "machines": machines.frame.height(),
        "critical": count(Risk::Critical),
        "warning": count(Risk::Warning),
        "healthy": count(Risk::Healthy),
        "seconds": {"prepare": prepare_seconds, "windows": windows_seconds, "score": score_seconds, "tables": tables_seconds},
        "not_scored": silent.iter().map(|(m, why)| json!({"machine": m, "reason": why}))
            .chain(windows.short.iter().map(|(m, rows)| json!({"machine": m, "rows": rows,
                "reason": format!("{rows} prepared row(s), fewer than the model's window of {}", card.window)})))
            .collect::<Vec<_>>(),
    });
    Ok(StepOutput {
        tables: vec![("scores".into(), scored), ("machines".into(), machines)],
        reports: vec![("predict_report".into(), report)],
        files: Vec::new(),
    })
}

/// `N machine(s) WHAT: REASON; REASON` for (machine, reason) pairs, the first five listed.
fn listed(machines: &[(String, String)], what: &str) -> String {
    let mut reasons: Vec<&str> = machines.iter().take(5).map(|(_, why)| why.as_str()).collect();
    let more = machines.len().saturating_sub(reasons.len());
    let more = format!("and {more} more");
    if machines.len() > 5 {
        reasons.push(&more);
    }
    format!("{} {what}: {}", machines.len(), reasons.join("; "))
}

/// Removes the rows of `machines` from the prepared table.
fn leave_out(table: &mut Table, machines: &[(String, String)]) -> Result<(), StepError> {
    let Some(entity) = table.roles.entity.as_deref() else {
        return Ok(());
    };
    let gone: std::collections::HashSet<&str> = machines.iter().map(|(m, _)| m.as_str()).collect();
    let keys = table.frame.column(entity)?.cast(&DataType::String)?;
    let keep: BooleanChunked = keys
        .str()?
        .iter()
        .map(|k| !k.is_some_and(|k| gone.contains(k)))
        .collect();
    table.frame = table.frame.filter(&keep)?;
    Ok(())
}

/// The machines with fewer prepared rows than the model's window (the first five named).
fn too_short(short: &[(String, usize)], window: usize) -> String {
    let listed: Vec<String> = short
        .iter()
        .take(5)
        .map(|(m, rows)| format!("{m} ({rows} row(s))"))
        .collect();
    let more = short.len().saturating_sub(listed.len());
    format!(
        "{} machine(s) have fewer prepared rows than the model's window of {window}: {}{}",
        short.len(),
        listed.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        },
    )
}

/// How many machines are at `risk`.
fn at_risk(machines: &Table, risk: Risk) -> usize {
    machines
        .frame
        .column("risk")
        .ok()
        .and_then(|c| {
            c.str()
                .ok()
                .map(|s| s.iter().filter(|r| *r == Some(risk.name())).count())
        })
        .unwrap_or(0)
}

/// One row per scored window: entity and time of its last row, score, alarm and risk level.
fn scored_windows(
    table: &Table,
    ends: &[i64],
    scores: &[f64],
    threshold: f64,
    levels: &Levels,
) -> Result<Table, StepError> {
    let roles = &table.roles;
    let mut frame = scored_rows(table, ends, scores, threshold, false)?;
    let risks: Vec<&str> = scores.iter().map(|s| levels.risk(*s, threshold).name()).collect();
    frame.with_column(Column::new("risk".into(), risks))?;
    Ok(Table {
        frame,
        roles: crate::frame::Roles {
            label: None,
            ..roles.clone()
        },
    })
}

/// Each machine's latest scored window, most at risk first (then by score, highest first).
fn latest_per_machine(scored: &Table) -> Result<Table, StepError> {
    let frame = &scored.frame;
    let n = frame.height();
    // Windows come in entity order, time-ordered within each: an entity's last is its latest.
    let ranges = crate::frame::entity_ranges(frame, scored.roles.entity.as_deref())?;
    let scores = crate::frame::column_f64(frame, "score")?;
    let risks = frame.column("risk")?.str()?.clone();
    let mut last: Vec<usize> = ranges.iter().filter(|r| !r.is_empty()).map(|r| r.end - 1).collect();
    let rank = |i: usize| match risks.get(i) {
        Some("critical") => 0,
        Some("warning") => 1,
        _ => 2,
    };
    last.sort_by(|&a, &b| rank(a).cmp(&rank(b)).then(scores[b].total_cmp(&scores[a])));
    debug_assert!(last.iter().all(|i| *i < n));
    let idx = IdxCa::from_vec("idx".into(), last.iter().map(|i| *i as IdxSize).collect());
    Ok(Table {
        frame: frame.take(&idx)?,
        roles: scored.roles.clone(),
    })
}

/// The raw columns the model's features are made from, and the types its training data had:
/// checked on the new file right after it is read, so a missing, renamed or retyped sensor is
/// named before any step replays on it.
struct Expected {
    /// Raw column -> the model features made from it.
    needed: Vec<(String, Vec<String>)>,
    /// Column -> dtype, as the training run's `load` read them (when its report was found).
    trained_types: Vec<(String, String)>,
    /// Whether a user's transform runs between `load` and the features: then a column the file
    /// lacks may be one it makes.
    transformed: bool,
}

impl Expected {
    fn of(card: &ModelCard, load_report: Option<&[u8]>, transformed: bool) -> Expected {
        let made: Vec<&serde_json::Value> = card
            .feature_manifest
            .as_ref()
            .and_then(|m| m.get("features"))
            .and_then(|f| f.as_array())
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let trained_types: Vec<(String, String)> = load_report
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
            .and_then(|r| r.get("columns").and_then(|c| c.as_array()).cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|c| {
                Some((
                    c.get("name")?.as_str()?.to_string(),
                    c.get("dtype")?.as_str()?.to_string(),
                ))
            })
            .collect();
        let mut needed: Vec<(String, Vec<String>)> = Vec::new();
        let mut need = |raw: &str, feature: &str| match needed.iter_mut().find(|(r, _)| r == raw) {
            Some((_, features)) => features.push(feature.to_string()),
            None => needed.push((raw.to_string(), vec![feature.to_string()])),
        };
        for feature in &card.features {
            let entry = made
                .iter()
                .find(|m| m.get("name").and_then(|n| n.as_str()) == Some(feature.as_str()));
            match entry {
                None => need(feature, feature),
                Some(m) => {
                    if let Some(source) = m.get("source").and_then(|s| s.as_str()) {
                        need(source, feature);
                    }
                    // An interaction names its columns in its expression.
                    if let Some(expr) = m.get("expression").and_then(|e| e.as_str()) {
                        for word in expr.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                            let is_column = !word.is_empty()
                                && !word.chars().next().is_some_and(|c| c.is_ascii_digit())
                                && (trained_types.is_empty() || trained_types.iter().any(|(n, _)| n == word));
                            if is_column {
                                need(word, feature);
                            }
                        }
                    }
                }
            }
        }
        Expected {
            needed,
            trained_types,
            transformed,
        }
    }

    /// The loaded new file has every needed column, numeric where the model's data was.
    fn check(&self, loaded: &Table, path: &str) -> Result<(), StepError> {
        let frame = &loaded.frame;
        let present: Vec<&str> = frame.get_column_names().iter().map(|n| n.as_str()).collect();
        for (raw, features) in &self.needed {
            if loaded.roles.timestamp.as_deref() == Some(raw.as_str()) {
                continue;
            }
            // A column the training data did not have when it was read was made by a step of
            // the chain (a user's transform), which makes it here too.
            let known_raw = self.trained_types.iter().any(|(n, _)| n == raw);
            let made = match self.trained_types.is_empty() {
                false => !known_raw,
                true => self.transformed && frame.column(raw).is_err(),
            };
            if made {
                continue;
            }
            let used_for = if features.len() == 1 && &features[0] == raw {
                "a feature of the model".to_string()
            } else {
                let mut listed: Vec<&str> = features.iter().take(4).map(String::as_str).collect();
                if features.len() > 4 {
                    listed.push("...");
                }
                format!("the model makes {} from it", listed.join(", "))
            };
            let Some(column) = frame.column(raw).ok() else {
                // A column the training data did not have is the likely new name.
                let unknown: Vec<&str> = present
                    .iter()
                    .copied()
                    .filter(|c| !self.trained_types.is_empty() && !self.trained_types.iter().any(|(n, _)| n == c))
                    .collect();
                let renamed = match unknown.as_slice() {
                    [] => String::new(),
                    names => format!(
                        " (renamed? the file has column(s) the model's training data did not: {})",
                        names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                    ),
                };
                return Err(StepError::new(format!(
                    "{path} has no column `{raw}`{}{renamed}; {used_for}. Its columns are: {}",
                    did_you_mean(raw, present.iter().copied()),
                    present.join(", ")
                )));
            };
            if frame.height() > 0 && column.null_count() == frame.height() {
                return Err(StepError::new(format!(
                    "column `{raw}` of {path} is empty on every row; {used_for}. Check the file's export (a sensor disconnected, or a column left blank?)"
                )));
            }
            let trained = self
                .trained_types
                .iter()
                .find(|(n, _)| n == raw)
                .map(|(_, t)| t.as_str());
            if !column.dtype().is_primitive_numeric() && !column.dtype().is_bool() {
                let example = column
                    .cast(&DataType::String)
                    .ok()
                    .and_then(|s| s.str().ok().and_then(|s| s.iter().flatten().next().map(str::to_string)));
                return Err(StepError::new(format!(
                    "column `{raw}` of {path} was read as {}{} where the model's training data had {}; {used_for}. Check the file's values in that column (or its header: a sensor renamed or moved?)",
                    column.dtype(),
                    example.map(|e| format!(" (e.g. `{e}`)")).unwrap_or_default(),
                    trained.unwrap_or("numbers"),
                )));
            }
        }
        Ok(())
    }

    /// The machines of the loaded new file with no reading at all of a sensor the model needs,
    /// in machine order, each with why (`sensor `rpm` has no readings for machine P03`). The
    /// model's chain cannot make their features: `clean` fills a machine's gaps from that
    /// machine's own readings only (ffill, bfill, interpolate, and its own mean or median, as
    /// in training, where such a machine stayed empty too), and no fill value of the training
    /// data is kept to fill them from. When that is every machine, nothing can be scored: an
    /// error naming them.
    fn silent(&self, loaded: &Table, path: &str) -> Result<Vec<(String, String)>, StepError> {
        let Some(entity) = loaded.roles.entity.as_deref() else {
            return Ok(Vec::new());
        };
        let frame = &loaded.frame;
        let mut gappy = Vec::new();
        for (raw, _) in &self.needed {
            let numeric = frame.column(raw).is_ok_and(|c| c.dtype().is_primitive_numeric());
            if loaded.roles.is_role(raw) || !numeric {
                continue;
            }
            let values = crate::frame::column_f64_ref(frame, raw)?;
            if values.iter().any(|v| v.is_nan()) {
                gappy.push((raw, values));
            }
        }
        if gappy.is_empty() {
            return Ok(Vec::new());
        }
        let keys = frame.column(entity)?.cast(&DataType::String)?;
        let keys = keys.str()?;
        let mut machines = std::collections::BTreeMap::<&str, Vec<&str>>::new();
        let mut read = std::collections::HashMap::<&str, bool>::new();
        for (raw, values) in &gappy {
            read.clear();
            for (key, v) in keys.iter().zip(values.iter()) {
                if let Some(key) = key {
                    *read.entry(key).or_default() |= !v.is_nan();
                }
            }
            for (key, _) in read.iter().filter(|(_, any)| !**any) {
                machines.entry(key).or_default().push(raw.as_str());
            }
        }
        let silent: Vec<(String, String)> = machines
            .iter()
            .map(|(machine, sensors)| {
                let why = match sensors.as_slice() {
                    [one] => format!("sensor `{one}` has no readings for machine {machine}"),
                    many => format!(
                        "sensors {} have no readings for machine {machine}",
                        many.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
                    ),
                };
                (machine.to_string(), why)
            })
            .collect();
        // `read` holds every machine of the file (each sensor's pass visits every row).
        if !silent.is_empty() && silent.len() == read.len() {
            return Err(StepError::new(format!(
                "{path}: no machine can be scored: {}; the model's features of a machine are made from that machine's own readings. Check the file's export (sensors disconnected, or columns left blank?)",
                listed(&silent, "machine(s) without readings of a sensor the model needs")
            )));
        }
        Ok(silent)
    }
}

/// Reads a new file and a model: the one `model:` names, else the one trained upstream; writes
/// the scores.
pub fn ports(p: &PredictParams) -> Ports<'_> {
    let model = match &p.model {
        Some(spec) => Input::Model { spec },
        None => Input::UpstreamModel { missing: NO_MODEL },
    };
    Ports {
        inputs: vec![
            Input::External {
                key: "with.path",
                path: &p.path,
            },
            model,
        ],
        outputs: vec![
            Output::table("scores"),
            Output::table("machines"),
            Output::of(OutputKind::Report, "predict_report"),
        ],
        effect: Effect::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The three levels, at a threshold of 0.4 and the default bands (0.5x and 1x).
    #[test]
    fn risk_levels_are_multiples_of_the_threshold() {
        let levels = Levels::default();
        let t = 0.4;
        assert_eq!(levels.risk(0.4, t), Risk::Critical, "at the threshold is critical");
        assert_eq!(levels.risk(0.99, t), Risk::Critical);
        assert_eq!(levels.risk(0.3999, t), Risk::Warning);
        assert_eq!(levels.risk(0.2, t), Risk::Warning, "at 0.5x the threshold is a warning");
        assert_eq!(levels.risk(0.1999, t), Risk::Healthy);
        let strict = Levels {
            warning: 0.8,
            critical: 1.5,
        };
        let t = 0.5;
        assert_eq!(strict.risk(0.74, t), Risk::Warning, "0.74 < 1.5 x 0.5 = 0.75");
        assert_eq!(strict.risk(0.75, t), Risk::Critical);
        assert_eq!(strict.risk(0.4, t), Risk::Warning, "at 0.8 x 0.5 = 0.4");
        assert_eq!(strict.risk(0.39, t), Risk::Healthy);
    }

    /// Per machine: the latest window; critical first, then warning, then healthy, each by
    /// score, highest first.
    #[test]
    fn machines_are_sorted_by_risk_then_score() {
        let frame = df!(
            "m" => ["a", "a", "b", "c", "c", "d"],
            "t" => [1i64, 2, 1, 1, 2, 1],
            "score" => [0.9, 0.1, 0.3, 0.2, 0.5, 0.45],
            "alarm" => [true, false, false, false, true, true],
            "risk" => ["critical", "healthy", "warning", "healthy", "critical", "critical"],
        )
        .unwrap();
        let scored = Table {
            frame,
            roles: crate::frame::Roles {
                entity: Some("m".into()),
                timestamp: Some("t".into()),
                label: None,
            },
        };
        let machines = latest_per_machine(&scored).unwrap();
        let m: Vec<&str> = machines
            .frame
            .column("m")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .flatten()
            .collect();
        // a's latest window (t=2) is healthy although its earlier one was critical.
        assert_eq!(m, vec!["c", "d", "b", "a"]);
    }

    #[test]
    fn levels_are_checked() {
        let mut diags = crate::pipeline::Diagnostics::new("t.yaml", Vec::new());
        let node = crate::pipeline::yaml::parse("{path: x.csv, levels: {warning: 2.0, critical: 1.0}}").unwrap();
        let mut f = Fields::new(&node, "with", &mut diags).unwrap();
        parse(&mut f);
        f.finish();
        assert!(
            diags
                .to_string()
                .contains("`warning` (2) must not be above `critical` (1)"),
            "{diags}"
        );
    }
}
