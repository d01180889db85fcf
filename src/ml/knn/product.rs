//! The matrix-product screen for many dimensions: squared distances as |a|² + |b|² - 2ab, the
//! products from libtorch's single-precision GEMM (its BLAS is optimised whatever pmflow's
//! build profile), block by block so memory stays at one BLOCK x BLOCK product however many
//! samples there are. Each pair of blocks is multiplied once and its pairs offered to both
//! points' lists.

use std::ops::Range;

use tch::Tensor;

use super::{exact_distance, Lists, Scaled, ROUNDING_TERM};
use crate::ml::parallel;

/// Samples per block: a 2,048 x 2,048 product (16 MB) keeps BLAS at full speed.
const BLOCK: usize = 2048;
/// Below this many pairs to resolve, threads cost more than they save.
const PARALLEL_FROM: usize = 256;

/// The lists of every point: first each block against itself, so that every list holds its
/// block's nearest and screens tightly, then every pair of different blocks.
pub(super) fn search(points: &[f64], dim: usize, k: usize, scaled: &Scaled) -> Lists {
    blocked(points, dim, k, scaled, BLOCK)
}

/// [`search`] with blocks of at most `block` samples.
pub(super) fn blocked(points: &[f64], dim: usize, k: usize, scaled: &Scaled, block: usize) -> Lists {
    let n = scaled.n;
    let count = n.div_ceil(block);
    let size = n.div_ceil(count);
    let blocks: Vec<Range<usize>> = (0..n).step_by(size).map(|s| s..(s + size).min(n)).collect();
    let x = Tensor::from_slice(&scaled.rows).view([n as i64, dim as i64]);
    let screen = Screen::new(scaled);
    let mut lists = Lists::new(n, k, scaled.scale);
    let mut product = vec![0f32; size * size];
    for block in &blocks {
        multiply(&x, block, block, &mut product);
        let seeds = nearest_in_block(block, &product, &screen, k);
        resolve(&mut lists, &seeds, points, dim);
        let pairs = screen.pass(&lists, block, block, &product);
        resolve(&mut lists, &pairs, points, dim);
    }
    for (b, rows) in blocks.iter().enumerate() {
        for cols in &blocks[b + 1..] {
            multiply(&x, rows, cols, &mut product);
            let pairs = screen.pass(&lists, rows, cols, &product);
            resolve(&mut lists, &pairs, points, dim);
        }
    }
    lists
}

/// The products of rows `rows` with rows `cols`, row-major, into the front of `out`.
fn multiply(x: &Tensor, rows: &Range<usize>, cols: &Range<usize>, out: &mut [f32]) {
    let a = x.narrow(0, rows.start as i64, rows.len() as i64);
    let b = x.narrow(0, cols.start as i64, cols.len() as i64);
    let numel = rows.len() * cols.len();
    a.mm(&b.tr()).copy_data(&mut out[..numel], numel);
}

/// Screened distances from block products, with their error bound.
struct Screen<'a> {
    norms: &'a [f32],
    /// A screened distance errs by at most `bound` * (|a|² + |b|²).
    bound: f32,
}

impl Screen<'_> {
    fn new(scaled: &Scaled) -> Screen<'_> {
        // The f32 product of `dim` terms errs by at most γ_dim |a||b| <= γ_dim (|a|² + |b|²) / 2
        // (Cauchy-Schwarz; any order of summation, so any BLAS), twice that for 2ab; forming
        // |a|² + |b|² - 2ab adds at most 4u (|a|² + |b|²), the rounded-up norms u each. With
        // the rounding to f32 (`ROUNDING_TERM`) and 2x safety.
        let u = f32::EPSILON / 2.0;
        let dim = scaled.dim as f32;
        let gamma = dim * u / (1.0 - dim * u);
        Screen {
            norms: &scaled.norms,
            bound: ROUNDING_TERM + 2.0 * (gamma + 6.0 * u),
        }
    }

    /// The screened squared distance of (i, j) from their product `g`.
    #[inline(always)]
    fn distance(&self, g: f32, i: usize, j: usize) -> f32 {
        self.norms[i] + self.norms[j] - 2.0 * g
    }

    /// The pairs of `rows` x `cols` (only j > i when they are the same block) whose screened
    /// distance allows a place in either list. Most are dropped, so chunks of candidates are
    /// tested branch-free first (SIMD), and only hits one by one.
    fn pass(&self, lists: &Lists, rows: &Range<usize>, cols: &Range<usize>, product: &[f32]) -> Vec<(usize, usize)> {
        const CHUNK: usize = 16;
        let mut pairs = Vec::new();
        let width = cols.len();
        let worst = &lists.worst_screened;
        for (r, i) in rows.clone().enumerate() {
            let first = if rows == cols { i + 1 } else { cols.start };
            let row = &product[r * width + (first - cols.start)..(r + 1) * width];
            let mine = worst[i];
            let low = |g: f32, j: usize| self.distance(g, i, j) - self.bound * (self.norms[i] + self.norms[j]);
            let chunks = row.chunks_exact(CHUNK);
            let tail = chunks.remainder().len();
            for (c, chunk) in chunks.enumerate() {
                let start = first + c * CHUNK;
                let mut hit = false;
                for (m, &g) in chunk.iter().enumerate() {
                    hit |= low(g, start + m) <= worst[start + m].max(mine);
                }
                if hit {
                    for (m, &g) in chunk.iter().enumerate() {
                        if low(g, start + m) <= worst[start + m].max(mine) {
                            pairs.push((i, start + m));
                        }
                    }
                }
            }
            let start = cols.end - tail;
            for (m, &g) in row[row.len() - tail..].iter().enumerate() {
                if low(g, start + m) <= worst[start + m].max(mine) {
                    pairs.push((i, start + m));
                }
            }
        }
        pairs
    }
}

/// For each point of `block`, the `k` others of the block with the smallest screened
/// distances: candidates close enough that, once exact, they make every list full and tight.
fn nearest_in_block(block: &Range<usize>, product: &[f32], screen: &Screen, k: usize) -> Vec<(usize, usize)> {
    let width = block.len();
    let mut seeds = Vec::with_capacity(width * k);
    let mut best: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
    for (r, i) in block.clone().enumerate() {
        best.clear();
        for (c, &g) in product[r * width..(r + 1) * width].iter().enumerate() {
            let j = block.start + c;
            if j == i {
                continue;
            }
            let d = screen.distance(g, i, j);
            if best.len() == k && d >= best[k - 1].0 {
                continue;
            }
            let at = best.partition_point(|&(e, _)| e <= d);
            best.insert(at, (d, j));
            best.truncate(k);
        }
        seeds.extend(best.iter().map(|&(_, j)| (i.min(j), i.max(j))));
    }
    seeds
}

/// Exact distances of `pairs` (on every core when there are many), each offered to both lists.
fn resolve(lists: &mut Lists, pairs: &[(usize, usize)], points: &[f64], dim: usize) {
    let exact = |&(i, j): &(usize, usize)| exact_distance(points, dim, i, j);
    let distances: Vec<f64> = if pairs.len() >= PARALLEL_FROM {
        parallel::map(pairs, exact)
    } else {
        pairs.iter().map(exact).collect()
    };
    for (&(i, j), d) in pairs.iter().zip(distances) {
        lists.offer(i, d, j);
        lists.offer(j, d, i);
    }
}
