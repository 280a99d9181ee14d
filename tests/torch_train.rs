//! Training on the CPU (feature `torch`): the loss falls on synthetic data; the flat
//! optimizer follows PyTorch's update rules and is layout-blind (channels-last gives the
//! same numbers); the device-side augmentation crops and flips exactly; `kill -9` then
//! `--resume` reaches bit-identical weights and metrics; corrupt or truncated data sets and
//! checkpoints, a diverging loss and contradicting options fail with clear messages and
//! exit codes; `bench` runs both sides.
#![cfg(feature = "torch")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use archcheck::ir::{Graph, LowerOptions};
use archcheck::torch::train::{self, OptimizerConfig, OptimizerKind, Stepper};
use archcheck::torch::train::{DeviceSplit, EpochPlan, Optimizer, Pipeline};
use tch::{Device, Kind, Tensor, nn};

mod common;

/// 16×16, batch norm, a branchy block, an auxiliary head with dropout, dropout in the head.
const TINY: &str = r#"
archcheck: 1
name: tiny
title: tiny test net
input: {channels: 3, size: 16}
classes: 4
columns:
  type: type
  out: count
conventions:
  padding: half
  conv_bias: false
  batch_norm: {eps: 0.001, momentum: 0.1}
templates:
  conv:
    layers:
      - conv: {out: "{out}", kernel: 3}
      - max_pool: {kernel: 2, stride: 2}
  block:
    branches:
      1x1:
        layers:
          - conv: {out: 8, kernel: 1}
      3x3:
        layers:
          - conv: {out: 4, kernel: 1}
          - conv: {out: 8, kernel: 3}
      pool:
        layers:
          - max_pool: {kernel: 3, stride: 1, pad: 1}
          - conv: {out: 4, kernel: 1}
rows:
  - {type: conv, out: 8}
  - {type: block}
aux_heads:
  side:
    after: conv
    layers:
      - global_avg_pool
      - flatten
      - dropout: {p: 0.5}
      - linear: {name: fc, out: "{classes}"}
head:
  - global_avg_pool
  - dropout: {p: 0.2}
  - linear: {name: fc, out: "{classes}"}
"#;

const BIN: &str = env!("CARGO_BIN_EXE_archcheck");

