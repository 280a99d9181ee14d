//! `archcheck emit --pytorch -o FILE --train-script`: the torchrun training script beside
//! the module, checked by Python itself: it parses for every spec and variant; its
//! synthetic data are archcheck's, byte for byte; `torchrun --nproc_per_node 2` (gloo, CPU)
//! trains a tiny net whose loss falls while both processes hold the same parameters after
//! every step; a run stopped with --max-steps and resumed ends with the weights of an
//! uninterrupted one (two processes, SGD; and one process without torchrun, Adam); the
//! final weights pass `archcheck compare` and the metrics `archcheck plot`.
//!
//! Python: tests/common/python.rs. These tests fail, naming what is missing, where there is
//! no Python with torch (a core-only run skips them by name).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use archcheck::emit::{ScriptTarget, class_name, pytorch_module, script_file_name, train_script};
use serde_json::Value;

mod common;

fn python() -> Option<PathBuf> {
    common::python::test_python_with_or_skip(&["torch", "numpy", "safetensors"])
}

/// A few small convolutions with batch norm, an auxiliary head and a softmax that the
/// script's module leaves out: 16×16 input, 4 classes.
const TINY: &str = r#"archcheck: 1
name: tiny
title: a tiny net
input: {channels: 3, size: 16}
classes: 4
columns:
  type: type
  out: count
conventions:
  padding: same
  batch_norm: true
templates:
  conv:
    layers:
      - conv: {out: "{out}", kernel: 3, stride: 2}
rows:
  - {type: conv, out: 8}
  - {type: conv, out: 16}
aux_heads:
  side:
    after: conv_1
    layers:
      - global_avg_pool
      - linear: {name: fc, out: "{classes}"}
head:
  - global_avg_pool
  - linear: {name: fc, out: "{classes}"}
  - softmax
"#;

fn archcheck(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_archcheck"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Writes tiny.yaml and emits net.py and net_train.py into `dir`.
fn emit_tiny(dir: &Path) {
    std::fs::write(dir.join("tiny.yaml"), TINY).unwrap();
    let o = archcheck(
        &["emit", "tiny.yaml", "--pytorch", "-o", "net.py", "--train-script"],
        dir,
    );
    assert!(o.status.success(), "emit failed: {}", text(&o));
    assert!(dir.join("net_train.py").is_file(), "{}", text(&o));
}

/// Runs the script in `dir` (under torchrun with `procs` processes, or plain python for
/// 0): its output, which must report success.
fn train(py: &Path, dir: &Path, procs: usize, args: &[&str]) -> String {
    let mut cmd = Command::new(py);
    if procs > 0 {
        cmd.args(["-m", "torch.distributed.run", "--standalone", "--nproc_per_node"])
            .arg(procs.to_string());
    }
    let o = cmd
        .arg("net_train.py")
        .args(args)
        .current_dir(dir)
        .env("OMP_NUM_THREADS", "1")
        .output()
        .unwrap();
    let out = text(&o);
    assert!(o.status.success(), "training failed ({}):\n{out}", o.status);
    out
}

fn metrics(run: &Path) -> Vec<Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn train_script_needs_an_output_file() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("tiny.yaml"), TINY).unwrap();
    let o = archcheck(&["emit", "tiny.yaml", "--pytorch", "--train-script"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--output"), "{}", text(&o));
}

/// Python's own parser on the script (and its module) of every spec and variant, and the
/// constants it reads back from the generated block.
#[test]
fn scripts_parse_for_every_spec_and_variant() {
    let tmp = tempfile::tempdir().unwrap();
    let specs = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
    let mut entries = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&specs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        let spec = archcheck::spec::load_str(&text, &path.display().to_string()).unwrap();
        let variants: Vec<Option<String>> = std::iter::once(None)
            .chain(spec.variants.keys().cloned().map(Some))
            .collect();
        for variant in variants {
            let opts = archcheck::ir::LowerOptions {
                variant: variant.clone(),
                ..Default::default()
            };
            let graph = archcheck::ir::logits_graph(archcheck::ir::lower(&spec, &opts).unwrap());
            let class = class_name(&spec.name, variant.as_deref());
            let stem = format!("{}_{}", spec.name, variant.as_deref().unwrap_or("printed"));
            let module_file = format!("{stem}.py");
            std::fs::write(tmp.path().join(&module_file), pytorch_module(&graph, &class, "t")).unwrap();
            let script = train_script(
                &graph,
                &ScriptTarget {
                    module_file: &module_file,
                    class_name: &class,
                    title: &spec.title,
                    spec_name: &spec.name,
                    spec_file: "specs/x.yaml",
                },
            );
            let script_file = tmp.path().join(script_file_name(&module_file));
            std::fs::write(&script_file, script).unwrap();
            entries.push(serde_json::json!({
                "script": script_file,
                "module": tmp.path().join(&module_file),
                "module_file": module_file,
                "class": class,
                "name": spec.name,
                "variant": variant,
                "input": [graph.reference.0, graph.reference.1],
                "channels": graph.input_channels,
                "classes": graph.classes,
                "aux": graph.outputs.iter().filter(|o| o.aux).count(),
            }));
        }
    }
    assert!(entries.len() >= 7, "{} scripts", entries.len());
    let manifest = tmp.path().join("manifest.json");
    std::fs::write(&manifest, serde_json::to_string(&entries).unwrap()).unwrap();
    let Some(py) = python() else { return };
    let script = r#"
import ast, json, sys
fails = []
for m in json.load(open(sys.argv[1])):
    for path in (m["script"], m["module"]):
        src = open(path, "rb").read()
        try:
            tree = ast.parse(src, path)
            compile(tree, path, "exec")
        except SyntaxError as e:
            fails.append("%s: %s" % (path, e))
            continue
    tree = ast.parse(open(m["script"], "rb").read())
    if not (isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Constant)):
        fails.append("%s: the docstring is not the first statement" % m["script"])
    want = {"MODULE_FILE": m["module_file"], "MODEL_CLASS": m["class"],
            "SPEC": {"name": m["name"], "variant": m["variant"], "file": "specs/x.yaml"},
            "INPUT_SIZE": tuple(m["input"]), "INPUT_CHANNELS": m["channels"], "CLASSES": m["classes"],
            "AUX_HEADS": m["aux"]}
    got = {t.targets[0].id: ast.literal_eval(t.value) for t in tree.body
           if isinstance(t, ast.Assign) and isinstance(t.targets[0], ast.Name) and t.targets[0].id in want}
    for k, v in want.items():
        if got.get(k) != v:
            fails.append("%s: %s = %r, expected %r" % (m["script"], k, got.get(k), v))
