//! `archcheck bench`: training throughput and peak memory of the tch model, against the
//! emitted PyTorch module trained the same way in the same run.
//!
//! Both sides train on random data that stays on the device, with SGD + momentum, the
//! auxiliary losses, bf16 autocast and channels-last where asked (by default on CUDA), and
//! cuDNN's autotuner; both reset the peak-memory statistics after building the model and
//! the data, run `warmup` steps, then time `steps` steps between two device syncs. The
//! PyTorch side is `scripts/bench_pytorch.py` (compiled into this binary), run with
//! `ARCHCHECK_PYTHON` or `python3` on a module written by [`crate::emit::pytorch_module`];
//! it runs first, so its process has given its GPU memory back before the tch side starts.
//! derive's predicted activation memory is reported next to the measured peaks.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output};
use std::sync::Arc;
use std::time::Instant;

use serde::Deserialize;
use tch::{Device, Kind, TchError, Tensor};

use crate::ir::Graph;
use crate::torch::runtime;
use crate::torch::train::OomContext;
use crate::torch::train::device_name;
use crate::torch::train::{
    self, AUX_WEIGHT, ModelRequest, OptimizerConfig, OptimizerKind, StepError, StepOut, Stepper, TrainError,
};

/// The PyTorch side, carried inside the binary so that it runs wherever the binary does.
pub const BENCH_PYTORCH_PY: &str = include_str!("../../scripts/bench_pytorch.py");

#[derive(Debug, Clone)]
pub struct BenchRequest {
    pub batch: usize,
    /// Timed steps per side.
    pub steps: usize,
    /// Untimed steps first (cuDNN autotuning, allocator warm-up).
    pub warmup: usize,
    /// bf16 autocast; default on for CUDA.
    pub amp: Option<bool>,
    /// Default on for CUDA.
    pub channels_last: Option<bool>,
    pub device: String,
    /// The Python to run the PyTorch side with; `None` skips it.
    pub python: Option<String>,
    pub lr: f64,
    pub momentum: f64,
    pub weight_decay: f64,
}

impl Default for BenchRequest {
    fn default() -> Self {
        BenchRequest {
            batch: 32,
            steps: 20,
            warmup: 5,
            amp: None,
            channels_last: None,
            device: "auto".into(),
            python: Some(default_python()),
            lr: 0.01,
            momentum: 0.9,
            weight_decay: 5e-4,
        }
    }
}

/// `ARCHCHECK_PYTHON`, else `python3`.
pub fn default_python() -> String {
    std::env::var("ARCHCHECK_PYTHON")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "python3".into())
}

/// One side's figures.
#[derive(Debug, Clone, Deserialize)]
pub struct BenchSide {
    pub images_per_sec: f64,
    pub step_ms: f64,
    /// Peak CUDA memory allocated by tensors (none on the CPU).
    pub peak_bytes: Option<u64>,
    pub parameters: i64,
    /// The PyTorch version (PyTorch side).
    #[serde(default)]
    pub torch: Option<String>,
}

#[derive(Debug, Clone)]
pub struct BenchReport {
    pub spec: String,
    pub variant: Option<String>,
    pub class_name: String,
    pub device: String,
    pub batch: usize,
    pub input: (i64, i64),
    pub classes: i64,
    pub amp: bool,
    pub channels_last: bool,
    pub steps: usize,
    pub warmup: usize,
    pub tch: BenchSide,
    /// `None` when skipped; `Err` says why the PyTorch side failed.
    pub pytorch: Option<Result<BenchSide, PytorchError>>,
    /// derive's estimate of the activations autograd keeps at this batch (fp32).
    pub predicted_training_bytes: i64,
    /// Parameter count derive gives.
    pub derived_parameters: i64,
}

impl BenchReport {
    /// archcheck's images/s over PyTorch's.
    pub fn ratio(&self) -> Option<f64> {
        match &self.pytorch {
            Some(Ok(p)) if p.images_per_sec > 0.0 => Some(self.tch.images_per_sec / p.images_per_sec),
            _ => None,
        }
    }
}

/// Why the bench could not run (the PyTorch side's failures are part of the report).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("--batch and --steps must be at least 1")]
    ZeroSize,
    /// The device, the spec or the model cannot be used, or memory ran out.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// The random batch could not be made (libtorch's whole message).
    #[error("bench step: {0}")]
    Input(TchError),
    #[error("bench step: {0}")]
    Step(StepError),
    #[error("bench: the loss is {0}")]
    Loss(f64),
}

impl BenchError {
    /// 2 for a request that cannot be used, 1 for a bench that failed.
    pub fn exit_code(&self) -> u8 {
        match self {
            BenchError::ZeroSize => 2,
            BenchError::Train(e) => e.exit_code(),
            BenchError::Input(_) | BenchError::Step(_) | BenchError::Loss(_) => 1,
        }
    }
}

