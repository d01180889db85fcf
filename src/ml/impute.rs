//! Fills missing (NaN) values of a time-ordered series with the same results as pandas.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImputeMethod {
    Ffill,
    Bfill,
    Mean,
    Median,
    Interpolate,
}

/// Number of missing (NaN) values; infinities are real readings, not missing.
pub fn count_missing(values: &[f64]) -> usize {
    values.iter().filter(|v| v.is_nan()).count()
}

/// Fills missing (NaN) values of one entity's time-ordered series in place.
/// Returns how many values were filled.
pub fn impute(values: &mut [f64], method: ImputeMethod) -> usize {
    match method {
        ImputeMethod::Ffill => fill_forward(values.iter_mut()),
        ImputeMethod::Bfill => fill_forward(values.iter_mut().rev()),
        ImputeMethod::Mean => fill_constant(values, mean(values)),
        ImputeMethod::Median => fill_constant(values, median(values)),
        ImputeMethod::Interpolate => interpolate(values),
    }
}

fn fill_forward<'a>(values: impl Iterator<Item = &'a mut f64>) -> usize {
    let mut last = f64::NAN;
    let mut filled = 0;
    for v in values {
        if !v.is_nan() {
            last = *v;
        } else if !last.is_nan() {
            *v = last;
            filled += 1;
        }
    }
    filled
}

fn fill_constant(values: &mut [f64], fill: f64) -> usize {
    // A NaN statistic (all missing, or inf and -inf together) makes pandas' fillna a no-op.
    if fill.is_nan() {
        return 0;
    }
    let mut filled = 0;
    for v in values.iter_mut().filter(|v| v.is_nan()) {
        *v = fill;
        filled += 1;
    }
    filled
}

fn mean(values: &[f64]) -> f64 {
    let present = values.iter().filter(|v| !v.is_nan());
    let (sum, n) = present.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        sum / n as f64
    }
}

fn median(values: &[f64]) -> f64 {
    let mut present: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    present.sort_by(f64::total_cmp);
    let n = present.len();
    match n {
        0 => f64::NAN,
        // numpy averages as (a + b) / 2, so huge values overflow to inf exactly as pandas does.
        _ if n.is_multiple_of(2) => (present[n / 2 - 1] + present[n / 2]) / 2.0,
        _ => present[n / 2],
    }
}

/// Same arithmetic as numpy's `np.interp`, which pandas' linear interpolate calls, so that
/// infinite neighbours give the same inf/NaN results instead of an arbitrary one.
fn interp_point(x0: usize, y0: f64, x1: usize, y1: f64, x: usize) -> f64 {
    let slope = (y1 - y0) / (x1 - x0) as f64;
    let from_left = slope * (x as f64 - x0 as f64) + y0;
    if !from_left.is_nan() {
        return from_left;
    }
    let from_right = slope * (x as f64 - x1 as f64) + y1;
    if from_right.is_nan() && y0 == y1 {
        y0
    } else {
        from_right
    }
}

fn interpolate(values: &mut [f64]) -> usize {
    let mut filled = 0;
    let mut prev: Option<usize> = None;
    for i in 0..values.len() {
        if values[i].is_nan() {
            continue;
        }
        if let Some(p) = prev {
            for k in p + 1..i {
                values[k] = interp_point(p, values[p], i, values[i], k);
                filled += usize::from(!values[k].is_nan());
            }
        }
        prev = Some(i);
    }
    // np.interp clamps past the last point and pandas' default limit_direction='forward'
    // keeps that, so trailing gaps take the last valid value while leading gaps stay NaN.
    if let Some(p) = prev {
        let last = values[p];
        filled += fill_constant(&mut values[p + 1..], last);
    }
    filled
}

#[cfg(test)]
mod tests {
    use super::*;
    use ImputeMethod::*;
    const NAN: f64 = f64::NAN;
    const INF: f64 = f64::INFINITY;

    fn run(input: &[f64], method: ImputeMethod, expected: &[f64]) {
        let mut v = input.to_vec();
        let filled = impute(&mut v, method);
        assert_eq!(v.len(), expected.len());
        for (i, (a, e)) in v.iter().zip(expected).enumerate() {
            let ok = a == e || (a.is_nan() && e.is_nan()) || (a - e).abs() <= 1e-12;
            assert!(ok, "{method:?} {input:?}: index {i}: got {a}, want {e}");
        }
        assert_eq!(filled, count_missing(input) - count_missing(expected));
    }

    // Gaps at start, middle (consecutive) and end.
    const GAPS: [f64; 6] = [NAN, 1.0, NAN, NAN, 4.0, NAN];

