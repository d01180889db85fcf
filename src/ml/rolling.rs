//! Trailing-window statistics over one entity's time-ordered series, with pandas semantics:
//! `Series.rolling(w, min_periods=m).agg(...)` for row windows and
//! `Series.rolling("6h", on=time)` (window (t - w, t], right-closed) for duration windows.
//! Missing values (NaN) are skipped; a window with fewer than `min_periods` present values
//! yields NaN; `std` is the sample standard deviation (ddof = 1); `skew` and `kurt` are pandas'
//! bias-corrected sample skewness and excess kurtosis; `rms` is `sqrt(mean(x^2))`, the
//! vibration engineer's root mean square.

use std::collections::VecDeque;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    Mean,
    Std,
    Min,
    Max,
    Rms,
    Skew,
    Kurt,
}

/// The trailing window ending at each row: `[start(i), i]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Window<'a> {
    /// The last `n` rows (including the current one).
    Rows(usize),
    /// Rows whose time lies in `(t_i - span, t_i]`; `times` must be non-decreasing.
    Span { times: &'a [i64], span: i64 },
}

/// Where the trailing window of each row starts, advanced row by row (no per-row buffer).
struct Starts<'a> {
    window: Window<'a>,
    start: usize,
}

impl Starts<'_> {
    /// Start index of the window ending at row `i`; rows must be visited in order.
    fn at(&mut self, i: usize) -> usize {
        match self.window {
            Window::Rows(w) => (i + 1).saturating_sub(w.max(1)),
            Window::Span { times, span } => {
                while self.start < i && times[self.start] <= times[i].saturating_sub(span) {
                    self.start += 1;
                }
                self.start
            }
        }
    }
}

/// One statistic over the trailing window of every row, in O(n) (monotonic deques for min and
/// max, running sums for mean and std), written into `out` (one slot per value) so that a
/// caller filling one column entity by entity needs no buffer per entity.
pub fn rolling_into(values: &[f64], window: Window, stat: Stat, min_periods: usize, out: &mut [f64]) {
    let n = values.len();
    assert_eq!(out.len(), n, "one output slot per value");
    let mut starts = Starts { window, start: 0 };
    let min_periods = min_periods.max(1);
    match stat {
        Stat::Mean | Stat::Std => {
            // Welford-style sums re-centred on the first value keep the variance accurate for
            // large offsets (temperatures in kelvin, rpm in thousands).
            let shift = values.iter().copied().find(|v| !v.is_nan()).unwrap_or(0.0);
            let (mut count, mut sum, mut sum_sq) = (0usize, 0.0f64, 0.0f64);
            let mut left = 0;
            for i in 0..n {
                let v = values[i];
                if !v.is_nan() {
                    count += 1;
                    sum += v - shift;
                    sum_sq += (v - shift) * (v - shift);
                }
                let start = starts.at(i);
                while left < start {
                    let old = values[left];
                    if !old.is_nan() {
                        count -= 1;
                        sum -= old - shift;
                        sum_sq -= (old - shift) * (old - shift);
                    }
                    left += 1;
                }
                out[i] = if count < min_periods {
                    f64::NAN
                } else {
                    let mean = sum / count as f64;
                    match stat {
                        Stat::Mean => mean + shift,
                        _ if count < 2 => f64::NAN,
                        _ => ((sum_sq - sum * mean) / (count - 1) as f64).max(0.0).sqrt(),
                    }
                };
            }
        }
        Stat::Rms | Stat::Skew | Stat::Kurt => moments_into(values, &mut starts, stat, min_periods, out),
        Stat::Min | Stat::Max => {
            let better = |a: f64, b: f64| if stat == Stat::Min { a <= b } else { a >= b };
            let mut deque: VecDeque<usize> = VecDeque::new();
            let mut count = 0usize;
            let mut left = 0;
            for i in 0..n {
                let v = values[i];
                if !v.is_nan() {
                    count += 1;
                    while deque.back().is_some_and(|&j| better(v, values[j])) {
                        deque.pop_back();
                    }
                    deque.push_back(i);
                }
                let start = starts.at(i);
                while left < start {
                    if !values[left].is_nan() {
                        count -= 1;
                    }
                    left += 1;
                }
                while deque.front().is_some_and(|&j| j < start) {
                    deque.pop_front();
                }
                out[i] = match deque.front() {
                    Some(&j) if count >= min_periods => values[j],
                    _ => f64::NAN,
                };
            }
        }
    }
}

