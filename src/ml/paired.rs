//! Whether one scoring of a validation set beats another by more than noise: a paired bootstrap
//! of the difference in average precision, resampling whole stretches of a series (a machine's
//! windows up to and including one failure), so that the windows that rise and fall together
//! are drawn together.
//!
//! Paired, because both scorings rank the same windows: a network that starts as its baseline
//! and moves a little from it makes mostly the same mistakes, so the difference is far less
//! noisy than either figure (Efron & Tibshirani 1993, ch. 16; the same resampling as
//! `scipy.stats.bootstrap(..., paired=True)`, with clusters for the dependent windows).

use std::ops::Range;

use super::rng::Rng;

/// Resamples per estimate: the standard error's own relative error is about 1/sqrt(2B), 3%.
pub const RESAMPLES: usize = 500;

/// The windows (by position) cut into stretches: a new stretch starts where the series breaks
/// (`ends` not consecutive) and after the last window of each run of positives.
pub fn stretches(ends: &[i64], labels: &[bool]) -> Vec<Range<usize>> {
    let mut cuts = Vec::new();
    let mut start = 0;
    for i in 1..=ends.len() {
        let breaks = i == ends.len() || ends[i - 1] + 1 != ends[i];
        let event_ends = labels[i - 1] && (i == ends.len() || !labels[i]);
        if breaks || event_ends {
            cuts.push(start..i);
            start = i;
        }
    }
    cuts
}

/// The windows in decreasing order of score (NaN last, ties in input order), with where each
/// group of tied scores ends, for average precision under any weights.
pub struct Ranking {
    order: Vec<usize>,
    /// `order[i]` is the last of its tie group.
    last_of_tie: Vec<bool>,
}

impl Ranking {
    pub fn new(scores: &[f64]) -> Ranking {
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| {
            scores[a]
                .is_nan()
                .cmp(&scores[b].is_nan())
                .then(scores[b].total_cmp(&scores[a]))
                .then(a.cmp(&b))
        });
        let last_of_tie = (0..order.len())
            .map(|i| order.get(i + 1).is_none_or(|&next| scores[next] != scores[order[i]]))
            .collect();
        Ranking { order, last_of_tie }
    }

    /// Average precision (scikit-learn's step sum) with window i counted `weights[i]` times,
    /// as if the set held that many copies of it; None without a weighted positive.
    pub fn average_precision(&self, labels: &[bool], weights: &[f64]) -> Option<f64> {
        let positives: f64 = labels.iter().zip(weights).filter(|(l, _)| **l).map(|(_, w)| w).sum();
        if positives <= 0.0 {
            return None;
        }
        let (mut tp, mut fp, mut ap, mut previous_recall) = (0.0, 0.0, 0.0, 0.0);
        for (&at, &last) in self.order.iter().zip(&self.last_of_tie) {
            if labels[at] {
                tp += weights[at];
            } else {
                fp += weights[at];
            }
            if last && tp > 0.0 {
                let recall = tp / positives;
                ap += (recall - previous_recall) * tp / (tp + fp);
                previous_recall = recall;
            }
        }
        Some(ap)
    }
}

