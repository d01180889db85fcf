//! Exact k nearest neighbours (Euclidean) of every sample among the others, for SMOTE.
//!
//! Candidates are screened with single-precision distances and a proven error bound: a pair
//! is dropped only when its screened distance minus the bound is still worse than the current
//! k-th distance of both points' lists; pairs that pass get their exact f64 distance, which
//! alone decides, so the answer (ties included) is that of the plain definition. Two ways to
//! screen, by dimension:
//! - few dimensions (sensor rows, short windows): a direct scan summing differences, each pair
//!   looked at once ([`scan`]);
//! - many dimensions (flattened windows): |a|² + |b|² - 2ab from a blocked matrix product on
//!   libtorch's BLAS, which is what decides at thousands of dimensions ([`product`]).
//!
//! For the 10-1000 dimensional samples of sensor data a KD-tree would not prune.

mod product;
mod scan;

/// From this many dimensions on, the matrix product screens faster than the direct scan
/// (20,000 samples on 2 AVX-512 cores: at 64 dimensions the scan takes 0.57-0.61 s against
/// 0.63-0.81 s, at 96 dimensions 0.95 s against 0.75-0.83 s).
const PRODUCT_FROM_DIM: usize = 80;

/// Rounding the centred, scaled values to f32 moves each coordinate by at most u|v|
/// (u = 2^-24); a squared distance then errs by at most 14u(|a|² + |b|²); 4x safety.
const ROUNDING_TERM: f32 = 4.0 * 14.0 * (f32::EPSILON / 2.0);

/// The `k` nearest neighbours of every row of `points` (row-major, `dim` columns) among the
/// other rows, nearest first; ties go to the lower index.
pub fn nearest_neighbours(points: &[f64], dim: usize, k: usize) -> Vec<Vec<usize>> {
    let lists = if dim >= PRODUCT_FROM_DIM {
        search(points, dim, k, product::search)
    } else {
        search(points, dim, k, scan::search)
    };
    match lists {
        Some(lists) => (0..lists.len.len())
            .map(|p| lists.of(p).map(|(_, j)| j).collect())
            .collect(),
        None => vec![Vec::new(); points.len().checked_div(dim).unwrap_or(0)],
    }
}

type Search = fn(&[f64], usize, usize, &Scaled) -> Lists;

/// The lists from one way of screening; `None` when there is nothing to search.
fn search(points: &[f64], dim: usize, k: usize, how: Search) -> Option<Lists> {
    let n = points.len().checked_div(dim).unwrap_or(0);
    if n == 0 || k == 0 {
        return None;
    }
    Some(how(points, dim, k, &Scaled::new(points, dim, n)))
}

/// The exact squared distance, in f64, eight coordinates at a time (one SIMD register's worth
/// of partial sums, so the loop is not one chain of dependent additions).
#[inline]
fn exact_distance(points: &[f64], dim: usize, i: usize, j: usize) -> f64 {
    let (a, b) = (&points[i * dim..(i + 1) * dim], &points[j * dim..(j + 1) * dim]);
    let mut sums = [0.0; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    for (x, y) in a8.zip(b8) {
        for m in 0..8 {
            let diff = x[m] - y[m];
            sums[m] += diff * diff;
        }
    }
    ((sums[0] + sums[4]) + (sums[1] + sums[5])) + ((sums[2] + sums[6]) + (sums[3] + sums[7])) + tail
}

/// The single-precision copy both screens use: centred on the mean and scaled by a power of
/// two (exact) so values sit near 1 and f32 neither overflows nor loses range.
struct Scaled {
    n: usize,
    dim: usize,
    /// Row-major.
    rows: Vec<f32>,
    /// Squared norms of the centred, scaled rows, rounded up.
    norms: Vec<f32>,
    /// Squared distances here are the exact ones times `scale`.
    scale: f64,
}

impl Scaled {
    fn new(points: &[f64], dim: usize, n: usize) -> Scaled {
        let mut mean = vec![0.0; dim];
        for row in points.chunks_exact(dim) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v / n as f64;
            }
        }
        let largest = points
            .chunks_exact(dim)
            .flat_map(|row| row.iter().zip(&mean).map(|(v, m)| (v - m).abs()))
            .fold(0.0f64, f64::max);
        // A power of two, so scaling is exact: values end up in [1, 2) at the largest.
        let factor = if largest > 0.0 && largest.is_finite() {
            2f64.powi(-(largest.log2().floor() as i32))
        } else {
            1.0
        };
        let mut rows = vec![0f32; n * dim];
        let mut norms = vec![0f32; n];
        for (i, row) in points.chunks_exact(dim).enumerate() {
            let mut norm = 0.0;
            for (d, (v, m)) in row.iter().zip(&mean).enumerate() {
                let centred = (v - m) * factor;
                rows[i * dim + d] = centred as f32;
                norm += centred * centred;
            }
            norms[i] = round_up(norm * (1.0 + 1e-6));
        }
        Scaled {
            n,
            dim,
            rows,
            norms,
            scale: factor * factor,
        }
    }
}

