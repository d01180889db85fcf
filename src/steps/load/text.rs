//! Reading whitespace-separated text for `load` (NASA C-MAPSS style: no header, runs of spaces,
//! trailing spaces), with the line of the first value that is not a number.

use std::path::Path;

use polars::prelude::*;

use super::LoadParams;
use crate::steps::context::StepError;

/// Headerless text split on runs of whitespace (C-MAPSS style, trailing spaces allowed).
pub(super) fn read_whitespace(path: &Path, shown: &str, p: &LoadParams) -> Result<DataFrame, StepError> {
    let names = p.columns.clone().unwrap_or_default();
    let text =
        std::fs::read_to_string(path).map_err(|e| StepError::new(format!("cannot read {shown} as text: {e}")))?;
    let comment = p.comment.as_deref();
    let mut lines = text
        .lines()
        .enumerate()
        .skip(p.skip_rows)
        .filter(|(_, l)| !l.trim().is_empty() && !comment.is_some_and(|c| l.starts_with(c)));
    let names = if p.header == Some(true) {
        let (_, header) = lines
            .next()
            .ok_or_else(|| StepError::new(format!("{shown} is empty")))?;
        header.split_whitespace().map(str::to_string).collect()
    } else {
        names
    };
    let mut data: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let mut integral = vec![true; names.len()];
    for (index, line) in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() != names.len() {
            return Err(StepError::new(format!(
                "{shown}: line {} has {} fields but {} columns are named; check `columns`",
                index + 1,
                fields.len(),
                names.len()
            )));
        }
        for (c, field) in fields.iter().enumerate() {
            let value = if p.null_values.iter().any(|n| n == field) {
                f64::NAN
            } else {
                field.parse::<f64>().map_err(|_| {
                    StepError::new(format!(
                        "{shown}: column `{}`: value `{field}` on line {} is not a number",
                        names[c],
                        index + 1
                    ))
                })?
            };
            integral[c] &= value.is_nan() || (value.fract() == 0.0 && value.abs() < 9.0e15 && !field.contains('.'));
            data[c].push(value);
        }
    }
    let columns: Vec<Column> = names
        .iter()
        .zip(data)
        .zip(integral)
        .map(|((name, values), int)| {
            if int && values.iter().all(|v| !v.is_nan()) {
                Column::new(
                    name.as_str().into(),
                    values.iter().map(|v| *v as i64).collect::<Vec<i64>>(),
                )
            } else {
                let opt: Vec<Option<f64>> = values.iter().map(|v| (!v.is_nan()).then_some(*v)).collect();
                Column::new(name.as_str().into(), opt)
            }
        })
        .collect();
    Ok(DataFrame::new_infer_height(columns)?)
}
