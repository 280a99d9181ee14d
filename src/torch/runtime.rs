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
//! The C++ half is `src/torch/shim.cpp`, compiled by `build.rs`.

use std::ffi::{CStr, CString, c_char};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tch::{Device, Kind, Tensor, nn};

// ---------------------------------------------------------------------------------------
// FFI to shim.cpp
// ---------------------------------------------------------------------------------------

unsafe extern "C" {
    fn ac_last_error() -> *const c_char;
    fn ac_autocast_set_enabled(dev: i32, enabled: bool) -> i32;
    fn ac_autocast_is_enabled(dev: i32, out: *mut bool) -> i32;
    fn ac_autocast_set_dtype(dev: i32, scalar_type: i32) -> i32;
    fn ac_autocast_get_dtype(dev: i32, out: *mut i32) -> i32;
    fn ac_autocast_increment_nesting(out: *mut i32) -> i32;
    fn ac_autocast_decrement_nesting(out: *mut i32) -> i32;
    fn ac_autocast_clear_cache() -> i32;
    fn ac_cuda_memory_stat(device: i32, kind: i32, out: *mut u64) -> i32;
    fn ac_cuda_reset_peak_memory(device: i32) -> i32;
}

/// c10::DeviceType codes understood by the shim.
const DT_CPU: i32 = 0;
const DT_CUDA: i32 = 1;
/// c10::ScalarType::BFloat16.
const ST_BF16: i32 = 15;

/// Turns a shim status into a panic carrying libtorch's message (tch's non-`f_` style).
fn check(rc: i32, what: &str) {
    if rc != 0 {
        // SAFETY: the shim returns a pointer to a NUL-terminated thread-local string that
        // stays valid until the next failing shim call on this thread.
        let msg = unsafe { CStr::from_ptr(ac_last_error()) }
            .to_string_lossy()
            .into_owned();
        panic!("{what}: {msg}");
    }
}

fn autocast_device_code(device: Device) -> i32 {
    match device {
        Device::Cpu => DT_CPU,
        Device::Cuda(_) => DT_CUDA,
        other => panic!("bf16 autocast: unsupported device {other:?} (cpu or cuda only)"),
    }
}

fn cuda_index(device: usize) -> i32 {
    i32::try_from(device).unwrap_or_else(|_| panic!("CUDA device index {device} out of range"))
}

// ---------------------------------------------------------------------------------------
// init: load libtorch_cuda
// ---------------------------------------------------------------------------------------

/// What [`init`] found; see [`runtime_info`].
#[derive(Debug)]
struct InitState {
    /// The libtorch_cpu.so this process runs with.
    torch_cpu: Option<PathBuf>,
    /// Where libtorch_cuda.so was loaded from, or why it was not.
    torch_cuda: Result<String, String>,
    cuda_available: bool,
}

static INIT: OnceLock<InitState> = OnceLock::new();

