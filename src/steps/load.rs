//! `load`: CSV, Parquet or headerless whitespace-separated text into a table, with the
//! timestamp, entity and label columns checked. Messy real files (BOM, CRLF, trailing spaces,
//! a stray `ERR` among numbers) get errors that name the file, the column and the first bad row.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use polars::prelude::*;

use crate::exec::context::{StepContext, StepError, StepOutput};
use crate::pipeline::diagnostic::did_you_mean;
use crate::pipeline::fields::Fields;
use crate::table::{Roles, Table};

#[derive(Debug, Clone, PartialEq)]
pub struct LoadParams {
    pub path: String,
    pub format: Format,
    /// Column names for files without a header (required for `whitespace`).
    pub columns: Option<Vec<String>>,
    pub header: Option<bool>,
    pub separator: u8,
    pub null_values: Vec<String>,
    pub roles: Roles,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Auto,
    Csv,
    Parquet,
    Whitespace,
}

const DEFAULT_NULLS: &[&str] = &["", "NA", "NaN", "nan", "null", "NULL"];

pub fn parse(f: &mut Fields) -> Option<LoadParams> {
    let path = f.required_str("path", " (a CSV, Parquet or whitespace-separated text file)");
    let format = match f.optional_choice("format", &["auto", "csv", "parquet", "whitespace"]) {
        None | Some("auto") => Format::Auto,
        Some("csv") => Format::Csv,
        Some("parquet") => Format::Parquet,
        Some(_) => Format::Whitespace,
    };
    let columns = f.optional_str_list("columns");
    let header = f.optional_bool("header");
    let separator = f.optional_str("separator");
    let separator_pos = f.node("separator").map(|n| n.pos);
    let separator = match separator.as_deref() {
        None => b',',
        Some("\\t") | Some("\t") => b'\t',
        Some(s) if s.len() == 1 && s.is_ascii() => s.as_bytes()[0],
        Some(s) => {
            f.error(
                separator_pos.unwrap_or(f.pos()),
                format!("`separator` must be one ASCII character, found `{s}`"),
            );
            b','
        }
    };
    let null_values = f
        .optional_str_list("null-values")
        .unwrap_or_else(|| DEFAULT_NULLS.iter().map(|s| s.to_string()).collect());
    let roles = Roles {
        timestamp: f.optional_str("timestamp"),
        entity: f.optional_str("entity"),
        label: f.optional_str("label"),
    };
    let format = match (format, path.as_deref()) {
        (Format::Auto, Some(p)) => guess_format(p),
        (other, _) => other,
    };
    if format == Format::Whitespace && columns.is_none() && header != Some(true) {
        let pos = f.pos();
        f.error(
            pos,
            "whitespace-separated files have no header: list the column names under `columns`",
        );
    }
    Some(LoadParams {
        path: path?,
        format,
        columns,
        header,
        separator,
        null_values,
        roles,
    })
}

fn guess_format(path: &str) -> Format {
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".parquet") || lower.ends_with(".pq") {
        Format::Parquet
    } else if lower.ends_with(".txt") || lower.ends_with(".dat") {
        Format::Whitespace
    } else {
        Format::Csv
    }
}

pub fn run(p: &LoadParams, ctx: &mut StepContext) -> Result<StepOutput, StepError> {
    let shown = p.path.clone();
    // Objects in S3 are downloaded to a temporary file first, so every reader and every error
    // message works the same for them as for local files.
    let downloaded = if p.path.starts_with("s3://") {
        Some(download(&p.path)?)
    } else {
        None
    };
    let path = downloaded
        .as_ref()
        .map(|d| d.0.clone())
        .unwrap_or_else(|| ctx.resolve(&p.path));
    let meta = std::fs::metadata(&path)
        .map_err(|e| StepError::new(format!("cannot read {shown} ({}): {e}", path.display())))?;
    // Only regular files have a meaningful size; a named pipe (`<(zcat x.gz)`) reports 0.
    if meta.is_file() && meta.len() == 0 {
        return Err(StepError::new(format!(
            "{shown} is empty; expected a header and data rows"
        )));
    }
    let frame = match p.format {
        Format::Parquet => {
            ParquetReader::new(std::fs::File::open(&path).map_err(|e| StepError::new(format!("{shown}: {e}")))?)
                .finish()
                .map_err(|e| StepError::new(format!("{shown} is not a readable Parquet file: {e}")))?
        }
        Format::Whitespace => read_whitespace(&path, &shown, p)?,
        Format::Csv | Format::Auto => read_csv(&path, &shown, p)?,
    };
    if frame.height() == 0 {
        return Err(StepError::new(format!("{shown} has a header but no data rows")));
    }
    let mut frame = check_roles(frame, &p.roles, &shown, header_lines(p))?;
    // The CSV reader returns many small chunks per column. `clean` works on this frame as it is
    // handed over in memory, and took 13.7 s on the 10M-row benchmark's chunked frame against
    // 7.7 s on the same frame read back from Parquet; one contiguous chunk costs one copy.
    frame.rechunk_mut_par();
    ctx.metric("rows", frame.height() as f64);
    ctx.metric("columns", frame.width() as f64);
    let report = serde_json::json!({
        "source": shown,
        "rows": frame.height(),
        "columns": frame.columns().iter().map(|c| serde_json::json!({
            "name": c.name().as_str(), "dtype": c.dtype().to_string(), "nulls": c.null_count(),
        })).collect::<Vec<_>>(),
        "roles": p.roles,
    });
    Ok(StepOutput {
        tables: vec![(
            "frame".into(),
            Table {
                frame,
                roles: p.roles.clone(),
            },
        )],
        reports: vec![("load_report".into(), report)],
        ..Default::default()
    })
}

