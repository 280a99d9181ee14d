//! CUDA caching-allocator statistics: what `torch.cuda.max_memory_allocated` /
//! `reset_peak_memory_stats` report; 0 / no-op without CUDA.

use super::ffi::{ac_cuda_memory_stat, ac_cuda_reset_peak_memory, check};
use super::load::init;

fn cuda_index(device: usize) -> i32 {
    i32::try_from(device).unwrap_or_else(|_| panic!("CUDA device index {device} out of range"))
}

fn memory_stat(device: usize, kind: i32) -> u64 {
    init();
    let mut out = 0u64;
    // SAFETY: plain FFI call with a valid out-pointer.
    check(
        unsafe { ac_cuda_memory_stat(cuda_index(device), kind, &mut out) },
        "CUDA memory stats",
    );
    out
}

/// Peak bytes allocated by tensors on GPU `device` since start or the last
/// [`cuda_reset_peak_memory`], as `torch.cuda.max_memory_allocated(device)`. 0 when CUDA is
/// unavailable or nothing was allocated on the GPU yet. Panics for a GPU index that does
/// not exist.
pub fn cuda_max_memory_allocated(device: usize) -> u64 {
    memory_stat(device, 1)
}

/// Bytes currently allocated by tensors on GPU `device` (`torch.cuda.memory_allocated`).
pub fn cuda_memory_allocated(device: usize) -> u64 {
    memory_stat(device, 0)
}

/// Peak bytes reserved by the caching allocator on GPU `device`
/// (`torch.cuda.max_memory_reserved`).
pub fn cuda_max_memory_reserved(device: usize) -> u64 {
    memory_stat(device, 3)
}

/// Resets the peak statistics of GPU `device` (`torch.cuda.reset_peak_memory_stats`).
/// No-op when CUDA is unavailable or the allocator is not initialised yet.
pub fn cuda_reset_peak_memory(device: usize) {
    init();
    check(
        unsafe { ac_cuda_reset_peak_memory(cuda_index(device)) },
        "CUDA reset peak stats",
    );
}
