//! Setting a run up: the checkpoint to resume (it fills the options the command line leaves
//! out), the spec and its graph, the device, the data, the model and optimizer, and the
//! resumed position; the result is a [`Trainer`] ready for its first step.

use std::path::Path;
use std::time::Instant;

use tch::Device;

use crate::data::{DataSource, Split};
use crate::ir::{Graph, LowerOptions};
use crate::spec::Spec;
use crate::torch::runtime;

use super::checkpoint::{self, Loaded};
use super::config::{ModelRequest, TrainConfig, TrainRequest, default_seed, resolve};
use super::data::{self, DeviceSplit, Fnv64, Pipeline};
use super::epoch::{Clock, Engine, RunPlan, RunState, Trainer};
use super::error::TrainError;
use super::observer::{Observer, RunInfo};
use super::oom::OomContext;
use super::optim::{OptimizerConfig, Schedule, ScheduleKind};
use super::state::{CheckpointState, CheckpointWriter, DataIdentity, Position, SpecIdentity, identity_diff};
use super::stepper::Stepper;

/// Images of the synthetic data set (`--data synthetic`), train and test.
pub const SYNTHETIC_TRAIN: usize = 2048;
pub const SYNTHETIC_TEST: usize = 512;

type Resumed = Loaded<CheckpointState>;

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
        DataSource::FashionMnist(dir) => Ok(crate::data::load_fashion_mnist(dir.as_deref())?),
        DataSource::ImageFolder(dir) => Ok(crate::data::load_image_folder(dir, size)?),
    }
}

pub(crate) fn lower(spec: &Spec, opts: &LowerOptions) -> Result<Graph, TrainError> {
    crate::ir::lower(spec, opts).map_err(TrainError::Spec)
}

/// Makes the main output the logits (moved to `ir`, where `emit` uses it too).
pub use crate::ir::logits_graph;

/// Sets the run up as `req` says and tells `obs` about it; see the module docs.
pub(super) fn prepare(
    model_req: &ModelRequest,
    req: &TrainRequest,
    obs: &mut dyn Observer,
    session_start: Instant,
) -> Result<Trainer, TrainError> {
    runtime::init();
    let device = runtime::device_from_str(&req.device).map_err(TrainError::Device)?;
    // The checkpoint first: it fills the options the command line leaves out.
    let resumed = open_checkpoint(req)?;
    let prev = resumed.as_ref().map(|l| &l.state);
    let mut req = req.clone();
    let chosen = Chosen::load(model_req, &mut req, prev)?;
    let req = &req;
    let steps_can_change = prev.is_some_and(|p| p.config.schedule == ScheduleKind::Step);
    let cfg = resolve(req, prev.map(|p| &p.config), device, &chosen.source, steps_can_change)?;
    if let Some(p) = prev {
        check_resumable(&chosen.identity, &chosen.data_id, &cfg, p, obs)?;
    }
    std::fs::create_dir_all(&req.out).map_err(|source| TrainError::OutDir {
        path: req.out.clone(),
        source,
    })?;
    let geometry = Geometry::new(&cfg, chosen.split.train.n, obs);
    if let Some(p) = prev
        && p.steps_per_epoch != geometry.steps_per_epoch
    {
        return Err(TrainError::StepsPerEpoch {
            now: geometry.steps_per_epoch,
            then: p.steps_per_epoch,
        });
    }
    let mut engine = build(&chosen.graph, &cfg, device, chosen.split, geometry.batch)?;
    let state = match &resumed {
        Some(l) => restore(l, &mut engine.st, &req.out, session_start)?,
        None => {
            let _ = std::fs::remove_file(req.out.join("metrics.jsonl"));
            RunState::fresh(session_start)
        }
    };
    let plan = RunPlan {
        static_bytes: memory_baseline(device),
        predicted_training_bytes: crate::count::costs(&chosen.graph, geometry.batch as i64)
            .1
            .training_bytes,
        graph: chosen.graph,
        device,
        batch: geometry.batch,
        steps_per_epoch: geometry.steps_per_epoch,
        schedule: geometry.schedule,
        max_steps: req.max_steps,
        checkpoint_every: req.checkpoint_every,
        title: chosen.title,
    };
    obs.start(&RunInfo {
        spec: chosen.identity.clone(),
        config: cfg.clone(),
        parameters: engine.st.parameters(),
        train_images: engine.train_d.n,
        test_images: engine.test_d.n,
        steps_per_epoch: geometry.steps_per_epoch,
        total_steps: geometry.total_steps,
        resumed_from: prev.map(|p| (p.epoch, p.step)),
        out: req.out.clone(),
        predicted_training_bytes: plan.predicted_training_bytes,
    });
    let writer = CheckpointWriter {
        out: req.out.clone(),
        spec: chosen.identity,
        config: cfg,
        data: chosen.data_id,
        steps_per_epoch: geometry.steps_per_epoch,
    };
    Ok(Trainer::new(engine, plan, writer, state))
}

