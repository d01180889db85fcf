//! SMOTE (Chawla et al. 2002) with imbalanced-learn's semantics: neighbours are searched among
//! minority samples only (excluding the sample itself), a float ratio means
//! minority / majority *after* resampling (`int(ratio * n_majority - n_minority)` new samples,
//! as `imblearn.utils.check_sampling_strategy`), and each new sample is
//! `s + u * (neighbour - s)` with `s` a random minority sample, `neighbour` one of its k nearest
//! minority neighbours chosen at random and `u ~ U(0, 1)`.

pub use super::knn::nearest_neighbours;
use super::rng::Rng;

/// Why a SMOTE request makes no sense.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct SmoteError(pub String);

/// How many synthetic samples reach `ratio`, or why the request makes no sense.
pub fn synthetic_count(n_minority: usize, n_majority: usize, ratio: f64) -> Result<usize, SmoteError> {
    if !(ratio > 0.0 && ratio.is_finite()) {
        return Err(SmoteError(format!("`ratio` must be a positive number, found {ratio}")));
    }
    let wanted = ratio * n_majority as f64 - n_minority as f64;
    if wanted < 0.0 {
        return Err(SmoteError(format!(
            "`ratio` {ratio} asks for fewer minority samples ({:.0}) than there are ({n_minority}); SMOTE only adds samples: use a ratio of at least {:.4}",
            ratio * n_majority as f64,
            n_minority as f64 / n_majority.max(1) as f64
        )));
    }
    Ok(wanted as usize)
}

/// One synthetic sample: where it came from, for checks and reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    pub sample: usize,
    pub neighbour: usize,
    pub step: f64,
}

/// Draws `count` synthetic samples: for each, a random minority sample, one of its neighbours
/// at random and a step u ~ U(0, 1), in imbalanced-learn's order of draws. The values follow
/// from the origins (see [`Origin::value`]), so callers can build them in any layout.
pub fn draw(neighbours: &[Vec<usize>], count: usize, rng: &mut Rng) -> Vec<Origin> {
    let n = neighbours.len();
    let mut origins = Vec::with_capacity(count);
    if n == 0 {
        return origins;
    }
    for _ in 0..count {
        let sample = rng.below(n as u64) as usize;
        let candidates = &neighbours[sample];
        if candidates.is_empty() {
            continue;
        }
        let neighbour = candidates[rng.below(candidates.len() as u64) as usize];
        let step = rng.next_f64();
        origins.push(Origin {
            sample,
            neighbour,
            step,
        });
    }
    origins
}

impl Origin {
    /// Coordinate `c` of the synthetic sample: s + u * (neighbour - s).
    #[inline]
    pub fn value(&self, minority: &[f64], dim: usize, c: usize) -> f64 {
        let (a, b) = (minority[self.sample * dim + c], minority[self.neighbour * dim + c]);
        a + self.step * (b - a)
    }
}

/// The synthetic samples as frame columns. A sample is a window of `window` rows of `dim`
/// values, flattened time-major as in `samples` (row t holds coordinates t*dim..(t+1)*dim);
/// synthetic sample o fills rows o*window.. of each of the `dim` columns. Samples are split
/// among the cores, each reading its samples' two parents once, contiguously, and writing its
/// own rows of every column.
pub fn synthesize_columns(samples: &[f64], dim: usize, window: usize, origins: &[Origin]) -> Vec<Vec<f64>> {
    let sample_dim = dim * window;
    let mut columns: Vec<Vec<f64>> = (0..dim).map(|_| vec![0.0; origins.len() * window]).collect();
    if origins.is_empty() || sample_dim == 0 {
        return columns;
    }
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let per_thread = origins.len().div_ceil(threads);
    let mut parts: Vec<Vec<&mut [f64]>> = Vec::new();
    for column in &mut columns {
        for (t, rows) in column.chunks_mut(per_thread * window).enumerate() {
            if parts.len() == t {
                parts.push(Vec::with_capacity(dim));
            }
            parts[t].push(rows);
        }
    }
    std::thread::scope(|scope| {
        for (part, mine) in parts.into_iter().zip(origins.chunks(per_thread)) {
            scope.spawn(move || {
                let mut part = part;
                let mut sample = vec![0.0; sample_dim];
                for (o, origin) in mine.iter().enumerate() {
                    let a = &samples[origin.sample * sample_dim..(origin.sample + 1) * sample_dim];
                    let b = &samples[origin.neighbour * sample_dim..(origin.neighbour + 1) * sample_dim];
                    for (v, (x, y)) in sample.iter_mut().zip(a.iter().zip(b)) {
                        *v = x + origin.step * (y - x);
                    }
                    for (t, row) in sample.chunks_exact(dim).enumerate() {
                        for (column, v) in part.iter_mut().zip(row) {
                            column[o * window + t] = *v;
                        }
                    }
                }
            });
        }
    });
    columns
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
        assert!(err.0.contains("at least 0.3000"), "{err}");
    }

    #[test]
    fn every_synthetic_point_lies_on_a_segment_to_a_neighbour() {
        let points = flat();
        let neighbours = nearest_neighbours(&points, 3, 5);
        let origins = draw(&neighbours, 500, &mut Rng::new(9));
        assert_eq!(origins.len(), 500);
        let columns = synthesize_columns(&points, 3, 1, &origins);
        let synthetic: Vec<f64> = (0..500).flat_map(|r| columns.iter().map(move |c| c[r])).collect();
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
        assert_eq!(draw(&neighbours, 50, &mut Rng::new(9)), origins[..50].to_vec());
        // Windows of 2 rows x 3 values (6 dimensions: a point and the next one): synthetic
        // window o fills rows 2o and 2o + 1 of each column.
        let windows: Vec<f64> = (0..11).flat_map(|i| points[i * 3..(i + 2) * 3].to_vec()).collect();
        let neighbours = nearest_neighbours(&windows, 6, 3);
        let origins = draw(&neighbours, 40, &mut Rng::new(2));
        let columns = synthesize_columns(&windows, 3, 2, &origins);
        for (o, origin) in origins.iter().enumerate() {
            for t in 0..2 {
                for (c, column) in columns.iter().enumerate() {
                    assert_eq!(column[o * 2 + t], origin.value(&windows, 6, t * 3 + c));
                }
            }
        }
    }
}
