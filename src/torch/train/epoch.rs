//! The epoch loop: steps with their running sums on the device, reads of those sums every
//! [`SYNC_INTERVAL_S`] (and at checkpoints), checkpoints every `checkpoint_every` steps and
//! at the end of every epoch, the evaluation, metrics.jsonl and metrics.svg, and the final
//! weights.

use std::path::PathBuf;
use std::time::Instant;

use tch::{Device, Kind, Tensor};

use crate::ir::Graph;
use crate::metrics::{self, EpochMetrics};
use crate::torch::runtime;

use super::checkpoint;
use super::config::TrainConfig;
use super::data::{self, DeviceSplit, EpochPlan, Pipeline};
use super::error::{StepError, TrainError};
use super::observer::{Observer, Progress, TrainSummary};
use super::oom::OomContext;
use super::optim::Schedule;
use super::state::{Accum, CheckpointWriter, Position};
use super::stepper::{self, StepOut, Stepper, evaluate, read_f64};

/// Seconds between reads of the running loss (each read waits for the GPU).
const SYNC_INTERVAL_S: f64 = 0.5;

/// The model, its optimizer and the data on the device.
pub(super) struct Engine {
    pub st: Stepper,
    pub pipe: Pipeline,
    pub train_d: DeviceSplit,
    pub test_d: DeviceSplit,
}

/// What stays fixed while the run trains.
pub(super) struct RunPlan {
    pub graph: Graph,
    pub device: Device,
    pub batch: usize,
    pub steps_per_epoch: u64,
    pub schedule: Schedule,
    pub max_steps: Option<u64>,
    pub checkpoint_every: Option<u64>,
    /// Memory in use before the first step, for out-of-memory reports.
    pub static_bytes: u64,
    pub predicted_training_bytes: i64,
    /// The metrics plot's title.
    pub title: String,
}

/// The run's wall time: this session's, and that of the sessions before it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Clock {
    session_start: Instant,
    before_s: f64,
}

impl Clock {
    pub fn new(session_start: Instant, before_s: f64) -> Clock {
        Clock {
            session_start,
            before_s,
        }
    }

    fn session_s(&self) -> f64 {
        self.session_start.elapsed().as_secs_f64()
    }

    /// The whole run's wall time so far, all sessions.
    fn elapsed_s(&self) -> f64 {
        self.before_s + self.session_s()
    }
}

/// Where the run stands, with what it has recorded.
pub(super) struct RunState {
    pub pos: Position,
    /// Metrics of the completed epochs.
    pub metrics: Vec<EpochMetrics>,
    pub last_checkpoint: Option<PathBuf>,
    pub clock: Clock,
}

impl RunState {
    pub fn fresh(session_start: Instant) -> RunState {
        RunState {
            pos: Position::default(),
            metrics: Vec::new(),
            last_checkpoint: None,
            clock: Clock::new(session_start, 0.0),
        }
    }
}

/// Device-side running sums of this session's part of an epoch. They continue from the
/// checkpoint's sums, so that a resumed run adds the same numbers in the same order as an
/// uninterrupted one (bit-identical metrics).
struct EpochSums {
    loss: Tensor,
    total: Tensor,
    correct: Tensor,
    /// The sums when this session's part of the epoch began.
    base: Accum,
    /// Steps added since.
    steps: u64,
    batch: usize,
}

impl EpochSums {
    fn new(base: Accum, device: Device, batch: usize) -> EpochSums {
        EpochSums {
            loss: Tensor::full([], base.loss_sum, (Kind::Double, device)),
            total: Tensor::zeros([], (Kind::Double, device)),
            correct: Tensor::full([], base.correct, (Kind::Int64, device)),
            base,
            steps: 0,
            batch,
        }
    }

    fn add(&mut self, o: &StepOut, correct: &Tensor) {
        tch::no_grad(|| {
            let _ = self.loss.shallow_clone().f_add_(&o.loss.to_kind(Kind::Double));
            let _ = self.total.shallow_clone().f_add_(&o.total.to_kind(Kind::Double));
            let _ = self.correct.shallow_clone().f_add_(correct);
        });
        self.steps += 1;
    }