/// Root mean square, skewness or kurtosis from running power sums of the window's present values.
/// Fourth powers lose precision fast, so the sums are taken about a value of the current window
/// and rebuilt from scratch each time the window has turned over: rounding never accumulates
/// over more than about two windows, however long the series or far its level drifts.
/// Skewness and kurtosis follow pandas 3.1's rolling `skew` / `kurt`: NaN below 3 (4) values and
/// for a variance under 1e-14, which includes a window of identical values.
fn moments_into(values: &[f64], starts: &mut Starts, stat: Stat, min_periods: usize, out: &mut [f64]) {
    // Count, then the sums of d, d^2, d^3, d^4 with d = v - shift.
    let add = |sums: &mut [f64; 5], shift: f64, v: f64, sign: f64| {
        let d = v - shift;
        let d2 = d * d;
        sums[0] += sign;
        sums[1] += sign * d;
        sums[2] += sign * d2;
        sums[3] += sign * d2 * d;
        sums[4] += sign * d2 * d2;
    };
    let (mut sums, mut shift) = ([0.0f64; 5], 0.0f64);
    let (mut left, mut rebuild_at) = (0usize, 0usize);
    for i in 0..values.len() {
        let start = starts.at(i);
        if i >= rebuild_at {
            shift = values[start..=i].iter().copied().find(|v| !v.is_nan()).unwrap_or(0.0);
            sums = [0.0; 5];
            for &v in values[start..=i].iter().filter(|v| !v.is_nan()) {
                add(&mut sums, shift, v, 1.0);
            }
            left = start;
            rebuild_at = i + (i + 1 - start);
        } else {
            if !values[i].is_nan() {
                add(&mut sums, shift, values[i], 1.0);
            }
            while left < start {
                if !values[left].is_nan() {
                    add(&mut sums, shift, values[left], -1.0);
                }
                left += 1;
            }
        }
        let n = sums[0].round();
        out[i] = if (n as usize) < min_periods || n < 1.0 {
            f64::NAN
        } else {
            // Central moments of the window from the shifted power sums.
            let a = sums[1] / n;
            let b = sums[2] / n - a * a;
            let c = sums[3] / n - a * a * a - 3.0 * a * b;
            let d = sums[4] / n - a * a * a * a - 6.0 * b * a * a - 4.0 * c * a;
            match stat {
                Stat::Rms => {
                    let mean = a + shift;
                    (b.max(0.0) + mean * mean).sqrt()
                }
                Stat::Skew if n < 3.0 => f64::NAN,
                Stat::Kurt if n < 4.0 => f64::NAN,
                _ if b <= 1e-14 => f64::NAN,
                Stat::Skew => (n * (n - 1.0)).sqrt() * c / ((n - 2.0) * b * b.sqrt()),
                _ => {
                    let k = (n * n - 1.0) * d / (b * b) - 3.0 * (n - 1.0) * (n - 1.0);
                    k / ((n - 2.0) * (n - 3.0))
                }
            }
        };
    }
}

/// The exponentially weighted mean with span `span` into `out`, as pandas'
/// `ewm(span=span).mean()` (`adjust=True`, `ignore_na=False`): weights `(1 - alpha)^k` with
/// `alpha = 2 / (span + 1)`, `k` counting rows back, missing values included in the count; a
/// missing value repeats the mean so far, and rows before the first value are NaN.
pub fn ewm_into(values: &[f64], span: usize, out: &mut [f64]) {
    let decay = 1.0 - 2.0 / (span as f64 + 1.0);
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (v, o) in values.iter().zip(out.iter_mut()) {
        num *= decay;
        den *= decay;
        if !v.is_nan() {
            num += v;
            den += 1.0;
        }
        *o = if den > 0.0 { num / den } else { f64::NAN };
    }
}

