//! libtorch integration (feature `torch`).
//!
//! [`runtime`] is the process-level plumbing every torch code path needs: loading the CUDA
//! half of libtorch ([`runtime::init`], call it first), device selection, seeding, bf16
//! autocast, channels-last layout and CUDA peak-memory statistics. Model code lives
//! elsewhere.

pub mod bench;
pub mod export;
pub mod model;
pub mod runtime;
pub mod train;
pub mod verify;

pub use runtime::{
    AutocastBf16, DeviceError, autocast_clear_cache, cuda_max_memory_allocated, cuda_reset_peak_memory,
    cudnn_benchmark, device_from_str, init, manual_seed, set_autocast_bf16, set_module_channels_last, to_channels_last,
};
