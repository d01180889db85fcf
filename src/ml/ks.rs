//! The two-sample Kolmogorov-Smirnov test, two-sided, as `scipy.stats.ks_2samp(a, b)` computes
//! it (`method='auto'`): the exact distribution of the statistic when both samples have at most
//! 10,000 values, otherwise the distribution of the one-sample statistic for the effective
//! size `round(n1 n2 / (n1 + n2))`, which is what scipy's `kstwo.sf` gives.
//!
//! The exact p-value counts lattice paths (Hodges 1958) with the recursion in probabilities that
//! Viehmann (2021, arXiv:2102.08037) shows to be stable. The one-sample distribution follows
//! the decision tree of Simard and L'Ecuyer (2011, J. Stat. Softw. 39(11)): the Durbin matrix in
//! Marsaglia, Tsang and Wang's form, the exact one-sided sum of Birnbaum and Tingey, and the
//! Pelz-Good asymptotic series. Where that tree picks Pomeranz's recursion, this uses the Durbin
//! matrix, which is also exact. Identical samples (D = 0) give p = 1 without a series.

/// The largest sample for which the exact distribution is used (scipy's `MAX_AUTO_N`).
const EXACT_UP_TO: usize = 10_000;

/// The outcome of a two-sample KS test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KsTest {
    /// D: the largest distance between the two empirical distribution functions.
    pub statistic: f64,
    /// The probability of a D at least this large when both samples share one distribution.
    pub p_value: f64,
    /// Whether `p_value` comes from the exact distribution (else the asymptotic one).
    pub exact: bool,
}

/// The KS test of `a` against `b`, or `None` when either is empty. Values must be numbers
/// (callers drop NaN first); ties are handled as scipy does.
pub fn ks_2samp(a: &[f64], b: &[f64]) -> Option<KsTest> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_unstable_by(f64::total_cmp);
    b.sort_unstable_by(f64::total_cmp);
    ks_2samp_sorted(&a, &b)
}

/// [`ks_2samp`] on samples already sorted ascending (a drift check sorts each column once for
/// KS, PSI and Wasserstein).
pub fn ks_2samp_sorted(a: &[f64], b: &[f64]) -> Option<KsTest> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    Some(ks_2samp_of_gap(
        a.len(),
        b.len(),
        crate::ml::ecdf::compare(a, b).largest_gap,
    ))
}