    #[test]
    fn gaps_at_start_middle_end() {
        // pandas 3.1.1: pd.Series([nan, 1, nan, nan, 4, nan]).ffill().tolist() -> [nan, 1.0, 1.0, 1.0, 4.0, 4.0]
        run(&GAPS, Ffill, &[NAN, 1.0, 1.0, 1.0, 4.0, 4.0]);
        // pandas 3.1.1: pd.Series([nan, 1, nan, nan, 4, nan]).bfill().tolist() -> [1.0, 1.0, 4.0, 4.0, 4.0, nan]
        run(&GAPS, Bfill, &[1.0, 1.0, 4.0, 4.0, 4.0, NAN]);
        // pandas 3.1.1: s.fillna(s.mean()).tolist() -> [2.5, 1.0, 2.5, 2.5, 4.0, 2.5]
        run(&GAPS, Mean, &[2.5, 1.0, 2.5, 2.5, 4.0, 2.5]);
        // pandas 3.1.1: s.fillna(s.median()).tolist() -> [2.5, 1.0, 2.5, 2.5, 4.0, 2.5]
        run(&GAPS, Median, &[2.5, 1.0, 2.5, 2.5, 4.0, 2.5]);
        // pandas 3.1.1: pd.Series([nan, 1, nan, nan, 4, nan]).interpolate().tolist() -> [nan, 1.0, 2.0, 3.0, 4.0, 4.0]
        run(&GAPS, Interpolate, &[NAN, 1.0, 2.0, 3.0, 4.0, 4.0]);
    }

    #[test]
    fn consecutive_interior_gap() {
        // pandas 3.1.1: pd.Series([2, nan, nan, nan, 10]).interpolate().tolist() -> [2.0, 4.0, 6.0, 8.0, 10.0]
        run(&[2.0, NAN, NAN, NAN, 10.0], Interpolate, &[2.0, 4.0, 6.0, 8.0, 10.0]);
        // pandas 3.1.1: pd.Series([0.1, nan, nan, 0.7]).interpolate().tolist() -> [0.1, 0.3, 0.5, 0.7]
        run(&[0.1, NAN, NAN, 0.7], Interpolate, &[0.1, 0.3, 0.5, 0.7]);
    }

    #[test]
    fn negative_values_and_trailing_gaps() {
        let s = [-3.0, NAN, -1.0, NAN, 7.0, NAN, NAN];
        // pandas 3.1.1: pd.Series([-3, nan, -1, nan, 7, nan, nan]).ffill().tolist() -> [-3.0, -3.0, -1.0, -1.0, 7.0, 7.0, 7.0]
        run(&s, Ffill, &[-3.0, -3.0, -1.0, -1.0, 7.0, 7.0, 7.0]);
        // pandas 3.1.1: ....bfill().tolist() -> [-3.0, -1.0, -1.0, 7.0, 7.0, nan, nan]
        run(&s, Bfill, &[-3.0, -1.0, -1.0, 7.0, 7.0, NAN, NAN]);
        // pandas 3.1.1: s.fillna(s.mean()).tolist() -> [-3.0, 1.0, -1.0, 1.0, 7.0, 1.0, 1.0]
        run(&s, Mean, &[-3.0, 1.0, -1.0, 1.0, 7.0, 1.0, 1.0]);
        // pandas 3.1.1: s.fillna(s.median()).tolist() -> [-3.0, -1.0, -1.0, -1.0, 7.0, -1.0, -1.0]
        run(&s, Median, &[-3.0, -1.0, -1.0, -1.0, 7.0, -1.0, -1.0]);
        // pandas 3.1.1: ....interpolate().tolist() -> [-3.0, -2.0, -1.0, 3.0, 7.0, 7.0, 7.0]
        run(&s, Interpolate, &[-3.0, -2.0, -1.0, 3.0, 7.0, 7.0, 7.0]);
    }

    #[test]
    fn median_even_odd_and_ties() {
        // pandas 3.1.1: s = pd.Series([4, nan, 1, 3, nan, 2]); s.fillna(s.median()).tolist() -> [4.0, 2.5, 1.0, 3.0, 2.5, 2.0]
        run(&[4.0, NAN, 1.0, 3.0, NAN, 2.0], Median, &[4.0, 2.5, 1.0, 3.0, 2.5, 2.0]);
        // pandas 3.1.1: s = pd.Series([5, nan, 1, 9]); s.fillna(s.median()).tolist() -> [5.0, 5.0, 1.0, 9.0]
        run(&[5.0, NAN, 1.0, 9.0], Median, &[5.0, 5.0, 1.0, 9.0]);
        let ties = [2.0, 2.0, NAN, 2.0, 7.0];
        // pandas 3.1.1: s = pd.Series([2, 2, nan, 2, 7]); s.fillna(s.median()).tolist() -> [2.0, 2.0, 2.0, 2.0, 7.0]
        run(&ties, Median, &[2.0, 2.0, 2.0, 2.0, 7.0]);
        // pandas 3.1.1: s.fillna(s.mean()).tolist() -> [2.0, 2.0, 3.25, 2.0, 7.0]
        run(&ties, Mean, &[2.0, 2.0, 3.25, 2.0, 7.0]);
    }