fn tiny_graph() -> Graph {
    tch::set_num_threads(1);
    let spec = archcheck::spec::load_str(TINY, "tiny.yaml").unwrap_or_else(|e| panic!("{e}"));
    archcheck::ir::lower(&spec, &LowerOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn write_spec(dir: &Path) -> PathBuf {
    let p = dir.join("tiny.yaml");
    std::fs::write(&p, TINY).unwrap();
    p
}

/// The binary, on one CPU thread: on a loaded machine OpenMP's spinning threads slow
/// libtorch down tenfold, and the numbers do not depend on the thread count here.
fn command(args: &[&str], cwd: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.args(args).current_dir(cwd).env("OMP_NUM_THREADS", "1");
    c
}

fn archcheck(args: &[&str], cwd: &Path) -> Output {
    command(args, cwd).output().expect("run archcheck")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The common training options of the CLI tests.
fn train_args<'a>(spec: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "build",
        spec,
        "--train",
        "--data",
        "synthetic",
        "--device",
        "cpu",
        "--batch",
        "32",
        "--seed",
        "7",
        "--warmup",
        "0.5",
        "--out",
        out,
    ];
    v.extend_from_slice(extra);
    v
}

// ---------------------------------------------------------------------------------------
// library level
// ---------------------------------------------------------------------------------------

fn synthetic_batches(g: &Graph, n: usize, seed: u64) -> (Pipeline, DeviceSplit) {
    let split = archcheck::data::synthetic(n, 8, g.classes as usize, 3, 16, seed);
    let (mean, std) = train::channel_stats(&split.train);
    let pipe = Pipeline::new(3, &mean, &std, g.reference, g.input_channels, Device::Cpu, false).unwrap();
    (pipe, DeviceSplit::upload(&split.train, Device::Cpu).unwrap())
}

#[test]
fn a_few_steps_reduce_the_loss() {
    let g = tiny_graph();
    tch::manual_seed(1);
    let cfg = OptimizerConfig {
        kind: OptimizerKind::Sgd,
        momentum: 0.9,
        weight_decay: 5e-4,
    };
    let mut st = Stepper::new(&g, Device::Cpu, cfg, false, false, train::AUX_WEIGHT).unwrap();
    let (pipe, split) = synthetic_batches(&g, 256, 3);
    let mut losses = Vec::new();
    for epoch in 0..3 {
        let plan = pipe.plan(split.n, 1, epoch, Device::Cpu).unwrap();
        for s in 0..8 {
            let (x, y) = pipe.train_batch(&split, &plan, s * 32, 32).unwrap();
            let o = st.step(&x, &y, 0.05).unwrap();
            losses.push(o.loss.double_value(&[]));
        }
    }
    let first: f64 = losses[..4].iter().sum::<f64>() / 4.0;
    let last: f64 = losses[losses.len() - 4..].iter().sum::<f64>() / 4.0;
    assert!(last < 0.5 * first, "loss did not fall: {losses:?}");
    assert!(st.opt.params_finite());
}

/// One variable, gradient of `sum(w · c)` is `c`: the updates of PyTorch's SGD and Adam.
#[test]
fn optimizer_follows_pytorch_update_rules() {
    for kind in [OptimizerKind::Sgd, OptimizerKind::Adam] {
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().var_copy("w", &Tensor::from_slice(&[1.0f32, -2.0, 0.5]));
        let c = [0.3f64, -1.0, 2.0];
        let ct = Tensor::from_slice(&[0.3f32, -1.0, 2.0]);
        let (lr, m, wd) = (0.1, 0.9, 0.01);
        let mut opt = Optimizer::new(
            &vs,
            OptimizerConfig {
                kind,
                momentum: m,
                weight_decay: wd,
            },
            false,
        )
        .unwrap();
        let mut p = [1.0f64, -2.0, 0.5];
        let (mut b1, mut b2) = ([0.0f64; 3], [0.0f64; 3]);
        for t in 1..=3 {
            let loss = (&w * &ct).sum(Kind::Float);
            let g = opt.gradients(&loss).unwrap();
            opt.step(g, lr).unwrap();
            for i in 0..3 {
                let g = c[i] + wd * p[i];
                match kind {
                    OptimizerKind::Sgd => {
                        b1[i] = m * b1[i] + g;
                        p[i] -= lr * b1[i];
                    }
                    OptimizerKind::Adam => {
                        b1[i] = 0.9 * b1[i] + 0.1 * g;
                        b2[i] = 0.999 * b2[i] + 0.001 * g * g;
                        let bc1 = 1.0 - 0.9f64.powi(t);
                        let bc2 = 1.0 - 0.999f64.powi(t);
                        p[i] -= lr / bc1 * b1[i] / ((b2[i] / bc2).sqrt() + 1e-8);
                    }
                }
            }
        }
        let got: Vec<f32> = Vec::try_from(&w.detach()).unwrap();
        for i in 0..3 {
            assert!((f64::from(got[i]) - p[i]).abs() < 1e-5, "{kind:?}: {got:?} vs {p:?}");
        }
        // The state round-trips by name.
        let saved: BTreeMap<String, Tensor> = opt.state_tensors().into_iter().collect();
        let n = if kind == OptimizerKind::Sgd { 1 } else { 2 };
        assert_eq!(saved.len(), n);
        opt.load_state(&saved, 3).unwrap();
    }
}

/// The flat buffer stores 4-d variables NHWC under channels-last: the same training steps
/// give the same weights either way (up to conv algorithms' rounding).
#[test]
fn channels_last_optimizer_matches_contiguous() {
    let g = tiny_graph();
    let cfg = OptimizerConfig {
        kind: OptimizerKind::Adam,
        momentum: 0.9,
        weight_decay: 1e-3,
    };
    let mut finals = Vec::new();
    for cl in [false, true] {
        tch::manual_seed(5);
        let mut st = Stepper::new(&g, Device::Cpu, cfg, false, cl, train::AUX_WEIGHT).unwrap();
        let split = archcheck::data::synthetic(64, 8, 4, 3, 16, 9);
        let (mean, std) = train::channel_stats(&split.train);
        let pipe = Pipeline::new(3, &mean, &std, (16, 16), 3, Device::Cpu, cl).unwrap();
        let d = DeviceSplit::upload(&split.train, Device::Cpu).unwrap();
        let plan = pipe.plan(d.n, 3, 0, Device::Cpu).unwrap();
        for s in 0..4 {
            tch::manual_seed(100 + s);
            let (x, y) = pipe.train_batch(&d, &plan, s * 16, 16).unwrap();
            if cl {
                assert!(archcheck::torch::runtime::is_channels_last(&x));
            }
            st.step(&x, &y, 1e-2).unwrap();
        }
        let conv = st
            .vs
            .variables()
            .into_iter()
            .find(|(_, v)| v.dim() == 4 && v.size()[2] > 1)
            .unwrap()
            .1;
        assert_eq!(archcheck::torch::runtime::is_channels_last(&conv), cl);
        finals.push(st.weights());
    }
    for ((n, a), (_, b)) in finals[0].iter().zip(&finals[1]) {
        let diff = (a - b).abs().max().double_value(&[]);
        assert!(diff < 1e-4, "{n}: differs by {diff}");
    }
}

#[test]
fn augmentation_crops_and_flips_exactly() {
    let g = tiny_graph();
    let (pipe, split) = synthetic_batches(&g, 8, 4);
    let p = pipe.crop_pad;
    assert_eq!(p, 2);
    let (plain, _) = pipe.eval_batch(&split, 0, 8).unwrap();
    let order = Tensor::arange(8, (Kind::Int64, Device::Cpu));
    let full = |v: i64| Tensor::full([8], v, (Kind::Int64, Device::Cpu));
    // Centre crop, no flip: the image itself.
    let plan = EpochPlan {
        order: order.shallow_clone(),
        dy: full(p),
        dx: full(p),
        flip: Tensor::zeros([8], (Kind::Bool, Device::Cpu)),
    };
    let (x, _) = pipe.train_batch(&split, &plan, 0, 8).unwrap();
    assert!(x.equal(&plain));
    // Flip: mirrored.
    let plan = EpochPlan {
        order: order.shallow_clone(),
        dy: full(p),
        dx: full(p),
        flip: Tensor::ones([8], (Kind::Bool, Device::Cpu)),
    };
    let (x, _) = pipe.train_batch(&split, &plan, 0, 8).unwrap();
    assert!(x.equal(&plain.flip([3])));
    // Offset (0, 2p): shifted up by p rows and left by p columns, zero (mean) padding.
    let plan = EpochPlan {
        order,
        dy: full(0),
        dx: full(2 * p),
        flip: Tensor::zeros([8], (Kind::Bool, Device::Cpu)),
    };
    let (x, _) = pipe.train_batch(&split, &plan, 0, 8).unwrap();
    assert!(
        x.narrow(2, p, 16 - p)
            .narrow(3, 0, 16 - p)
            .equal(&plain.narrow(2, 0, 16 - p).narrow(3, p, 16 - p))
    );
    assert_eq!(x.narrow(2, 0, p).abs().sum(Kind::Float).double_value(&[]), 0.0);
}

// ---------------------------------------------------------------------------------------
// command line
// ---------------------------------------------------------------------------------------

#[test]
fn kill_9_then_resume_gives_bit_identical_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_spec(dir);
    // Checkpoints cost a few fsyncs each: not too many of them.
    let extra = ["--epochs", "12", "--checkpoint-every", "40"];

    // Uninterrupted.
    let o = archcheck(&train_args("tiny.yaml", "full", &extra), dir);
    assert!(o.status.success(), "{}", text(&o));

    // Killed (SIGKILL) once a checkpoint exists, then resumed.
    let args = train_args("tiny.yaml", "killed", &extra);
    let mut child = command(&args, dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let manifest = dir.join("killed/checkpoint.json");
    let t0 = Instant::now();
    while !manifest.exists() && t0.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the run finished before it could be killed; make it longer"
    );
    let state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    assert!(
        state["step"].as_u64().unwrap() < 12 * 64,
        "killed after the last step: {state}"
    );

    let mut resume = args.clone();
    resume.push("--resume");
    let o = archcheck(&resume, dir);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("resuming at step"),
        "{}",
        text(&o)
    );

    let a = std::fs::read(dir.join("full/final.safetensors")).unwrap();
    let b = std::fs::read(dir.join("killed/final.safetensors")).unwrap();
    assert!(a == b, "final weights differ after kill -9 and --resume");
    // The metrics too, but for the timings.
    let strip = |p: &Path| -> Vec<(usize, u64, f64, f64, f64, f64, f64)> {
        archcheck::metrics::read_jsonl(p)
            .unwrap()
            .into_iter()
            .map(|m| {
                (
                    m.epoch,
                    m.step,
                    m.train_loss,
                    m.train_acc,
                    m.test_loss,
                    m.test_acc,
                    m.lr,
                )
            })
            .collect()
    };
    assert_eq!(
        strip(&dir.join("full/metrics.jsonl")),
        strip(&dir.join("killed/metrics.jsonl"))
    );
    assert_eq!(strip(&dir.join("full/metrics.jsonl")).len(), 12);
    // Only the committed checkpoint is left.
    assert_eq!(std::fs::read_dir(dir.join("killed/checkpoints")).unwrap().count(), 1);
    assert!(dir.join("killed/metrics.svg").exists());
}

