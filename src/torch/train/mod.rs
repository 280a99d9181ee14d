//! Training: `archcheck build SPEC --train ...`.
//!
//! [`run`] loads the spec and the data, builds the [`Model`](crate::torch::model::Model),
//! and trains it with the data pipeline on the device ([`data`]), a flat-buffer
//! SGD-momentum or Adam whose state is saved ([`optim`]), step or cosine-with-warm-up
//! learning rates, auxiliary losses (weight [`AUX_WEIGHT`]), bf16 autocast and
//! channels-last on CUDA, and atomic checkpoints ([`checkpoint`]) at the end of every epoch
//! and every `checkpoint_every` steps.
//!
//! **Reproducibility.** Everything random is a function of the run's seed: weight init
//! (seeded once), the data order and the crop/flip of each position (a generator seeded
//! with (seed, epoch)), dropout (libtorch's generators reseeded with (seed, step) before
//! every step). A checkpoint therefore needs no generator state, and `--resume` after a
//! `kill -9` continues with exactly the numbers an uninterrupted run computes: on the CPU
//! the final weights are bit-identical (GPU kernels need not be deterministic).
//!
//! Nothing here prints: progress goes to an [`Observer`], errors come back as
//! [`TrainError`], whose [`exit_code`](TrainError::exit_code) the CLI uses.
//!
//! The parts (private, their types re-exported here): `config` (request, defaults,
//! resolution against a checkpoint), `setup` (spec, device, data, model, resume), `epoch`
//! (the epoch loop), `stepper` (one optimizer step, autocast, the auxiliary loss), `state`
//! (what a checkpoint records), `checkpoint` (written atomically), `data`, `optim`,
//! `observer`, `error` and `oom`.

mod checkpoint;
mod config;
mod data;
mod epoch;
mod error;
mod observer;
mod oom;
mod optim;
mod setup;
mod state;
mod stepper;

use std::time::Instant;

use crate::data::Dataset;

pub(crate) use config::device_name;
pub use config::{AUX_WEIGHT, ModelRequest, TrainConfig, TrainRequest};
pub use data::{DeviceSplit, EpochPlan, Fnv64, Pipeline, channel_stats};
pub use error::{StepError, TrainError};
pub use observer::{Observer, Progress, RunInfo, Silent, TrainSummary};
pub use oom::{OomContext, OomReport, is_oom, oom_report};
pub use optim::{Optimizer, OptimizerConfig, OptimizerKind, Schedule, ScheduleKind};
pub(crate) use setup::lower;
pub use setup::{SYNTHETIC_TEST, SYNTHETIC_TRAIN, load_data, logits_graph};
pub use state::{Accum, CheckpointState, DataIdentity, SpecIdentity};
pub use stepper::{StepOut, Stepper, WeightsError, evaluate, read_weights};

/// Trains as `req` says; see the module docs.
pub fn run(model_req: &ModelRequest, req: &TrainRequest, obs: &mut dyn Observer) -> Result<TrainSummary, TrainError> {
    let session_start = Instant::now();
    setup::prepare(model_req, req, obs, session_start)?.run(obs)
}

/// For tests and tools: the dataset a run would train on.
pub fn dataset_fingerprint(d: &Dataset) -> String {
    data::fingerprint(d)
}