    #[test]
    fn all_missing_single_value_empty() {
        // pandas 3.1.1: every method on pd.Series([nan, nan, nan]) -> [nan, nan, nan]
        // pandas 3.1.1: every method on pd.Series([], dtype=float) -> []
        for m in [Ffill, Bfill, Mean, Median, Interpolate] {
            run(&[NAN, NAN, NAN], m, &[NAN, NAN, NAN]);
            run(&[], m, &[]);
        }
        let single = [NAN, 5.0, NAN];
        // pandas 3.1.1: pd.Series([nan, 5, nan]).ffill() / .bfill() / .interpolate() (.tolist())
        run(&single, Ffill, &[NAN, 5.0, 5.0]);
        run(&single, Bfill, &[5.0, 5.0, NAN]);
        run(&single, Interpolate, &[NAN, 5.0, 5.0]);
        // pandas 3.1.1: s.fillna(s.mean()) and s.fillna(s.median()) -> [5.0, 5.0, 5.0]
        run(&single, Mean, &[5.0, 5.0, 5.0]);
        run(&single, Median, &[5.0, 5.0, 5.0]);
    }

    #[test]
    fn infinities_are_values() {
        let s = [1.0, NAN, INF, NAN, 3.0];
        // pandas 3.1.1: pd.Series([1, nan, inf, nan, 3]).interpolate().tolist() -> [1.0, inf, inf, inf, 3.0]
        run(&s, Interpolate, &[1.0, INF, INF, INF, 3.0]);
        // pandas 3.1.1: s.fillna(s.mean()).tolist() -> [1.0, inf, inf, inf, 3.0]
        run(&s, Mean, &[1.0, INF, INF, INF, 3.0]);
        // pandas 3.1.1: s.fillna(s.median()).tolist() -> [1.0, 3.0, inf, 3.0, 3.0]
        run(&s, Median, &[1.0, 3.0, INF, 3.0, 3.0]);
        // pandas 3.1.1: pd.Series([inf, nan, inf]).interpolate().tolist() -> [inf, inf, inf]
        run(&[INF, NAN, INF], Interpolate, &[INF, INF, INF]);
        let opposite = [INF, NAN, -INF, NAN];
        // pandas 3.1.1: pd.Series([inf, nan, -inf, nan]).interpolate().tolist() -> [inf, nan, -inf, -inf]
        run(&opposite, Interpolate, &[INF, NAN, -INF, -INF]);
        // pandas 3.1.1: s.fillna(s.mean()) and s.fillna(s.median()) leave it unchanged (both are nan)
        run(&opposite, Mean, &opposite);
        run(&opposite, Median, &opposite);
        // pandas 3.1.1: pd.Series([1e308, 1.7e308]).median() -> inf (numpy's (a + b) / 2 overflows)
        run(&[1e308, NAN, 1.7e308], Median, &[1e308, INF, 1.7e308]);
    }

    /// xorshift64: deterministic, so a failure reproduces without any crate.
    fn series(state: &mut u64) -> Vec<f64> {
        let mut next = || {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            *state
        };
        let len = (next() % 12) as usize;
        (0..len)
            .map(|_| match next() % 8 {
                0..=2 => NAN,
                3 if next() % 2 == 0 => INF,
                3 => -INF,
                _ => (next() % 2001) as f64 / 10.0 - 100.0,
            })
            .collect()
    }

    #[test]
    fn property_invariants() {
        let mut state = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..2000 {
            let s = series(&mut state);
            let missing = count_missing(&s);
            let lead = s.iter().take_while(|v| v.is_nan()).count();
            let finite = s.iter().all(|v| !v.is_infinite());
            for m in [Ffill, Bfill, Mean, Median, Interpolate] {
                let mut v = s.clone();
                let filled = impute(&mut v, m);
                assert_eq!(filled + count_missing(&v), missing, "{m:?} {s:?}");
                for (a, b) in s.iter().zip(&v) {
                    assert!(a.is_nan() || a == b, "{m:?} changed a present value");
                }
                let gaps_after_valid = v.windows(2).any(|w| !w[0].is_nan() && w[1].is_nan());
                match m {
                    Ffill => assert!(!gaps_after_valid, "{s:?} -> {v:?}"),
                    Bfill => assert!(!v.windows(2).any(|w| w[0].is_nan() && !w[1].is_nan())),
                    Interpolate if finite => assert_eq!(count_missing(&v), lead),
                    _ if missing < s.len() && finite => assert_eq!(filled, missing),
                    _ => {}
                }
            }
        }
    }
}
