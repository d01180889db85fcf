//! `evaluate`: the trained model on the test part only, at the threshold tuned on validation:
//! precision, recall, F1, ROC-AUC, PR-AUC (average precision), false-alarm rate, confusion
//! matrix; the same for the model card's logistic-regression baseline (`baseline_pr_auc`,
//! `baseline_f1`, `lift_pr_auc` = model minus baseline); PR, ROC and confusion pictures;
//! per-window predictions as a table.

use serde_json::json;

use super::model_io::{parse_device, scored_rows};
use crate::frame::{numeric_features, Table};
use crate::ml::metrics::{Confusion, OperatingPoints};
use crate::model::device::{self, DeviceChoice};
use crate::model::importance::{self, Importance, Shuffles};
use crate::model::scorer::Scorer;
use crate::model::windows as sequences;
use crate::pipeline::fields::Fields;
use crate::plot::{confusion_matrix, importance_picture, line_chart, Chart, ImportanceBar, Series};
use crate::steps::context::{StepContext, StepError, StepOutput};
use crate::steps::ports::{Input, Output, OutputKind, Ports, NO_UPSTREAM_MODEL};

#[derive(Debug, Clone, PartialEq)]
pub struct EvaluateParams {
    pub batch_size: usize,
    pub device: DeviceChoice,
    pub threads: usize,
    /// Permutation importance on the test part; None: `importance: false`.
    pub importance: Option<ImportanceParams>,
}

/// `importance: {repeats: 5, seed: 42, per-feature: false}`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImportanceParams {
    pub shuffles: Shuffles,
    /// Also each feature on its own (one scoring per feature and repeat: slower).
    pub per_feature: bool,
}

const DEFAULT_IMPORTANCE: ImportanceParams = ImportanceParams {
    shuffles: Shuffles {
        repeats: 5,
        seed: 42,
        max_windows: 10_000,
    },
    per_feature: false,
};

pub fn parse(f: &mut Fields) -> Option<EvaluateParams> {
    Some(EvaluateParams {
        batch_size: f.optional_int("batch-size", 1, 1 << 20).unwrap_or(1024) as usize,
        device: parse_device(f),
        threads: f.optional_int("threads", 1, 256).unwrap_or(1) as usize,
        importance: parse_importance(f)?,
    })
}

/// `importance: false`, `true` or a map; None after reporting a problem.
fn parse_importance(f: &mut Fields) -> Option<Option<ImportanceParams>> {
    let Some(node) = f.node("importance") else {
        return Some(Some(DEFAULT_IMPORTANCE));
    };
    match node.value {
        crate::pipeline::node::Value::Bool(false) => return Some(None),
        crate::pipeline::node::Value::Bool(true) | crate::pipeline::node::Value::Null => {
            return Some(Some(DEFAULT_IMPORTANCE))
        }
        _ => {}
    }
    let context = format!("{} `importance`", f.context());
    let mut i = Fields::new(node, context, f.diags)?;
    let repeats = i.optional_int("repeats", 1, 1000).unwrap_or(5) as usize;
    let seed = i.optional_int("seed", 0, i64::MAX).unwrap_or(42) as u64;
    let per_feature = i.optional_bool("per-feature").unwrap_or(false);
    let max_windows = i.optional_int("max-windows", 100, i64::MAX).unwrap_or(10_000) as usize;
    i.finish();
    Some(Some(ImportanceParams {
        shuffles: Shuffles {
            repeats,
            seed,
            max_windows,
        },
        per_feature,
    }))
}

