//! Permutation importance of any model behind [`Scorer`]: how much its test PR-AUC drops when
//! one group of features (all those made from one sensor, or one feature) is shuffled across
//! rows, the others kept, repeated with different shuffles. The same measure as scikit-learn's
//! `permutation_importance` with `scoring="average_precision"`; a group's columns are shuffled
//! together, so what they say jointly about the sensor is what is lost.

use super::scorer::Scorer;
use super::ModelError;
use crate::ml::metrics::OperatingPoints;
use crate::ml::rng::Rng;
use crate::ml::training::WindowSet;

/// A group of features shuffled together, by name, with the column indices it covers.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: String,
    pub columns: Vec<usize>,
}

/// One group's importance: the mean drop in PR-AUC over the repeats, and its spread.
#[derive(Debug, Clone, PartialEq)]
pub struct Importance {
    pub name: String,
    pub drop: f64,
    /// Standard deviation of the drops over the repeats (population, as scikit-learn's
    /// `importances_std`).
    pub std: f64,
}

/// How the shuffles are made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shuffles {
    pub repeats: usize,
    pub seed: u64,
    /// About this many windows are scored (whole machines' runs of windows, a seeded sample),
    /// as scikit-learn's `max_samples`: the cost grows with windows x groups x repeats.
    pub max_windows: usize,
}

/// How many values the shuffled copies scored in one call may hold (128 MB of f32): copies are
/// scored together, so a model run as a program starts once per batch, not once per shuffle.
const VALUES_PER_CALL: usize = 32 << 20;

/// Each group's importance for `model` on `windows` (labelled), most important first: the
/// drop from the model's PR-AUC on the (sampled) windows as they are.
pub fn permutation(
    model: &dyn Scorer,
    windows: &WindowSet,
    groups: &[Group],
    shuffles: Shuffles,
    batch_size: usize,
) -> Result<Vec<Importance>, ModelError> {
    let mut rng = Rng::new(shuffles.seed);
    let windows = &sample(windows, shuffles.max_windows, &mut rng);
    let labels: Vec<bool> = windows.labels.iter().map(|y| *y == 1.0).collect();
    let base = OperatingPoints::new(&labels, &model.score(windows, batch_size)?)
        .average_precision()
        .unwrap_or(0.0);
    let width = model.card().features.len().max(1);
    let matrix: Vec<f32> = Vec::<f32>::try_from(windows.rows.flatten(0, -1))
        .map_err(|e| ModelError::new(format!("the windows cannot be read: {e}")))?;
    let rows = matrix.len() / width;
    let per_call = (VALUES_PER_CALL / matrix.len().max(1)).max(1);
    let mut drops: Vec<Vec<f64>> = vec![Vec::new(); groups.len()];
    // (group, shuffled copy) waiting to be scored, in the order the shuffles were drawn.
    let mut pending: Vec<(usize, Vec<f32>)> = Vec::new();
    let jobs = (0..groups.len()).flat_map(|g| std::iter::repeat_n(g, shuffles.repeats));
    for g in jobs {
        let mut order: Vec<usize> = (0..rows).collect();
        rng.shuffle(&mut order);
        let mut shuffled = matrix.clone();
        for &c in &groups[g].columns {
            for (row, &from) in order.iter().enumerate() {
                shuffled[row * width + c] = matrix[from * width + c];
            }
        }
        pending.push((g, shuffled));
        if pending.len() == per_call {
            score_copies(model, windows, &labels, base, &mut pending, &mut drops, batch_size)?;
        }
    }
    score_copies(model, windows, &labels, base, &mut pending, &mut drops, batch_size)?;
    let mut found: Vec<Importance> = groups
        .iter()
        .zip(drops)
        .map(|(group, drops)| {
            let n = drops.len().max(1) as f64;
            let mean = drops.iter().sum::<f64>() / n;
            let std = (drops.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n).sqrt();
            Importance {
                name: group.name.clone(),
                drop: mean,
                std,
            }
        })
        .collect();
    found.sort_by(|a, b| b.drop.total_cmp(&a.drop));
    Ok(found)
}

