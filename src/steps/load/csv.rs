//! Reading one CSV file for `load`: the header checked (duplicate names, notes above it), types
//! inferred by polars, and, when something is wrong, the file, column, value and line of the
//! first problem rather than the reader's own message.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use polars::prelude::*;

use super::{check_selected, selected, LoadParams};
use crate::steps::context::StepError;
use crate::steps::timestamps;

/// Reads a CSV file whose header (if any) follows `preamble` lines of notes.
pub(super) fn read_csv(path: &Path, shown: &str, p: &LoadParams, preamble: usize) -> Result<DataFrame, StepError> {
    let has_header = p.header.unwrap_or(p.columns.is_none());
    if has_header {
        check_header(path, shown, p.separator, preamble)?;
    }
    // The timestamp column is read as text and parsed by pmflow when the user gives its layout
    // (the reader's own date guessing could pick another order for `01/02/2024`), and when it
    // is ISO 8601, which pmflow parses byte by byte while polars falls back to chrono.
    let timestamp_as_text = match (&p.time.format, &p.roles.timestamp, &p.columns) {
        (Some(_), Some(ts), None) => Some(ts),
        (None, Some(ts), None) if first_text_of(path, p, preamble, ts).is_some_and(|v| timestamps::is_iso(&v)) => {
            Some(ts)
        }
        _ => None,
    }
    .map(|ts| Arc::new(Schema::from_iter([Field::new(ts.as_str().into(), DataType::String)])));
    let wanted = selected(p);
    if let Some(wanted) = &wanted {
        let names = csv_column_names(path, p, preamble)?;
        check_selected(wanted, &names, shown)?;
    }
    let reader = |infer: Option<usize>| -> PolarsResult<DataFrame> {
        let path_text = path.to_string_lossy().into_owned();
        let mut lazy = LazyCsvReader::new(PlRefPath::new(path_text))
            .with_has_header(has_header)
            .with_skip_rows(p.skip_rows)
            .with_comment_prefix(p.comment.as_deref().map(PlSmallStr::from))
            .with_separator(p.separator)
            .with_decimal_comma(p.decimal_comma)
            .with_dtype_overwrite(timestamp_as_text.clone())
            .with_null_values(Some(NullValues::AllColumns(
                p.null_values.iter().map(|s| s.as_str().into()).collect(),
            )))
            .with_infer_schema_length(infer)
            .with_try_parse_dates(infer != Some(0))
            .finish()?;
        if let Some(names) = &p.columns {
            let old: Vec<String> = lazy.collect_schema()?.iter_names().map(|n| n.to_string()).collect();
            if old.len() != names.len() {
                return Err(
                    polars_err!(ComputeError: "the file has {} columns but `columns` names {}", old.len(), names.len()),
                );
            }
            lazy = lazy.rename(old, names.clone(), true);
        }
        if let Some(wanted) = &wanted {
            lazy = lazy.select(wanted.iter().map(|c| col(c.as_str())).collect::<Vec<_>>());
        }
        lazy.collect()
    };
    let lines = preamble + usize::from(has_header);
    let frame = match reader(Some(10_000)) {
        Ok(frame) => frame,
        Err(e) if e.to_string().contains("more fields than") => {
            return Err(
                ragged_line(path, shown, p, preamble).unwrap_or_else(|| StepError::new(format!("{shown}: {e}")))
            );
        }
        Err(e) => {
            // Slow path, only on failure: read every value as text and find the first bad one.
            let text = reader(Some(0)).map_err(|_| StepError::new(format!("{shown}: {e}")))?;
            return Err(first_bad_value(&text, shown, lines, p.decimal_comma)
                .unwrap_or_else(|| StepError::new(format!("{shown}: {e}"))));
        }
    };
    let frame = strip_bom_from_names(frame)?;
    if let Some(err) = first_bad_value(&frame, shown, lines, p.decimal_comma) {
        return Err(err);
    }
    if let (Some(ts), None) = (&p.roles.timestamp, &p.time.format) {
        if let (Ok(parsed), Some(first)) = (frame.column(ts), first_text_of(path, p, preamble, ts)) {
            if matches!(parsed.dtype(), DataType::Datetime(..) | DataType::Date) {
                timestamps::check_day_month_order(&first, parsed, shown)?;
            }
        }
    }
    Ok(frame)
}

/// polars keeps a UTF-8 byte-order mark as part of the first column name; drop it.
fn strip_bom_from_names(mut frame: DataFrame) -> Result<DataFrame, StepError> {
    if let Some(first) = frame.get_column_names().first().map(|n| n.to_string()) {
        if let Some(clean) = first.strip_prefix('\u{feff}') {
            frame.rename(&first, clean.into())?;
        }
    }
    Ok(frame)
}

/// The fields of one CSV line as written: byte-order mark and line end removed, each field
/// trimmed of spaces and quotes.
fn fields(line: &str, separator: u8) -> Vec<String> {
    line.trim_start_matches('\u{feff}')
        .trim_end_matches(['\r', '\n'])
        .split(separator as char)
        .map(|f| f.trim().trim_matches('"').to_string())
        .collect()
}

/// A CSV file's column names: `columns` when given, else its header line.
fn csv_column_names(path: &Path, p: &LoadParams, preamble: usize) -> Result<Vec<String>, StepError> {
    if let Some(names) = &p.columns {
        return Ok(names.clone());
    }
    let file = std::fs::File::open(path).map_err(|e| StepError::new(format!("cannot read {}: {e}", path.display())))?;
    let header = BufReader::new(file.take(1 << 20))
        .lines()
        .map_while(Result::ok)
        .nth(preamble)
        .unwrap_or_default();
    Ok(fields(&header, p.separator))
}