pub fn run(p: &EvaluateParams, ctx: &mut StepContext) -> Result<StepOutput, StepError> {
    let bundle = ctx.model()?.ok_or_else(|| StepError::new(NO_UPSTREAM_MODEL))?;
    let card = &bundle.card;
    let test = ctx.table("test")?;
    let device = device::pick(p.device)?;
    tch::set_num_threads(p.threads as i32);

    warn_unused_columns(&test, &card.features, ctx);
    let windows = sequences::build(&test, "test", &card.features, card.window, device)?;
    if windows.set.is_empty() {
        return Err(StepError::new(format!(
            "the model's `window: {}` is longer than every entity's series in the `test` part",
            card.window
        )));
    }
    let model = bundle.scorer(device)?;
    let card = model.card();
    let scores = model.score(&windows.set, p.batch_size)?;
    let labels: Vec<bool> = windows.set.labels.iter().map(|y| *y == 1.0).collect();

    let c = Confusion::at(&labels, &scores, card.threshold);
    let points = OperatingPoints::new(&labels, &scores);
    let (pr_auc, roc_auc) = (points.average_precision(), points.roc_auc());
    if roc_auc.is_none() {
        ctx.warn("the test part has one class only: ROC-AUC and PR-AUC are undefined and not logged");
    }
    let baseline = card.baseline.as_ref().map(|b| {
        let scores = b.model.probabilities(&windows.set.last_rows());
        let points = OperatingPoints::new(&labels, &scores);
        (Confusion::at(&labels, &scores, b.threshold), points)
    });
    let baseline_pr_auc = baseline.as_ref().and_then(|(_, p)| p.average_precision());
    let lift = pr_auc.zip(baseline_pr_auc).map(|(m, b)| m - b);
    let metrics = [
        ("precision", Some(c.precision())),
        ("recall", Some(c.recall())),
        ("f1", Some(c.f1())),
        ("false_alarm_rate", Some(c.false_alarm_rate())),
        ("pr_auc", pr_auc),
        ("roc_auc", roc_auc),
        ("threshold", Some(card.threshold)),
        ("tp", Some(c.tp as f64)),
        ("fp", Some(c.fp as f64)),
        ("tn", Some(c.tn as f64)),
        ("fn", Some(c.fn_ as f64)),
        ("support", Some(c.positives() as f64)),
        ("windows", Some(labels.len() as f64)),
        ("baseline_pr_auc", baseline_pr_auc),
        ("baseline_roc_auc", baseline.as_ref().and_then(|(_, p)| p.roc_auc())),
        ("baseline_f1", baseline.as_ref().map(|(c, _)| c.f1())),
        ("lift_pr_auc", lift),
    ];
    for (key, value) in metrics {
        if let Some(v) = value {
            ctx.metric(key, v);
        }
    }
    let importance = match (p.importance, pr_auc) {
        (Some(settings), Some(_)) => Some(importances(model.as_ref(), &windows.set, settings, p.batch_size, ctx)?),
        _ => None,
    };
    let report = json!({
        "model": card.model_name(),
        "importance": importance.as_ref().map(importance_json),
        "threshold": card.threshold, "threshold_rule": card.threshold_rule,
        "metrics": metrics.iter().filter_map(|(k, v)| v.map(|v| (k.to_string(), json!(v)))).collect::<serde_json::Map<_, _>>(),
        "confusion_matrix": {"rows": "actual [failure, healthy]", "columns": "predicted [alarm, no alarm]",
                             "values": [[c.tp, c.fn_], [c.fp, c.tn]]},
    });
    let mut pictures = vec![
        (
            "pr_curve.svg".to_string(),
            pr_picture(&points, pr_auc, &c, baseline.as_ref().map(|(_, p)| p)).into_bytes(),
        ),
        ("roc_curve.svg".to_string(), roc_picture(&points, roc_auc).into_bytes()),
        (
            "confusion_matrix.svg".to_string(),
            confusion_matrix(&format!("Test part at threshold {:.3}", card.threshold), &c).into_bytes(),
        ),
    ];
    pictures.extend(importance.as_ref().map(|(by_sensor, _)| importance_svg(by_sensor)));
    Ok(StepOutput {
        tables: vec![(
            "predictions".into(),
            predictions(&test, &windows.set.ends, &scores, card.threshold)?,
        )],
        reports: vec![("evaluation".into(), report)],
        files: pictures,
    })
}

/// Warns of numeric columns of the test part the model was not trained on (ignored).
fn warn_unused_columns(test: &Table, features: &[String], ctx: &StepContext) {
    let unused: Vec<String> = numeric_features(&test.frame, &test.roles)
        .into_iter()
        .filter(|c| !features.contains(c))
        .collect();
    if !unused.is_empty() {
        ctx.warn(format!(
            "the test part has numeric columns the model was not trained on (ignored): {}",
            unused.join(", ")
        ));
    }
}

/// Permutation importance by sensor (and, when asked, by feature), logged as
/// `importance.SENSOR` (the mean drop in test PR-AUC when it is shuffled).
fn importances(
    model: &dyn Scorer,
    windows: &crate::ml::training::WindowSet,
    settings: ImportanceParams,
    batch_size: usize,
    ctx: &StepContext,
) -> Result<(Vec<Importance>, Option<Vec<Importance>>), StepError> {
    let card = model.card();
    let groups = importance::by_source(&card.features, card.feature_manifest.as_ref());
    ctx.progress(0, 1, format!("permutation importance of {} sensors", groups.len()));
    let started = std::time::Instant::now();
    let by_sensor = importance::permutation(model, windows, &groups, settings.shuffles, batch_size)?;
    for i in &by_sensor {
        ctx.metric(format!("importance.{}", i.name), i.drop);
    }
    let by_feature = match settings.per_feature {
        true => Some(importance::permutation(
            model,
            windows,
            &importance::each_feature(&card.features),
            settings.shuffles,
            batch_size,
        )?),
        false => None,
    };
    ctx.metric("importance_seconds", started.elapsed().as_secs_f64());
    Ok((by_sensor, by_feature))
}

