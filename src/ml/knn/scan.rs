//! The direct scan for few dimensions: every pair's single-precision distance summed over
//! coordinates, each pair looked at once and offered to both points' lists, candidates in
//! tiles that stay in cache while a block of queries scans them.

use std::ops::Range;

use super::{Lists, Scaled};

/// Queries per block; blocks are dealt out round-robin, since query i scans only i+1.. .
const BLOCK: usize = 64;
/// Candidates per tile: TILE x dim f32 values (18 dimensions: 74 KB) stay in a core's cache.
const TILE: usize = 1024;

/// The lists of every point, from a scan of all pairs on every core.
pub(super) fn search(points: &[f64], dim: usize, k: usize, scaled: &Scaled) -> Lists {
    let n = scaled.n;
    let screen = Screen::new(scaled);
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
                    let mut lists = Lists::new(n, k, scaled.scale);
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
                                offer_row(&mut lists, i, from, row, screen, points, dim);
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
    let mut merged = Lists::new(n, k, scaled.scale);
    for lists in &partial {
        for p in 0..n {
            for (d, j) in lists.of(p) {
                merged.offer(p, d, j);
            }
        }
    }
    merged
}

/// The scaled values column-major, so the distance loop runs over candidates, with the error
/// bound of a distance summed over coordinates.
struct Screen<'a> {
    scaled: &'a Scaled,
    columns: Vec<f32>,
    /// Error bound of a screened distance: NORM_TERM * (|a|² + |b|²) + DISTANCE_TERM * d.
    norm_term: f32,
    distance_term: f32,
}

impl Screen<'_> {
    fn new(scaled: &Scaled) -> Screen<'_> {
        let (n, dim) = (scaled.n, scaled.dim);
        let mut columns = vec![0f32; n * dim];
        for (i, row) in scaled.rows.chunks_exact(dim).enumerate() {
            for (d, v) in row.iter().enumerate() {
                columns[d * n + i] = *v;
            }
        }
        // Rounding to f32 errs by ROUNDING_TERM (see `Scaled`); the f32 sum of `dim` squares
        // adds (dim + 1)u of the distance, and forming the screened value one more u; 4x safety.
        let u = 2f32.powi(-24);
        Screen {
            scaled,
            columns,
            norm_term: super::ROUNDING_TERM,
            distance_term: 4.0 * (dim as f32 + 3.0) * u,
        }
    }

    /// Screened squared distances from point i to points `from..from + out.len()`.
    fn distances(&self, i: usize, from: usize, out: &mut [f32]) {
        let dim = self.scaled.dim;
        let query = &self.scaled.rows[i * dim..(i + 1) * dim];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { squared_distances_avx2(&self.columns, self.scaled.n, from, query, out) };
            return;
        }
        squared_distances_portable(&self.columns, self.scaled.n, from, query, out);
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

/// Screens `screened` (to points `from`, `from`+1, ...; all after i) against i's list and
/// theirs; pairs that might belong get their exact distance and are offered to both. Once
/// lists fill up almost nothing passes, so fixed chunks are tested branch-free first (the
/// compiler turns the chunk test into a few SIMD instructions).
fn offer_row(lists: &mut Lists, i: usize, from: usize, screened: &[f32], screen: &Screen, points: &[f64], dim: usize) {
    const CHUNK: usize = 8;
    let norms = &screen.scaled.norms;
    let norm_i = norms[i];
    let full = screened.len() / CHUNK * CHUNK;
    for start in (0..full).step_by(CHUNK) {
        let first = from + start;
        let d: &[f32; CHUNK] = screened[start..start + CHUNK].try_into().unwrap_or(&[0.0; CHUNK]);
        let w: &[f32; CHUNK] = lists.worst_screened[first..first + CHUNK]
            .try_into()
            .unwrap_or(&[f32::INFINITY; CHUNK]);
        let nj: &[f32; CHUNK] = norms[first..first + CHUNK].try_into().unwrap_or(&[0.0; CHUNK]);
        let mine = lists.worst_screened[i];
        let mut hit = false;
        for m in 0..CHUNK {
            hit |= screen.lower_bound(d[m], norm_i, nj[m]) <= w[m].max(mine);
        }
        if hit {
            check(lists, i, first, &screened[start..start + CHUNK], screen, points, dim);
        }
    }
    check(lists, i, from + full, &screened[full..], screen, points, dim);
}

/// The one-by-one test behind `offer_row`.
fn check(lists: &mut Lists, i: usize, first: usize, screened: &[f32], screen: &Screen, points: &[f64], dim: usize) {
    let norms = &screen.scaled.norms;
    for (m, &d) in screened.iter().enumerate() {
        let j = first + m;
        let low = screen.lower_bound(d, norms[i], norms[j]);
        if low <= lists.worst_screened[i] || low <= lists.worst_screened[j] {
            let exact = super::exact_distance(points, dim, i, j);
            lists.offer(i, exact, j);
            lists.offer(j, exact, i);
        }
    }
}
