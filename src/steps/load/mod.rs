//! `load`: CSV, Parquet or headerless whitespace-separated text (one file, or a pattern of many,
//! local or S3, `.gz`/`.zst` too) into a table, with the
//! timestamp, entity and label columns checked. Messy real files (BOM, CRLF, trailing spaces,
//! a stray `ERR` among numbers) get errors that name the file, the column and the first bad row.

mod csv;
mod finite;
mod text;

use std::path::Path;

use polars::prelude::*;

use crate::frame::{Roles, Table};
use crate::pipeline::diagnostic::did_you_mean;
use crate::pipeline::fields::Fields;
use crate::steps::context::{StepContext, StepError, StepOutput};
use crate::steps::ports::{Effect, Input, Output, OutputKind, Ports};
use crate::steps::sources;
use crate::steps::timestamps::{self, EpochUnit, TimeSpec};
use csv::{preamble_lines, read_csv};
pub use finite::NonFinite;
use text::read_whitespace;

#[derive(Debug, Clone, PartialEq)]
pub struct LoadParams {
    pub path: String,
    pub format: Format,
    /// Column names for files without a header (required for `whitespace`).
    pub columns: Option<Vec<String>>,
    pub header: Option<bool>,
    pub separator: u8,
    /// Numbers written `3,14` (`decimal: ","`), as European exports do.
    pub decimal_comma: bool,
    pub null_values: Vec<String>,
    pub roles: Roles,
    /// How the timestamp column is written, when it is not ISO 8601 text or date-times.
    pub time: TimeSpec,
    /// With a pattern matching several files: a column naming each row's file (its stem).
    pub file_column: Option<String>,
    /// Lines before the header to ignore (an export's notes), and a prefix marking comment
    /// lines anywhere.
    pub skip_rows: usize,
    pub comment: Option<String>,
    /// Only these columns (and the role columns) are read: a wide export's other hundreds of
    /// columns cost neither time nor memory.
    pub select: Option<Vec<String>>,
    /// Infinite numbers (`inf`, `1e400`): read as missing with a warning, or refused.
    pub non_finite: NonFinite,
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
    let decimal_comma = f.optional_choice("decimal", &[".", ","]) == Some(",");
    if decimal_comma && separator == b',' {
        let pos = f.node("decimal").map(|n| n.pos).unwrap_or(f.pos());
        f.error(
            pos,
            "`decimal: \",\"` needs another `separator` (files with decimal commas separate fields with `;` or a tab)",
        );
    }
    let time = TimeSpec {
        format: f.optional_str("timestamp-format"),
        unit: f
            .optional_choice("timestamp-unit", EpochUnit::NAMES)
            .and_then(EpochUnit::from_name),
    };
    if let Some(Err(problem)) = time.format.as_deref().map(timestamps::check_format) {
        let pos = f.node("timestamp-format").map(|n| n.pos).unwrap_or(f.pos());
        f.error(pos, format!("`timestamp-format`: {problem}"));
    }
    if time.format.is_some() && time.unit.is_some() {
        let pos = f.pos();
        f.error(
            pos,
            "give `timestamp-format` (for text) or `timestamp-unit` (for numbers since 1970), not both",
        );
    }
    let file_column = f.optional_str("file-column");
    let skip_rows = f.optional_int("skip-rows", 0, 1_000_000).unwrap_or(0) as usize;
    let comment = f.optional_str("comment");
    let select = f.optional_str_list("select");
    let non_finite = f
        .optional_choice("non-finite", NonFinite::NAMES)
        .and_then(NonFinite::from_name)
        .unwrap_or_default();
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
        decimal_comma,
        null_values,
        roles,
        time,
        file_column,
        skip_rows,
        comment,
        select,
        non_finite,
    })
}

fn guess_format(path: &str) -> Format {
    let lower = sources::without_compression(path).to_ascii_lowercase();
    if lower.ends_with(".parquet") || lower.ends_with(".pq") {
        Format::Parquet
    } else if lower.ends_with(".txt") || lower.ends_with(".dat") {
        Format::Whitespace
    } else {
        Format::Csv
    }
}