/// Path of the loaded object whose file name is `name` (Linux: walks the link map).
#[cfg(target_os = "linux")]
fn loaded_library(name: &str) -> Option<PathBuf> {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    struct Search<'a> {
        name: &'a OsStr,
        found: Option<PathBuf>,
    }
    unsafe extern "C" fn callback(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: `data` is the `Search` passed below; `info` is valid during the callback.
        let search = unsafe { &mut *(data as *mut Search<'_>) };
        let name = unsafe { (*info).dlpi_name };
        if name.is_null() {
            return 0;
        }
        let path = Path::new(OsStr::from_bytes(unsafe { CStr::from_ptr(name) }.to_bytes()));
        if path.file_name() == Some(search.name) {
            search.found = Some(path.to_path_buf());
            return 1;
        }
        0
    }
    let mut search = Search {
        name: OsStr::new(name),
        found: None,
    };
    // SAFETY: the callback only reads `info` and writes into `search`, which outlives the call.
    unsafe { libc::dl_iterate_phdr(Some(callback), &mut search as *mut Search<'_> as *mut _) };
    search.found
}

#[cfg(not(target_os = "linux"))]
fn loaded_library(_name: &str) -> Option<PathBuf> {
    None
}

fn dlopen_global(path: &str) -> Result<(), String> {
    let c = CString::new(path).map_err(|e| e.to_string())?;
    // SAFETY: plain dlopen of a shared library; the handle is deliberately never closed.
    let handle = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
    if handle.is_null() {
        // SAFETY: dlerror returns NULL or a NUL-terminated message.
        let err = unsafe { libc::dlerror() };
        let msg = if err.is_null() {
            "unknown dlopen error".to_owned()
        } else {
            unsafe { CStr::from_ptr(err) }.to_string_lossy().into_owned()
        };
        Err(msg)
    } else {
        Ok(())
    }
}

fn do_init() -> InitState {
    let torch_cpu = loaded_library("libtorch_cpu.so");
    // Prefer the libtorch_cuda.so beside the libtorch_cpu.so actually in use (same build),
    // then whatever the loader finds (LD_LIBRARY_PATH, then this binary's RUNPATH).
    let mut candidates = Vec::new();
    if let Some(dir) = torch_cpu.as_deref().and_then(Path::parent) {
        let sibling = dir.join("libtorch_cuda.so");
        if sibling.exists() {
            candidates.push(sibling.to_string_lossy().into_owned());
        }
    }
    candidates.push("libtorch_cuda.so".to_owned());
    let mut errors = Vec::new();
    let mut torch_cuda = None;
    for c in &candidates {
        match dlopen_global(c) {
            Ok(()) => {
                torch_cuda = Some(
                    loaded_library("libtorch_cuda.so").map_or_else(|| c.clone(), |p| p.to_string_lossy().into_owned()),
                );
                break;
            }
            Err(e) => errors.push(e),
        }
    }
    let torch_cuda = torch_cuda.ok_or_else(|| errors.join("; "));
    let cuda_available = tch::Cuda::is_available();
    InitState {
        torch_cpu,
        torch_cuda,
        cuda_available,
    }
}

/// Loads `libtorch_cuda.so` (`dlopen`, `RTLD_NOW | RTLD_GLOBAL`) so that tch sees CUDA, and
/// returns whether CUDA is available. Idempotent and cheap after the first call; a missing
/// library (CPU-only libtorch) is not an error, CUDA is then simply unavailable.
///
/// Call it first thing in `main`, before any other tch call (see the module docs).
pub fn init() -> bool {
    INIT.get_or_init(do_init).cuda_available
}

/// The directory of the libtorch_cpu.so this process runs with (from the dynamic linker's
/// link map), e.g. to check which libtorch the RUNPATH or LD_LIBRARY_PATH selected.
pub fn libtorch_dir() -> Option<PathBuf> {
    init();
    let st = INIT.get().expect("init ran");
    st.torch_cpu.as_deref().and_then(Path::parent).map(Path::to_path_buf)
}

/// The version of the loaded libtorch (`2.11.0+cu130`), from the `version.py` PyTorch ships
/// beside its `lib/`; `None` for a libtorch without one.
pub fn libtorch_version() -> Option<String> {
    let torch_dir = libtorch_dir()?.parent()?.to_path_buf();
    let text = std::fs::read_to_string(torch_dir.join("version.py")).ok()?;
    let line = text.lines().find(|l| l.starts_with("__version__"))?;
    let v = line.split_once('=')?.1.trim().trim_matches(['\'', '"']);
    Some(v.to_string())
}

/// The libtorch lib dir this crate was built against (and baked into binaries' RUNPATH).
pub const LIBTORCH_LIB_AT_BUILD: &str = env!("ARCHCHECK_LIBTORCH_LIB");

/// Whether CUDA is available (runs [`init`] if needed).
pub fn cuda_available() -> bool {
    init()
}

/// A multi-line human-readable summary: which libtorch was linked and loaded, whether
/// libtorch_cuda loaded, CUDA and cuDNN availability.
pub fn runtime_info() -> String {
    init();
    let st = INIT.get().expect("init ran");
    let mut s = String::new();
    s.push_str(&format!("libtorch linked against: {LIBTORCH_LIB_AT_BUILD}\n"));
    s.push_str(&format!(
        "libtorch_cpu loaded from: {}\n",
        st.torch_cpu.as_deref().map_or("?".into(), |p| p.display().to_string())
    ));
    match &st.torch_cuda {
        Ok(p) => s.push_str(&format!("libtorch_cuda loaded from: {p}\n")),
        Err(e) => s.push_str(&format!("libtorch_cuda not loaded: {e}\n")),
    }
    if st.cuda_available {
        s.push_str(&format!(
            "CUDA: available, {} device(s); cuDNN: {}\n",
            tch::Cuda::device_count(),
            if tch::Cuda::cudnn_is_available() {
                "available"
            } else {
                "not available"
            }
        ));
    } else {
        s.push_str("CUDA: not available\n");
    }
    s
}

fn cuda_unavailable_reason() -> String {
    init();
    match &INIT.get().expect("init ran").torch_cuda {
        Err(e) => format!("libtorch_cuda.so could not be loaded ({e})"),
        Ok(p) => format!(
            "libtorch_cuda.so is loaded ({p}) but no CUDA device is visible \
             (no GPU or driver, or CUDA_VISIBLE_DEVICES hides them)"
        ),
    }
}

// ---------------------------------------------------------------------------------------
// devices, seeds, cuDNN
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// bf16 autocast
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// channels_last
// ---------------------------------------------------------------------------------------

/// The same 4-d tensor (same shape and values) with channels-last (NHWC) strides: permute
/// to NHWC, make contiguous, permute back. Differentiable. Tensors that are not 4-d come
/// back as a shallow clone; an already channels-last tensor is not copied.
pub fn to_channels_last(t: &Tensor) -> Tensor {
    if t.dim() != 4 {
        return t.shallow_clone();
    }
    t.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}

/// Whether a 4-d tensor has dense channels-last strides (dims of size 1 are not checked,
/// their stride is meaningless). `false` for other ranks.
pub fn is_channels_last(t: &Tensor) -> bool {
    if t.dim() != 4 {
        return false;
    }
    let (size, stride) = (t.size(), t.stride());
    let (c, h, w) = (size[1], size[2], size[3]);
    let expected = [h * w * c, 1, w * c, c];
    (0..4).all(|i| size[i] == 1 || stride[i] == expected[i])
}

/// Converts every 4-d variable of `vs` (conv weights) to channels-last in place
/// (`set_data` under `no_grad`, so the variables stay the same leaves the optimizer holds).
/// Returns how many were converted. Call after moving the store to its device and before
/// building the optimizer; the layout survives optimizer steps.
pub fn set_module_channels_last(vs: &nn::VarStore) -> usize {
    tch::no_grad(|| {
        let mut n = 0;
        for (_name, mut v) in vs.variables() {
            if v.dim() == 4 && !is_channels_last(&v) {
                let cl = to_channels_last(&v);
                v.set_data(&cl);
                n += 1;
            }
        }
        n
    })
}

// ---------------------------------------------------------------------------------------
// CUDA memory statistics
// ---------------------------------------------------------------------------------------

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