print(json.dumps({"failures": fails}))
"#;
    let out = common::python::run_script(&py, script, &[&manifest], None);
    let result = common::python::last_json_line(&out);
    assert_eq!(result["failures"], serde_json::json!([]), "{result}");
}

/// The script's synthetic data set against archcheck's generator, byte for byte; its
/// sampler's global batches whatever the number of processes.
#[test]
fn synthetic_data_are_archcheck_s_and_batches_do_not_depend_on_the_processes() {
    let tmp = tempfile::tempdir().unwrap();
    emit_tiny(tmp.path());
    let Some(py) = python() else { return };
    let cases: [(usize, usize, usize, usize, usize, u64); 4] = [
        (40, 9, 4, 3, 16, 5),
        (33, 7, 10, 1, 28, 1),
        (5, 3, 1, 2, 3, 0),
        (12, 4, 7, 3, 9, u64::MAX),
    ];
    let script = r#"
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("train", sys.argv[1])
train = importlib.util.module_from_spec(spec)
spec.loader.exec_module(train)
out = []
for n_train, n_test, classes, channels, size, seed in json.load(open(sys.argv[2])):
    a, b = train.synthetic(n_train, n_test, classes, channels, size, seed)
    out.append([[s.images.tobytes().hex(), s.labels.tolist()] for s in (a, b)])
# The sampler: a step's global batch is the same for 1, 2 or 4 processes (each takes its
# slice), every epoch is a permutation, and a resumed epoch continues at its step.
def steps(world, start=0, n=100, batch=8, epoch=3):
    parts = []
    for rank in range(world):
        s = train.StepSampler(n, world, rank, 7, batch)
        s.set_epoch(epoch)
        s.start = start
        parts.append(list(train.BatchSampler(s, batch // world, drop_last=True)))
    return [sum((p[i] for p in parts), []) for i in range(len(parts[0]))]
one = steps(1)
sampler = {"steps": len(one), "same_for_2": steps(2) == one, "same_for_4": steps(4) == one,
           "distinct": len(set(sum(one, []))) == 12 * 8, "resumed": steps(2, start=5) == one[5:],
           "epochs_differ": steps(1, epoch=4) != one}
print(json.dumps({"synthetic": out, "sampler": sampler}))
"#;
    let cases_json = tmp.path().join("cases.json");
    std::fs::write(&cases_json, serde_json::to_string(&cases).unwrap()).unwrap();
    let out = common::python::run_script(&py, script, &[&tmp.path().join("net_train.py"), &cases_json], None);
    let result = common::python::last_json_line(&out);
    assert_eq!(
        result["sampler"],
        serde_json::json!({"steps": 12, "same_for_2": true, "same_for_4": true, "distinct": true,
                           "resumed": true, "epochs_differ": true}),
        "{}",
        result["sampler"]
    );
    let got = &result["synthetic"];
    for (i, &(n_train, n_test, classes, channels, size, seed)) in cases.iter().enumerate() {
        let split = archcheck::data::synthetic(n_train, n_test, classes, channels, size, seed);
        for (j, d) in [&split.train, &split.test].into_iter().enumerate() {
            let hex: String = d.images.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(got[i][j][0].as_str(), Some(hex.as_str()), "case {i} split {j}: images");
            let labels: Vec<u64> = d.labels.iter().map(|&l| u64::from(l)).collect();
            assert_eq!(got[i][j][1], serde_json::json!(labels), "case {i} split {j}: labels");
        }
    }
}

/// Two processes, gloo on the CPU: the loss falls, both hold the same parameters after
/// every step, and a run stopped at step 40 (in its second epoch) and resumed ends with
/// the uninterrupted run's weights, byte for byte.
#[test]
fn torchrun_two_processes_train_alike_and_resume_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    emit_tiny(dir);
    let Some(py) = python() else { return };
    let common_args = ["--data", "synthetic", "--epochs", "2", "--batch", "64", "--seed", "5"];
    let whole = [&common_args[..], &["--out", "whole", "--check-replicas"]].concat();
    let out = train(&py, dir, 2, &whole);
    // Replicas: one line per step (2048 / 64 = 32 steps per epoch), two equal digests each,
    // and the parameters move from step to step.
    let replicas: Vec<Value> = out
        .lines()
        .filter_map(|l| l.strip_prefix("replicas "))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(replicas.len(), 64, "{out}");
    for (i, r) in replicas.iter().enumerate() {
        assert_eq!(r["step"].as_u64(), Some(i as u64 + 1), "{r}");
        let digests = r["sha256"].as_array().unwrap();
        assert_eq!(digests.len(), 2, "{r}");
        assert_eq!(digests[0], digests[1], "the processes differ after step {}", i + 1);
    }
    assert!(
        replicas.windows(2).all(|w| w[0]["sha256"][0] != w[1]["sha256"][0]),
        "{out}"
    );
    // The loss falls: the second epoch's training and test losses are below the first's.
    let m = metrics(&dir.join("whole"));
    assert_eq!(m.len(), 2, "{m:?}");
    let loss = |i: usize, k: &str| m[i][k].as_f64().unwrap();
    assert!(loss(1, "train_loss") < loss(0, "train_loss"), "{m:?}");
    assert!(loss(1, "test_loss") < loss(0, "test_loss"), "{m:?}");
    assert!(loss(0, "train_loss") < 4f64.ln(), "{m:?}");
    assert_eq!(m[1]["step"].as_u64(), Some(64), "{m:?}");

    let part = [&common_args[..], &["--out", "part", "--max-steps", "40"]].concat();
    let out = train(&py, dir, 2, &part);
    assert!(out.contains("stopped after step 40"), "{out}");
    let out = train(&py, dir, 2, &["--out", "part", "--resume"]);
    assert!(out.contains("epoch 2, step 40"), "{out}");
    let whole_w = std::fs::read(dir.join("whole/final.safetensors")).unwrap();
    let part_w = std::fs::read(dir.join("part/final.safetensors")).unwrap();
    assert!(
        whole_w == part_w,
        "the resumed run's final weights differ from the uninterrupted run's"
    );
    // The resumed run's metrics: the same evaluation, and the same training sums but for
    // the order they were added in.
    let resumed = metrics(&dir.join("part"));
    assert_eq!(resumed.len(), 2, "{resumed:?}");
    for (a, b) in m.iter().zip(&resumed) {
        for k in ["epoch", "step", "test_loss", "test_acc", "train_acc", "lr"] {
            assert_eq!(a[k], b[k], "{k}: {a} against {b}");
        }
        let (x, y) = (a["train_loss"].as_f64().unwrap(), b["train_loss"].as_f64().unwrap());
        assert!((x - y).abs() <= 1e-12 * x.abs(), "train_loss {x} against {y}");
    }

    // archcheck reads what the script wrote: weights against the spec, metrics as a plot.
    let o = archcheck(&["compare", "tiny.yaml", "whole/final.safetensors"], dir);
    assert!(o.status.success(), "{}", text(&o));
    let o = archcheck(&["plot", "whole", "-o", "whole.svg"], dir);
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::fs::read_to_string(dir.join("whole.svg")).unwrap().contains("<svg"));
}

/// One process without torchrun, Adam: stopped after 3 steps and resumed, the weights and
/// the Adam moments end as an uninterrupted run's; a contradicting option is refused.
#[test]
fn one_process_adam_resumes_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    emit_tiny(dir);
    let Some(py) = python() else { return };
    let args = [
        "--data",
        "synthetic",
        "--epochs",
        "1",
        "--batch",
        "256",
        "--seed",
        "9",
        "--optimizer",
        "adam",
    ];
    train(&py, dir, 0, &[&args[..], &["--out", "whole"]].concat());
    let out = train(
        &py,
        dir,
        0,
        &[&args[..], &["--out", "part", "--max-steps", "3"]].concat(),
    );
    assert!(out.contains("stopped after step 3"), "{out}");
    let o = Command::new(&py)
        .args(["net_train.py", "--out", "part", "--resume", "--lr", "0.5"])
        .current_dir(dir)
        .env("OMP_NUM_THREADS", "1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--lr 0.5 (the checkpoint has 0.001)"), "{}", text(&o));
    train(&py, dir, 0, &["--out", "part", "--resume"]);
    for file in ["final.safetensors", "checkpoint.json"] {
        let a = std::fs::read(dir.join("whole").join(file)).unwrap();
        let b = std::fs::read(dir.join("part").join(file)).unwrap();
        if file == "final.safetensors" {
            assert!(a == b, "final weights differ");
        } else {
            // The last checkpoints' optimizer state (Adam's moments) agrees too.
            let ma: Value = serde_json::from_slice(&a).unwrap();
            let mb: Value = serde_json::from_slice(&b).unwrap();
            assert_eq!(ma["step"], mb["step"]);
            assert_eq!(
                ma["files"]["optim.safetensors"], mb["files"]["optim.safetensors"],
                "optimizer state differs"
            );
            assert_eq!(ma["files"]["model.safetensors"], mb["files"]["model.safetensors"]);
        }
    }
}

