//! Why training stopped or could not start: [`TrainError`], one variant per cause, and
//! [`StepError`], what a single step or evaluation batch ran into.

use std::path::PathBuf;

use tch::TchError;
use thiserror::Error;

use crate::data::{DataError, DataSource};
use crate::spec::SpecError;
use crate::torch::model::ForwardError;

use super::checkpoint::{CheckpointError, MANIFEST};
use super::data::ChannelMismatch;
use super::oom::OomReport;
use super::optim::StateError;
use super::state::DataIdentity;
use super::stepper::WeightsError;

/// Why training stopped or could not start. [`exit_code`](TrainError::exit_code): 2 for
/// options, spec, data or a checkpoint that cannot be used; 1 for a run that failed.
#[derive(Debug, Error)]
pub enum TrainError {
    // ---- options, spec and data that cannot be used (exit 2)
    /// `--device` names no usable device.
    #[error("{0}")]
    Device(#[source] crate::torch::runtime::DeviceError),
    /// The spec does not lower under the run's options; the CLI shows it with its source
    /// line (the spec holds its text).
    #[error("{0}")]
    Spec(SpecError),
    /// The model builder refused the graph.
    #[error(transparent)]
    Model(#[from] crate::torch::model::ModelError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("{data}: the data set has no training or no test images")]
    EmptyData { data: DataSource },
    #[error(
        "{data} has {found} classes but the model was asked for {asked} (--classes); leave --classes out to follow the data"
    )]
    ClassMismatch { data: DataSource, found: usize, asked: i64 },
    #[error(transparent)]
    Channels(#[from] ChannelMismatch),
    #[error("--epochs and --batch must be at least 1")]
    ZeroSize,
    #[error("{flag} must be a finite non-negative number, got {value}")]
    Negative { flag: &'static str, value: f64 },
    #[error(
        "{} already holds a run (checkpoint.json); continue it with --resume, or choose another --out",
        .0.display()
    )]
    RunExists(PathBuf),
    #[error("{}: {source}", path.display())]
    OutDir { path: PathBuf, source: std::io::Error },

