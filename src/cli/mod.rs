//! The command line: argument types ([`args`]), the one writer ([`output`]) and one file per
//! command. Commands return their exit status or a [`Failure`]; only `main` turns that into
//! the process's status, and only this module prints.

pub mod args;
pub mod output;

pub mod check;
pub mod compare;
pub mod derive;
pub mod diagram;
pub mod emit;
pub mod plot;
pub mod project;
pub mod terminal;

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

/// A validated spec; it holds the text it was read from (read once; the text is what
/// messages quote).
pub struct Loaded {
    pub spec: Arc<Spec>,
}

impl Loaded {
    /// The text the spec was read from.
    pub fn source(&self) -> &Source {
        &self.spec.source
    }

    /// The derivation under `opts`, within `limits`; a spec that cannot be derived is a
    /// rendered failure.
    pub fn derive(&self, opts: &LowerOptions, batch: i64, limits: args::InputLimits) -> Result<Derivation, Failure> {
        derive_within(self.spec.clone(), opts, batch, &limits.graph())
            .map_err(|e| spec_failure(&e, Some(self.source())))
    }
}

/// Reads and validates the spec at `path` (`-` is standard input).
pub fn load(path: &Path, limits: args::InputLimits) -> Result<Loaded, Failure> {
    load_spec(path, limits).map_err(|e| spec_failure(&e.error, e.source.as_deref()))
}

/// A spec that could not be loaded: the error, and the text where it was read.
pub struct LoadFailure {
    pub error: SpecError,
    pub source: Option<Arc<Source>>,
}

/// [`load`], with the error unrendered (and the text, where it was read) for the formats
/// that carry it as data (`check --format json`).
pub fn load_spec(path: &Path, limits: args::InputLimits) -> Result<Loaded, Box<LoadFailure>> {
    let source = Arc::new(
        spec::read_source(path, limits.max_file_size).map_err(|error| Box::new(LoadFailure { error, source: None }))?,
    );
    match spec::load_source(source.clone()) {
        Ok(spec) => Ok(Loaded { spec: Arc::new(spec) }),
        Err(error) => Err(Box::new(LoadFailure {
            error,
            source: Some(source),
        })),
    }
}

/// A spec error, rendered with its source line where the text is at hand.
pub fn spec_failure(e: &SpecError, source: Option<&Source>) -> Failure {
    Failure::unusable(render_error_painted(e, source, output::paint(false)))
}

/// A training or bench error as the CLI prints it: a spec error with its source line,
/// through the same renderer as every other spec error.
#[cfg(feature = "torch")]
pub fn train_failure(e: &archcheck::torch::train::TrainError, source: &Source) -> Failure {
    match e {
        archcheck::torch::train::TrainError::Spec(error) => spec_failure(error, Some(source)),
        e => Failure::Exit {
            message: format!("error: {e}\n"),
            status: e.exit_code(),
        },
    }
}

/// The status of a command whose output may have ended early: a closed pipe keeps the
/// verdict reached (`| head` is not a failure of the spec); other write errors stay errors.
pub fn ended(written: Result<(), Failure>, status: u8) -> Result<u8, Failure> {
    match written {
        Ok(()) | Err(Failure::ClosedPipe) => Ok(status),
        Err(e) => Err(e),
    }
}

/// `--batch`'s default for training (the trainer's own, `TrainRequest::batch`); a resumed
/// run takes its checkpoint's instead.
pub const DEFAULT_TRAIN_BATCH: u64 = 128;

/// Refuses (exit 2) a run that derive rules out, before any libtorch work: an input size
/// outside the spec's domain, or with `training_batch`, a batch that leaves a batch norm one
/// value per channel. The domain comes from the spec's own reference size, so the message
/// can give the whole valid range rather than the first layer that fails.
/// The spec loaded for the check is returned, so the command reads its file once.
pub fn refuse_unfit(model: &args::ModelArgs, training_batch: Option<u64>) -> Result<Loaded, Failure> {
    let loaded = load(&model.spec, model.limits)?;
    let at_reference = LowerOptions {
        input: None,
        ..model.lower_options()
    };
    let d = match derive_within(loaded.spec.clone(), &at_reference, 1, &model.limits.graph()) {
        Ok(d) => d,
        // The spec's own size does not work: the asked size's own derivation says why, or works.
        Err(_) => loaded.derive(&model.lower_options(), 1, model.limits)?,
    };
    let (h, w) = model.input.map_or(d.graph.reference, |(h, w)| (h as i64, w as i64));
    let refusal = archcheck::fit::refuse_input(&d, (h, w))
        .or_else(|| training_batch.and_then(|b| archcheck::fit::refuse_training_batch(&d, (h, w), b)));
    match refusal {
        Some(message) => Err(Failure::error(message.trim_end())),
        None => Ok(loaded),
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

pub use archcheck::fmt::plural;

/// What a command without libtorch says (exit 2): what the set-up installs, where the new
/// binary lands and where training expects its data.
#[cfg(not(feature = "torch"))]
pub fn without_torch() -> Result<u8, Failure> {
    Err(Failure::error(format!(
        "this archcheck is built without libtorch, which build, build --train and bench need\n  \
         to get them, in a clone of the archcheck repository run\n    \
         bash scripts/setup-torch.sh\n  \
         it installs torch==2.11.0 from PyPI into .venv-torch/ (about 5 GB on disk, most of it\n  \
         CUDA libraries) and builds target/release/archcheck with libtorch (several minutes);\n  \
         run that binary. Training reads Fashion-MNIST from {}\n  \
         (apt-get install dataset-fashion-mnist), or --data fashion-mnist:DIR, imagefolder:DIR or synthetic",
        archcheck::data::FASHION_MNIST_DIR.trim_end_matches('/')
    )))
}
