//! One step of an LSTM cell for a batch at inference, its gate arithmetic fused into one pass:
//! from the gates' pre-activations (input projection + recurrent product, PyTorch's order
//! input, forget, cell, output) to the new cell and hidden states, in place. libtorch spends
//! ten kernel calls (and their allocations) per step on this; at the scorer's sizes (hidden
//! 32, thousands of windows) those calls cost more than the arithmetic.
//!
//! The AVX2 kernel computes exp with the Cephes polynomial (relative error about 1e-7, as
//! libtorch's own vectorised exp); sigmoid and tanh follow from it, so states agree with
//! libtorch's to about 1e-7. Written with intrinsics, not left to the auto-vectoriser, which
//! the dev profile (opt-level 1) does not run.

/// Advances `c` and `h` ([batch, hidden], row-major) by one step. `projected` holds each
/// window's input projection with both biases, [batch, 4*hidden]; `recurrent` the product
/// h_prev W_hh^T of the same shape, absent on the first step (h and c start at zero, and `c`'s
/// contents are then ignored).
pub fn step(projected: &[f32], recurrent: Option<&[f32]>, c: &mut [f32], h: &mut [f32], hidden: usize) {
    let batch = h.len() / hidden.max(1);
    assert!(
        projected.len() == batch * 4 * hidden
            && c.len() == h.len()
            && recurrent.is_none_or(|r| r.len() == projected.len()),
        "lstm_cell::step: shapes disagree"
    );
    #[cfg(target_arch = "x86_64")]
    if avx2() {
        // SAFETY: the CPU has AVX2 and FMA, as detected; the shapes were checked above.
        unsafe { step_avx2(projected, recurrent, c, h, hidden) };
        return;
    }
    step_plain(projected, recurrent, c, h, hidden, 0);
}

#[cfg(target_arch = "x86_64")]
fn avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

