//! L2-regularised logistic regression, fitted to the optimum by Newton's method on libtorch in
//! f64: scikit-learn's `LogisticRegression(C=c, class_weight={0: 1, 1: w})` objective,
//! 0.5 |coef|² + c Σ weight_i log-loss_i, the intercept not penalised. The baseline every
//! sequence model is measured against, and `model: linear` itself.

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// Why the fit failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct LogisticError(pub String);

/// A fitted model: probability = sigmoid(coef · x + intercept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Logistic {
    pub coef: Vec<f64>,
    pub intercept: f64,
    /// Newton iterations to convergence.
    pub iterations: usize,
}

/// Newton steps stop once no coordinate of the gradient exceeds this (times the objective's
/// scale) or after MAX_ITERATIONS; each step is halved until the objective goes down.
const TOLERANCE: f64 = 1e-10;
const MAX_ITERATIONS: usize = 100;

/// Fits rows `x` [n, features] (any float kind, any device) to labels `y` (0 or 1), positives
/// weighted by `positive_weight`, with inverse regularisation strength `c`.
pub fn fit(x: &Tensor, y: &[f32], positive_weight: f64, c: f64) -> Result<Logistic, LogisticError> {
    let n = y.len();
    let size = x.size();
    if n == 0 || size.len() != 2 || size[0] != n as i64 {
        return Err(LogisticError(format!("rows of shape {size:?} do not match {n} labels")));
    }
    let features = size[1] as usize;
    let options = (Kind::Double, Device::Cpu);
    // The design matrix with a column of ones for the intercept: [n, features + 1].
    let design = Tensor::cat(
        &[
            x.to_device(Device::Cpu).to_kind(Kind::Double),
            Tensor::ones([n as i64, 1], options),
        ],
        1,
    );
    let labels = Tensor::from_slice(y).to_kind(Kind::Double); // [n]
    let weights = (&labels * (positive_weight - 1.0) + 1.0) * c; // [n]: c, or c * w for positives
    let mut penalty = vec![1.0; features + 1];
    penalty[features] = 0.0;
    let penalty = Tensor::from_slice(&penalty); // [features + 1]
    let objective = |beta: &Tensor| -> f64 {
        let z = design.mv(beta); // [n]
                                 // log(1 + e^z) - y z, stably: softplus.
        let loss = (z.softplus() - &labels * &z) * &weights;
        (loss.sum(Kind::Double) + (&penalty * beta * beta).sum(Kind::Double) * 0.5).double_value(&[])
    };
    let mut beta = Tensor::zeros([features as i64 + 1], options);
    let mut current = objective(&beta);
    let scale = weights.sum(Kind::Double).double_value(&[]).max(1.0);
    for iteration in 1..=MAX_ITERATIONS {
        let p = design.mv(&beta).sigmoid(); // [n]
        let gradient = design.tr().mv(&((&p - &labels) * &weights)) + &penalty * &beta; // [features + 1]
        if gradient.abs().max().double_value(&[]) <= TOLERANCE * scale {
            return Ok(done(&beta, features, iteration - 1));
        }
        let curvature = (&p * (-&p + 1.0) * &weights).unsqueeze(1); // [n, 1]
        let hessian = design.tr().mm(&(&design * curvature)) + penalty.diag(0); // [features + 1]^2
        let step = Tensor::f_linalg_solve(&hessian, &gradient, true)
            .map_err(|e| LogisticError(format!("the Newton system is singular: {e}")))?;
        let mut length = 1.0;
        loop {
            let next = &beta - &step * length;
            let value = objective(&next);
            if value <= current || length < 1e-10 {
                beta = next;
                let change = current - value;
                current = value;
                if change.abs() <= TOLERANCE * TOLERANCE * scale {
                    return Ok(done(&beta, features, iteration));
                }
                break;
            }
            length *= 0.5;
        }
        if !current.is_finite() {
            return Err(LogisticError(
                "the fit diverged (non-finite loss); check the features for extreme values".into(),
            ));
        }
    }
    Ok(done(&beta, features, MAX_ITERATIONS))
}

fn done(beta: &Tensor, features: usize, iterations: usize) -> Logistic {
    let values = Vec::<f64>::try_from(beta).unwrap_or_else(|_| vec![0.0; features + 1]);
    Logistic {
        coef: values[..features].to_vec(),
        intercept: values[features],
        iterations,
    }
}