/// The script's loaders against archcheck's: Fashion-MNIST (every pixel and label of both
/// splits) and an image folder split by file-name hash (classes, split, order, pixels; at
/// the model's size, so that no resize filter is involved), a grey file made RGB.
#[test]
fn fashion_mnist_and_image_folders_load_as_archcheck_loads_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    emit_tiny(dir);
    let folder = dir.join("folder");
    for (c, class) in ["cat", "dog"].iter().enumerate() {
        std::fs::create_dir_all(folder.join(class)).unwrap();
        for i in 0..7u32 {
            let path = folder.join(class).join(format!("img{i}.png"));
            if i == 3 {
                image::GrayImage::from_fn(16, 16, |x, y| image::Luma([(x * 13 + y * 7 + i) as u8])).save(&path)
            } else {
                image::RgbImage::from_fn(16, 16, |x, y| {
                    image::Rgb([(x * 16) as u8, (y * 16) as u8, (c as u32 * 100 + i * 20) as u8])
                })
                .save(&path)
            }
            .unwrap();
        }
    }
    std::fs::write(folder.join("cat/notes.txt"), "not an image").unwrap();
    let Some(py) = python() else { return };
    let Some(fmnist) = common::requirements::fashion_mnist_or_skip() else {
        return;
    };
    let script = r#"
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("train", sys.argv[1])
train = importlib.util.module_from_spec(spec)
spec.loader.exec_module(train)
out = {}
for name, split in zip(("train", "test"), train.load_data("fashion-mnist:" + sys.argv[2], 0)):
    open(sys.argv[4] + "/" + name + ".bin", "wb").write(split.images.tobytes() + split.labels.astype("u1").tobytes())
    out[name] = list(split.images.shape)