/// What is trained on what: the graph (logits as its main output) and the data loaded.
struct Chosen {
    graph: Graph,
    source: DataSource,
    split: Split,
    identity: SpecIdentity,
    data_id: DataIdentity,
    /// For the metrics plot: `name (variant) on data`.
    title: String,
}

impl Chosen {
    /// Loads the spec and the data; settles `req.seed` first (synthetic data depends on it).
    fn load(
        model_req: &ModelRequest,
        req: &mut TrainRequest,
        prev: Option<&CheckpointState>,
    ) -> Result<Chosen, TrainError> {
        let spec = &*model_req.loaded;
        let mut opts = model_options(&model_req.options, prev);
        let graph = lower(spec, &opts)?;
        let source = data_source(req, prev)?;
        req.seed = Some(req.seed.or(prev.map(|p| p.config.seed)).unwrap_or_else(default_seed));
        let split = load_split(&graph, &source, req.seed.unwrap_or(0))?;
        let graph = logits_graph(follow_data_classes(spec, &mut opts, graph, &split, &source)?);
        let variant = opts.variant.as_deref().map(|v| format!(" ({v})")).unwrap_or_default();
        Ok(Chosen {
            title: format!("{}{variant} on {source}", spec.name),
            identity: spec_identity(model_req, spec, &opts, &graph, &spec.source.text),
            data_id: data_identity(&source, &split),
            graph,
            source,
            split,
        })
    }
}

/// The checkpoint to resume from (`--resume`), or None; a fresh run refuses a directory
/// that holds one.
fn open_checkpoint(req: &TrainRequest) -> Result<Option<Resumed>, TrainError> {
    let exists = checkpoint::exists(&req.out);
    match (req.resume, exists) {
        (true, true) => Ok(Some(checkpoint::load(&req.out).map_err(TrainError::Checkpoint)?)),
        (true, false) => Err(TrainError::NoCheckpoint(req.out.clone())),
        (false, true) => Err(TrainError::RunExists(req.out.clone())),
        (false, false) => Ok(None),
    }
}

