//! The direct scan for few dimensions: every pair's single-precision distance summed over
//! coordinates, each pair looked at once and offered to both points' lists, candidates in
//! tiles that stay in the L1 cache while a block of queries scans them, with explicit AVX-512 or
//! AVX2 kernels where the CPU has them.

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
    search_on(Isa::detect(), points, dim, k, scaled)
}

/// [`search`] with the kernels of `isa`, which the CPU must have.
pub(super) fn search_on(isa: Isa, points: &[f64], dim: usize, k: usize, scaled: &Scaled) -> Lists {
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
                            screen.scan(isa, &tile, &mut lists, &mut approximate, points);
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
    /// list, with the kernels of `isa`.
    fn scan(&self, isa: Isa, tile: &Tile, lists: &mut Lists, scratch: &mut [f32], points: &[f64]) {
        match isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the CPU has the instruction set, as detected.
            Isa::Avx512 => unsafe { scan_avx512(self, tile, lists, scratch, points) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            Isa::Avx2 => unsafe { scan_avx2(self, tile, lists, scratch, points) },
            Isa::Plain => scan_tile(Isa::Plain, self, tile, lists, scratch, points),
        }
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

/// The instruction set a copy of the scan runs on. The SIMD kernels are written with explicit
/// intrinsics rather than left to the auto-vectoriser, which debug builds (opt-level 1, what
/// `just train` runs) do not run: a plain loop there was 4.5x slower than in release.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Isa {
    Plain,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Isa {
    fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("fma") {
                if std::arch::is_x86_feature_detected!("avx512f") {
                    return Isa::Avx512;
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    return Isa::Avx2;
                }
            }
        }
        Isa::Plain
    }

    /// Whether sums use fused multiply-add (without the instruction, `mul_add` would be a slow
    /// library call). Its one rounding stays within the screen's error bound.
    fn fused(self) -> bool {
        self != Isa::Plain
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn scan_avx512(screen: &Screen, tile: &Tile, lists: &mut Lists, scratch: &mut [f32], points: &[f64]) {
    scan_tile(Isa::Avx512, screen, tile, lists, scratch, points);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn scan_avx2(screen: &Screen, tile: &Tile, lists: &mut Lists, scratch: &mut [f32], points: &[f64]) {
    scan_tile(Isa::Avx2, screen, tile, lists, scratch, points);
}

/// The scan itself, inlined into each instruction set's copy.
#[inline(always)]
fn scan_tile(isa: Isa, screen: &Screen, tile: &Tile, lists: &mut Lists, scratch: &mut [f32], points: &[f64]) {
    let (n, dim) = (screen.scaled.n, screen.scaled.dim);
    let end = tile.candidates.end;
    for i in tile.queries.clone() {
        let from = tile.candidates.start.max(i + 1);
        if from >= end {
            continue;
        }
        let query = &screen.scaled.rows[i * dim..(i + 1) * dim];
        let row = &mut scratch[..end - from];
        squared_distances(isa, &screen.columns, n, from, query, row);
        offer_row(isa, lists, i, from, row, screen, points, dim);
    }
}

/// Candidates per SIMD chunk: their sums are independent chains of additions, enough of them
/// to keep the FMA units busy (an addition waits ~4 cycles for the one before).
const WIDE: usize = 64;

/// Screened squared distances from `query` to points `from..from + out.len()`.
#[inline(always)]
fn squared_distances(isa: Isa, columns: &[f32], n: usize, from: usize, query: &[f32], out: &mut [f32]) {
    let wide = out.len() / WIDE * WIDE;
    let (chunks, tail) = out.split_at_mut(wide);
    assert!(query.len() * n <= columns.len() && from + wide <= n);
    match isa {
        // SAFETY: the instruction set was detected (`Isa::detect`), and every column has the
        // chunks' candidates (asserted just above).
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { wide_avx512(columns, n, from, query, chunks) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { wide_avx2(columns, n, from, query, chunks) },
        Isa::Plain => wide_plain(columns, n, from, query, chunks),
    }
    for (m, o) in tail.iter_mut().enumerate() {
        let mut sum = 0f32;
        for (d, q) in query.iter().enumerate() {
            sum = add_square(isa.fused(), columns[d * n + from + wide + m] - q, sum);
        }
        *o = sum;
    }
}

/// `WIDE` candidates at a time in plain Rust, their sums held across all dimensions.
fn wide_plain(columns: &[f32], n: usize, from: usize, query: &[f32], out: &mut [f32]) {
    for (chunk, start) in out.chunks_exact_mut(WIDE).zip((from..).step_by(WIDE)) {
        let mut sums = [0f32; WIDE];
        for (d, q) in query.iter().enumerate() {
            for (sum, x) in sums.iter_mut().zip(&columns[d * n + start..d * n + start + WIDE]) {
                *sum = add_square(false, x - q, *sum);
            }
        }
        chunk.copy_from_slice(&sums);
    }
}

/// `WIDE` candidates at a time in four 16-lane registers.
///
/// # Safety
/// The CPU has AVX-512F and FMA; column d holds `from..from + out.len()` at `d * n`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn wide_avx512(columns: &[f32], n: usize, from: usize, query: &[f32], out: &mut [f32]) {
    use std::arch::x86_64::*;
    for (chunk, start) in out.chunks_exact_mut(WIDE).zip((from..).step_by(WIDE)) {
        let (mut s0, mut s1, mut s2, mut s3) = (
            _mm512_setzero_ps(),
            _mm512_setzero_ps(),
            _mm512_setzero_ps(),
            _mm512_setzero_ps(),
        );
        for (d, &q) in query.iter().enumerate() {
            let q = _mm512_set1_ps(q);
            let p = columns.as_ptr().add(d * n + start);
            let x0 = _mm512_sub_ps(_mm512_loadu_ps(p), q);
            let x1 = _mm512_sub_ps(_mm512_loadu_ps(p.add(16)), q);
            let x2 = _mm512_sub_ps(_mm512_loadu_ps(p.add(32)), q);
            let x3 = _mm512_sub_ps(_mm512_loadu_ps(p.add(48)), q);
            s0 = _mm512_fmadd_ps(x0, x0, s0);
            s1 = _mm512_fmadd_ps(x1, x1, s1);
            s2 = _mm512_fmadd_ps(x2, x2, s2);
            s3 = _mm512_fmadd_ps(x3, x3, s3);
        }
        let o = chunk.as_mut_ptr();
        _mm512_storeu_ps(o, s0);
        _mm512_storeu_ps(o.add(16), s1);
        _mm512_storeu_ps(o.add(32), s2);
        _mm512_storeu_ps(o.add(48), s3);
    }
}

/// `WIDE` candidates at a time in eight 8-lane registers.
///
/// # Safety
/// The CPU has AVX2 and FMA; column d holds `from..from + out.len()` at `d * n`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn wide_avx2(columns: &[f32], n: usize, from: usize, query: &[f32], out: &mut [f32]) {
    use std::arch::x86_64::*;
    for (chunk, start) in out.chunks_exact_mut(WIDE).zip((from..).step_by(WIDE)) {
        let mut s = [_mm256_setzero_ps(); 8];
        for (d, &q) in query.iter().enumerate() {
            let q = _mm256_set1_ps(q);
            let p = columns.as_ptr().add(d * n + start);
            // Written out: debug builds do not unroll a loop over the eight registers.
            let x0 = _mm256_sub_ps(_mm256_loadu_ps(p), q);
            let x1 = _mm256_sub_ps(_mm256_loadu_ps(p.add(8)), q);
            let x2 = _mm256_sub_ps(_mm256_loadu_ps(p.add(16)), q);
            let x3 = _mm256_sub_ps(_mm256_loadu_ps(p.add(24)), q);
            let x4 = _mm256_sub_ps(_mm256_loadu_ps(p.add(32)), q);
            let x5 = _mm256_sub_ps(_mm256_loadu_ps(p.add(40)), q);
            let x6 = _mm256_sub_ps(_mm256_loadu_ps(p.add(48)), q);
            let x7 = _mm256_sub_ps(_mm256_loadu_ps(p.add(56)), q);
            s[0] = _mm256_fmadd_ps(x0, x0, s[0]);
            s[1] = _mm256_fmadd_ps(x1, x1, s[1]);
            s[2] = _mm256_fmadd_ps(x2, x2, s[2]);
            s[3] = _mm256_fmadd_ps(x3, x3, s[3]);
            s[4] = _mm256_fmadd_ps(x4, x4, s[4]);
            s[5] = _mm256_fmadd_ps(x5, x5, s[5]);
            s[6] = _mm256_fmadd_ps(x6, x6, s[6]);
            s[7] = _mm256_fmadd_ps(x7, x7, s[7]);
        }
        let o = chunk.as_mut_ptr();
        for (m, sum) in s.iter().enumerate() {
            _mm256_storeu_ps(o.add(8 * m), *sum);
        }
    }
}

/// sum + diff², fused or not.
#[inline(always)]
fn add_square(fused: bool, diff: f32, sum: f32) -> f32 {
    if fused {
        diff.mul_add(diff, sum)
    } else {
        diff * diff + sum
    }
}

/// Screens `screened` (to points `from`, `from`+1, ...; all after i) against i's list and
/// theirs; pairs that might belong get their exact distance and are offered to both. Once
/// lists fill up almost nothing passes, so chunks of 16 are tested at once first.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn offer_row(
    isa: Isa,
    lists: &mut Lists,
    i: usize,
    from: usize,
    screened: &[f32],
    screen: &Screen,
    points: &[f64],
    dim: usize,
) {
    let norms = &screen.scaled.norms;
    let full = screened.len() / CHUNK * CHUNK;
    let bound = Bound {
        screen,
        norm_i: norms[i],
        worst_i: lists.worst_screened[i],
    };
    for start in (0..full).step_by(CHUNK) {
        let first = from + start;
        let d: &[f32; CHUNK] = screened[start..start + CHUNK].try_into().unwrap_or(&[0.0; CHUNK]);
        let w: &[f32; CHUNK] = lists.worst_screened[first..first + CHUNK]
            .try_into()
            .unwrap_or(&[f32::INFINITY; CHUNK]);
        let nj: &[f32; CHUNK] = norms[first..first + CHUNK].try_into().unwrap_or(&[0.0; CHUNK]);
        let hit = match isa {
            // SAFETY: the instruction set was detected (`Isa::detect`).
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { bound.any_avx512(d, nj, w) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { bound.any_avx2(d, nj, w) },
            Isa::Plain => bound.any(d, nj, w),
        };
        if hit {
            check(lists, i, first, &screened[start..start + CHUNK], screen, points, dim);
        }
    }
    check(lists, i, from + full, &screened[full..], screen, points, dim);
}

/// Candidates whose screen is tested at once.
const CHUNK: usize = 16;

/// Query i's side of [`Screen::lower_bound`], for testing a chunk of candidates j at once.
struct Bound<'s> {
    screen: &'s Screen<'s>,
    norm_i: f32,
    worst_i: f32,
}

impl Bound<'_> {
    /// Whether any pair (i, j) of the chunk might belong to i's list or j's: the screened
    /// distance's lower bound is at most the worse of the two lists' k-th distances.
    #[inline(always)]
    fn any(&self, d: &[f32; CHUNK], norm_j: &[f32; CHUNK], worst_j: &[f32; CHUNK]) -> bool {
        let mut hit = false;
        for m in 0..CHUNK {
            hit |= self.screen.lower_bound(d[m], self.norm_i, norm_j[m]) <= worst_j[m].max(self.worst_i);
        }
        hit
    }

    /// [`Bound::any`] in one 16-lane register, with the same operations in the same order.
    ///
    /// # Safety
    /// The CPU has AVX-512F.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn any_avx512(&self, d: &[f32; CHUNK], norm_j: &[f32; CHUNK], worst_j: &[f32; CHUNK]) -> bool {
        use std::arch::x86_64::*;
        let d = _mm512_loadu_ps(d.as_ptr());
        let norms = _mm512_add_ps(_mm512_set1_ps(self.norm_i), _mm512_loadu_ps(norm_j.as_ptr()));
        let low = _mm512_sub_ps(
            _mm512_sub_ps(d, _mm512_mul_ps(_mm512_set1_ps(self.screen.norm_term), norms)),
            _mm512_mul_ps(_mm512_set1_ps(self.screen.distance_term), d),
        );
        let worst = _mm512_max_ps(_mm512_loadu_ps(worst_j.as_ptr()), _mm512_set1_ps(self.worst_i));
        _mm512_cmp_ps_mask::<_CMP_LE_OQ>(low, worst) != 0
    }

    /// [`Bound::any`] in two 8-lane registers.
    ///
    /// # Safety
    /// The CPU has AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn any_avx2(&self, d: &[f32; CHUNK], norm_j: &[f32; CHUNK], worst_j: &[f32; CHUNK]) -> bool {
        (self.hits_avx2(d, norm_j, worst_j, 0) | self.hits_avx2(d, norm_j, worst_j, 8)) != 0
    }

    /// The hit mask of lanes `at..at + 8`.
    ///
    /// # Safety
    /// The CPU has AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn hits_avx2(&self, d: &[f32; CHUNK], norm_j: &[f32; CHUNK], worst_j: &[f32; CHUNK], at: usize) -> i32 {
        use std::arch::x86_64::*;
        let d = _mm256_loadu_ps(d.as_ptr().add(at));
        let norms = _mm256_add_ps(_mm256_set1_ps(self.norm_i), _mm256_loadu_ps(norm_j.as_ptr().add(at)));
        let low = _mm256_sub_ps(
            _mm256_sub_ps(d, _mm256_mul_ps(_mm256_set1_ps(self.screen.norm_term), norms)),
            _mm256_mul_ps(_mm256_set1_ps(self.screen.distance_term), d),
        );
        let worst = _mm256_max_ps(_mm256_loadu_ps(worst_j.as_ptr().add(at)), _mm256_set1_ps(self.worst_i));
        _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_LE_OQ>(low, worst))
    }
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

