//! Whether a run's model earns its keep: its test PR-AUC against the logistic-regression
//! baseline `evaluate` scored beside it, in one sentence that `runs show` and the HTML report
//! both print.

use std::collections::BTreeMap;

/// A model's test PR-AUC beside its baseline's.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineVerdict {
    /// The evaluate step that logged them.
    pub step: String,
    pub model: f64,
    pub baseline: f64,
}

impl BaselineVerdict {
    /// From a run's metrics: the first step that logged `lift_pr_auc` with both PR-AUCs.
    pub fn of(metrics: &BTreeMap<String, f64>) -> Option<BaselineVerdict> {
        metrics.keys().find_map(|key| {
            let step = key.strip_suffix(".lift_pr_auc")?;
            Some(BaselineVerdict {
                step: step.to_string(),
                model: *metrics.get(&format!("{step}.pr_auc"))?,
                baseline: *metrics.get(&format!("{step}.baseline_pr_auc"))?,
            })
        })
    }

    pub fn lift(&self) -> f64 {
        self.model - self.baseline
    }

    /// Whether the baseline does better on the test part.
    pub fn baseline_wins(&self) -> bool {
        self.lift() < 0.0
    }

    pub fn sentence(&self) -> String {
        let (model, baseline, lift) = (self.model, self.baseline, self.lift());
        if self.baseline_wins() {
            format!(
                "the logistic-regression baseline beats the model: test PR-AUC {baseline:.3} against {model:.3} ({lift:+.3}); ship the baseline with `model: linear` in the training step, or change the model"
            )
        } else if lift == 0.0 {
            format!("the model scores as its logistic-regression baseline: test PR-AUC {model:.3}")
        } else {
            format!(
                "the model beats its logistic-regression baseline: test PR-AUC {model:.3} against {baseline:.3} ({lift:+.3})"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn says_plainly_who_wins() {
        let lost = metrics(&[
            ("evaluate.pr_auc", 0.567),
            ("evaluate.baseline_pr_auc", 0.755),
            ("evaluate.lift_pr_auc", -0.188),
        ]);
        let v = BaselineVerdict::of(&lost).unwrap();
        assert!(v.baseline_wins());
        assert_eq!(
            v.sentence(),
            "the logistic-regression baseline beats the model: test PR-AUC 0.755 against 0.567 (-0.188); ship the baseline with `model: linear` in the training step, or change the model"
        );
        let won = metrics(&[
            ("test.pr_auc", 0.9),
            ("test.baseline_pr_auc", 0.8),
            ("test.lift_pr_auc", 0.1),
        ]);
        let v = BaselineVerdict::of(&won).unwrap();
        assert_eq!((v.step.as_str(), v.baseline_wins()), ("test", false));
        assert!(v
            .sentence()
            .starts_with("the model beats its logistic-regression baseline: test PR-AUC 0.900 against 0.800 (+0.100)"));
        // Runs from before the baseline existed have no verdict.
        assert_eq!(BaselineVerdict::of(&metrics(&[("evaluate.pr_auc", 0.9)])), None);
    }
}
