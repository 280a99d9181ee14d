//! SGD with momentum and Adam over one flat parameter buffer, and the learning-rate
//! schedules.
//!
//! tch's `nn::Optimizer` keeps its state (momentum buffers, Adam moments) inside libtorch
//! where it cannot be saved, so exact resume needs an optimizer whose state is plain
//! tensors. This one also keeps the update cheap on a GPU: every trainable variable is
//! re-pointed (`set_data`) at a slice of one flat buffer `P`, in the variable's own memory
//! layout (channels-last conv weights stay channels-last), and the gradients from
//! `autograd.grad` are concatenated into one flat `G` in the same element order, so a step
//! is a handful of whole-buffer kernels instead of several kernels per variable (what
//! PyTorch's `foreach` implementation achieves). No `.grad` is ever accumulated, so there
//! is nothing to zero between steps.
//!
//! The update rules are PyTorch's (`torch.optim.SGD` with momentum, dampening 0, no
//! Nesterov; `torch.optim.Adam`, L2 weight decay added to the gradient).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tch::{Kind, TchError, Tensor, nn};

/// Which update rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    Sgd,
    Adam,
}

impl OptimizerKind {
    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Adam => "adam",
        }
    }
}

impl std::str::FromStr for OptimizerKind {
    type Err = UnknownOptimizer;
    fn from_str(s: &str) -> Result<Self, UnknownOptimizer> {
        by_name(s, &[OptimizerKind::Sgd, OptimizerKind::Adam], |k| k.name())
            .ok_or_else(|| UnknownOptimizer(s.to_string()))
    }
}

/// The one of `all` whose name is `s`, ignoring ASCII case.
fn by_name<T: Copy>(s: &str, all: &[T], name: fn(T) -> &'static str) -> Option<T> {
    all.iter().copied().find(|&k| name(k).eq_ignore_ascii_case(s))
}

/// An optimizer name that is neither `sgd` nor `adam`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown optimizer '{0}': expected sgd or adam")]
pub struct UnknownOptimizer(pub String);

/// A schedule name that is neither `step` nor `cosine`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown schedule '{0}': expected step or cosine")]
pub struct UnknownSchedule(pub String);

/// Why saved optimizer state does not fit the variables.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("optimizer state lacks {0}")]
    Missing(String),
    #[error("optimizer state {key} is {saved:?} {saved_kind:?}, the variable is {variable:?} f32")]
    Shape {
        key: String,
        saved: Vec<i64>,
        saved_kind: Kind,
        variable: Vec<i64>,
    },
    #[error("{key}: {source}")]
    Copy { key: String, source: TchError },
}

/// Hyper-parameters that do not change during a run (the learning rate comes per step).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimizerConfig {
    pub kind: OptimizerKind,
    /// SGD momentum (0 = plain SGD); Adam's β1 is 0.9 regardless.
    pub momentum: f64,
    pub weight_decay: f64,
}

const ADAM_BETA1: f64 = 0.9;
const ADAM_BETA2: f64 = 0.999;
const ADAM_EPS: f64 = 1e-8;

/// One trainable variable's place in the flat buffers.
#[derive(Debug)]
struct Slot {
    name: String,
    var: Tensor,
    offset: i64,
    numel: i64,
    size: Vec<i64>,
    /// Stored as channels-last (NHWC order in the flat buffer).
    channels_last: bool,
}

/// The view of `flat[offset..offset+numel]` shaped like the variable, in its layout.
fn slot_view(flat: &Tensor, s: &Slot) -> Tensor {
    let part = flat.narrow(0, s.offset, s.numel);
    if s.channels_last {
        let (o, i, h, w) = (s.size[0], s.size[1], s.size[2], s.size[3]);
        part.view([o, h, w, i]).permute([0, 3, 1, 2])
    } else {
        part.view(s.size.as_slice())
    }
}

/// The optimizer: flat parameters, flat state, step count.
#[derive(Debug)]
pub struct Optimizer {
    cfg: OptimizerConfig,
    slots: Vec<Slot>,
    params: Tensor,
    /// SGD: momentum buffer; Adam: first moment.
    buf1: Tensor,
    /// Adam: second moment (undefined for SGD).
    buf2: Option<Tensor>,
    /// Steps taken (Adam's bias correction).
    pub steps: u64,
}

