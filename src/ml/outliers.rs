//! Finds and clips outliers of a numeric column with IQR or z-score fences, matching numpy/pandas.

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OutlierRule {
    Iqr { factor: f64 },
    ZScore { threshold: f64 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fences {
    pub low: f64,
    pub high: f64,
}

/// Computes the fences of a column from its non-missing values; None when fewer than 2 non-missing values
/// (or, for z-score, a zero standard deviation: then nothing is an outlier).
/// Also None when the fences are undefined (a negative or NaN factor/threshold, or infinite values
/// that make numpy's quantiles or the standard deviation NaN): pandas then flags nothing either.
pub fn fences(values: &[f64], rule: OutlierRule) -> Option<Fences> {
    let mut present: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if present.len() < 2 {
        return None;
    }
    let (low, high) = match rule {
        OutlierRule::Iqr { factor } if factor >= 0.0 => {
            present.sort_by(f64::total_cmp);
            let q1 = percentile_linear(&present, 0.25);
            let q3 = percentile_linear(&present, 0.75);
            let iqr = q3 - q1;
            (q1 - factor * iqr, q3 + factor * iqr)
        }
        OutlierRule::ZScore { threshold } if threshold >= 0.0 => {
            let std = sample_std(&present);
            if std == 0.0 {
                return None;
            }
            let mean = present.iter().sum::<f64>() / present.len() as f64;
            (mean - threshold * std, mean + threshold * std)
        }
        _ => return None,
    };
    if low.is_nan() || high.is_nan() {
        return None;
    }
    Some(Fences { low, high })
}

/// Indices of values strictly outside the fences (NaN is never an outlier).
pub fn outlier_indices(values: &[f64], fences: &Fences) -> Vec<usize> {
    let outside = |v: f64| v < fences.low || v > fences.high;
    (0..values.len()).filter(|&i| outside(values[i])).collect()
}

/// Clips values outside the fences to the nearest fence in place; returns how many changed.
pub fn clip(values: &mut [f64], fences: &Fences) -> usize {
    // Not f64::clamp: it panics on NaN or crossed bounds, and Fences is a public struct.
    let mut changed = 0;
    for v in values.iter_mut() {
        if *v < fences.low {
            *v = fences.low;
            changed += 1;
        } else if *v > fences.high {
            *v = fences.high;
            changed += 1;
        }
    }
    changed
}

/// numpy's default ('linear') percentile on sorted, NaN-free data of length >= 1, `q` in [0, 1].
fn percentile_linear(sorted: &[f64], q: f64) -> f64 {
    let last = sorted.len() - 1;
    let virtual_index = last as f64 * q;
    let below = (virtual_index.floor() as usize).min(last);
    let above = (below + 1).min(last);
    let t = virtual_index - below as f64;
    let (a, b) = (sorted[below], sorted[above]);
    // numpy's _lerp interpolates from the nearer end; copying it keeps results bit-identical,
    // including its NaN for an infinite neighbour at t = 0 (inf * 0).
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// Sample standard deviation (ddof = 1) computed the way pandas' nanops does: two passes.
fn sample_std(present: &[f64]) -> f64 {
    let n = present.len() as f64;
    let mean = present.iter().sum::<f64>() / n;
    let squares: f64 = present.iter().map(|v| (mean - v) * (mean - v)).sum();
    (squares / (n - 1.0)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    const NAN: f64 = f64::NAN;
    const INF: f64 = f64::INFINITY;
    const IQR: OutlierRule = OutlierRule::Iqr { factor: 1.5 };
    const Z2: OutlierRule = OutlierRule::ZScore { threshold: 2.0 };

    fn close(a: f64, e: f64) -> bool {
        a == e || (a.is_nan() && e.is_nan()) || (a - e).abs() <= 1e-12
    }

    /// Checks fences, flagged indices and clipped values against the reference outputs.
    fn check(values: &[f64], rule: OutlierRule, low: f64, high: f64, out: &[usize], clipped: &[f64]) {
        let f = fences(values, rule).expect("fences");
        assert!(close(f.low, low) && close(f.high, high), "{rule:?}: {f:?}");
        assert_eq!(outlier_indices(values, &f), out, "{rule:?}");
        let mut v = values.to_vec();
        assert_eq!(clip(&mut v, &f), out.len());
        assert!(v.iter().zip(clipped).all(|(a, e)| close(*a, *e)), "{v:?}");
    }

    #[test]
    fn obvious_outlier() {
        let s = [1.0, 2.0, 3.0, 4.0, 100.0];
        // numpy 2.4.6: np.percentile(s, [25, 75]) -> [2.0, 4.0]; pandas 3.1.1: s.quantile(0.25) agrees
        // pandas 3.1.1: s[(s < -1.0) | (s > 7.0)].index.tolist() -> [4]; s.clip(-1.0, 7.0) -> [1, 2, 3, 4, 7]
        check(&s, IQR, -1.0, 7.0, &[4], &[1.0, 2.0, 3.0, 4.0, 7.0]);
        // pandas 3.1.1: s.mean() -> 22.0, s.std() -> 43.617656975128774; s.mean() -/+ 2 * s.std() ->
        // -65.23531395025755, 109.23531395025755; s[((s - s.mean()) / s.std()).abs() > 2] -> empty
        check(&s, Z2, -65.23531395025755, 109.23531395025755, &[], &s);
    }

    #[test]
    fn negative_values_with_gap() {
        let s = [-5.0, -3.0, NAN, -4.0, -2.0, -40.0, -3.5];
        // pandas 3.1.1: s.quantile(0.25) -> -4.75, s.quantile(0.75) -> -3.125, fences -> -7.1875, -0.6875
        // pandas 3.1.1: s.clip(-7.1875, -0.6875).tolist() -> [-5.0, -3.0, nan, -4.0, -2.0, -7.1875, -3.5]
        let clipped = [-5.0, -3.0, NAN, -4.0, -2.0, -7.1875, -3.5];
        check(&s, IQR, -7.1875, -0.6875, &[5], &clipped);
        // pandas 3.1.1: s.mean() -> -9.583333333333334, s.std() -> 14.934579561094667;
        // fences -> -39.452492455522666, 20.285825788856002; |z| > 2 -> index [5]
        let clipped = [-5.0, -3.0, NAN, -4.0, -2.0, -39.452492455522666, -3.5];
        check(&s, Z2, -39.452492455522666, 20.285825788856002, &[5], &clipped);
    }

    #[test]
    fn ties_even_count_and_interpolated_quartiles() {
        let ties = [2.0, 2.0, 2.0, 2.0, 9.0];
        // numpy 2.4.6: np.percentile(ties, [25, 75]) -> [2.0, 2.0]: zero IQR, so 9 is outside [2, 2]
        check(&ties, IQR, 2.0, 2.0, &[4], &[2.0; 5]);
        // pandas 3.1.1: s.mean() -/+ 2 * s.std() -> -2.860990336999411, 9.660990336999411
        check(&ties, Z2, -2.860990336999411, 9.660990336999411, &[], &ties);
        let even = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        // numpy 2.4.6: np.percentile(even, [25, 75]) -> [1.75, 5.25]; fences -> -3.5, 10.5
        check(&even, IQR, -3.5, 10.5, &[], &even);
        let z = [10.0, 11.0, 9.0, 10.5, 9.5, 10.0, 10.2, 9.8, 10.1, 9.9, 30.0];
        // numpy 2.4.6: np.percentile(z, [25, 75]) -> [9.850000000000001, 10.35];
        // fences -> 9.100000000000005, 11.099999999999998; outliers [2, 10]
        let clipped = [
            10.0,
            11.0,
            9.100000000000005,
            10.5,
            9.5,
            10.0,
            10.2,
            9.8,
            10.1,
            9.9,
            11.099999999999998,
        ];
        check(&z, IQR, 9.100000000000005, 11.099999999999998, &[2, 10], &clipped);
        // pandas 3.1.1: s.mean() -> 11.818181818181818, s.std() -> 6.051746554808483;
        // fences -> -0.2853112914351481, 23.921674927798783; |z| > 2 -> [10]
        let mut clipped = z;
        clipped[10] = 23.921674927798783;
        check(&z, Z2, -0.2853112914351481, 23.921674927798783, &[10], &clipped);
    }

    #[test]
    fn too_few_values_or_degenerate() {
        // pandas 3.1.1: pd.Series([nan, 1, 2]).quantile([.25, .75]) -> [1.25, 1.75]; std -> 0.7071067811865476
        check(&[NAN, 1.0, 2.0], IQR, 0.5, 2.5, &[], &[NAN, 1.0, 2.0]);
        check(
            &[NAN, 1.0, 2.0],
            Z2,
            0.08578643762690485,
            2.914213562373095,
            &[],
            &[NAN, 1.0, 2.0],
        );
        for rule in [IQR, Z2] {
            assert_eq!(fences(&[], rule), None);
            assert_eq!(fences(&[NAN, NAN], rule), None);
            assert_eq!(fences(&[NAN, 3.0], rule), None);
        }
        // pandas 3.1.1: pd.Series([7, 7, 7]).std() -> 0.0
        assert_eq!(fences(&[7.0, 7.0, 7.0], Z2), None);
        assert_eq!(fences(&[1.0, 2.0], OutlierRule::Iqr { factor: NAN }), None);
        assert_eq!(fences(&[1.0, 2.0], OutlierRule::ZScore { threshold: -1.0 }), None);
        let crossed = Fences { low: NAN, high: -1.0 };
        assert_eq!(clip(&mut [NAN, 0.0, INF], &crossed), 2);
    }

    #[test]
    fn infinite_values() {
        // numpy 2.4.6: np.percentile([1, 2, 3, inf], [25, 75]) -> [1.75, inf], so fences -> -inf, inf
        check(&[1.0, 2.0, 3.0, INF], IQR, -INF, INF, &[], &[1.0, 2.0, 3.0, INF]);
        // numpy 2.4.6: np.percentile([1, 2, 3, 4, inf], 75) -> nan (its lerp computes inf * 0)
        assert_eq!(fences(&[1.0, 2.0, 3.0, 4.0, INF], IQR), None);
        // numpy 2.4.6: np.percentile([1, inf, inf, inf], 25) -> nan
        assert_eq!(fences(&[1.0, INF, INF, INF], IQR), None);
        // numpy 2.4.6: np.percentile([-inf, 1, 2, 3, 4], [25, 75]) -> [1.0, 3.0]; fences -> -2.0, 6.0
        let s = [-INF, 1.0, 2.0, 3.0, 4.0];
        check(&s, IQR, -2.0, 6.0, &[0], &[-2.0, 1.0, 2.0, 3.0, 4.0]);
        // pandas 3.1.1: pd.Series([-inf, 1, 2, 3, 4]).std() -> nan, so |z| > 2 flags nothing
        assert_eq!(fences(&s, Z2), None);
    }

    #[test]
    fn property_invariants() {
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..3000 {
            let len = (next() % 15) as usize;
            let values: Vec<f64> = (0..len)
                .map(|_| match next() % 10 {
                    0 => NAN,
                    1 if round % 5 == 0 => INF,
                    2 => (next() % 10_000) as f64 - 5_000.0,
                    _ => (next() % 200) as f64 / 7.0 - 10.0,
                })
                .collect();
            let rule = if round % 2 == 0 { IQR } else { Z2 };
            let Some(f) = fences(&values, rule) else {
                continue;
            };
            assert!(f.low <= f.high, "{rule:?} {values:?} {f:?}");
            let out = outlier_indices(&values, &f);
            let mut clipped = values.clone();
            assert_eq!(clip(&mut clipped, &f), out.len(), "{values:?}");
            assert!(clipped.iter().all(|v| v.is_nan() || (f.low..=f.high).contains(v)));
            assert_eq!(count_nan(&clipped), count_nan(&values));
            assert!(out.windows(2).all(|w| w[0] < w[1]));
        }
    }

    fn count_nan(values: &[f64]) -> usize {
        values.iter().filter(|v| v.is_nan()).count()
    }
}