    // ---- a checkpoint that cannot be resumed (exit 2)
    #[error("cannot resume: {}: no checkpoint to resume from (no {MANIFEST})", .0.display())]
    NoCheckpoint(PathBuf),
    /// Unreadable, corrupt or of an unknown format.
    #[error("cannot resume: {0}")]
    Checkpoint(#[source] CheckpointError),
    /// The checkpoint's data source does not parse.
    #[error("cannot resume: {0}")]
    CheckpointData(crate::data::DataArgError),
    /// Options given on the command line that contradict the run being resumed, as
    /// `--flag now (the checkpoint has then)`.
    #[error(
        "cannot resume: {} from the run being resumed; drop them to continue it, or train into a new --out",
        differ(.0)
    )]
    OptionsDiffer(Vec<String>),
    #[error("cannot resume: the model differs from the checkpoint's: {0}")]
    ModelDiffers(String),
    #[error("cannot resume: the data differs from the checkpoint's ({})", data_change(now, then))]
    DataDiffers {
        now: Box<DataIdentity>,
        then: Box<DataIdentity>,
    },
    #[error("cannot resume: {now} steps per epoch now, {then} in the checkpoint")]
    StepsPerEpoch { now: u64, then: u64 },
    #[error("cannot resume: {}: {source}", dir.display())]
    ResumeWeights { dir: PathBuf, source: Box<WeightsError> },
    #[error("cannot resume: {}: {source}", dir.display())]
    ResumeOptimizer { dir: PathBuf, source: Box<StateError> },

    // ---- a run that failed (exit 1)
    /// The loss (`Some`) or the weights (`None`) became NaN or infinite; the last good
    /// checkpoint is kept.
    #[error("{}", diverged_message(*epoch, *step, *loss, checkpoint.as_ref()))]
    Diverged {
        epoch: usize,
        step: u64,
        loss: Option<f64>,
        checkpoint: Option<PathBuf>,
    },
    /// The device ran out of memory.
    #[error("{0}")]
    OutOfMemory(Box<OomReport>),
    /// libtorch refused something while setting up (`what`).
    #[error("{what}: {message}")]
    Torch { what: &'static str, message: String },
    /// Training step `step` (1-based) failed.
    #[error("training step {step}: {source}")]
    Step { step: u64, source: StepError },
    #[error("evaluation: {0}")]
    Evaluation(#[source] StepError),
    #[error("writing a checkpoint: {0}")]
    WriteCheckpoint(#[source] CheckpointError),
    #[error("writing the final weights: {0}")]
    FinalWeights(#[source] CheckpointError),
    #[error("metrics.jsonl: {0}")]
    MetricsLog(#[source] std::io::Error),
    /// metrics.jsonl rewritten from the checkpoint on resume.
    #[error("{0}")]
    MetricsRewrite(#[source] CheckpointError),
    #[error("{0}")]
    MetricsJson(#[from] serde_json::Error),
    #[error("metrics.svg: {0}")]
    MetricsPlot(#[source] crate::metrics::MetricsError),
}

impl TrainError {
    pub fn exit_code(&self) -> u8 {
        use TrainError::*;
        match self {
            Device(_) | Spec(_) | Model(_) | Data(_) | EmptyData { .. } | ClassMismatch { .. } => 2,
            Channels(_) | ZeroSize | Negative { .. } | RunExists(_) | OutDir { .. } => 2,
            NoCheckpoint(_) | Checkpoint(_) | CheckpointData(_) | OptionsDiffer(_) | ModelDiffers(_) => 2,
            DataDiffers { .. } | StepsPerEpoch { .. } | ResumeWeights { .. } | ResumeOptimizer { .. } => 2,
            Diverged { .. } | OutOfMemory(_) | Torch { .. } | Step { .. } | Evaluation(_) => 1,
            WriteCheckpoint(_) | FinalWeights(_) | MetricsLog(_) | MetricsRewrite(_) | MetricsJson(_) => 1,
            MetricsPlot(_) => 1,
        }
    }

    /// libtorch's failure `what`: its first line.
    pub(crate) fn torch(what: &'static str) -> impl Fn(TchError) -> TrainError {
        move |e| TrainError::Torch {
            what,
            message: first_line(&e.to_string()),
        }
    }
}

/// `a, b differ` / `a differs`.
fn differ(flags: &[String]) -> String {
    let s = if flags.len() == 1 { "s" } else { "" };
    format!("{} differ{s}", flags.join(", "))
}

fn data_change(now: &DataIdentity, then: &DataIdentity) -> String {
    format!(
        "{} now: {} train / {} test images; {} then: {} / {}",
        now.source, now.train_images, now.test_images, then.source, then.train_images, then.test_images
    )
}

fn diverged_message(epoch: usize, step: u64, loss: Option<f64>, checkpoint: Option<&PathBuf>) -> String {
    let what = match loss {
        Some(l) => format!("the loss is {l}"),
        None => "weights or batch-norm statistics are no longer finite".to_string(),
    };
    let kept = match checkpoint {
        Some(p) => format!(
            "the last good checkpoint is kept ({}); lower --lr or add --warmup, then start again or --resume",
            p.display()
        ),
        None => "no checkpoint was written before it; lower --lr or add --warmup".to_string(),
    };
    format!(
        "training diverged: {what} at step {step} (epoch {}); stopped; {kept}",
        epoch + 1
    )
}

/// What one training step or evaluation batch ran into; its text is what
/// [`is_oom`](super::is_oom) reads.
#[derive(Debug, Error)]
pub enum StepError {
    /// A node of the model failed.
    #[error("{}: {}", .0, first_line(&.0.message))]
    Forward(ForwardError),
    /// The loss, the gradients, the update or an evaluation batch failed (first line).
    #[error("{}", first_line(&.0.to_string()))]
    Torch(#[from] TchError),
    /// The data pipeline could not make a training batch (libtorch's whole message).
    #[error("{0}")]
    Batch(TchError),
}

/// The first line of a libtorch message (a C++ backtrace follows it).
pub(crate) fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}
