//! `train` (formerly `train-lstm`, still read): windows of the train and val parts -> a classifier on libtorch (`model: lstm`,
//! `gru` or `linear`), early stopping on validation PR-AUC (best checkpoint kept), decision
//! threshold tuned on validation; beside it, always, a logistic-regression baseline on the
//! windows' last rows, so `evaluate` can say whether the model earns its keep. Writes the
//! weights (safetensors), a model card (with the baseline) and the loss curve.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::time::Instant;

use serde_json::json;
use tch::nn;

use super::model_io::parse_device;
use crate::frame::{numeric_features, Table};
use crate::ml::logistic::{self, Logistic};
use crate::ml::metrics::OperatingPoints;
use crate::ml::network::{Architecture, Classifier, ModelKind};
use crate::ml::training::{fit, predict, FitOptions, FitResult, Progress, WindowSet};
use crate::ml::weights::to_safetensors;
use crate::model::bundle::{self, ModelBundle};
use crate::model::card::{self as model_card, Baseline, ModelCard, Training};
use crate::model::device::{self, DeviceChoice};
use crate::model::formats::{Scaler, FEATURE_MANIFEST};
use crate::model::windows as sequences;
use crate::pipeline::fields::Fields;
use crate::pipeline::node::Value;
use crate::plot::{line_chart, Chart, Series};
use crate::steps::context::{StepContext, StepError, StepOutput};
use crate::steps::ports::{Output, OutputKind, Ports};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PosWeight {
    Auto,
    Fixed(f64),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThresholdRule {
    MaxF1,
    /// The lowest threshold whose validation false-alarm rate stays at or below this.
    FalseAlarmRate(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrainParams {
    pub model: ModelKind,
    pub window: usize,
    pub hidden: i64,
    pub layers: i64,
    pub dropout: f64,
    pub bidirectional: bool,
    pub attention: bool,
    /// Start the recurrent network as its logistic-regression baseline (a skip path from the
    /// last row, head at zero) and keep the start unless an epoch beats it on validation.
    pub skip: bool,
    /// Epochs, batch size, optimiser, clipping, patience and seed; its `pos_weight` is filled in
    /// from `pos_weight` once the training windows are known.
    pub fit: FitOptions,
    pub pos_weight: Option<PosWeight>,
    pub threshold: ThresholdRule,
    pub device: DeviceChoice,
    pub threads: usize,
    /// Feature columns; default: every numeric non-role column of the train part.
    pub columns: Option<Vec<String>>,
}

pub fn parse(f: &mut Fields) -> Option<TrainParams> {
    let pos_weight = match f.node("pos-weight").map(|n| (n, &n.value)) {
        None | Some((_, Value::Null)) => None,
        Some((_, Value::Str(s))) if s == "auto" => Some(PosWeight::Auto),
        Some((_, Value::Int(i))) if *i > 0 => Some(PosWeight::Fixed(*i as f64)),
        Some((_, Value::Float(x))) if *x > 0.0 && x.is_finite() => Some(PosWeight::Fixed(*x)),
        Some((n, _)) => {
            f.error(
                n.pos,
                "`pos-weight` must be `auto` (negatives / positives) or a positive number",
            );
            None
        }
    };
    let threshold = match f.optional_f64("target-false-alarm-rate", 0.0, 1.0) {
        Some(rate) => ThresholdRule::FalseAlarmRate(rate),
        None => ThresholdRule::MaxF1,
    };
    let device = parse_device(f);
    let clip_norm = f.optional_f64("clip-norm", 0.0, 1e6).unwrap_or(1.0);
    let model = f
        .optional_choice("model", &ModelKind::NAMES)
        .and_then(ModelKind::parse)
        .unwrap_or_default();
    Some(TrainParams {
        model,
        window: f.optional_int("window", 1, 100_000).unwrap_or(24) as usize,
        hidden: f.optional_int("hidden", 1, 4096).unwrap_or(64),
        layers: f.optional_int("layers", 1, 16).unwrap_or(2),
        dropout: f.optional_f64("dropout", 0.0, 0.95).unwrap_or(0.2),
        bidirectional: f.optional_bool("bidirectional").unwrap_or(false),
        attention: f.optional_bool("attention").unwrap_or(false),
        skip: f.optional_bool("skip").unwrap_or(true),
        fit: FitOptions {
            epochs: f.optional_int("epochs", 1, 100_000).unwrap_or(20) as usize,
            batch_size: f.optional_int("batch-size", 1, 1 << 20).unwrap_or(64) as usize,
            lr: f.optional_f64("lr", 1e-9, 10.0).unwrap_or(1e-3),
            weight_decay: f.optional_f64("weight-decay", 0.0, 10.0).unwrap_or(0.0),
            clip_norm: (clip_norm > 0.0).then_some(clip_norm),
            patience: f.optional_int("patience", 1, 100_000).unwrap_or(5) as usize,
            pos_weight: None,
            seed: f.optional_int("seed", 0, i64::MAX).unwrap_or(42) as u64,
            start_competes: false,
            start_margin: f.optional_f64("start-margin", 0.0, 100.0).unwrap_or(1.0),
        },
        pos_weight,
        threshold,
        device,
        threads: f.optional_int("threads", 1, 256).unwrap_or(1) as usize,
        columns: f.optional_str_list("columns"),
    })
}

pub fn run(p: &TrainParams, ctx: &mut StepContext) -> Result<StepOutput, StepError> {
    let train = ctx.table("train")?;
    let val = ctx.table("val")?;
    let device = device::pick(p.device)?;
    // libtorch's thread pool is process-wide; one thread is the default because a busy
    // 2-core machine made two threads 15-40x slower (OpenMP spin-waiting), see README.
    tch::set_num_threads(p.threads as i32);
    tch::manual_seed(p.fit.seed as i64);

    let label =
        train.roles.label.clone().ok_or_else(|| {
            StepError::new("needs a label column; declare `label` in `load` or make one in `feature`")
        })?;
    let features = p
        .columns
        .clone()
        .unwrap_or_else(|| numeric_features(&train.frame, &train.roles));
    if features.is_empty() {
        return Err(StepError::new("the train part has no numeric feature columns"));
    }
    let (train_set, val_set) = windows(p, ctx, (&train, &val), &features, &label, device)?;
    let positives = train_set.positives();
    let pos_weight = p.pos_weight.map(|w| match w {
        PosWeight::Auto => (train_set.len() - positives) as f64 / positives as f64,
        PosWeight::Fixed(x) => x,
    });

    let arch = architecture(p, features.len());
    let baseline = fit_logistic(&train_set, pos_weight)?;
    let vs = nn::VarStore::new(device);
    let model = Classifier::new(&vs.root(), arch.clone());
    let started_as_baseline = model.start_from_linear(&baseline.coef, baseline.intercept);
    let opts = FitOptions {
        pos_weight,
        start_competes: started_as_baseline,
        ..p.fit.clone()
    };
    // Training time only: the baseline's fit above is not in `sequences_per_sec`.
    let started = Instant::now();
    let result = train_network(p, ctx, (&vs, &model), (&train_set, &val_set), &opts)?;
    let seconds = started.elapsed().as_secs_f64();
    let epochs_run = result.history.len();

    // Thresholds on validation, from the kept scores (no second pass), by one rule for both.
    let labels: Vec<bool> = val_set.labels.iter().map(|y| *y == 1.0).collect();
    let points = OperatingPoints::new(&labels, &result.best_val_scores);
    let (threshold, rule) = choose_threshold(p.threshold, &points, "model", ctx);
    let baseline_points = OperatingPoints::new(&labels, &baseline.probabilities(&val_set.last_rows()));
    let baseline = Baseline {
        threshold: choose_threshold(p.threshold, &baseline_points, "baseline", ctx).0,
        val_pr_auc: baseline_points.average_precision().unwrap_or(0.0),
        model: baseline,
    };
    let val_pr_auc = points.average_precision().unwrap_or(0.0);
    if p.model != ModelKind::Linear {
        // 0: no epoch beat the start (the baseline, with `skip`), which is kept.
        ctx.metric("best_epoch", result.best_epoch as f64);
        ctx.metric(
            "sequences_per_sec",
            (train_set.len() * epochs_run) as f64 / seconds.max(1e-9),
        );
    }
    ctx.metric("best_val_pr_auc", val_pr_auc);
    ctx.metric("baseline_val_pr_auc", baseline.val_pr_auc);
    ctx.metric("threshold", threshold);
    ctx.metric("train_windows", train_set.len() as f64);
    ctx.metric("val_windows", val_set.len() as f64);
    let card = ModelCard {
        format: model_card::FORMAT.into(),
        architecture: Some(arch),
        score: None,
        window: p.window,
        features,
        label,
        entity: train.roles.entity.clone(),
        timestamp: train.roles.timestamp.clone(),
        threshold,
        threshold_rule: rule,
        feature_manifest: ctx.file(FEATURE_MANIFEST).and_then(|b| serde_json::from_slice(b).ok()),
        scaler: ctx.state::<Scaler>().and_then(Result::ok),
        training_data: ctx.digests.clone(),
        seed: opts.seed,
        pmflow_version: env!("CARGO_PKG_VERSION").into(),
        training: Some(Training {
            epochs: epochs_run,
            best_epoch: result.best_epoch,
            stopped_early: result.stopped_early,
            batch_size: opts.batch_size,
            lr: opts.lr,
            pos_weight,
            train_windows: train_set.len(),
            val_windows: val_set.len(),
            history: result.history.clone(),
        }),
        baseline: Some(baseline),
    };
    let files = model_files(&vs, card)?;
    Ok(StepOutput {
        files,
        reports: vec![(
            "training_report".into(),
            json!({"seconds": seconds, "device": format!("{device:?}"), "threads": p.threads, "epochs_run": epochs_run}),
        )],
        ..Default::default()
    })
}

/// The network the settings describe, over `features` inputs.
fn architecture(p: &TrainParams, features: usize) -> Architecture {
    Architecture {
        kind: p.model,
        features: features as i64,
        hidden: p.hidden,
        layers: p.layers,
        dropout: p.dropout,
        bidirectional: p.bidirectional,
        attention: p.attention,
        skip: p.skip && p.model != ModelKind::Linear,
    }
}

/// The trained model's files (its bundle: the weights, carrying the card in their metadata, and
/// the card) and its loss curve.
fn model_files(vs: &nn::VarStore, card: ModelCard) -> Result<Vec<(String, Vec<u8>)>, StepError> {
    let card_json = bundle::card_json(&card)?;
    let metadata = HashMap::from([(
        "pmflow.model_card".to_string(),
        String::from_utf8_lossy(&card_json).into_owned(),
    )]);
    let weights = to_safetensors(vs, metadata).map_err(|e| StepError::new(e.0))?;
    let model = ModelBundle { card, payload: weights };
    let mut files = model.files()?;
    if let Some(training) = model.card.training.as_ref().filter(|t| !t.history.is_empty()) {
        files.push(("loss_curve.svg".into(), loss_curve(training).into_bytes()));
    }
    Ok(files)
}

/// The train and val parts as windows, each with a positive window (what early stopping and
/// threshold tuning need); entities too short for a window are named in a warning.
fn windows(
    p: &TrainParams,
    ctx: &StepContext,
    (train, val): (&Table, &Table),
    features: &[String],
    label: &str,
    device: tch::Device,
) -> Result<(WindowSet, WindowSet), StepError> {
    let train_windows = sequences::build(train, "train", features, p.window, device)?;
    let val_windows = sequences::build(val, "val", features, p.window, device)?;
    for (part, w) in [("train", &train_windows), ("val", &val_windows)] {
        if w.set.is_empty() {
            return Err(StepError::new(format!(
                "`window: {}` is longer than every entity's series in the `{part}` part ({} entities); use a smaller window",
                p.window, w.entities
            )));
        }
        if w.short_entities > 0 {
            ctx.warn(format!(
                "{} of {} entities in the `{part}` part are shorter than `window: {}` and give no window",
                w.short_entities, w.entities, p.window
            ));
        }
    }
    let (train_set, val_set) = (train_windows.set, val_windows.set);
    if train_set.positives() == 0 {
        return Err(StepError::new(format!(
            "the train part has no positive window (label `{label}` = 1); the model cannot learn failures: widen the label horizon or change the split"
        )));
    }
    if val_set.positives() == 0 {
        return Err(StepError::new(format!(
            "the val part has no positive window (label `{label}` = 1); early stopping and threshold tuning need some: change the split fractions or seed"
        )));
    }
    Ok((train_set, val_set))
}

/// The network trained on `sets` (train, val) with early stopping on val; a linear model is
/// its baseline start, with nothing to train. Stops when the step is asked to.
fn train_network(
    p: &TrainParams,
    ctx: &StepContext,
    (vs, model): (&nn::VarStore, &Classifier),
    (train_set, val_set): (&WindowSet, &WindowSet),
    opts: &FitOptions,
) -> Result<FitResult, StepError> {
    if p.model == ModelKind::Linear {
        // The model is the baseline itself, in the network's head: nothing to train.
        Ok(FitResult {
            history: Vec::new(),
            best_epoch: 0,
            stopped_early: false,
            best_val_scores: predict(model, val_set, opts.batch_size.max(256)),
        })
    } else {
        // Asked to stop (interrupt, timeout): no more batches, and no metric of an epoch the
        // run will not keep.
        fit(vs, model, train_set, val_set, opts, |event| {
            if ctx.cancel.is_raised() {
                return ControlFlow::Break(());
            }
            match event {
                Progress::Batch {
                    epoch,
                    done,
                    total,
                    loss,
                } => ctx.progress(
                    done as u64,
                    total as u64,
                    format!("epoch {epoch}/{} loss {loss:.4}", opts.epochs),
                ),
                Progress::Epoch(e) => {
                    let at = e.epoch as i64;
                    ctx.metric_at("train_loss", e.train_loss, at);
                    ctx.metric_at("val_loss", e.val_loss, at);
                    ctx.metric_at("val_pr_auc", e.val_pr_auc, at);
                    ctx.metric_at("val_f1", e.val_f1, at);
                }
            }
            ControlFlow::Continue(())
        })
        .map_err(|e| StepError::new(e.0))
    }
}

/// The logistic regression on the training windows' last rows, positives weighted as the
/// model's are, with scikit-learn's default regularisation (C = 1).
fn fit_logistic(train: &WindowSet, pos_weight: Option<f64>) -> Result<Logistic, StepError> {
    logistic::fit(&train.last_rows(), &train.labels, pos_weight.unwrap_or(1.0), 1.0)
        .map_err(|e| StepError::new(format!("the logistic-regression baseline: {e}")))
}

/// The decision threshold on validation scores by `rule`, and how it was chosen.
/// `who` (the model or its baseline) names it in the warning.
fn choose_threshold(rule: ThresholdRule, points: &OperatingPoints, who: &str, ctx: &StepContext) -> (f64, String) {
    match rule {
        ThresholdRule::MaxF1 => (
            points.max_f1_threshold().map(|(t, _)| t).unwrap_or(0.5),
            "max-f1".to_string(),
        ),
        ThresholdRule::FalseAlarmRate(rate) => {
            let t = points.threshold_for_false_alarm_rate(rate).unwrap_or_else(|| {
                ctx.warn(format!(
                    "no threshold keeps the {who}'s validation false-alarm rate at or below {rate}; alarming only above the highest score"
                ));
                f64::from(f32::MAX)
            });
            (t, format!("false-alarm-rate<={rate}"))
        }
    }
}

fn loss_curve(training: &Training) -> String {
    let history = &training.history;
    let series = |name: &str, value: fn(&crate::ml::training::EpochStats) -> f64| {
        Series::new(name, history.iter().map(|e| (e.epoch as f64, value(e))).collect())
    };
    let chart = Chart {
        title: &format!("Loss per epoch (best: epoch {})", training.best_epoch),
        x_label: "epoch",
        y_label: "BCE loss",
        x_range: None,
        y_range: None,
    };
    line_chart(
        &chart,
        &[series("train", |e| e.train_loss), series("validation", |e| e.val_loss)],
    )
}

/// Reads the train and val parts (and the upstream recipe and scaler, for the card); writes the
/// trained model.
pub fn ports(_: &TrainParams) -> Ports<'static> {
    Ports::on_tables(vec![
        Output::of(OutputKind::Model, "model"),
        Output::of(OutputKind::Report, "training_report"),
        Output::of(OutputKind::Picture, "loss_curve.svg"),
    ])
}
