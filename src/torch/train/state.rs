//! What a checkpoint records ([`CheckpointState`], its `state.json`): which network and
//! data, the configuration, where the run stands; and the writer that saves it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::metrics::EpochMetrics;

use super::checkpoint;
use super::config::TrainConfig;
use super::error::TrainError;
use super::stepper::Stepper;

/// Which network was trained: spec file, variant, lowering options, and a hash of the
/// spec text (resume refuses a changed spec).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SpecIdentity {
    pub path: String,
    pub name: String,
    pub variant: Option<String>,
    pub classes: u64,
    pub no_aux: bool,
    pub input: (u64, u64),
    pub text_fnv64: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct DataIdentity {
    pub source: String,
    pub train_images: usize,
    pub test_images: usize,
    pub classes: usize,
    pub train_fnv64: String,
    pub test_fnv64: String,
}

/// Running sums of the current epoch.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq)]
pub struct Accum {
    /// Σ main-head mean cross-entropy over the epoch's steps.
    pub loss_sum: f64,
    pub correct: i64,
    pub seen: i64,
    pub steps: u64,
    /// Wall time spent in training steps this epoch.
    pub train_time_s: f64,
}

impl Accum {
    /// Mean main-head loss of the epoch's steps so far.
    pub fn mean_loss(&self) -> f64 {
        self.loss_sum / self.steps.max(1) as f64
    }

    /// Training accuracy of the epoch so far.
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.seen.max(1) as f64
    }
}

/// `state.json` of a checkpoint.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct CheckpointState {
    pub spec: SpecIdentity,
    pub config: TrainConfig,
    pub data: DataIdentity,
    /// Optimizer steps done in total.
    pub step: u64,
    /// The epoch in progress (0-based) and how many of its steps are done.
    pub epoch: usize,
    pub step_in_epoch: u64,
    pub steps_per_epoch: u64,
    pub accum: Accum,
    pub optimizer_steps: u64,
    /// Wall time of the run so far, all sessions.
    pub elapsed_s: f64,
    /// Metrics of the completed epochs.
    pub metrics: Vec<EpochMetrics>,
}

/// How `now` differs from the checkpoint's `was`, or None where it is the same network.
pub(super) fn identity_diff(now: &SpecIdentity, was: &SpecIdentity) -> Option<String> {
    let mut d = Vec::new();
    if now.text_fnv64 != was.text_fnv64 {
        d.push(format!(
            "the spec text changed (hash {} now, {} then)",
            now.text_fnv64, was.text_fnv64
        ));
    }
    if now.name != was.name {
        d.push(format!("spec '{}' now, '{}' then", now.name, was.name));
    }
    if now.variant != was.variant {
        d.push(format!("variant {:?} now, {:?} then", now.variant, was.variant));
    }
    if now.input != was.input {
        d.push(format!(
            "input {}×{} now, {}×{} then",
            now.input.0, now.input.1, was.input.0, was.input.1
        ));
    }
    if now.classes != was.classes {
        d.push(format!("{} classes now, {} then", now.classes, was.classes));
    }
    if now.no_aux != was.no_aux {
        d.push(format!("--no-aux {} now, {} then", now.no_aux, was.no_aux));
    }
    (!d.is_empty()).then(|| d.join("; "))
}

/// Where the run stands: optimizer steps in all, the epoch in progress (0-based), its
/// steps done and its running sums.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Position {
    pub step: u64,
    pub epoch: usize,
    pub step_in_epoch: u64,
    pub accum: Accum,
}

/// Saves the run's checkpoints: what every one records besides where the run stands.
pub(super) struct CheckpointWriter {
    pub out: PathBuf,
    pub spec: SpecIdentity,
    pub config: TrainConfig,
    pub data: DataIdentity,
    pub steps_per_epoch: u64,
}

impl CheckpointWriter {
    /// Saves and commits a checkpoint at `at`; returns its directory.
    pub fn save(
        &self,
        st: &Stepper,
        at: &Position,
        metrics: &[EpochMetrics],
        elapsed_s: f64,
    ) -> Result<PathBuf, TrainError> {
        let state = CheckpointState {
            spec: self.spec.clone(),
            config: self.config.clone(),
            data: self.data.clone(),
            step: at.step,
            epoch: at.epoch,
            step_in_epoch: at.step_in_epoch,
            steps_per_epoch: self.steps_per_epoch,
            accum: at.accum,
            optimizer_steps: st.opt.steps,
            elapsed_s,
            metrics: metrics.to_vec(),
        };
        checkpoint::save(
            &self.out,
            at.step,
            at.epoch,
            &st.weights(),
            &st.opt.state_tensors(),
            &state,
        )
        .map_err(TrainError::WriteCheckpoint)
    }
}