/// The test for samples of `n1` and `n2` values whose distribution functions are at most
/// `largest_gap / (n1 n2)` apart ([`crate::ml::ecdf::Comparison::largest_gap`]): for a caller
/// that walked the samples once for several figures.
pub fn ks_2samp_of_gap(n1: usize, n2: usize, largest_gap: u64) -> KsTest {
    let g = gcd(n1 as u64, n2 as u64);
    // D = |i/n1 - j/n2| = |i n2 - j n1| / (n1 n2); in units of 1/lcm(n1, n2) that is
    // |i n2 - j n1| / g, an integer: the exact method needs it exactly, not rounded.
    let h = largest_gap / g;
    let lcm = (n1 as u64 / g) * n2 as u64;
    let statistic = h as f64 / lcm as f64;
    if h == 0 {
        return KsTest {
            statistic,
            p_value: 1.0,
            exact: true,
        };
    }
    if n1.max(n2) <= EXACT_UP_TO {
        let p = outside_band(n1 as u64, n2 as u64, g, h);
        return KsTest {
            statistic,
            p_value: p.clamp(0.0, 1.0),
            exact: true,
        };
    }
    let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
    let effective = (m * n / (m + n)).round_ties_even().max(1.0) as u64;
    KsTest {
        statistic,
        p_value: kolmogorov_sf(effective, statistic).clamp(0.0, 1.0),
        exact: false,
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// P(D >= h / lcm) under the null hypothesis: the share of monotone lattice paths from (0, 0)
/// to (m, n) that touch or leave the band |i n/g - j m/g| < h. `p[j]` holds, for the current
/// column i, the probability that a uniformly drawn path to (i, j) has left the band; a path to
/// (i, j) comes from (i-1, j) with probability i/(i+j), which keeps every value in [0, 1].
fn outside_band(n1: u64, n2: u64, g: u64, h: u64) -> f64 {
    let (m, n) = (n1.max(n2), n1.min(n2));
    let (mg, ng) = ((m / g) as i64, (n / g) as i64);
    let h = h as i64;
    let inside = |i: i64, j: i64| (i * ng - j * mg).abs() < h;
    let n = n as usize;
    let mut p = vec![1.0f64; n + 1];
    p[0] = 0.0;
    for j in 1..=n {
        p[j] = if inside(0, j as i64) { p[j - 1] } else { 1.0 };
    }
    for i in 1..=m as i64 {
        // The band at column i: j from ceil((i ng - h + 1) / mg) to floor((i ng + h - 1) / mg).
        let low = (i * ng - h + 1).div_euclid(mg) + i64::from((i * ng - h + 1).rem_euclid(mg) != 0);
        let high = (i * ng + h - 1).div_euclid(mg);
        let (low, high) = (low.max(0) as usize, high.min(n as i64));
        if high < low as i64 {
            return 1.0;
        }
        let high = high as usize;
        // Cells the band left behind are outside now.
        for cell in p.iter_mut().take(low) {
            *cell = 1.0;
        }
        let fi = i as f64;
        for j in low..=high {
            p[j] = if j == 0 {
                p[0]
            } else {
                let fj = j as f64;
                (fi * p[j] + fj * p[j - 1]) / (fi + fj)
            };
        }
        // Cells above the band were never inside at this column.
        for cell in p.iter_mut().skip(high + 1) {
            *cell = 1.0;
        }
    }
    p[n]
}

/// P(D_n >= x) for the one-sample two-sided statistic (scipy's `kstwo.sf(x, n)`).
pub fn kolmogorov_sf(n: u64, x: f64) -> f64 {
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let nf = n as f64;
    let t = nf * x;
    if t <= 1.0 {
        // Ruben and Gambino: for 1/2n <= x <= 1/n, P(D_n < x) = n!/n^n (2t - 1)^n.
        if t <= 0.5 {
            return 1.0;
        }
        let cdf = (log_factorial_over_power(n) + nf * (2.0 * t - 1.0).ln()).exp();
        return 1.0 - cdf;
    }
    if t >= nf - 1.0 {
        return 2.0 * (1.0 - x).powf(nf);
    }
    if x >= 0.5 {
        // The two one-sided events cannot both happen: exactly twice the one-sided tail.
        return 2.0 * smirnov_sf(n, x);
    }
    let nx2 = t * x;
    if n <= 140 {
        if nx2 <= 4.0 {
            return 1.0 - durbin_cdf(n, x);
        }
        // Miller's approximation, as Simard and L'Ecuyer (and scipy) take it here.
        return 2.0 * smirnov_sf(n, x);
    }
    if nx2 >= 370.0 {
        return 0.0;
    }
    if nx2 >= 2.2 {
        return 2.0 * smirnov_sf(n, x);
    }
    let cdf = if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        durbin_cdf(n, x)
    } else {
        pelz_good_cdf(n, x)
    };
    1.0 - cdf
}

/// ln(n! / n^n).
fn log_factorial_over_power(n: u64) -> f64 {
    let nf = n as f64;
    (1..=n).map(|i| (i as f64 / nf).ln()).sum()
}

/// P(D_n^+ >= x), the one-sided tail, by Birnbaum and Tingey's exact sum
/// x * sum_{j=0}^{floor(n(1-x))} C(n, j) (1 - x - j/n)^(n-j) (x + j/n)^(j-1), in logarithms
/// (every term is positive, so nothing cancels). The sum stops, as scipy's does, once the
/// terms left could not change it: with n in the hundreds of thousands (a drift check on a
/// million rows) that is a few thousand terms instead of n.
fn smirnov_sf(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    let last = (nf * (1.0 - x)).floor() as u64;
    let last = last.min(n);
    let mut log_binomial = 0.0f64;
    let mut sum = 0.0f64;
    for j in 0..=last {
        if j > 0 {
            // ln C(n, j) from ln C(n, j - 1): one logarithm of the ratio, not two.
            log_binomial += ((n - j + 1) as f64 / j as f64).ln();
        }
        let jf = j as f64;
        let low = 1.0 - x - jf / nf;
        let up = x + jf / nf;
        let mut log_term = log_binomial + (jf - 1.0) * up.ln();
        if j < n {
            if low <= 0.0 {
                continue;
            }
            log_term += (nf - jf) * low.ln();
        }
        let term = log_term.exp();
        sum += term;
        // scipy's test (xsf `_smirnov`): the remaining terms, each below this one past the
        // peak, add less than a rounding error.
        if term != 0.0 {
            if 4.0 * (last - j) as f64 * term < f64::EPSILON * sum && j != last {
                break;
            }
        } else if j > n / 2 {
            break;
        }
    }
    x * sum
}

/// P(D_n < d) by the Durbin matrix (Marsaglia, Tsang and Wang 2003): with d = (k - h)/n,
/// n!/n^n times the (k, k) entry of H^n, H of size 2k - 1. Powers are rescaled as they grow,
/// and the scale is kept as a power of two.
fn durbin_cdf(n: u64, d: f64) -> f64 {
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut factorial = vec![1.0f64; m + 1];
    for i in 1..=m {
        factorial[i] = factorial[i - 1] * i as f64;
    }
    let mut hm = vec![0.0f64; m * m];
    for i in 0..m {
        for j in 0..m {
            if i + 1 >= j {
                hm[i * m + j] = 1.0 / factorial[i + 1 - j];
            }
        }
    }
    for i in 0..m {
        hm[i * m] -= h.powi(i as i32 + 1) / factorial[i + 1];
        hm[(m - 1) * m + i] -= h.powi((m - i) as i32) / factorial[m - i];
    }
    hm[(m - 1) * m] += (2.0 * h - 1.0).max(0.0).powi(m as i32) / factorial[m];

    let (power, exponent) = matrix_power(&hm, m, n);
    let entry = power[(k - 1) * m + (k - 1)];
    if entry <= 0.0 {
        return 0.0;
    }
    (entry.ln() + exponent as f64 * std::f64::consts::LN_2 + log_factorial_over_power(n)).exp()
}

/// `a^p` for an m x m matrix, as (mantissa matrix, power of two): the true power is the matrix
/// times 2^exponent.
fn matrix_power(a: &[f64], m: usize, mut p: u64) -> (Vec<f64>, i64) {
    const SCALE_BITS: i32 = 128;
    let big = 2f64.powi(SCALE_BITS);
    let mut result = vec![0.0f64; m * m];
    for i in 0..m {
        result[i * m + i] = 1.0;
    }
    let (mut result_exp, mut base, mut base_exp) = (0i64, a.to_vec(), 0i64);
    let rescale = |v: &mut Vec<f64>, e: &mut i64| {
        let largest = v.iter().fold(0.0f64, |acc, x| acc.max(x.abs()));
        if largest > big {
            v.iter_mut().for_each(|x| *x /= big);
            *e += i64::from(SCALE_BITS);
        } else if largest > 0.0 && largest < 1.0 / big {
            v.iter_mut().for_each(|x| *x *= big);
            *e -= i64::from(SCALE_BITS);
        }
    };
    while p > 0 {
        if p & 1 == 1 {
            result = multiply(&result, &base, m);
            result_exp += base_exp;
            rescale(&mut result, &mut result_exp);
        }
        p >>= 1;
        if p > 0 {
            base = multiply(&base, &base, m);
            base_exp *= 2;
            rescale(&mut base, &mut base_exp);
        }
    }
    (result, result_exp)
}

fn multiply(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut c = vec![0.0f64; m * m];
    for i in 0..m {
        for k in 0..m {
            let aik = a[i * m + k];
            if aik == 0.0 {
                continue;
            }
            let (row, col) = (&mut c[i * m..(i + 1) * m], &b[k * m..(k + 1) * m]);
            for (cij, bkj) in row.iter_mut().zip(col) {
                *cij += aik * bkj;
            }
        }
    }
    c
}

/// P(D_n <= x) by Pelz and Good's series (their 1976 paper; the form of Simard and L'Ecuyer,
/// eqs. 10-13): K0 + K1/sqrt(n) + K2/n + K3/n^1.5 at z = x sqrt(n).
fn pelz_good_cdf(n: u64, x: f64) -> f64 {
    use std::f64::consts::PI;
    let nf = n as f64;
    let z = nf.sqrt() * x;
    let (z2, z3, z4, z6) = (z * z, z * z * z, z.powi(4), z.powi(6));
    if -PI * PI / 8.0 / z2 < -708.0 {
        return 0.0;
    }
    let terms = (16.0 * z / PI).ceil() as u64;
    let (pi2, pi4, pi6) = (PI * PI, PI.powi(4), PI.powi(6));
    let sqrt_2pi = (2.0 * PI).sqrt();
    let (mut k0, mut k1, mut k2, mut k3) = (0.0, 0.0, 0.0, 0.0);
    for k in 1..=terms {
        let odd = (2 * k - 1) as f64;
        let (o2, o4, o6) = (odd * odd, odd.powi(4), odd.powi(6));
        let e = (-o2 * pi2 / (8.0 * z2)).exp();
        k0 += e;
        k1 += (pi2 * o2 / 4.0 - z2) * e;
        k2 += (6.0 * z6 + 2.0 * z4 + pi2 * o2 * (2.0 * z4 - 5.0 * z2) / 4.0 + pi4 * o4 * (1.0 - 2.0 * z2) / 16.0) * e;
        k3 += (-30.0 * z6 - 90.0 * z.powi(8)
            + pi2 * o2 * (135.0 * z4 - 96.0 * z6) / 4.0
            + pi4 * o4 * (212.0 * z4 - 60.0 * z2) / 16.0
            + pi6 * o6 * (5.0 - 30.0 * z2) / 64.0)
            * e;
    }
    let (mut k2_even, mut k3_even) = (0.0, 0.0);
    for k in 1..=terms {
        let kf = k as f64;
        let e = (-pi2 * kf * kf / (2.0 * z2)).exp();
        k2_even += kf * kf * e;
        k3_even += (3.0 * z2 - pi2 * kf * kf) * kf * kf * e;
    }
    let k0 = sqrt_2pi / z * k0;
    let k1 = sqrt_2pi / (6.0 * z4) * k1;
    let k2 = sqrt_2pi / (72.0 * z.powi(7)) * k2 - pi2 * sqrt_2pi / (36.0 * z3) * k2_even;
    let k3 = sqrt_2pi / (6480.0 * z.powi(10)) * k3 + pi2 * sqrt_2pi / (216.0 * z6) * k3_even;
    k0 + k1 / nf.sqrt() + k2 / nf + k3 / nf.powf(1.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(i * a + b) % 1` for i in 0..n: numpy's `(np.arange(n, dtype=float) * a + b) % 1.0`
    /// gives the same bits.
    fn frac(n: usize, a: f64, b: f64) -> Vec<f64> {
        (0..n).map(|i| (i as f64 * a + b) % 1.0).collect()
    }

    fn squared(v: Vec<f64>) -> Vec<f64> {
        v.iter().map(|x| x * x).collect()
    }

    fn scaled(v: Vec<f64>, by: f64) -> Vec<f64> {
        v.iter().map(|x| x * by).collect()
    }

    const G: f64 = 0.6180339887498949;
    const S2: f64 = 0.4142135623730951;

    /// Expected values: scipy 1.17.1, `scipy.stats.ks_2samp(a, b)` (two-sided, method='auto'),
    /// with a and b built as `frac` builds them; `tests/fixtures/ks_2samp_scipy.py` prints them.
    #[test]
    fn agrees_with_scipy_ks_2samp() {
        // (name, a, b, D, p, exact)
        type Case = (&'static str, Vec<f64>, Vec<f64>, f64, f64, bool);
        let cases: Vec<Case> = vec![
            // ks_2samp([1,2,2,3,3,3,4], [2,2,3,5,5]): ties in both samples
            (
                "ties",
                vec![1., 2., 2., 3., 3., 3., 4.],
                vec![2., 2., 3., 5., 5.],
                0.4,
                0.6388888888888888,
                true,
            ),
            (
                "unequal_exact",
                frac(40, 0.37, 0.0),
                frac(25, 0.53, 0.1),
                0.09,
                0.9980336504303136,
                true,
            ),
            (
                "identical",
                (1..=10).map(f64::from).collect(),
                (1..=10).map(f64::from).collect(),
                0.0,
                1.0,
                true,
            ),
            ("tiny", vec![1.0], vec![2.0], 1.0, 1.0, true),
            (
                "exact_tiny_p",
                frac(500, G, 0.0),
                squared(frac(400, S2, 0.0)),
                0.2555,
                3.164628925687131e-13,
                true,
            ),
            (
                "exact_equal_n",
                frac(200, G, 0.0),
                scaled(frac(200, S2, 0.0), 0.9),
                0.11,
                0.17793352788293415,
                true,
            ),
            (
                "exact_10000",
                frac(10000, G, 0.0),
                frac(7000, S2, 0.013),
                0.00045714285714285713,
                1.0,
                true,
            ),
            (
                "asymp_large",
                frac(20000, G, 0.0),
                frac(15000, S2, 0.05),
                0.00023333333333341866,
                1.0,
                false,
            ),
            (
                "asymp_moderate",
                frac(20000, G, 0.0),
                scaled(frac(15000, S2, 0.0), 0.98),
                0.020083333333333342,
                0.0019601332150819472,
                false,
            ),
            (
                "asymp_tiny_p",
                frac(20000, G, 0.0),
                squared(frac(15000, S2, 0.0)),
                0.25011666666666665,
                0.0,
                false,
            ),
            (
                "asymp_small_side",
                frac(10001, G, 0.0),
                frac(30, 0.7548776662466927, 0.2),
                0.09656700996567014,
                0.9170512911868265,
                false,
            ),
            (
                "asymp_small_side_shift",
                frac(10001, G, 0.0),
                scaled(frac(30, 0.7548776662466927, 0.2), 0.7),
                0.3212578742125788,
                0.0029636265649145566,
                false,
            ),
            (
                "asymp_pelz_mod",
                frac(300000, G, 0.0),
                scaled(frac(300000, S2, 0.0), 0.999),
                0.0010066666666667112,
                0.9980472222858646,
                false,
            ),
        ];
        for (name, a, b, statistic, p, exact) in cases {
            let got = ks_2samp(&a, &b).unwrap();
            assert!(
                (got.statistic - statistic).abs() < 1e-9,
                "{name}: D {} vs {statistic}",
                got.statistic
            );
            assert!((got.p_value - p).abs() < 1e-6, "{name}: p {} vs {p}", got.p_value);
            assert_eq!(got.exact, exact, "{name}");
            // The test is symmetric in its samples.
            let swapped = ks_2samp(&b, &a).unwrap();
            assert!((swapped.p_value - got.p_value).abs() < 1e-12, "{name}: swapped");
        }
        assert!(ks_2samp(&[], &[1.0]).is_none());
    }

    /// Every branch of the one-sample distribution. Expected: scipy 1.17.1,
    /// `scipy.stats.kstwo.sf(x, n)` (same script).
    #[test]
    fn agrees_with_scipy_kstwo_sf() {
        let cases = [
            (5, 0.15, 0.9988),
            (5, 0.3, 0.664),
            (5, 0.6, 0.03008000000000001),
            (5, 0.95, 6.250000000000028e-07),
            (10, 0.06, 0.9999999999628411),
            (10, 0.92, 2.1474836479999892e-11),
            (30, 0.1, 0.8960782680050898),
            (30, 0.2, 0.15796916101547398),
            (30, 0.3, 0.006852243362913235),
            (30, 0.45, 4.60170836663682e-06),
            (140, 0.05, 0.8576480297656114),
            (140, 0.15, 0.0032495604415101703),
            (141, 0.02, 0.9999999744561288),
            (1000, 0.01, 0.9999496745370611),
            (1000, 0.04, 0.07933956059000224),
            (1000, 0.1, 3.703687096817711e-09),
            (5000, 0.005, 0.9995858441477996),
            (5000, 0.03, 0.00024159234422666817),
            (100000, 0.0004, 1.0),
            (100000, 0.003, 0.3284563327726956),
            (150000, 0.001, 0.9982358422822605),
            (150000, 0.0035, 0.050579602653264),
            (1000000, 0.0005, 0.9638386310076212),
            // Large n in the one-sided sum's range (n x^2 >= 2.2), where the sum stops early.
            (20000, 0.02, 2.2181270070049744e-07),
            (123457, 0.006, 0.00027470521676597863),
            (500000, 0.0025, 0.0038544560212235442),
            (500000, 0.004, 2.2445978493851467e-07),
            (500000, 0.01, 7.374635645083527e-44),
        ];
        for (n, x, want) in cases {
            let got = kolmogorov_sf(n, x);
            assert!((got - want).abs() < 1e-9, "kstwo.sf({x}, {n}) = {want}, got {got}");
            assert!(
                (got - want).abs() <= 1e-8 * want,
                "kstwo.sf({x}, {n}) = {want}, got {got}: relative"
            );
        }
    }
}