/// The smallest f32 at or above `x`.
fn round_up(x: f64) -> f32 {
    let r = x as f32;
    if (r as f64) < x && r.is_finite() {
        f32::from_bits(r.to_bits() + 1)
    } else {
        r
    }
}

/// The best `k` (exact distance, index) pairs of every point, sorted, in flat arrays.
struct Lists {
    k: usize,
    distance: Vec<f64>,
    index: Vec<usize>,
    len: Vec<usize>,
    /// The k-th exact distance of each full list (infinity until full).
    worst: Vec<f64>,
    /// The same in screened units (times the screen's scale), rounded up.
    worst_screened: Vec<f32>,
    scale: f64,
}

impl Lists {
    fn new(n: usize, k: usize, scale: f64) -> Lists {
        Lists {
            k,
            distance: vec![0.0; n * k],
            index: vec![0; n * k],
            len: vec![0; n],
            worst: vec![f64::INFINITY; n],
            worst_screened: vec![f32::INFINITY; n],
            scale,
        }
    }

    /// Keeps (d, j) among p's k best, ordered by distance, then index; offering a pair twice
    /// keeps it once.
    #[inline]
    fn offer(&mut self, p: usize, d: f64, j: usize) {
        if d > self.worst[p] {
            return;
        }
        let (k, base, len) = (self.k, p * self.k, self.len[p]);
        let before = |at: usize| (self.distance[base + at], self.index[base + at]) < (d, j);
        let mut at = len;
        while at > 0 && !before(at - 1) {
            at -= 1;
        }
        if at == k || (at < len && self.index[base + at] == j) {
            return; // ties with the worst but has a higher index, or is there already
        }
        let last = len.min(k - 1);
        for m in (at..last).rev() {
            self.distance[base + m + 1] = self.distance[base + m];
            self.index[base + m + 1] = self.index[base + m];
        }
        self.distance[base + at] = d;
        self.index[base + at] = j;
        self.len[p] = (len + 1).min(k);
        if self.len[p] == k {
            self.worst[p] = self.distance[base + k - 1];
            // A little above the exact value: screening may pass a few pairs too many, never
            // drop one too many.
            self.worst_screened[p] = round_up(self.worst[p] * self.scale * (1.0 + 1e-6));
        }
    }