/// A downloaded copy of an object, deleted when dropped.
struct Downloaded(std::path::PathBuf);

impl Drop for Downloaded {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Fetches `s3://bucket/key` into a temporary file (keeping its extension for format detection).
/// Runs on the step's blocking thread, inside the runtime.
fn download(url: &str) -> Result<Downloaded, StepError> {
    let store = crate::artifacts::store_for_url(url).map_err(|e| StepError::new(e.to_string()))?;
    let handle =
        tokio::runtime::Handle::try_current().map_err(|e| StepError::new(format!("cannot read {url}: {e}")))?;
    let bytes = handle
        .block_on(store.get(url))
        .map_err(|e| StepError::new(e.to_string()))?;
    let name = url.rsplit('/').next().unwrap_or("input");
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let path = std::env::temp_dir().join(format!("pmflow-{}-{stamp}-{name}", std::process::id()));
    std::fs::write(&path, &bytes).map_err(|e| StepError::new(format!("cannot store a copy of {url}: {e}")))?;
    Ok(Downloaded(path))
}

fn header_lines(p: &LoadParams) -> usize {
    usize::from(
        p.header
            .unwrap_or(p.format != Format::Whitespace && p.columns.is_none()),
    )
}

fn read_csv(path: &Path, shown: &str, p: &LoadParams) -> Result<DataFrame, StepError> {
    let has_header = p.header.unwrap_or(p.columns.is_none());
    if has_header {
        check_header(path, shown, p.separator)?;
    }
    let reader = |infer: Option<usize>| -> PolarsResult<DataFrame> {
        let path_text = path.to_string_lossy().into_owned();
        let mut lazy = LazyCsvReader::new(PlRefPath::new(path_text))
            .with_has_header(has_header)
            .with_separator(p.separator)
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
        lazy.collect()
    };
    let lines = usize::from(has_header);
    let frame = match reader(Some(10_000)) {
        Ok(frame) => frame,
        Err(e) => {
            // Slow path, only on failure: read every value as text and find the first bad one.
            let text = reader(Some(0)).map_err(|_| StepError::new(format!("{shown}: {e}")))?;
            return Err(first_bad_value(&text, shown, lines).unwrap_or_else(|| StepError::new(format!("{shown}: {e}"))));
        }
    };
    let frame = strip_bom_from_names(frame)?;
    if let Some(err) = first_bad_value(&frame, shown, lines) {
        return Err(err);
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

/// Reads the header line and refuses duplicate or empty column names, naming both positions.
fn check_header(path: &Path, shown: &str, separator: u8) -> Result<(), StepError> {
    let file = std::fs::File::open(path).map_err(|e| StepError::new(format!("cannot read {shown}: {e}")))?;
    let mut line = String::new();
    BufReader::new(file.take(1 << 20))
        .read_line(&mut line)
        .map_err(|e| StepError::new(format!("{shown}: the header is not UTF-8 text ({e})")))?;
    let line = line.trim_start_matches('\u{feff}').trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() {
        return Err(StepError::new(format!(
            "{shown} is empty or starts with a blank line; expected a header"
        )));
    }
    let names: Vec<&str> = line
        .split(separator as char)
        .map(|n| n.trim().trim_matches('"'))
        .collect();
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

/// A text column where most values are numbers but some are not is almost always a sensor
/// column with junk in it (`ERR`, `--`, `1,5`): report the first bad value and its row.
fn first_bad_value(frame: &DataFrame, shown: &str, header_lines: usize) -> Option<StepError> {
    for column in frame.columns() {
        let Ok(values) = column.str() else { continue };
        let mut numeric = 0usize;
        let mut first_bad: Option<(usize, String)> = None;
        let mut present = 0usize;
        for (row, v) in values.iter().enumerate() {
            let Some(v) = v else { continue };
            present += 1;
            if v.trim().parse::<f64>().is_ok() {
                numeric += 1;
            } else if first_bad.is_none() {
                first_bad = Some((row, v.to_string()));
            }
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

/// Headerless text split on runs of whitespace (C-MAPSS style, trailing spaces allowed).
fn read_whitespace(path: &Path, shown: &str, p: &LoadParams) -> Result<DataFrame, StepError> {
    let names = p.columns.clone().unwrap_or_default();
    let text =
        std::fs::read_to_string(path).map_err(|e| StepError::new(format!("cannot read {shown} as text: {e}")))?;
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
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

/// Every declared role column exists; text timestamps become datetimes; labels are 0/1.
fn check_roles(mut frame: DataFrame, roles: &Roles, shown: &str, header_lines: usize) -> Result<DataFrame, StepError> {
    let names: Vec<String> = frame.get_column_names().iter().map(|n| n.to_string()).collect();
    for (role, column) in [
        ("timestamp", &roles.timestamp),
        ("entity", &roles.entity),
        ("label", &roles.label),
    ] {
        if let Some(c) = column {
            if !names.contains(c) {
                let hint = did_you_mean(c, names.iter().map(String::as_str));
                return Err(StepError::new(format!(
                    "`with.{role}`: column `{c}` is not in {shown}{hint}; columns are: {}",
                    names.join(", ")
                )));
            }
        }
    }
    if let Some(ts) = &roles.timestamp {
        if frame.column(ts)?.dtype() == &DataType::String {
            let parsed = parse_timestamps(frame.column(ts)?, shown, header_lines)?;
            frame.replace(ts, parsed.into_column())?;
        }
    }
    if let Some(label) = &roles.label {
        let column = frame.column(label)?.clone();
        let as_int = column
            .cast(&DataType::Int64)
            .map_err(|_| label_error(label, shown, "is not numeric"))?;
        for (row, v) in as_int.i64()?.iter().enumerate() {
            match v {
                Some(0) | Some(1) => {}
                Some(other) => {
                    return Err(label_error(
                        label,
                        shown,
                        &format!("has {other} at row {} (line {})", row + 1, row + 1 + header_lines),
                    ))
                }
                None => {
                    return Err(label_error(
                        label,
                        shown,
                        &format!("is missing at row {} (line {})", row + 1, row + 1 + header_lines),
                    ))
                }
            }
        }
        frame.replace(label, as_int)?;
    }
    Ok(frame)
}

fn label_error(label: &str, shown: &str, what: &str) -> StepError {
    StepError::new(format!(
        "{shown}: label column `{label}` {what}; a label must be 0 or 1 (or true/false) on every row"
    ))
}

const TIME_FORMATS: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
];

fn parse_timestamps(column: &Column, shown: &str, header_lines: usize) -> Result<Series, StepError> {
    let values = column.str()?;
    let mut out: Vec<Option<i64>> = Vec::with_capacity(values.len());
    for (row, v) in values.iter().enumerate() {
        let Some(v) = v else {
            out.push(None);
            continue;
        };
        let v = v.trim();
        let parsed = chrono::DateTime::parse_from_rfc3339(v)
            .map(|d| d.naive_utc())
            .ok()
            .or_else(|| {
                TIME_FORMATS
                    .iter()
                    .find_map(|f| chrono::NaiveDateTime::parse_from_str(v, f).ok())
            })
            .or_else(|| {
                chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
            });
        match parsed {
            Some(t) => out.push(Some(t.and_utc().timestamp_millis())),
            None => {
                return Err(StepError::new(format!(
                    "{shown}: timestamp column `{}`: `{v}` at row {} (line {}) is not a date-time; use ISO 8601 such as 2024-03-01T12:00:00",
                    column.name(),
                    row + 1,
                    row + 1 + header_lines
                )))
            }
        }
    }
    Ok(Series::new(column.name().clone(), out).cast(&DataType::Datetime(TimeUnit::Milliseconds, None))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn repo() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    fn params(path: &str) -> LoadParams {
        LoadParams {
            path: path.into(),
            format: guess_format(path),
            columns: None,
            header: None,
            separator: b',',
            null_values: DEFAULT_NULLS.iter().map(|s| s.to_string()).collect(),
            roles: Roles::default(),
        }
    }

    fn load(root: &Path, p: &LoadParams) -> Result<Table, StepError> {
        let (mut ctx, _rx) = StepContext::detached(root, Vec::new());
        run(p, &mut ctx).map(|mut out| out.tables.remove(0).1)
    }

    #[test]
    fn ai4i_with_bom_crlf_and_bracketed_names() {
        // ../shared/data/README.md: 10,000 rows x 14 columns, 339 failures, a BOM and CRLF.
        let mut p = params("data/ai4i2020/ai4i2020.csv");
        p.roles.label = Some("Machine failure".into());
        let t = load(&repo(), &p).unwrap();
        assert_eq!(t.frame.shape(), (10_000, 14));
        let names: Vec<String> = t.frame.get_column_names().iter().map(|n| n.to_string()).collect();
        assert_eq!(names[0], "UDI", "BOM stripped from the first name");
        assert!(names.contains(&"Air temperature [K]".to_string()));
        assert!(names.contains(&"Rotational speed [rpm]".to_string()));
        let label = t.frame.column("Machine failure").unwrap().i64().unwrap().sum();
        assert_eq!(label, Some(339));
        let air = t.frame.column("Air temperature [K]").unwrap();
        assert_eq!(
            air.dtype(),
            &DataType::Float64,
            "CRLF must not leak into the last or any value"
        );
        assert_eq!(
            t.frame.column("TWF").unwrap().dtype(),
            &DataType::Int64,
            "last column parsed despite CRLF"
        );
    }

    #[test]
    fn cmapss_headerless_whitespace_with_trailing_spaces() {
        // ../shared/data/README.md: 20,631 rows, 100 engines, 26 columns.
        let mut p = params("data/cmapss_fd001/train_FD001.txt");
        let mut names = vec!["unit".to_string(), "cycle".into()];
        names.extend((1..=3).map(|i| format!("setting_{i}")));
        names.extend((1..=21).map(|i| format!("s{i}")));
        p.columns = Some(names);
        p.roles.entity = Some("unit".into());
        p.roles.timestamp = Some("cycle".into());
        let t = load(&repo(), &p).unwrap();
        assert_eq!(t.frame.shape(), (20_631, 26));
        assert_eq!(t.frame.column("unit").unwrap().dtype(), &DataType::Int64);
        assert_eq!(t.frame.column("unit").unwrap().n_unique().unwrap(), 100);
        // First line of train_FD001.txt: "1 1 -0.0007 -0.0004 100.0 518.67 641.82 ..."
        assert_eq!(
            t.frame.column("setting_1").unwrap().f64().unwrap().get(0),
            Some(-0.0007)
        );
        assert_eq!(t.frame.column("s2").unwrap().f64().unwrap().get(0), Some(641.82));
    }

    #[test]
    fn messy_files_get_errors_naming_file_column_and_row() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write("empty.csv", "");
        write("dup.csv", "a,b,a\n1,2,3\n");
        write("header_only.csv", "a,b\n");
        write("junk.csv", "t,x\n1,1.5\n2,2.5\n3,ERR\n4,4.5\n");
        write("label.csv", "t,y\n1,0\n2,1\n3,2\n");
        write("when.csv", "t,x\n2024-01-01 00:00:00,1\nyesterday,2\n");
        write("ragged.txt", "1 2 3\n4 5\n");

        let err = |p: LoadParams| load(dir.path(), &p).unwrap_err().0;
        assert!(err(params("empty.csv")).contains("empty.csv is empty"));
        assert!(err(params("dup.csv")).contains("duplicate column name `a` in the header (columns 1 and 3)"));
        assert!(err(params("header_only.csv")).contains("no data rows"));
        let e = err(params("junk.csv"));
        assert!(e.contains("junk.csv: column `x`: value `ERR` at row 3 (line 4)"), "{e}");
        let mut p = params("label.csv");
        p.roles.label = Some("y".into());
        assert!(err(p).contains("label column `y` has 2 at row 3 (line 4)"));
        let mut p = params("when.csv");
        p.roles.timestamp = Some("t".into());
        assert!(err(p).contains("`yesterday` at row 2 (line 3) is not a date-time"));
        let mut p = params("junk.csv");
        p.roles.entity = Some("machine".into());
        p.null_values.push("ERR".into());
        let e = err(p);
        assert!(e.contains("`with.entity`: column `machine` is not in junk.csv"), "{e}");
        let mut p = params("ragged.txt");
        p.columns = Some(vec!["a".into(), "b".into(), "c".into()]);
        assert!(err(p).contains("ragged.txt: line 2 has 2 fields but 3 columns are named"));
        assert!(err(params("absent.csv")).contains("cannot read absent.csv"));
    }

    #[test]
    fn null_values_read_junk_as_missing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("junk.csv"), "t,x\n1,1.5\n2,ERR\n3,3.5\n").unwrap();
        let mut p = params("junk.csv");
        p.null_values.push("ERR".into());
        let t = load(dir.path(), &p).unwrap();
        assert_eq!(t.frame.column("x").unwrap().null_count(), 1);
        assert_eq!(t.frame.column("x").unwrap().dtype(), &DataType::Float64);
    }
}
