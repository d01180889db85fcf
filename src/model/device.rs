//! Which libtorch device a model trains or scores on.

use tch::Device;

use super::ModelError;

/// `device: auto|cpu|cuda` in a step's `with:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    Auto,
    Cpu,
    Cuda,
}

/// The device for `choice`; `cuda` without a CUDA device is an error rather than a silent CPU run.
pub fn pick(choice: DeviceChoice) -> Result<Device, ModelError> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Auto => Ok(Device::cuda_if_available()),
        DeviceChoice::Cuda if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
        DeviceChoice::Cuda => Err(ModelError::new(
            "`device: cuda` but libtorch sees no CUDA device; on a GPU host build with `PMFLOW_CUDA=1` (see README), or use `device: auto`",
        )),
    }
}
