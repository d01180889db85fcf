//! Whether a figure is within a stated limit, allowing for binary rounding: a drop from 0.8 to
//! 0.79 computes as 0.010000000000000009, and a user who allowed 0.01 allowed exactly that.
//! Both judges of the gate (`compare`'s and a register step's `promote.when`) ask here.

/// The rounding allowed when comparing `figures`: a billionth of the largest (at least of 1),
/// far above float noise and far below any difference a gate is meant to see.
fn slack(figures: &[f64]) -> f64 {
    1e-9 * figures
        .iter()
        .filter(|f| f.is_finite())
        .fold(1.0_f64, |m, f| m.max(f.abs()))
}

/// `value <= limit`, up to rounding; `figures` are the values `value` was computed from.
pub fn at_most(value: f64, limit: f64, figures: &[f64]) -> bool {
    value <= limit + slack(&[figures, &[value, limit]].concat())
}

/// `value >= limit`, up to rounding; `figures` are the values `limit` was computed from.
pub fn at_least(value: f64, limit: f64, figures: &[f64]) -> bool {
    value >= limit - slack(&[figures, &[value, limit]].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_met_exactly_in_decimals_is_met() {
        // 0.8 - 0.79 = 0.010000000000000009 in binary.
        let (baseline, candidate) = (0.8, 0.79);
        assert!(baseline - candidate > 0.01);
        assert!(at_most(baseline - candidate, 0.01, &[baseline, candidate]));
        // 0.07 - 0.01 = 0.06000000000000001 > 0.06; 0.06 + 0.01 = 0.06999999999999999 < 0.07.
        assert!(at_least(0.06, 0.07 - 0.01, &[0.07, 0.01]));
        assert!(at_most(0.07, 0.06 + 0.01, &[0.06, 0.01]));
        // A relative tolerance: 0.29 * 100 = 28.999999999999996.
        assert!(at_most(29.0, 0.29 * 100.0, &[100.0, 71.0]));
    }

    #[test]
    fn anything_beyond_rounding_is_beyond_the_limit() {
        assert!(!at_most(0.0101, 0.01, &[0.8, 0.7899]));
        assert!(!at_least(0.79, 0.8, &[]));
        assert!(!at_most(1e-6, 0.0, &[0.5]));
        assert!(!at_least(f64::NAN, 0.5, &[]));
        assert!(!at_most(f64::NAN, 0.5, &[]));
        // Large figures scale the slack; it stays a billionth of them.
        assert!(at_most(1_000_000.000_5, 1_000_000.0, &[]));
        assert!(!at_most(1_000_000.01, 1_000_000.0, &[]));
    }
}
