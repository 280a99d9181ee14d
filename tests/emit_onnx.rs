//! `archcheck emit onnx`: for every spec and variant, the model passes `onnx.checker`, ONNX's
//! own shape inference agrees with derive on every node, and onnxruntime's output equals the
//! emitted PyTorch module's within 1e-4 on the same weights (the module's, passed through
//! `--weights` as safetensors) and input; where H and W are dynamic, at a second size and
//! batch too. Needs a Python with torch, onnx and onnxruntime (tests/common/python.rs).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use archcheck::derive::derive;
use archcheck::ir::LowerOptions;
use archcheck::shape::Shape;
use serde_json::Value;

mod common;

const SCRIPT: &str = include_str!("onnx/check_onnx.py");

fn archcheck(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_archcheck"))
        .args(args)
        .output()
        .expect("run archcheck");
    assert!(
        out.status.success(),
        "archcheck {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Derive's shape of every node at the reference size, batch 2, by node name; the sizes to
/// run (the reference, and the smallest valid input where H and W are dynamic).
struct Derived {
    shapes: HashMap<String, Vec<i64>>,
    /// The nodes the main output needs, but the input.
    inference: Vec<String>,
    reference: (i64, i64),
    min: (i64, i64),
}

fn derived(spec: &str, variant: Option<&str>) -> Derived {
    let s = archcheck::spec::load_file(Path::new(spec)).expect("spec loads");
    let opts = LowerOptions {
        variant: variant.map(String::from),
        ..Default::default()
    };
    let d = derive(s, &opts, 2).expect("derives");
    let (rh, rw) = d.graph.reference;
    let shapes = d
        .graph
        .nodes
        .iter()
        .map(|n| {
            let dims = match n.shape {
                Shape::Map { c, h, w } => vec![2, c, h.eval(rh), w.eval(rw)],
                Shape::Flat { features } => vec![2, features],
            };
            (n.name.clone(), dims)
        })
        .collect();
    let g = &d.graph;
    let mut keep = vec![false; g.nodes.len()];
    let mut stack = vec![g.main_output()];
    while let Some(n) = stack.pop() {
        if !std::mem::replace(&mut keep[n], true) {
            stack.extend(g.nodes[n].inputs.iter().copied());
        }
    }
    let inference = (1..g.nodes.len())
        .filter(|&n| keep[n])
        .map(|n| g.nodes[n].name.clone())
        .collect();
    Derived {
        shapes,
        inference,
        reference: g.reference,
        min: d.domain.min,
    }
}

fn check(spec: &str, variant: Option<&str>) {
    let Some(py) = common::python::test_python_with_or_skip(&["torch", "onnx", "onnxruntime"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("net.py");
    let weights = dir.path().join("net.safetensors");
    let model = dir.path().join("net.onnx");
    let s = |p: &PathBuf| p.to_string_lossy().into_owned();
    let mut args = vec!["emit", "pytorch", spec, "-o"];
    let module_s = s(&module);
    args.push(&module_s);
    if let Some(v) = variant {
        args.extend(["--variant", v]);
    }
    archcheck(&args);
    common::python::run_script(&py, SCRIPT, &[Path::new("prepare"), &module, &weights], None);
    let (weights_s, model_s) = (s(&weights), s(&model));
    let mut args = vec!["emit", "onnx", spec, "--weights", &weights_s, "-o", &model_s];
    if let Some(v) = variant {
        args.extend(["--variant", v]);
    }
    archcheck(&args);

    let derived = derived(spec, variant);
    let (want, reference, min) = (&derived.shapes, derived.reference, derived.min);
    let r = format!("{}x{}", reference.0, reference.1);
    let m = format!("{}x{}", min.0, min.1);
    let sizes = [Path::new("check"), &module, &model, Path::new(&r), Path::new(&m)];
    let report = common::python::last_json_line(&common::python::run_script(&py, SCRIPT, &sizes, None));
    let label = format!("{spec} {}", variant.unwrap_or("(as printed)"));

    assert!(
        report["opset"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v.as_i64() >= Some(17)),
        "{label}: {report}"
    );
    assert_eq!(
        report["initializers_not_in_state_dict"],
        Value::Array(vec![]),
        "{label}"
    );
    let dynamic = report["input"][2].is_string();
    assert!(
        report["input"][0].is_string(),
        "{label}: batch not dynamic: {}",
        report["input"]
    );

    // Every graph node exported under its own name has ONNX's inferred shape = derive's.
    let shapes = report["shapes"].as_object().unwrap();
    let mut compared = 0;
    for name in report["node_names"].as_array().unwrap() {
        let name = name.as_str().unwrap();
        let Some(want) = want.get(name) else {
            assert!(
                name.contains('/'),
                "{label}: ONNX node {name} is no graph node nor a helper of one"
            );
            continue;
        };
        let got: Vec<i64> = shapes
            .get(name)
            .unwrap_or_else(|| panic!("{label}: no inferred shape for {name}"))
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_i64().unwrap_or(-1))
            .collect();
        assert_eq!(&got, want, "{label}: {name}: ONNX shape inference vs derive");
        compared += 1;
    }
    let exported: Vec<&str> = report["node_names"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    for name in &derived.inference {
        assert!(
            exported.contains(&name.as_str()),
            "{label}: graph node {name} not exported"
        );
    }
    assert_eq!(compared, derived.inference.len(), "{label}");

    let runs = report["runs"].as_array().unwrap();
    let expected_runs = if dynamic { 2 } else { 1 };
    assert!(runs.len() >= expected_runs, "{label}: {report}");
    for run in &runs[..expected_runs] {
        assert_eq!(run["shape"], run["want_shape"], "{label}: {run}");
        let diff = run["max_abs_diff"].as_f64().unwrap();
        assert!(diff <= 1e-4, "{label}: onnxruntime vs PyTorch differ by {diff}: {run}");
        assert!(
            run["max_abs"].as_f64().unwrap() > 1e-3,
            "{label}: output is all but zero: {run}"
        );
    }
}

#[test]
fn googlenet_as_printed() {
    check("specs/googlenet.yaml", None);
}

#[test]
fn googlenet_torchvision() {
    check("specs/googlenet.yaml", Some("torchvision"));
}

#[test]
fn googlenet_zjzstu() {
    check("specs/googlenet.yaml", Some("zjzstu"));
}

#[test]
fn googlenet_bn_as_printed() {
    check("specs/googlenet_bn.yaml", None);
}

#[test]
fn googlenet_bn_caffe() {
    check("specs/googlenet_bn.yaml", Some("caffe"));
}

#[test]
fn googlenet_bn_slim() {
    check("specs/googlenet_bn.yaml", Some("slim"));
}

#[test]
fn googlenet_bn_zjzstu() {
    check("specs/googlenet_bn.yaml", Some("zjzstu"));
}

#[test]
fn inception_v3_as_printed() {
    check("specs/inception_v3.yaml", None);
}

#[test]
fn inception_v3_torchvision() {
    check("specs/inception_v3.yaml", Some("inception_v3"));
}

/// TF SAME everywhere (even kernels, stride 2: SAME_UPPER), separable conv, batch norm
/// without scale, an aux head left out.
#[test]
fn same_padding_net() {
    check("tests/onnx/same_net.yaml", None);
}

/// Caffe's extra ceil window (explicit Pad, cut, divisor correction), count_include_pad both
/// ways, grouped rectangular convs, an adaptive pool to 2×2: a fixed-size model.
#[test]
fn caffe_ceil_net() {
    check("tests/onnx/caffe_net.yaml", None);
}

/// PyTorch ceil pools and a conv classifier.
#[test]
fn nin_net() {
    check("tests/onnx/nin_net.yaml", None);
}

/// `archcheck ARGS`: its status and standard error.
fn status(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_archcheck"))
        .args(args)
        .output()
        .expect("run archcheck");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const NIN: &str = "tests/onnx/nin_net.yaml";

/// A safetensors file of `tensors` (name, shape, f32 values).
fn safetensors_file(dir: &Path, name: &str, tensors: &[(&str, Vec<usize>)]) -> PathBuf {
    let data: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, shape)| {
            let bytes = vec![0u8; shape.iter().product::<usize>() * 4];
            (n.to_string(), shape.clone(), bytes)
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = data
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b).unwrap(),
            )
        })
        .collect();
    let path = dir.join(name);
    std::fs::write(&path, safetensors::serialize(views, &None).unwrap()).unwrap();
    path
}

#[test]
fn unusable_weights_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.onnx");
    let out_s = out.to_string_lossy().into_owned();
    let garbage = dir.path().join("garbage.safetensors");
    std::fs::write(&garbage, b"not a tensor file at all").unwrap();
    let cases: Vec<(PathBuf, &str)> = vec![
        (garbage, "not a safetensors file"),
        (dir.path().to_path_buf(), "not a regular file"),
        (
            safetensors_file(dir.path(), "empty.safetensors", &[]),
            "no tensor 'conv_1.conv1.weight'",
        ),
        (
            safetensors_file(
                dir.path(),
                "shape.safetensors",
                &[("conv_1.conv1.weight", vec![16, 3, 5, 4])],
            ),
            "tensor 'conv_1.conv1.weight' has shape [16, 3, 5, 4], expected [16, 3, 5, 5]",
        ),
        (
            safetensors_file(dir.path(), "extra.safetensors", &[("conv_9.weight", vec![1])]),
            "tensor 'conv_9.weight' is no parameter of this network",
        ),
    ];
    for (weights, message) in cases {
        let w = weights.to_string_lossy().into_owned();
        let (code, err) = status(&["emit", "onnx", NIN, "--weights", &w, "-o", &out_s]);
        assert_eq!(code, 2, "{w}: {err}");
        assert!(err.contains(message), "{w}: expected '{message}' in: {err}");
        assert!(!out.exists(), "{w}: a model was written");
    }
}

