//! Sensor values that are not finite numbers. A CSV cell `inf`, `-inf`, `1e400` or a run of
//! digits too long for a 64-bit float reads as an infinity, and one infinity turns every rolling
//! mean and the scaler's mean that touch it into NaN. The rule (README, `load`): such values are
//! read as missing, counted and named in a warning, or refused with `non-finite: error`.

use polars::prelude::*;

use crate::steps::context::StepError;

/// What `load` does with an infinite value in a numeric column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NonFinite {
    /// Read it as missing (and warn with the count and the first row).
    #[default]
    Missing,
    /// Refuse the file, naming the first one.
    Error,
}

impl NonFinite {
    pub const NAMES: &'static [&'static str] = &["missing", "error"];

    pub fn from_name(name: &str) -> Option<NonFinite> {
        match name {
            "missing" => Some(NonFinite::Missing),
            "error" => Some(NonFinite::Error),
            _ => None,
        }
    }
}

/// The infinities of one column: how many, and the first one's row (0-based) and sign.
#[derive(Debug, Clone, PartialEq)]
pub struct Infinities {
    pub column: String,
    pub count: usize,
    pub first_row: usize,
    pub first_value: f64,
}

impl Infinities {
    /// `shown: column `x` has 3 infinite values (the first, +inf, at row 17, line 18)`.
    pub fn describe(&self, shown: &str, header_lines: usize) -> String {
        let values = if self.count == 1 {
            "an infinite value".to_string()
        } else {
            format!("{} infinite values", self.count)
        };
        let sign = if self.first_value > 0.0 { "+inf" } else { "-inf" };
        let first = if self.count == 1 { "" } else { "the first, " };
        format!(
            "{shown}: column `{}` has {values} ({first}{sign}, at row {} (line {})); a cell such as `inf`, `1e400` or a number too long for a 64-bit float reads as one",
            self.column,
            self.first_row + 1,
            self.first_row + 1 + header_lines
        )
    }
}

/// Applies `rule` to every float column except `keep` (role columns): infinities and NaN become
/// missing (NaN only comes from Parquet; CSV's `NaN` is already read as missing). Returns the
/// infinities found per column, or the error `rule` asks for.
pub fn infinities_to_missing(
    frame: &mut DataFrame,
    rule: NonFinite,
    shown: &str,
    header_lines: usize,
) -> Result<Vec<Infinities>, StepError> {
    let mut found = Vec::new();
    let names: Vec<PlSmallStr> = frame.get_column_names().into_iter().cloned().collect();
    for name in names {
        let column = frame.column(&name)?;
        let values = match column.dtype() {
            DataType::Float64 => column.f64()?.clone(),
            DataType::Float32 => column.cast(&DataType::Float64)?.f64()?.clone(),
            _ => continue,
        };
        let mut infinities: Option<Infinities> = None;
        let mut any_nan = false;
        for (row, v) in values.iter().enumerate() {
            let Some(v) = v else { continue };
            if v.is_infinite() {
                match &mut infinities {
                    Some(i) => i.count += 1,
                    None => {
                        infinities = Some(Infinities {
                            column: name.to_string(),
                            count: 1,
                            first_row: row,
                            first_value: v,
                        })
                    }
                }
            } else if v.is_nan() {
                any_nan = true;
            }
        }
        if let (Some(i), NonFinite::Error) = (&infinities, rule) {
            return Err(StepError::new(format!(
                "{}; fix the file, or set `non-finite: missing` to read such values as missing",
                i.describe(shown, header_lines)
            )));
        }
        if infinities.is_none() && !any_nan {
            continue;
        }
        let cleaned: Float64Chunked = values
            .iter()
            .map(|v| v.filter(|v| v.is_finite()))
            .collect_ca(name.clone());
        let cleaned = cleaned.into_column().cast(column.dtype())?;
        frame.replace(&name, cleaned)?;
        found.extend(infinities);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infinities_become_missing_and_are_counted() {
        let mut frame = df!(
            "x" => [1.0, f64::INFINITY, 3.0, f64::NEG_INFINITY],
            "y" => [1.0f32, 2.0, f32::NAN, 4.0],
            "n" => [1i64, 2, 3, 4],
        )
        .unwrap();
        let found = infinities_to_missing(&mut frame, NonFinite::Missing, "f.csv", 1).unwrap();
        assert_eq!(
            found,
            [Infinities {
                column: "x".into(),
                count: 2,
                first_row: 1,
                first_value: f64::INFINITY
            }]
        );
        assert_eq!(
            found[0].describe("f.csv", 1),
            "f.csv: column `x` has 2 infinite values (the first, +inf, at row 2 (line 3)); a cell such as `inf`, `1e400` or a number too long for a 64-bit float reads as one"
        );
        let x: Vec<Option<f64>> = frame.column("x").unwrap().f64().unwrap().to_vec();
        assert_eq!(x, [Some(1.0), None, Some(3.0), None]);
        assert_eq!(frame.column("y").unwrap().dtype(), &DataType::Float32, "type kept");
        assert_eq!(frame.column("y").unwrap().null_count(), 1, "NaN read as missing");
        let e = infinities_to_missing(
            &mut df!("x" => [f64::NEG_INFINITY]).unwrap(),
            NonFinite::Error,
            "f.csv",
            1,
        )
        .unwrap_err()
        .0;
        assert!(
            e.contains("column `x` has an infinite value (-inf, at row 1 (line 2))"),
            "{e}"
        );
        assert!(e.contains("`non-finite: missing`"), "{e}");
    }
}