/// `values[i - k]` (NaN before the start) into `out`, as pandas `shift(k)`.
pub fn lag_into(values: &[f64], k: usize, out: &mut [f64]) {
    let k = k.min(values.len());
    out[..k].fill(f64::NAN);
    out[k..].copy_from_slice(&values[..values.len() - k]);
}

/// `values[i] - values[i - k]` (NaN before the start) into `out`, as pandas `diff(k)`.
pub fn diff_into(values: &[f64], k: usize, out: &mut [f64]) {
    let k = k.min(values.len());
    out[..k].fill(f64::NAN);
    for i in k..values.len() {
        out[i] = values[i] - values[i - k];
    }
}

#[cfg(test)]
// Expected values are pandas' output pasted verbatim, even where they equal a std constant.
#[allow(clippy::approx_constant)]
mod tests {
    use super::*;

    /// A new vector filled by one of the `_into` functions.
    fn filled(n: usize, fill: impl FnOnce(&mut [f64])) -> Vec<f64> {
        let mut out = vec![0.0; n];
        fill(&mut out);
        out
    }

    fn rolling(values: &[f64], window: Window, stat: Stat, min_periods: usize) -> Vec<f64> {
        filled(values.len(), |out| rolling_into(values, window, stat, min_periods, out))
    }

    fn lag(values: &[f64], k: usize) -> Vec<f64> {
        filled(values.len(), |out| lag_into(values, k, out))
    }

    fn diff(values: &[f64], k: usize) -> Vec<f64> {
        filled(values.len(), |out| diff_into(values, k, out))
    }

    const NAN: f64 = f64::NAN;

