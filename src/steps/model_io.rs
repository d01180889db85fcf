//! What the model steps (`train-lstm`, `evaluate`) share: the split part they read and the
//! `device` key.

use super::context::{StepContext, StepError};
use crate::frame::Table;
use crate::model::device::DeviceChoice;
use crate::pipeline::fields::Fields;

/// The `<step>/<part>` table among the inputs (from `split`, or passed on by `smote`).
pub fn take_part(ctx: &mut StepContext, part: &str) -> Result<Table, StepError> {
    let suffix = format!("/{part}");
    match ctx.inputs.iter().position(|(name, _)| name.ends_with(&suffix)) {
        Some(i) => Ok(ctx.inputs.remove(i).1),
        None => Err(StepError::new(format!(
            "needs the `{part}` part of a `split` (directly or through `smote`) under `needs:`"
        ))),
    }
}

/// `device: auto|cpu|cuda` (default auto).
pub fn parse_device(f: &mut Fields) -> DeviceChoice {
    match f.optional_choice("device", &["auto", "cpu", "cuda"]) {
        Some("cpu") => DeviceChoice::Cpu,
        Some("cuda") => DeviceChoice::Cuda,
        _ => DeviceChoice::Auto,
    }
}
