//! Deterministic exp / ln / sin-cos built only from IEEE-754 `+ - * /`, `sqrt` and exact rounding.
//!
//! `f64::exp`, `ln`, `sin` and `cos` call the platform libm, whose last-bit results differ
//! between platforms and library versions. A one-ulp difference can flip a `h >= 1` test or a
//! rounding to 3 decimals, so the generator uses these portable versions instead. They are
//! accurate to a few ulps, which is far more than synthetic data needs; what matters is that
//! every platform computes exactly the same bits (Rust never fuses `a * b + c` implicitly).

// fdlibm's split of ln 2: LN2_HI has 32 significant bits, so k * LN2_HI is exact.
const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000); // 6.93147180369123816490e-01
const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76); // 1.90821492927058770002e-10
const INV_LN2: f64 = core::f64::consts::LOG2_E;
const SQRT2: f64 = core::f64::consts::SQRT_2;
const TAU: f64 = core::f64::consts::TAU;

/// `x.round()` (half away from zero) without the libm call `f64::round` compiles to on
/// baseline x86-64; exact for every finite input. Saturates outside the i64 range.
#[inline]
pub fn round_i64(x: f64) -> i64 {
    let a = x.abs();
    let t = a as i64; // truncation toward zero, saturating (NaN -> 0)
                      // Branch-free (the fraction is unpredictable); values >= 2^52 are already integral.
    let up = u8::from(a - t as f64 >= 0.5) & u8::from(a < 4_503_599_627_370_496.0);
    let t = t + i64::from(up);
    if x < 0.0 {
        -t
    } else {
        t
    }
}

/// 2^k as an f64 for k in [-1022, 1023].
fn pow2(k: i64) -> f64 {
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// e^x.
pub fn exp(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > 709.78 {
        return f64::INFINITY;
    }
    if x < -745.2 {
        return 0.0;
    }
    let k = round_i64(x * INV_LN2) as f64; // |x| <= 746 here
    let r = (x - k * LN2_HI) - k * LN2_LO; // |r| <= ~0.347
                                           // Taylor series to r^13 (truncation error < 4e-18), Horner form.
    let mut p = 1.0 / 6_227_020_800.0;
    for c in [
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = p * r + c;
    }
    let mut k = k as i64;
    while k > 1023 {
        p *= pow2(1023);
        k -= 1023;
    }
    while k < -1022 {
        p *= pow2(-1022);
        k += 1022;
    }
    p * pow2(k)
}

/// Natural logarithm; NaN for negative input, -inf for 0.
pub fn ln(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if x.is_infinite() {
        return x;
    }
    let mut bits = x.to_bits();
    let mut e: i64 = 0;
    if bits >> 52 == 0 {
        // subnormal: scale into the normal range first
        bits = (x * 18_014_398_509_481_984.0).to_bits(); // 2^54
        e = -54;
    }
    e += ((bits >> 52) & 0x7FF) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000); // [1, 2)
    if m > SQRT2 {
        m *= 0.5;
        e += 1;
    }
    // ln m = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.1716; series to s^21.
    let s = (m - 1.0) / (m + 1.0);
    let z = s * s;
    // sum_{k=0..10} z^k / (2k + 1), Estrin's scheme (short dependency chains, fixed order).
    let z2 = z * z;
    let z4 = z2 * z2;
    let z8 = z4 * z4;
    let q0 = (1.0 + z * (1.0 / 3.0)) + z2 * (1.0 / 5.0 + z * (1.0 / 7.0));
    let q1 = (1.0 / 9.0 + z * (1.0 / 11.0)) + z2 * (1.0 / 13.0 + z * (1.0 / 15.0));
    let q2 = (1.0 / 17.0 + z * (1.0 / 19.0)) + z2 * (1.0 / 21.0);
    let p = (q0 + z4 * q1) + z8 * q2;
    let ef = e as f64;
    ef * LN2_HI + (ef * LN2_LO + 2.0 * s * p)
}

