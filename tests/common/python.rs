//! The one lookup of the Python the tests run, and the check that it has what they import.
//!
//! The interpreter is, in this order:
//! 1. `$ARCHCHECK_PYTHON`, a Python with torch chosen explicitly (the `bench` command reads
//!    the same variable);
//! 2. `$ARCHCHECK_VENV/bin/python`, the venv scripts/setup-torch.sh made at `$ARCHCHECK_VENV`;
//! 3. `.venv-torch/bin/python` at the repository root, where scripts/setup-torch.sh puts it
//!    by default.
//!
//! Nothing else: no interpreter on PATH, no machine's path. Where the chosen one is missing
//! or cannot import a module, the test fails naming it and the command that installs it,
//! except in a core-only run (`ARCHCHECK_TESTS=core`), where it skips by name.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

pub use super::requirements::core_only;
use super::requirements::{CORE_HINT, skip};

/// The command that creates the default venv with torch.
const SETUP: &str = "bash scripts/setup-torch.sh --no-build";

/// The interpreter to use and where the choice came from (for messages).
fn interpreter() -> (PathBuf, String) {
    if let Some(p) = std::env::var_os("ARCHCHECK_PYTHON").filter(|p| !p.is_empty()) {
        return (PathBuf::from(p), "ARCHCHECK_PYTHON".into());
    }
    if let Some(v) = std::env::var_os("ARCHCHECK_VENV").filter(|v| !v.is_empty()) {
        let venv = PathBuf::from(v);
        return (
            venv.join("bin/python"),
            format!("the venv ARCHCHECK_VENV={}", venv.display()),
        );
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-torch");
    (venv.join("bin/python"), format!("the default venv {}", venv.display()))
}

/// How to get `module` into `python`; torch's version is the one tch 0.24 is built for.
fn install_hint(module: &str, python: &Path, from: &str) -> String {
    match module {
        "torch" if from == "ARCHCHECK_PYTHON" => format!(
            "`{} -m pip install torch==2.11.0`, or unset ARCHCHECK_PYTHON and run `{SETUP}`",
            python.display()
        ),
        "torch" => format!("`{SETUP}` (torch==2.11.0 into the venv)"),
        "torchvision" => format!("`{} -m pip install torchvision==0.26.0`", python.display()),
        other => format!("`{} -m pip install {other}`", python.display()),
    }
}

/// The outcome of each module list's check: the interpreter, or why it will not do.
type Checked = HashMap<Vec<String>, Result<PathBuf, String>>;

/// Checks once per process that `python` exists and imports `modules`.
fn check(modules: &[&str]) -> Result<PathBuf, String> {
    static CHECKED: OnceLock<Mutex<Checked>> = OnceLock::new();
    let key: Vec<String> = modules.iter().map(|m| m.to_string()).collect();
    let mut checked = CHECKED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    checked
        .entry(key)
        .or_insert_with(|| {
            let (python, from) = interpreter();
            let missing_python = || {
                format!(
                    "no Python for the tests: {} (from {from}) does not exist; create the venv with `{SETUP}`, \
                     or set ARCHCHECK_PYTHON to a Python with torch ({CORE_HINT})",
                    python.display()
                )
            };
            if python.components().count() > 1 && !python.exists() {
                return Err(missing_python());
            }
            for module in modules {
                let out = match Command::new(&python).args(["-c", &format!("import {module}")]).output() {
                    Ok(out) => out,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing_python()),
                    Err(e) => return Err(format!("cannot run {} (from {from}): {e}", python.display())),
                };
                if !out.status.success() {
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    return Err(format!(
                        "{} (from {from}) cannot import {module}: {}; install it with {} ({CORE_HINT})",
                        python.display(),
                        stderr.trim().lines().last().unwrap_or("no message"),
                        install_hint(module, &python, &from)
                    ));
                }
            }
            Ok(python)
        })
        .clone()
}

/// The test Python, able to import torch. Panics naming what is missing and how to install
/// it; a test that may skip in a core-only run calls [`test_python_or_skip`] instead.
pub fn test_python() -> PathBuf {
    test_python_with(&["torch"])
}

/// The test Python, able to import each of `modules` (e.g. `["torch", "torchvision"]`).
pub fn test_python_with(modules: &[&str]) -> PathBuf {
    check(modules).unwrap_or_else(|e| panic!("{e}"))
}

/// [`test_python`], except that a core-only run records a skip and gets `None`.
pub fn test_python_or_skip() -> Option<PathBuf> {
    test_python_with_or_skip(&["torch"])
}

/// [`test_python_with`], except that a core-only run records a skip and gets `None`.
pub fn test_python_with_or_skip(modules: &[&str]) -> Option<PathBuf> {
    if core_only() {
        let what = if modules.is_empty() {
            "Python".to_string()
        } else {
            format!("a Python with {}", modules.join(", "))
        };
        skip(&format!("needs {what} (core-only run)"));
        return None;
    }
    Some(test_python_with(modules))
}

/// Runs `py -c script ARGS...` (in `cwd` where given; libtorch on one thread, as the tests
/// run it) and returns its standard output; a failing script fails the test with its
/// output and error stream.
pub fn run_script(py: &Path, script: &str, args: &[&Path], cwd: Option<&Path>) -> String {
    let mut command = Command::new(py);
    command.arg("-c").arg(script).args(args).env("OMP_NUM_THREADS", "1");
    if let Some(dir) = cwd {
        command.current_dir(dir);
    }
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", py.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{} failed ({}):\n{stdout}\n{}",
        py.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The JSON a script printed on its last line.
pub fn last_json_line(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}