/// Columns `from..hidden` of every row, one value at a time (the tail the 8-wide kernel
/// leaves, or all of them on other CPUs).
fn step_plain(projected: &[f32], recurrent: Option<&[f32]>, c: &mut [f32], h: &mut [f32], hidden: usize, from: usize) {
    let sigmoid = |x: f32| 1.0 / (1.0 + (-x).exp());
    for b in 0..h.len() / hidden.max(1) {
        let row = b * 4 * hidden;
        let pre = |gate: usize, k: usize| {
            let at = row + gate * hidden + k;
            projected[at] + recurrent.map_or(0.0, |r| r[at])
        };
        for k in from..hidden {
            let (i, g, o) = (sigmoid(pre(0, k)), pre(2, k).tanh(), sigmoid(pre(3, k)));
            let at = b * hidden + k;
            c[at] = match recurrent {
                Some(_) => sigmoid(pre(1, k)) * c[at] + i * g,
                None => i * g,
            };
            h[at] = o * c[at].tanh();
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn step_avx2(projected: &[f32], recurrent: Option<&[f32]>, c: &mut [f32], h: &mut [f32], hidden: usize) {
    use std::arch::x86_64::*;
    let lanes = hidden / 8 * 8;
    for b in 0..h.len() / hidden {
        let row = b * 4 * hidden;
        for k in (0..lanes).step_by(8) {
            // SAFETY (every load and store): row + 3*hidden + k + 8 <= (b + 1) * 4 * hidden,
            // at most projected.len() (= recurrent.len()); b * hidden + k + 8 <= h.len() = c.len().
            let at = row + k;
            let i = sigmoid(pre(projected, recurrent, at));
            let g = tanh(pre(projected, recurrent, at + 2 * hidden));
            let o = sigmoid(pre(projected, recurrent, at + 3 * hidden));
            let state = b * hidden + k;
            let cell = match recurrent {
                Some(_) => _mm256_fmadd_ps(
                    sigmoid(pre(projected, recurrent, at + hidden)),
                    _mm256_loadu_ps(c.as_ptr().add(state)),
                    _mm256_mul_ps(i, g),
                ),
                None => _mm256_mul_ps(i, g),
            };
            _mm256_storeu_ps(c.as_mut_ptr().add(state), cell);
            _mm256_storeu_ps(h.as_mut_ptr().add(state), _mm256_mul_ps(o, tanh(cell)));
        }
    }
    if lanes < hidden {
        step_plain(projected, recurrent, c, h, hidden, lanes);
    }
}

/// 8 pre-activations from `at`: the projection plus the recurrent product (when there is one).
/// Caller: `at + 8 <= projected.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn pre(projected: &[f32], recurrent: Option<&[f32]>, at: usize) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    let p = _mm256_loadu_ps(projected.as_ptr().add(at));
    match recurrent {
        Some(r) => _mm256_add_ps(p, _mm256_loadu_ps(r.as_ptr().add(at))),
        None => p,
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn sigmoid(x: std::arch::x86_64::__m256) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    recip(_mm256_add_ps(
        _mm256_set1_ps(1.0),
        exp(_mm256_sub_ps(_mm256_setzero_ps(), x)),
    ))
}

/// tanh(x) = 1 - 2 / (1 + e^(2x)): its limits at both ends (e^(2x) saturating or vanishing),
/// within 1e-7 near 0.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn tanh(x: std::arch::x86_64::__m256) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    let one = _mm256_set1_ps(1.0);
    let inverse = recip(_mm256_add_ps(one, exp(_mm256_add_ps(x, x))));
    _mm256_fnmadd_ps(_mm256_set1_ps(2.0), inverse, one)
}

/// 1 / x for finite x >= 1 (what sigmoid and tanh divide by): the 12-bit estimate and one
/// Newton step, to about 2e-7 relative, in a third of a division's time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn recip(x: std::arch::x86_64::__m256) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    let r = _mm256_rcp_ps(x);
    _mm256_mul_ps(r, _mm256_fnmadd_ps(x, r, _mm256_set1_ps(2.0)))
}

/// e^x, 8 lanes: Cephes' expf (x = n ln 2 + r, |r| <= ln 2 / 2, a degree-5 polynomial for
/// e^r, 2^n from the exponent bits), inputs clamped to [-87.3, 88] so every lane is finite
/// (e^88 = 1.7e38), as `recip` needs.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn exp(x: std::arch::x86_64::__m256) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    let x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.336_55)), _mm256_set1_ps(88.0));
    let n = _mm256_floor_ps(_mm256_fmadd_ps(
        x,
        _mm256_set1_ps(std::f32::consts::LOG2_E),
        _mm256_set1_ps(0.5),
    ));
    // r = x - n ln 2, with ln 2 in two parts so that n times the first is exact.
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(355.0 / 512.0), x); // 0.693359375: 9 bits
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.121_944_4e-4), r);
    let mut p = _mm256_set1_ps(1.987_569_1e-4);
    for coefficient in [1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 0.166_666_65, 0.5] {
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(coefficient));
    }
    let p = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0));
    let scale = _mm256_slli_epi32::<23>(_mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127)));
    _mm256_mul_ps(p, _mm256_castsi256_ps(scale))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::rng::Rng;

    /// The step as libtorch's LSTM cell defines it, in f64.
    fn reference(projected: &[f32], recurrent: Option<&[f32]>, c: &[f32], hidden: usize) -> (Vec<f64>, Vec<f64>) {
        let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
        let (mut c_out, mut h_out) = (Vec::new(), Vec::new());
        for b in 0..c.len() / hidden {
            for k in 0..hidden {
                let pre = |gate: usize| {
                    let at = b * 4 * hidden + gate * hidden + k;
                    f64::from(projected[at]) + recurrent.map_or(0.0, |r| f64::from(r[at]))
                };
                let previous = if recurrent.is_some() {
                    f64::from(c[b * hidden + k])
                } else {
                    0.0
                };
                let cell = sigmoid(pre(1)) * previous + sigmoid(pre(0)) * pre(2).tanh();
                c_out.push(cell);
                h_out.push(sigmoid(pre(3)) * cell.tanh());
            }
        }
        (c_out, h_out)
    }

    #[test]
    fn the_fused_step_is_the_lstm_cell_on_every_instruction_set() {
        let mut rng = Rng::new(3);
        // Hidden sizes with and without a tail past the 8-wide lanes; pre-activations up to
        // +-60, where exp saturates.
        for hidden in [1, 8, 13, 32] {
            for first in [true, false] {
                let batch = 5;
                let mut value = |scale: f64| ((rng.next_f64() * 2.0 - 1.0) * scale) as f32;
                let projected: Vec<f32> = (0..batch * 4 * hidden)
                    .map(|i| value(if i % 7 == 0 { 60.0 } else { 4.0 }))
                    .collect();
                let recurrent: Vec<f32> = (0..batch * 4 * hidden).map(|_| value(2.0)).collect();
                let c0: Vec<f32> = (0..batch * hidden).map(|_| value(3.0)).collect();
                let recurrent = (!first).then_some(recurrent.as_slice());
                let (want_c, want_h) = reference(&projected, recurrent, &c0, hidden);
                let check = |isa: &str, c: &[f32], h: &[f32]| {
                    for k in 0..c.len() {
                        let (dc, dh) = (f64::from(c[k]) - want_c[k], f64::from(h[k]) - want_h[k]);
                        assert!(
                            dc.abs() <= 1e-6 * (1.0 + want_c[k].abs()),
                            "{isa}, hidden {hidden}: c[{k}] off by {dc}"
                        );
                        assert!(dh.abs() <= 1e-6, "{isa}, hidden {hidden}: h[{k}] off by {dh}");
                    }
                };
                let (mut c, mut h) = (c0.clone(), vec![0f32; c0.len()]);
                step_plain(&projected, recurrent, &mut c, &mut h, hidden, 0);
                check("plain", &c, &h);
                #[cfg(target_arch = "x86_64")]
                if avx2() {
                    let (mut c, mut h) = (c0.clone(), vec![0f32; c0.len()]);
                    // SAFETY: AVX2 and FMA detected.
                    unsafe { step_avx2(&projected, recurrent, &mut c, &mut h, hidden) };
                    check("avx2", &c, &h);
                }
            }
        }
    }
}
