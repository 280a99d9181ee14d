//! The Python the tests run generated code with (`#[path = "support/python.rs"] mod ...;`).

use std::path::{Path, PathBuf};

/// The Python that runs the emitted modules (it needs torch): `$ARCHCHECK_PYTHON`, else
/// `<repo>/.venv-torch/bin/python`, else `$ARCHCHECK_VENV/bin/python`.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("ARCHCHECK_PYTHON") {
        return PathBuf::from(p);
    }
    let repo_venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-torch/bin/python");
    if repo_venv.exists() {
        return repo_venv;
    }
    if let Some(v) = std::env::var_os("ARCHCHECK_VENV") {
        let p = PathBuf::from(v).join("bin/python");
        if p.exists() {
            return p;
        }
    }
    panic!(
        "no Python with torch to run the emitted modules: ARCHCHECK_PYTHON is not set, {} does not exist, \
         and ARCHCHECK_VENV is not set or has no bin/python (bash scripts/setup-torch.sh creates .venv-torch)",
        repo_venv.display()
    );
}