/// Why the PyTorch side gave no figures. Serialized as its message (the JSON report's
/// `pytorch.error`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum PytorchError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: Arc<std::io::Error> },
    #[error("cannot run {python}: {source} (set ARCHCHECK_PYTHON to a python with torch)")]
    Spawn {
        python: String,
        source: Arc<std::io::Error>,
    },
    /// It exited with `status`; `tail` is the last lines of its stderr, joined by ` | `.
    #[error("{python} failed ({status}): {tail}")]
    Failed {
        python: String,
        status: ExitStatus,
        tail: String,
    },
    #[error("{python} printed no JSON result")]
    NoResult { python: String },
    #[error("cannot read the PyTorch result '{line}': {source}")]
    BadResult {
        line: String,
        source: Arc<serde_json::Error>,
    },
}

impl serde::Serialize for PytorchError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What both sides train: the graph, at the request's batch and steps, on the device.
#[derive(Clone, Copy)]
struct Setting<'a> {
    graph: &'a Graph,
    req: &'a BenchRequest,
    device: Device,
    amp: bool,
    channels_last: bool,
}

/// Runs both sides; see the module docs.
pub fn run(model_req: &ModelRequest, req: &BenchRequest) -> Result<BenchReport, BenchError> {
    runtime::init();
    if req.batch == 0 || req.steps == 0 {
        return Err(BenchError::ZeroSize);
    }
    let device = runtime::device_from_str(&req.device).map_err(TrainError::Device)?;
    let spec = &*model_req.loaded;
    let graph = train::logits_graph(train::lower(spec, &model_req.options)?);
    let cuda = device.is_cuda();
    let set = Setting {
        graph: &graph,
        req,
        device,
        amp: req.amp.unwrap_or(cuda),
        channels_last: req.channels_last.unwrap_or(cuda),
    };
    let variant = model_req.options.variant.clone();
    let class_name = crate::emit::class_name(&spec.name, variant.as_deref());
    let (_, totals) = crate::count::costs(&graph, req.batch as i64);

    let pytorch = req.python.as_ref().map(|py| {
        let title = format!(
            "{} ({}), generated by archcheck bench from {}",
            spec.title,
            variant.as_deref().unwrap_or("the table as printed"),
            spec.file
        );
        let source = crate::emit::pytorch_module(&graph, &class_name, &title);
        run_pytorch(py, &source, &class_name, set)
    });

    let tch = run_tch(set)?;
    Ok(BenchReport {
        spec: spec.name.clone(),
        variant,
        class_name,
        device: device_name(device),
        batch: req.batch,
        input: graph.reference,
        classes: graph.classes,
        amp: set.amp,
        channels_last: set.channels_last,
        steps: req.steps,
        warmup: req.warmup,
        tch,
        pytorch,
        predicted_training_bytes: totals.training_bytes,
        derived_parameters: totals.params,
    })
}

/// A random batch that stays on the device: images (channels-last where asked) and labels.
fn random_batch(set: Setting, oom: OomContext) -> Result<(Tensor, Tensor), BenchError> {
    let failed = |e: TchError| match oom.report(&e.to_string()) {
        Some(r) => BenchError::Train(TrainError::OutOfMemory(r)),
        None => BenchError::Input(e),
    };
    let (h, w) = set.graph.reference;
    let b = set.req.batch as i64;
    let x = Tensor::f_randn([b, set.graph.input_channels, h, w], (Kind::Float, set.device)).map_err(failed)?;
    let x = if set.channels_last {
        runtime::to_channels_last(&x)
    } else {
        x
    };
    let y = Tensor::f_randint(set.graph.classes, [b], (Kind::Int64, set.device)).map_err(failed)?;
    Ok((x, y))
}

