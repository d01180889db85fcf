//! Failure events kept apart from the sensor readings: a maintenance system's work orders,
//! Azure PdM's `failures.csv`. `feature`'s `label: {from-log: ...}` marks a reading 1 when its
//! machine has a logged failure within the horizon ahead; the events need not fall on a reading.

use std::collections::HashMap;
use std::path::Path;

use polars::prelude::*;

use crate::frame::{time_values, Roles};
use crate::steps::context::{RemoteFiles, StepError};
use crate::steps::sources;
use crate::steps::timestamps::{self, TimeSpec};

/// Where the log is and how its columns are named (by default as the table's roles).
#[derive(Debug, Clone, PartialEq)]
pub struct LogSpec {
    pub path: String,
    pub timestamp: Option<String>,
    pub entity: Option<String>,
    pub timestamp_format: Option<String>,
    /// Only events whose column holds one of the values count (`where: {failure: [comp4]}`).
    pub filter: Vec<(String, Vec<String>)>,
}

/// Event times (milliseconds, or cycles) per entity, sorted.
#[derive(Debug, Default)]
pub struct EventLog {
    pub by_entity: HashMap<String, Vec<i64>>,
    /// Whether the times are date-times (else plain numbers such as cycles).
    pub datetime: bool,
    pub events: usize,
}

impl EventLog {
    /// Whether `entity` has an event in `[t, t + horizon]`.
    pub fn within(&self, entity: &str, t: i64, horizon: i64) -> bool {
        self.by_entity.get(entity).is_some_and(|times| {
            let next = times.partition_point(|e| *e < t);
            times.get(next).is_some_and(|e| *e - t <= horizon)
        })
    }
}

/// Reads the log's files (a path or a pattern, local or S3, `.gz` allowed), CSV or Parquet.
pub fn read(spec: &LogSpec, root: &Path, roles: &Roles, remote: &dyn RemoteFiles) -> Result<EventLog, StepError> {
    let ts = spec
        .timestamp
        .as_deref()
        .or(roles.timestamp.as_deref())
        .ok_or_else(|| {
            StepError::new(
                "`with.label.from-log` needs a timestamp: declare `timestamp` in `load` or name the log's column",
            )
        })?;
    let entity = spec.entity.as_deref().or(roles.entity.as_deref());
    let mut log = EventLog::default();
    for source in sources::expand(&spec.path, root, remote)? {
        let shown = if sources::is_pattern(&spec.path) {
            source.clone()
        } else {
            spec.path.clone()
        };
        let file = sources::open(&source, &shown, remote)?;
        let frame = read_frame(&file.path, &shown, ts, spec.timestamp_format.is_some())?;
        let names: Vec<String> = frame.get_column_names().iter().map(|n| n.to_string()).collect();
        for (role, column) in [("timestamp", Some(ts)), ("entity", entity)] {
            if let Some(c) = column {
                if !names.iter().any(|n| n == c) {
                    return Err(StepError::new(format!(
                        "`with.label.from-log`: {shown} has no {role} column `{c}` (columns: {}); name it with `{role}:` under `from-log`",
                        names.join(", ")
                    )));
                }
            }
        }
        let mut frame = frame;
        for (column, allowed) in &spec.filter {
            if !names.iter().any(|n| n == column) {
                return Err(StepError::new(format!(
                    "`with.label.from-log.where`: {shown} has no column `{column}` (columns: {})",
                    names.join(", ")
                )));
            }
            let text = frame.column(column)?.cast(&DataType::String)?;
            let keep: BooleanChunked = text
                .str()?
                .iter()
                .map(|v| v.is_some_and(|v| allowed.iter().any(|a| a == v)))
                .collect();
            frame = frame.filter(&keep)?;
        }
        let time_spec = TimeSpec {
            format: spec.timestamp_format.clone(),
            unit: None,
        };
        if let Some(parsed) = timestamps::to_datetime(frame.column(ts)?, &time_spec, &shown, 1)? {
            frame.replace(ts, parsed.into_column())?;
        }
        let (times, datetime) = time_values(&frame, ts)?;
        if log.events > 0 && datetime != log.datetime {
            return Err(StepError::new(format!(
                "`with.label.from-log`: {shown} mixes date-times and numbers with the other files"
            )));
        }
        log.datetime = datetime;
        let keys: Vec<String> = match entity {
            Some(e) => {
                let text = frame.column(e)?.cast(&DataType::String)?;
                text.str()?.iter().map(|v| v.unwrap_or_default().to_string()).collect()
            }
            None => vec![String::new(); frame.height()],
        };
        for (row, (key, t)) in keys.into_iter().zip(times).enumerate() {
            if t == i64::MIN {
                return Err(StepError::new(format!(
                    "`with.label.from-log`: {shown}: `{ts}` is missing at row {} (line {})",
                    row + 1,
                    row + 2
                )));
            }
            log.by_entity.entry(key).or_default().push(t);
            log.events += 1;
        }
    }
    for times in log.by_entity.values_mut() {
        times.sort_unstable();
    }
    Ok(log)
}

