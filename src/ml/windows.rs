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
/// `length * columns.len()` vector per window, from one vector of values per column.
pub fn flatten_columns(columns: &[Vec<f64>], ends: &[usize], length: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(ends.len() * length * columns.len());
    for &end in ends {
        for row in end + 1 - length..=end {
            out.extend(columns.iter().map(|c| c[row]));
        }
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
        // 6 rows x 2 features: row r holds (2r, 2r + 1).
        let columns: Vec<Vec<f64>> = vec![
            (0..6).map(|r| f64::from(2 * r)).collect(),
            (0..6).map(|r| f64::from(2 * r + 1)).collect(),
        ];
        assert_eq!(
            flatten_columns(&columns, &[2, 5], 2),
            vec![2.0, 3.0, 4.0, 5.0, 8.0, 9.0, 10.0, 11.0]
        );
    }
}
