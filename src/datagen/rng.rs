//! The generator's draws: normals, log-normals and geometric gaps on top of pmflow's one
//! xoshiro256** stream ([`crate::ml::rng`]). Floating-point transforms use [`super::detmath`]
//! instead of the platform libm, so a seed produces the same data forever.

use super::detmath;
use crate::ml::rng::{mix64, Rng as Core};

/// A seeded stream with a cached second Box-Muller normal.
#[derive(Clone, Debug)]
pub struct Rng {
    core: Core,
    spare_normal: Option<f64>,
}

impl Rng {
    pub fn from_seed(seed: u64) -> Self {
        Self {
            core: Core::new(seed),
            spare_normal: None,
        }
    }

    /// An independent stream for `(seed, machine, stream)`: the key is hashed so that
    /// neighbouring machines / streams get unrelated xoshiro states.
    pub fn for_stream(seed: u64, machine: u32, stream: u32) -> Self {
        let key = (u64::from(machine) << 32) | u64::from(stream);
        Self::from_seed(mix64(seed ^ mix64(key.wrapping_add(0x6A09_E667_F3BC_C909))))
    }

    /// Uniform in [0, 1) with 53 random bits.
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        self.core.next_f64()
    }

    /// Uniform in [a, b).
    pub fn uniform(&mut self, a: f64, b: f64) -> f64 {
        self.core.uniform(a, b)
    }

    /// Standard normal via Box-Muller; the second value of each pair is cached.
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        let u1 = 1.0 - self.next_f64(); // (0, 1]: ln is finite
        let u2 = self.next_f64();
        let r = (-2.0 * detmath::ln(u1)).sqrt();
        let (s, c) = detmath::sin_cos_turns(u2);
        self.spare_normal = Some(r * s);
        r * c
    }

    /// Fills `out` with standard normals: exactly the values `out.len()` calls of
    /// [`Rng::normal`] would return, but with the pairs computed side by side (faster).
    pub fn fill_normals(&mut self, out: &mut [f64]) {
        if self.spare_normal.is_some() || out.len() & 1 == 1 {
            out.iter_mut().for_each(|z| *z = self.normal());
            return;
        }
        let mut u = [0.0f64; 16];
        for chunk in out.chunks_mut(16) {
            let u = &mut u[..chunk.len()];
            for (k, x) in u.iter_mut().enumerate() {
                let v = self.next_f64();
                *x = if k % 2 == 0 { 1.0 - v } else { v };
            }
            for (pair, uu) in chunk.chunks_exact_mut(2).zip(u.chunks_exact(2)) {
                let r = (-2.0 * detmath::ln(uu[0])).sqrt();
                let (s, c) = detmath::sin_cos_turns(uu[1]);
                pair[0] = r * c;
                pair[1] = r * s;
            }
        }
    }

    /// exp(N(mu, sigma^2)).
    pub fn log_normal(&mut self, mu: f64, sigma: f64) -> f64 {
        detmath::exp(mu + sigma * self.normal())
    }

    /// Number of failures before the first success of a Bernoulli(p) sequence, where
    /// `log_q = ln(1 - p)`. `log_q == 0` (p = 0) means "never" and saturates to `u64::MAX`.
    pub fn geometric(&mut self, log_q: f64) -> u64 {
        if log_q.is_nan() || log_q >= 0.0 {
            return u64::MAX;
        }
        let u = 1.0 - self.next_f64(); // (0, 1]
                                       // Non-negative (or +inf, saturated by `as`); float-to-int casts never panic.
        (detmath::ln(u) / log_q).floor() as u64
    }
}

/// ln(1 - p) for p in [0, 1], accurate for tiny p.
pub fn ln_1m(p: f64) -> f64 {
    if p < 1e-4 {
        -(p + p * p * (0.5 + p * (1.0 / 3.0 + p * 0.25)))
    } else {
        detmath::ln(1.0 - p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_distinct_and_moments_sane() {
        let mut a = Rng::for_stream(7, 0, 0);
        let mut b = Rng::for_stream(7, 1, 0);
        let mut c = Rng::for_stream(7, 0, 1);
        let (x, y, z) = (a.core.next_u64(), b.core.next_u64(), c.core.next_u64());
        assert!(x != y && x != z && y != z);

        let n = 200_000;
        let (mut s1, mut s2, mut umin, mut umax) = (0.0, 0.0, f64::MAX, f64::MIN);
        for _ in 0..n {
            let z = a.normal();
            s1 += z;
            s2 += z * z;
            let u = a.uniform(2.0, 4.0);
            umin = umin.min(u);
            umax = umax.max(u);
        }
        let mean = s1 / n as f64;
        let var = s2 / n as f64 - mean * mean;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "var {var}");
        assert!((2.0..4.0).contains(&umin) && (2.0..4.0).contains(&umax));

        // log-normal with mu = -sigma^2/2 has mean 1.
        let m: f64 = (0..n).map(|_| a.log_normal(-0.125, 0.5)).sum::<f64>() / n as f64;
        assert!((m - 1.0).abs() < 0.01, "lognormal mean {m}");
    }

    #[test]
    fn fill_normals_equals_repeated_normal() {
        for len in [0, 1, 2, 7, 8, 16, 33, 40] {
            for pre in [false, true] {
                let mut a = Rng::from_seed(5);
                let mut b = Rng::from_seed(5);
                if pre {
                    a.normal();
                    b.normal();
                }
                let mut out = vec![0.0; len];
                a.fill_normals(&mut out);
                let expect: Vec<f64> = (0..len).map(|_| b.normal()).collect();
                assert_eq!(out, expect);
                assert_eq!(a.normal(), b.normal());
            }
        }
    }

    #[test]
    fn geometric_mean_and_edge_cases() {
        let mut r = Rng::from_seed(1);
        assert_eq!(r.geometric(0.0), u64::MAX);
        assert_eq!(r.geometric(f64::NAN), u64::MAX);
        assert_eq!(r.geometric(f64::NEG_INFINITY), 0);
        let p: f64 = 0.01;
        let n = 100_000;
        let mean = (0..n).map(|_| r.geometric(ln_1m(p)) as f64).sum::<f64>() / n as f64;
        let expect = (1.0 - p) / p;
        assert!((mean / expect - 1.0).abs() < 0.03, "{mean} vs {expect}");
        assert!((ln_1m(1e-6) - (-1e-6f64).ln_1p()).abs() < 1e-18);
        assert_eq!(ln_1m(1.0), f64::NEG_INFINITY);
    }
}