fn run_tch(set: Setting) -> Result<BenchSide, BenchError> {
    let (req, device) = (set.req, set.device);
    if device.is_cuda() {
        runtime::cudnn_benchmark(true);
    }
    runtime::manual_seed(0);
    let opt = OptimizerConfig {
        kind: OptimizerKind::Sgd,
        momentum: req.momentum,
        weight_decay: req.weight_decay,
    };
    let mut st = Stepper::new(set.graph, device, opt, set.amp, set.channels_last, AUX_WEIGHT)?;
    let mut oom = OomContext {
        graph: set.graph,
        device,
        batch: req.batch,
        static_bytes: 0,
    };
    let (x, y) = random_batch(set, oom)?;
    oom.static_bytes = match device {
        Device::Cuda(i) => {
            let s = runtime::cuda_memory_allocated(i);
            runtime::cuda_reset_peak_memory(i);
            s
        }
        _ => 0,
    };
    let mut last = None;
    for _ in 0..req.warmup {
        last = Some(bench_step(&mut st, &x, &y, req.lr, oom)?);
    }
    sync(device);
    let t0 = Instant::now();
    for _ in 0..req.steps {
        last = Some(bench_step(&mut st, &x, &y, req.lr, oom)?);
    }
    sync(device);
    let dt = t0.elapsed().as_secs_f64();
    if let Some(o) = last {
        let l = o.total.double_value(&[]);
        if !l.is_finite() {
            return Err(BenchError::Loss(l));
        }
    }
    Ok(BenchSide {
        images_per_sec: (req.batch * req.steps) as f64 / dt,
        step_ms: 1000.0 * dt / req.steps as f64,
        peak_bytes: match device {
            Device::Cuda(i) => Some(runtime::cuda_max_memory_allocated(i)),
            _ => None,
        },
        parameters: st.parameters(),
        torch: None,
    })
}

fn bench_step(st: &mut Stepper, x: &Tensor, y: &Tensor, lr: f64, oom: OomContext) -> Result<StepOut, BenchError> {
    st.step(x, y, lr).map_err(|e| match oom.report(&e.to_string()) {
        Some(r) => BenchError::Train(TrainError::OutOfMemory(r)),
        None => BenchError::Step(e),
    })
}

fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

/// Runs the PyTorch side in a scratch directory, removed afterwards.
fn run_pytorch(python: &str, source: &str, class_name: &str, set: Setting) -> Result<BenchSide, PytorchError> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("archcheck-bench-{}-{nanos}", std::process::id()));
    let result = run_pytorch_in(&dir, python, source, class_name, set);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_pytorch_in(
    dir: &Path,
    python: &str,
    source: &str,
    class_name: &str,
    set: Setting,
) -> Result<BenchSide, PytorchError> {
    let write = |path: PathBuf, text: &str| {
        std::fs::write(&path, text).map_err(|e| PytorchError::Io {
            path: path.clone(),
            source: Arc::new(e),
        })?;
        Ok::<PathBuf, PytorchError>(path)
    };
    std::fs::create_dir_all(dir).map_err(|e| PytorchError::Io {
        path: dir.to_path_buf(),
        source: Arc::new(e),
    })?;
    let module = write(dir.join("archcheck_model.py"), source)?;
    let script = write(dir.join("bench_pytorch.py"), BENCH_PYTORCH_PY)?;
    let out = pytorch_command(python, &script, &module, class_name, set)
        .output()
        .map_err(|e| PytorchError::Spawn {
            python: python.to_string(),
            source: Arc::new(e),
        })?;
    pytorch_result(python, &out)
}

/// `python bench_pytorch.py` with the module, the class and the setting.
fn pytorch_command(python: &str, script: &Path, module: &Path, class_name: &str, set: Setting) -> Command {
    let (req, graph) = (set.req, set.graph);
    let (h, w) = graph.reference;
    let mut cmd = Command::new(python);
    cmd.arg(script)
        .arg("--module")
        .arg(module)
        .arg("--class")
        .arg(class_name)
        .args(["--batch", &req.batch.to_string()])
        .args(["--input", &format!("{h}x{w}")])
        .args(["--channels", &graph.input_channels.to_string()])
        .args(["--classes", &graph.classes.to_string()])
        .args(["--steps", &req.steps.to_string()])
        .args(["--warmup", &req.warmup.to_string()])
        .args(["--device", &device_name(set.device)])
        .args(["--lr", &req.lr.to_string()])
        .args(["--momentum", &req.momentum.to_string()])
        .args(["--weight-decay", &req.weight_decay.to_string()])
        .args(["--aux-weight", &AUX_WEIGHT.to_string()])
        .args(["--threads", &tch::get_num_threads().to_string()]);
    if set.amp {
        cmd.arg("--amp");
    }
    if set.channels_last {
        cmd.arg("--channels-last");
    }
    cmd
}

/// The figures the script printed as its last JSON line, or why there are none.
fn pytorch_result(python: &str, out: &Output) -> Result<BenchSide, PytorchError> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let mut tail: Vec<&str> = stderr.lines().rev().take(3).collect();
        tail.reverse();
        return Err(PytorchError::Failed {
            python: python.to_string(),
            status: out.status,
            tail: tail.join(" | "),
        });
    }
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .ok_or_else(|| PytorchError::NoResult {
            python: python.to_string(),
        })?;
    serde_json::from_str::<BenchSide>(line).map_err(|e| PytorchError::BadResult {
        line: line.to_string(),
        source: Arc::new(e),
    })
}