/// (sin 2πx, cos 2πx): the argument is in turns, which makes range reduction exact.
pub fn sin_cos_turns(x: f64) -> (f64, f64) {
    if !x.is_finite() {
        return (f64::NAN, f64::NAN);
    }
    if x.abs() >= 9_007_199_254_740_992.0 {
        return (0.0, 1.0); // |x| >= 2^53 is a whole number of turns
    }
    let qi = round_i64(x * 4.0); // nearest quarter turn (exact, fits easily in i64)
    let t = (x - qi as f64 * 0.25) * TAU; // exact reduction; |t| <= π/4
    let z = t * t;
    let z2 = z * z;
    let z4 = z2 * z2;
    let z8 = z4 * z4;
    // Taylor series, Estrin's scheme: sin t = t - t z sum_{k=0..7} (-1)^k z^k / (2k + 3)!
    // (to t^17) and cos t = sum_{k=0..8} (-1)^k z^k / (2k)! (to t^16); error < 1e-17.
    let sa = (1.0 / 6.0 - z * (1.0 / 120.0)) + z2 * (1.0 / 5_040.0 - z * (1.0 / 362_880.0));
    let sb = (1.0 / 39_916_800.0 - z * (1.0 / 6_227_020_800.0))
        + z2 * (1.0 / 1_307_674_368_000.0 - z * (1.0 / 355_687_428_096_000.0));
    let s = t - t * z * (sa + z4 * sb);
    let ca = (1.0 - z * 0.5) + z2 * (1.0 / 24.0 - z * (1.0 / 720.0));
    let cb = (1.0 / 40_320.0 - z * (1.0 / 3_628_800.0)) + z2 * (1.0 / 479_001_600.0 - z * (1.0 / 87_178_291_200.0));
    let c = (ca + z4 * cb) + z8 * (1.0 / 20_922_789_888_000.0);
    match qi & 3 {
        0 => (s, c),
        1 => (c, -s),
        2 => (-s, -c),
        _ => (-c, s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        a == b || (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn round_i64_matches_std_round() {
        let specials = [
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            2.5,
            -2.5,
            0.499_999_999_999_999_94,
            -0.499_999_999_999_999_94,
            4_503_599_627_370_495.5,
            9_007_199_254_740_993.0,
            1234.5,
            -1234.5,
            1e18,
            -1e18,
        ];
        for x in specials {
            assert_eq!(round_i64(x), x.round() as i64, "{x}");
        }
        let mut x = -1000.0;
        while x < 1000.0 {
            assert_eq!(round_i64(x), x.round() as i64, "{x}");
            x += 0.012_5;
        }
        assert_eq!(round_i64(1e300), i64::MAX);
        assert_eq!(round_i64(-1e300), -i64::MAX);
        assert_eq!(round_i64(f64::NAN), 0);
    }

    #[test]
    fn exp_matches_std() {
        let mut x = -740.0;
        while x < 709.0 {
            assert!(close(exp(x), x.exp(), 1e-14), "exp({x}) = {} vs {}", exp(x), x.exp());
            x += 0.37;
        }
        for x in [0.0, 1.0, -1.0, 1e-10, -0.125, 0.5, 8.6, -8.6] {
            assert!(close(exp(x), x.exp(), 1e-15), "exp({x})");
        }
        assert_eq!(exp(1000.0), f64::INFINITY);
        assert_eq!(exp(-1000.0), 0.0);
        assert!(exp(f64::NAN).is_nan());
    }

    #[test]
    fn ln_matches_std() {
        let mut x = 1e-300;
        while x < 1e300 {
            assert!(close(ln(x), x.ln(), 1e-15), "ln({x}) = {} vs {}", ln(x), x.ln());
            x *= 1.37;
        }
        for x in [1.0, 2.0, 0.5, 1.0 - 1e-16, 1.1e-16, 5e-324, 1e-310, f64::MAX, SQRT2] {
            assert!(close(ln(x), x.ln(), 1e-15), "ln({x})");
        }
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
        assert!(ln(-1.0).is_nan() && ln(f64::NAN).is_nan());
        assert_eq!(ln(f64::INFINITY), f64::INFINITY);
    }

    #[test]
    fn sin_cos_match_std() {
        let mut x = -3.0;
        while x < 3.0 {
            let (s, c) = sin_cos_turns(x);
            let a = x * TAU;
            assert!((s - a.sin()).abs() < 1e-14, "sin at {x}");
            assert!((c - a.cos()).abs() < 1e-14, "cos at {x}");
            x += 0.001_3;
        }
        assert_eq!(sin_cos_turns(0.0), (0.0, 1.0));
        assert_eq!(sin_cos_turns(0.25), (1.0, -0.0));
        assert_eq!(sin_cos_turns(0.5).1, -1.0);
        assert!(sin_cos_turns(f64::INFINITY).0.is_nan());
        assert_eq!(sin_cos_turns(1e20), (0.0, 1.0));
        assert_eq!(sin_cos_turns(-1e20), (0.0, 1.0));
        assert!((sin_cos_turns(1e15 + 0.25).0 - 1.0).abs() < 1e-9);
    }
}
