//! bf16 mixed precision through the non-deprecated `at::autocast` API (tch's own `autocast`
//! is fp16 through deprecated calls that print a warning per step with libtorch 2.11).

use std::marker::PhantomData;

use tch::{Device, Kind};

use super::ffi::{
    ac_autocast_clear_cache, ac_autocast_decrement_nesting, ac_autocast_get_dtype, ac_autocast_increment_nesting,
    ac_autocast_is_enabled, ac_autocast_set_dtype, ac_autocast_set_enabled, check,
};

/// c10::DeviceType codes understood by the shim.
const DT_CPU: i32 = 0;
const DT_CUDA: i32 = 1;
/// c10::ScalarType::BFloat16.
const ST_BF16: i32 = 15;

fn autocast_device_code(device: Device) -> i32 {
    match device {
        Device::Cpu => DT_CPU,
        Device::Cuda(_) => DT_CUDA,
        other => panic!("bf16 autocast: unsupported device {other:?} (cpu or cuda only)"),
    }
}

/// Enables (with dtype bf16) or disables CUDA autocast on the **current thread**
/// (`at::autocast::set_autocast_dtype(kCUDA, kBFloat16)` +
/// `set_autocast_enabled(kCUDA, enabled)`). Prefer the [`AutocastBf16`] guard, which also
/// restores the previous state and clears the cast cache.
pub fn set_autocast_bf16(enabled: bool) {
    set_autocast_bf16_for(Device::Cuda(0), enabled);
}

/// [`set_autocast_bf16`] for `Device::Cpu` (CPU autocast) or `Device::Cuda(_)` (all GPUs:
/// autocast state is per device type, not per index).
pub fn set_autocast_bf16_for(device: Device, enabled: bool) {
    let dev = autocast_device_code(device);
    if enabled {
        // SAFETY: plain FFI call, errors reported by status.
        check(unsafe { ac_autocast_set_dtype(dev, ST_BF16) }, "set_autocast_dtype");
    }
    check(unsafe { ac_autocast_set_enabled(dev, enabled) }, "set_autocast_enabled");
}

/// Whether autocast is enabled for `device`'s type on the current thread.
pub fn is_autocast_enabled(device: Device) -> bool {
    let mut out = false;
    check(
        unsafe { ac_autocast_is_enabled(autocast_device_code(device), &mut out) },
        "is_autocast_enabled",
    );
    out
}

/// The autocast dtype set for `device`'s type on the current thread (bf16 after
/// [`set_autocast_bf16`]; PyTorch's defaults are f16 for CUDA and bf16 for CPU). `None` for
/// a type tch's `Kind` does not name here.
pub fn autocast_dtype(device: Device) -> Option<Kind> {
    let mut out = -1;
    check(
        unsafe { ac_autocast_get_dtype(autocast_device_code(device), &mut out) },
        "get_autocast_dtype",
    );
    match out {
        5 => Some(Kind::Half),
        6 => Some(Kind::Float),
        7 => Some(Kind::Double),
        15 => Some(Kind::BFloat16),
        _ => None,
    }
}

/// Frees the cast-weight cache autocast keeps while enabled (`at::autocast::clear_cache`);
/// call it after each training step when enabling autocast by hand, as leaving
/// `torch.autocast` does. The [`AutocastBf16`] guard does it on drop.
pub fn autocast_clear_cache() {
    check(unsafe { ac_autocast_clear_cache() }, "autocast clear_cache");
}

/// RAII bf16 autocast, like `with torch.autocast("cuda", dtype=torch.bfloat16):`.
///
/// Creation saves the thread's autocast state for the device type, sets dtype bf16, enables
/// autocast and increments autocast's nesting count; drop decrements it, clears the cast
/// cache when leaving the outermost guard and restores the saved state (so nested guards
/// work and the outermost drop disables autocast again). Autocast state is thread-local,
/// hence the guard is neither `Send` nor `Sync`. Create one per training step (around
/// forward + loss), not around `backward`.
///
/// `AutocastBf16::new()` (CUDA) has no effect on CPU tensors, so it can be used
/// unconditionally; `AutocastBf16::cpu()` does change CPU results (matmuls/convs in bf16).
#[must_use = "autocast is switched off again when the guard is dropped: bind it, `let _ac = ...`"]
#[derive(Debug)]
pub struct AutocastBf16 {
    dev: i32,
    prev_enabled: bool,
    prev_dtype: i32,
    _not_send: PhantomData<*const ()>,
}

impl AutocastBf16 {
    /// CUDA bf16 autocast (all GPUs of this thread).
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self::for_device(Device::Cuda(0))
    }

    /// CPU bf16 autocast.
    pub fn cpu() -> Self {
        Self::for_device(Device::Cpu)
    }

    /// bf16 autocast for `device`'s type (`Device::Cpu` or `Device::Cuda(_)`).
    pub fn for_device(device: Device) -> Self {
        let dev = autocast_device_code(device);
        let mut prev_enabled = false;
        let mut prev_dtype = -1;
        let mut nesting = 0;
        // SAFETY: plain FFI calls with valid out-pointers; errors reported by status.
        unsafe {
            check(ac_autocast_is_enabled(dev, &mut prev_enabled), "is_autocast_enabled");
            check(ac_autocast_get_dtype(dev, &mut prev_dtype), "get_autocast_dtype");
            check(ac_autocast_set_dtype(dev, ST_BF16), "set_autocast_dtype");
            check(ac_autocast_set_enabled(dev, true), "set_autocast_enabled");
            check(
                ac_autocast_increment_nesting(&mut nesting),
                "autocast increment_nesting",
            );
        }
        AutocastBf16 {
            dev,
            prev_enabled,
            prev_dtype,
            _not_send: PhantomData,
        }
    }
}

impl Drop for AutocastBf16 {
    fn drop(&mut self) {
        // No panics in drop: the calls cannot fail for CPU/CUDA, and a failure here would
        // only leave autocast state behind.
        let mut nesting = 0;
        // SAFETY: plain FFI calls with valid out-pointers.
        unsafe {
            if ac_autocast_decrement_nesting(&mut nesting) == 0 && nesting == 0 {
                ac_autocast_clear_cache();
            }
            ac_autocast_set_enabled(self.dev, self.prev_enabled);
            if self.prev_dtype >= 0 {
                ac_autocast_set_dtype(self.dev, self.prev_dtype);
            }
        }
    }
}
