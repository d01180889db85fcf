//! Features of `feature` that need one row only: the time of day and the day of week (on a
//! zone's wall clock), interactions between columns, and one-hot categories.

use polars::prelude::*;
use serde_json::json;

use super::spec::{Operand, TimePart};
use super::{FeatureParams, Made};
use crate::frame::column_f64;
use crate::steps::context::StepError;

/// Checks that a column may be used under a `with` key (it exists, and it is not the label).
pub(super) type Usable<'a> = dyn Fn(&str, &str) -> Result<(), StepError> + 'a;

/// `hour` and `dayofweek` of each timestamp (milliseconds), in `p.timezone` or UTC.
pub(super) fn time_parts(p: &FeatureParams, times: &[i64], timestamp: Option<&str>) -> Vec<Made> {
    let zone = p.timezone.map_or("UTC", |tz| tz.name());
    p.time
        .iter()
        .map(|part| {
            let name = part.name().to_string();
            Made {
                values: times.iter().map(|&ms| part.of(ms, p.timezone)).collect(),
                manifest: json!({"name": name, "source": timestamp, "transform": name, "timezone": zone}),
                name,
            }
        })
        .collect()
}

/// `A op B` over columns or numbers, one column per declared interaction.
pub(super) fn interactions(p: &FeatureParams, frame: &DataFrame, usable: &Usable) -> Result<Vec<Made>, StepError> {
    let mut made = Vec::new();
    for (name, expr) in &p.interactions {
        let key = format!("interactions.{name}");
        let operand = |o: &Operand| -> Result<Vec<f64>, StepError> {
            match o {
                Operand::Number(x) => Ok(vec![*x; frame.height()]),
                Operand::Column(c) => {
                    usable(c, &key)?;
                    column_f64(frame, c)
                        .map_err(|_| StepError::new(format!("`with.{key}`: column `{c}` is not numeric")))
                }
            }
        };
        let (a, b) = (operand(&expr.left)?, operand(&expr.right)?);
        made.push(Made {
            values: a.iter().zip(&b).map(|(x, y)| expr.apply(*x, *y)).collect(),
            manifest: json!({"name": name, "transform": "interaction", "expression": expr.text}),
            name: name.clone(),
        });
    }
    Ok(made)
}

/// A 0/1 column per category of each `one-hot` column (at most 1,000 categories).
pub(super) fn one_hot(p: &FeatureParams, frame: &DataFrame, exists: &Usable) -> Result<Vec<Made>, StepError> {
    let mut made = Vec::new();
    for column in &p.one_hot {
        exists(column, "one-hot")?;
        let text = frame.column(column)?.cast(&DataType::String)?;
        let text = text.str()?;
        let mut categories: Vec<String> = text.iter().flatten().map(str::to_string).collect();
        categories.sort();
        categories.dedup();
        if categories.len() > 1000 {
            return Err(StepError::new(format!(
                "`with.one-hot`: column `{column}` has {} distinct values; one-hot is for categories (under 1000)",
                categories.len()
            )));
        }
        for cat in &categories {
            let name = format!("{column}_{cat}");
            made.push(Made {
                values: text
                    .iter()
                    .map(|v| if v == Some(cat.as_str()) { 1.0 } else { 0.0 })
                    .collect(),
                manifest: json!({"name": name, "source": column, "transform": "one_hot", "category": cat}),
                name,
            });
        }
    }
    Ok(made)
}

impl TimePart {
    /// The part of the instant `ms` on the wall clock of `zone` (UTC when `None`).
    fn of(self, ms: i64, zone: Option<chrono_tz::Tz>) -> f64 {
        // A zone's offset (daylight saving included) shifts the instant to local wall time.
        let offset_ms = zone.map_or(0, |tz| {
            use chrono::{Offset, TimeZone};
            let utc = chrono::DateTime::from_timestamp_millis(ms)
                .unwrap_or_default()
                .naive_utc();
            i64::from(tz.offset_from_utc_datetime(&utc).fix().local_minus_utc()) * 1000
        });
        let secs = (ms + offset_ms).div_euclid(1000);
        match self {
            TimePart::Hour => (secs.rem_euclid(86_400) / 3600) as f64,
            // 1970-01-01 was a Thursday; Monday = 0 as in pandas' `dayofweek`.
            TimePart::DayOfWeek => ((secs.div_euclid(86_400) + 3).rem_euclid(7)) as f64,
        }
    }

    fn name(self) -> &'static str {
        match self {
            TimePart::Hour => "hour",
            TimePart::DayOfWeek => "dayofweek",
        }
    }
}