/// The lowering options: those given, the rest from the checkpoint when resuming.
fn model_options(given: &LowerOptions, prev: Option<&CheckpointState>) -> LowerOptions {
    let mut opts = given.clone();
    if let Some(p) = prev {
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
    opts
}

/// `--data`, else the checkpoint's, else Fashion-MNIST.
fn data_source(req: &TrainRequest, prev: Option<&CheckpointState>) -> Result<DataSource, TrainError> {
    match (&req.data, prev) {
        (Some(d), _) => Ok(d.clone()),
        (None, Some(p)) => crate::data::parse_data_arg(&p.config.data).map_err(TrainError::CheckpointData),
        (None, None) => Ok(DataSource::FashionMnist(None)),
    }
}

/// The data at the graph's input size, channels and classes (synthetic data follows them);
/// both splits must hold images.
fn load_split(graph: &Graph, source: &DataSource, seed: u64) -> Result<Split, TrainError> {
    let (h, w) = graph.reference;
    let split = load_data(
        source,
        h.max(w) as usize,
        graph.input_channels as usize,
        graph.classes as usize,
        seed,
    )?;
    if split.train.n == 0 || split.test.n == 0 {
        return Err(TrainError::EmptyData { data: source.clone() });
    }
    Ok(split)
}

/// The graph with as many classes as the data has: lowered again where `--classes` was
/// left out, refused where it was given and differs.
fn follow_data_classes(
    spec: &Spec,
    opts: &mut LowerOptions,
    graph: Graph,
    split: &Split,
    source: &DataSource,
) -> Result<Graph, TrainError> {
    let found = split.train.classes;
    if found as i64 == graph.classes {
        return Ok(graph);
    }
    if opts.classes.is_some() {
        return Err(TrainError::ClassMismatch {
            data: source.clone(),
            found,
            asked: graph.classes,
        });
    }
    opts.classes = Some(found as u64);
    lower(spec, opts)
}

fn spec_identity(
    model_req: &ModelRequest,
    spec: &Spec,
    opts: &LowerOptions,
    graph: &Graph,
    text: &str,
) -> SpecIdentity {
    SpecIdentity {
        path: model_req.spec.display().to_string(),
        name: spec.name.clone(),
        variant: opts.variant.clone(),
        classes: graph.classes as u64,
        no_aux: opts.no_aux,
        input: (graph.reference.0 as u64, graph.reference.1 as u64),
        text_fnv64: Fnv64::of(text.as_bytes()),
    }
}

fn data_identity(source: &DataSource, split: &Split) -> DataIdentity {
    DataIdentity {
        source: source.to_string(),
        train_images: split.train.n,
        test_images: split.test.n,
        classes: split.train.classes,
        train_fnv64: data::fingerprint(&split.train),
        test_fnv64: data::fingerprint(&split.test),
    }
}

/// Refuses a checkpoint of another network or other data; notes a change of device.
fn check_resumable(
    identity: &SpecIdentity,
    data_id: &DataIdentity,
    cfg: &TrainConfig,
    prev: &CheckpointState,
    obs: &mut dyn Observer,
) -> Result<(), TrainError> {
    if let Some(d) = identity_diff(identity, &prev.spec) {
        return Err(TrainError::ModelDiffers(d));
    }
    if (data_id.train_fnv64.as_str(), data_id.test_fnv64.as_str())
        != (prev.data.train_fnv64.as_str(), prev.data.test_fnv64.as_str())
    {
        return Err(TrainError::DataDiffers {
            now: Box::new(data_id.clone()),
            then: Box::new(prev.data.clone()),
        });
    }
    if prev.config.device != cfg.device {
        obs.note(&format!(
            "resuming on {} a run that trained on {}: the numbers will not match an uninterrupted run bit for bit",
            cfg.device, prev.config.device
        ));
    }
    Ok(())
}

/// The shape of an epoch: the batch (at most the training set), whole batches per epoch,
/// and the learning-rate schedule over the run.
struct Geometry {
    batch: usize,
    steps_per_epoch: u64,
    total_steps: u64,
    schedule: Schedule,
}

impl Geometry {
    fn new(cfg: &TrainConfig, train_images: usize, obs: &mut dyn Observer) -> Geometry {
        let batch = cfg.batch.min(train_images);
        if batch < cfg.batch {
            obs.note(&format!(
                "the training set has only {train_images} images: batch {batch} instead of {}",
                cfg.batch
            ));
        }
        let steps_per_epoch = (train_images / batch) as u64;
        let total_steps = steps_per_epoch * cfg.epochs as u64;
        let schedule = Schedule {
            kind: cfg.schedule,
            base_lr: cfg.lr,
            warmup_steps: (cfg.warmup_epochs * steps_per_epoch as f64).round() as u64,
            total_steps,
            steps_per_epoch,
        };
        Geometry {
            batch,
            steps_per_epoch,
            total_steps,
            schedule,
        }
    }
}

/// The model and optimizer (weights from the run's seed), the batch pipeline, and both
/// splits uploaded to the device.
fn build(graph: &Graph, cfg: &TrainConfig, device: Device, split: Split, batch: usize) -> Result<Engine, TrainError> {
    if device.is_cuda() {
        runtime::cudnn_benchmark(true);
    }
    runtime::manual_seed(data::derive_seed(cfg.seed, data::STREAM_INIT, 0));
    let opt = OptimizerConfig {
        kind: cfg.optimizer,
        momentum: cfg.momentum,
        weight_decay: cfg.weight_decay,
    };
    let st = Stepper::new(graph, device, opt, cfg.amp, cfg.channels_last, cfg.aux_weight)?;
    let (mean, std) = data::channel_stats(&split.train);
    let pipe = Pipeline::new(
        split.train.channels,
        &mean,
        &std,
        graph.reference,
        graph.input_channels,
        device,
        cfg.channels_last,
    )?;
    let oom = OomContext {
        graph,
        device,
        batch,
        static_bytes: 0,
    };
    let upload = |d: &crate::data::Dataset, what: &'static str| {
        DeviceSplit::upload(d, device).map_err(|e| {
            let message = e.to_string();
            oom.or(&message, || TrainError::Torch {
                what,
                message: super::error::first_line(&message),
            })
        })
    };
    let train_d = upload(&split.train, "uploading the training set")?;
    let test_d = upload(&split.test, "uploading the test set")?;
    Ok(Engine {
        st,
        pipe,
        train_d,
        test_d,
    })
}