#[test]
fn random_weights_follow_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    let write = |seed: &str, name: &str| {
        let path = dir.path().join(name);
        let p = path.to_string_lossy().into_owned();
        let (code, err) = status(&["emit", "onnx", NIN, "--seed", seed, "-o", &p]);
        assert_eq!(code, 0, "{err}");
        std::fs::read(path).unwrap()
    };
    let a = write("7", "a.onnx");
    assert_eq!(a, write("7", "b.onnx"), "same seed, same model");
    assert_ne!(a, write("8", "c.onnx"), "another seed, other weights");
}

#[test]
fn emit_pytorch_and_its_alias_agree() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_archcheck"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        out.stdout
    };
    let new = run(&["emit", "pytorch", NIN]);
    assert!(
        new.starts_with(b"# -*- coding"),
        "{}",
        String::from_utf8_lossy(&new[..40])
    );
    assert_eq!(new, run(&["emit", NIN, "--pytorch"]));
    assert_eq!(new, run(&["emit", "--pytorch", NIN]));
}

/// Residual sums, 1×1 projections, an adaptive pool head: torchvision's resnet18 … 152
/// (basic blocks, then bottlenecks).
#[test]
fn resnet18() {
    check("specs/resnet.yaml", Some("resnet18"));
}

#[test]
fn resnet34() {
    check("specs/resnet.yaml", Some("resnet34"));
}

