//! Training and prediction loops for the LSTM classifier: seeded mini-batches, BCE with
//! logits, Adam, gradient clipping, early stopping on validation PR-AUC with the best
//! checkpoint restored at the end.

use std::ops::ControlFlow;

use tch::{nn, nn::OptimizerConfig, Device, Kind, Reduction, Tensor};

use super::metrics::OperatingPoints;
use super::network::{Classifier, WindowEnds};
use super::rng::Rng;

/// Why training stopped without a model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct FitError(pub String);

/// Windows of `window` rows over a feature matrix, named by their last row.
pub struct WindowSet {
    /// [rows, features]
    pub rows: Tensor,
    pub ends: Vec<i64>,
    /// The label of each window (its last row's), 0 or 1.
    pub labels: Vec<f32>,
    pub window: i64,
}

impl WindowSet {
    /// `matrix` is row-major `rows x features`.
    pub fn new(
        matrix: &[f32],
        features: usize,
        ends: Vec<i64>,
        labels: Vec<f32>,
        window: usize,
        device: Device,
    ) -> Self {
        let rows = Tensor::from_slice(matrix)
            .view([(matrix.len() / features.max(1)) as i64, features as i64])
            .to_device(device); // [rows, features]
        WindowSet {
            rows,
            ends,
            labels,
            window: window as i64,
        }
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Each window's last row: [windows, features] (what the linear model reads).
    pub fn last_rows(&self) -> Tensor {
        let index = Tensor::from_slice(&self.ends).to_device(self.rows.device()); // [windows]
        self.rows.index_select(0, &index)
    }

    pub fn positives(&self) -> usize {
        self.labels.iter().filter(|y| **y == 1.0).count()
    }

    /// The windows at `picks` as a batch: x [batch, window, features], y [batch].
    fn batch(&self, picks: &[usize]) -> (Tensor, Tensor) {
        let device = self.rows.device();
        let features = self.rows.size()[1];
        let mut index = Vec::with_capacity(picks.len() * self.window as usize);
        for &p in picks {
            let end = self.ends[p];
            index.extend((end + 1 - self.window)..=end);
        }
        let index = Tensor::from_slice(&index).to_device(device); // [batch*window]
        let x = self
            .rows
            .index_select(0, &index)
            .view([picks.len() as i64, self.window, features]); // [batch, window, features]
        let y: Vec<f32> = picks.iter().map(|&p| self.labels[p]).collect();
        (x, Tensor::from_slice(&y).to_device(device)) // y: [batch]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub weight_decay: f64,
    /// Max global gradient norm; None: no clipping.
    pub clip_norm: Option<f64>,
    /// Epochs without a better validation PR-AUC before stopping.
    pub patience: usize,
    /// Weight of positive samples in the loss (negatives / positives for `auto`).
    pub pos_weight: Option<f64>,
    pub seed: u64,
    /// Whether the weights before training compete for the best epoch (as epoch 0): for a
    /// network started as its baseline, which an epoch must then beat on validation by more
    /// than `start_margin` standard errors of the validation PR-AUC (see [`one_standard_error`]).
    pub start_competes: bool,
    /// How many standard errors an epoch must beat the start by (1: Breiman's rule; 0: any
    /// validation gain).
    pub start_margin: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct EpochStats {
    pub epoch: usize,
    pub train_loss: f64,
    pub val_loss: f64,
    pub val_pr_auc: f64,
    /// The best F1 over thresholds on validation (what threshold tuning would reach).
    pub val_f1: f64,
}

pub enum Progress<'a> {
    Batch {
        epoch: usize,
        done: usize,
        total: usize,
        loss: f64,
    },
    Epoch(&'a EpochStats),
}

#[derive(Debug, Clone)]
pub struct FitResult {
    pub history: Vec<EpochStats>,
    /// 0 when no epoch beat the starting weights (`start_competes`).
    pub best_epoch: usize,
    pub stopped_early: bool,
    /// The best epoch's validation probabilities, window by window (what predicting the
    /// validation windows with the restored weights gives), for threshold tuning.
    pub best_val_scores: Vec<f64>,
}

/// The best epoch so far: its weights and validation scores.
struct Best {
    epoch: usize,
    pr_auc: f64,
    weights: Checkpoint,
    val_scores: Vec<f64>,
}

/// Trains `model` (whose variables live in `vs`) and leaves the best epoch's weights in `vs`.
///
/// `progress` hears of every batch and epoch and answers whether to go on: `Break` stops the
/// training at once (a run interrupted or past its timeout), with an error, so the thread that
/// trains returns within one batch instead of running on after its run has ended.
pub fn fit(
    vs: &nn::VarStore,
    model: &Classifier,
    train: &WindowSet,
    val: &WindowSet,
    opts: &FitOptions,
    mut progress: impl FnMut(Progress) -> ControlFlow<()>,
) -> Result<FitResult, FitError> {
    let mut optimizer = nn::Adam {
        wd: opts.weight_decay,
        ..Default::default()
    }
    .build(vs, opts.lr)
    .map_err(|e| FitError(format!("cannot create the optimizer: {e}")))?;
    let pos_weight = opts
        .pos_weight
        .map(|w| Tensor::from_slice(&[w as f32]).to_device(vs.device())); // [1]
    let mut rng = Rng::new(opts.seed);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let batches = train.len().div_ceil(opts.batch_size);
    let mut history: Vec<EpochStats> = Vec::new();
    let mut best: Option<Best> = None;
    let val_labels: Vec<bool> = val.labels.iter().map(|y| *y == 1.0).collect();
    // What an epoch must add to the start's validation PR-AUC to replace it; later epochs
    // only have to beat the best so far.
    let mut margin = 0.0;
    if opts.start_competes {
        let (_, scores) = evaluate(model, val, pos_weight.as_ref(), opts.batch_size.max(256));
        let pr_auc = OperatingPoints::new(&val_labels, &scores)
            .average_precision()
            .unwrap_or(0.0);
        margin = opts.start_margin * one_standard_error(pr_auc, val);
        best = Some(Best {
            epoch: 0,
            pr_auc,
            weights: snapshot(vs),
            val_scores: scores,
        });
    }
    let mut stopped_early = false;
    for epoch in 1..=opts.epochs {
        rng.shuffle(&mut order);
        let mut loss_sum = 0.0;
        for (b, picks) in order.chunks(opts.batch_size).enumerate() {
            let (x, y) = train.batch(picks); // x: [batch, window, features], y: [batch]
            let logits = model.forward(&x, true); // [batch]
            let loss =
                logits.binary_cross_entropy_with_logits(&y, None::<&Tensor>, pos_weight.as_ref(), Reduction::Mean); // []
            match opts.clip_norm {
                Some(max) => optimizer.backward_step_clip_norm(&loss, max),
                None => optimizer.backward_step(&loss),
            }
            let value = loss.double_value(&[]);
            if !value.is_finite() {
                return Err(FitError(format!(
                    "training diverged: the loss became {value} in epoch {epoch}; lower `lr`, set `clip-norm`, or check the features for extreme values"
                )));
            }
            loss_sum += value * picks.len() as f64;
            let flow = progress(Progress::Batch {
                epoch,
                done: b + 1,
                total: batches,
                loss: value,
            });
            if flow.is_break() {
                return Err(stopped(epoch));
            }
        }
        let (val_loss, scores) = evaluate(model, val, pos_weight.as_ref(), opts.batch_size.max(256));
        let points = OperatingPoints::new(&val_labels, &scores);
        let stats = EpochStats {
            epoch,
            train_loss: loss_sum / train.len() as f64,
            val_loss,
            val_pr_auc: points.average_precision().unwrap_or(0.0),
            val_f1: points.max_f1_threshold().map(|(_, f1)| f1).unwrap_or(0.0),
        };
        if progress(Progress::Epoch(&stats)).is_break() {
            return Err(stopped(epoch));
        }
        let bar = |b: &Best| b.pr_auc + if b.epoch == 0 { margin } else { 0.0 };
        if best.as_ref().is_none_or(|b| stats.val_pr_auc > bar(b)) {
            best = Some(Best {
                epoch,
                pr_auc: stats.val_pr_auc,
                weights: snapshot(vs),
                val_scores: scores,
            });
        }
        history.push(stats);
        if let Some(b) = &best {
            if epoch - b.epoch >= opts.patience {
                stopped_early = epoch < opts.epochs;
                break;
            }
        }
    }
    let best = best.ok_or_else(|| FitError("`epochs` must be at least 1".into()))?;
    restore(vs, &best.weights);
    Ok(FitResult {
        history,
        best_epoch: best.epoch,
        stopped_early,
        best_val_scores: best.val_scores,
    })
}

fn stopped(epoch: usize) -> FitError {
    FitError(format!("training stopped in epoch {epoch}: the step was cancelled"))
}

/// One standard error of an average precision `ap` measured on `set`: sqrt(ap (1 - ap) / m),
/// with m the failure events, not the positive windows. Consecutive positive windows (one
/// machine sliding towards one failure) are one event: they rise and fall together, so a
/// validation part with 8 failures judges a model as 8 cases would, however many windows they
/// span. Breiman's one-standard-error rule: keep the simpler model (the baseline the network
/// starts as) unless the trained one is better by more than the noise of the measurement.
pub fn one_standard_error(ap: f64, set: &WindowSet) -> f64 {
    let mut events = 0usize;
    for (i, (&label, &end)) in set.labels.iter().zip(&set.ends).enumerate() {
        let continues = i > 0 && set.labels[i - 1] == 1.0 && set.ends[i - 1] + 1 == end;
        if label == 1.0 && !continues {
            events += 1;
        }
    }
    (ap * (1.0 - ap) / events.max(1) as f64).sqrt()
}

/// Probabilities of the positive class for every window, in order.
pub fn predict(model: &Classifier, set: &WindowSet, batch_size: usize) -> Vec<f64> {
    evaluate(model, set, None, batch_size).1
}

/// Probabilities for every window of `set`, as [`predict`] gives them (to about 1e-7), faster:
/// each row is projected once for all the windows it sits in
/// ([`Classifier::window_logits`]), and the windows are split among libtorch's threads,
/// each scoring its share single-threaded (small matrix products gain little from intra-op
/// threads; whole batches on each core do).
pub fn predict_windows(model: &Classifier, set: &WindowSet, batch_size: usize) -> Vec<f64> {
    if !model.reads_projected_rows() || set.is_empty() {
        return predict(model, set, batch_size);
    }
    let threads = tch::get_num_threads().max(1);
    let workers = (threads as usize).min(set.len().div_ceil(batch_size.max(1))).max(1);
    let share = set.len().div_ceil(workers);
    tch::set_num_threads(1);
    let scores: Vec<Vec<f64>> = std::thread::scope(|scope| {
        let parts: Vec<_> = set
            .ends
            .chunks(share)
            .map(|ends| {
                let (model, rows) = (model.shallow_copy(), set.rows.shallow_clone());
                let window = set.window;
                scope.spawn(move || tch::no_grad(|| score_share(&model, &rows, window, ends, batch_size)))
            })
            .collect();
        parts.into_iter().map(|p| p.join().unwrap_or_default()).collect()
    });
    tch::set_num_threads(threads);
    scores.concat()
}

/// One worker's windows, batch by batch. A run of consecutive windows (one machine's, sliding)
/// projects the rows it covers and reads them in place; scattered windows (each machine's
/// latest) gather their own rows.
fn score_share(model: &Classifier, all_rows: &Tensor, window: i64, ends: &[i64], batch_size: usize) -> Vec<f64> {
    let device = all_rows.device();
    let batch_size = batch_size.max(1);
    let mut scores = Vec::with_capacity(ends.len());
    let mut score = |rows: Tensor, at: WindowEnds| {
        let projected = model.project_rows(&rows); // [covered, 4*hidden]
        let probabilities = model
            .window_logits(&rows, &projected, &at, window)
            .sigmoid()
            .to_kind(Kind::Double)
            .to_device(Device::Cpu); // [batch]
        scores.extend(Vec::<f64>::try_from(&probabilities).unwrap_or_default());
    };
    let follows = |i: usize| ends[i] == ends[i - 1] + 1;
    let mut start = 0;
    while start < ends.len() {
        let mut end = start + 1;
        while end < ends.len() && end - start < batch_size && follows(end) {
            end += 1;
        }
        if end - start > 1 || ends.len() == 1 {
            let batch = &ends[start..end];
            let lo = batch[0] + 1 - window;
            let rows = all_rows.narrow(0, lo, batch[batch.len() - 1] - lo + 1); // [covered, features]
            score(
                rows,
                WindowEnds::Run {
                    first: window - 1,
                    count: batch.len() as i64,
                },
            );
            start = end;
            continue;
        }
        // Scattered windows: up to a batch of them, each with its own rows.
        while end < ends.len() && end - start < batch_size && !follows(end) {
            end += 1;
        }
        let batch = &ends[start..end];
        let index: Vec<i64> = batch.iter().flat_map(|&e| (e + 1 - window)..=e).collect();
        let rows = all_rows.index_select(0, &Tensor::from_slice(&index).to_device(device)); // [batch*window, features]
        let local: Vec<i64> = (0..batch.len() as i64).map(|k| k * window + window - 1).collect();
        score(rows, WindowEnds::At(Tensor::from_slice(&local).to_device(device)));
        start = end;
    }
    scores
}

/// Mean loss (weighted as in training) and probabilities, without dropout or gradients.
fn evaluate(model: &Classifier, set: &WindowSet, pos_weight: Option<&Tensor>, batch_size: usize) -> (f64, Vec<f64>) {
    tch::no_grad(|| {
        let all: Vec<usize> = (0..set.len()).collect();
        let mut scores = Vec::with_capacity(set.len());
        let mut loss_sum = 0.0;
        for picks in all.chunks(batch_size.max(1)) {
            let (x, y) = set.batch(picks); // x: [batch, window, features], y: [batch]
            let logits = model.forward(&x, false); // [batch]
            let loss = logits.binary_cross_entropy_with_logits(&y, None::<&Tensor>, pos_weight, Reduction::Sum); // []
            loss_sum += loss.double_value(&[]);
            let probabilities = logits.sigmoid().to_kind(Kind::Double).to_device(Device::Cpu); // [batch]
            scores.extend(Vec::<f64>::try_from(&probabilities).unwrap_or_default());
        }
        (loss_sum / set.len().max(1) as f64, scores)
    })
}

/// A copy of every variable, by name.
type Checkpoint = Vec<(String, Tensor)>;

fn snapshot(vs: &nn::VarStore) -> Checkpoint {
    vs.variables()
        .into_iter()
        .map(|(name, t)| (name, t.detach().copy()))
        .collect()
}

fn restore(vs: &nn::VarStore, weights: &[(String, Tensor)]) {
    let variables = vs.variables();
    tch::no_grad(|| {
        for (name, saved) in weights {
            if let Some(var) = variables.get(name) {
                var.shallow_clone().copy_(saved);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::network::{Architecture, ModelKind};

    /// A separable toy problem: the window's last value of feature 0 tells the class.
    fn toy(n: usize, seed: u64) -> WindowSet {
        let mut rng = Rng::new(seed);
        let window = 4;
        let mut matrix = Vec::new();
        let mut labels = Vec::new();
        let mut ends = Vec::new();
        for i in 0..n {
            let positive = rng.next_f64() < 0.3;
            for t in 0..window {
                let signal = if positive && t == window - 1 { 2.0 } else { 0.0 };
                matrix.push((signal + rng.next_f64() * 0.5) as f32);
                matrix.push(rng.next_f64() as f32);
            }
            ends.push((i * window + window - 1) as i64);
            labels.push(if positive { 1.0 } else { 0.0 });
        }
        WindowSet::new(&matrix, 2, ends, labels, window, Device::Cpu)
    }

    /// The fast scorer gives `predict`'s probabilities for every architecture, for sliding
    /// windows (one run of rows per batch) and scattered ones (gathered), split among threads.
    #[test]
    fn window_scoring_matches_the_plain_forward_pass() {
        let _guard = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
        tch::manual_seed(3);
        let mut rng = Rng::new(11);
        let (rows, features, window) = (400usize, 3usize, 6usize);
        let matrix: Vec<f32> = (0..rows * features)
            .map(|_| rng.next_f64() as f32 * 2.0 - 1.0)
            .collect();
        // Two entities of 250 and 150 rows: every window inside each, and each one's latest.
        let sliding: Vec<i64> = ((window - 1)..250)
            .chain((250 + window - 1)..rows)
            .map(|e| e as i64)
            .collect();
        let latest = vec![249i64, 399];
        for (layers, attention, bidirectional, skip) in [
            (1, false, false, false),
            (2, false, false, false),
            (1, true, false, false),
            (2, true, false, false),
            (1, false, true, false),
            (1, false, false, true),
            (2, true, false, true),
        ] {
            let vs = nn::VarStore::new(Device::Cpu);
            let arch = Architecture {
                kind: ModelKind::Lstm,
                features: features as i64,
                // Past the fused step's 8 lanes, with a tail.
                hidden: 13,
                layers,
                dropout: 0.3,
                bidirectional,
                attention,
                skip,
            };
            let model = Classifier::new(&vs.root(), arch);
            // A skip path with weights of its own, beside the random recurrent part.
            model.start_from_linear(&[0.3, -0.7, 1.1], 0.2);
            if skip {
                tch::no_grad(|| {
                    let head = &vs.variables()["head.weight"];
                    head.shallow_clone()
                        .copy_(&Tensor::randn(head.size(), (Kind::Float, Device::Cpu)));
                });
            }
            for ends in [&sliding, &latest] {
                let labels = vec![0f32; ends.len()];
                let set = WindowSet::new(&matrix, features, ends.clone(), labels, window, Device::Cpu);
                let plain = predict(&model, &set, 64);
                for batch in [7, 64, 1000] {
                    let fast = predict_windows(&model, &set, batch);
                    assert_eq!(fast.len(), plain.len());
                    let worst = fast.iter().zip(&plain).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
                    assert!(
                        worst < 1e-6,
                        "layers {layers}, attention {attention}, skip {skip}, batch {batch}: {worst}"
                    );
                }
            }
        }
    }

    /// libtorch's generator is global: tests that seed it must not interleave.
    static TORCH_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// A small network on the toy problem's two features, and options that train it well.
    fn small(kind: ModelKind, seed: u64) -> (nn::VarStore, Classifier, FitOptions) {
        let vs = nn::VarStore::new(Device::Cpu);
        let model = Classifier::new(
            &vs.root(),
            Architecture {
                kind,
                features: 2,
                hidden: 8,
                layers: 1,
                dropout: 0.0,
                bidirectional: false,
                attention: false,
                skip: false,
            },
        );
        let opts = FitOptions {
            epochs: 30,
            batch_size: 32,
            lr: 0.01,
            weight_decay: 0.0,
            clip_norm: Some(1.0),
            patience: 5,
            pos_weight: None,
            seed,
            start_competes: false,
            start_margin: 1.0,
        };
        (vs, model, opts)
    }

    fn train_once(seed: u64, kind: ModelKind) -> (FitResult, Vec<f64>) {
        let _guard = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
        tch::manual_seed(seed as i64);
        let (vs, model, opts) = small(kind, seed);
        let (train, val) = (toy(400, 1), toy(200, 2));
        let result = fit(&vs, &model, &train, &val, &opts, |_| ControlFlow::Continue(())).unwrap();
        (result, predict(&model, &val, 64))
    }

    #[test]
    fn a_break_from_progress_stops_training_within_the_batch() {
        let (vs, model, opts) = small(ModelKind::Lstm, 3);
        let opts = FitOptions {
            epochs: 50,
            patience: 50,
            ..opts
        };
        let (train, val) = (toy(400, 1), toy(100, 2));
        let mut batches = 0;
        let result = fit(&vs, &model, &train, &val, &opts, |event| match event {
            Progress::Batch { .. } => {
                batches += 1;
                if batches == 15 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            }
            Progress::Epoch(_) => ControlFlow::Continue(()),
        });
        // 13 batches an epoch: the 15th is the second of epoch 2, and nothing runs after it.
        let e = result.unwrap_err();
        assert_eq!(batches, 15);
        assert!(e.0.contains("stopped in epoch 2"), "{e}");
        let mut epochs = 0;
        let result = fit(&vs, &model, &train, &val, &opts, |event| match event {
            Progress::Epoch(_) => {
                epochs += 1;
                ControlFlow::Break(())
            }
            Progress::Batch { .. } => ControlFlow::Continue(()),
        });
        assert!(result.is_err());
        assert_eq!(epochs, 1);
    }

    #[test]
    fn the_standard_error_counts_failure_events_not_windows() {
        // Ends 0..10 of one machine: positives at 3, 4, 5 (one event) and 8 (another); then a
        // second machine whose windows end at 20, 21 (positive: one more event).
        let ends: Vec<i64> = (0..10).chain([20, 21]).collect();
        let labels: Vec<f32> = [0., 0., 0., 1., 1., 1., 0., 0., 1., 0., 1., 1.].to_vec();
        let set = WindowSet::new(&[0.0; 22], 1, ends, labels, 1, Device::Cpu);
        let se = one_standard_error(0.5, &set);
        assert!((se - (0.25f64 / 3.0).sqrt()).abs() < 1e-12, "{se}");
    }

    /// A one-layer LSTM with `hidden` units started as the regression (`coef`, `intercept`) on
    /// the toy's two features, and options that let that start compete with `margin`.
    fn started_as(hidden: i64, coef: [f64; 2], intercept: f64, margin: f64) -> (nn::VarStore, Classifier, FitOptions) {
        let vs = nn::VarStore::new(Device::Cpu);
        let arch = Architecture {
            kind: ModelKind::Lstm,
            features: 2,
            hidden,
            layers: 1,
            dropout: 0.0,
            bidirectional: false,
            attention: false,
            skip: true,
        };
        let model = Classifier::new(&vs.root(), arch);
        assert!(model.start_from_linear(&coef, intercept));
        let opts = FitOptions {
            epochs: 2,
            batch_size: 32,
            lr: 1e-2,
            weight_decay: 0.0,
            clip_norm: None,
            patience: 6,
            pos_weight: None,
            seed: 1,
            start_competes: true,
            start_margin: margin,
        };
        (vs, model, opts)
    }

    #[test]
    fn a_start_that_no_epoch_beats_is_kept() {
        let _guard = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
        tch::manual_seed(5);
        // The toy's signal (feature 0 of the last row) as a regression; a step too small to move.
        let (vs, model, opts) = started_as(4, [3.0, 0.0], -3.0, 1.0);
        let opts = FitOptions { lr: 1e-9, ..opts };
        let (train, val) = (toy(200, 1), toy(100, 2));
        let start = predict(&model, &val, 64);
        let result = fit(&vs, &model, &train, &val, &opts, |_| ControlFlow::Continue(())).unwrap();
        assert_eq!((result.best_epoch, result.history.len()), (0, 2));
        assert_eq!(predict(&model, &val, 64), start, "the start's weights are restored");
        assert_eq!(result.best_val_scores, start);
    }

    #[test]
    fn the_start_margin_decides_what_an_epoch_must_beat() {
        // Started as a regression on the noise feature, the network learns the signal within
        // a few epochs: with no margin any better epoch replaces the start; with a margin
        // beyond any gain, the start is kept.
        let _guard = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
        let (train, val) = (toy(300, 1), toy(150, 2));
        let run = |margin: f64| {
            tch::manual_seed(9);
            let (vs, model, opts) = started_as(8, [0.0, 1.0], 0.0, margin);
            fit(&vs, &model, &train, &val, &FitOptions { epochs: 6, ..opts }, |_| {
                ControlFlow::Continue(())
            })
            .unwrap()
        };
        let free = run(0.0);
        assert!(
            free.best_epoch > 0 && free.history[free.best_epoch - 1].val_pr_auc > 0.9,
            "{:?}",
            free.history
        );
        assert_eq!(run(1e6).best_epoch, 0);
    }

    #[test]
    fn learns_a_separable_problem_and_keeps_the_best_epoch() {
        let (gru, _) = train_once(7, ModelKind::Gru);
        assert!(
            gru.history[gru.best_epoch - 1].val_pr_auc > 0.95,
            "GRU: {:?}",
            gru.history
        );
        let (result, scores) = train_once(7, ModelKind::Lstm);
        let best = &result.history[result.best_epoch - 1];
        assert!(best.val_pr_auc > 0.95, "{:?}", result.history);
        assert!(result.history.iter().all(|e| e.val_pr_auc <= best.val_pr_auc));
        // The restored weights are the best epoch's: predicting again reproduces its PR-AUC.
        let labels: Vec<bool> = toy(200, 2).labels.iter().map(|y| *y == 1.0).collect();
        let ap = OperatingPoints::new(&labels, &scores).average_precision().unwrap();
        assert!((ap - best.val_pr_auc).abs() < 1e-9, "{ap} vs {}", best.val_pr_auc);
        // The kept validation scores are the restored weights' predictions.
        assert_eq!(result.best_val_scores.len(), scores.len());
        for (kept, fresh) in result.best_val_scores.iter().zip(&scores) {
            assert!((kept - fresh).abs() < 1e-6, "{kept} vs {fresh}");
        }
    }

    #[test]
    fn same_seed_same_weights_bit_for_bit() {
        tch::set_num_threads(1);
        let (a, scores_a) = train_once(3, ModelKind::Lstm);
        let (b, scores_b) = train_once(3, ModelKind::Lstm);
        assert_eq!(a.best_epoch, b.best_epoch);
        assert_eq!(scores_a, scores_b);
    }
}