/// Every instruction set this CPU can run the scan on (AVX-512 CPUs run the AVX2 one too).
#[cfg(test)]
pub(super) fn runnable() -> Vec<Isa> {
    #[allow(unused_mut)]
    let mut isas = vec![Isa::Plain];
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("fma") {
        if std::arch::is_x86_feature_detected!("avx2") {
            isas.push(Isa::Avx2);
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            isas.push(Isa::Avx512);
        }
    }
    isas
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::rng::Rng;

    #[test]
    fn every_chunk_test_agrees_with_the_plain_one() {
        // Lanes at, just above and just below the bound, infinite lists, one hit in any lane.
        let mut rng = Rng::new(29);
        let scaled = Scaled::new(&[0.0, 1.0, 0.5, 2.0], 2, 2);
        let screen = Screen::new(&scaled);
        for case in 0..2000 {
            let bound = Bound {
                screen: &screen,
                norm_i: rng.next_f64() as f32,
                worst_i: if case % 3 == 0 {
                    f32::INFINITY
                } else {
                    rng.next_f64() as f32 * 0.5
                },
            };
            let d: [f32; CHUNK] = std::array::from_fn(|_| 0.2 + rng.next_f64() as f32);
            let norm_j: [f32; CHUNK] = std::array::from_fn(|_| rng.next_f64() as f32);
            let mut worst_j: [f32; CHUNK] = std::array::from_fn(|_| rng.next_f64() as f32 * 0.3);
            let lane = case % CHUNK;
            let low = screen.lower_bound(d[lane], bound.norm_i, norm_j[lane]);
            worst_j[lane] = match case % 4 {
                0 => low,
                1 => f32::from_bits(low.to_bits() - 1),
                2 => f32::from_bits(low.to_bits() + 1),
                _ => worst_j[lane],
            };
            let want = bound.any(&d, &norm_j, &worst_j);
            for isa in runnable() {
                let got = match isa {
                    // SAFETY: `runnable` lists only what this CPU has.
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx512 => unsafe { bound.any_avx512(&d, &norm_j, &worst_j) },
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx2 => unsafe { bound.any_avx2(&d, &norm_j, &worst_j) },
                    Isa::Plain => want,
                };
                assert_eq!(got, want, "{isa:?}, case {case}");
            }
        }
    }

    #[test]
    fn every_kernel_stays_within_the_screens_bound() {
        // The plain kernel and this CPU's SIMD ones (AVX2, AVX-512; fused multiply-add): every
        // screened distance's lower bound is at most the exact one, in the 64-candidate chunks
        // and the tail (150 candidates), on values f32 rounds.
        let mut rng = Rng::new(23);
        for dim in [1, 7, 18, 47] {
            let n = 151;
            let points: Vec<f64> = (0..n * dim).map(|_| 1e3 + rng.next_f64() * 1e-2).collect();
            let scaled = Scaled::new(&points, dim, n);
            let screen = Screen::new(&scaled);
            let query = &scaled.rows[..dim];
            let isas = runnable();
            let screened: Vec<Vec<f32>> = isas
                .iter()
                .map(|&isa| {
                    let mut out = vec![0f32; n - 1];
                    squared_distances(isa, &screen.columns, n, 1, query, &mut out);
                    out
                })
                .collect();
            for j in 1..n {
                let exact = (super::super::exact_distance(&points, dim, 0, j) * scaled.scale) as f32;
                for (isa, d) in isas.iter().zip(screened.iter().map(|s| s[j - 1])) {
                    let low = screen.lower_bound(d, scaled.norms[0], scaled.norms[j]);
                    assert!(
                        low <= exact,
                        "{isa:?}, dim {dim}, pair (0, {j}): bound {low} above {exact}"
                    );
                    assert!(
                        (d - exact).abs() <= 1e-4 * exact.max(1e-3),
                        "{isa:?}, dim {dim}: {d} vs {exact}"
                    );
                }
            }
        }
    }
}
