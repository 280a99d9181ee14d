//! Process-level libtorch plumbing that tch 0.24 lacks or hides.
//!
//! * [`init`] loads `libtorch_cuda.so` so CUDA becomes visible to tch. **Call it at start-up,
//!   before any other tch call**: libtorch caches its CUDA hooks on first use, and a process
//!   that touched them before the library was loaded stays CPU-only. Every function here
//!   that depends on CUDA calls it itself, so calling one of them first is enough too.
//! * [`device_from_str`], [`manual_seed`], [`cudnn_benchmark`]: the usual set-up.
//! * [`AutocastBf16`], [`set_autocast_bf16`], [`autocast_clear_cache`]: bf16 mixed
//!   precision through the non-deprecated `at::autocast` API (tch's own `autocast` is fp16
//!   through deprecated calls that print a warning per step with libtorch 2.11).
//! * [`to_channels_last`], [`set_module_channels_last`]: NHWC memory layout without a
//!   memory-format API (permute → contiguous → permute back).
//! * [`cuda_max_memory_allocated`], [`cuda_reset_peak_memory`]: what
//!   `torch.cuda.max_memory_allocated` / `reset_peak_memory_stats` report, read from the
//!   CUDA caching allocator; 0 / no-op without CUDA.
//!
//! The C++ half is `src/torch/shim.cpp`, compiled by `build.rs` (`ffi.rs` is its C ABI).

mod autocast;
mod device;
mod ffi;
mod info;
mod layout;
mod load;
mod memory;

pub use autocast::{
    AutocastBf16, autocast_clear_cache, autocast_dtype, is_autocast_enabled, set_autocast_bf16, set_autocast_bf16_for,
};
pub use device::{DeviceError, cudnn_benchmark, device_from_str, manual_seed};
pub use info::{LIBTORCH_LIB_AT_BUILD, libtorch_dir, libtorch_version, runtime_info};
pub use layout::{is_channels_last, set_module_channels_last, to_channels_last};
pub use load::{CudaLoadError, DlopenError, cuda_available, init};
pub use memory::{cuda_max_memory_allocated, cuda_max_memory_reserved, cuda_memory_allocated, cuda_reset_peak_memory};