pub fn run(p: &LoadParams, ctx: &mut StepContext) -> Result<StepOutput, StepError> {
    let found = sources::expand(&p.path, &ctx.root, ctx.remote.as_ref())?;
    let mut frames = Vec::with_capacity(found.len());
    let mut infinite_values = 0;
    for source in &found {
        // One file is named as the pipeline names it; the matches of a pattern by their path.
        let shown = if sources::is_pattern(&p.path) {
            Path::new(source)
                .strip_prefix(&ctx.root)
                .map(|r| r.display().to_string())
                .unwrap_or_else(|_| source.clone())
        } else {
            p.path.clone()
        };
        let file = sources::open(source, &shown, ctx.remote.as_ref())?;
        let (frame, infinities) = read_source(&file, p)?;
        for (found, warning) in infinities {
            infinite_values += found;
            ctx.warn(warning);
        }
        frames.push((shown, frame));
    }
    let frame = combine(frames, p)?;
    finish(p, frame, found, infinite_values, ctx)
}

/// `load` on rows already in memory (scoring requests, a frame another tool made): the file
/// reading is skipped, everything after it is as [`run`] does, so the rows come out with the
/// same roles, types and checks as the pipeline's own data. `shown` names them in messages.
pub fn run_on_frame(
    p: &LoadParams,
    frame: DataFrame,
    shown: &str,
    ctx: &mut StepContext,
) -> Result<StepOutput, StepError> {
    if frame.height() == 0 {
        return Err(StepError::new(format!("{shown} has no rows")));
    }
    let frame = match selected(p) {
        Some(wanted) => {
            let names: Vec<String> = frame.get_column_names().iter().map(|n| n.to_string()).collect();
            check_selected(&wanted, &names, shown)?;
            frame.select(wanted)?
        }
        None => frame,
    };
    let (frame, infinities) = conform(frame, p, shown, 0)?;
    let mut infinite_values = 0;
    for (found, warning) in infinities {
        infinite_values += found;
        ctx.warn(warning);
    }
    finish(p, frame, vec![shown.to_string()], infinite_values, ctx)
}