impl Optimizer {
    /// Takes over every trainable variable of `vs` (sorted by name): copies it into the
    /// flat buffer and re-points it there. `channels_last` stores 4-d variables NHWC (call
    /// it with the layout the model should run in; the values are unchanged).
    pub fn new(vs: &nn::VarStore, cfg: OptimizerConfig, channels_last: bool) -> Result<Optimizer, TchError> {
        let vars: BTreeMap<String, Tensor> = vs.variables().into_iter().filter(|(_, v)| v.requires_grad()).collect();
        let device = vs.device();
        let mut slots = Vec::with_capacity(vars.len());
        let mut offset = 0i64;
        for (name, var) in vars {
            if var.kind() != Kind::Float {
                return Err(TchError::Kind(format!(
                    "{name}: trainable variables must be f32, found {:?}",
                    var.kind()
                )));
            }
            let size = var.size();
            let numel = size.iter().product::<i64>();
            let cl = channels_last && size.len() == 4;
            slots.push(Slot {
                name,
                var,
                offset,
                numel,
                size,
                channels_last: cl,
            });
            offset += numel;
        }
        let params = Tensor::f_zeros([offset], (Kind::Float, device))?;
        tch::no_grad(|| -> Result<(), TchError> {
            for s in &mut slots {
                let mut view = slot_view(&params, s);
                view.f_copy_(&s.var)?;
                s.var.set_data(&view);
            }
            Ok(())
        })?;
        let buf1 = Tensor::f_zeros([offset], (Kind::Float, device))?;
        let buf2 = match cfg.kind {
            OptimizerKind::Adam => Some(Tensor::f_zeros([offset], (Kind::Float, device))?),
            OptimizerKind::Sgd => None,
        };
        Ok(Optimizer {
            cfg,
            slots,
            params,
            buf1,
            buf2,
            steps: 0,
        })
    }

    pub fn config(&self) -> OptimizerConfig {
        self.cfg
    }

    /// The trainable variables in slot order (what `gradients` differentiates against).
    pub fn variables(&self) -> Vec<Tensor> {
        self.slots.iter().map(|s| s.var.shallow_clone()).collect()
    }

    /// Number of trainable scalars.
    pub fn numel(&self) -> i64 {
        self.params.numel() as i64
    }

    /// `d loss / d variables`, flattened into one buffer in slot order.
    pub fn gradients(&self, loss: &Tensor) -> Result<Tensor, TchError> {
        let vars = self.variables();
        let grads = Tensor::f_run_backward(&[loss], &vars, false, false)?;
        let flat: Vec<Tensor> = grads
            .iter()
            .zip(&self.slots)
            .map(|(g, s)| {
                if !g.defined() {
                    // A variable the loss does not depend on.
                    Tensor::f_zeros([s.numel], (Kind::Float, self.params.device()))
                } else if s.channels_last {
                    g.f_permute([0, 2, 3, 1])?.f_reshape([-1])
                } else {
                    g.f_reshape([-1])
                }
            })
            .collect::<Result<_, _>>()?;
        Tensor::f_cat(&flat, 0)
    }

    /// One update with learning rate `lr` from the flat gradient `g` (consumed).
    pub fn step(&mut self, mut g: Tensor, lr: f64) -> Result<(), TchError> {
        let wd = self.cfg.weight_decay;
        tch::no_grad(|| -> Result<(), TchError> {
            if wd != 0.0 {
                g = g.f_add(&self.params.f_mul_scalar(wd)?)?;
            }
            self.steps += 1;
            match self.cfg.kind {
                OptimizerKind::Sgd => {
                    let m = self.cfg.momentum;
                    let update = if m != 0.0 {
                        // buf = m·buf + g (the first step gives buf = g, as PyTorch's clone).
                        let _ = self.buf1.f_mul_scalar_(m)?;
                        let _ = self.buf1.f_add_(&g)?;
                        self.buf1.shallow_clone()
                    } else {
                        g
                    };
                    let _ = self.params.f_add_(&update.f_mul_scalar(-lr)?)?;
                }
                OptimizerKind::Adam => {
                    let t = self.steps as f64;
                    let v = self.buf2.as_mut().expect("adam has a second moment");
                    let _ = self.buf1.f_lerp_(&g, 1.0 - ADAM_BETA1)?;
                    let _ = v.f_mul_scalar_(ADAM_BETA2)?;
                    let _ = v.f_addcmul_(&g, &g.f_mul_scalar(1.0 - ADAM_BETA2)?)?;
                    let bc1 = 1.0 - ADAM_BETA1.powf(t);
                    let bc2_sqrt = (1.0 - ADAM_BETA2.powf(t)).sqrt();
                    let step_size = lr / bc1;
                    let denom = v.f_sqrt()?.f_div_scalar(bc2_sqrt)?.f_add_scalar(ADAM_EPS)?;
                    let _ = self.params.f_addcdiv_(&self.buf1.f_mul_scalar(-step_size)?, &denom)?;
                }
            }
            Ok(())
        })
    }

