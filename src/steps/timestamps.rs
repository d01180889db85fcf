//! The timestamp column as `load` reads it: ISO 8601 text, text in a strftime format the user
//! gives, dates, or Unix epoch numbers with a unit; and the day/month question of `01/02/2024`.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime};
use polars::prelude::*;

use crate::steps::context::StepError;

/// The unit of a numeric timestamp that counts from 1970-01-01T00:00:00 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochUnit {
    Seconds,
    Millis,
    Micros,
    Nanos,
}

impl EpochUnit {
    pub const NAMES: &'static [&'static str] = &["s", "ms", "us", "ns"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "s" => Some(Self::Seconds),
            "ms" => Some(Self::Millis),
            "us" => Some(Self::Micros),
            "ns" => Some(Self::Nanos),
            _ => None,
        }
    }

    fn per_millisecond(self) -> f64 {
        match self {
            Self::Seconds => 1e-3,
            Self::Millis => 1.0,
            Self::Micros => 1e3,
            Self::Nanos => 1e6,
        }
    }
}

/// How the file writes its timestamps (`timestamp-format`, `timestamp-unit`); both optional.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TimeSpec {
    pub format: Option<String>,
    pub unit: Option<EpochUnit>,
}

/// Why a `timestamp-format` cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct FormatError(pub String);

/// A strftime format chrono can use, or what is wrong with it (checked when the pipeline is
/// validated, so a typo is reported with its line before anything runs).
pub fn check_format(format: &str) -> Result<(), FormatError> {
    use chrono::format::{Item, StrftimeItems};
    if StrftimeItems::new(format).any(|item| matches!(item, Item::Error)) {
        return Err(FormatError(format!(
            "`{format}` is not a valid strftime format (see chrono's `%Y-%m-%d %H:%M:%S` syntax)"
        )));
    }
    if !format.contains('%') {
        return Err(FormatError(format!(
            "`{format}` has no `%` field; write it like `%d/%m/%Y %H:%M`"
        )));
    }
    Ok(())
}

/// ISO 8601 layouts tried, in order, when no format is given.
const ISO_FORMATS: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
];

/// The declared timestamp column as date-times in milliseconds, or `None` when it stays as it
/// is: date-times already, or plain numbers that count cycles.
pub fn to_datetime(
    column: &Column,
    spec: &TimeSpec,
    shown: &str,
    header_lines: usize,
) -> Result<Option<Series>, StepError> {
    let name = column.name();
    let ms = DataType::Datetime(TimeUnit::Milliseconds, None);
    match (column.dtype(), spec.unit) {
        (DataType::String, None) => parse_text(column, spec.format.as_deref(), shown, header_lines).map(Some),
        (DataType::String, Some(_)) => Err(StepError::new(format!(
            "{shown}: timestamp column `{name}` holds text, but `timestamp-unit` is for numbers counting from 1970; use `timestamp-format` for text"
        ))),
        (DataType::Date, _) => Ok(Some(column.as_materialized_series().cast(&ms)?)),
        (dtype, Some(unit)) if dtype.is_primitive_numeric() => {
            let values = column.cast(&DataType::Float64)?;
            let millis: Vec<Option<i64>> = values
                .f64()?
                .iter()
                .map(|v| v.map(|v| (v / unit.per_millisecond()).round() as i64))
                .collect();
            Ok(Some(Series::new(name.clone(), millis).cast(&ms)?))
        }
        (DataType::Datetime(..), Some(_)) => Err(StepError::new(format!(
            "{shown}: timestamp column `{name}` already holds date-times; remove `timestamp-unit`"
        ))),
        (dtype, None) if dtype.is_primitive_numeric() || matches!(dtype, DataType::Datetime(..)) => Ok(None),
        (dtype, _) => Err(StepError::new(format!(
            "{shown}: timestamp column `{name}` holds {dtype}; expected date-times, date-time text or numbers"
        ))),
    }
}

