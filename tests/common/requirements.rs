//! What a test needs beyond the Rust toolchain, and the one way a test may go without it.
//!
//! A full run (the default) requires everything: a test whose Python, Python package or data
//! set is missing fails, naming what is missing and how to install it. Only a run declared
//! core-only with `ARCHCHECK_TESTS=core` (what `scripts/test-all.sh --core` sets) lets such a
//! test skip, and then it says so by name through [`skip`].

use std::io::Write;
use std::path::PathBuf;

/// The variable that declares the kind of run: `core` or `full` (unset means full).
pub const TESTS_VAR: &str = "ARCHCHECK_TESTS";

/// Where [`skip`] appends its lines when set; scripts/test-all.sh counts them.
pub const SKIP_LOG_VAR: &str = "ARCHCHECK_SKIP_LOG";

/// True when this is a core-only run (`ARCHCHECK_TESTS=core`): tests that need Python,
/// its packages or a data set skip by name instead of failing.
pub fn core_only() -> bool {
    match std::env::var(TESTS_VAR) {
        Err(_) => false,
        Ok(v) => match v.as_str() {
            "core" => true,
            "full" | "" => false,
            other => panic!("{TESTS_VAR}={other:?}: expected `core` (skip what needs Python or data) or `full`"),
        },
    }
}

/// The running test's name, `binary::test`. libtest names each test's thread after the test.
pub fn test_name() -> String {
    let thread = std::thread::current();
    format!("{}::{}", env!("CARGO_CRATE_NAME"), thread.name().unwrap_or("unnamed"))
}

/// Records that the running test did not run its checks: prints `skipped: NAME: WHY` past
/// libtest's output capture (which takes only `print!`/`eprint!`), so the line shows in every
/// run, and appends it to `$ARCHCHECK_SKIP_LOG` when set. The caller returns right after.
pub fn skip(why: &str) {
    let line = format!("skipped: {}: {why}\n", test_name());
    let _ = std::io::stderr().write_all(line.as_bytes());
    if let Some(path) = std::env::var_os(SKIP_LOG_VAR) {
        // One short O_APPEND write per line: parallel tests and binaries do not interleave.
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("{SKIP_LOG_VAR}={}: {e}", PathBuf::from(&path).display()));
        f.write_all(line.as_bytes())
            .unwrap_or_else(|e| panic!("{SKIP_LOG_VAR}={}: {e}", PathBuf::from(&path).display()));
    }
}

/// The hint every "missing" message ends with.
pub const CORE_HINT: &str = "ARCHCHECK_TESTS=core runs only the tests that need nothing but Rust";

/// The four IDX files of Fashion-MNIST, each plain or `.gz`.
const FASHION_MNIST_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// Fashion-MNIST as Debian's `dataset-fashion-mnist` installs it (the loader's default
/// directory), or `None` after [`skip`] in a core-only run. Panics in a full run where it
/// is absent.
pub fn fashion_mnist_or_skip() -> Option<PathBuf> {
    let dir = PathBuf::from(archcheck::data::FASHION_MNIST_DIR);
    if core_only() {
        skip("needs the Fashion-MNIST data set (core-only run)");
        return None;
    }
    let missing: Vec<&str> = FASHION_MNIST_FILES
        .into_iter()
        .filter(|name| !dir.join(name).is_file() && !dir.join(format!("{name}.gz")).is_file())
        .collect();
    assert!(
        missing.is_empty(),
        "Fashion-MNIST is missing: {} lacks {}; install it with `apt-get install dataset-fashion-mnist` \
         ({CORE_HINT})",
        dir.display(),
        missing.join(", ")
    );
    Some(dir)
}
