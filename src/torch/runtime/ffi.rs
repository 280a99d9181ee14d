//! The C ABI of `src/torch/shim.cpp` (compiled by `build.rs`), and its status check.

use std::ffi::{CStr, c_char};

unsafe extern "C" {
    pub(super) fn ac_last_error() -> *const c_char;
    pub(super) fn ac_autocast_set_enabled(dev: i32, enabled: bool) -> i32;
    pub(super) fn ac_autocast_is_enabled(dev: i32, out: *mut bool) -> i32;
    pub(super) fn ac_autocast_set_dtype(dev: i32, scalar_type: i32) -> i32;
    pub(super) fn ac_autocast_get_dtype(dev: i32, out: *mut i32) -> i32;
    pub(super) fn ac_autocast_increment_nesting(out: *mut i32) -> i32;
    pub(super) fn ac_autocast_decrement_nesting(out: *mut i32) -> i32;
    pub(super) fn ac_autocast_clear_cache() -> i32;
    pub(super) fn ac_cuda_memory_stat(device: i32, kind: i32, out: *mut u64) -> i32;
    pub(super) fn ac_cuda_reset_peak_memory(device: i32) -> i32;
}

/// Turns a shim status into a panic carrying libtorch's message (tch's non-`f_` style).
pub(super) fn check(rc: i32, what: &str) {
    if rc != 0 {
        // SAFETY: the shim returns a pointer to a NUL-terminated thread-local string that
        // stays valid until the next failing shim call on this thread.
        let msg = unsafe { CStr::from_ptr(ac_last_error()) }
            .to_string_lossy()
            .into_owned();
        panic!("{what}: {msg}");
    }
}
