//! What the command line asks for ([`TrainRequest`], [`ModelRequest`]) and what the run
//! uses ([`TrainConfig`]): the request's gaps filled from the checkpoint being resumed, or
//! else from the defaults, and the explicit values that contradict that checkpoint.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tch::Device;

use crate::data::DataSource;
use crate::ir::LowerOptions;

use super::data;
use super::error::TrainError;
use super::optim::{OptimizerKind, ScheduleKind};

/// Weight of each auxiliary head's loss: loss = CE(main) + 0.3·Σ CE(aux), as GoogLeNet.
pub const AUX_WEIGHT: f64 = 0.3;

/// The model to train: spec file and lowering options as given on the command line.
#[derive(Debug, Clone)]
pub struct ModelRequest {
    pub spec: PathBuf,
    /// The spec at `spec`, read once by the caller (with its text, [`crate::spec::Spec::source`]).
    pub loaded: std::sync::Arc<crate::spec::Spec>,
    pub options: LowerOptions,
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

/// `cpu` or `cuda:N`, as configurations and reports name a device.
pub(crate) fn device_name(device: Device) -> String {
    match device {
        Device::Cuda(i) => format!("cuda:{i}"),
        _ => "cpu".to_string(),
    }
}

/// A seed drawn from the clock and the process id, for a run that names none.
pub(super) fn default_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    data::derive_seed(t, u64::from(std::process::id()), 0) % 1_000_000_007
}

/// Fills the request's gaps from `prev` (resuming) or the defaults, checks the values, and
/// refuses explicit values that contradict the checkpoint (`--epochs` only where the
/// number of steps must not change).
pub(super) fn resolve(
    req: &TrainRequest,
    prev: Option<&TrainConfig>,
    device: Device,
    data: &DataSource,
    steps_can_change: bool,
) -> Result<TrainConfig, TrainError> {
    let cfg = fill(req, prev, device, data);
    validate(&cfg)?;
    if let Some(p) = prev {
        let diffs = conflicts(req, &cfg, p, steps_can_change);
        if !diffs.is_empty() {
            return Err(TrainError::OptionsDiffer(diffs));
        }
    }
    Ok(cfg)
}

fn fill(req: &TrainRequest, prev: Option<&TrainConfig>, device: Device, data: &DataSource) -> TrainConfig {
    let cuda = device.is_cuda();
    let device_name = device_name(device);
    let optimizer = req
        .optimizer
        .or(prev.map(|p| p.optimizer))
        .unwrap_or(OptimizerKind::Sgd);
    // amp and channels-last follow the device: a checkpoint's values only on its device.
    let same_device = prev.filter(|p| p.device == device_name);
    TrainConfig {
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
        amp: req.amp.or(same_device.map(|p| p.amp)).unwrap_or(cuda),
        channels_last: req
            .channels_last
            .or(same_device.map(|p| p.channels_last))
            .unwrap_or(cuda),
        seed: req.seed.or(prev.map(|p| p.seed)).unwrap_or_else(default_seed),
        device: device_name,
    }
}

fn validate(cfg: &TrainConfig) -> Result<(), TrainError> {
    if cfg.epochs == 0 || cfg.batch == 0 {
        return Err(TrainError::ZeroSize);
    }
    for (flag, value) in [
        ("--lr", cfg.lr),
        ("--momentum", cfg.momentum),
        ("--weight-decay", cfg.weight_decay),
        ("--warmup", cfg.warmup_epochs),
        ("--aux-weight", cfg.aux_weight),
    ] {
        if !value.is_finite() || value < 0.0 {
            return Err(TrainError::Negative { flag, value });
        }
    }
    Ok(())
}

