//! Loading libtorch's CUDA half: `dlopen` of `libtorch_cuda.so` beside the libtorch_cpu.so in
//! use, once per process, and what that found.

use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A shared library `dlopen` refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DlopenError {
    /// The path (or bare file name) given to `dlopen`.
    pub path: String,
    /// dlerror's text, which names the library itself.
    pub message: String,
}

/// Why libtorch_cuda.so was not loaded: each candidate's refusal, in the order tried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .attempts.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct CudaLoadError {
    pub attempts: Vec<DlopenError>,
}

/// What [`init`] found; see [`super::runtime_info`].
#[derive(Debug)]
pub(super) struct InitState {
    /// The libtorch_cpu.so this process runs with.
    pub torch_cpu: Option<PathBuf>,
    /// Where libtorch_cuda.so was loaded from, or why it was not.
    pub torch_cuda: Result<String, CudaLoadError>,
    pub cuda_available: bool,
}

static INIT: OnceLock<InitState> = OnceLock::new();

/// What [`init`] found (running it if needed).
pub(super) fn state() -> &'static InitState {
    INIT.get_or_init(do_init)
}

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

fn dlopen_global(path: &str) -> Result<(), DlopenError> {
    let refused = |message: String| DlopenError {
        path: path.to_owned(),
        message,
    };
    let c = CString::new(path).map_err(|e| refused(e.to_string()))?;
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
        Err(refused(msg))
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
    let torch_cuda = torch_cuda.ok_or(CudaLoadError { attempts: errors });
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
    state().cuda_available
}

/// Whether CUDA is available (runs [`init`] if needed).
pub fn cuda_available() -> bool {
    init()
}

pub(super) fn cuda_unavailable_reason() -> String {
    match &state().torch_cuda {
        Err(e) => format!("libtorch_cuda.so could not be loaded ({e})"),
        Ok(p) => format!(
            "libtorch_cuda.so is loaded ({p}) but no CUDA device is visible \
             (no GPU or driver, or CUDA_VISIBLE_DEVICES hides them)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::{CudaLoadError, dlopen_global};

    /// The refusal is the dynamic loader's own text (which names the file); several read as
    /// they did when they were joined strings.
    #[test]
    fn a_missing_library_is_refused_in_the_loaders_words() {
        let path = "/nonexistent/libarchcheck_missing.so";
        let e = dlopen_global(path).unwrap_err();
        assert_eq!(e.path, path);
        assert!(
            e.message.starts_with(path) && e.message.contains("cannot open shared object file"),
            "{e}"
        );
        assert_eq!(e.to_string(), e.message);
        let nul = dlopen_global("lib\0torch.so").unwrap_err();
        let both = CudaLoadError {
            attempts: vec![e.clone(), nul.clone()],
        };
        assert_eq!(both.to_string(), format!("{}; {}", e.message, nul.message));
    }
}
