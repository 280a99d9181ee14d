//! Training: `archcheck build SPEC --train ...`.
//!
//! [`run`] loads the spec and the data, builds the [`Model`], and trains it with the data
//! pipeline on the device ([`data`]), a flat-buffer SGD-momentum or Adam whose state is
//! saved ([`optim`]), step or cosine-with-warm-up learning rates, auxiliary losses (weight
//! [`AUX_WEIGHT`]), bf16 autocast and channels-last on CUDA, and atomic checkpoints
//! ([`checkpoint`]) at the end of every epoch and every `checkpoint_every` steps.
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

pub mod checkpoint;
pub mod data;
pub mod optim;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Reduction, Tensor, nn};

use crate::data::{DataSource, Dataset, Split};
use crate::ir::{Graph, LowerOptions, Op, Output};
use crate::metrics::{self, EpochMetrics};
use crate::torch::model::Model;
use crate::torch::runtime;

pub use data::Fnv64;
pub use optim::{OptimizerConfig, OptimizerKind, Schedule, ScheduleKind};

/// Weight of each auxiliary head's loss: loss = CE(main) + 0.3·Σ CE(aux), as GoogLeNet.
pub const AUX_WEIGHT: f64 = 0.3;
/// Images of the synthetic data set (`--data synthetic`), train and test.
pub const SYNTHETIC_TRAIN: usize = 2048;
pub const SYNTHETIC_TEST: usize = 512;
/// Seconds between reads of the running loss (each read waits for the GPU).
const SYNC_INTERVAL_S: f64 = 0.5;

/// Why training stopped or could not start.
#[derive(Debug)]
pub enum TrainError {
    /// Options, spec or data that cannot be used (exit 2).
    Usage(String),
    /// The checkpoint to resume from is unreadable, corrupt or does not match (exit 2).
    Checkpoint(String),
    /// The loss (`Some`) or the weights (`None`) became NaN or infinite (exit 1); the last
    /// good checkpoint is kept.
    Diverged {
        epoch: usize,
        step: u64,
        loss: Option<f64>,
        checkpoint: Option<PathBuf>,
    },
    /// The device ran out of memory (exit 1).
    OutOfMemory(Box<OomReport>),
    /// libtorch refused something else, or an output file could not be written (exit 1).
    Failed(String),
}

/// What is known when memory ran out, and what would fit.
#[derive(Debug, Clone)]
pub struct OomReport {
    pub device: String,
    pub batch: usize,
    pub input: (i64, i64),
    /// derive's estimate of the activation memory autograd keeps at this batch (fp32).
    pub predicted_training_bytes: i64,
    /// Memory the device had in use at its peak (CUDA), weights and optimizer included.
    pub peak_bytes: u64,
    /// Memory taken by weights, optimizer state and data before the first step.
    pub static_bytes: u64,
    /// The device's capacity as libtorch's message states it.
    pub capacity_bytes: Option<u64>,
    pub suggested_batch: Option<usize>,
    /// libtorch's message, first line.
    pub message: String,
}

impl TrainError {
    pub fn exit_code(&self) -> u8 {
        match self {
            TrainError::Usage(_) | TrainError::Checkpoint(_) => 2,
            _ => 1,
        }
    }
}

fn gib(b: f64) -> String {
    format!("{:.2} GiB", b / (1u64 << 30) as f64)
}

impl std::fmt::Display for TrainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrainError::Usage(m) => write!(f, "{m}"),
            TrainError::Checkpoint(m) => write!(f, "cannot resume: {m}"),
            TrainError::Diverged {
                epoch,
                step,
                loss,
                checkpoint,
            } => {
                match loss {
                    Some(l) => write!(
                        f,
                        "training diverged: the loss is {l} at step {step} (epoch {}); stopped",
                        epoch + 1
                    )?,
                    None => write!(
                        f,
                        "training diverged: weights or batch-norm statistics are no longer finite at step {step} (epoch {}); stopped",
                        epoch + 1
                    )?,
                }
                match checkpoint {
                    Some(p) => write!(
                        f,
                        "; the last good checkpoint is kept ({}); lower --lr or add --warmup, then start again or --resume",
                        p.display()
                    ),
                    None => write!(f, "; no checkpoint was written before it; lower --lr or add --warmup"),
                }
            }
            TrainError::OutOfMemory(o) => {
                writeln!(
                    f,
                    "out of memory on {} at batch {} ({}×{}): {}",
                    o.device, o.batch, o.input.0, o.input.1, o.message
                )?;
                writeln!(
                    f,
                    "  derive predicts {} of activations kept for backward at batch {} (fp32; bf16 autocast keeps less)",
                    gib(o.predicted_training_bytes as f64),
                    o.batch
                )?;
                if o.peak_bytes > 0 {
                    writeln!(
                        f,
                        "  measured: {} at the peak, {} of it weights, optimizer state and data",
                        gib(o.peak_bytes as f64),
                        gib(o.static_bytes as f64)
                    )?;
                }
                if let Some(c) = o.capacity_bytes {
                    writeln!(f, "  device capacity: {}", gib(c as f64))?;
                }
                match o.suggested_batch {
                    Some(b) => write!(f, "  a batch of about {b} should fit: try --batch {b}"),
                    None => write!(f, "  try a smaller --batch or --input"),
                }
            }
            TrainError::Failed(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for TrainError {}

fn failed(what: &str) -> impl Fn(tch::TchError) -> TrainError + '_ {
    move |e| TrainError::Failed(format!("{what}: {}", first_line(&e.to_string())))
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

/// What the command line asked for. `None` means: the checkpoint's value when resuming,
/// else the default.
#[derive(Debug, Clone, Default)]
pub struct TrainRequest {
    /// Default: `fashion-mnist`.
    pub data: Option<DataSource>,
    /// Default 10.
    pub epochs: Option<usize>,
    /// Default 128.
    pub batch: Option<usize>,
    /// Default SGD.
    pub optimizer: Option<OptimizerKind>,
    /// Default 0.05 (SGD) or 0.001 (Adam).
    pub lr: Option<f64>,
    /// Default 0.9.
    pub momentum: Option<f64>,
    /// Default 5e-4 (SGD) or 0 (Adam).
    pub weight_decay: Option<f64>,
    /// Default cosine.
    pub schedule: Option<ScheduleKind>,
    /// Warm-up, in epochs (fractions allowed). Default 0.
    pub warmup: Option<f64>,
    /// Default [`AUX_WEIGHT`].
    pub aux_weight: Option<f64>,
    /// bf16 autocast. Default: on for CUDA, off for the CPU.
    pub amp: Option<bool>,
    /// Channels-last layout. Default: on for CUDA, off for the CPU.
    pub channels_last: Option<bool>,
    /// Default: drawn from the clock (and recorded, so resume still reproduces).
    pub seed: Option<u64>,
    /// `auto`, `cpu`, `cuda`, `cuda:N`.
    pub device: String,
    /// The run directory: metrics.jsonl, metrics.svg, checkpoints, final.safetensors.
    pub out: PathBuf,
    pub resume: bool,
    /// Stop after this many optimizer steps in total (the run can be resumed past it).
    pub max_steps: Option<u64>,
    /// Also checkpoint every N steps (always at the end of an epoch).
    pub checkpoint_every: Option<u64>,
}

/// The resolved options that shape the run's trajectory; stored in every checkpoint.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct TrainConfig {
    pub data: String,
    pub epochs: usize,
    pub batch: usize,
    pub optimizer: OptimizerKind,
    pub lr: f64,
    pub momentum: f64,
    pub weight_decay: f64,
    pub schedule: ScheduleKind,
    pub warmup_epochs: f64,
    pub aux_weight: f64,
    pub amp: bool,
    pub channels_last: bool,
    pub seed: u64,
    pub device: String,
}

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