    fn of(&self, p: usize) -> impl Iterator<Item = (f64, usize)> + '_ {
        let base = p * self.k;
        (base..base + self.len[p]).map(|m| (self.distance[m], self.index[m]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::rng::Rng;

    /// The plain definition: every pair, sorted by (distance, index).
    fn reference(points: &[f64], dim: usize, k: usize) -> Vec<Vec<usize>> {
        let n = points.len() / dim;
        (0..n)
            .map(|i| {
                let mut all: Vec<(f64, usize)> = (0..n)
                    .filter(|&j| j != i)
                    .map(|j| (exact_distance(points, dim, i, j), j))
                    .collect();
                all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                all.into_iter().take(k).map(|(_, j)| j).collect()
            })
            .collect()
    }

    /// Both screens' answers, each checked against the definition; the scan with every
    /// instruction set this CPU has.
    fn check_both(points: &[f64], dim: usize, k: usize, what: &str) {
        let want = reference(points, dim, k);
        for isa in scan::runnable() {
            let n = points.len() / dim;
            let lists = scan::search_on(isa, points, dim, k, &Scaled::new(points, dim, n));
            let got: Vec<Vec<usize>> = (0..want.len()).map(|p| lists.of(p).map(|(_, j)| j).collect()).collect();
            assert_eq!(got, want, "scan on {isa:?}: {what}");
        }
        // Blocks of 128: many pairs of blocks, and a short last one.
        let small_blocks: Search = |points, dim, k, scaled| product::blocked(points, dim, k, scaled, 128);
        for (name, how) in [
            ("product", product::search as Search),
            ("product in blocks", small_blocks),
        ] {
            let lists = search(points, dim, k, how).unwrap();
            let got: Vec<Vec<usize>> = (0..want.len()).map(|p| lists.of(p).map(|(_, j)| j).collect()).collect();
            assert_eq!(got, want, "{name}: {what}");
        }
    }

    #[test]
    fn many_blocks_and_ties_match_the_definition() {
        // 700 points on a coarse grid: many exact ties and duplicates, several blocks per thread.
        let mut rng = Rng::new(5);
        for dim in [1, 4, 9] {
            let points: Vec<f64> = (0..700 * dim).map(|_| rng.below(4) as f64).collect();
            check_both(&points, dim, 5, &format!("dim {dim}"));
        }
        let few: Vec<f64> = vec![1.0, 2.0, 3.0];
        assert_eq!(nearest_neighbours(&few, 1, 5), vec![vec![1, 2], vec![0, 2], vec![1, 0]]);
    }

    #[test]
    fn single_precision_screening_never_changes_the_answer() {
        // Where f32 cannot tell neighbours apart: a large offset (1e6) with differences near
        // f32's resolution there, huge and tiny magnitudes, and near-duplicates.
        let mut rng = Rng::new(11);
        // Hardest: a far cluster sets the scale, so the near cluster's differences are a few
        // f32 steps wide and screened distances reorder its neighbours.
        let dim = 3;
        let clustered: Vec<f64> = (0..1500 * dim)
            .map(|i| {
                if i < 60 * dim {
                    1e6 + rng.next_f64()
                } else {
                    0.1 * (rng.next_f64() - 0.5)
                }
            })
            .collect();
        check_both(&clustered, dim, 5, "clustered");
        for (offset, spread) in [(1e6, 1e-3), (0.0, 1e30), (0.0, 1e-30), (-3e4, 1.0)] {
            let dim = 6;
            let points: Vec<f64> = (0..1500 * dim)
                .map(|_| offset + spread * (rng.next_f64() - 0.5) * if rng.below(10) == 0 { 1e-6 } else { 1.0 })
                .collect();
            check_both(&points, dim, 5, &format!("offset {offset}, spread {spread}"));
        }
    }

    #[test]
    fn overlapping_windows_match_the_definition() {
        // Windows of 24 rows x 6 sensors (144 dimensions) sliding over random walks with flat
        // stretches: neighbours one row apart, exact duplicates, the shape SMOTE meets.
        let (rows, sensors, window) = (900, 6, 24);
        let mut rng = Rng::new(17);
        let mut series = vec![0.0; rows * sensors];
        for t in 1..rows {
            for s in 0..sensors {
                let step = if (t / 50) % 3 == 0 { 0.0 } else { rng.next_f64() - 0.5 };
                series[t * sensors + s] = series[(t - 1) * sensors + s] + step;
            }
        }
        let points: Vec<f64> = (0..=rows - window)
            .flat_map(|start| series[start * sensors..(start + window) * sensors].to_vec())
            .collect();
        check_both(&points, window * sensors, 5, "windows");
    }
}
