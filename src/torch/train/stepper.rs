//! A model with its optimizer, ready to take steps ([`Stepper`], shared by training and
//! `bench`): forward under bf16 autocast where asked, the main and auxiliary losses, the
//! update; evaluation; the weights in and out.

use std::collections::BTreeMap;
use std::path::Path;

use tch::{Device, Kind, Reduction, TchError, Tensor, nn};

use crate::ir::Graph;
use crate::torch::model::Model;
use crate::torch::runtime;

use super::checkpoint::CheckpointError;
use super::data::{DeviceSplit, Pipeline};
use super::error::{StepError, TrainError};
use super::optim::{self, OptimizerConfig};

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

/// Why saved weights do not fit the model.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("the checkpoint has no variable {0}")]
    Missing(String),
    #[error("variable {name} is {saved:?} {saved_kind:?} in the checkpoint, {model:?} {model_kind:?} in the model")]
    Shape {
        name: String,
        saved: Vec<i64>,
        saved_kind: Kind,
        model: Vec<i64>,
        model_kind: Kind,
    },
    #[error("{name}: {source}")]
    Copy { name: String, source: TchError },
}

/// Mean cross-entropy of float32 `logits` against the labels `y`, summed or averaged.
fn cross_entropy(logits: &Tensor, y: &Tensor, reduction: Reduction) -> Result<Tensor, TchError> {
    logits
        .f_to_kind(Kind::Float)?
        .f_cross_entropy_loss::<Tensor>(y, None, reduction, -100, 0.0)
}

/// How many of the batch the logits classify as the labels say (an i64 scalar).
pub(super) fn correct(logits: &Tensor, y: &Tensor) -> Result<Tensor, TchError> {
    logits.f_argmax(1, false)?.f_eq_tensor(y)?.f_sum(Kind::Int64)
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
        let model = Model::new(&vs.root(), graph).map_err(TrainError::Model)?;
        let opt =
            optim::Optimizer::new(&vs, opt, channels_last).map_err(TrainError::torch("setting up the optimizer"))?;
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
    pub fn step(&mut self, x: &Tensor, y: &Tensor, lr: f64) -> Result<StepOut, StepError> {
        let (logits, aux) = {
            let _ac = self.autocast();
            self.model.try_forward(x, true).map_err(StepError::Forward)?
        };
        let loss = cross_entropy(&logits, y, Reduction::Mean)?;
        let mut total = loss.shallow_clone();
        for a in &aux {
            total = total.f_add(&cross_entropy(a, y, Reduction::Mean)?.f_mul_scalar(self.aux_weight)?)?;
        }
        let g = self.opt.gradients(&total)?;
        self.opt.step(g, lr)?;
        Ok(StepOut {
            loss: loss.detach(),
            total: total.detach(),
            logits: logits.detach(),
        })
    }

    /// Σ cross-entropy and number correct over a batch, eval mode, no gradients.
    pub fn eval_batch(&self, x: &Tensor, y: &Tensor) -> Result<(Tensor, Tensor), StepError> {
        tch::no_grad(|| {
            let (logits, _) = {
                let _ac = self.autocast();
                self.model.try_forward(x, false).map_err(StepError::Forward)?
            };
            let logits = logits.f_to_kind(Kind::Float)?;
            let loss = cross_entropy(&logits, y, Reduction::Sum)?;
            Ok((loss, correct(&logits, y)?))
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
    pub fn load_weights(&self, saved: &BTreeMap<String, Tensor>) -> Result<(), WeightsError> {
        let vars = self.vs.variables();
        tch::no_grad(|| {
            for (name, mut v) in vars {
                let Some(t) = saved.get(&name) else {
                    return Err(WeightsError::Missing(name));
                };
                if t.size() != v.size() || t.kind() != v.kind() {
                    return Err(WeightsError::Shape {
                        saved: t.size(),
                        saved_kind: t.kind(),
                        model: v.size(),
                        model_kind: v.kind(),
                        name,
                    });
                }
                v.f_copy_(t).map_err(|source| WeightsError::Copy {
                    name: name.clone(),
                    source,
                })?;
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

/// Σ of a device scalar, read back (waits for the device).
pub(super) fn read_f64(t: &Tensor) -> f64 {
    t.double_value(&[])
}

/// Mean cross-entropy and accuracy of the model on a whole split, in eval mode.
pub fn evaluate(st: &Stepper, pipe: &Pipeline, split: &DeviceSplit, batch: usize) -> Result<(f64, f64), StepError> {
    let n = split.n as i64;
    let b = batch.max(1) as i64;
    let dev = st.device;
    let loss = Tensor::zeros([], (Kind::Double, dev));
    let correct = Tensor::zeros([], (Kind::Int64, dev));
    let mut start = 0;
    while start < n {
        let len = b.min(n - start);
        let (x, y) = pipe.eval_batch(split, start, len)?;
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
pub fn read_weights(path: &Path) -> Result<BTreeMap<String, Tensor>, CheckpointError> {
    Tensor::read_safetensors(path)
        .map(|v| v.into_iter().collect())
        .map_err(|source| CheckpointError::Tensors {
            path: path.to_path_buf(),
            source,
        })
}
