//! Two sorted samples' empirical distribution functions walked together, once: the largest gap
//! between them (the KS statistic) and the area between them (the Wasserstein-1 distance).
//!
//! A drift check walks a million values a side for every feature, so the walk is written to
//! run without unpredictable branches: which sample the next value comes from is an add, not
//! a jump, and a point inside a run of tied values is masked out rather than skipped.

/// What one walk finds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// max |i n2 - j n1| over the points where both functions are evaluated (after a whole
    /// run of tied values): the KS statistic times n1 n2, exactly, as an integer.
    pub largest_gap: u64,
    /// The area between the two functions (scipy's `wasserstein_distance(a, b)`).
    pub area: f64,
}

/// Walks `a` and `b`, both sorted ascending, NaN-free and non-empty.
pub fn compare(a: &[f64], b: &[f64]) -> Comparison {
    // i n2 - j n1 needs 128 bits only past n1 n2 = 2^63 (three billion values a side).
    if (a.len() as u128) * (b.len() as u128) < i64::MAX as u128 {
        walk::<i64>(a, b)
    } else {
        walk::<i128>(a, b)
    }
}

/// The signed integer the gap i n2 - j n1 is counted in.
trait Gap: Copy + Ord + std::ops::Add<Output = Self> + std::ops::Neg<Output = Self> {
    const ZERO: Self;
    fn of(k: usize) -> Self;
    fn float(self) -> f64;
    fn magnitude(self) -> u64;
}

impl Gap for i64 {
    const ZERO: i64 = 0;
    fn of(k: usize) -> i64 {
        k as i64
    }
    fn float(self) -> f64 {
        self as f64
    }
    fn magnitude(self) -> u64 {
        self.unsigned_abs()
    }
}

impl Gap for i128 {
    const ZERO: i128 = 0;
    fn of(k: usize) -> i128 {
        k as i128
    }
    fn float(self) -> f64 {
        self as f64
    }
    fn magnitude(self) -> u64 {
        // |i n2 - j n1| / gcd fits 64 bits for any sample that fits memory; saturate regardless.
        u64::try_from(self.unsigned_abs()).unwrap_or(u64::MAX)
    }
}

fn walk<T: Gap>(a: &[f64], b: &[f64]) -> Comparison {
    let (n1, n2) = (a.len(), b.len());
    let (step_a, step_b) = (T::of(n2), -T::of(n1));
    let scale = n1 as f64 * n2 as f64;
    let (mut i, mut j) = (0usize, 0usize);
    // d = i n2 - j n1: the gap (times n1 n2) after taking i values of a and j of b.
    let (mut d, mut high, mut low) = (T::ZERO, T::ZERO, T::ZERO);
    let mut taken = a[0].min(b[0]);
    let mut area = 0.0;
    while i < n1 && j < n2 {
        let (x, y) = (a[i], b[j]);
        let next = x.min(y);
        // The state so far is a point of both functions only once every value tied with the
        // last one taken is taken too: when the next value is larger.
        let seen = if taken < next { d } else { T::ZERO };
        high = high.max(seen);
        low = low.min(seen);
        area += (next - taken) * d.float().abs();
        let from_a = x <= y;
        i += usize::from(from_a);
        j += usize::from(!from_a);
        d = d + if from_a { step_a } else { step_b };
        taken = next;
    }
    // One sample is used up. Take the other's values tied with the last one, which closes the
    // last point both functions share; from there the gap only shrinks, while the area keeps
    // growing over the rest of the other sample.
    let (rest, step, mut k) = if i < n1 { (a, step_a, i) } else { (b, step_b, j) };
    while k < rest.len() && rest[k] <= taken {
        k += 1;
        d = d + step;
    }
    high = high.max(d);
    low = low.min(d);
    while k < rest.len() {
        area += (rest[k] - taken) * d.float().abs();
        taken = rest[k];
        k += 1;
        d = d + step;
    }
    Comparison {
        largest_gap: high.magnitude().max(low.magnitude()),
        area: area / scale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gap the plain definition gives: both functions evaluated at every value of either.
    fn gap_by_definition(a: &[f64], b: &[f64]) -> u64 {
        a.iter()
            .chain(b)
            .map(|&v| {
                let i = a.partition_point(|&x| x <= v) as i64;
                let j = b.partition_point(|&x| x <= v) as i64;
                (i * b.len() as i64 - j * a.len() as i64).unsigned_abs()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn the_gap_is_taken_only_after_whole_runs_of_ties() {
        let cases: [(&[f64], &[f64]); 6] = [
            (&[1., 1., 1.], &[1., 1., 1.]),
            (&[1., 2., 2., 3.], &[2., 4., 4.]),
            (&[0., 0., 0., 5.], &[0., 5., 5., 5.]),
            (&[3.], &[1., 2., 3., 3., 3.]),
            (&[1., 2., 3.], &[4., 5.]),
            (&[-1., 0., 0., 0., 7.], &[0., 0., 7., 7.]),
        ];
        for (a, b) in cases {
            assert_eq!(compare(a, b).largest_gap, gap_by_definition(a, b), "{a:?} {b:?}");
            assert_eq!(compare(b, a).largest_gap, gap_by_definition(b, a), "{b:?} {a:?}");
        }
        // Identical samples: the functions coincide at every shared point.
        assert_eq!(compare(&[1., 1., 2.], &[1., 1., 2.]).largest_gap, 0);
    }

    #[test]
    fn the_area_agrees_with_scipy() {
        // stats.wasserstein_distance([1,2,2,3], [2,4,4]) = 1.3333333333333335
        assert!((compare(&[1., 2., 2., 3.], &[2., 4., 4.]).area - 1.3333333333333335).abs() < 1e-12);
        // stats.wasserstein_distance([0,0,0,5], [0,5,5,5]) = 2.5
        assert!((compare(&[0., 0., 0., 5.], &[0., 5., 5., 5.]).area - 2.5).abs() < 1e-12);
        assert_eq!(compare(&[2., 3.], &[2., 3.]).area, 0.0);
    }
}