fn read_frame(path: &Path, shown: &str, ts: &str, timestamp_as_text: bool) -> Result<DataFrame, StepError> {
    let unreadable = |e: PolarsError| StepError::new(format!("`with.label.from-log`: cannot read {shown}: {e}"));
    if sources::without_compression(shown)
        .to_ascii_lowercase()
        .ends_with(".parquet")
    {
        let file = std::fs::File::open(path).map_err(|e| StepError::new(format!("cannot read {shown}: {e}")))?;
        return ParquetReader::new(file).finish().map_err(unreadable);
    }
    let overwrite = timestamp_as_text.then(|| Arc::new(Schema::from_iter([Field::new(ts.into(), DataType::String)])));
    LazyCsvReader::new(PlRefPath::new(path.to_string_lossy().into_owned()))
        .with_has_header(true)
        .with_try_parse_dates(!timestamp_as_text)
        .with_dtype_overwrite(overwrite)
        .finish()
        .and_then(|lazy| lazy.collect())
        .map_err(unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::context::LocalOnly;

    #[test]
    fn events_per_machine_from_a_separate_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("failures.csv"),
            "datetime,machineID,failure\n2015-01-05 06:00:00,1,comp4\n2015-01-02 03:00:00,1,comp1\n2015-01-03 06:00:00,2,comp2\n",
        )
        .unwrap();
        let spec = LogSpec {
            path: "failures.csv".into(),
            timestamp: Some("datetime".into()),
            entity: Some("machineID".into()),
            timestamp_format: None,
            filter: Vec::new(),
        };
        let log = read(&spec, dir.path(), &Roles::default(), &LocalOnly).unwrap();
        assert_eq!(log.events, 3);
        assert!(log.datetime);
        // 2015-01-02 03:00 UTC = 1420167600000 ms; the log's rows were out of order.
        assert_eq!(log.by_entity["1"][0], 1_420_167_600_000);
        let hour = 3_600_000;
        assert!(
            log.within("1", 1_420_167_600_000 - 24 * hour, 24 * hour),
            "an event exactly 24 h ahead"
        );
        assert!(!log.within("1", 1_420_167_600_000 - 25 * hour, 24 * hour));
        assert!(log.within("1", 1_420_167_600_000, 24 * hour), "the event's own moment");
        assert!(
            !log.within("1", 1_420_167_600_000 + 1, 1),
            "after the event, before the next"
        );
        assert!(!log.within("3", 0, i64::MAX / 2), "a machine without events");

        // Only one kind of failure: machine 1's comp4 on 2015-01-05 06:00 (1420437600000 ms).
        let comp4 = LogSpec {
            filter: vec![("failure".into(), vec!["comp4".into()])],
            ..spec.clone()
        };
        let log = read(&comp4, dir.path(), &Roles::default(), &LocalOnly).unwrap();
        assert_eq!(log.events, 1);
        assert_eq!(log.by_entity["1"], [1_420_437_600_000]);

        let wrong = LogSpec {
            entity: Some("machine".into()),
            ..spec
        };
        let e = read(&wrong, dir.path(), &Roles::default(), &LocalOnly).unwrap_err().0;
        assert!(
            e.contains("failures.csv has no entity column `machine` (columns: datetime, machineID, failure)"),
            "{e}"
        );
    }
}
