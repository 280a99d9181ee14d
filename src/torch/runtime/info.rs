//! What the process runs with, in words: the libtorch linked and loaded, libtorch_cuda,
//! CUDA and cuDNN (for `--version` and diagnostics).

use std::path::{Path, PathBuf};

use super::load::state;

/// The directory of the libtorch_cpu.so this process runs with (from the dynamic linker's
/// link map), e.g. to check which libtorch the RUNPATH or LD_LIBRARY_PATH selected.
pub fn libtorch_dir() -> Option<PathBuf> {
    state()
        .torch_cpu
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
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

/// A multi-line human-readable summary: which libtorch was linked and loaded, whether
/// libtorch_cuda loaded, CUDA and cuDNN availability.
pub fn runtime_info() -> String {
    let st = state();
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