// ---------------------------------------------------------------------------------------
// setting up: spec, data, options
// ---------------------------------------------------------------------------------------

/// The model to train: spec file and lowering options as given on the command line.
#[derive(Debug, Clone)]
pub struct ModelRequest {
    pub spec: PathBuf,
    pub options: LowerOptions,
}

/// Loads the data a [`DataSource`] names: images at `size` (image folders),
/// `channels`×`size`² and `classes` for synthetic data.
pub fn load_data(
    source: &DataSource,
    size: usize,
    channels: usize,
    classes: usize,
    seed: u64,
) -> Result<Split, TrainError> {
    match source {
        DataSource::Synthetic => Ok(crate::data::synthetic(
            SYNTHETIC_TRAIN,
            SYNTHETIC_TEST,
            classes,
            channels,
            size,
            seed,
        )),
        DataSource::FashionMnist(dir) => {
            crate::data::load_fashion_mnist(dir.as_deref()).map_err(|e| TrainError::Usage(e.to_string()))
        }
        DataSource::ImageFolder(dir) => {
            crate::data::load_image_folder(dir, size).map_err(|e| TrainError::Usage(e.to_string()))
        }
    }
}

fn lower(spec: &crate::spec::Spec, text: &str, opts: &LowerOptions) -> Result<Graph, TrainError> {
    crate::ir::lower(spec, opts).map_err(|e| {
        TrainError::Usage(
            crate::report::diagnostics::render_error(&e, Some(text))
                .trim_end()
                .trim_start_matches("error: ")
                .to_string(),
        )
    })
}

/// Makes the main output the logits: a trailing softmax is skipped (the loss applies
/// log-softmax itself).
pub fn logits_graph(mut g: Graph) -> Graph {
    let main = g.main_output();
    if matches!(g.nodes[main].op, Op::Softmax)
        && let Some(&input) = g.nodes[main].inputs.first()
    {
        match g.outputs.iter_mut().find(|o| !o.aux) {
            Some(o) => o.node = input,
            None => g.outputs.push(Output {
                name: "logits".into(),
                node: input,
                aux: false,
            }),
        }
    }
    g
}

fn default_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    data::derive_seed(t, u64::from(std::process::id()), 0) % 1_000_000_007
}