/// What `load` does once it has the frame: empty columns named, one contiguous chunk, the
/// metrics and the report.
fn finish(
    p: &LoadParams,
    mut frame: DataFrame,
    found: Vec<String>,
    infinite_values: usize,
    ctx: &mut StepContext,
) -> Result<StepOutput, StepError> {
    for column in frame.columns() {
        if column.null_count() == frame.height() {
            let name = column.name().as_str();
            if let Some(role) = p.roles.role_of(name) {
                return Err(StepError::new(format!(
                    "{}: the {role} column `{name}` is empty on every row; point `with.{role}` at the column that holds it",
                    p.path
                )));
            }
            ctx.warn(format!(
                "{}: column `{}` is empty on every row; no step will use it as a feature",
                p.path,
                column.name()
            ));
        }
    }
    // The CSV reader returns many small chunks per column. `clean` works on this frame as it is
    // handed over in memory, and took 13.7 s on the 10M-row benchmark's chunked frame against
    // 7.7 s on the same frame read back from Parquet; one contiguous chunk costs one copy.
    frame.rechunk_mut_par();
    ctx.metric("rows", frame.height() as f64);
    ctx.metric("columns", frame.width() as f64);
    ctx.metric("files", found.len() as f64);
    ctx.metric("infinite_values", infinite_values as f64);
    let report = serde_json::json!({
        "source": p.path,
        "files": found,
        "rows": frame.height(),
        "columns": frame.columns().iter().map(|c| serde_json::json!({
            "name": c.name().as_str(), "dtype": c.dtype().to_string(), "nulls": c.null_count(),
        })).collect::<Vec<_>>(),
        "roles": p.roles,
        "infinite_values_read_as_missing": infinite_values,
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

/// One file as a frame with its role columns checked and converted, and the infinities it held
/// (each column's count with its warning), now missing.
fn read_source(file: &sources::Source, p: &LoadParams) -> Result<(DataFrame, Vec<(usize, String)>), StepError> {
    let (path, shown) = (&file.path, file.shown.as_str());
    let meta = std::fs::metadata(path)
        .map_err(|e| StepError::new(format!("cannot read {shown} ({}): {e}", path.display())))?;
    // Only regular files have a meaningful size; a named pipe (`<(zcat x.gz)`) reports 0.
    if meta.is_file() && meta.len() == 0 {
        return Err(StepError::new(format!(
            "{shown} is empty; expected a header and data rows"
        )));
    }
    // Lines of notes above a text file's header, found once for the reader and the line
    // numbers in later errors.
    if p.format != Format::Parquet && starts_with(path, b"PAR1") {
        return Err(StepError::new(format!(
            "{shown} is a Parquet file, not text; name it `.parquet` or set `format: parquet`"
        )));
    }
    let preamble = match p.format {
        Format::Parquet => 0,
        _ => preamble_lines(path, p),
    };
    let frame = match p.format {
        Format::Parquet => {
            let file = std::fs::File::open(path).map_err(|e| StepError::new(format!("{shown}: {e}")))?;
            let not_parquet = |e: PolarsError| StepError::new(format!("{shown} is not a readable Parquet file: {e}"));
            let mut reader = ParquetReader::new(file);
            if let Some(wanted) = selected(p) {
                let names: Vec<String> = reader
                    .schema()
                    .map_err(not_parquet)?
                    .iter_names()
                    .map(|n| n.to_string())
                    .collect();
                check_selected(&wanted, &names, shown)?;
                reader = reader.with_columns(Some(wanted));
            }
            reader.finish().map_err(not_parquet)?
        }
        Format::Whitespace => {
            let frame = read_whitespace(path, shown, p)?;
            match selected(p) {
                Some(wanted) => {
                    let names: Vec<String> = frame.get_column_names().iter().map(|n| n.to_string()).collect();
                    check_selected(&wanted, &names, shown)?;
                    frame.select(wanted)?
                }
                None => frame,
            }
        }
        Format::Csv | Format::Auto => read_csv(path, shown, p, preamble)?,
    };
    if frame.height() == 0 {
        return Err(StepError::new(format!("{shown} has a header but no data rows")));
    }
    let mut frame = frame;
    if let Some(name) = &p.file_column {
        if frame.get_column_names().iter().any(|n| n.as_str() == name) {
            return Err(StepError::new(format!(
                "`with.file-column`: {shown} already has a column `{name}`; choose another name"
            )));
        }
        let stem = Scalar::from(PlSmallStr::from(file.stem.as_str()));
        frame.with_column(Column::new_scalar(name.as_str().into(), stem, frame.height()))?;
    }
    let lines_above = header_lines(p) + preamble;
    conform(frame, p, shown, lines_above)
}

/// A frame as read, with its role columns checked and converted and its infinities read as
/// missing (each column's count with its warning). `lines_above` is how many lines precede the
/// first row, for the line numbers in messages.
fn conform(
    frame: DataFrame,
    p: &LoadParams,
    shown: &str,
    lines_above: usize,
) -> Result<(DataFrame, Vec<(usize, String)>), StepError> {
    let mut frame = check_roles(frame, p, shown, lines_above)?;
    let infinities = finite::infinities_to_missing(&mut frame, p.non_finite, shown, lines_above)?
        .into_iter()
        .map(|i| {
            let text = format!(
                "{}; read as missing (`non-finite: error` refuses them)",
                i.describe(shown, lines_above)
            );
            (i.count, text)
        })
        .collect();
    Ok((frame, infinities))
}

fn starts_with(path: &Path, magic: &[u8]) -> bool {
    let mut head = vec![0u8; magic.len()];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok()
        && head == magic
}

/// The frames of several files as one, in file order. Every file must have the same columns;
/// a column whose type differs between files takes the type that holds both (integers and
/// floats become floats), and a column empty in one file takes the other files' type.
fn combine(frames: Vec<(String, DataFrame)>, p: &LoadParams) -> Result<DataFrame, StepError> {
    let (files, mut frames): (Vec<String>, Vec<DataFrame>) = frames.into_iter().unzip();
    let mut combined = frames.remove(0);
    let names: Vec<PlSmallStr> = combined.get_column_names().into_iter().cloned().collect();
    for (i, mut next) in frames.into_iter().enumerate() {
        let shown = &files[i + 1];
        let next_names: Vec<PlSmallStr> = next.get_column_names().into_iter().cloned().collect();
        if let Some(missing) = names.iter().find(|n| !next_names.contains(n)) {
            return Err(StepError::new(format!(
                "{shown} has no column `{missing}`, which {} has; every file of `{}` needs the same columns",
                files[0], p.path
            )));
        }
        if let Some(extra) = next_names.iter().find(|n| !names.contains(n)) {
            return Err(StepError::new(format!(
                "{shown} has a column `{extra}` that {} has not; every file of `{}` needs the same columns",
                files[0], p.path
            )));
        }
        next = next.select(names.iter().cloned())?;
        for name in &names {
            let (a, b) = (combined.column(name)?, next.column(name)?);
            if a.dtype() == b.dtype() {
                continue;
            }
            let target = if b.null_count() == b.len() {
                a.dtype().clone()
            } else if a.null_count() == a.len() {
                b.dtype().clone()
            } else if a.dtype().is_integer() && b.dtype().is_integer() {
                DataType::Int64
            } else if a.dtype().is_primitive_numeric() && b.dtype().is_primitive_numeric() {
                DataType::Float64
            } else {
                return Err(StepError::new(format!(
                    "column `{name}` holds {} in {} but {} in {shown}; make them agree",
                    a.dtype(),
                    files[0],
                    b.dtype()
                )));
            };
            let (a, b) = (a.cast(&target)?, b.cast(&target)?);
            combined.replace(name, a)?;
            next.replace(name, b)?;
        }
        combined.vstack_mut(&next)?;
    }
    Ok(combined)
}

/// Whether the file has a header line (1) or not (0).
fn header_lines(p: &LoadParams) -> usize {
    usize::from(
        p.header
            .unwrap_or(p.format != Format::Whitespace && p.columns.is_none()),
    )
}

/// `select` and the role columns, in that order, or `None` to read every column.
pub(super) fn selected(p: &LoadParams) -> Option<Vec<String>> {
    let mut wanted = p.select.clone()?;
    for role in [&p.roles.timestamp, &p.roles.entity, &p.roles.label]
        .into_iter()
        .flatten()
    {
        if !wanted.contains(role) {
            wanted.push(role.clone());
        }
    }
    Some(wanted)
}

/// Every selected column is in the file, or an error names the first that is not.
pub(super) fn check_selected(wanted: &[String], names: &[String], shown: &str) -> Result<(), StepError> {
    match wanted.iter().find(|w| !names.contains(w)) {
        Some(missing) => {
            let hint = did_you_mean(missing, names.iter().map(String::as_str));
            Err(StepError::new(format!(
                "`with.select`: column `{missing}` is not in {shown}{hint}; columns are: {}",
                names.join(", ")
            )))
        }
        None => Ok(()),
    }
}

/// Every declared role column exists; text, dates and epoch numbers become date-times (as
/// `timestamp-format` and `timestamp-unit` say); labels are 0/1.
/// `header_lines` is how many lines precede the first data row (notes and header), for line
/// numbers in messages.
fn check_roles(mut frame: DataFrame, p: &LoadParams, shown: &str, header_lines: usize) -> Result<DataFrame, StepError> {
    let roles = &p.roles;
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
        if let Some(parsed) = timestamps::to_datetime(frame.column(ts)?, &p.time, shown, header_lines)? {
            frame.replace(ts, parsed.into_column())?;
        }
    }
    if let Some(label) = &roles.label {
        let flags = label_flags(frame.column(label)?, label, shown, header_lines)?;
        frame.replace(label, flags.into_column())?;
    }
    Ok(frame)
}

/// The label column as 0/1 integers. Numbers must be 0 or 1; text and booleans may also say
/// true/false or yes/no (any case). The first other value, or a missing one, is named with its
/// row and line.
fn label_flags(column: &Column, label: &str, shown: &str, header_lines: usize) -> Result<Int64Chunked, StepError> {
    let at = |row: usize| format!("at row {} (line {})", row + 1, row + 1 + header_lines);
    let missing = |row: usize| label_error(label, shown, &format!("is empty {}", at(row)));
    let flags: Vec<i64> = match column.dtype() {
        DataType::String => {
            let mut flags = Vec::with_capacity(column.len());
            for (row, v) in column.str()?.iter().enumerate() {
                let v = v.ok_or_else(|| missing(row))?;
                let flag = match v.trim().to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" => 1,
                    "0" | "false" | "no" => 0,
                    "" => return Err(missing(row)),
                    _ => return Err(label_error(label, shown, &format!("has `{v}` {}", at(row)))),
                };
                flags.push(flag);
            }
            flags
        }
        DataType::Boolean => {
            let mut flags = Vec::with_capacity(column.len());
            for (row, v) in column.bool()?.iter().enumerate() {
                flags.push(i64::from(v.ok_or_else(|| missing(row))?));
            }
            flags
        }
        dtype if dtype.is_primitive_numeric() => {
            let values = column.cast(&DataType::Float64)?;
            let mut flags = Vec::with_capacity(column.len());
            for (row, v) in values.f64()?.iter().enumerate() {
                match v {
                    Some(v) if v == 0.0 || v == 1.0 => flags.push(v as i64),
                    Some(v) => return Err(label_error(label, shown, &format!("has {v} {}", at(row)))),
                    None => return Err(missing(row)),
                }
            }
            flags
        }
        other => return Err(label_error(label, shown, &format!("holds {other}"))),
    };
    Ok(Int64Chunked::from_vec(label.into(), flags))
}

fn label_error(label: &str, shown: &str, what: &str) -> StepError {
    StepError::new(format!(
        "{shown}: label column `{label}` {what}; a label must be 0 or 1 (or true/false, yes/no) on every row"
    ))
}

/// Reads the file (or files) `path` names; writes the frame and what it found.
pub fn ports(p: &LoadParams) -> Ports<'_> {
    Ports {
        inputs: vec![Input::External {
            key: "with.path",
            path: &p.path,
        }],
        outputs: vec![Output::table("frame"), Output::of(OutputKind::Report, "load_report")],
        effect: Effect::None,
    }
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
            decimal_comma: false,
            null_values: DEFAULT_NULLS.iter().map(|s| s.to_string()).collect(),
            roles: Roles::default(),
            time: TimeSpec::default(),
            file_column: None,
            skip_rows: 0,
            comment: None,
            select: None,
            non_finite: NonFinite::Missing,
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
    fn european_and_regional_files() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        // Written by pandas 3.1.1: df.to_csv(sep=";", decimal=","); read back with
        // pd.read_csv(sep=";", decimal=",") the values are 18.286 and 17.7.
        write("euro.csv", "t;x\n24.01.2024 13:05;18,286\n24.01.2024 14:05;17,7\n");
        let mut p = params("euro.csv");
        p.separator = b';';
        let e = load(dir.path(), &p).unwrap_err().0;
        assert!(
            e.contains("euro.csv: column `x` holds numbers with a decimal comma (`18,286` at row 1, line 2); add `decimal: \",\"`"),
            "{e}"
        );
        p.decimal_comma = true;
        p.roles.timestamp = Some("t".into());
        p.time.format = Some("%d.%m.%Y %H:%M".into());
        let t = load(dir.path(), &p).unwrap();
        assert_eq!(
            t.frame.column("x").unwrap().f64().unwrap().to_vec(),
            [Some(18.286), Some(17.7)]
        );
        // pd.Timestamp("2024-01-24 13:05").value // 10**6 == 1706101500000
        let ms = t.frame.column("t").unwrap().cast(&DataType::Int64).unwrap();
        assert_eq!(ms.i64().unwrap().get(0), Some(1_706_101_500_000));

        // Month first, days up to 12 only: the reader would take it as day first.
        write("us.csv", "t,x\n01/02/2024 10:00,1\n01/03/2024 10:00,2\n");
        let mut p = params("us.csv");
        p.roles.timestamp = Some("t".into());
        let e = load(dir.path(), &p).unwrap_err().0;
        assert!(e.contains("`01/02/2024 10:00` could be day/month or month/day"), "{e}");
        p.time.format = Some("%m/%d/%Y %H:%M".into());
        let t = load(dir.path(), &p).unwrap();
        let day = |t: &Table, row: usize| {
            t.frame
                .column("t")
                .unwrap()
                .cast(&DataType::Int64)
                .unwrap()
                .i64()
                .unwrap()
                .get(row)
        };
        // pd.Timestamp("2024-01-03 10:00").value // 10**6
        assert_eq!(day(&t, 1), Some(1_704_276_000_000));

        // Dates alone become midnight date-times; Unix seconds become date-times with a unit.
        write("daily.csv", "t,x\n2024-01-03,1\n2024-01-04,2\n");
        let mut p = params("daily.csv");
        p.roles.timestamp = Some("t".into());
        let t = load(dir.path(), &p).unwrap();
        assert!(matches!(t.frame.column("t").unwrap().dtype(), DataType::Datetime(..)));
        assert_eq!(day(&t, 0), Some(1_704_240_000_000));
        write("epoch.csv", "t,x\n1704240000,1\n1704243600,2\n");
        let mut p = params("epoch.csv");
        p.roles.timestamp = Some("t".into());
        p.time.unit = Some(EpochUnit::Seconds);
        let t = load(dir.path(), &p).unwrap();
        assert_eq!(day(&t, 1), Some(1_704_243_600_000));
    }

    #[test]
    fn a_pattern_loads_every_matching_file_as_one_table() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("exports")).unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join("exports").join(name), text).unwrap();
        // One file per machine, no machine column; M2's pressure happens to be whole numbers.
        write(
            "M1.csv",
            "t,pressure\n2024-01-01T00:00:00,4.5\n2024-01-01T01:00:00,4.25\n",
        );
        write("M2.csv", "t,pressure\n2024-01-01T00:00:00,5\n");
        let mut p = params("exports/*.csv");
        p.file_column = Some("machine".into());
        p.roles.timestamp = Some("t".into());
        p.roles.entity = Some("machine".into());
        let t = load(dir.path(), &p).unwrap();
        let machines: Vec<Option<&str>> = t.frame.column("machine").unwrap().str().unwrap().iter().collect();
        assert_eq!(machines, [Some("M1"), Some("M1"), Some("M2")]);
        let pressure = t.frame.column("pressure").unwrap();
        assert_eq!(pressure.dtype(), &DataType::Float64);
        assert_eq!(pressure.f64().unwrap().to_vec(), [Some(4.5), Some(4.25), Some(5.0)]);

        // A gzip-compressed member is read like the others; a file with other columns is named.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, b"t,pressure\n2024-01-01T00:00:00,6.5\n").unwrap();
        std::fs::write(dir.path().join("exports/M3.csv.gz"), gz.finish().unwrap()).unwrap();
        let mut p_gz = p.clone();
        p_gz.path = "exports/*.csv*".into();
        assert_eq!(load(dir.path(), &p_gz).unwrap().frame.height(), 4);
        write("M4.csv", "t,pressure,flow\n2024-01-01T00:00:00,5,1\n");
        let e = load(dir.path(), &p).unwrap_err().0;
        assert!(
            e.contains("exports/M4.csv has a column `flow` that exports/M1.csv has not"),
            "{e}"
        );
    }

    #[test]
    fn notes_above_the_header_are_skipped_when_asked_and_named_when_not() {
        let dir = tempfile::tempdir().unwrap();
        let text = "# exported by SCADA v2.1, plant 4\n# units: degC, bar\nt,x,y\n2024-01-01T00:00:00,1.5,2\n2024-01-01T01:00:00,ERR,3\n";
        std::fs::write(dir.path().join("scada.csv"), text).unwrap();
        let mut p = params("scada.csv");
        p.roles.timestamp = Some("t".into());
        let e = load(dir.path(), &p).unwrap_err().0;
        assert!(
            e.contains("scada.csv: line 3 has 3 fields but the header (line 1) has 2."),
            "{e}"
        );
        assert!(e.contains("`skip-rows: N` or `comment: \"#\"`"), "{e}");
        for (skip, comment) in [(2, None), (0, Some("#".to_string()))] {
            let mut p = p.clone();
            p.skip_rows = skip;
            p.comment = comment;
            // Read past the notes; the junk value's line number still counts them.
            let e = load(dir.path(), &p).unwrap_err().0;
            assert!(e.contains("column `x`: value `ERR` at row 2 (line 5)"), "{e}");
            p.null_values.push("ERR".into());
            let t = load(dir.path(), &p).unwrap();
            assert_eq!(t.frame.shape(), (2, 3));
        }
        // Whitespace-separated text honours them too.
        std::fs::write(dir.path().join("engine.txt"), "# engine log\n1 2\n3 4\n").unwrap();
        let mut p = params("engine.txt");
        p.columns = Some(vec!["a".into(), "b".into()]);
        p.comment = Some("#".into());
        assert_eq!(load(dir.path(), &p).unwrap().frame.shape(), (2, 2));
    }

    #[test]
    fn select_reads_only_the_named_columns_and_the_roles() {
        let dir = tempfile::tempdir().unwrap();
        // Junk in a column that is not selected does not matter: it is never parsed.
        std::fs::write(
            dir.path().join("wide.csv"),
            "t,m,x,y,notes\n2024-01-01T00:00:00,A,1.5,ERR,hello\n2024-01-01T01:00:00,A,2.5,3,world\n",
        )
        .unwrap();
        let mut p = params("wide.csv");
        p.roles.timestamp = Some("t".into());
        p.roles.entity = Some("m".into());
        p.select = Some(vec!["x".into()]);
        let t = load(dir.path(), &p).unwrap();
        let names: Vec<String> = t.frame.get_column_names().iter().map(|n| n.to_string()).collect();
        assert_eq!(names, ["x", "t", "m"]);
        p.select = Some(vec!["z".into()]);
        let e = load(dir.path(), &p).unwrap_err().0;
        assert!(e.contains("`with.select`: column `z` is not in wide.csv"), "{e}");
        // The same for Parquet and whitespace-separated text.
        let mut frame = df!("a" => [1.0, 2.0], "b" => [3.0, 4.0]).unwrap();
        ParquetWriter::new(std::fs::File::create(dir.path().join("w.parquet")).unwrap())
            .finish(&mut frame)
            .unwrap();
        let mut p = params("w.parquet");
        p.select = Some(vec!["b".into()]);
        assert_eq!(load(dir.path(), &p).unwrap().frame.get_column_names(), ["b"]);
        std::fs::write(dir.path().join("w.txt"), "1 2\n3 4\n").unwrap();
        let mut p = params("w.txt");
        p.columns = Some(vec!["a".into(), "b".into()]);
        p.select = Some(vec!["a".into()]);
        assert_eq!(load(dir.path(), &p).unwrap().frame.get_column_names(), ["a"]);
    }

    #[test]
    fn an_empty_column_is_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("dead.csv"), "t,x,dead\n1,1.5,\n2,2.5,\n").unwrap();
        let (mut ctx, rx) = StepContext::detached(dir.path(), Vec::new());
        run(&params("dead.csv"), &mut ctx).unwrap();
        let mut events = Vec::new();
        while let Ok(e) = rx.try_recv() {
            events.push(format!("{e:?}"));
        }
        assert!(
            events.iter().any(|e| e.contains("column `dead` is empty on every row")),
            "{events:?}"
        );
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