#[test]
fn max_steps_then_resume_matches_and_options_must_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_spec(dir);
    let o = archcheck(
        &train_args(
            "tiny.yaml",
            "a",
            &[
                "--epochs",
                "2",
                "--optimizer",
                "adam",
                "--lr",
                "0.01",
                "--schedule",
                "step",
            ],
        ),
        dir,
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = archcheck(
        &train_args(
            "tiny.yaml",
            "b",
            &[
                "--epochs",
                "2",
                "--optimizer",
                "adam",
                "--lr",
                "0.01",
                "--schedule",
                "step",
                "--max-steps",
                "70",
            ],
        ),
        dir,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("stopped (--max-steps) after 70 steps"),
        "{}",
        text(&o)
    );

    // A contradicting option is refused; left-out options come from the checkpoint.
    let o = archcheck(
        &[
            "build",
            "tiny.yaml",
            "--train",
            "--out",
            "b",
            "--resume",
            "--lr",
            "0.5",
            "--device",
            "cpu",
        ],
        dir,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        stderr(&o).contains("--lr 0.5 (the checkpoint has 0.01)"),
        "{}",
        text(&o)
    );
    let o = archcheck(
        &[
            "build",
            "tiny.yaml",
            "--train",
            "--out",
            "b",
            "--resume",
            "--device",
            "cpu",
        ],
        dir,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read(dir.join("a/final.safetensors")).unwrap(),
        std::fs::read(dir.join("b/final.safetensors")).unwrap()
    );

    // A run directory is not overwritten by accident, and --resume needs a checkpoint.
    let o = archcheck(&train_args("tiny.yaml", "a", &[]), dir);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(stderr(&o).contains("already holds a run"), "{}", text(&o));
    let o = archcheck(&train_args("tiny.yaml", "nothing", &["--resume"]), dir);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(stderr(&o).contains("no checkpoint to resume from"), "{}", text(&o));

    // A changed spec is refused.
    std::fs::write(
        dir.join("tiny.yaml"),
        TINY.replace("conv: {out: 8, kernel: 1}", "conv: {out: 12, kernel: 1}"),
    )
    .unwrap();
    let o = archcheck(
        &[
            "build",
            "tiny.yaml",
            "--train",
            "--out",
            "b",
            "--resume",
            "--device",
            "cpu",
        ],
        dir,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(stderr(&o).contains("the spec text changed"), "{}", text(&o));
}

#[test]
fn corrupt_checkpoints_are_refused_with_the_file_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_spec(dir);
    let args = train_args("tiny.yaml", "r", &["--epochs", "2", "--max-steps", "20"]);
    let o = archcheck(&args, dir);
    assert!(o.status.success(), "{}", text(&o));
    let mut resume = args.clone();
    resume.retain(|a| *a != "--max-steps" && *a != "20");
    resume.push("--resume");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r/checkpoint.json")).unwrap()).unwrap();
    let ckpt = dir.join("r").join(manifest["dir"].as_str().unwrap());

    // A flipped byte in the weights.
    let model = ckpt.join("model.safetensors");
    let good = std::fs::read(&model).unwrap();
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 3] ^= 0x40;
    std::fs::write(&model, &bad).unwrap();
    let o = archcheck(&resume, dir);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        stderr(&o).contains("model.safetensors: corrupt checkpoint: content hash"),
        "{}",
        text(&o)
    );

    // Truncated optimizer state.
    std::fs::write(&model, &good).unwrap();
    let optim = ckpt.join("optim.safetensors");
    let bytes = std::fs::read(&optim).unwrap();
    std::fs::write(&optim, &bytes[..bytes.len() / 2]).unwrap();
    let o = archcheck(&resume, dir);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        stderr(&o).contains("optim.safetensors: corrupt checkpoint") && stderr(&o).contains("truncated"),
        "{}",
        text(&o)
    );
    std::fs::write(&optim, &bytes).unwrap();

    // A garbled manifest.
    let mpath = dir.join("r/checkpoint.json");
    let m = std::fs::read_to_string(&mpath).unwrap();
    std::fs::write(&mpath, &m[..m.len() / 2]).unwrap();
    let o = archcheck(&resume, dir);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(stderr(&o).contains("corrupt checkpoint manifest"), "{}", text(&o));

    // Restored, it resumes.
    std::fs::write(&mpath, &m).unwrap();
    let o = archcheck(&resume, dir);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn a_diverging_loss_stops_with_exit_1_and_keeps_the_last_good_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_spec(dir);
    // The learning rate ramps up to an absurd value: sooner or later the loss explodes.
    let args = [
        "build",
        "tiny.yaml",
        "--train",
        "--data",
        "synthetic",
        "--out",
        "nan",
        "--device",
        "cpu",
        "--batch",
        "32",
        "--seed",
        "3",
        "--epochs",
        "20",
        "--lr",
        "1e4",
        "--warmup",
        "20",
        "--weight-decay",
        "0",
        "--checkpoint-every",
        "1",
    ];
    let o = archcheck(&args, dir);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        stderr(&o).contains("training diverged") && stderr(&o).contains("the last good checkpoint is kept"),
        "{}",
        text(&o)
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("nan/checkpoint.json")).unwrap()).unwrap();
    let weights = train::read_weights(
        &dir.join("nan")
            .join(manifest["dir"].as_str().unwrap())
            .join("model.safetensors"),
    )
    .unwrap();
    for (name, t) in weights {
        assert!(
            t.isfinite().all().int64_value(&[]) == 1,
            "{name} is not finite in the kept checkpoint"
        );
    }
}