/// About `most` of the windows (all when there are no more): whole runs of consecutive windows
/// (a machine's sliding windows) drawn by `rng` until there are enough, kept in order. Whole
/// runs keep what scoring reads in place (a run shares its rows), and every row stays, so a
/// window still reads its own history.
fn sample(windows: &WindowSet, most: usize, rng: &mut Rng) -> WindowSet {
    let ends = &windows.ends;
    let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
    for i in 0..ends.len() {
        match runs.last_mut() {
            Some(run) if ends[i] == ends[i - 1] + 1 => run.end = i + 1,
            _ => runs.push(i..i + 1),
        }
    }
    if ends.len() > most {
        rng.shuffle(&mut runs);
        let mut taken = 0;
        runs.retain(|run| {
            let keep = taken < most;
            taken += run.len() * usize::from(keep);
            keep
        });
        runs.sort_by_key(|run| run.start);
    }
    let chosen: Vec<usize> = runs.into_iter().flatten().collect();
    WindowSet {
        rows: windows.rows.shallow_clone(),
        ends: chosen.iter().map(|&i| ends[i]).collect(),
        labels: chosen.iter().map(|&i| windows.labels[i]).collect(),
        window: windows.window,
    }
}

/// Scores the `pending` copies in one call (their windows one after the other) and adds each
/// copy's drop in PR-AUC to its group's.
fn score_copies(
    model: &dyn Scorer,
    windows: &WindowSet,
    labels: &[bool],
    base: f64,
    pending: &mut Vec<(usize, Vec<f32>)>,
    drops: &mut [Vec<f64>],
    batch_size: usize,
) -> Result<(), ModelError> {
    if pending.is_empty() {
        return Ok(());
    }
    let width = model.card().features.len().max(1);
    let rows = pending[0].1.len() / width;
    let combined: Vec<f32> = pending.iter().flat_map(|(_, m)| m.iter().copied()).collect();
    let ends: Vec<i64> = (0..pending.len())
        .flat_map(|k| windows.ends.iter().map(move |e| e + (k * rows) as i64))
        .collect();
    let copies = pending.len();
    let set = WindowSet::new(
        &combined,
        width,
        ends,
        windows.labels.repeat(copies),
        windows.window as usize,
        windows.rows.device(),
    );
    let scores = model.score(&set, batch_size)?;
    for ((g, _), scores) in pending.drain(..).zip(scores.chunks(windows.ends.len().max(1))) {
        let ap = OperatingPoints::new(labels, scores).average_precision().unwrap_or(0.0);
        drops[g].push(base - ap);
    }
    Ok(())
}

/// The features grouped by the sensor they were made from: the feature recipe's `source` of
/// each (from `manifest`, the `feature` step's), else the feature itself (a raw column).
pub fn by_source(features: &[String], manifest: Option<&serde_json::Value>) -> Vec<Group> {
    let made: Vec<&serde_json::Value> = manifest
        .and_then(|m| m.get("features"))
        .and_then(|f| f.as_array())
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let source_of = |feature: &str| {
        made.iter()
            .find(|m| m.get("name").and_then(|n| n.as_str()) == Some(feature))
            .and_then(|m| m.get("source").and_then(|s| s.as_str()))
            .unwrap_or(feature)
            .to_string()
    };
    let mut groups: Vec<Group> = Vec::new();
    for (i, feature) in features.iter().enumerate() {
        let source = source_of(feature);
        match groups.iter_mut().find(|g| g.name == source) {
            Some(g) => g.columns.push(i),
            None => groups.push(Group {
                name: source,
                columns: vec![i],
            }),
        }
    }
    groups
}

