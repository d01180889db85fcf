//! `drop-na`: which rows lose a feature, and why. Users need to tell the expected loss (the
//! first rows of each machine, before a window or lag has history) from the loss that means
//! bad data (a missing sensor value, and every window and lag that reaches back to it).

use polars::prelude::*;

use super::Made;

/// How many rows `drop-na` removes, by cause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Dropped {
    /// The first rows of a series, before windows and lags have enough history.
    pub(super) warm_up: usize,
    /// Rows whose own source value is missing.
    pub(super) missing_input: usize,
    /// Rows whose window or lag reaches back to a missing value (or across a gap in time).
    pub(super) after_missing: usize,
    /// Rows where a feature is infinite (an interaction dividing by zero).
    pub(super) infinite: usize,
}

impl Dropped {
    pub(super) fn total(&self) -> usize {
        self.warm_up + self.missing_input + self.after_missing + self.infinite
    }

    /// Rows lost to something other than warm-up: worth a warning.
    pub(super) fn unexpected(&self) -> usize {
        self.missing_input + self.after_missing + self.infinite
    }

    /// `12 at the start of a series ..., 3 whose ...`: only the causes that removed rows.
    pub(super) fn describe(&self) -> String {
        let causes: Vec<String> = [
            (self.warm_up, "at the start of a series (warm-up of windows and lags)"),
            (self.missing_input, "whose own source value is missing"),
            (
                self.after_missing,
                "whose window or lag reaches back to a missing value or across a gap",
            ),
            (
                self.infinite,
                "with an infinite feature (an interaction dividing by zero?)",
            ),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, why)| format!("{n} {why}"))
        .collect();
        causes.join(", ")
    }
}

/// The rows where every generated feature and every source column is a finite number, and why
/// the others are not. `sources` are the feature source columns (NaN where missing): they stay
/// in the frame as model inputs, so a row missing one is as unusable as a row missing a lag
/// (a rolling mean skips the gap, so the generated features alone can all be present).
/// `ranges` are each entity's rows. With `skip_empty`, a feature or source missing on every
/// row is left out of the decision (see `FeatureParams::keep_rows_of_empty_columns`).
pub(super) fn complete_rows(
    made: &[Made],
    sources: &[&[f64]],
    ranges: &[std::ops::Range<usize>],
    rows: usize,
    skip_empty: bool,
) -> (BooleanChunked, Dropped) {
    let counts = |values: &[f64]| !(skip_empty && values.iter().all(|v| v.is_nan()));
    let made: Vec<&Made> = made.iter().filter(|m| counts(&m.values)).collect();
    let sources: Vec<&[f64]> = sources.iter().copied().filter(|s| counts(s)).collect();
    let mut keep = vec![true; rows];
    let mut infinite = vec![false; rows];
    for m in made {
        for ((k, inf), v) in keep.iter_mut().zip(infinite.iter_mut()).zip(&m.values) {
            *k &= v.is_finite();
            *inf |= v.is_infinite();
        }
    }
    for source in &sources {
        for ((k, inf), v) in keep.iter_mut().zip(infinite.iter_mut()).zip(source.iter()) {
            *k &= v.is_finite();
            *inf |= v.is_infinite();
        }
    }
    let mut dropped = Dropped::default();
    for range in ranges {
        let mut leading = true;
        for i in range.clone() {
            if keep[i] {
                leading = false;
                continue;
            }
            if infinite[i] {
                dropped.infinite += 1;
            } else if sources.iter().any(|s| s[i].is_nan()) {
                dropped.missing_input += 1;
            } else if leading {
                dropped.warm_up += 1;
            } else {
                dropped.after_missing += 1;
            }
        }
    }
    (keep.into_iter().collect(), dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn made(values: Vec<f64>) -> Made {
        Made {
            name: "f".into(),
            values,
            manifest: serde_json::Value::Null,
        }
    }

    #[test]
    fn each_dropped_row_gets_its_cause() {
        let nan = f64::NAN;
        // Two machines of 5 rows. Machine 1: a lag-1 feature (warm-up at row 0) and a missing
        // source at row 2, which its lag carries to row 3. Machine 2: an infinity at row 8.
        let source = [1.0, 2.0, nan, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let lag = vec![nan, 1.0, 2.0, nan, 4.0, nan, 1.0, 2.0, f64::INFINITY, 4.0];
        let own = vec![1.0, 2.0, nan, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let (keep, dropped) = complete_rows(&[made(lag), made(own)], &[&source], &[0..5, 5..10], 10, false);
        let keep: Vec<bool> = keep.iter().map(|v| v == Some(true)).collect();
        assert_eq!(keep, [false, true, false, false, true, false, true, true, false, true]);
        assert_eq!(
            dropped,
            Dropped {
                warm_up: 2,
                missing_input: 1,
                after_missing: 1,
                infinite: 1
            }
        );
        assert_eq!(dropped.unexpected(), 3);
        assert!(
            dropped.describe().starts_with("2 at the start of a series"),
            "{}",
            dropped.describe()
        );
        // A source missing where every generated feature is present (a rolling mean skips the
        // gap) is a model input missing: the row goes too.
        let source = [1.0, nan, 3.0];
        let rolling = vec![1.0, 1.0, 2.0];
        let one_machine: Vec<std::ops::Range<usize>> = std::iter::once(0..3).collect();
        let (keep, dropped) = complete_rows(&[made(rolling)], &[&source], &one_machine, 3, false);
        let keep: Vec<bool> = keep.iter().map(|v| v == Some(true)).collect();
        assert_eq!(keep, [true, false, true]);
        assert_eq!(dropped.missing_input, 1);
    }

    /// A replay on a file where a sensor has no readings at all: that sensor and its features
    /// drop no row (in training they would drop every row); a gap in another still does.
    #[test]
    fn a_column_missing_on_every_row_drops_no_row_when_asked() {
        let nan = f64::NAN;
        let dead = [nan; 4];
        let alive = [1.0, nan, 3.0, 4.0];
        let one_machine: Vec<std::ops::Range<usize>> = std::iter::once(0..4).collect();
        let features = [made(vec![nan; 4]), made(vec![nan, 1.0, 2.0, 3.0])];
        let (keep, dropped) = complete_rows(&features, &[&dead, &alive], &one_machine, 4, true);
        let keep: Vec<bool> = keep.iter().map(|v| v == Some(true)).collect();
        assert_eq!(keep, [false, false, true, true]);
        assert_eq!((dropped.warm_up, dropped.missing_input), (1, 1));
        let (keep, _) = complete_rows(&features, &[&dead, &alive], &one_machine, 4, false);
        assert!(keep.iter().all(|v| v == Some(false)), "in training they drop every row");
    }
}