/// The bootstrap standard error of AP(`candidate`) - AP(`reference`) on the same windows,
/// resampling `stretches` with replacement; seeded, so a run is repeatable.
pub fn standard_error_of_difference(
    labels: &[bool],
    candidate: &[f64],
    reference: &[f64],
    stretches: &[Range<usize>],
    seed: u64,
) -> f64 {
    let (a, b) = (Ranking::new(candidate), Ranking::new(reference));
    let mut rng = Rng::new(seed);
    let mut weights = vec![0.0; labels.len()];
    let mut differences = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        weights.fill(0.0);
        for _ in 0..stretches.len() {
            let drawn = &stretches[rng.below(stretches.len() as u64) as usize];
            for w in &mut weights[drawn.clone()] {
                *w += 1.0;
            }
        }
        if let (Some(x), Some(y)) = (
            a.average_precision(labels, &weights),
            b.average_precision(labels, &weights),
        ) {
            differences.push(x - y);
        }
    }
    if differences.len() < 2 {
        return f64::INFINITY; // no resample had a failure: no evidence either way
    }
    let mean = differences.iter().sum::<f64>() / differences.len() as f64;
    let variance = differences.iter().map(|d| (d - mean) * (d - mean)).sum::<f64>() / (differences.len() - 1) as f64;
    variance.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::metrics::OperatingPoints;

    #[test]
    fn stretches_end_at_failures_and_series_breaks() {
        // One machine (ends 0..10) failing at windows 3-5 and 8; a second (ends 20, 21) failing at both.
        let ends: Vec<i64> = (0..10).chain([20, 21]).collect();
        let labels = [0, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1].map(|l| l == 1);
        assert_eq!(stretches(&ends, &labels), vec![0..6, 6..9, 9..10, 10..12]);
    }

    #[test]
    fn weighted_average_precision_is_that_of_the_copies() {
        // Ties across classes, a NaN, zero weights: against scikit-learn's definition
        // (`OperatingPoints`, tested against `average_precision_score`) on the set with copies.
        let scores = [0.9, 0.4, 0.4, 0.7, f64::NAN, 0.1, 0.7, 0.4, 0.2];
        let labels = [1, 0, 1, 0, 1, 0, 1, 1, 0].map(|l| l == 1);
        let weights = [2.0, 0.0, 1.0, 3.0, 1.0, 1.0, 0.0, 2.0, 1.0];
        let (mut copied_scores, mut copied_labels) = (Vec::new(), Vec::new());
        for i in 0..scores.len() {
            for _ in 0..weights[i] as usize {
                copied_scores.push(scores[i]);
                copied_labels.push(labels[i]);
            }
        }
        let want = OperatingPoints::new(&copied_labels, &copied_scores)
            .average_precision()
            .unwrap();
        let got = Ranking::new(&scores).average_precision(&labels, &weights).unwrap();
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        let ones = vec![1.0; scores.len()];
        let plain = OperatingPoints::new(&labels, &scores).average_precision().unwrap();
        assert!((Ranking::new(&scores).average_precision(&labels, &ones).unwrap() - plain).abs() < 1e-12);
        assert_eq!(Ranking::new(&scores).average_precision(&labels, &[0.0; 9]), None);
    }

    #[test]
    fn a_scoring_close_to_the_reference_differs_by_less_noise() {
        // 60 machines, each 30 windows ending in a 3-window failure; the reference ranks
        // failures noisily. Nudging it a little gives a much smaller standard error of the
        // difference than an unrelated scoring of the same quality; the same scoring differs
        // by exactly nothing.
        let mut rng = Rng::new(3);
        let (mut ends, mut labels) = (Vec::new(), Vec::new());
        for machine in 0..60i64 {
            for w in 0..30 {
                ends.push(machine * 100 + w);
                labels.push(w >= 27);
            }
        }
        let noisy = |rng: &mut Rng| -> Vec<f64> {
            labels
                .iter()
                .map(|&l| if l { 0.6 } else { 0.0 } + rng.next_f64())
                .collect()
        };
        let reference = noisy(&mut rng);
        let nudged: Vec<f64> = reference.iter().map(|s| s + 0.05 * rng.next_f64()).collect();
        let unrelated = noisy(&mut rng);
        let cuts = stretches(&ends, &labels);
        assert_eq!(cuts.len(), 60);
        let close = standard_error_of_difference(&labels, &nudged, &reference, &cuts, 1);
        let far = standard_error_of_difference(&labels, &unrelated, &reference, &cuts, 1);
        assert!(close > 0.0 && close * 3.0 < far, "nudged {close}, unrelated {far}");
        assert_eq!(
            standard_error_of_difference(&labels, &reference, &reference, &cuts, 1),
            0.0
        );
        assert_eq!(
            close,
            standard_error_of_difference(&labels, &nudged, &reference, &cuts, 1),
            "seeded"
        );
    }
}
