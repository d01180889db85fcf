//! What the model steps (`train`, `evaluate`, `predict`) share: the `device` key, and scored
//! windows as rows.

use polars::prelude::*;

use super::context::StepError;
use crate::frame::Table;
use crate::model::device::DeviceChoice;
use crate::pipeline::fields::Fields;

/// `device: auto|cpu|cuda` (default auto).
pub fn parse_device(f: &mut Fields) -> DeviceChoice {
    match f.optional_choice("device", &["auto", "cpu", "cuda"]) {
        Some("cpu") => DeviceChoice::Cpu,
        Some("cuda") => DeviceChoice::Cuda,
        _ => DeviceChoice::Auto,
    }
}

/// One row per window (its last row's entity and time, and the label when `with_label`), with
/// its score and alarm (score >= `threshold`).
pub fn scored_rows(
    table: &Table,
    ends: &[i64],
    scores: &[f64],
    threshold: f64,
    with_label: bool,
) -> Result<DataFrame, StepError> {
    let idx = IdxCa::from_vec("idx".into(), ends.iter().map(|e| *e as IdxSize).collect());
    let roles = &table.roles;
    let label = if with_label { &roles.label } else { &None };
    let keep: Vec<String> = [&roles.entity, &roles.timestamp, label]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    let mut frame = table.frame.select(keep)?.take(&idx)?;
    frame.with_column(Column::new("score".into(), scores))?;
    let alarms: Vec<bool> = scores.iter().map(|s| *s >= threshold).collect();
    frame.with_column(Column::new("alarm".into(), alarms))?;
    Ok(frame)
}