/// `importance.svg`: a bar per sensor.
fn importance_svg(by_sensor: &[Importance]) -> (String, Vec<u8>) {
    let bars: Vec<ImportanceBar> = by_sensor
        .iter()
        .map(|i| ImportanceBar {
            name: i.name.clone(),
            drop: i.drop,
            std: i.std,
        })
        .collect();
    let title = "Permutation importance by sensor, test part";
    ("importance.svg".into(), importance_picture(title, &bars).into_bytes())
}

fn importance_json((by_sensor, by_feature): &(Vec<Importance>, Option<Vec<Importance>>)) -> serde_json::Value {
    let list = |found: &[Importance]| -> Vec<serde_json::Value> {
        found
            .iter()
            .map(|i| json!({"name": i.name, "pr_auc_drop": i.drop, "std": i.std}))
            .collect()
    };
    json!({
        "measure": "drop in test PR-AUC when shuffled (mean and population std over the repeats)",
        "by_sensor": list(by_sensor),
        "by_feature": by_feature.as_deref().map(list),
    })
}

/// One row per window: its entity and time (of its last row), the label, score and alarm.
fn predictions(test: &Table, ends: &[i64], scores: &[f64], threshold: f64) -> Result<Table, StepError> {
    Ok(Table {
        frame: scored_rows(test, ends, scores, threshold, true)?,
        roles: test.roles.clone(),
    })
}

/// The model's precision-recall curve, its operating point and, when there is one, the
/// baseline's curve beside it.
fn pr_picture(points: &OperatingPoints, ap: Option<f64>, at: &Confusion, baseline: Option<&OperatingPoints>) -> String {
    let base_rate = points.positives as f64 / (points.positives + points.negatives).max(1) as f64;
    let stepped = |name: String, points: &OperatingPoints| {
        let mut curve = Series::new(name, points.pr_curve());
        curve.steps = true;
        curve
    };
    let curve = stepped(format!("model (AP {})", score(ap)), points);
    let baseline = baseline.map(|b| {
        stepped(
            format!("logistic-regression baseline (AP {})", score(b.average_precision())),
            b,
        )
    });
    let mut chance = Series::new(
        format!("chance ({base_rate:.3})"),
        vec![(0.0, base_rate), (1.0, base_rate)],
    );
    chance.dashed = true;
    let mut chosen = Series::new("at the threshold", vec![(at.recall(), at.precision())]);
    chosen.dots = true;
    let chart = Chart {
        title: "Precision-recall, test part",
        x_label: "recall",
        y_label: "precision",
        x_range: Some((0.0, 1.0)),
        y_range: Some((0.0, 1.02)),
    };
    let mut series = vec![curve];
    series.extend(baseline);
    series.extend([chance, chosen]);
    line_chart(&chart, &series)
}

fn roc_picture(points: &OperatingPoints, auc: Option<f64>) -> String {
    let curve = Series::new(format!("model (AUC {})", score(auc)), points.roc_curve());
    let mut chance = Series::new("chance", vec![(0.0, 0.0), (1.0, 1.0)]);
    chance.dashed = true;
    let chart = Chart {
        title: "ROC, test part",
        x_label: "false-alarm rate",
        y_label: "recall (true positive rate)",
        x_range: Some((0.0, 1.0)),
        y_range: Some((0.0, 1.02)),
    };
    line_chart(&chart, &[curve, chance])
}

fn score(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.3}")).unwrap_or_else(|| "undefined".into())
}

/// Reads the test part and the model trained upstream; measures it.
pub fn ports(_: &EvaluateParams) -> Ports<'static> {
    Ports::on_tables(vec![
        Output::table("predictions"),
        Output::of(OutputKind::Report, "evaluation"),
        Output::of(OutputKind::Picture, "pr_curve.svg"),
        Output::of(OutputKind::Picture, "roc_curve.svg"),
        Output::of(OutputKind::Picture, "confusion_matrix.svg"),
        Output::of(OutputKind::Picture, "importance.svg"),
    ])
    .and(Input::UpstreamModel {
        missing: NO_UPSTREAM_MODEL,
    })
}
