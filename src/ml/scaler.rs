//! Feature scaling fitted on training data only: standard (as scikit-learn's StandardScaler:
//! mean and population standard deviation, ddof = 0) or min-max (to [0, 1]). Missing values
//! (NaN) are ignored when fitting and stay missing when applied.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScalerKind {
    Standard,
    MinMax,
}

/// `(x - offset) / scale` for one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnScale {
    pub offset: f64,
    pub scale: f64,
}

impl ColumnScale {
    /// Fits on the present values; a constant or empty column gets scale 1 (as scikit-learn does
    /// for zero variance), so applying it never divides by zero.
    pub fn fit(values: &[f64], kind: ScalerKind) -> ColumnScale {
        Self::fit_present(|| values.iter().copied(), kind)
    }

    /// [`ColumnScale::fit`] over values produced by `values()`, called once per pass (two for
    /// the standard scaler): no copy of a column is needed. Values that are not finite are
    /// skipped, as missing.
    pub fn fit_present<I: Iterator<Item = f64>>(values: impl Fn() -> I, kind: ScalerKind) -> ColumnScale {
        let present = || values().filter(|v| v.is_finite());
        let n = present().count();
        if n == 0 {
            return ColumnScale {
                offset: 0.0,
                scale: 1.0,
            };
        }
        let (offset, spread) = match kind {
            ScalerKind::Standard => {
                let mean = present().sum::<f64>() / n as f64;
                let var = present().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
                (mean, var.sqrt())
            }
            ScalerKind::MinMax => {
                let min = present().fold(f64::INFINITY, f64::min);
                let max = present().fold(f64::NEG_INFINITY, f64::max);
                (min, max - min)
            }
        };
        ColumnScale {
            offset,
            scale: if spread > 0.0 { spread } else { 1.0 },
        }
    }

    /// One value scaled: `(x - offset) / scale`.
    pub fn transform(&self, x: f64) -> f64 {
        (x - self.offset) / self.scale
    }

    pub fn apply(&self, values: &mut [f64]) {
        for v in values {
            *v = self.transform(*v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_matches_scikit_learn() {
        // scikit-learn 1.9.1: StandardScaler().fit([[1],[2],[4],[9]]) -> mean_ [4.], scale_ [3.082207001484488]
        let s = ColumnScale::fit(&[1.0, 2.0, 4.0, 9.0, f64::NAN], ScalerKind::Standard);
        assert_eq!(s.offset, 4.0);
        assert!((s.scale - 3.082207001484488).abs() < 1e-12);
        let mut v = [4.0, f64::NAN];
        s.apply(&mut v);
        assert_eq!(v[0], 0.0);
        assert!(v[1].is_nan());
    }

    #[test]
    fn min_max_and_constant_columns() {
        // scikit-learn 1.9.1: MinMaxScaler().fit([[1],[2],[4],[9]]).transform([[5]]) -> [[0.5]]
        let s = ColumnScale::fit(&[1.0, 2.0, 4.0, 9.0], ScalerKind::MinMax);
        let mut v = [5.0];
        s.apply(&mut v);
        assert_eq!(v[0], 0.5);
        // Zero variance: scale 1, as sklearn's `_handle_zeros_in_scale`.
        assert_eq!(ColumnScale::fit(&[3.0, 3.0], ScalerKind::Standard).scale, 1.0);
    }
}