/// Fills the request's gaps from `prev` (resuming) or the defaults, and says which explicit
/// values contradict the checkpoint.
fn resolve(
    req: &TrainRequest,
    prev: Option<&TrainConfig>,
    device: Device,
    data: &DataSource,
    steps_can_change: bool,
) -> Result<TrainConfig, TrainError> {
    let cuda = device.is_cuda();
    let device_name = match device {
        Device::Cuda(i) => format!("cuda:{i}"),
        _ => "cpu".to_string(),
    };
    let optimizer = req
        .optimizer
        .or(prev.map(|p| p.optimizer))
        .unwrap_or(OptimizerKind::Sgd);
    let same_device = prev.is_some_and(|p| p.device == device_name);
    let cfg = TrainConfig {
        data: data.to_string(),
        epochs: req.epochs.or(prev.map(|p| p.epochs)).unwrap_or(10),
        batch: req.batch.or(prev.map(|p| p.batch)).unwrap_or(128),
        optimizer,
        lr: req.lr.or(prev.map(|p| p.lr)).unwrap_or(match optimizer {
            OptimizerKind::Sgd => 0.05,
            OptimizerKind::Adam => 1e-3,
        }),
        momentum: req.momentum.or(prev.map(|p| p.momentum)).unwrap_or(0.9),
        weight_decay: req
            .weight_decay
            .or(prev.map(|p| p.weight_decay))
            .unwrap_or(match optimizer {
                OptimizerKind::Sgd => 5e-4,
                OptimizerKind::Adam => 0.0,
            }),
        schedule: req
            .schedule
            .or(prev.map(|p| p.schedule))
            .unwrap_or(ScheduleKind::Cosine),
        warmup_epochs: req.warmup.or(prev.map(|p| p.warmup_epochs)).unwrap_or(0.0),
        aux_weight: req.aux_weight.or(prev.map(|p| p.aux_weight)).unwrap_or(AUX_WEIGHT),
        amp: req.amp.or(prev.filter(|_| same_device).map(|p| p.amp)).unwrap_or(cuda),
        channels_last: req
            .channels_last
            .or(prev.filter(|_| same_device).map(|p| p.channels_last))
            .unwrap_or(cuda),
        seed: req.seed.or(prev.map(|p| p.seed)).unwrap_or_else(default_seed),
        device: device_name,
    };
    if cfg.epochs == 0 || cfg.batch == 0 {
        return Err(TrainError::Usage("--epochs and --batch must be at least 1".into()));
    }
    for (name, v) in [
        ("--lr", cfg.lr),
        ("--momentum", cfg.momentum),
        ("--weight-decay", cfg.weight_decay),
        ("--warmup", cfg.warmup_epochs),
        ("--aux-weight", cfg.aux_weight),
    ] {
        if !v.is_finite() || v < 0.0 {
            return Err(TrainError::Usage(format!(
                "{name} must be a finite non-negative number, got {v}"
            )));
        }
    }
    if let Some(p) = prev {
        let mut diffs = Vec::new();
        let mut check = |flag: &str, given: bool, now: String, was: String| {
            if given && now != was {
                diffs.push(format!("{flag} {now} (the checkpoint has {was})"));
            }
        };
        check(
            "--batch",
            req.batch.is_some(),
            cfg.batch.to_string(),
            p.batch.to_string(),
        );
        check(
            "--optimizer",
            req.optimizer.is_some(),
            cfg.optimizer.name().into(),
            p.optimizer.name().into(),
        );
        check("--lr", req.lr.is_some(), cfg.lr.to_string(), p.lr.to_string());
        check(
            "--momentum",
            req.momentum.is_some(),
            cfg.momentum.to_string(),
            p.momentum.to_string(),
        );
        check(
            "--weight-decay",
            req.weight_decay.is_some(),
            cfg.weight_decay.to_string(),
            p.weight_decay.to_string(),
        );
        check(
            "--schedule",
            req.schedule.is_some(),
            cfg.schedule.name().into(),
            p.schedule.name().into(),
        );
        check(
            "--warmup",
            req.warmup.is_some(),
            cfg.warmup_epochs.to_string(),
            p.warmup_epochs.to_string(),
        );
        check(
            "--aux-weight",
            req.aux_weight.is_some(),
            cfg.aux_weight.to_string(),
            p.aux_weight.to_string(),
        );
        check("--seed", req.seed.is_some(), cfg.seed.to_string(), p.seed.to_string());
        check(
            "--epochs",
            req.epochs.is_some() && !steps_can_change,
            cfg.epochs.to_string(),
            p.epochs.to_string(),
        );
        if !diffs.is_empty() {
            return Err(TrainError::Checkpoint(format!(
                "{} differ{} from the run being resumed; drop them to continue it, or train into a new --out",
                diffs.join(", "),
                if diffs.len() == 1 { "s" } else { "" }
            )));
        }
    }
    Ok(cfg)
}

