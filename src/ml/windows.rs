//! Sliding windows over time-ordered rows that never cross an entity: a window is named by
//! its last row, whose label it predicts.

use std::ops::Range;

/// The last row of every window of `length` consecutive rows inside one entity's range.
/// Entities shorter than `length` give no window.
pub fn window_ends(entities: &[Range<usize>], length: usize) -> Vec<usize> {
    let length = length.max(1);
    entities
        .iter()
        .filter(|r| r.len() >= length)
        .flat_map(|r| (r.start + length - 1)..r.end)
        .collect()
}

/// The rows of each window, flattened time-major (row t's features, then row t+1's): one
/// `length * dim` vector per window, from a row-major `rows x dim` matrix.
pub fn flatten(matrix: &[f64], dim: usize, ends: &[usize], length: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(ends.len() * length * dim);
    for &end in ends {
        let first = end + 1 - length;
        out.extend_from_slice(&matrix[first * dim..(end + 1) * dim]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_stay_inside_entities() {
        // Entities of 4, 2 and 3 rows; windows of 3: two in the first, none in the second.
        let ends = window_ends(&[0..4, 4..6, 6..9], 3);
        assert_eq!(ends, vec![2, 3, 8]);
        assert_eq!(window_ends(&[0..4, 4..6], 1), vec![0, 1, 2, 3, 4, 5]);
        assert!(window_ends(&[0..2, 2..4], 5).is_empty());
    }

    #[test]
    fn flattening_is_time_major() {
        let matrix: Vec<f64> = (0..12).map(f64::from).collect(); // 6 rows x 2 features
        assert_eq!(
            flatten(&matrix, 2, &[2, 5], 2),
            vec![2.0, 3.0, 4.0, 5.0, 8.0, 9.0, 10.0, 11.0]
        );
    }
}