    /// The state as named tensors in each variable's standard (contiguous) layout, on the
    /// CPU: `momentum/<var>` (SGD) or `exp_avg/<var>` and `exp_avg_sq/<var>` (Adam).
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let (n1, n2) = self.buffer_names();
        let mut out = Vec::new();
        for s in &self.slots {
            out.push((
                format!("{n1}/{}", s.name),
                slot_view(&self.buf1, s).to_device(tch::Device::Cpu).contiguous(),
            ));
            if let Some(b2) = &self.buf2 {
                out.push((
                    format!("{n2}/{}", s.name),
                    slot_view(b2, s).to_device(tch::Device::Cpu).contiguous(),
                ));
            }
        }
        out
    }

    fn buffer_names(&self) -> (&'static str, &'static str) {
        match self.cfg.kind {
            OptimizerKind::Sgd => ("momentum", ""),
            OptimizerKind::Adam => ("exp_avg", "exp_avg_sq"),
        }
    }

    /// Restores what [`state_tensors`](Self::state_tensors) saved; every buffer must be
    /// present with the variable's shape.
    pub fn load_state(&mut self, tensors: &BTreeMap<String, Tensor>, steps: u64) -> Result<(), StateError> {
        let (n1, n2) = self.buffer_names();
        tch::no_grad(|| {
            for s in &self.slots {
                let mut pairs = vec![(format!("{n1}/{}", s.name), &self.buf1)];
                if let Some(b2) = &self.buf2 {
                    pairs.push((format!("{n2}/{}", s.name), b2));
                }
                for (key, flat) in pairs {
                    let Some(t) = tensors.get(&key) else {
                        return Err(StateError::Missing(key));
                    };
                    if t.size() != s.size || t.kind() != Kind::Float {
                        return Err(StateError::Shape {
                            saved: t.size(),
                            saved_kind: t.kind(),
                            variable: s.size.clone(),
                            key,
                        });
                    }
                    let mut view = slot_view(flat, s);
                    view.f_copy_(t).map_err(|source| StateError::Copy { key, source })?;
                }
            }
            Ok(())
        })?;
        self.steps = steps;
        Ok(())
    }

    /// Whether every parameter is finite (one reduction; syncs with the device).
    pub fn params_finite(&self) -> bool {
        tch::no_grad(|| self.params.isfinite().all().int64_value(&[]) != 0)
    }
}

/// The learning-rate schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleKind {
    /// × `STEP_GAMMA` every `STEP_EPOCHS` epochs (the seed's schedule).
    Step,
    /// Cosine decay to 0 over the run, after the warm-up.
    Cosine,
}

impl std::str::FromStr for ScheduleKind {
    type Err = UnknownSchedule;
    fn from_str(s: &str) -> Result<Self, UnknownSchedule> {
        by_name(s, &[ScheduleKind::Step, ScheduleKind::Cosine], |k| k.name())
            .ok_or_else(|| UnknownSchedule(s.to_string()))
    }
}

impl ScheduleKind {
    pub fn name(self) -> &'static str {
        match self {
            ScheduleKind::Step => "step",
            ScheduleKind::Cosine => "cosine",
        }
    }
}

pub const STEP_GAMMA: f64 = 0.96;
pub const STEP_EPOCHS: usize = 8;

/// A schedule resolved for one run: a pure function of the step, so its state is the step.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    pub kind: ScheduleKind,
    pub base_lr: f64,
    pub warmup_steps: u64,
    pub total_steps: u64,
    pub steps_per_epoch: u64,
}

impl Schedule {
    /// The learning rate of step `step` (0-based, counted over the whole run).
    pub fn lr(&self, step: u64) -> f64 {
        if step < self.warmup_steps {
            return self.base_lr * (step + 1) as f64 / self.warmup_steps as f64;
        }
        match self.kind {
            ScheduleKind::Step => {
                let epoch = step / self.steps_per_epoch.max(1);
                self.base_lr * STEP_GAMMA.powi((epoch / STEP_EPOCHS as u64) as i32)
            }
            ScheduleKind::Cosine => {
                let span = self.total_steps.saturating_sub(self.warmup_steps).max(1);
                let t = (step - self.warmup_steps).min(span) as f64 / span as f64;
                self.base_lr * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_schedule_decays_every_eight_epochs() {
        let s = Schedule {
            kind: ScheduleKind::Step,
            base_lr: 1.0,
            warmup_steps: 0,
            total_steps: 1000,
            steps_per_epoch: 10,
        };
        assert_eq!(s.lr(0), 1.0);
        assert_eq!(s.lr(79), 1.0);
        assert_eq!(s.lr(80), 0.96);
        assert!((s.lr(160) - 0.96 * 0.96).abs() < 1e-15);
    }

    #[test]
    fn cosine_warms_up_then_decays_to_zero() {
        let s = Schedule {
            kind: ScheduleKind::Cosine,
            base_lr: 0.1,
            warmup_steps: 10,
            total_steps: 110,
            steps_per_epoch: 10,
        };
        assert!((s.lr(0) - 0.01).abs() < 1e-12);
        assert!((s.lr(9) - 0.1).abs() < 1e-12);
        assert!((s.lr(10) - 0.1).abs() < 1e-12);
        assert!((s.lr(60) - 0.05).abs() < 1e-12);
        assert!(s.lr(110).abs() < 1e-12);
    }
}
