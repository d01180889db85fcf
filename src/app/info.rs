//! `pmflow info`: versions and what libtorch offers on this machine, with a tiny tensor
//! computation proving libtorch is really loaded (no LD_LIBRARY_PATH needed).

use crate::error::CliError;

pub fn info() -> Result<(), CliError> {
    println!("pmflow {}", env!("CARGO_PKG_VERSION"));
    let sum = tch::Tensor::from_slice(&[1.0f32, 2.0, 3.0])
        .sum(tch::Kind::Float)
        .double_value(&[]);
    if (sum - 6.0).abs() > 1e-9 {
        return Err(CliError::Internal(format!(
            "libtorch self-check failed: 1 + 2 + 3 = {sum}"
        )));
    }
    println!("libtorch: ok (self-check 1 + 2 + 3 = {sum})");
    println!(
        "  threads: {} intra-op, {} inter-op",
        tch::get_num_threads(),
        tch::get_num_interop_threads()
    );
    println!(
        "  openmp: {}, mkl: {}, mkldnn: {}",
        tch::utils::has_openmp(),
        tch::utils::has_mkl(),
        tch::utils::has_mkldnn()
    );
    println!(
        "  cuda: {} ({} devices)",
        tch::Cuda::is_available(),
        tch::Cuda::device_count()
    );
    println!(
        "defaults: registry {}, artifacts {}",
        crate::pipeline::DEFAULT_REGISTRY,
        crate::pipeline::DEFAULT_ARTIFACTS
    );
    Ok(())
}
