//! Distances between a reference and a current sample of one feature, beside the KS test
//! (`ks.rs`): the population stability index, the Wasserstein-1 distance, and the multiple-test
//! corrections a drift check over many features needs.

/// Proportions below this count as this (an empty bin would make PSI infinite); the value
/// Evidently uses.
const PSI_FLOOR: f64 = 1e-4;

/// The values that are numbers (NaN dropped), sorted ascending. Sorted as integers whose order
/// is the floats' order (sign bit flipped for positives, every bit for negatives): about twice
/// as fast as comparing floats, and a drift check sorts every column of both tables.
pub fn sorted_numbers(values: &[f64]) -> Vec<f64> {
    let key = |v: f64| {
        let bits = v.to_bits();
        if bits >> 63 == 1 {
            !bits
        } else {
            bits | (1 << 63)
        }
    };
    let value = |k: u64| {
        if k >> 63 == 1 {
            f64::from_bits(k & !(1 << 63))
        } else {
            f64::from_bits(!k)
        }
    };
    let mut keys: Vec<u64> = values.iter().filter(|v| !v.is_nan()).map(|&v| key(v)).collect();
    keys.sort_unstable();
    keys.into_iter().map(value).collect()
}

/// `sorted` at quantile `q` with linear interpolation (numpy's default `np.quantile`).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let position = (sorted.len() - 1) as f64 * q;
    let (low, high) = (position.floor() as usize, position.ceil() as usize);
    sorted[low] + (sorted[high] - sorted[low]) * (position - low as f64)
}

/// The population stability index of `current` against `reference` over `bins` quantile bins
/// of the reference: sum over bins of (c - r) ln(c / r), with c and r the shares of each sample
/// in the bin (below 1e-4 taken as 1e-4). The bin edges are the reference's quantiles at
/// 1/bins, 2/bins, ...; repeated edges (tied values) merge bins; a bin holds the values above its
/// lower edge up to and including its upper edge. Both samples must be sorted: a bin's count is
/// then two binary searches, not a search per value.
pub fn psi(reference: &[f64], current: &[f64], bins: usize) -> f64 {
    let mut edges: Vec<f64> = (1..bins).map(|k| quantile(reference, k as f64 / bins as f64)).collect();
    edges.dedup();
    let shares = |sorted: &[f64]| -> Vec<f64> {
        let mut upto: Vec<usize> = edges.iter().map(|&e| sorted.partition_point(|&v| v <= e)).collect();
        upto.push(sorted.len());
        let mut below = 0;
        upto.into_iter()
            .map(|u| {
                let count = u - below;
                below = u;
                (count as f64 / sorted.len() as f64).max(PSI_FLOOR)
            })
            .collect()
    };
    let (r, c) = (shares(reference), shares(current));
    r.iter().zip(&c).map(|(r, c)| (c - r) * (c / r).ln()).sum()
}

/// The Wasserstein-1 distance between two samples (scipy's `wasserstein_distance(u, v)`): the
/// area between their empirical distribution functions. Both must be sorted and non-empty.
pub fn wasserstein(u: &[f64], v: &[f64]) -> f64 {
    crate::ml::ecdf::compare(u, v).area
}

/// The population standard deviation (ddof = 0, numpy's `np.std`).
pub fn std_population(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt()
}

/// How p-values of many features are adjusted before they are compared with alpha.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Correction {
    None,
    Bonferroni,
    /// Benjamini-Hochberg, controlling the false discovery rate.
    BenjaminiHochberg,
}