    fn same(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x.is_nan() && y.is_nan()) || (x - y).abs() < 1e-9,
                "row {i}: {x} vs {y} in {a:?} vs {b:?}"
            );
        }
    }

    // Expected values computed with pandas 3.1.1 (numpy 2.4), expressions quoted above each:
    // s = pd.Series([1, 3, nan, 4, 10, 2])
    const S: [f64; 6] = [1.0, 3.0, NAN, 4.0, 10.0, 2.0];

    #[test]
    fn shape_statistics_match_pandas() {
        // An rpm-like series (large offset, a gap, a flat stretch, a spike). pandas 3.1.1:
        // s.rolling(5, min_periods=1).skew() / .kurt(), and for rms
        // .apply(lambda x: np.sqrt(np.nanmean(x**2)), raw=True).
        let v = [
            1500.0, 1503.0, NAN, 1504.0, 1510.0, 1502.0, 1502.0, 1502.0, 1502.0, 1501.0, 1520.0, 1499.0,
        ];
        let close = |a: &[f64], b: &[f64]| {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                let ok = (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-9 * y.abs().max(1.0);
                assert!(ok, "row {i}: {x} vs pandas {y}");
            }
        };
        close(
            &rolling(&v, Window::Rows(5), Stat::Skew, 1),
            &[
                NAN,
                NAN,
                NAN,
                -1.293342780733396,
                1.0070351835978102,
                1.6963867993291315,
                1.6585238002878033,
                1.9245008972987525,
                2.23606797749979,
                -2.2360679774997902,
                2.220106240150028,
                2.119155225928846,
            ],
        );
        close(
            &rolling(&v, Window::Rows(5), Stat::Kurt, 1),
            &[
                NAN,
                NAN,
                NAN,
                NAN,
                1.829338963635136,
                3.0143600416233003,
                2.6154678204434756,
                3.6666666666666616,
                4.999999999999995,
                4.999999999999997,
                4.945543045645235,
                4.620974319226606,
            ],
        );
        close(
            &rolling(&v, Window::Rows(5), Stat::Rms, 1),
            &[
                1500.0,
                1501.5007492505624,
                1501.5007492505624,
                1502.3342948003728,
                1504.2543834072746,
                1504.7532189698084,
                1504.503572611245,
                1504.0031914859755,
                1503.6034051570914,
                1501.800053269409,
                1505.4177493307297,
                1504.8195905157536,
            ],
        );
        // Identical values have no shape: NaN, as pandas 3.1.1 gives for [5, 5, 5, 5, 5, 7].
        let flat = [5.0, 5.0, 5.0, 5.0, 5.0, 7.0];
        close(
            &rolling(&flat, Window::Rows(4), Stat::Skew, 1),
            &[NAN, NAN, NAN, NAN, NAN, 2.0],
        );
        close(
            &rolling(&flat, Window::Rows(4), Stat::Kurt, 1),
            &[NAN, NAN, NAN, NAN, NAN, 4.0],
        );
        // A long series whose level drifts far from where it started keeps its precision
        // (brute force per window as the reference).
        let drift: Vec<f64> = (0..20_000)
            .map(|i| 1e4 * (i as f64 / 2000.0) + ((i * 7919) % 13) as f64)
            .collect();
        let got = rolling(&drift, Window::Rows(8), Stat::Kurt, 1);
        for i in (7..drift.len()).step_by(997) {
            let w = &drift[i - 7..=i];
            let n = 8.0;
            let mean = w.iter().sum::<f64>() / n;
            let m2 = w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
            let m4 = w.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / n;
            let expected = ((n * n - 1.0) * m4 / (m2 * m2) - 3.0 * (n - 1.0) * (n - 1.0)) / ((n - 2.0) * (n - 3.0));
            assert!(
                (got[i] - expected).abs() <= 1e-6 * expected.abs().max(1.0),
                "row {i}: {} vs {expected}",
                got[i]
            );
        }
        let std = rolling(&drift, Window::Rows(8), Stat::Std, 1);
        for i in (7..drift.len()).step_by(997) {
            let w = &drift[i - 7..=i];
            let mean = w.iter().sum::<f64>() / 8.0;
            let expected = (w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 7.0).sqrt();
            assert!(
                (std[i] - expected).abs() <= 1e-9 * expected,
                "std row {i}: {} vs {expected}",
                std[i]
            );
        }
        // Duration windows: d["x"].rolling("1h").skew() on readings at 00:00, 00:10, 00:30,
        // 01:20, 01:30, 01:40.
        let minutes = [0i64, 10, 30, 80, 90, 100];
        let times: Vec<i64> = minutes.iter().map(|m| m * 60_000).collect();
        let w = Window::Span {
            times: &times,
            span: 3_600_000,
        };
        close(
            &rolling(&[1.0, 4.0, 2.0, 8.0, 3.0, 5.0], w, Stat::Skew, 1),
            &[NAN, NAN, 0.9352195295828245, NAN, NAN, 0.585582726281388],
        );
    }

    #[test]
    fn row_windows_match_pandas() {
        // s.rolling(3, min_periods=1).mean() -> [1.0, 2.0, 2.0, 3.5, 7.0, 5.333333333333333]
        same(
            &rolling(&S, Window::Rows(3), Stat::Mean, 1),
            &[1.0, 2.0, 2.0, 3.5, 7.0, 5.333333333333333],
        );
        // s.rolling(3, min_periods=1).std() -> [nan, 1.4142135623730951, 1.4142135623730951, 0.7071067811865476, 4.242640687119285, 4.163331998932265]
        same(
            &rolling(&S, Window::Rows(3), Stat::Std, 1),
            &[
                NAN,
                1.4142135623730951,
                1.4142135623730951,
                0.7071067811865476,
                4.242640687119285,
                4.163331998932265,
            ],
        );
        // s.rolling(3, min_periods=1).min() -> [1, 1, 1, 3, 4, 2]; .max() -> [1, 3, 3, 4, 10, 10]
        same(
            &rolling(&S, Window::Rows(3), Stat::Min, 1),
            &[1.0, 1.0, 1.0, 3.0, 4.0, 2.0],
        );
        same(
            &rolling(&S, Window::Rows(3), Stat::Max, 1),
            &[1.0, 3.0, 3.0, 4.0, 10.0, 10.0],
        );
        // s.rolling(3).mean() (min_periods = 3) -> [nan, nan, nan, nan, nan, 5.333333333333333]
        same(
            &rolling(&S, Window::Rows(3), Stat::Mean, 3),
            &[NAN, NAN, NAN, NAN, NAN, 5.333333333333333],
        );
    }

    #[test]
    fn duration_windows_match_pandas() {
        // t = pd.to_datetime(["00:00","01:00","01:30","04:00","04:30","09:00"]) on one day;
        // pd.DataFrame({"v": s, "t": t}).rolling("2h", on="t")["v"].mean()
        //   -> [1.0, 2.0, 2.0, 4.0, 7.0, 2.0]
        let minutes = [0i64, 60, 90, 240, 270, 540];
        let times: Vec<i64> = minutes.iter().map(|m| m * 60_000).collect();
        let w = Window::Span {
            times: &times,
            span: 2 * 3_600_000,
        };
        same(&rolling(&S, w, Stat::Mean, 1), &[1.0, 2.0, 2.0, 4.0, 7.0, 2.0]);
        // ...["v"].max() -> [1.0, 3.0, 3.0, 4.0, 10.0, 2.0]
        same(&rolling(&S, w, Stat::Max, 1), &[1.0, 3.0, 3.0, 4.0, 10.0, 2.0]);
        // ...["v"].std() -> [nan, 1.4142135623730951, 1.4142135623730951, nan, 4.242640687119285, nan]
        same(
            &rolling(&S, w, Stat::Std, 1),
            &[NAN, 1.4142135623730951, 1.4142135623730951, NAN, 4.242640687119285, NAN],
        );
    }

    #[test]
    fn ewm_matches_pandas() {
        // pandas 3.1.1: pd.Series([1, 3, nan, 4, 10, 2]).ewm(span=3).mean()
        let got = filled(S.len(), |out| ewm_into(&S, 3, out));
        same(
            &got,
            &[
                1.0,
                2.3333333333333335,
                2.3333333333333335,
                3.5454545454545454,
                7.37037037037037,
                4.4576271186440675,
            ],
        );
        // pd.Series([nan, nan, 2, 4]).ewm(span=3).mean() -> [nan, nan, 2.0, 3.3333333333333335]
        let got = filled(4, |out| ewm_into(&[NAN, NAN, 2.0, 4.0], 3, out));
        same(&got, &[NAN, NAN, 2.0, 3.3333333333333335]);
    }

    #[test]
    fn lags_and_diffs_match_pandas() {
        // s.shift(2) -> [nan, nan, 1, 3, nan, 4]; s.diff(1) -> [nan, 2, nan, nan, 6, -8]
        same(&lag(&S, 2), &[NAN, NAN, 1.0, 3.0, NAN, 4.0]);
        same(&diff(&S, 1), &[NAN, 2.0, NAN, NAN, 6.0, -8.0]);
    }

    #[test]
    fn large_offsets_keep_precision() {
        let v: Vec<f64> = (0..1000).map(|i| 1.0e9 + (i % 7) as f64).collect();
        let std = rolling(&v, Window::Rows(7), Stat::Std, 7);
        // Any 7 consecutive values are a permutation of 0..7 (+1e9): sample std = sqrt(14/3).
        assert!((std[500] - (14.0f64 / 3.0).sqrt()).abs() < 1e-6, "{}", std[500]);
    }

    #[test]
    fn min_max_agree_with_brute_force() {
        let mut x = 0x9E3779B97F4A7C15u64;
        let v: Vec<f64> = (0..500)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if x.is_multiple_of(11) {
                    NAN
                } else {
                    (x % 1000) as f64
                }
            })
            .collect();
        for w in [1, 2, 5, 17] {
            let got = rolling(&v, Window::Rows(w), Stat::Max, 1);
            for i in 0..v.len() {
                let lo = (i + 1).saturating_sub(w);
                let want = v[lo..=i]
                    .iter()
                    .copied()
                    .filter(|x| !x.is_nan())
                    .fold(f64::NAN, f64::max);
                assert!((got[i].is_nan() && want.is_nan()) || got[i] == want, "w={w} i={i}");
            }
        }
    }
}