    /// The sums read back (waits for the device), with the training time since `started`
    /// added to the base's; Err with the loss where it is no longer finite.
    fn read(&self, started: Instant) -> Result<Accum, f64> {
        let loss_sum = read_f64(&self.loss);
        let total_sum = read_f64(&self.total);
        let correct = self.correct.int64_value(&[]);
        let accum = Accum {
            loss_sum,
            correct,
            seen: self.base.seen + (self.steps * self.batch as u64) as i64,
            steps: self.base.steps + self.steps,
            train_time_s: self.base.train_time_s + started.elapsed().as_secs_f64(),
        };
        if !loss_sum.is_finite() || !total_sum.is_finite() {
            return Err(if loss_sum.is_finite() { total_sum } else { loss_sum });
        }
        Ok(accum)
    }
}

/// The epoch being trained in this session.
struct EpochRun {
    plan: EpochPlan,
    sums: EpochSums,
    started: Instant,
    last_sync: Instant,
    /// Steps of the epoch done before this session's part of it.
    first: u64,
    /// Running loss and accuracy at the last read of the device.
    shown: (Option<f64>, Option<f64>),
}

/// A run set up and ready to train; [`Trainer::run`] trains it to its end.
pub(super) struct Trainer {
    engine: Engine,
    plan: RunPlan,
    writer: CheckpointWriter,
    state: RunState,
    session_images: u64,
    session_train_s: f64,
    stopped_early: bool,
    last_eval: Option<(f64, f64)>,
}

impl Trainer {
    pub fn new(engine: Engine, plan: RunPlan, writer: CheckpointWriter, state: RunState) -> Trainer {
        Trainer {
            engine,
            plan,
            writer,
            state,
            session_images: 0,
            session_train_s: 0.0,
            stopped_early: false,
            last_eval: None,
        }
    }

    fn cfg(&self) -> &TrainConfig {
        &self.writer.config
    }

    fn step_limit_reached(&self) -> bool {
        self.plan.max_steps.is_some_and(|m| self.state.pos.step >= m)
    }