impl Correction {
    pub const NAMES: &'static [&'static str] = &["none", "bonferroni", "benjamini-hochberg"];

    pub fn from_name(name: &str) -> Option<Correction> {
        match name {
            "none" => Some(Correction::None),
            "bonferroni" => Some(Correction::Bonferroni),
            "benjamini-hochberg" => Some(Correction::BenjaminiHochberg),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Correction::None => "none",
            Correction::Bonferroni => "bonferroni",
            Correction::BenjaminiHochberg => "benjamini-hochberg",
        }
    }

    /// The adjusted p-values, in the order given. Benjamini-Hochberg as
    /// `scipy.stats.false_discovery_control(ps, method='bh')`.
    pub fn adjust(self, p: &[f64]) -> Vec<f64> {
        let m = p.len() as f64;
        match self {
            Correction::None => p.to_vec(),
            Correction::Bonferroni => p.iter().map(|p| (p * m).min(1.0)).collect(),
            Correction::BenjaminiHochberg => {
                let mut order: Vec<usize> = (0..p.len()).collect();
                order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
                let mut adjusted = vec![0.0; p.len()];
                let mut running = 1.0f64;
                for (rank, &i) in order.iter().enumerate().rev() {
                    running = running.min(p[i] * m / (rank + 1) as f64);
                    adjusted[i] = running.min(1.0);
                }
                adjusted
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frac(n: usize, a: f64, b: f64) -> Vec<f64> {
        (0..n).map(|i| (i as f64 * a + b) % 1.0).collect()
    }

    fn sorted(mut v: Vec<f64>) -> Vec<f64> {
        v.sort_by(f64::total_cmp);
        v
    }

    const G: f64 = 0.6180339887498949;
    const S2: f64 = 0.4142135623730951;

    // Expected values: tests/fixtures/drift_scipy.py (scipy 1.17.1, numpy).

    #[test]
    fn sorted_numbers_orders_like_floats_and_drops_nan() {
        let got = sorted_numbers(&[3.5, -0.0, f64::NAN, -7.25, 0.0, f64::INFINITY, -1e-300, 2.0]);
        let want = [-7.25, -1e-300, -0.0, 0.0, 2.0, 3.5, f64::INFINITY];
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.to_bits(), w.to_bits());
        }
    }

    #[test]
    fn wasserstein_agrees_with_scipy() {
        // stats.wasserstein_distance([1,2,2,3], [2,4,4]) = 1.3333333333333335
        assert!((wasserstein(&[1., 2., 2., 3.], &[2., 4., 4.]) - 1.3333333333333335).abs() < 1e-12);
        let u = sorted(frac(1000, G, 0.0));
        let v = sorted(frac(800, S2, 0.0).iter().map(|x| x * 0.9 + 0.05).collect());
        let w = wasserstein(&u, &v);
        assert!((w - 0.024794095602250345).abs() < 1e-12, "{w}");
        // ... / np.std(u): Evidently's normed distance
        assert!((w / std_population(&u) - 0.08588048728937968).abs() < 1e-12);
        assert_eq!(wasserstein(&u, &u), 0.0);
    }

    #[test]
    fn psi_agrees_with_the_numpy_computation_of_its_definition() {
        let reference = sorted(frac(1000, G, 0.0));
        let current = sorted(frac(500, S2, 0.0).iter().map(|x| x * x).collect());
        assert!((psi(&reference, &current, 10) - 0.38217056999080673).abs() < 1e-12);
        // The same sample: nothing moved.
        assert!(psi(&reference, &reference, 10).abs() < 1e-15);
        // Every value tied: one bin, equal shares, PSI 0.
        assert_eq!(psi(&[3.0; 50], &[3.0; 20], 10), 0.0);
        // numpy.quantile(frac(1000, G), 0.1) = 0.10010131710180303
        assert!((quantile(&reference, 0.1) - 0.10010131710180303).abs() < 1e-15);
    }

    #[test]
    fn corrections_agree_with_scipy() {
        let p = [0.01, 0.04, 0.03, 0.5, 0.001, 0.2];
        // stats.false_discovery_control(p, method='bh')
        let want = [0.03, 0.06, 0.06, 0.5, 0.006, 0.24];
        for (got, want) in Correction::BenjaminiHochberg.adjust(&p).iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{got} {want}");
        }
        assert_eq!(Correction::Bonferroni.adjust(&p)[3], 1.0);
        assert!((Correction::Bonferroni.adjust(&p)[0] - 0.06).abs() < 1e-15);
        assert_eq!(Correction::None.adjust(&p), p);
    }
}