/// One group per feature.
pub fn each_feature(features: &[String]) -> Vec<Group> {
    features
        .iter()
        .enumerate()
        .map(|(i, f)| Group {
            name: f.clone(),
            columns: vec![i],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::card::ModelCard;

    /// Scores each window by its last row's first feature: the second is noise it never reads.
    struct FirstFeature(ModelCard);

    impl Scorer for FirstFeature {
        fn card(&self) -> &ModelCard {
            &self.0
        }

        fn score(&self, windows: &WindowSet, _: usize) -> Result<Vec<f64>, ModelError> {
            let last: Vec<f32> = Vec::<f32>::try_from(windows.last_rows().flatten(0, -1)).unwrap();
            Ok(last.chunks(2).map(|r| r[0] as f64).collect())
        }
    }

    fn card(features: &[&str]) -> ModelCard {
        serde_json::from_value(serde_json::json!({
            "format": "pmflow-command/1", "score": ["true"], "window": 1,
            "features": features, "label": "y", "entity": null, "timestamp": null,
            "threshold": 0.5, "threshold-rule": "test", "feature-manifest": null, "scaler": null,
            "training-data": [], "seed": 1, "pmflow-version": "test"
        }))
        .unwrap()
    }

    #[test]
    fn a_feature_the_model_reads_matters_and_one_it_ignores_does_not() {
        // The label is the first feature thresholded: a perfect model (PR-AUC 1) on it.
        let n = 400;
        let mut rng = Rng::new(7);
        let (mut matrix, mut labels) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let signal = rng.next_f64() as f32;
            matrix.extend([signal, rng.next_f64() as f32]);
            labels.push(if signal > 0.8 { 1.0 } else { 0.0 });
        }
        let ends: Vec<i64> = (0..n as i64).collect();
        let windows = WindowSet::new(&matrix, 2, ends, labels, 1, tch::Device::Cpu);
        let model = FirstFeature(card(&["signal", "noise"]));
        let groups = each_feature(&model.0.features);
        let shuffles = Shuffles {
            repeats: 5,
            seed: 3,
            max_windows: 10_000,
        };
        let found = permutation(&model, &windows, &groups, shuffles, 64).unwrap();
        assert_eq!(found[0].name, "signal");
        // Shuffled, the signal is as good as chance: PR-AUC falls from 1 to about the base rate.
        assert!(found[0].drop > 0.6, "{found:?}");
        assert!(found[0].std > 0.0 && found[0].std < 0.1, "{found:?}");
        assert_eq!(found[1].name, "noise");
        assert_eq!(found[1].drop, 0.0, "a feature the model never reads loses nothing");
        // The same seed gives the same figures.
        assert_eq!(permutation(&model, &windows, &groups, shuffles, 64).unwrap(), found);
    }

    #[test]
    fn a_sample_takes_whole_runs_of_windows() {
        let matrix = vec![0f32; 40];
        let set = |ends: Vec<i64>| {
            let labels = vec![0f32; ends.len()];
            WindowSet::new(&matrix, 1, ends, labels, 1, tch::Device::Cpu)
        };
        let mut rng = Rng::new(1);
        // Two machines' sliding windows: one whole run is enough for 5.
        let runs = sample(&set((0..10).chain(20..30).collect()), 5, &mut rng);
        let whole = |r: std::ops::Range<i64>| runs.ends == r.collect::<Vec<_>>();
        assert!(whole(0..10) || whole(20..30), "{:?}", runs.ends);
        // Scattered windows (each machine's latest): any 5 of them, in order.
        let scattered = sample(&set((0..40).step_by(2).collect()), 5, &mut rng);
        assert_eq!(scattered.ends.len(), 5);
        assert!(scattered.ends.windows(2).all(|p| p[0] < p[1]));
        // No more than asked: all of them, as they were.
        assert_eq!(sample(&set(vec![1, 2, 3]), 5, &mut rng).ends, [1, 2, 3]);
    }

    #[test]
    fn features_are_grouped_by_the_sensor_they_were_made_from() {
        let manifest = serde_json::json!({"features": [
            {"name": "vib_roll6_mean", "source": "vib"},
            {"name": "temp_lag1", "source": "temp"},
            {"name": "vib_lag1", "source": "vib"},
        ]});
        let features: Vec<String> = ["vib_roll6_mean", "temp_lag1", "vib_lag1", "rpm"]
            .map(String::from)
            .to_vec();
        let groups = by_source(&features, Some(&manifest));
        let named: Vec<(&str, &[usize])> = groups.iter().map(|g| (g.name.as_str(), g.columns.as_slice())).collect();
        assert_eq!(named, [("vib", &[0, 2][..]), ("temp", &[1][..]), ("rpm", &[3][..])]);
    }
}