#[test]
fn fashion_mnist_files_train_and_bad_files_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_spec(dir);
    let fm = dir.join("fm");
    common::idx::write_idx(&fm, 64);
    // Grey 28×28 → 3×16×16 on the device, 10 classes from the data.
    let o = archcheck(
        &[
            "build",
            "tiny.yaml",
            "--train",
            "--data",
            "fashion-mnist:fm",
            "--device",
            "cpu",
            "--epochs",
            "1",
            "--batch",
            "16",
            "--seed",
            "1",
            "--out",
            "fmrun",
        ],
        dir,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("10 classes"),
        "{}",
        text(&o)
    );

    let run = |name: &str| {
        archcheck(
            &[
                "build",
                "tiny.yaml",
                "--train",
                "--data",
                &format!("fashion-mnist:{name}"),
                "--device",
                "cpu",
                "--out",
                &format!("out-{name}"),
            ],
            dir,
        )
    };
    // Truncated gzip stream.
    let t = dir.join("trunc");
    common::idx::write_idx(&t, 64);
    let f = t.join("train-images-idx3-ubyte.gz");
    let b = std::fs::read(&f).unwrap();
    std::fs::write(&f, &b[..b.len() / 2]).unwrap();
    let o = run("trunc");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        stderr(&o).contains("train-images-idx3-ubyte.gz") && stderr(&o).contains("truncated"),
        "{}",
        text(&o)
    );
    // Not gzip at all.
    let c = dir.join("corrupt");
    common::idx::write_idx(&c, 64);
    std::fs::write(c.join("t10k-labels-idx1-ubyte.gz"), b"garbage, not gzip").unwrap();
    let o = run("corrupt");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        stderr(&o).contains("t10k-labels-idx1-ubyte.gz: not a gzip file"),
        "{}",
        text(&o)
    );
    // A missing directory.
    let o = run("missing");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(stderr(&o).contains("missing"), "{}", text(&o));
}