fn identity_diff(now: &SpecIdentity, was: &SpecIdentity) -> Option<String> {
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

// ---------------------------------------------------------------------------------------
// the trainer
// ---------------------------------------------------------------------------------------

/// A model with its optimizer, ready to take steps: shared by training and `bench`.
pub struct Stepper {
    pub vs: nn::VarStore,
    pub model: Model,
    pub opt: optim::Optimizer,
    pub device: Device,
    pub amp: bool,
    pub aux_weight: f64,
}

/// The outputs of one step, still on the device.
pub struct StepOut {
    /// Main-head mean cross-entropy.
    pub loss: Tensor,
    /// Main loss + aux_weight·Σ aux losses.
    pub total: Tensor,
    pub logits: Tensor,
}

impl Stepper {
    /// Builds the model on `device` (weights from the current libtorch seed) and takes its
    /// variables over into the optimizer.
    pub fn new(
        graph: &Graph,
        device: Device,
        opt: OptimizerConfig,
        amp: bool,
        channels_last: bool,
        aux_weight: f64,
    ) -> Result<Stepper, TrainError> {
        let vs = nn::VarStore::new(device);
        let model = Model::new(&vs.root(), graph).map_err(TrainError::Usage)?;
        let opt = optim::Optimizer::new(&vs, opt, channels_last).map_err(failed("setting up the optimizer"))?;
        Ok(Stepper {
            vs,
            model,
            opt,
            device,
            amp,
            aux_weight,
        })
    }

    fn autocast(&self) -> Option<runtime::AutocastBf16> {
        self.amp.then(|| runtime::AutocastBf16::for_device(self.device))
    }

    /// Forward (autocast), losses, gradients and the update.
    pub fn step(&mut self, x: &Tensor, y: &Tensor, lr: f64) -> Result<StepOut, String> {
        let (logits, aux) = {
            let _ac = self.autocast();
            self.model
                .try_forward(x, true)
                .map_err(|e| format!("{e}: {}", first_line(&e.message)))?
        };
        let ce = |t: &Tensor| {
            t.f_to_kind(Kind::Float)?
                .f_cross_entropy_loss::<Tensor>(y, None, Reduction::Mean, -100, 0.0)
        };
        let te = |e: tch::TchError| first_line(&e.to_string());
        let loss = ce(&logits).map_err(te)?;
        let mut total = loss.shallow_clone();
        for a in &aux {
            total = total
                .f_add(&ce(a).map_err(te)?.f_mul_scalar(self.aux_weight).map_err(te)?)
                .map_err(te)?;
        }
        let g = self.opt.gradients(&total).map_err(te)?;
        self.opt.step(g, lr).map_err(te)?;
        Ok(StepOut {
            loss: loss.detach(),
            total: total.detach(),
            logits: logits.detach(),
        })
    }

    /// Σ cross-entropy and number correct over a batch, eval mode, no gradients.
    pub fn eval_batch(&self, x: &Tensor, y: &Tensor) -> Result<(Tensor, Tensor), String> {
        tch::no_grad(|| {
            let (logits, _) = {
                let _ac = self.autocast();
                self.model
                    .try_forward(x, false)
                    .map_err(|e| format!("{e}: {}", first_line(&e.message)))?
            };
            let te = |e: tch::TchError| first_line(&e.to_string());
            let logits = logits.f_to_kind(Kind::Float).map_err(te)?;
            let loss = logits
                .f_cross_entropy_loss::<Tensor>(y, None, Reduction::Sum, -100, 0.0)
                .map_err(te)?;
            let correct = logits
                .f_argmax(1, false)
                .map_err(te)?
                .f_eq_tensor(y)
                .map_err(te)?
                .f_sum(Kind::Int64)
                .map_err(te)?;
            Ok((loss, correct))
        })
    }

    /// Every variable of the store, sorted by name, contiguous on the CPU.
    pub fn weights(&self) -> Vec<(String, Tensor)> {
        let vars: BTreeMap<String, Tensor> = self.vs.variables().into_iter().collect();
        tch::no_grad(|| {
            vars.into_iter()
                .map(|(n, v)| (n, v.to_device(Device::Cpu).contiguous()))
                .collect()
        })
    }

    /// Copies saved weights in; every variable must be present with its shape.
    pub fn load_weights(&self, saved: &BTreeMap<String, Tensor>) -> Result<(), String> {
        let vars = self.vs.variables();
        tch::no_grad(|| {
            for (name, mut v) in vars {
                let t = saved
                    .get(&name)
                    .ok_or_else(|| format!("the checkpoint has no variable {name}"))?;
                if t.size() != v.size() || t.kind() != v.kind() {
                    return Err(format!(
                        "variable {name} is {:?} {:?} in the checkpoint, {:?} {:?} in the model",
                        t.size(),
                        t.kind(),
                        v.size(),
                        v.kind()
                    ));
                }
                v.f_copy_(t).map_err(|e| format!("{name}: {e}"))?;
            }
            Ok(())
        })
    }

    /// Whether every variable (parameters and running statistics) is finite: one
    /// reduction, one wait for the device.
    pub fn all_finite(&self) -> bool {
        tch::no_grad(|| {
            let flags: Vec<Tensor> = self
                .vs
                .variables()
                .values()
                .filter(|v| v.is_floating_point())
                .map(|v| v.isfinite().all())
                .collect();
            flags.is_empty() || Tensor::stack(&flags, 0).all().int64_value(&[]) != 0
        })
    }

    pub fn parameters(&self) -> i64 {
        self.vs
            .variables()
            .values()
            .filter(|v| v.requires_grad())
            .map(|v| v.numel() as i64)
            .sum()
    }
}

/// Whether a libtorch message reports exhausted memory.
pub fn is_oom(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("out of memory")
        || m.contains("not enough memory")
        || m.contains("can't allocate memory")
        || m.contains("cannot allocate memory")
}

/// Parses "... total capacity of 79.11 GiB ..." from a CUDA OOM message.
fn parse_capacity(message: &str) -> Option<u64> {
    let i = message.find("total capacity of ")? + "total capacity of ".len();
    let rest = &message[i..];
    let mut it = rest.split_whitespace();
    let num: f64 = it.next()?.parse().ok()?;
    let unit = it.next()?;
    let mult = match unit.trim_end_matches(['.', ',']) {
        "GiB" => (1u64 << 30) as f64,
        "MiB" => (1u64 << 20) as f64,
        "KiB" => 1024.0,
        "TiB" => (1u64 << 40) as f64,
        _ => return None,
    };
    Some((num * mult) as u64)
}

/// The OOM report for `batch`: the suggestion scales the batch by the memory left for
/// activations, measured (peak) and predicted (derive), taking the smaller.
pub fn oom_report(graph: &Graph, device: Device, batch: usize, message: &str, static_bytes: u64) -> OomReport {
    let predicted = crate::count::costs(graph, batch as i64).1.training_bytes;
    let peak = match device {
        Device::Cuda(i) => runtime::cuda_max_memory_allocated(i),
        _ => 0,
    };
    let capacity = parse_capacity(message);
    let suggested = capacity.and_then(|cap| {
        let usable = (cap as f64 * 0.9 - static_bytes as f64).max(0.0);
        // At least what was in use when it failed, per image.
        let measured_per_image = (peak.saturating_sub(static_bytes) as f64 / batch as f64).max(1.0);
        let predicted_per_image = (predicted as f64 / batch as f64).max(1.0);
        let per_image = measured_per_image.max(predicted_per_image * 0.5);
        let b = (usable / per_image).floor() as usize;
        let b = b.min(batch.saturating_sub(1));
        // A multiple of 8 where there is room for one.
        let b = if b >= 16 { b / 8 * 8 } else { b };
        (b >= 1).then_some(b)
    });
    OomReport {
        device: format!("{device:?}"),
        batch,
        input: graph.reference,
        predicted_training_bytes: predicted,
        peak_bytes: peak,
        static_bytes,
        capacity_bytes: capacity,
        suggested_batch: suggested,
        message: first_line(message),
    }
}

fn peak_gpu(device: Device) -> Option<u64> {
    match device {
        Device::Cuda(i) => Some(runtime::cuda_max_memory_allocated(i)),
        _ => None,
    }
}

fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

/// Σ of a device scalar, read back (waits for the device).
fn read_f64(t: &Tensor) -> f64 {
    t.double_value(&[])
}

/// Trains as `req` says; see the module docs.
pub fn run(model_req: &ModelRequest, req: &TrainRequest, obs: &mut dyn Observer) -> Result<TrainSummary, TrainError> {
    let session_start = Instant::now();
    runtime::init();
    let device = runtime::device_from_str(&req.device).map_err(TrainError::Usage)?;

    // The checkpoint first: it fills the options the command line leaves out.
    let resumed: Option<checkpoint::Loaded<CheckpointState>> = if req.resume {
        if !checkpoint::exists(&req.out) {
            return Err(TrainError::Checkpoint(format!(
                "{}: no checkpoint to resume from (no {})",
                req.out.display(),
                checkpoint::MANIFEST
            )));
        }
        Some(checkpoint::load(&req.out).map_err(TrainError::Checkpoint)?)
    } else {
        if checkpoint::exists(&req.out) {
            return Err(TrainError::Usage(format!(
                "{} already holds a run (checkpoint.json); continue it with --resume, or choose another --out",
                req.out.display()
            )));
        }
        None
    };
    let prev = resumed.as_ref().map(|l| &l.state);

    // Spec and graph.
    let text = std::fs::read_to_string(&model_req.spec)
        .map_err(|e| TrainError::Usage(format!("{}: {e}", model_req.spec.display())))?;
    let spec = crate::spec::load_file(&model_req.spec).map_err(|e| {
        TrainError::Usage(
            crate::report::diagnostics::render_error(&e, Some(&text))
                .trim_end()
                .trim_start_matches("error: ")
                .to_string(),
        )
    })?;
    let mut opts = model_req.options.clone();
    if let Some(p) = prev {
        // Model options left out on the command line come from the checkpoint.
        if opts.variant.is_none() {
            opts.variant = p.spec.variant.clone();
        }
        if opts.input.is_none() {
            opts.input = Some(p.spec.input);
        }
        if opts.classes.is_none() {
            opts.classes = Some(p.spec.classes);
        }
        opts.no_aux |= p.spec.no_aux;
    }
    let graph0 = lower(&spec, &text, &opts)?;

    // Data.
    let source = match (&req.data, prev) {
        (Some(d), _) => d.clone(),
        (None, Some(p)) => crate::data::parse_data_arg(&p.config.data).map_err(TrainError::Checkpoint)?,
        (None, None) => DataSource::FashionMnist(None),
    };
    // The seed is settled first: synthetic data depends on it.
    let mut req = req.clone();
    req.seed = Some(req.seed.or(prev.map(|p| p.config.seed)).unwrap_or_else(default_seed));
    let req = &req;
    let seed_for_data = req.seed.unwrap_or(0);
    let (ref_h, ref_w) = graph0.reference;
    let split = load_data(
        &source,
        ref_h.max(ref_w) as usize,
        graph0.input_channels as usize,
        graph0.classes as usize,
        seed_for_data,
    )?;
    if split.train.n == 0 || split.test.n == 0 {
        return Err(TrainError::Usage(format!(
            "{source}: the data set has no training or no test images"
        )));
    }
    let graph = if opts.classes.is_none() && split.train.classes as i64 != graph0.classes {
        opts.classes = Some(split.train.classes as u64);
        lower(&spec, &text, &opts)?
    } else if split.train.classes as i64 != graph0.classes {
        return Err(TrainError::Usage(format!(
            "{source} has {} classes but the model was asked for {} (--classes); leave --classes out to follow the data",
            split.train.classes, graph0.classes
        )));
    } else {
        graph0
    };
    let graph = logits_graph(graph);
    let identity = SpecIdentity {
        path: model_req.spec.display().to_string(),
        name: spec.name.clone(),
        variant: opts.variant.clone(),
        classes: graph.classes as u64,
        no_aux: opts.no_aux,
        input: (graph.reference.0 as u64, graph.reference.1 as u64),
        text_fnv64: Fnv64::of(text.as_bytes()),
    };
    let data_id = DataIdentity {
        source: source.to_string(),
        train_images: split.train.n,
        test_images: split.test.n,
        classes: split.train.classes,
        train_fnv64: data::fingerprint(&split.train),
        test_fnv64: data::fingerprint(&split.test),
    };
    let steps_can_change = prev.is_some_and(|p| p.config.schedule == ScheduleKind::Step);
    let cfg = resolve(req, prev.map(|p| &p.config), device, &source, steps_can_change)?;
    if let Some(p) = prev {
        if let Some(d) = identity_diff(&identity, &p.spec) {
            return Err(TrainError::Checkpoint(format!(
                "the model differs from the checkpoint's: {d}"
            )));
        }
        if (data_id.train_fnv64.as_str(), data_id.test_fnv64.as_str())
            != (p.data.train_fnv64.as_str(), p.data.test_fnv64.as_str())
        {
            return Err(TrainError::Checkpoint(format!(
                "the data differs from the checkpoint's ({} now: {} train / {} test images; {} then: {} / {})",
                data_id.source,
                data_id.train_images,
                data_id.test_images,
                p.data.source,
                p.data.train_images,
                p.data.test_images
            )));
        }
        if p.config.device != cfg.device {
            obs.note(&format!(
                "resuming on {} a run that trained on {}: the numbers will not match an uninterrupted run bit for bit",
                cfg.device, p.config.device
            ));
        }
    }
    std::fs::create_dir_all(&req.out).map_err(|e| TrainError::Usage(format!("{}: {e}", req.out.display())))?;

    // Geometry of an epoch.
    let batch = cfg.batch.min(split.train.n);
    if batch < cfg.batch {
        obs.note(&format!(
            "the training set has only {} images: batch {} instead of {}",
            split.train.n, batch, cfg.batch
        ));
    }
    let steps_per_epoch = (split.train.n / batch) as u64;
    let total_steps = steps_per_epoch * cfg.epochs as u64;
    let schedule = Schedule {
        kind: cfg.schedule,
        base_lr: cfg.lr,
        warmup_steps: (cfg.warmup_epochs * steps_per_epoch as f64).round() as u64,
        total_steps,
        steps_per_epoch,
    };
    if let Some(p) = prev
        && p.steps_per_epoch != steps_per_epoch
    {
        return Err(TrainError::Checkpoint(format!(
            "{} steps per epoch now, {} in the checkpoint",
            steps_per_epoch, p.steps_per_epoch
        )));
    }

    // Device set-up, model, optimizer.
    if device.is_cuda() {
        runtime::cudnn_benchmark(true);
    }
    runtime::manual_seed(data::derive_seed(cfg.seed, data::STREAM_INIT, 0));
    let opt_cfg = OptimizerConfig {
        kind: cfg.optimizer,
        momentum: cfg.momentum,
        weight_decay: cfg.weight_decay,
    };
    let mut st = Stepper::new(&graph, device, opt_cfg, cfg.amp, cfg.channels_last, cfg.aux_weight)?;
    let (mean, std) = data::channel_stats(&split.train);
    let pipe = data::Pipeline::new(
        split.train.channels,
        &mean,
        &std,
        graph.reference,
        graph.input_channels,
        device,
        cfg.channels_last,
    )
    .map_err(TrainError::Usage)?;
    let train_d = data::DeviceSplit::upload(&split.train, device)
        .map_err(|e| oom_or(&graph, device, batch, &e.to_string(), 0, "uploading the training set"))?;
    let test_d = data::DeviceSplit::upload(&split.test, device)
        .map_err(|e| oom_or(&graph, device, batch, &e.to_string(), 0, "uploading the test set"))?;
    drop(split);

    let mut metrics_so_far: Vec<EpochMetrics> = Vec::new();
    let (mut step, mut epoch, mut step_in_epoch, mut accum, mut elapsed_before) =
        (0u64, 0usize, 0u64, Accum::default(), 0.0);
    let mut last_checkpoint: Option<PathBuf> = None;
    if let Some(l) = &resumed {
        st.load_weights(&l.model)
            .map_err(|e| TrainError::Checkpoint(format!("{}: {e}", l.dir.display())))?;
        st.opt
            .load_state(&l.optim, l.state.optimizer_steps)
            .map_err(|e| TrainError::Checkpoint(format!("{}: {e}", l.dir.display())))?;
        step = l.state.step;
        epoch = l.state.epoch;
        step_in_epoch = l.state.step_in_epoch;
        accum = l.state.accum;
        elapsed_before = l.state.elapsed_s;
        metrics_so_far = l.state.metrics.clone();
        last_checkpoint = Some(l.dir.clone());
        // Temporary files of atomic writes a kill interrupted.
        if let Ok(rd) = std::fs::read_dir(&req.out) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with(".tmp-") || (name.starts_with('.') && name.contains(".tmp-")) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        // metrics.jsonl may hold lines written after the checkpoint: rewrite it from the
        // checkpoint so it continues without duplicates.
        let mut text = String::new();
        for m in &metrics_so_far {
            text.push_str(&serde_json::to_string(m).map_err(|e| TrainError::Failed(e.to_string()))?);
            text.push('\n');
        }
        checkpoint::write_atomic(&req.out.join("metrics.jsonl"), text.as_bytes()).map_err(TrainError::Failed)?;
    } else {
        let _ = std::fs::remove_file(req.out.join("metrics.jsonl"));
    }
    let static_bytes = peak_gpu(device).map(|_| match device {
        Device::Cuda(i) => runtime::cuda_memory_allocated(i),
        _ => 0,
    });
    if let Device::Cuda(i) = device {
        runtime::cuda_reset_peak_memory(i);
    }
    let static_bytes = static_bytes.unwrap_or(0);
    let predicted = crate::count::costs(&graph, batch as i64).1.training_bytes;
    obs.start(&RunInfo {
        spec: identity.clone(),
        config: cfg.clone(),
        parameters: st.parameters(),
        train_images: train_d.n,
        test_images: test_d.n,
        steps_per_epoch,
        total_steps,
        resumed_from: resumed.as_ref().map(|l| (l.state.epoch, l.state.step)),
        out: req.out.clone(),
        predicted_training_bytes: predicted,
    });

    let title = format!(
        "{}{} on {}",
        spec.name,
        opts.variant.as_deref().map(|v| format!(" ({v})")).unwrap_or_default(),
        source
    );
    let mut session_images = 0u64;
    let mut session_train_s = 0.0f64;
    let mut stopped_early = false;
    let mut last_eval: Option<(f64, f64)> = None;

    let save = |st: &Stepper,
                step: u64,
                epoch: usize,
                step_in_epoch: u64,
                accum: Accum,
                metrics: &[EpochMetrics],
                elapsed: f64|
     -> Result<PathBuf, TrainError> {
        let state = CheckpointState {
            spec: identity.clone(),
            config: cfg.clone(),
            data: data_id.clone(),
            step,
            epoch,
            step_in_epoch,
            steps_per_epoch,
            accum,
            optimizer_steps: st.opt.steps,
            elapsed_s: elapsed,
            metrics: metrics.to_vec(),
        };
        checkpoint::save(&req.out, step, epoch, &st.weights(), &st.opt.state_tensors(), &state)
            .map_err(|e| TrainError::Failed(format!("writing a checkpoint: {e}")))
    };

    'epochs: while epoch < cfg.epochs {
        if req.max_steps.is_some_and(|m| step >= m) {
            stopped_early = true;
            break;
        }
        obs.epoch_start(epoch, cfg.epochs, step_in_epoch, steps_per_epoch);
        let plan = pipe
            .plan(train_d.n, cfg.seed, epoch as u64, device)
            .map_err(failed("planning the epoch"))?;
        // Device-side running sums of this session's part of the epoch.
        // They continue from the checkpoint's sums, so that a resumed run adds the same
        // numbers in the same order as an uninterrupted one (bit-identical metrics).
        let loss_acc = Tensor::full([], accum.loss_sum, (Kind::Double, device));
        let total_acc = Tensor::zeros([], (Kind::Double, device));
        let correct_acc = Tensor::full([], accum.correct, (Kind::Int64, device));
        let mut pending_steps = 0u64;
        let mut shown: (Option<f64>, Option<f64>) = (None, None);
        let epoch_start = Instant::now();
        let mut last_sync = Instant::now();
        let base = accum;
        let base_steps_done = step_in_epoch;

        // Reads the device sums into `accum`; Err when the loss is not finite.
        let flush = |accum: &mut Accum, pending: &mut u64, start: &Instant| -> Result<(), f64> {
            let loss_sum = read_f64(&loss_acc);
            let total_sum = read_f64(&total_acc);
            accum.loss_sum = loss_sum;
            accum.correct = correct_acc.int64_value(&[]);
            accum.steps = base.steps + *pending;
            accum.seen = base.seen + (*pending * batch as u64) as i64;
            accum.train_time_s = base.train_time_s + start.elapsed().as_secs_f64();
            if !loss_sum.is_finite() || !total_sum.is_finite() {
                return Err(if loss_sum.is_finite() { total_sum } else { loss_sum });
            }
            Ok(())
        };

        while step_in_epoch < steps_per_epoch {
            if req.max_steps.is_some_and(|m| step >= m) {
                stopped_early = true;
                break;
            }
            let lr = schedule.lr(step);
            runtime::manual_seed(data::derive_seed(cfg.seed, data::STREAM_DROPOUT, step));
            let start = (step_in_epoch * batch as u64) as i64;
            let out = pipe
                .train_batch(&train_d, &plan, start, batch as i64)
                .map_err(|e| e.to_string())
                .and_then(|(x, y)| {
                    let o = st.step(&x, &y, lr)?;
                    let correct = o
                        .logits
                        .f_argmax(1, false)
                        .and_then(|a| a.f_eq_tensor(&y))
                        .and_then(|e| e.f_sum(Kind::Int64))
                        .map_err(|e| first_line(&e.to_string()))?;
                    Ok((o, correct))
                });
            let (o, correct) = match out {
                Ok(x) => x,
                Err(msg) if is_oom(&msg) => {
                    return Err(TrainError::OutOfMemory(Box::new(oom_report(
                        &graph,
                        device,
                        batch,
                        &msg,
                        static_bytes,
                    ))));
                }
                Err(msg) => return Err(TrainError::Failed(format!("training step {}: {msg}", step + 1))),
            };
            tch::no_grad(|| {
                let _ = loss_acc.shallow_clone().f_add_(&o.loss.to_kind(Kind::Double));
                let _ = total_acc.shallow_clone().f_add_(&o.total.to_kind(Kind::Double));
                let _ = correct_acc.shallow_clone().f_add_(&correct);
            });
            step += 1;
            step_in_epoch += 1;
            pending_steps += 1;
            session_images += batch as u64;

            let checkpoint_now =
                req.checkpoint_every.is_some_and(|n| n > 0 && step % n == 0) && step_in_epoch < steps_per_epoch;
            if checkpoint_now || last_sync.elapsed().as_secs_f64() >= SYNC_INTERVAL_S {
                if let Err(loss) = flush(&mut accum, &mut pending_steps, &epoch_start) {
                    return Err(TrainError::Diverged {
                        epoch,
                        step,
                        loss: Some(loss),
                        checkpoint: last_checkpoint,
                    });
                }
                shown = (
                    Some(accum.loss_sum / accum.steps.max(1) as f64),
                    Some(accum.correct as f64 / accum.seen.max(1) as f64),
                );
                last_sync = Instant::now();
            }
            if checkpoint_now {
                if !st.all_finite() {
                    return Err(TrainError::Diverged {
                        epoch,
                        step,
                        loss: None,
                        checkpoint: last_checkpoint,
                    });
                }
                let elapsed = elapsed_before + session_start.elapsed().as_secs_f64();
                let dir = save(&st, step, epoch, step_in_epoch, accum, &metrics_so_far, elapsed)?;
                obs.checkpoint(step, &dir);
                last_checkpoint = Some(dir);
            }
            let secs = epoch_start.elapsed().as_secs_f64().max(1e-9);
            obs.progress(&Progress {
                epoch,
                epochs: cfg.epochs,
                step_in_epoch,
                steps_per_epoch,
                step,
                loss: shown.0,
                accuracy: shown.1,
                images_per_sec: ((step_in_epoch - base_steps_done) * batch as u64) as f64 / secs,
                lr,
            });
        }
        sync(device);
        let epoch_train_s = epoch_start.elapsed().as_secs_f64();
        session_train_s += epoch_train_s;
        if let Err(loss) = flush(&mut accum, &mut pending_steps, &epoch_start) {
            return Err(TrainError::Diverged {
                epoch,
                step,
                loss: Some(loss),
                checkpoint: last_checkpoint,
            });
        }
        if !st.all_finite() {
            return Err(TrainError::Diverged {
                epoch,
                step,
                loss: None,
                checkpoint: last_checkpoint,
            });
        }

        // Evaluation on the test set.
        obs.evaluating(epoch);
        let (test_loss, test_acc) = evaluate(&st, &pipe, &test_d, batch).map_err(|msg| {
            if is_oom(&msg) {
                TrainError::OutOfMemory(Box::new(oom_report(&graph, device, batch, &msg, static_bytes)))
            } else {
                TrainError::Failed(format!("evaluation: {msg}"))
            }
        })?;
        last_eval = Some((test_loss, test_acc));
        let elapsed = elapsed_before + session_start.elapsed().as_secs_f64();
        let m = EpochMetrics {
            epoch: epoch + 1,
            step,
            train_loss: accum.loss_sum / accum.steps.max(1) as f64,
            train_acc: accum.correct as f64 / accum.seen.max(1) as f64,
            test_loss,
            test_acc,
            lr: schedule.lr(step.saturating_sub(1)),
            images_per_sec: accum.seen as f64 / accum.train_time_s.max(1e-9),
            elapsed_s: elapsed,
        };
        if stopped_early && step_in_epoch < steps_per_epoch {
            // A partial epoch: checkpoint where it stands, record the line outside the
            // checkpoint's metrics (a resume rewrites metrics.jsonl without it).
            let dir = save(&st, step, epoch, step_in_epoch, accum, &metrics_so_far, elapsed)?;
            obs.checkpoint(step, &dir);
            metrics::append_jsonl(&req.out.join("metrics.jsonl"), &m)
                .map_err(|e| TrainError::Failed(format!("metrics.jsonl: {e}")))?;
            let mut shown_metrics = metrics_so_far.clone();
            shown_metrics.push(m.clone());
            let _ = metrics::plot_run(&shown_metrics, &title, &req.out.join("metrics.svg"));
            obs.epoch_end(&m, false);
            break 'epochs;
        }
        let best = metrics_so_far
            .iter()
            .all(|p| p.test_acc.is_nan() || test_acc > p.test_acc);
        metrics_so_far.push(m.clone());
        epoch += 1;
        step_in_epoch = 0;
        accum = Accum::default();
        let dir = save(&st, step, epoch, step_in_epoch, accum, &metrics_so_far, elapsed)?;
        obs.checkpoint(step, &dir);
        last_checkpoint = Some(dir);
        metrics::append_jsonl(&req.out.join("metrics.jsonl"), &m)
            .map_err(|e| TrainError::Failed(format!("metrics.jsonl: {e}")))?;
        metrics::plot_run(&metrics_so_far, &title, &req.out.join("metrics.svg"))
            .map_err(|e| TrainError::Failed(format!("metrics.svg: {e}")))?;
        obs.epoch_end(&m, best);
        if req.max_steps.is_some_and(|mx| step >= mx) && epoch < cfg.epochs {
            stopped_early = true;
            break;
        }
    }

    let final_weights = req.out.join("final.safetensors");
    checkpoint::write_tensors_atomic(&final_weights, &st.weights())
        .map_err(|e| TrainError::Failed(format!("writing the final weights: {e}")))?;
    let best = metrics_so_far
        .iter()
        .filter(|m| m.test_acc.is_finite())
        .fold(None, |b: Option<(f64, usize)>, m| {
            if b.is_none_or(|(a, _)| m.test_acc > a) {
                Some((m.test_acc, m.epoch))
            } else {
                b
            }
        });
    let last_test_accuracy = match last_eval {
        Some((_, a)) => a,
        None => metrics_so_far.last().map_or(f64::NAN, |m| m.test_acc),
    };
    Ok(TrainSummary {
        out: req.out.clone(),
        final_weights,
        metrics: metrics_so_far,
        best,
        last_test_accuracy,
        steps: step,
        stopped_early,
        session_s: session_start.elapsed().as_secs_f64(),
        images_per_sec: session_images as f64 / session_train_s.max(1e-9),
        elapsed_s: elapsed_before + session_start.elapsed().as_secs_f64(),
        peak_gpu_bytes: peak_gpu(device),
        predicted_training_bytes: predicted,
        device: cfg.device.clone(),
    })
}

