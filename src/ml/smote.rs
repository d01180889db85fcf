//! SMOTE (Chawla et al. 2002) with imbalanced-learn's semantics: neighbours are searched among
//! minority samples only (excluding the sample itself), a float ratio means
//! minority / majority *after* resampling (`int(ratio * n_majority - n_minority)` new samples,
//! as `imblearn.utils.check_sampling_strategy`), and each new sample is
//! `s + u * (neighbour - s)` with `s` a random minority sample, `neighbour` one of its k nearest
//! minority neighbours chosen at random and `u ~ U(0, 1)`.

use super::rng::Rng;

/// How many synthetic samples reach `ratio`, or why the request makes no sense.
pub fn synthetic_count(n_minority: usize, n_majority: usize, ratio: f64) -> Result<usize, String> {
    if !(ratio > 0.0 && ratio.is_finite()) {
        return Err(format!("`ratio` must be a positive number, found {ratio}"));
    }
    let wanted = ratio * n_majority as f64 - n_minority as f64;
    if wanted < 0.0 {
        return Err(format!(
            "`ratio` {ratio} asks for fewer minority samples ({:.0}) than there are ({n_minority}); SMOTE only adds samples: use a ratio of at least {:.4}",
            ratio * n_majority as f64,
            n_minority as f64 / n_majority.max(1) as f64
        ));
    }
    Ok(wanted as usize)
}