a, b = train.load_data("imagefolder:" + sys.argv[3], 0)
out["folder"] = [[s.images.tobytes().hex(), s.labels.tolist(), s.classes] for s in (a, b)]
print(json.dumps(out))
"#;
    let out = common::python::run_script(&py, script, &[&dir.join("net_train.py"), &fmnist, &folder, dir], None);
    let got = common::python::last_json_line(&out);
    let split = archcheck::data::load_fashion_mnist(Some(&fmnist)).unwrap();
    for (name, d) in [("train", &split.train), ("test", &split.test)] {
        assert_eq!(got[name], serde_json::json!([d.n, 1, d.height, d.width]), "{name}");
        let bytes = std::fs::read(dir.join(format!("{name}.bin"))).unwrap();
        let labels: Vec<u8> = d.labels.iter().map(|&l| l as u8).collect();
        assert!(
            bytes == [&d.images[..], &labels[..]].concat(),
            "fashion-mnist {name} differs"
        );
    }
    let split = archcheck::data::load_image_folder(&folder, 16).unwrap();
    for (j, d) in [&split.train, &split.test].into_iter().enumerate() {
        let hex: String = d.images.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            got["folder"][j][0].as_str(),
            Some(hex.as_str()),
            "image folder split {j}: pixels"
        );
        let labels: Vec<u64> = d.labels.iter().map(|&l| u64::from(l)).collect();
        assert_eq!(
            got["folder"][j][1],
            serde_json::json!(labels),
            "image folder split {j}: labels"
        );
        assert_eq!(got["folder"][j][2].as_u64(), Some(d.classes as u64));
    }
    assert_eq!((split.train.n, split.test.n), (12, 2));
}