fn oom_or(graph: &Graph, device: Device, batch: usize, msg: &str, static_bytes: u64, what: &str) -> TrainError {
    if is_oom(msg) {
        TrainError::OutOfMemory(Box::new(oom_report(graph, device, batch, msg, static_bytes)))
    } else {
        TrainError::Failed(format!("{what}: {}", first_line(msg)))
    }
}

/// Mean cross-entropy and accuracy of the model on a whole split, in eval mode.
pub fn evaluate(
    st: &Stepper,
    pipe: &data::Pipeline,
    split: &data::DeviceSplit,
    batch: usize,
) -> Result<(f64, f64), String> {
    let n = split.n as i64;
    let b = batch.max(1) as i64;
    let dev = st.device;
    let loss = Tensor::zeros([], (Kind::Double, dev));
    let correct = Tensor::zeros([], (Kind::Int64, dev));
    let mut start = 0;
    while start < n {
        let len = b.min(n - start);
        let (x, y) = pipe
            .eval_batch(split, start, len)
            .map_err(|e| first_line(&e.to_string()))?;
        let (l, c) = st.eval_batch(&x, &y)?;
        tch::no_grad(|| {
            let _ = loss.shallow_clone().f_add_(&l.to_kind(Kind::Double));
            let _ = correct.shallow_clone().f_add_(&c);
        });
        start += len;
    }
    Ok((read_f64(&loss) / n as f64, correct.int64_value(&[]) as f64 / n as f64))
}