/// The PyTorch side runs in the test Python (tests/common/python.rs): missing, the test
/// fails naming it, or skips by name in a core-only run.
#[test]
fn bench_runs_both_sides_on_the_cpu() {
    let Some(python) = common::python::test_python_or_skip() else {
        return;
    };
    let python = python.to_str().expect("test python path is UTF-8");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_spec(dir);
    let args = [
        "bench",
        "tiny.yaml",
        "--device",
        "cpu",
        "--batch",
        "8",
        "--steps",
        "2",
        "--warmup",
        "1",
        "--json",
        "--python",
        python,
    ];
    let o = archcheck(&args, dir);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    assert!(v["archcheck"]["images_per_sec"].as_f64().unwrap() > 0.0);
    assert_eq!(v["archcheck"]["parameters"], v["derived_parameters"]);
    assert!(v["predicted_training_bytes"].as_i64().unwrap() > 0);
    assert_eq!(v["pytorch"]["parameters"], v["derived_parameters"], "{v}");
    assert!(v["ratio"].as_f64().unwrap() > 0.0);
}

/// `archcheck build --train` with nothing else: the spec, data and options come from the
/// nearest archcheck.toml upwards (paths relative to it); a flag still wins over the file.
#[test]
fn build_train_alone_runs_what_the_project_file_says() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_spec(dir);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(
        dir.join("archcheck.toml"),
        "spec = \"tiny.yaml\"\n\n[train]\ndata = \"synthetic\"\ndevice = \"cpu\"\nbatch = 32\nseed = 7\n\
         epochs = 2\nmax_steps = 3\nout = \"run\"\n",
    )
    .unwrap();
    let o = archcheck(&["build", "--train"], &dir.join("sub"));
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("stopped (--max-steps) after 3 steps"),
        "{}",
        text(&o)
    );
    // The run directory is the file's, relative to the file; the run has its seed and batch.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run/checkpoint.json")).unwrap()).unwrap();
    let state = dir
        .join("run")
        .join(manifest["dir"].as_str().unwrap())
        .join("state.json");
    let state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(state).unwrap()).unwrap();
    let config = &state["config"];
    assert_eq!(
        (
            &config["seed"],
            &config["batch"],
            &config["epochs"],
            &config["data"],
            &config["device"]
        ),
        (&7.into(), &32.into(), &2.into(), &"synthetic".into(), &"cpu".into()),
        "{state}"
    );
    assert!(!dir.join("sub/run").exists());
    // Flags over the file: another step limit and run directory (relative to where it runs).
    let o = archcheck(
        &["build", "--train", "--max-steps", "2", "--out", "flag-run"],
        &dir.join("sub"),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("stopped (--max-steps) after 2 steps"),
        "{}",
        text(&o)
    );
    assert!(dir.join("sub/flag-run").is_dir());
}
