//! The command line: argument types ([`args`]), the one writer ([`output`]) and one file per
//! command. Commands return their exit status or a [`Failure`]; only `main` turns that into
//! the process's status, and only this module prints.

pub mod args;
pub mod output;

pub mod check;
pub mod compare;
pub mod derive;
pub mod emit;
pub mod plot;

#[cfg(feature = "torch")]
pub mod bench;
#[cfg(feature = "torch")]
pub mod build;
#[cfg(feature = "torch")]
mod console;
#[cfg(feature = "torch")]
pub mod train;

use std::path::Path;
use std::sync::Arc;

use archcheck::derive::{Derivation, derive_within};
use archcheck::ir::LowerOptions;

use archcheck::report::diagnostics::render_error_painted;
use archcheck::source::Source;
use archcheck::spec::{self, Spec, SpecError};

pub use output::{Failure, Output};

/// A spec and the text it was read from (read once; the text is what messages quote).
pub struct Loaded {
    pub spec: Arc<Spec>,
    pub source: Source,
}

impl Loaded {
    /// The derivation under `opts`, within `limits`; a spec that cannot be derived is a
    /// rendered failure.
    pub fn derive(&self, opts: &LowerOptions, batch: i64, limits: args::InputLimits) -> Result<Derivation, Failure> {
        derive_within(self.spec.clone(), opts, batch, &limits.graph()).map_err(|e| spec_failure(&e, Some(&self.source)))
    }
}

/// Reads and validates the spec at `path` (`-` is standard input).
pub fn load(path: &Path, limits: args::InputLimits) -> Result<Loaded, Failure> {
    load_spec(path, limits).map_err(|e| spec_failure(&e.0, e.1.as_ref()))
}

/// [`load`], with the error unrendered (and the text, where it was read) for the formats
/// that carry it as data (`check --format json`).
pub fn load_spec(path: &Path, limits: args::InputLimits) -> Result<Loaded, Box<(SpecError, Option<Source>)>> {
    let source = spec::read_source(path, limits.max_file_size).map_err(|e| Box::new((e, None)))?;
    match spec::load_str(&source.text, &source.name) {
        Ok(spec) => Ok(Loaded {
            spec: Arc::new(spec),
            source,
        }),
        Err(e) => Err(Box::new((e, Some(source)))),
    }
}

/// A spec error, rendered with its source line where the text is at hand.
pub fn spec_failure(e: &SpecError, source: Option<&Source>) -> Failure {
    Failure::unusable(render_error_painted(e, source, output::paint(false)))
}

/// The status of a command whose output may have ended early: a closed pipe keeps the
/// verdict reached (`| head` is not a failure of the spec); other write errors stay errors.
pub fn ended(written: Result<(), Failure>, status: u8) -> Result<u8, Failure> {
    match written {
        Ok(()) | Err(Failure::ClosedPipe) => Ok(status),
        Err(e) => Err(e),
    }
}

/// Exit status of a derivation: 1 for an error finding, or a warning under `--strict`.
pub fn verdict(d: &archcheck::derive::Derivation, strict: bool) -> u8 {
    if d.errors() > 0 || (strict && d.warnings() > 0) {
        1
    } else {
        0
    }
}

/// `1 error`, `2 errors`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// What a command without libtorch says (exit 2).
#[cfg(not(feature = "torch"))]
pub fn without_torch() -> Result<u8, Failure> {
    Err(Failure::unusable(
        "archcheck was built without libtorch; run scripts/setup-torch.sh (builds with --features torch)\n",
    ))
}