/// Reads a weights file written by training (`final.safetensors`, or a checkpoint's
/// `model.safetensors`) as named tensors.
pub fn read_weights(path: &Path) -> Result<BTreeMap<String, Tensor>, String> {
    Tensor::read_safetensors(path)
        .map(|v| v.into_iter().collect())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// For tests and tools: the dataset a run would train on.
pub fn dataset_fingerprint(d: &Dataset) -> String {
    data::fingerprint(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CUDA_OOM: &str = "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.19 GiB of which 1.05 GiB is free. Including non-PyTorch memory, this process has 78.13 GiB memory in use.";

    #[test]
    fn oom_messages_are_recognised() {
        assert!(is_oom(CUDA_OOM));
        assert!(is_oom(
            "[enforce fail at alloc_cpu.cpp:121] data. DefaultCPUAllocator: not enough memory: you tried to allocate 1099511627776 bytes."
        ));
        assert!(!is_oom(
            "Given input size: (1024x2x2). Calculated output size: (1024x-4x-4). Output size is too small"
        ));
        assert_eq!(parse_capacity(CUDA_OOM), Some((79.19 * (1u64 << 30) as f64) as u64));
        assert_eq!(parse_capacity("no capacity here"), None);
    }

    #[test]
    fn oom_report_suggests_a_smaller_batch() {
        let spec = crate::spec::load_file(Path::new("specs/googlenet_bn.yaml")).unwrap();
        let g = crate::ir::lower(
            &spec,
            &LowerOptions {
                variant: Some("caffe".into()),
                ..LowerOptions::default()
            },
        )
        .unwrap();
        let r = oom_report(&g, Device::Cpu, 4096, CUDA_OOM, 1 << 30);
        assert!(r.predicted_training_bytes > 0);
        // No CUDA peak on the CPU: the suggestion comes from derive's prediction alone.
        let b = r.suggested_batch.expect("a suggestion");
        assert!(b < 4096 && b % 8 == 0, "{b}");
        let text = TrainError::OutOfMemory(Box::new(r)).to_string();
        assert!(text.contains("derive predicts") && text.contains("--batch"), "{text}");
    }
}