/// One way to read a value: the layout of the first value decides it for every row.
#[derive(Clone, Copy)]
enum Reader<'f> {
    Iso,
    WithOffset(&'f str),
    Naive(&'f str),
    Date(&'f str),
}

impl Reader<'_> {
    fn read(self, v: &str) -> Option<i64> {
        let time = match self {
            // The common layouts byte by byte, the rest through chrono.
            Reader::Iso => return iso_millis(v.as_bytes()).or_else(|| Reader::iso_by_chrono(v)),
            Reader::WithOffset(f) => DateTime::parse_from_str(v, f).map(|d| d.naive_utc()).ok(),
            Reader::Naive(f) => NaiveDateTime::parse_from_str(v, f).ok(),
            Reader::Date(f) => NaiveDate::parse_from_str(v, f)
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0)),
        };
        time.map(|t| t.and_utc().timestamp_millis())
    }

    /// ISO 8601 as chrono reads it: RFC 3339, the [`ISO_FORMATS`], or a date alone.
    fn iso_by_chrono(v: &str) -> Option<i64> {
        DateTime::parse_from_rfc3339(v)
            .map(|d| d.naive_utc())
            .ok()
            .or_else(|| {
                ISO_FORMATS
                    .iter()
                    .find_map(|f| NaiveDateTime::parse_from_str(v, f).ok())
            })
            .or_else(|| {
                NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
            })
            .map(|t| t.and_utc().timestamp_millis())
    }

    /// The reader for a format: with a UTC offset, a date and time, or a date alone.
    fn for_format<'f>(format: &'f str, first: &str) -> Option<Reader<'f>> {
        [Reader::WithOffset(format), Reader::Naive(format), Reader::Date(format)]
            .into_iter()
            .find(|r| r.read(first).is_some())
    }
}

/// Whether a timestamp text is in one of the ISO layouts [`iso_millis`] reads.
pub fn is_iso(text: &str) -> bool {
    iso_millis(text.trim().as_bytes()).is_some()
}

