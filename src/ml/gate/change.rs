//! One metric of a candidate against a baseline: better, the same, worse within a tolerance, or
//! a regression (`compare`'s verdict on each metric).

use serde::Serialize;

use super::direction::Better;

/// How much worse a candidate may be: `atol + rtol * |baseline|`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Tolerance {
    pub atol: f64,
    pub rtol: f64,
}

/// How a candidate's value of one metric compares with the baseline's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Better,
    Same,
    WithinTolerance,
    Regression,
    Info,
}

impl Verdict {
    /// The verdict in words, as `compare` prints it.
    pub fn text(self) -> &'static str {
        match self {
            Verdict::Better => "better",
            Verdict::Same => "same",
            Verdict::WithinTolerance => "worse, within tolerance",
            Verdict::Regression => "REGRESSION",
            Verdict::Info => "not judged",
        }
    }
}

/// How `candidate` compares with `baseline` for a metric better in direction `better`.
pub fn judge(better: Better, baseline: f64, candidate: f64, tolerance: Tolerance) -> Verdict {
    let worse_by = match better {
        Better::Higher => baseline - candidate,
        Better::Lower => candidate - baseline,
        Better::Neither => return Verdict::Info,
    };
    if worse_by == 0.0 {
        Verdict::Same
    } else if worse_by < 0.0 {
        Verdict::Better
    } else if super::rounding::at_most(
        worse_by,
        tolerance.atol + tolerance.rtol * baseline.abs(),
        &[baseline, candidate],
    ) {
        Verdict::WithinTolerance
    } else {
        Verdict::Regression
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: Tolerance = Tolerance { atol: 0.0, rtol: 0.0 };

    #[test]
    fn verdicts_follow_direction_and_tolerance() {
        assert_eq!(judge(Better::Higher, 0.8, 0.81, STRICT), Verdict::Better);
        assert_eq!(judge(Better::Higher, 0.8, 0.8, STRICT), Verdict::Same);
        assert_eq!(judge(Better::Higher, 0.8, 0.79, STRICT), Verdict::Regression);
        let drop = Tolerance { atol: 0.02, rtol: 0.0 };
        assert_eq!(judge(Better::Higher, 0.8, 0.79, drop), Verdict::WithinTolerance);
        assert_eq!(judge(Better::Lower, 0.05, 0.04, STRICT), Verdict::Better);
        assert_eq!(judge(Better::Lower, 0.05, 0.06, STRICT), Verdict::Regression);
        // rtol scales with the baseline: 2% of 0.5 is 0.01.
        let relative = Tolerance { atol: 0.0, rtol: 0.02 };
        assert_eq!(judge(Better::Higher, 0.5, 0.491, relative), Verdict::WithinTolerance);
        assert_eq!(judge(Better::Higher, 0.5, 0.489, relative), Verdict::Regression);
        assert_eq!(judge(Better::Neither, 100.0, 1.0, STRICT), Verdict::Info);
    }

    /// A drop equal to the stated tolerance is within it, though binary rounding makes
    /// 0.8 - 0.79 come out as 0.010000000000000009.
    #[test]
    fn a_drop_equal_to_the_tolerance_is_within_it() {
        let drop = Tolerance { atol: 0.01, rtol: 0.0 };
        assert_eq!(judge(Better::Higher, 0.8, 0.79, drop), Verdict::WithinTolerance);
        assert_eq!(judge(Better::Lower, 0.06, 0.07, drop), Verdict::WithinTolerance);
        assert_eq!(judge(Better::Higher, 0.8, 0.7899, drop), Verdict::Regression);
        let relative = Tolerance { atol: 0.0, rtol: 0.29 };
        assert_eq!(judge(Better::Higher, 100.0, 71.0, relative), Verdict::WithinTolerance);
        assert_eq!(judge(Better::Higher, 100.0, 70.0, relative), Verdict::Regression);
    }
}