#[test]
fn resnet50() {
    check("specs/resnet.yaml", Some("resnet50"));
}

#[test]
fn resnet101() {
    check("specs/resnet.yaml", Some("resnet101"));
}

#[test]
fn resnet152() {
    check("specs/resnet.yaml", Some("resnet152"));
}

/// nn.Sequential-numbered layers with batch norm, an adaptive pool to 7×7 before the
/// classifier: torchvision's vgg11_bn.
#[test]
fn vgg11_bn() {
    check("specs/vgg.yaml", Some("vgg11_bn"));
}

/// Dense blocks (a concatenation per dense layer), standalone batch norms before each conv
/// (BN-ReLU-Conv): torchvision's densenet121.
#[test]
fn densenet121() {
    check("specs/densenet.yaml", Some("densenet121"));
}

/// Depthwise convs (groups = channels), ReLU6, inverted residuals: MobileNetV2 as printed
/// (a 7×7 average pool and a 1×1 conv classifier) and torchvision's mobilenet_v2.
#[test]
fn mobilenet_v2_as_printed() {
    check("specs/mobilenet_v2.yaml", None);
}

#[test]
fn mobilenet_v2() {
    check("specs/mobilenet_v2.yaml", Some("mobilenet_v2"));
}

/// Every activation (GELU exact, SiLU, ReLU6 as Clip, hard sigmoid, hard swish), a dilated
/// conv, LRN, a squeeze-and-excitation product, global max and average pools.
#[test]
fn newer_ops_net() {
    check("tests/onnx/ops_net.yaml", None);
}

/// Depthwise convs, squeeze-and-excitation gates (a product with a C×1×1 sigmoid), SiLU,
/// residual sums: EfficientNet-B0 as printed and as torchvision names it.
#[test]
fn efficientnet_as_printed() {
    check("specs/efficientnet.yaml", None);
}

#[test]
fn efficientnet_b0() {
    check("specs/efficientnet.yaml", Some("efficientnet_b0"));
}