/// The common ISO 8601 layouts, `YYYY-MM-DD[T ]HH:MM[:SS[.fff]][Z|±HH:MM]`, read byte by byte
/// (with it, loading the 10M-row benchmark CSV took 7.1 s of CPU instead of 10.1 s); `None`
/// for anything else, which chrono then reads or refuses.
fn iso_millis(b: &[u8]) -> Option<i64> {
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        part.iter()
            .try_fold(0i64, |n, c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
    };
    if b.len() < 16 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ') || b[13] != b':' {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute) = (digits(11..13)?, digits(14..16)?);
    let mut at = 16;
    let mut second = 0;
    let mut millis = 0;
    if b.get(at) == Some(&b':') {
        second = digits(17..19)?;
        at = 19;
        if b.get(at) == Some(&b'.') {
            let start = at + 1;
            let mut end = start;
            while b.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
            if end == start {
                return None;
            }
            // Milliseconds, as the rest of pmflow keeps them: further digits are dropped.
            let kept = (end - start).min(3);
            millis = digits(start..start + kept)? * 10i64.pow(3 - kept as u32);
            at = end;
        }
    }
    let offset_minutes = match &b[at..] {
        [] | [b'Z'] => 0,
        [sign @ (b'+' | b'-'), ..] if b.len() == at + 6 && b[at + 3] == b':' => {
            let minutes = digits(at + 1..at + 3)? * 60 + digits(at + 4..at + 6)?;
            if *sign == b'+' {
                minutes
            } else {
                -minutes
            }
        }
        _ => return None,
    };
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    if day < 1 || day > days_in_month || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

fn parse_text(column: &Column, format: Option<&str>, shown: &str, header_lines: usize) -> Result<Series, StepError> {
    let values = column.str()?;
    let bad = |row: usize, v: &str| {
        let fix = match format {
            Some(f) => format!("it does not match `timestamp-format: \"{f}\"`"),
            None => "use ISO 8601 such as 2024-03-01T12:00:00, or give the file's layout with `timestamp-format` (for example \"%d/%m/%Y %H:%M\")".to_string(),
        };
        StepError::new(format!(
            "{shown}: timestamp column `{}`: `{v}` at row {} (line {}) is not a date-time; {fix}",
            column.name(),
            row + 1,
            row + 1 + header_lines
        ))
    };
    let mut reader: Option<Reader> = None;
    let mut out: Vec<Option<i64>> = Vec::with_capacity(values.len());
    for (row, v) in values.iter().enumerate() {
        let Some(v) = v.map(str::trim) else {
            out.push(None);
            continue;
        };
        let r = match (reader, format) {
            (Some(r), _) => r,
            (None, None) => *reader.insert(Reader::Iso),
            (None, Some(f)) => *reader.insert(Reader::for_format(f, v).ok_or_else(|| bad(row, v))?),
        };
        out.push(Some(r.read(v).ok_or_else(|| bad(row, v))?));
    }
    Ok(Series::new(column.name().clone(), out).cast(&DataType::Datetime(TimeUnit::Milliseconds, None))?)
}

/// `01/02/2024` is 1 February in Europe and January 2 in the US. The CSV reader picks one
/// order from the first value; when no row has a day above 12 the other order reads the file
/// just as well, so the dates may all be wrong without any error. Then the user must say.
pub fn check_day_month_order(first_text: &str, parsed: &Column, shown: &str) -> Result<(), StepError> {
    let Some((sep, rest)) = day_month_layout(first_text) else {
        return Ok(());
    };
    let as_ms = parsed.cast(&DataType::Datetime(TimeUnit::Milliseconds, None))?;
    let settled = as_ms
        .datetime()?
        .physical()
        .iter()
        .flatten()
        .any(|ms| DateTime::from_timestamp_millis(ms).is_some_and(|t| t.day() > 12));
    if settled {
        return Ok(());
    }
    let year = if first_text
        .split(sep)
        .nth(2)
        .is_some_and(|y| y.len() >= 4 && y[..4].bytes().all(|b| b.is_ascii_digit()))
    {
        "%Y"
    } else {
        "%y"
    };
    let time = match rest.matches(':').count() {
        0 => "",
        1 => " %H:%M",
        _ => " %H:%M:%S",
    };
    Err(StepError::new(format!(
        "{shown}: timestamp column `{}`: `{first_text}` could be day/month or month/day, and no row settles it (no day above 12); set `timestamp-format: \"%d{sep}%m{sep}{year}{time}\"` (day first) or `\"%m{sep}%d{sep}{year}{time}\"` (month first)",
        parsed.name()
    )))
}

/// `dd/mm/yyyy...` or `dd-mm-yy...` (one or two digits, a `/` or `-`, one or two digits, the
/// same separator): the separator and the text after the date. Dotted dates (`01.02.2024`) are
/// day first by convention, and ISO dates start with the year.
fn day_month_layout(text: &str) -> Option<(char, &str)> {
    let sep = text.chars().find(|c| !c.is_ascii_digit())?;
    if sep != '/' && sep != '-' {
        return None;
    }
    let mut parts = text.splitn(3, sep);
    let (a, b, rest) = (parts.next()?, parts.next()?, parts.next()?);
    let short_number = |s: &str| (1..=2).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_digit());
    let year_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    (short_number(a) && short_number(b) && (year_len == 2 || year_len == 4)).then(|| (sep, &rest[year_len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(values: &[&str]) -> Column {
        Column::new("t".into(), values)
    }

    fn millis(s: &Series) -> Vec<Option<i64>> {
        s.datetime().unwrap().physical().iter().collect()
    }

    #[test]
    fn formats_units_and_dates() {
        // pandas 3.1.1: pd.to_datetime("24.01.2024 13:05", format="%d.%m.%Y %H:%M") -> 2024-01-24
        // 13:05, i.e. 1706101500000 ms; pd.to_datetime(1706101500, unit="s") gives the same.
        let spec = TimeSpec {
            format: Some("%d.%m.%Y %H:%M".into()),
            unit: None,
        };
        let s = to_datetime(&text(&["24.01.2024 13:05"]), &spec, "f.csv", 1)
            .unwrap()
            .unwrap();
        assert_eq!(millis(&s), [Some(1_706_101_500_000)]);
        // With a UTC offset the time is converted to UTC.
        let spec = TimeSpec {
            format: Some("%Y-%m-%d %H:%M%z".into()),
            unit: None,
        };
        let s = to_datetime(&text(&["2024-01-24 15:05+0200"]), &spec, "f.csv", 1)
            .unwrap()
            .unwrap();
        assert_eq!(millis(&s), [Some(1_706_101_500_000)]);
        // A date alone is midnight.
        let spec = TimeSpec {
            format: Some("%m/%d/%Y".into()),
            unit: None,
        };
        let s = to_datetime(&text(&["01/24/2024"]), &spec, "f.csv", 1).unwrap().unwrap();
        assert_eq!(millis(&s), [Some(1_706_054_400_000)]);

        for (unit, value) in [
            (EpochUnit::Seconds, 1_706_101_500.0),
            (EpochUnit::Millis, 1_706_101_500_000.0),
            (EpochUnit::Nanos, 1_706_101_500_000_000_000.0),
        ] {
            let spec = TimeSpec {
                format: None,
                unit: Some(unit),
            };
            let s = to_datetime(&Column::new("t".into(), [value as i64]), &spec, "f.csv", 1)
                .unwrap()
                .unwrap();
            assert_eq!(millis(&s), [Some(1_706_101_500_000)], "{unit:?}");
        }
        // Numbers without a unit are cycles and stay as they are.
        let cycles = Column::new("t".into(), [1i64, 2, 3]);
        assert!(to_datetime(&cycles, &TimeSpec::default(), "f.csv", 1)
            .unwrap()
            .is_none());
    }

    #[test]
    fn the_fast_iso_reader_agrees_with_chrono() {
        for v in [
            "2024-01-01T00:00:00",
            "2024-02-29 23:59:59",
            "1969-12-31T23:59:59.999",
            "2024-03-01T12:00",
            "2024-03-01 12:00:00.5",
            "2024-03-01T12:00:00Z",
            "2024-03-01T12:00:00+02:00",
            "2024-03-01T12:00:00.123-05:30",
            "1900-03-01T00:00:00",
            "2400-02-29T00:00:00",
        ] {
            let by_chrono = Reader::iso_by_chrono(v);
            assert!(by_chrono.is_some(), "{v}");
            assert_eq!(iso_millis(v.as_bytes()), by_chrono, "{v}");
        }
        // Not ISO, or not a real date: left to chrono, which refuses them too.
        for v in [
            "2023-02-29T00:00:00",
            "2024-13-01T00:00:00",
            "01/02/2024 10:00",
            "2024-03-01T25:00:00",
            "2024-03-01T12:00:00+0200x",
        ] {
            assert_eq!(iso_millis(v.as_bytes()), None, "{v}");
        }
    }

    #[test]
    fn bad_timestamps_name_the_row_and_the_fix() {
        let spec = TimeSpec {
            format: Some("%d.%m.%Y %H:%M".into()),
            unit: None,
        };
        let e = to_datetime(&text(&["24.01.2024 13:05", "2024-01-25"]), &spec, "f.csv", 1)
            .unwrap_err()
            .0;
        assert!(e.contains("`2024-01-25` at row 2 (line 3) is not a date-time; it does not match `timestamp-format: \"%d.%m.%Y %H:%M\"`"), "{e}");
        let e = to_datetime(&text(&["01/13/2024 10:00"]), &TimeSpec::default(), "f.csv", 1)
            .unwrap_err()
            .0;
        assert!(e.contains("give the file's layout with `timestamp-format`"), "{e}");
        let spec = TimeSpec {
            format: None,
            unit: Some(EpochUnit::Seconds),
        };
        let e = to_datetime(&text(&["2024-01-01"]), &spec, "f.csv", 1).unwrap_err().0;
        assert!(e.contains("`timestamp-unit` is for numbers"), "{e}");
        assert!(check_format("%d/%m/%Y %H:%M").is_ok());
        assert!(check_format("%Q").is_err());
        assert!(check_format("dd/mm/yyyy").unwrap_err().0.contains("no `%` field"));
    }

    #[test]
    fn day_month_order_must_be_settled_by_the_data() {
        let parsed = |days: &[u32]| {
            let ms: Vec<i64> = days
                .iter()
                .map(|d| {
                    NaiveDate::from_ymd_opt(2024, 1, *d)
                        .unwrap()
                        .and_hms_opt(0, 0, 0)
                        .unwrap()
                        .and_utc()
                        .timestamp_millis()
                })
                .collect();
            Series::new("t".into(), ms)
                .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
                .unwrap()
                .into_column()
        };
        // Days 1..12 only: `02/01/2024` reads as 2 January or February 1.
        let e = check_day_month_order("02/01/2024 10:00", &parsed(&[2, 5, 12]), "f.csv")
            .unwrap_err()
            .0;
        assert!(e.contains("could be day/month or month/day"), "{e}");
        assert!(
            e.contains("`timestamp-format: \"%d/%m/%Y %H:%M\"` (day first) or `\"%m/%d/%Y %H:%M\"`"),
            "{e}"
        );
        // A 13th settles it; ISO and dotted dates are never ambiguous.
        assert!(check_day_month_order("02/01/2024 10:00", &parsed(&[2, 13]), "f.csv").is_ok());
        assert!(check_day_month_order("2024-01-02 10:00", &parsed(&[2]), "f.csv").is_ok());
        assert!(check_day_month_order("02.01.2024 10:00", &parsed(&[2]), "f.csv").is_ok());
        let e = check_day_month_order("02-01-24", &parsed(&[2]), "f.csv").unwrap_err().0;
        assert!(e.contains("\"%d-%m-%y\""), "{e}");
    }
}