impl Logistic {
    /// Probabilities for rows `x` [rows, features] (any float kind, any device).
    pub fn probabilities(&self, x: &Tensor) -> Vec<f64> {
        let coef = Tensor::from_slice(&self.coef).to_device(x.device()); // [features]
        let p = (x.to_kind(Kind::Double).mv(&coef) + self.intercept)
            .sigmoid()
            .to_device(Device::Cpu); // [rows]
        Vec::<f64>::try_from(&p).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 24 rows x 3 features from numpy: rng = np.random.default_rng(4);
    /// X = np.round(rng.normal(size=(24, 3)), 2); y = (X @ [1, 0.5, -0.3] + N(0, 0.7) > 0.8).
    const X: [[f32; 3]; 24] = [
        [-0.65, -0.17, 1.66],
        [0.66, -1.64, -0.01],
        [-0.62, 0.15, -1.61],
        [0.24, 0.24, 1.58],
        [0.32, 0.51, -1.49],
        [2.25, -1.92, 1.1],
        [-0.33, -0.88, -0.66],
        [-0.67, 0.38, -0.11],
        [1.48, -1.83, -0.0],
        [-0.89, 0.78, -2.12],
        [-0.34, 0.21, -1.48],
        [0.99, 0.18, 1.01],
        [0.96, -0.98, -0.8],
        [-0.2, 0.75, 0.85],
        [-0.71, -0.61, -0.8],
        [-0.58, -0.24, -0.13],
        [2.06, -0.51, -0.29],
        [0.46, -0.95, -0.37],
        [0.01, 0.77, -1.32],
        [1.37, -0.35, 0.17],
        [0.85, 0.66, 1.06],
        [0.17, -0.02, 0.32],
        [-1.0, 1.21, -0.78],
        [-1.26, 2.06, -0.14],
    ];
    const Y: [f32; 24] = [
        0., 1., 0., 0., 0., 0., 0., 0., 0., 0., 0., 1., 0., 0., 0., 0., 1., 0., 0., 0., 1., 0., 0., 0.,
    ];

    #[test]
    fn matches_scikit_learn() {
        // scikit-learn 1.7.2: LogisticRegression(C=1.0, class_weight={0: 1, 1: w}, tol=1e-12,
        // max_iter=100000).fit(X, y).coef_, .intercept_
        let flat: Vec<f32> = X.iter().flatten().copied().collect();
        let x = Tensor::from_slice(&flat).view([24, 3]);
        for (w, coef, intercept) in [
            (1.0, [0.97916492, 0.27093044, 0.43725369], -2.02881379),
            (2.5, [1.20246303, 0.18985953, 0.56455426], -1.38118424),
        ] {
            // The rows are f32 here (as pmflow's windows are), 0.01-steps in scikit-learn's f64:
            // the optimum moves by about 1e-7.
            let m = fit(&x, &Y, w, 1.0).unwrap();
            for (got, want) in m.coef.iter().zip(coef) {
                assert!((got - want).abs() < 1e-6, "w {w}: coef {:?}", m.coef);
            }
            assert!(
                (m.intercept - intercept).abs() < 1e-6,
                "w {w}: intercept {}",
                m.intercept
            );
            assert!(m.iterations < 20, "{} iterations", m.iterations);
        }
    }

    #[test]
    fn probabilities_and_separable_data() {
        // Perfectly separable: the penalty keeps the optimum finite and Newton converges.
        let flat: Vec<f32> = (0..40).map(|i| i as f32 / 10.0 - 2.0).collect();
        let x = Tensor::from_slice(&flat).view([40, 1]);
        let y: Vec<f32> = (0..40).map(|i| f32::from(i >= 20)).collect();
        let m = fit(&x, &y, 1.0, 1.0).unwrap();
        assert!(m.coef[0] > 2.0 && m.iterations < MAX_ITERATIONS, "{m:?}");
        let rows = Tensor::from_slice(&[-2.0f32, 0.0, 2.0]).view([3, 1]);
        let p = m.probabilities(&rows);
        assert!(p[0] < 0.05 && p[2] > 0.95 && p[0] < p[1] && p[1] < p[2], "{p:?}");
        assert!(fit(&x, &y[..39], 1.0, 1.0).is_err());
    }
}