/// Restores a checkpoint into `st`: weights, optimizer state, position, metrics; removes
/// temporary files a kill left behind and rewrites metrics.jsonl from the checkpoint.
fn restore(l: &Resumed, st: &mut Stepper, out: &Path, session_start: Instant) -> Result<RunState, TrainError> {
    st.load_weights(&l.model).map_err(|e| TrainError::ResumeWeights {
        dir: l.dir.clone(),
        source: Box::new(e),
    })?;
    st.opt
        .load_state(&l.optim, l.state.optimizer_steps)
        .map_err(|e| TrainError::ResumeOptimizer {
            dir: l.dir.clone(),
            source: Box::new(e),
        })?;
    let s = &l.state;
    let pos = Position {
        step: s.step,
        epoch: s.epoch,
        step_in_epoch: s.step_in_epoch,
        accum: s.accum,
    };
    remove_interrupted_writes(out);
    // metrics.jsonl may hold lines written after the checkpoint: rewrite it from the
    // checkpoint so it continues without duplicates.
    let mut text = String::new();
    for m in &s.metrics {
        text.push_str(&serde_json::to_string(m)?);
        text.push('\n');
    }
    checkpoint::write_atomic(&out.join("metrics.jsonl"), text.as_bytes()).map_err(TrainError::MetricsRewrite)?;
    Ok(RunState {
        pos,
        metrics: s.metrics.clone(),
        last_checkpoint: Some(l.dir.clone()),
        clock: Clock::new(session_start, s.elapsed_s),
    })
}

/// Temporary files of atomic writes a kill interrupted.
fn remove_interrupted_writes(out: &Path) {
    if let Ok(rd) = std::fs::read_dir(out) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(".tmp-") || (name.starts_with('.') && name.contains(".tmp-")) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Memory in use before the first step (CUDA; 0 elsewhere), with the peak statistics
/// reset so that the run's peak is measured from here.
fn memory_baseline(device: Device) -> u64 {
    match device {
        Device::Cuda(i) => {
            let in_use = runtime::cuda_memory_allocated(i);
            runtime::cuda_reset_peak_memory(i);
            in_use
        }
        _ => 0,
    }
}
