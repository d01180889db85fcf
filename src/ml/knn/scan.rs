//! The direct scan for few dimensions: every pair's single-precision distance summed over
//! coordinates, each pair looked at once and offered to both points' lists, candidates in
//! tiles that stay in cache while a block of queries scans them.

use std::ops::Range;

use super::{Lists, Scaled};

/// Queries per block; blocks are dealt out round-robin, since query i scans only i+1.. .
const BLOCK: usize = 64;
/// Bytes of candidate values per tile: half of a core's 48 KB L1 data cache, so a tile stays
/// there while a block of queries scans it (a tile in L2 halved the speed at 18 dimensions).
const TILE_BYTES: usize = 24 * 1024;

/// Candidates per tile for `dim` dimensions: a multiple of the 64-candidate chunks, 64 to 1024.
fn tile_len(dim: usize) -> usize {
    (TILE_BYTES / (4 * dim.max(1)) / 64 * 64).clamp(64, 1024)
}

/// The lists of every point, from a scan of all pairs on every core.
pub(super) fn search(points: &[f64], dim: usize, k: usize, scaled: &Scaled) -> Lists {
    let n = scaled.n;
    let screen = Screen::new(scaled);
    let blocks: Vec<Range<usize>> = (0..n).step_by(BLOCK).map(|s| s..(s + BLOCK).min(n)).collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(blocks.len());
    let screen = &screen;
    let tile_len = tile_len(dim);
    let partial: Vec<Lists> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let mine: Vec<Range<usize>> = blocks.iter().skip(t).step_by(threads).cloned().collect();
                scope.spawn(move || {
                    let mut lists = Lists::new(n, k, scaled.scale);
                    let mut approximate = vec![0f32; tile_len];
                    for block in mine {
                        for tile in (block.start + 1..n).step_by(tile_len) {
                            let tile = Tile {
                                queries: block.clone(),
                                candidates: tile..(tile + tile_len).min(n),
                            };
                            screen.scan(&tile, &mut lists, &mut approximate, points);
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

    /// Offers every pair of `tile` (query i, candidate j > i) that might belong to i's or j's
    /// list, on the widest instruction set the CPU has.
    fn scan(&self, tile: &Tile, lists: &mut Lists, scratch: &mut [f32], points: &[f64]) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("fma") {
                // SAFETY: the CPU supports AVX-512F and FMA, checked just above.
                unsafe { scan_avx512(self, tile, lists, scratch, points) };
                return;
            }
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                // SAFETY: the CPU supports AVX2 and FMA, checked just above.
                unsafe { scan_avx2(self, tile, lists, scratch, points) };
                return;
            }
        }
        scan_tile::<false>(self, tile, lists, scratch, points);
    }

    /// The smallest exact (scaled) distance the screened value `d32` of (i, j) allows.
    #[inline(always)]
    fn lower_bound(&self, d32: f32, norm_i: f32, norm_j: f32) -> f32 {
        d32 - self.norm_term * (norm_i + norm_j) - self.distance_term * d32
    }
}

/// A block of queries against a run of candidates that stays in cache.
struct Tile {
    queries: Range<usize>,
    candidates: Range<usize>,
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn scan_avx512(screen: &Screen, tile: &Tile, lists: &mut Lists, scratch: &mut [f32], points: &[f64]) {
    scan_tile::<true>(screen, tile, lists, scratch, points);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn scan_avx2(screen: &Screen, tile: &Tile, lists: &mut Lists, scratch: &mut [f32], points: &[f64]) {
    scan_tile::<true>(screen, tile, lists, scratch, points);
}

/// The scan itself, compiled once per instruction set (`FUSED`: the CPU has fused multiply-add;
/// without it `mul_add` would be a slow library call).
#[inline(always)]
fn scan_tile<const FUSED: bool>(screen: &Screen, tile: &Tile, lists: &mut Lists, scratch: &mut [f32], points: &[f64]) {
    let (n, dim) = (screen.scaled.n, screen.scaled.dim);
    let end = tile.candidates.end;
    for i in tile.queries.clone() {
        let from = tile.candidates.start.max(i + 1);
        if from >= end {
            continue;
        }
        let query = &screen.scaled.rows[i * dim..(i + 1) * dim];
        let row = &mut scratch[..end - from];
        squared_distances::<FUSED>(&screen.columns, n, from, query, row);
        offer_row(lists, i, from, row, screen, points, dim);
    }
}

#[inline(always)]
fn squared_distances<const FUSED: bool>(columns: &[f32], n: usize, from: usize, query: &[f32], out: &mut [f32]) {
    // Wide chunks of candidates first: their sums are independent chains of additions, enough
    // of them to keep the FMA units busy (an addition waits ~4 cycles for the one before).
    let wide = out.len() / 64 * 64;
    squared_distances_chunked::<64, FUSED>(columns, n, from, query, &mut out[..wide]);
    let narrow = wide + (out.len() - wide) / 16 * 16;
    squared_distances_chunked::<16, FUSED>(columns, n, from + wide, query, &mut out[wide..narrow]);
    for (m, o) in out.iter_mut().enumerate().skip(narrow) {
        let mut sum = 0f32;
        for (d, q) in query.iter().enumerate() {
            sum = add_square::<FUSED>(columns[d * n + from + m] - q, sum);
        }
        *o = sum;
    }
}

/// Distances to `LANES` candidates at a time (`out.len()` a multiple of it), their sums held in
/// registers across all dimensions.
#[inline(always)]
fn squared_distances_chunked<const LANES: usize, const FUSED: bool>(
    columns: &[f32],
    n: usize,
    from: usize,
    query: &[f32],
    out: &mut [f32],
) {
    for (chunk, start) in out.chunks_exact_mut(LANES).zip((from..).step_by(LANES)) {
        let mut sums = [0f32; LANES];
        for (d, q) in query.iter().enumerate() {
            let values: &[f32; LANES] = columns[d * n + start..d * n + start + LANES]
                .try_into()
                .unwrap_or(&[0.0; LANES]);
            for (sum, x) in sums.iter_mut().zip(values) {
                *sum = add_square::<FUSED>(x - q, *sum);
            }
        }
        chunk.copy_from_slice(&sums);
    }
}

/// sum + diff²; fused, its one rounding stays within the screen's error bound.
#[inline(always)]
fn add_square<const FUSED: bool>(diff: f32, sum: f32) -> f32 {
    if FUSED {
        diff.mul_add(diff, sum)
    } else {
        diff * diff + sum
    }
}

/// Screens `screened` (to points `from`, `from`+1, ...; all after i) against i's list and
/// theirs; pairs that might belong get their exact distance and are offered to both. Once
/// lists fill up almost nothing passes, so fixed chunks are tested branch-free first (the
/// compiler turns the chunk test into a few SIMD instructions).
#[inline(always)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::rng::Rng;

    #[test]
    fn both_kernels_stay_within_the_screens_bound() {
        // The fused kernel (what AVX2/AVX-512 CPUs run) and the plain one (the others): every
        // screened distance's lower bound is at most the exact one, over all chunk widths
        // (64, 16 and the scalar tail: 150 candidates), on values f32 rounds.
        let mut rng = Rng::new(23);
        for dim in [1, 7, 18, 47] {
            let n = 151;
            let points: Vec<f64> = (0..n * dim).map(|_| 1e3 + rng.next_f64() * 1e-2).collect();
            let scaled = Scaled::new(&points, dim, n);
            let screen = Screen::new(&scaled);
            let query = &scaled.rows[..dim];
            let (mut fused, mut plain) = (vec![0f32; n - 1], vec![0f32; n - 1]);
            squared_distances::<true>(&screen.columns, n, 1, query, &mut fused);
            squared_distances::<false>(&screen.columns, n, 1, query, &mut plain);
            for j in 1..n {
                let exact = (super::super::exact_distance(&points, dim, 0, j) * scaled.scale) as f32;
                for (name, d) in [("fused", fused[j - 1]), ("plain", plain[j - 1])] {
                    let low = screen.lower_bound(d, scaled.norms[0], scaled.norms[j]);
                    assert!(
                        low <= exact,
                        "{name}, dim {dim}, pair (0, {j}): bound {low} above {exact}"
                    );
                    assert!(
                        (d - exact).abs() <= 1e-4 * exact.max(1e-3),
                        "{name}, dim {dim}: {d} vs {exact}"
                    );
                }
            }
        }
    }
}