/// `--flag now (the checkpoint has then)` for each option given that differs from `prev`.
fn conflicts(req: &TrainRequest, cfg: &TrainConfig, prev: &TrainConfig, steps_can_change: bool) -> Vec<String> {
    let p = prev;
    [
        differs("--batch", req.batch.is_some(), cfg.batch, p.batch),
        differs(
            "--optimizer",
            req.optimizer.is_some(),
            cfg.optimizer.name(),
            p.optimizer.name(),
        ),
        differs("--lr", req.lr.is_some(), cfg.lr, p.lr),
        differs("--momentum", req.momentum.is_some(), cfg.momentum, p.momentum),
        differs(
            "--weight-decay",
            req.weight_decay.is_some(),
            cfg.weight_decay,
            p.weight_decay,
        ),
        differs(
            "--schedule",
            req.schedule.is_some(),
            cfg.schedule.name(),
            p.schedule.name(),
        ),
        differs("--warmup", req.warmup.is_some(), cfg.warmup_epochs, p.warmup_epochs),
        differs("--aux-weight", req.aux_weight.is_some(), cfg.aux_weight, p.aux_weight),
        differs("--seed", req.seed.is_some(), cfg.seed, p.seed),
        differs(
            "--epochs",
            req.epochs.is_some() && !steps_can_change,
            cfg.epochs,
            p.epochs,
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// `flag now (the checkpoint has was)` where the flag was `given` and its value, as
/// written, differs from the checkpoint's.
fn differs(flag: &str, given: bool, now: impl std::fmt::Display, was: impl std::fmt::Display) -> Option<String> {
    let (now, was) = (now.to_string(), was.to_string());
    (given && now != was).then(|| format!("{flag} {now} (the checkpoint has {was})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpointed() -> TrainConfig {
        let req = TrainRequest {
            seed: Some(7),
            ..TrainRequest::default()
        };
        resolve(&req, None, Device::Cpu, &DataSource::Synthetic, false).unwrap()
    }

    #[test]
    fn defaults_follow_the_optimizer_and_the_device() {
        let sgd = checkpointed();
        assert_eq!((sgd.epochs, sgd.batch, sgd.lr, sgd.weight_decay), (10, 128, 0.05, 5e-4));
        assert_eq!((sgd.amp, sgd.channels_last, sgd.device.as_str()), (false, false, "cpu"));
        let adam = TrainRequest {
            optimizer: Some(OptimizerKind::Adam),
            ..TrainRequest::default()
        };
        let adam = resolve(&adam, None, Device::Cpu, &DataSource::Synthetic, false).unwrap();
        assert_eq!((adam.lr, adam.weight_decay), (1e-3, 0.0));
    }

    #[test]
    fn bad_values_are_refused_with_exit_2() {
        for req in [
            TrainRequest {
                batch: Some(0),
                ..TrainRequest::default()
            },
            TrainRequest {
                lr: Some(f64::NAN),
                ..TrainRequest::default()
            },
            TrainRequest {
                momentum: Some(-0.5),
                ..TrainRequest::default()
            },
        ] {
            let e = resolve(&req, None, Device::Cpu, &DataSource::Synthetic, false).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{e}");
        }
    }

    #[test]
    fn resuming_fills_gaps_and_names_each_contradiction() {
        let prev = checkpointed();
        let same = resolve(
            &TrainRequest::default(),
            Some(&prev),
            Device::Cpu,
            &DataSource::Synthetic,
            false,
        )
        .unwrap();
        assert_eq!(same, prev);
        let req = TrainRequest {
            lr: Some(0.1),
            batch: Some(prev.batch),
            epochs: Some(20),
            ..TrainRequest::default()
        };
        let e = resolve(&req, Some(&prev), Device::Cpu, &DataSource::Synthetic, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot resume: --lr 0.1 (the checkpoint has 0.05), --epochs 20 (the checkpoint has 10) differ from the run \
             being resumed; drop them to continue it, or train into a new --out"
        );
        assert_eq!(e.exit_code(), 2);
        // Under the step schedule more epochs only extend the run.
        let more = TrainRequest {
            epochs: Some(20),
            ..TrainRequest::default()
        };
        let cfg = resolve(&more, Some(&prev), Device::Cpu, &DataSource::Synthetic, true).unwrap();
        assert_eq!(cfg.epochs, 20);
    }
}
