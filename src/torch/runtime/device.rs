//! The device a run uses (`auto`, `cpu`, `cuda`, `cuda:N`), seeding and cuDNN's autotuner.

use tch::Device;

use super::load::{cuda_unavailable_reason, init};

/// A device that cannot be used, in words that say why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeviceError {
    #[error("device '{name}' requested but CUDA is not available: {why}")]
    NoCuda { name: String, why: String },
    #[error("device '{name}' requested but only {visible} CUDA device(s) are visible (cuda:0..cuda:{last})")]
    NoSuchGpu { name: String, visible: usize, last: usize },
    #[error("invalid device '{0}': the GPU index after 'cuda:' must be a number")]
    BadIndex(String),
    #[error("unknown device '{0}': expected auto, cpu, cuda or cuda:N")]
    Unknown(String),
}

/// Parses a device name: `auto` (first GPU if CUDA is available, else CPU), `cpu`, `cuda`
/// (= `cuda:0`) or `cuda:N`; case-insensitive. Asking for CUDA where it is unavailable, or
/// for a GPU index that does not exist, is an error that says why.
pub fn device_from_str(s: &str) -> Result<Device, DeviceError> {
    let norm = s.trim().to_ascii_lowercase();
    let name = || s.trim().to_string();
    let cuda = |index: usize| -> Result<Device, DeviceError> {
        if !init() {
            return Err(DeviceError::NoCuda {
                name: name(),
                why: cuda_unavailable_reason(),
            });
        }
        let n = tch::Cuda::device_count().max(0) as usize;
        if index >= n {
            return Err(DeviceError::NoSuchGpu {
                name: name(),
                visible: n,
                last: n.saturating_sub(1),
            });
        }
        Ok(Device::Cuda(index))
    };
    match norm.as_str() {
        "cpu" => Ok(Device::Cpu),
        "auto" => Ok(if init() { Device::Cuda(0) } else { Device::Cpu }),
        "cuda" => cuda(0),
        _ => match norm.strip_prefix("cuda:") {
            Some(n) => match n.parse::<usize>() {
                Ok(i) => cuda(i),
                Err(_) => Err(DeviceError::BadIndex(name())),
            },
            None => Err(DeviceError::Unknown(name())),
        },
    }
}

/// Seeds the CPU generator and, where CUDA is available, every GPU's generator.
pub fn manual_seed(seed: u64) {
    let cuda = init();
    tch::manual_seed(seed as i64);
    if cuda {
        tch::Cuda::manual_seed_all(seed);
    }
}

/// Turns cuDNN's autotuner (`torch.backends.cudnn.benchmark`) on or off. A plain flag:
/// harmless without CUDA.
pub fn cudnn_benchmark(on: bool) {
    init();
    tch::Cuda::cudnn_set_benchmark(on);
}
