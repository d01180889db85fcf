//! Binary classification metrics with scikit-learn's semantics: a sample is predicted positive
//! when its score is >= the threshold; PR-AUC is average precision; ties in scores are one
//! threshold, never split.

/// Counts at one threshold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Confusion {
    pub tp: u64,
    pub fp: u64,
    pub tn: u64,
    pub fn_: u64,
}

impl Confusion {
    pub fn at(labels: &[bool], scores: &[f64], threshold: f64) -> Confusion {
        let mut c = Confusion::default();
        for (&y, &s) in labels.iter().zip(scores) {
            match (y, s >= threshold) {
                (true, true) => c.tp += 1,
                (true, false) => c.fn_ += 1,
                (false, true) => c.fp += 1,
                (false, false) => c.tn += 1,
            }
        }
        c
    }

    /// TP / (TP + FP); 0 when nothing is predicted positive (scikit-learn's `zero_division=0`).
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    /// TP / (TP + FN); 0 without positives.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    pub fn f1(&self) -> f64 {
        // 2TP / (2TP + FP + FN): the same as the harmonic mean, without a 0/0 when both are 0.
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }

    /// FP / (FP + TN): the share of healthy samples that would raise an alarm.
    pub fn false_alarm_rate(&self) -> f64 {
        ratio(self.fp, self.fp + self.tn)
    }

    pub fn positives(&self) -> u64 {
        self.tp + self.fn_
    }

    pub fn negatives(&self) -> u64 {
        self.fp + self.tn
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Cumulative counts at each distinct score, highest first: the operating points of a ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatingPoints {
    /// The threshold of each point (a distinct score).
    pub thresholds: Vec<f64>,
    /// True and false positives when predicting positive at scores >= the threshold.
    pub tps: Vec<u64>,
    pub fps: Vec<u64>,
    pub positives: u64,
    pub negatives: u64,
}

impl OperatingPoints {
    /// NaN scores sort last (they never count as confident).
    pub fn new(labels: &[bool], scores: &[f64]) -> OperatingPoints {
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        order.sort_by(|&a, &b| scores[a].is_nan().cmp(&scores[b].is_nan()));
        let mut points = OperatingPoints {
            thresholds: Vec::new(),
            tps: Vec::new(),
            fps: Vec::new(),
            positives: 0,
            negatives: 0,
        };
        let (mut tp, mut fp) = (0u64, 0u64);
        for (i, &at) in order.iter().enumerate() {
            if labels[at] {
                tp += 1;
            } else {
                fp += 1;
            }
            let last_of_tie = order.get(i + 1).is_none_or(|&next| scores[next] != scores[at]);
            if last_of_tie {
                points.thresholds.push(scores[at]);
                points.tps.push(tp);
                points.fps.push(fp);
            }
        }
        points.positives = tp;
        points.negatives = fp;
        points
    }

    fn confusion(&self, i: usize) -> Confusion {
        Confusion {
            tp: self.tps[i],
            fp: self.fps[i],
            tn: self.negatives - self.fps[i],
            fn_: self.positives - self.tps[i],
        }
    }

    /// Average precision, as `sklearn.metrics.average_precision_score`:
    /// sum over thresholds of (R_k - R_{k-1}) * P_k. None without positives.
    pub fn average_precision(&self) -> Option<f64> {
        if self.positives == 0 {
            return None;
        }
        let mut ap = 0.0;
        let mut previous_recall = 0.0;
        for i in 0..self.thresholds.len() {
            let c = self.confusion(i);
            ap += (c.recall() - previous_recall) * c.precision();
            previous_recall = c.recall();
        }
        Some(ap)
    }

    /// Area under the ROC curve (trapezoids, ties as one step), as `sklearn.metrics.roc_auc_score`.
    /// None when one class is missing.
    pub fn roc_auc(&self) -> Option<f64> {
        if self.positives == 0 || self.negatives == 0 {
            return None;
        }
        let (mut area, mut last_tp, mut last_fp) = (0.0, 0u64, 0u64);
        for i in 0..self.thresholds.len() {
            let (tp, fp) = (self.tps[i], self.fps[i]);
            area += (fp - last_fp) as f64 * (tp + last_tp) as f64 / 2.0;
            (last_tp, last_fp) = (tp, fp);
        }
        Some(area / (self.positives as f64 * self.negatives as f64))
    }

    /// (recall, precision) per threshold, starting at (0, 1) as scikit-learn's curve ends.
    pub fn pr_curve(&self) -> Vec<(f64, f64)> {
        let mut curve = vec![(0.0, 1.0)];
        curve.extend((0..self.thresholds.len()).map(|i| {
            let c = self.confusion(i);
            (c.recall(), c.precision())
        }));
        curve
    }

    /// (false positive rate, true positive rate) per threshold, from (0, 0).
    pub fn roc_curve(&self) -> Vec<(f64, f64)> {
        let mut curve = vec![(0.0, 0.0)];
        curve.extend((0..self.thresholds.len()).map(|i| {
            let c = self.confusion(i);
            (c.false_alarm_rate(), c.recall())
        }));
        curve
    }

    /// The threshold with the highest F1 (the highest threshold among equals: fewer alarms).
    pub fn max_f1_threshold(&self) -> Option<(f64, f64)> {
        let mut best: Option<(f64, f64)> = None;
        for i in 0..self.thresholds.len() {
            let f1 = self.confusion(i).f1();
            if best.is_none_or(|(_, b)| f1 > b) {
                best = Some((self.thresholds[i], f1));
            }
        }
        best
    }

    /// The lowest threshold (the most recall) whose false-alarm rate stays at or below `target`.
    /// None when even the highest threshold raises too many alarms.
    pub fn threshold_for_false_alarm_rate(&self, target: f64) -> Option<f64> {
        (0..self.thresholds.len())
            .take_while(|&i| self.confusion(i).false_alarm_rate() <= target)
            .last()
            .map(|i| self.thresholds[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approx(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    // Expected values from scikit-learn 1.7.2 (numpy 2), computed once:
    //   y = [0,0,1,1,0,1,0,0,1,0]; s = [0.1,0.4,0.35,0.8,0.2,0.4,0.7,0.05,0.9,0.4]
    //   average_precision_score(y, s) = 0.7678571428571428
    //   roc_auc_score(y, s)           = 0.7916666666666667
    //   at 0.4: precision 0.5, recall 0.75, f1 0.6 (precision_recall_fscore_support, pos_label=1),
    //   confusion_matrix(y, s >= 0.4) = [[3, 3], [1, 3]]
    const Y: [u8; 10] = [0, 0, 1, 1, 0, 1, 0, 0, 1, 0];
    const S: [f64; 10] = [0.1, 0.4, 0.35, 0.8, 0.2, 0.4, 0.7, 0.05, 0.9, 0.4];

    fn labels(y: &[u8]) -> Vec<bool> {
        y.iter().map(|v| *v == 1).collect()
    }

    #[test]
    fn ranking_metrics_match_scikit_learn_with_ties() {
        let points = OperatingPoints::new(&labels(&Y), &S);
        approx(points.average_precision().unwrap(), 0.7678571428571428);
        approx(points.roc_auc().unwrap(), 0.7916666666666667);
    }

    #[test]
    fn threshold_metrics_match_scikit_learn() {
        let c = Confusion::at(&labels(&Y), &S, 0.4);
        assert_eq!((c.tn, c.fp, c.fn_, c.tp), (3, 3, 1, 3));
        approx(c.precision(), 0.5);
        approx(c.recall(), 0.75);
        approx(c.f1(), 0.6);
        approx(c.false_alarm_rate(), 3.0 / 6.0);
    }

    #[test]
    fn one_class_edge_cases() {
        // scikit-learn: roc_auc_score raises ("Only one class present"); average precision of
        // all-negative labels is undefined (1.7.2 warns and returns 0.0): both are None here, so a
        // run without positives logs no ranking metric instead of a misleading 0.
        let negatives = OperatingPoints::new(&[false; 4], &[0.1, 0.2, 0.3, 0.4]);
        assert_eq!(negatives.roc_auc(), None);
        assert_eq!(negatives.average_precision(), None);
        // All positive: AP = 1.0 (average_precision_score([1,1,1], [0.2,0.5,0.9]) == 1.0).
        let positives = OperatingPoints::new(&[true; 3], &[0.2, 0.5, 0.9]);
        approx(positives.average_precision().unwrap(), 1.0);
        assert_eq!(positives.roc_auc(), None);
        // Nothing predicted positive: precision 0 (zero_division=0), F1 0.
        let c = Confusion::at(&[true, false], &[0.1, 0.2], 0.5);
        assert_eq!((c.precision(), c.recall(), c.f1()), (0.0, 0.0, 0.0));
    }

    #[test]
    fn all_tied_scores_are_one_threshold() {
        // average_precision_score([0,1,0,1], [0.5]*4) == 0.5; roc_auc_score(...) == 0.5
        let points = OperatingPoints::new(&labels(&[0, 1, 0, 1]), &[0.5; 4]);
        assert_eq!(points.thresholds, vec![0.5]);
        approx(points.average_precision().unwrap(), 0.5);
        approx(points.roc_auc().unwrap(), 0.5);
    }

    #[test]
    fn threshold_tuning() {
        let points = OperatingPoints::new(&labels(&Y), &S);
        // F1 per distinct threshold (>=): 0.9 -> 0.4, 0.8 -> 0.667, 0.7 -> 0.571, 0.4 -> 0.6,
        // 0.35 -> 0.727, 0.2 -> 0.667, ... (f1_score, scikit-learn 1.7.2): the best is 0.35, 8/11.
        let (t, f1) = points.max_f1_threshold().unwrap();
        approx(t, 0.35);
        approx(f1, 8.0 / 11.0);
        // Six negatives: FAR <= 1/6 allows one false alarm, reached at 0.7 (0.4 adds two more).
        approx(points.threshold_for_false_alarm_rate(1.0 / 6.0).unwrap(), 0.7);
        approx(points.threshold_for_false_alarm_rate(0.0).unwrap(), 0.8);
        let curve = points.roc_curve();
        assert_eq!(curve.first(), Some(&(0.0, 0.0)));
        assert_eq!(curve.last(), Some(&(1.0, 1.0)));
    }
}
