//! What a run tells the outside: the [`Observer`] it reports to while it runs, with
//! [`RunInfo`] and [`Progress`], and the [`TrainSummary`] it returns.

use std::path::{Path, PathBuf};

use crate::metrics::EpochMetrics;

use super::config::TrainConfig;
use super::state::SpecIdentity;

/// Sent to the [`Observer`] once the run is set up.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub spec: SpecIdentity,
    pub config: TrainConfig,
    pub parameters: i64,
    pub train_images: usize,
    pub test_images: usize,
    pub steps_per_epoch: u64,
    pub total_steps: u64,
    /// (epoch, step) resumed from, if resuming.
    pub resumed_from: Option<(usize, u64)>,
    pub out: PathBuf,
    pub predicted_training_bytes: i64,
}

/// One training step done (loss and accuracy are the epoch's running means at the last
/// read of the device, `None` before the first read).
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub epoch: usize,
    pub epochs: usize,
    pub step_in_epoch: u64,
    pub steps_per_epoch: u64,
    pub step: u64,
    pub loss: Option<f64>,
    pub accuracy: Option<f64>,
    pub images_per_sec: f64,
    pub lr: f64,
}

/// Receives what a person watching the run wants to see; every method defaults to nothing.
pub trait Observer {
    fn start(&mut self, _info: &RunInfo) {}
    /// Epoch `epoch` (0-based) begins at step `first` of `steps`.
    fn epoch_start(&mut self, _epoch: usize, _epochs: usize, _first: u64, _steps: u64) {}
    fn progress(&mut self, _p: &Progress) {}
    /// Training steps of the epoch are done; the test set is being evaluated.
    fn evaluating(&mut self, _epoch: usize) {}
    fn epoch_end(&mut self, _m: &EpochMetrics, _best: bool) {}
    fn checkpoint(&mut self, _step: u64, _dir: &Path) {}
    fn note(&mut self, _message: &str) {}
}

/// An observer that ignores everything.
pub struct Silent;
impl Observer for Silent {}

/// The result of a run that finished (all epochs, or `max_steps`).
#[derive(Debug, Clone)]
pub struct TrainSummary {
    pub out: PathBuf,
    pub final_weights: PathBuf,
    pub metrics: Vec<EpochMetrics>,
    /// Best test accuracy over completed epochs and its epoch (1-based), if any.
    pub best: Option<(f64, usize)>,
    pub last_test_accuracy: f64,
    pub steps: u64,
    /// Stopped by `max_steps` before the last epoch ended.
    pub stopped_early: bool,
    /// This session's wall time and training throughput.
    pub session_s: f64,
    pub images_per_sec: f64,
    /// The whole run's wall time, all sessions.
    pub elapsed_s: f64,
    pub peak_gpu_bytes: Option<u64>,
    pub predicted_training_bytes: i64,
    pub device: String,
}