/// The lines before the header: `skip-rows`, then any comment lines.
pub(super) fn preamble_lines(path: &Path, p: &LoadParams) -> usize {
    let Some(prefix) = &p.comment else { return p.skip_rows };
    let Ok(file) = std::fs::File::open(path) else {
        return p.skip_rows;
    };
    let comments = BufReader::new(file.take(1 << 20))
        .lines()
        .map_while(Result::ok)
        .skip(p.skip_rows)
        .take_while(|l| l.trim_start_matches('\u{feff}').starts_with(prefix.as_str()))
        .count();
    p.skip_rows + comments
}

/// The first line with more fields than the header, as an error that names it and, when the
/// cause is notes above the header, how to skip them.
fn ragged_line(path: &Path, shown: &str, p: &LoadParams, preamble: usize) -> Option<StepError> {
    let text = std::fs::File::open(path).ok()?;
    let fields = |l: &str| l.split(p.separator as char).count();
    let mut lines = BufReader::new(text)
        .lines()
        .map_while(Result::ok)
        .enumerate()
        .skip(preamble);
    let (header_index, header) = lines.next()?;
    let (index, line) = lines.find(|(_, l)| fields(l) > fields(&header))?;
    let hint = if header_index == 0 && index < 20 {
        " If the file starts with notes above its header, skip them with `skip-rows: N` or `comment: \"#\"`."
    } else {
        " Check that field's quoting, or the `separator`."
    };
    Some(StepError::new(format!(
        "{shown}: line {} has {} fields but the header (line {}) has {}.{hint}",
        index + 1,
        fields(&line),
        header_index + 1,
        fields(&header)
    )))
}

/// Reads the header line and refuses duplicate or empty column names, naming both positions.
fn check_header(path: &Path, shown: &str, separator: u8, preamble: usize) -> Result<(), StepError> {
    let file = std::fs::File::open(path).map_err(|e| StepError::new(format!("cannot read {shown}: {e}")))?;
    let mut line = String::new();
    let mut reader = BufReader::new(file.take(1 << 20));
    for _ in 0..=preamble {
        line.clear();
        reader
            .read_line(&mut line)
            .map_err(|e| StepError::new(format!("{shown}: the header is not UTF-8 text ({e})")))?;
    }
    if line.trim_start_matches('\u{feff}').trim().is_empty() {
        return Err(StepError::new(format!(
            "{shown} is empty or starts with a blank line; expected a header"
        )));
    }
    let names = fields(&line, separator);
    for (i, name) in names.iter().enumerate() {
        if let Some(j) = names[..i].iter().position(|n| n == name) {
            return Err(StepError::new(format!(
                "{shown}: duplicate column name `{name}` in the header (columns {} and {}); rename one",
                j + 1,
                i + 1
            )));
        }
    }
    Ok(())
}

/// The first data row's text in column `name` (quotes trimmed), read from the file itself:
/// what the value looked like before the reader turned it into something else.
fn first_text_of(path: &Path, p: &LoadParams, preamble: usize, name: &str) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    let mut lines = BufReader::new(file.take(1 << 20))
        .lines()
        .map_while(Result::ok)
        .skip(preamble)
        .filter(|l| !p.comment.as_ref().is_some_and(|c| l.starts_with(c.as_str())));
    let names = match &p.columns {
        Some(names) => names.clone(),
        None => fields(&lines.next()?, p.separator),
    };
    let index = names.iter().position(|n| n == name)?;
    let data = lines.find(|l| !l.trim().is_empty())?;
    fields(&data, p.separator).into_iter().nth(index)
}

/// A text column where most values are numbers but some are not is almost always a sensor
/// column with junk in it (`ERR`, `--`): report the first bad value and its row. A column of
/// nothing but `18,286`-style values is numbers with a decimal comma: say how to read them.
fn first_bad_value(frame: &DataFrame, shown: &str, header_lines: usize, decimal_comma: bool) -> Option<StepError> {
    for column in frame.columns() {
        let Ok(values) = column.str() else { continue };
        let mut numeric = 0usize;
        let mut comma_numeric = 0usize;
        let mut first_bad: Option<(usize, String)> = None;
        let mut present = 0usize;
        for (row, v) in values.iter().enumerate() {
            let Some(v) = v else { continue };
            present += 1;
            let v = v.trim();
            if v.parse::<f64>().is_ok() {
                numeric += 1;
            } else {
                if !decimal_comma && v.matches(',').count() == 1 && v.replacen(',', ".", 1).parse::<f64>().is_ok() {
                    comma_numeric += 1;
                }
                if first_bad.is_none() {
                    first_bad = Some((row, v.to_string()));
                }
            }
        }
        if comma_numeric > 0 && numeric + comma_numeric == present {
            let (row, value) = first_bad.unwrap_or_default();
            return Some(StepError::new(format!(
                "{shown}: column `{}` holds numbers with a decimal comma (`{value}` at row {}, line {}); add `decimal: \",\"` to `load` so they are read as numbers",
                column.name(),
                row + 1,
                row + 1 + header_lines
            )));
        }
        if let Some((row, value)) = first_bad {
            if numeric * 2 >= present && numeric > 0 {
                return Some(StepError::new(format!(
                    "{shown}: column `{}`: value `{value}` at row {} (line {}) is not a number, though {numeric} of {present} values are; fix the file or list the value under `null-values` to read it as missing",
                    column.name(),
                    row + 1,
                    row + 1 + header_lines
                )));
            }
        }
    }
    None
}
