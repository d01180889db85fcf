//! Exact k nearest neighbours (Euclidean) of every sample among the others, for SMOTE.
//!
//! A brute-force scan made fast in three ways, none of which changes the answer:
//! - each pair is looked at once and offered to both points' lists;
//! - candidates are screened with single-precision distances (twice the SIMD lanes of f64):
//!   a pair is dropped only when its f32 distance minus a proven error bound is still worse
//!   than the list's current k-th distance; pairs that pass get their exact f64 distance,
//!   which alone decides;
//! - candidates come in tiles that stay in cache while a block of queries scans them.
//!
//! For the 10-1000 dimensional samples of sensor data a KD-tree would not prune.

use std::ops::Range;

/// Queries per block; blocks are dealt out round-robin, since query i scans only i+1.. .
const BLOCK: usize = 64;
/// Candidates per tile: TILE x dim f32 values (18 dimensions: 74 KB) stay in a core's cache.
const TILE: usize = 1024;

/// The `k` nearest neighbours of every row of `points` (row-major, `dim` columns) among the
/// other rows, nearest first; ties go to the lower index.
pub fn nearest_neighbours(points: &[f64], dim: usize, k: usize) -> Vec<Vec<usize>> {
    let n = points.len().checked_div(dim).unwrap_or(0);
    if n == 0 || k == 0 {
        return vec![Vec::new(); n];
    }
    let screen = Screen::new(points, dim, n);
    let blocks: Vec<Range<usize>> = (0..n).step_by(BLOCK).map(|s| s..(s + BLOCK).min(n)).collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(blocks.len());
    let screen = &screen;
    let partial: Vec<Lists> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let mine: Vec<Range<usize>> = blocks.iter().skip(t).step_by(threads).cloned().collect();
                scope.spawn(move || {
                    let mut lists = Lists::new(n, k, screen.scale);
                    let mut approximate = vec![0f32; TILE];
                    for block in mine {
                        for tile in (block.start + 1..n).step_by(TILE) {
                            let end = (tile + TILE).min(n);
                            for i in block.clone() {
                                let from = tile.max(i + 1);
                                if from >= end {
                                    continue;
                                }
                                let row = &mut approximate[..end - from];
                                screen.distances(i, from, row);
                                lists.offer_row(i, from, row, screen, points, dim);
                            }
                        }
                    }
                    lists
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut merged = Lists::new(n, k, screen.scale);
    for lists in &partial {
        for p in 0..n {
            for (d, j) in lists.of(p) {
                merged.offer(p, d, j);
            }
        }
    }
    (0..n).map(|p| merged.of(p).map(|(_, j)| j).collect()).collect()
}

/// The exact squared distance, summed over dimensions in order.
#[inline]
fn exact_distance(points: &[f64], dim: usize, i: usize, j: usize) -> f64 {
    let (a, b) = (&points[i * dim..(i + 1) * dim], &points[j * dim..(j + 1) * dim]);
    let mut sum = 0.0;
    for (x, y) in b.iter().zip(a) {
        let diff = x - y;
        sum += diff * diff;
    }
    sum
}

/// The single-precision copy used to screen candidates: centred on the mean and scaled by a
/// power of two (exact) so values sit near 1 and f32 neither overflows nor loses range;
/// column-major, so the distance loop runs over candidates.
struct Screen {
    n: usize,
    dim: usize,
    columns: Vec<f32>,
    /// Rows of the same values, for the queries.
    rows: Vec<f32>,
    /// Squared norms of the centred, scaled rows, rounded up.
    norms: Vec<f32>,
    /// Squared distances in the screen are the exact ones times `scale`.
    scale: f64,
    /// Error bound of a screened distance: NORM_TERM * (|a|² + |b|²) + DISTANCE_TERM * d.
    norm_term: f32,
    distance_term: f32,
}

impl Screen {
    fn new(points: &[f64], dim: usize, n: usize) -> Screen {
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
        let mut columns = vec![0f32; n * dim];
        let mut rows = vec![0f32; n * dim];
        let mut norms = vec![0f32; n];
        for (i, row) in points.chunks_exact(dim).enumerate() {
            let mut norm = 0.0;
            for (d, (v, m)) in row.iter().zip(&mean).enumerate() {
                let centred = (v - m) * factor;
                columns[d * n + i] = centred as f32;
                rows[i * dim + d] = centred as f32;
                norm += centred * centred;
            }
            norms[i] = round_up(norm * (1.0 + 1e-6));
        }
        // Rounding to f32 moves each coordinate by at most u|v| (u = 2^-24); the squared
        // difference then errs by at most 7u(|a_d| + |b_d|)², summed: 14u(|a|² + |b|²); the
        // f32 sum of `dim` squares adds (dim + 1)u of the distance, and forming the screened
        // value one more u. Both terms carry a 4x safety factor.
        let u = 2f32.powi(-24);
        Screen {
            n,
            dim,
            columns,
            rows,
            norms,
            scale: factor * factor,
            norm_term: 4.0 * 14.0 * u,
            distance_term: 4.0 * (dim as f32 + 3.0) * u,
        }
    }

    /// Screened squared distances from point i to points `from..from + out.len()`.
    fn distances(&self, i: usize, from: usize, out: &mut [f32]) {
        let query = &self.rows[i * self.dim..(i + 1) * self.dim];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { squared_distances_avx2(&self.columns, self.n, from, query, out) };
            return;
        }
        squared_distances_portable(&self.columns, self.n, from, query, out);
    }

    /// The smallest exact (scaled) distance the screened value `d32` of (i, j) allows.
    #[inline(always)]
    fn lower_bound(&self, d32: f32, norm_i: f32, norm_j: f32) -> f32 {
        d32 - self.norm_term * (norm_i + norm_j) - self.distance_term * d32
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn squared_distances_avx2(columns: &[f32], n: usize, from: usize, query: &[f32], out: &mut [f32]) {
    squared_distances_portable(columns, n, from, query, out);
}

#[inline(always)]
fn squared_distances_portable(columns: &[f32], n: usize, from: usize, query: &[f32], out: &mut [f32]) {
    // Sixteen candidates at a time, their sums held in registers across all dimensions.
    const LANES: usize = 16;
    let full = out.len() / LANES * LANES;
    for (chunk, start) in out[..full].chunks_exact_mut(LANES).zip((from..).step_by(LANES)) {
        let mut sums = [0f32; LANES];
        for (d, q) in query.iter().enumerate() {
            let values = &columns[d * n + start..d * n + start + LANES];
            for (sum, x) in sums.iter_mut().zip(values) {
                let diff = x - q;
                *sum += diff * diff;
            }
        }
        chunk.copy_from_slice(&sums);
    }
    for (m, o) in out.iter_mut().enumerate().skip(full) {
        let mut sum = 0f32;
        for (d, q) in query.iter().enumerate() {
            let diff = columns[d * n + from + m] - q;
            sum += diff * diff;
        }
        *o = sum;
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

    /// Screens `screened` (to points `from`, `from`+1, ...; all after i) against i's list and
    /// theirs; pairs that might belong get their exact distance and are offered to both. Once
    /// lists fill up almost nothing passes, so fixed chunks are tested branch-free first (the
    /// compiler turns the chunk test into a few SIMD instructions).
    fn offer_row(&mut self, i: usize, from: usize, screened: &[f32], screen: &Screen, points: &[f64], dim: usize) {
        const CHUNK: usize = 8;
        let norm_i = screen.norms[i];
        let full = screened.len() / CHUNK * CHUNK;
        for start in (0..full).step_by(CHUNK) {
            let first = from + start;
            let d: &[f32; CHUNK] = screened[start..start + CHUNK].try_into().unwrap_or(&[0.0; CHUNK]);
            let w: &[f32; CHUNK] = self.worst_screened[first..first + CHUNK]
                .try_into()
                .unwrap_or(&[f32::INFINITY; CHUNK]);
            let norms: &[f32; CHUNK] = screen.norms[first..first + CHUNK].try_into().unwrap_or(&[0.0; CHUNK]);
            let mine = self.worst_screened[i];
            let mut hit = false;
            for m in 0..CHUNK {
                hit |= screen.lower_bound(d[m], norm_i, norms[m]) <= w[m].max(mine);
            }
            if hit {
                self.check(i, first, &screened[start..start + CHUNK], screen, points, dim);
            }
        }
        self.check(i, from + full, &screened[full..], screen, points, dim);
    }

    /// The one-by-one test behind `offer_row`.
    fn check(&mut self, i: usize, first: usize, screened: &[f32], screen: &Screen, points: &[f64], dim: usize) {
        for (m, &d) in screened.iter().enumerate() {
            let j = first + m;
            let low = screen.lower_bound(d, screen.norms[i], screen.norms[j]);
            if low <= self.worst_screened[i] || low <= self.worst_screened[j] {
                let exact = exact_distance(points, dim, i, j);
                self.offer(i, exact, j);
                self.offer(j, exact, i);
            }
        }
    }

    /// Keeps (d, j) among p's k best, ordered by distance, then index.
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
        if at == k {
            return; // ties with the worst but has a higher index
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

    #[test]
    fn many_blocks_and_ties_match_the_definition() {
        // 700 points on a coarse grid: many exact ties and duplicates, several blocks per thread.
        let mut rng = Rng::new(5);
        for dim in [1, 4, 9] {
            let points: Vec<f64> = (0..700 * dim).map(|_| rng.below(4) as f64).collect();
            assert_eq!(
                nearest_neighbours(&points, dim, 5),
                reference(&points, dim, 5),
                "dim {dim}"
            );
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
        assert_eq!(
            nearest_neighbours(&clustered, dim, 5),
            reference(&clustered, dim, 5),
            "clustered"
        );
        for (offset, spread) in [(1e6, 1e-3), (0.0, 1e30), (0.0, 1e-30), (-3e4, 1.0)] {
            let dim = 6;
            let points: Vec<f64> = (0..1500 * dim)
                .map(|_| offset + spread * (rng.next_f64() - 0.5) * if rng.below(10) == 0 { 1e-6 } else { 1.0 })
                .collect();
            assert_eq!(
                nearest_neighbours(&points, dim, 5),
                reference(&points, dim, 5),
                "offset {offset}, spread {spread}"
            );
        }
    }
}
