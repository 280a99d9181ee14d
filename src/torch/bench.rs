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

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use serde::Deserialize;
use tch::{Device, Kind, Tensor};

use crate::torch::runtime;
use crate::torch::train::{self, AUX_WEIGHT, ModelRequest, OptimizerConfig, OptimizerKind, Stepper, TrainError};

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
    pub pytorch: Option<Result<BenchSide, String>>,
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

fn usage(e: impl std::fmt::Display) -> TrainError {
    TrainError::Usage(e.to_string())
}

/// Runs both sides; see the module docs.
pub fn run(model_req: &ModelRequest, req: &BenchRequest) -> Result<BenchReport, TrainError> {
    runtime::init();
    if req.batch == 0 || req.steps == 0 {
        return Err(usage("--batch and --steps must be at least 1"));
    }
    let device = runtime::device_from_str(&req.device).map_err(TrainError::Usage)?;
    let text =
        std::fs::read_to_string(&model_req.spec).map_err(|e| usage(format!("{}: {e}", model_req.spec.display())))?;
    let spec = crate::spec::load_file(&model_req.spec).map_err(|e| {
        usage(
            crate::report::diagnostics::render_error(&e, Some(&crate::source::Source::new("", text.clone())))
                .trim_end()
                .trim_start_matches("error: "),
        )
    })?;
    let graph = crate::ir::lower(&spec, &model_req.options).map_err(|e| {
        usage(
            crate::report::diagnostics::render_error(&e, Some(&crate::source::Source::new("", text.clone())))
                .trim_end()
                .trim_start_matches("error: "),
        )
    })?;
    let graph = train::logits_graph(graph);
    let cuda = device.is_cuda();
    let amp = req.amp.unwrap_or(cuda);
    let channels_last = req.channels_last.unwrap_or(cuda);
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
        run_pytorch(py, &source, &class_name, req, &graph, device, amp, channels_last)
    });

    let tch = run_tch(&graph, req, device, amp, channels_last)?;
    Ok(BenchReport {
        spec: spec.name.clone(),
        variant,
        class_name,
        device: match device {
            Device::Cuda(i) => format!("cuda:{i}"),
            _ => "cpu".into(),
        },
        batch: req.batch,
        input: graph.reference,
        classes: graph.classes,
        amp,
        channels_last,
        steps: req.steps,
        warmup: req.warmup,
        tch,
        pytorch,
        predicted_training_bytes: totals.training_bytes,
        derived_parameters: totals.params,
    })
}

fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

fn run_tch(
    graph: &crate::ir::Graph,
    req: &BenchRequest,
    device: Device,
    amp: bool,
    channels_last: bool,
) -> Result<BenchSide, TrainError> {
    if device.is_cuda() {
        runtime::cudnn_benchmark(true);
    }
    runtime::manual_seed(0);
    let opt = OptimizerConfig {
        kind: OptimizerKind::Sgd,
        momentum: req.momentum,
        weight_decay: req.weight_decay,
    };
    let mut st = Stepper::new(graph, device, opt, amp, channels_last, AUX_WEIGHT)?;
    let (h, w) = graph.reference;
    let b = req.batch as i64;
    let oom = |msg: String, static_bytes: u64| {
        if train::is_oom(&msg) {
            TrainError::OutOfMemory(Box::new(train::oom_report(
                graph,
                device,
                req.batch,
                &msg,
                static_bytes,
            )))
        } else {
            TrainError::Failed(format!("bench step: {msg}"))
        }
    };
    let x =
        Tensor::f_randn([b, graph.input_channels, h, w], (Kind::Float, device)).map_err(|e| oom(e.to_string(), 0))?;
    let x = if channels_last {
        runtime::to_channels_last(&x)
    } else {
        x
    };
    let y = Tensor::f_randint(graph.classes, [b], (Kind::Int64, device)).map_err(|e| oom(e.to_string(), 0))?;
    let static_bytes = match device {
        Device::Cuda(i) => {
            let s = runtime::cuda_memory_allocated(i);
            runtime::cuda_reset_peak_memory(i);
            s
        }
        _ => 0,
    };
    let lr = req.lr;
    let mut last = None;
    for _ in 0..req.warmup {
        last = Some(st.step(&x, &y, lr).map_err(|m| oom(m, static_bytes))?);
    }
    sync(device);
    let t0 = Instant::now();
    for _ in 0..req.steps {
        last = Some(st.step(&x, &y, lr).map_err(|m| oom(m, static_bytes))?);
    }
    sync(device);
    let dt = t0.elapsed().as_secs_f64();
    if let Some(o) = last {
        let l = o.total.double_value(&[]);
        if !l.is_finite() {
            return Err(TrainError::Failed(format!("bench: the loss is {l}")));
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

#[allow(clippy::too_many_arguments)]
fn run_pytorch(
    python: &str,
    source: &str,
    class_name: &str,
    req: &BenchRequest,
    graph: &crate::ir::Graph,
    device: Device,
    amp: bool,
    channels_last: bool,
) -> Result<BenchSide, String> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("archcheck-bench-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let result = (|| {
        let module: PathBuf = dir.join("archcheck_model.py");
        let script: PathBuf = dir.join("bench_pytorch.py");
        std::fs::write(&module, source).map_err(|e| format!("{}: {e}", module.display()))?;
        std::fs::write(&script, BENCH_PYTORCH_PY).map_err(|e| format!("{}: {e}", script.display()))?;
        let (h, w) = graph.reference;
        let mut cmd = Command::new(python);
        cmd.arg(&script)
            .arg("--module")
            .arg(&module)
            .arg("--class")
            .arg(class_name)
            .args(["--batch", &req.batch.to_string()])
            .args(["--input", &format!("{h}x{w}")])
            .args(["--channels", &graph.input_channels.to_string()])
            .args(["--classes", &graph.classes.to_string()])
            .args(["--steps", &req.steps.to_string()])
            .args(["--warmup", &req.warmup.to_string()])
            .args([
                "--device",
                &match device {
                    Device::Cuda(i) => format!("cuda:{i}"),
                    _ => "cpu".into(),
                },
            ])
            .args(["--lr", &req.lr.to_string()])
            .args(["--momentum", &req.momentum.to_string()])
            .args(["--weight-decay", &req.weight_decay.to_string()])
            .args(["--aux-weight", &AUX_WEIGHT.to_string()])
            .args(["--threads", &tch::get_num_threads().to_string()]);
        if amp {
            cmd.arg("--amp");
        }
        if channels_last {
            cmd.arg("--channels-last");
        }
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run {python}: {e} (set ARCHCHECK_PYTHON to a python with torch)"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = stderr
                .lines()
                .rev()
                .take(3)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            return Err(format!("{python} failed ({}): {}", out.status, tail.join(" | ")));
        }
        let line = stdout
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with('{'))
            .ok_or_else(|| format!("{python} printed no JSON result"))?;
        serde_json::from_str::<BenchSide>(line).map_err(|e| format!("cannot read the PyTorch result '{line}': {e}"))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}
