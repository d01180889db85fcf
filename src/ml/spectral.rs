//! Frequency features of a trailing window: the dominant frequency (cycles per sample) and the
//! normalised spectral entropy of the de-meaned window, as
//! `np.fft.rfft(x - x.mean())` over bins 1..=w/2 would give them. A direct DFT with precomputed
//! twiddles: O(w^2 / 2) per row, fine for the short windows (8-64) used on sensor data.

pub struct Spectral {
    window: usize,
    cos: Vec<f64>,
    sin: Vec<f64>,
}

impl Spectral {
    pub fn new(window: usize) -> Spectral {
        let w = window.max(2);
        let angle = |n: usize| 2.0 * std::f64::consts::PI * n as f64 / w as f64;
        Spectral {
            window: w,
            cos: (0..w).map(|n| angle(n).cos()).collect(),
            sin: (0..w).map(|n| angle(n).sin()).collect(),
        }
    }

    /// (dominant frequency, spectral entropy in [0, 1]) of exactly `window` values; NaN when a
    /// value is missing or the window is constant (no power to distribute).
    pub fn of(&self, x: &[f64]) -> (f64, f64) {
        let w = self.window;
        if x.len() != w || x.iter().any(|v| !v.is_finite()) {
            return (f64::NAN, f64::NAN);
        }
        let mean = x.iter().sum::<f64>() / w as f64;
        let bins = w / 2;
        let mut power = Vec::with_capacity(bins);
        for k in 1..=bins {
            let (mut re, mut im) = (0.0, 0.0);
            for (n, v) in x.iter().enumerate() {
                let i = (k * n) % w;
                re += (v - mean) * self.cos[i];
                im -= (v - mean) * self.sin[i];
            }
            power.push(re * re + im * im);
        }
        let total: f64 = power.iter().sum();
        if total <= f64::EPSILON * x.iter().map(|v| v * v).sum::<f64>().max(f64::MIN_POSITIVE) {
            return (f64::NAN, f64::NAN);
        }
        // First maximum, as numpy's argmax.
        let best = power
            .iter()
            .enumerate()
            .fold(0, |b, (i, p)| if *p > power[b] { i } else { b });
        let entropy = if bins > 1 {
            -power
                .iter()
                .map(|p| p / total)
                .filter(|p| *p > 0.0)
                .map(|p| p * p.ln())
                .sum::<f64>()
                / (bins as f64).ln()
        } else {
            0.0
        };
        ((best + 1) as f64 / w as f64, entropy.max(0.0))
    }

    /// The features of the trailing window ending at each row (NaN before a full window).
    pub fn rolling(&self, values: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let n = values.len();
        let (mut freq, mut entropy) = (vec![f64::NAN; n], vec![f64::NAN; n]);
        for end in self.window..=n {
            let (f, h) = self.of(&values[end - self.window..end]);
            freq[end - 1] = f;
            entropy[end - 1] = h;
        }
        (freq, entropy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values from numpy 2.4: X = np.fft.rfft(x - x.mean()); P = abs(X[1:])**2;
    // dominant = (argmax(P) + 1) / len(x); entropy = -(p * log p).sum() / log(len(X) - 1),
    // p = P / P.sum().
    #[test]
    fn matches_numpy_rfft() {
        let s = Spectral::new(8);
        let x = [1.0, 3.0, 2.0, 5.0, 4.0, 6.0, 5.0, 8.0, 7.0, 9.0, 3.0, 1.0];
        let (freq, entropy) = s.rolling(&x);
        let want = [
            (0.5, 0.7930132651075039),
            (0.125, 0.8493972750460891),
            (0.5, 0.7930132651075039),
            (0.5, 0.7457381766253656),
            (0.125, 0.7915665766487856),
        ];
        assert!(freq[..7].iter().all(|f| f.is_nan()));
        for (i, (f, h)) in want.iter().enumerate() {
            assert_eq!(freq[7 + i], *f, "row {}", 7 + i);
            assert!(
                (entropy[7 + i] - h).abs() < 1e-12,
                "row {}: {} vs {h}",
                7 + i,
                entropy[7 + i]
            );
        }
        // A pure tone at a quarter of the sampling rate: all power in one bin, entropy 0.
        let (f, h) = s.of(&[0.0, 1.0, 0.0, -1.0, 0.0, 1.0, 0.0, -1.0]);
        assert_eq!(f, 0.25);
        assert!(h.abs() < 1e-12);
        // A ramp: (0.125, 0.7663980044796872)
        let (f, h) = s.of(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        assert_eq!(f, 0.125);
        assert!((h - 0.7663980044796872).abs() < 1e-12);
    }

    #[test]
    fn missing_or_constant_windows_are_nan() {
        let s = Spectral::new(4);
        assert!(s.of(&[1.0, f64::NAN, 2.0, 3.0]).0.is_nan());
        assert!(s.of(&[2.0; 4]).1.is_nan());
        assert!(s.rolling(&[1.0, 2.0]).0.iter().all(|v| v.is_nan()));
    }
}
