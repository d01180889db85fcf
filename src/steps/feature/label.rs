//! The label column of `feature`: failure within a horizon, from an event column, the remaining
//! useful life or a separate failure log, and which input columns it makes leaky.

use polars::prelude::*;
use serde_json::json;

use super::spec::LabelSpec;
use super::Made;
use crate::frame::{column_f64, Roles};
use crate::pipeline::diagnostic::did_you_mean;
use crate::steps::context::{StepContext, StepError};
use crate::steps::spans::Horizon;

/// The columns a new label makes redundant and leaky: its event column and the label the input
/// already had. Without a new label the input's label stays the label, and nothing is removed.
pub(super) fn label_sources(spec: Option<&LabelSpec>, roles: &Roles) -> Vec<String> {
    let Some(spec) = spec else { return Vec::new() };
    let mut sources = Vec::new();
    if let LabelSpec::Event { column, .. } = spec {
        sources.push(column.clone());
    }
    if let Some(old) = &roles.label {
        if !sources.contains(old) {
            sources.push(old.clone());
        }
    }
    sources
}

/// The label column: 1 where a failure event of the same entity lies within the horizon ahead
/// (the event row included, from an event column or a separate log), or where the remaining
/// useful life is at most the horizon. A log is read here, and machines it names that the
/// table lacks are a warning.
pub(super) fn make_label(
    spec: &LabelSpec,
    frame: &DataFrame,
    roles: &Roles,
    ranges: &[std::ops::Range<usize>],
    times: &Option<(Vec<i64>, bool)>,
    ctx: &StepContext,
) -> Result<Made, StepError> {
    let Some((t, is_datetime)) = times else {
        return Err(StepError::new(
            "`with.label` needs a timestamp column; declare `timestamp` in `load`",
        ));
    };
    let horizon = match (spec.horizon(), is_datetime) {
        (Horizon::Duration { ms, .. }, true) => *ms,
        (Horizon::Units(u), false) => *u,
        (Horizon::Duration { text, .. }, false) => {
            return Err(StepError::new(format!("`with.label.horizon` is a duration ({text}) but the timestamp column holds numbers (cycles); give a number")))
        }
        (Horizon::Units(u), true) => {
            return Err(StepError::new(format!("`with.label.horizon` is a plain number ({u}) but the timestamp column holds date-times; give a duration such as 24h")))
        }
    };
    let mut label = vec![0.0; frame.height()];
    let (name, manifest) = match spec {
        LabelSpec::Event { column, name, .. } => {
            let events = column_f64(frame, column).map_err(|_| {
                let hint = did_you_mean(column, frame.get_column_names().iter().map(|n| n.as_str()));
                StepError::new(format!(
                    "`with.label.from-event`: column `{column}` is not in the input{hint}"
                ))
            })?;
            let total = events.iter().filter(|v| **v >= 0.5).count();
            if total == 0 {
                return Err(StepError::new(format!(
                    "`with.label.from-event`: column `{column}` has no failure events (no value 1): every label would be 0, nothing to learn"
                )));
            }
            for r in ranges {
                // Walk backwards remembering the next event time ahead of each row.
                let mut next_event: Option<i64> = None;
                for i in r.clone().rev() {
                    if events[i] >= 0.5 {
                        next_event = Some(t[i]);
                    }
                    if next_event.is_some_and(|e| e - t[i] <= horizon) {
                        label[i] = 1.0;
                    }
                }
            }
            let manifest = json!({"name": name, "transform": "failure_within_horizon", "source": column, "horizon": spec.horizon().text()});
            (name, manifest)
        }
        LabelSpec::Log {
            log: spec_log, name, ..
        } => {
            let log = super::event_log::read(spec_log, &ctx.root, roles, ctx.remote.as_ref())?;
            if log.datetime != *is_datetime {
                return Err(StepError::new(format!(
                    "`with.label.from-log`: {} holds {} but the table's timestamps are {}",
                    spec_log.path,
                    if log.datetime { "date-times" } else { "numbers" },
                    if *is_datetime { "date-times" } else { "numbers (cycles)" }
                )));
            }
            let keys = entity_keys(frame, roles.entity.as_deref(), ranges)?;
            if roles.entity.is_some() {
                if let Some(warning) = unmatched_log_entities(&log, &keys, &spec_log.path) {
                    ctx.warn(warning);
                }
            }
            for (r, key) in ranges.iter().zip(&keys) {
                for i in r.clone() {
                    if log.within(key, t[i], horizon) {
                        label[i] = 1.0;
                    }
                }
            }
            if !label.contains(&1.0) {
                return Err(StepError::new(format!(
                    "`with.label.from-log`: none of the {} events in {} falls within {} of a reading of its machine: every label would be 0; check the log's entity and time columns",
                    log.events,
                    spec_log.path,
                    spec.horizon().text()
                )));
            }
            let manifest = json!({"name": name, "transform": "failure_within_horizon", "source": format!("log:{}", spec_log.path), "horizon": spec.horizon().text()});
            (name, manifest)
        }
        LabelSpec::Rul { name, .. } => {
            for r in ranges {
                let last = t[r.end - 1];
                for i in r.clone() {
                    if last - t[i] <= horizon {
                        label[i] = 1.0;
                    }
                }
            }
            let manifest = json!({"name": name, "transform": "rul_within_horizon", "horizon": spec.horizon().text(), "rul": "last timestamp of the entity - timestamp"});
            (name, manifest)
        }
    };
    Ok(Made {
        name: name.clone(),
        values: label,
        manifest,
    })
}

/// Each entity range's key as text (what an event log names machines by); "" without entities.
fn entity_keys(
    frame: &DataFrame,
    entity: Option<&str>,
    ranges: &[std::ops::Range<usize>],
) -> PolarsResult<Vec<String>> {
    let Some(entity) = entity else {
        return Ok(vec![String::new(); ranges.len()]);
    };
    let text = frame.column(entity)?.cast(&DataType::String)?;
    let text = text.str()?;
    Ok(ranges
        .iter()
        .map(|r| text.get(r.start).unwrap_or_default().to_string())
        .collect())
}

/// A warning when the log names machines the table does not have (a typo'd id, another site);
/// `keys` are the table's machines, one per entity range.
fn unmatched_log_entities(log: &super::event_log::EventLog, keys: &[String], path: &str) -> Option<String> {
    let known: std::collections::HashSet<&str> = keys.iter().map(String::as_str).collect();
    let mut missing: Vec<&String> = log.by_entity.keys().filter(|k| !known.contains(k.as_str())).collect();
    if missing.is_empty() {
        return None;
    }
    missing.sort();
    let events: usize = missing.iter().map(|k| log.by_entity[*k].len()).sum();
    Some(format!(
        "{events} events in {path} are for machines the table does not have (first: `{}`); they label nothing",
        missing[0]
    ))
}