    fn oom(&self) -> OomContext<'_> {
        OomContext {
            graph: &self.plan.graph,
            device: self.plan.device,
            batch: self.plan.batch,
            static_bytes: self.plan.static_bytes,
        }
    }

    /// Trains every epoch left (or to `max_steps`) and writes the final weights.
    pub fn run(mut self, obs: &mut dyn Observer) -> Result<TrainSummary, TrainError> {
        while self.state.pos.epoch < self.cfg().epochs {
            if self.step_limit_reached() {
                self.stopped_early = true;
                break;
            }
            if !self.epoch(obs)? {
                break;
            }
        }
        self.finish()
    }

    /// Trains the epoch in progress to its end (or to `max_steps`) and evaluates it; false
    /// where the run stops after it.
    fn epoch(&mut self, obs: &mut dyn Observer) -> Result<bool, TrainError> {
        let pos = self.state.pos;
        let (epochs, seed) = (self.cfg().epochs, self.cfg().seed);
        obs.epoch_start(pos.epoch, epochs, pos.step_in_epoch, self.plan.steps_per_epoch);
        let plan = self
            .engine
            .pipe
            .plan(self.engine.train_d.n, seed, pos.epoch as u64, self.plan.device)
            .map_err(TrainError::torch("planning the epoch"))?;
        let now = Instant::now();
        let mut e = EpochRun {
            plan,
            sums: EpochSums::new(pos.accum, self.plan.device, self.plan.batch),
            started: now,
            last_sync: now,
            first: pos.step_in_epoch,
            shown: (None, None),
        };
        while self.state.pos.step_in_epoch < self.plan.steps_per_epoch {
            if self.step_limit_reached() {
                self.stopped_early = true;
                break;
            }
            let lr = self.step(&mut e)?;
            self.after_step(&mut e, lr, obs)?;
        }
        sync(self.plan.device);
        self.session_train_s += e.started.elapsed().as_secs_f64();
        self.state.pos.accum = self.read_sums(&e)?;
        self.check_weights_finite()?;
        self.end_epoch(obs)
    }

    /// One optimizer step at the current position, added to the sums; returns its rate.
    fn step(&mut self, e: &mut EpochRun) -> Result<f64, TrainError> {
        let pos = self.state.pos;
        let lr = self.plan.schedule.lr(pos.step);
        runtime::manual_seed(data::derive_seed(self.cfg().seed, data::STREAM_DROPOUT, pos.step));
        let start = (pos.step_in_epoch * self.plan.batch as u64) as i64;
        let (o, correct) = self.forward_backward(&e.plan, start, lr).map_err(|err| {
            self.oom().or(&err.to_string(), || TrainError::Step {
                step: pos.step + 1,
                source: err,
            })
        })?;
        e.sums.add(&o, &correct);
        let p = &mut self.state.pos;
        p.step += 1;
        p.step_in_epoch += 1;
        self.session_images += self.plan.batch as u64;
        Ok(lr)
    }

    /// The batch at `start` of the epoch's order through the model and the update; with the
    /// number it classified correctly.
    fn forward_backward(&mut self, plan: &EpochPlan, start: i64, lr: f64) -> Result<(StepOut, Tensor), StepError> {
        let Engine { st, pipe, train_d, .. } = &mut self.engine;
        let (x, y) = pipe
            .train_batch(train_d, plan, start, self.plan.batch as i64)
            .map_err(StepError::Batch)?;
        let o = st.step(&x, &y, lr)?;
        let correct = stepper::correct(&o.logits, &y)?;
        Ok((o, correct))
    }

    /// Reads the sums where it is time to (and before a checkpoint), checkpoints every
    /// `checkpoint_every` steps inside the epoch, and reports progress.
    fn after_step(&mut self, e: &mut EpochRun, lr: f64, obs: &mut dyn Observer) -> Result<(), TrainError> {
        let pos = self.state.pos;
        let spe = self.plan.steps_per_epoch;
        let checkpoint_now = self
            .plan
            .checkpoint_every
            .is_some_and(|n| n > 0 && pos.step.is_multiple_of(n))
            && pos.step_in_epoch < spe;
        if checkpoint_now || e.last_sync.elapsed().as_secs_f64() >= SYNC_INTERVAL_S {
            let accum = self.read_sums(e)?;
            self.state.pos.accum = accum;
            e.shown = (Some(accum.mean_loss()), Some(accum.accuracy()));
            e.last_sync = Instant::now();
        }
        if checkpoint_now {
            self.check_weights_finite()?;
            let dir = self.save(self.state.clock.elapsed_s())?;
            obs.checkpoint(pos.step, &dir);
            self.state.last_checkpoint = Some(dir);
        }
        let secs = e.started.elapsed().as_secs_f64().max(1e-9);
        obs.progress(&Progress {
            epoch: pos.epoch,
            epochs: self.cfg().epochs,
            step_in_epoch: pos.step_in_epoch,
            steps_per_epoch: spe,
            step: pos.step,
            loss: e.shown.0,
            accuracy: e.shown.1,
            images_per_sec: ((pos.step_in_epoch - e.first) * self.plan.batch as u64) as f64 / secs,
            lr,
        });
        Ok(())
    }

    fn diverged(&self, loss: Option<f64>) -> TrainError {
        TrainError::Diverged {
            epoch: self.state.pos.epoch,
            step: self.state.pos.step,
            loss,
            checkpoint: self.state.last_checkpoint.clone(),
        }
    }

    /// The epoch's sums from the device; diverged where the loss is no longer finite.
    fn read_sums(&self, e: &EpochRun) -> Result<Accum, TrainError> {
        e.sums.read(e.started).map_err(|loss| self.diverged(Some(loss)))
    }

    fn check_weights_finite(&self) -> Result<(), TrainError> {
        match self.engine.st.all_finite() {
            true => Ok(()),
            false => Err(self.diverged(None)),
        }
    }

    fn save(&self, elapsed_s: f64) -> Result<PathBuf, TrainError> {
        self.writer
            .save(&self.engine.st, &self.state.pos, &self.state.metrics, elapsed_s)
    }

    /// Evaluates the epoch just trained and records it: a checkpoint, a metrics line, the
    /// plot. False where the run stops here (`max_steps`).
    fn end_epoch(&mut self, obs: &mut dyn Observer) -> Result<bool, TrainError> {
        let Position { step, epoch, .. } = self.state.pos;
        obs.evaluating(epoch);
        let Engine { st, pipe, test_d, .. } = &self.engine;
        let (test_loss, test_acc) = evaluate(st, pipe, test_d, self.plan.batch)
            .map_err(|err| self.oom().or(&err.to_string(), || TrainError::Evaluation(err)))?;
        self.last_eval = Some((test_loss, test_acc));
        let elapsed = self.state.clock.elapsed_s();
        let accum = self.state.pos.accum;
        let m = EpochMetrics {
            epoch: epoch + 1,
            step,
            train_loss: accum.mean_loss(),
            train_acc: accum.accuracy(),
            test_loss,
            test_acc,
            lr: self.plan.schedule.lr(step.saturating_sub(1)),
            images_per_sec: accum.seen as f64 / accum.train_time_s.max(1e-9),
            elapsed_s: elapsed,
        };
        if self.stopped_early && self.state.pos.step_in_epoch < self.plan.steps_per_epoch {
            self.end_partial_epoch(&m, elapsed, obs)?;
            return Ok(false);
        }
        let best = self
            .state
            .metrics
            .iter()
            .all(|p| p.test_acc.is_nan() || test_acc > p.test_acc);
        self.state.metrics.push(m.clone());
        self.state.pos = Position {
            step,
            epoch: epoch + 1,
            step_in_epoch: 0,
            accum: Accum::default(),
        };
        let dir = self.save(elapsed)?;
        obs.checkpoint(step, &dir);
        self.state.last_checkpoint = Some(dir);
        let out = &self.writer.out;
        metrics::append_jsonl(&out.join("metrics.jsonl"), &m).map_err(TrainError::MetricsLog)?;
        metrics::plot_run(&self.state.metrics, &self.plan.title, &out.join("metrics.svg"))
            .map_err(TrainError::MetricsPlot)?;
        obs.epoch_end(&m, best);
        if self.step_limit_reached() && self.state.pos.epoch < self.cfg().epochs {
            self.stopped_early = true;
            return Ok(false);
        }
        Ok(true)
    }

    /// A partial epoch (`max_steps`): checkpointed where it stands, its line recorded
    /// outside the checkpoint's metrics (a resume rewrites metrics.jsonl without it).
    fn end_partial_epoch(&mut self, m: &EpochMetrics, elapsed: f64, obs: &mut dyn Observer) -> Result<(), TrainError> {
        let dir = self.save(elapsed)?;
        obs.checkpoint(self.state.pos.step, &dir);
        let out = &self.writer.out;
        metrics::append_jsonl(&out.join("metrics.jsonl"), m).map_err(TrainError::MetricsLog)?;
        let mut shown = self.state.metrics.clone();
        shown.push(m.clone());
        let _ = metrics::plot_run(&shown, &self.plan.title, &out.join("metrics.svg"));
        obs.epoch_end(m, false);
        Ok(())
    }

    /// Writes final.safetensors and sums the run up.
    fn finish(self) -> Result<TrainSummary, TrainError> {
        let out = self.writer.out.clone();
        let final_weights = out.join("final.safetensors");
        checkpoint::write_tensors_atomic(&final_weights, &self.engine.st.weights())
            .map_err(TrainError::FinalWeights)?;
        let metrics = self.state.metrics;
        let best = metrics
            .iter()
            .filter(|m| m.test_acc.is_finite())
            .fold(None, |b: Option<(f64, usize)>, m| {
                if b.is_none_or(|(a, _)| m.test_acc > a) {
                    Some((m.test_acc, m.epoch))
                } else {
                    b
                }
            });
        let last_test_accuracy = match self.last_eval {
            Some((_, a)) => a,
            None => metrics.last().map_or(f64::NAN, |m| m.test_acc),
        };
        Ok(TrainSummary {
            out,
            final_weights,
            best,
            last_test_accuracy,
            steps: self.state.pos.step,
            stopped_early: self.stopped_early,
            session_s: self.state.clock.session_s(),
            images_per_sec: self.session_images as f64 / self.session_train_s.max(1e-9),
            elapsed_s: self.state.clock.elapsed_s(),
            peak_gpu_bytes: peak_gpu(self.plan.device),
            predicted_training_bytes: self.plan.predicted_training_bytes,
            device: self.writer.config.device.clone(),
            metrics,
        })
    }
}

fn peak_gpu(device: Device) -> Option<u64> {
    match device {
        Device::Cuda(i) => Some(runtime::cuda_max_memory_allocated(i)),
        _ => None,
    }
}

/// Waits for the device's queued work (CUDA).
pub(super) fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}