/// The `k` nearest neighbours (Euclidean) of every row of `points` (row-major, `dim` columns)
/// among the other rows, nearest first; ties go to the lower index. Exact: a brute-force scan,
/// laid out for SIMD (see `squared_distances`). Each distance is computed once and offered to
/// both points' lists (d(i, j) and d(j, i) are the same bits), which halves the work; threads
/// keep their own lists and merge them at the end. For the 10-1000 dimensional samples of sensor
/// data a KD-tree would not prune.
pub fn nearest_neighbours(points: &[f64], dim: usize, k: usize) -> Vec<Vec<usize>> {
    let n = points.len().checked_div(dim).unwrap_or(0);
    if n == 0 || k == 0 {
        return vec![Vec::new(); n];
    }
    // Column-major copy: each dimension's values are contiguous, so the distance loop runs over
    // candidates, several per instruction.
    let mut columns = vec![0.0; n * dim];
    for (i, row) in points.chunks_exact(dim).enumerate() {
        for (d, v) in row.iter().enumerate() {
            columns[d * n + i] = *v;
        }
    }
    // Query i scans candidates i+1.., so early blocks cost more: deal blocks out round-robin.
    const BLOCK: usize = 64;
    // Candidates per tile: TILE x dim values (18 dimensions: 147 KB) fit in a core's L2 cache.
    const TILE: usize = 1024;
    let blocks: Vec<std::ops::Range<usize>> = (0..n).step_by(BLOCK).map(|s| s..(s + BLOCK).min(n)).collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(blocks.len());
    let columns = &columns;
    let partial: Vec<Lists> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let mine: Vec<std::ops::Range<usize>> = blocks.iter().skip(t).step_by(threads).cloned().collect();
                scope.spawn(move || {
                    let mut lists = Lists::new(n, k);
                    let mut distances = vec![0.0; TILE];
                    for block in mine {
                        // A tile of candidates stays in cache while every query of the block
                        // scans it: reading the columns from memory once per query made the
                        // scan memory-bound.
                        for tile in (block.start + 1..n).step_by(TILE) {
                            let end = (tile + TILE).min(n);
                            for i in block.clone() {
                                let from = tile.max(i + 1);
                                if from >= end {
                                    continue;
                                }
                                let query = &points[i * dim..(i + 1) * dim];
                                let row = &mut distances[..end - from];
                                squared_distances(columns, n, from, query, row);
                                lists.offer_row(i, from, row);
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
    let mut merged = Lists::new(n, k);
    for lists in &partial {
        for p in 0..n {
            for (d, j) in lists.of(p) {
                merged.offer(p, d, j);
            }
        }
    }
    (0..n).map(|p| merged.of(p).map(|(_, j)| j).collect()).collect()
}

/// The best `k` (distance, index) pairs of every point, sorted, in flat arrays.
struct Lists {
    k: usize,
    distance: Vec<f64>,
    index: Vec<usize>,
    len: Vec<usize>,
    /// The k-th distance of each full list (infinity until full): a quick first test.
    worst: Vec<f64>,
}

impl Lists {
    fn new(n: usize, k: usize) -> Lists {
        Lists {
            k,
            distance: vec![0.0; n * k],
            index: vec![0; n * k],
            len: vec![0; n],
            worst: vec![f64::INFINITY; n],
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
        }
    }

    /// Offers `distances` (to points `from`, `from`+1, ...; all after i) to i's list and i to
    /// each of theirs. Once
    /// lists fill up almost nothing qualifies, so chunks are screened first with a
    /// branch-free comparison (vectorised) and only chunks with a hit are looked at one by one.
    fn offer_row(&mut self, i: usize, from: usize, distances: &[f64]) {
        const CHUNK: usize = 8;
        for (c, chunk) in distances.chunks(CHUNK).enumerate() {
            let first = from + c * CHUNK;
            let mine = self.worst[i];
            let theirs = &self.worst[first..first + chunk.len()];
            let hit = chunk
                .iter()
                .zip(theirs)
                .fold(false, |hit, (&d, &w)| hit | (d <= w) | (d <= mine));
            if hit {
                for (m, &d) in chunk.iter().enumerate() {
                    self.offer(i, d, first + m);
                    self.offer(first + m, d, i);
                }
            }
        }
    }

    fn of(&self, p: usize) -> impl Iterator<Item = (f64, usize)> + '_ {
        let base = p * self.k;
        (base..base + self.len[p]).map(|m| (self.distance[m], self.index[m]))
    }
}

/// Squared distances from `query` to points `from..from + out.len()` of a column-major matrix of
/// `n` points,
/// summed over dimensions in order (so exactly the same values as a row-by-row loop). Uses AVX2
/// when the CPU has it: the default x86-64 target only assumes SSE2.
fn squared_distances(columns: &[f64], n: usize, from: usize, query: &[f64], out: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { squared_distances_avx2(columns, n, from, query, out) };
        return;
    }
    squared_distances_portable(columns, n, from, query, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn squared_distances_avx2(columns: &[f64], n: usize, from: usize, query: &[f64], out: &mut [f64]) {
    squared_distances_portable(columns, n, from, query, out);
}

#[inline(always)]
fn squared_distances_portable(columns: &[f64], n: usize, from: usize, query: &[f64], out: &mut [f64]) {
    // Eight candidates at a time, their sums held in registers across all dimensions (instead
    // of reading and writing `out` once per dimension); each sum still adds the dimensions in
    // order.
    const LANES: usize = 8;
    let full = out.len() / LANES * LANES;
    for (chunk, start) in out[..full].chunks_exact_mut(LANES).zip((from..).step_by(LANES)) {
        let mut sums = [0.0f64; LANES];
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
        let mut sum = 0.0;
        for (d, q) in query.iter().enumerate() {
            let diff = columns[d * n + from + m] - q;
            sum += diff * diff;
        }
        *o = sum;
    }
}

/// One synthetic sample: where it came from, for checks and reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    pub sample: usize,
    pub neighbour: usize,
    pub step: f64,
}

/// `count` new samples (row-major, `dim` columns) interpolated between minority samples and
/// their neighbours.
pub fn synthesize(
    minority: &[f64],
    dim: usize,
    neighbours: &[Vec<usize>],
    count: usize,
    rng: &mut Rng,
) -> (Vec<f64>, Vec<Origin>) {
    let mut out = Vec::with_capacity(count * dim);
    let mut origins = Vec::with_capacity(count);
    let n = neighbours.len();
    if n == 0 {
        return (out, origins);
    }
    for _ in 0..count {
        let sample = rng.below(n as u64) as usize;
        let candidates = &neighbours[sample];
        if candidates.is_empty() {
            continue;
        }
        let neighbour = candidates[rng.below(candidates.len() as u64) as usize];
        let step = rng.next_f64();
        let (s, nb) = (
            &minority[sample * dim..(sample + 1) * dim],
            &minority[neighbour * dim..(neighbour + 1) * dim],
        );
        out.extend(s.iter().zip(nb).map(|(a, b)| a + step * (b - a)));
        origins.push(Origin {
            sample,
            neighbour,
            step,
        });
    }
    (out, origins)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 12 minority points in 3-D, from numpy: rng = np.random.default_rng(3);
    /// np.round(rng.normal(size=(12, 3)) * 10, 3).
    const MINORITY: [[f64; 3]; 12] = [
        [20.409, -25.557, 4.181],
        [-5.678, -4.526, -2.156],
        [-20.2, -2.319, -8.652],
        [33.23, 2.258, -3.526],
        [-2.813, -6.68, -10.552],
        [-3.908, 4.819, -2.386],
        [9.578, -1.998, 0.243],
        [15.458, 5.451, -5.052],
        [-1.828, 5.405, 19.351],
        [-2.696, -2.436, 10.023],
        [-8.865, -2.917, 8.825],
        [5.804, 0.915, 6.701],
    ];

    fn flat() -> Vec<f64> {
        MINORITY.iter().flatten().copied().collect()
    }

    #[test]
    fn neighbour_sets_match_scikit_learn() {
        // scikit-learn 1.9.1: NearestNeighbors(n_neighbors=6).fit(X).kneighbors(X,
        // return_distance=False)[:, 1:] (what imbalanced-learn 0.14.2's SMOTE uses).
        let want: [[usize; 5]; 12] = [
            [6, 11, 3, 7, 9],
            [4, 5, 10, 9, 11],
            [1, 4, 5, 10, 9],
            [7, 6, 11, 0, 5],
            [1, 5, 6, 2, 10],
            [1, 11, 4, 9, 10],
            [11, 7, 5, 1, 9],
            [6, 11, 3, 5, 4],
            [9, 10, 11, 5, 6],
            [10, 11, 8, 1, 5],
            [9, 1, 5, 8, 11],
            [6, 9, 5, 10, 8],
        ];
        let got = nearest_neighbours(&flat(), 3, 5);
        for (i, w) in want.iter().enumerate() {
            assert_eq!(got[i], w.to_vec(), "row {i}");
        }
    }

    /// The plain definition: every pair, sorted by (distance, index).
    fn reference(points: &[f64], dim: usize, k: usize) -> Vec<Vec<usize>> {
        let n = points.len() / dim;
        (0..n)
            .map(|i| {
                let mut all: Vec<(f64, usize)> = (0..n)
                    .filter(|&j| j != i)
                    .map(|j| {
                        let d = (0..dim)
                            .map(|c| (points[j * dim + c] - points[i * dim + c]).powi(2))
                            .sum::<f64>();
                        (d, j)
                    })
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
    fn counts_match_imbalanced_learn() {
        // imbalanced-learn 0.14.2: SMOTE(sampling_strategy=r).fit_resample on 40 majority and
        // 12 minority rows gives 40 / 40 (r=1.0), 20 (0.5), 13 (0.33), 31 (0.7777) minority rows.
        for (ratio, minority_after) in [(1.0, 40), (0.5, 20), (0.33, 13), (0.7777, 31)] {
            assert_eq!(
                synthetic_count(12, 40, ratio).unwrap() + 12,
                minority_after,
                "ratio {ratio}"
            );
        }
        // imbalanced-learn refuses a ratio below the current one; so do we, saying what works.
        let err = synthetic_count(12, 40, 0.2).unwrap_err();
        assert!(err.contains("at least 0.3000"), "{err}");
    }

    #[test]
    fn every_synthetic_point_lies_on_a_segment_to_a_neighbour() {
        let points = flat();
        let neighbours = nearest_neighbours(&points, 3, 5);
        let (synthetic, origins) = synthesize(&points, 3, &neighbours, 500, &mut Rng::new(9));
        assert_eq!(origins.len(), 500);
        for (row, o) in origins.iter().enumerate() {
            assert!(neighbours[o.sample].contains(&o.neighbour));
            assert!((0.0..1.0).contains(&o.step));
            let (s, nb) = (MINORITY[o.sample], MINORITY[o.neighbour]);
            for d in 0..3 {
                let expected = s[d] + o.step * (nb[d] - s[d]);
                assert!((synthetic[row * 3 + d] - expected).abs() < 1e-12);
                let (lo, hi) = (s[d].min(nb[d]), s[d].max(nb[d]));
                assert!(synthetic[row * 3 + d] >= lo - 1e-12 && synthetic[row * 3 + d] <= hi + 1e-12);
            }
        }
        // Seeded: the same seed gives the same samples.
        assert_eq!(
            synthesize(&points, 3, &neighbours, 50, &mut Rng::new(9)).0,
            synthetic[..150].to_vec()
        );
    }
}
