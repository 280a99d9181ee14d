//! `emit::pytorch_module`: the generated PyTorch source, checked as text and, in a
//! Python with torch, by running it: parameter count and names, state_dict names,
//! and forward output shapes against the derivation, at the reference size and others.
//!
//! Python: the one lookup of tests/common/python.rs (`$ARCHCHECK_PYTHON`, else the venv of
//! scripts/setup-torch.sh); without it the running tests fail naming what is missing, or, in
//! a core-only run (`ARCHCHECK_TESTS=core`), skip by name.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use archcheck::emit::{class_name, pytorch_module};
use archcheck::ir::{Graph, LowerOptions, NodeId, Op, Pad};
use archcheck::shape::{Axis, Requirement, Shape, WindowRounding};
use serde_json::{Value, json};

mod common;

/// The Python with torch; `None` (the skip recorded by name) only in a core-only run.
fn python() -> Option<PathBuf> {
    common::python::test_python_or_skip()
}

/// TF-style: SAME everywhere (stride-2 and even kernels, asymmetric padding at odd sizes),
/// separable conv, batch norm without scale, branches, an aux head with a fixed flatten.
const SAME_NET: &str = r#"
archcheck: 1
name: same_net
title: SAME padding test net
input: {channels: 3, size: 33}
classes: 10
columns:
  type: type
  out: count
conventions:
  padding: same
  conv_bias: false
  batch_norm: {eps: 0.001, momentum: 0.0003, scale: false}
templates:
  stem:
    layers:
      - separable_conv: {out: "{out}", kernel: 5, stride: 2, multiplier: 2}
      - conv: {out: "{out}", kernel: 4, stride: 2}
      - max_pool: {kernel: 3, stride: 2}
  block:
    branches:
      1x1:
        layers:
          - conv: {out: 8, kernel: 1}
      1x7:
        layers:
          - conv: {out: 6, kernel: [1, 7]}
          - conv: {out: 6, kernel: [7, 1]}
      even:
        layers:
          - conv: {out: 4, kernel: 2}
      avg:
        layers:
          - avg_pool: {kernel: 3, stride: 1}
      max:
        layers:
          - max_pool: {kernel: 3, stride: 1}
  down:
    branches:
      conv:
        layers:
          - conv: {out: "{out}", kernel: 3, stride: 2}
      avg:
        layers:
          - avg_pool: {kernel: 3, stride: 2}
      max:
        layers:
          - max_pool: {kernel: 2, stride: 2}
rows:
  - {type: stem, out: 16}
  - {type: block (a)}
  - {type: down, out: 12}
  - {type: block (b)}
aux_heads:
  side:
    after: block (a)
    layers:
      - avg_pool: {kernel: 3, stride: 2}
      - conv: {out: 8, kernel: 1}
      - flatten
      - linear: {name: fc, out: 20}
      - relu
      - dropout: {p: 0.5}
      - linear: {name: logits, out: "{classes}"}
head:
  - global_avg_pool
  - dropout: {p: 0.2}
  - linear: {name: logits, out: "{classes}"}
  - softmax
"#;

/// Caffe-style: explicit padding, ceil pools under Caffe's rule (1×1/2 pools that keep a
/// window PyTorch drops), conv bias, no batch norm, grouped and rectangular convs,
/// count_include_pad both ways, an adaptive pool head; names that clash with nn.Module's.
const CAFFE_NET: &str = r#"
archcheck: 1
name: caffe_net
input: {channels: 1, size: 27}
classes: 5
columns:
  type: type
  out: count
conventions:
  padding: half
  pool_rounding: ceil
  ceil_rule: caffe
  conv_bias: true
templates:
  conv:
    layers:
      - conv: {out: "{out}", kernel: 3}
      - max_pool: {kernel: 3, stride: 2, pad: 1}
  skip:
    layers:
      - max_pool: {kernel: 1, stride: 2}
      - avg_pool: {kernel: 1, stride: 2}
  mix:
    # Branch and layer names that are nn.Module attributes or not Python identifiers.
    branches:
      training:
        layers:
          - avg_pool: {kernel: 3, stride: 1, pad: 1, count_include_pad: false}
      forward:
        layers:
          - avg_pool: {name: eval, kernel: 3, stride: 1, pad: 1}
      5-x5:
        layers:
          - conv: {name: state_dict, out: "{out}", kernel: [3, 5], pad: [1, 2], groups: 2}
rows:
  - {type: conv, out: 8}
  - {type: skip}
  - {type: mix, out: 4}
head:
  - adaptive_avg_pool: {size: 2}
  - linear: {name: fc, out: "{classes}", bias: false}
"#;

/// NiN-style: a 1×1 conv classifier with batch norm (scale on) and PyTorch ceil pools, so
/// `num_classes` reaches a conv and its batch norm.
const NIN_NET: &str = r#"
archcheck: 1
name: nin
input: {channels: 3, size: 32}
classes: 10
columns:
  type: type
  out: count
conventions:
  batch_norm: true
  pool_rounding: ceil
templates:
  conv:
    layers:
      - conv: {out: "{out}", kernel: 5}
      - conv: {out: "{out}", kernel: 1}
      - max_pool: {kernel: 3, stride: 2}
rows:
  - {type: conv, out: 16}
  - {type: conv, out: 16}
head:
  - conv: {name: classifier, out: "{classes}", kernel: 1}
  - global_avg_pool
  - flatten
"#;

fn main_nodes(g: &Graph) -> HashSet<NodeId> {
    let mut seen = HashSet::new();
    let mut stack = vec![g.main_output()];
    while let Some(n) = stack.pop() {
        if seen.insert(n) {
            stack.extend(g.nodes[n].inputs.iter().copied());
        }
    }
    seen
}

/// Whether every node in `nodes` is valid at input h×w: its window requirements hold, its
/// output is non-empty, and a concat's branches agree.
fn valid(g: &Graph, h: i64, w: i64, nodes: &HashSet<NodeId>) -> bool {
    for c in g.constraints.iter().filter(|c| nodes.contains(&c.node)) {
        let v = |axis: Axis| if axis == Axis::H { h } else { w };
        let ok = match c.requirement {
            Requirement::AtLeast { axis, min } => v(axis) >= min,
            Requirement::Between { axis, lo, hi } => (lo..=hi).contains(&v(axis)),
        };
        if !ok {
            return false;
        }
    }
    nodes.iter().all(|id| {
        let n = &g.nodes[*id];
        let dims_ok = n.shape.at(h, w).iter().all(|d| *d >= 1);
        let concat_ok = !matches!(n.op, Op::Concat)
            || n.inputs
                .windows(2)
                .all(|p| g.nodes[p[0]].shape.at(h, w)[1..] == g.nodes[p[1]].shape.at(h, w)[1..]);
        dims_ok && concat_ok
    })
}

/// Parameter and state_dict names the graph implies.
fn expected_names(g: &Graph) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut params = BTreeSet::new();
    let mut state = BTreeSet::new();
    for n in &g.nodes {
        let mut p = |s: &str| {
            params.insert(format!("{}.{s}", n.name));
            state.insert(format!("{}.{s}", n.name));
        };
        match &n.op {
            Op::Conv(c) => {
                p("weight");
                if c.bias {
                    p("bias");
                }
            }
            Op::Linear { bias, .. } => {
                p("weight");
                if *bias {
                    p("bias");
                }
            }
            Op::BatchNorm { scale, .. } => {
                if *scale {
                    p("weight");
                }
                p("bias");
                for b in ["running_mean", "running_var", "num_batches_tracked"] {
                    state.insert(format!("{}.{b}", n.name));
                }
            }
            _ => {}
        }
    }
    (params, state)
}

/// Whether a pool keeps, under Caffe's rule, windows that see no input (kernel < stride
/// without padding).
fn caffe_empty_windows(g: &Graph) -> bool {
    g.nodes.iter().any(|n| match &n.op {
        Op::Pool(p) => {
            p.rounding == WindowRounding::CeilCaffe
                && matches!(p.pad, Pad::Explicit(ph, pw) if (ph == 0 && p.kernel.0 < p.stride.0) || (pw == 0 && p.kernel.1 < p.stride.1))
        }
        _ => false,
    })
}

/// One emitted module to run: what to compare it with.
struct Case {
    name: String,
    graph: Graph,
    /// Python run with `mod`, `model`, `torch`, `F`, `math` in scope; raises on failure.
    extra: &'static str,
}

fn case(name: &str, graph: Graph) -> Case {
    Case {
        name: name.to_string(),
        graph,
        extra: "",
    }
}

/// The forward runs for a graph, (h, w, train) with the expected output shapes: the
/// reference, the smallest valid square input, and an odd non-square one between them
/// (where SAME pads asymmetrically); in training mode too where the aux heads are valid.
fn runs(g: &Graph) -> Vec<Value> {
    let all: HashSet<NodeId> = (0..g.nodes.len()).collect();
    let main = main_nodes(g);
    let has_aux = g.outputs.iter().any(|o| o.aux);
    let (rh, rw) = g.reference;
    let mut sizes = vec![(rh, rw, true)];
    if let Some(v) = (1..=rh.max(rw)).find(|v| valid(g, *v, *v, &main)) {
        sizes.push((v, v, true));
        let mid = ((v + rh) / 2) | 1;
        let odd = (mid..=rh.max(rw) + 64)
            .map(|m| (m, rw))
            .chain((mid..=rh.max(rw) + 64).map(|m| (m, m)))
            .find(|(h, w)| valid(g, *h, *w, &main));
        if let Some((h, w)) = odd {
            sizes.push((h, w, false));
        }
    }
    let mut seen = HashSet::new();
    sizes.retain(|s| seen.insert((s.0, s.1)));
    let mut out = Vec::new();
    for (h, w, with_train) in sizes {
        if !valid(g, h, w, &main) {
            continue;
        }
        for train in [false, true] {
            if train && !(with_train && has_aux && valid(g, h, w, &all)) {
                continue;
            }
            let shapes: Vec<Vec<i64>> = g
                .outputs
                .iter()
                .filter(|o| train || !o.aux)
                .map(|o| [vec![2], g.nodes[o.node].shape.at(h, w)].concat())
                .collect();
            out.push(json!({"size": [h, w], "train": train, "shapes": shapes}));
        }
    }
    out
}

const HARNESS: &str = r#"
import importlib.util, json, math, sys, traceback
import torch
import torch.nn.functional as F

# One thread: on a shared machine OpenMP threads waiting on each other cost more than they
# bring, and subnormal floats of an untrained net would be slow.
torch.set_num_threads(1)
torch.set_flush_denormal(True)
results = []
for c in json.load(open(sys.argv[1])):
    r = {"name": c["name"], "error": None}
    try:
        spec = importlib.util.spec_from_file_location(c["module"], c["file"])
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        torch.manual_seed(0)
        model = mod.build()
        r["params"] = sum(p.numel() for p in model.parameters())
        r["param_names"] = [n for n, _ in model.named_parameters()]
        r["state_names"] = list(model.state_dict().keys())
        r["runs"] = []
        for run in c["runs"]:
            h, w = run["size"]
            model.train(run["train"])
            with torch.no_grad():
                y = model(torch.randn(2, c["channels"], h, w))
            ys = y if isinstance(y, tuple) else (y,)
            r["runs"].append({"size": run["size"], "train": run["train"], "tuple": isinstance(y, tuple),
                              "shapes": [list(t.shape) for t in ys],
                              "finite": all(bool(torch.isfinite(t).all()) for t in ys)})
        # num_classes reaches every classifier; aux_logits=False drops the aux heads.
        probe = c["probe"]
        if probe:
            h, w = probe["size"]
            small = mod.build(num_classes=7)
            small.train(probe["train"])
            with torch.no_grad():
                y = small(torch.randn(2, c["channels"], h, w))
            ys = y if isinstance(y, tuple) else (y,)
            r["classes7"] = [list(t.shape) for t in ys]
        no_aux = mod.build(aux_logits=False)
        no_aux.train()
        r["no_aux_params"] = sum(p.numel() for p in no_aux.parameters())
        if probe:
            with torch.no_grad():
                r["no_aux_tuple"] = isinstance(no_aux(torch.randn(2, c["channels"], h, w)), tuple)
        # A state_dict saved from one instance loads strictly into another.
        mod.build().load_state_dict(model.state_dict(), strict=True)
        if c["extra"]:
            exec(c["extra"], {"mod": mod, "model": model, "torch": torch, "F": F, "math": math})
    except Exception:
        r["error"] = traceback.format_exc()
    results.append(r)
print(json.dumps(results))
"#;

/// Writes each case's module and runs them all in one Python process; checks every result.
fn run_cases(cases: &[Case]) {
    let Some(py) = python() else {
        return;
    };
    // ARCHCHECK_EMIT_KEEP=DIR keeps the generated files there for a look.
    let tmp = tempfile::tempdir().unwrap();
    let dir = match std::env::var_os("ARCHCHECK_EMIT_KEEP") {
        Some(keep) => {
            std::fs::create_dir_all(&keep).unwrap();
            tempfile::tempdir_in(keep).unwrap().keep()
        }
        None => tmp.path().to_path_buf(),
    };
    let mut manifest = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let g = &c.graph;
        let class = class_name(&c.name, None);
        let text = pytorch_module(
            g,
            &class,
            &format!("test case {} with \"\"\" and \\ in its title", c.name),
        );
        let file = dir.join(format!("case{i}.py"));
        std::fs::write(&file, &text).unwrap();
        let runs = runs(g);
        // num_classes and aux_logits=False are probed at the smallest size run, in training
        // mode where it runs the aux heads.
        let probe = runs
            .iter()
            .filter(|r| r["size"][0].as_i64().unwrap() * r["size"][1].as_i64().unwrap() > 0)
            .min_by_key(|r| {
                (
                    r["size"][0].as_i64().unwrap() * r["size"][1].as_i64().unwrap(),
                    !r["train"].as_bool().unwrap(),
                )
            });
        let probe = probe
            .map(|r| json!({"size": r["size"], "train": r["train"], "outputs": r["shapes"].as_array().unwrap().len()}));
        manifest.push(json!({
            "name": c.name,
            "module": format!("case{i}"),
            "file": file,
            "channels": g.input_channels,
            "probe": probe,
            "runs": runs,
            "extra": c.extra,
        }));
    }
    let mpath = dir.join("manifest.json");
    std::fs::write(&mpath, serde_json::to_string(&manifest).unwrap()).unwrap();
    let hpath = dir.join("harness.py");
    std::fs::write(&hpath, HARNESS).unwrap();
    let started = std::time::Instant::now();
    let out = Command::new(&py)
        .env("OMP_NUM_THREADS", "1")
        .arg(&hpath)
        .arg(&mpath)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", py.display()));
    eprintln!(
        "python ran {} modules in {:.1} s",
        cases.len(),
        started.elapsed().as_secs_f64()
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> =
        serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let mut failures = Vec::new();
    for (c, (r, m)) in cases.iter().zip(results.iter().zip(&manifest)) {
        let g = &c.graph;
        let mut fail = |msg: String| failures.push(format!("{}: {msg}", c.name));
        if let Some(e) = r["error"].as_str() {
            fail(format!("python raised:\n{e}"));
            continue;
        }
        let params: i64 = (0..g.nodes.len()).map(|id| g.params(id)).sum();
        if r["params"].as_i64() != Some(params) {
            fail(format!("{} parameters, the graph counts {params}", r["params"]));
        }
        let (pn, sn) = expected_names(g);
        let names = |v: &Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect()
        };
        let got_p = names(&r["param_names"]);
        let got_s = names(&r["state_names"]);
        if got_p.iter().cloned().collect::<BTreeSet<_>>() != pn || got_p.len() != pn.len() {
            fail(format!("parameter names differ: got {got_p:?}, expected {pn:?}"));
        }
        if got_s.iter().cloned().collect::<BTreeSet<_>>() != sn || got_s.len() != sn.len() {
            fail(format!("state_dict names differ: got {got_s:?}, expected {sn:?}"));
        }
        for (want, got) in m["runs"].as_array().unwrap().iter().zip(r["runs"].as_array().unwrap()) {
            if want["shapes"] != got["shapes"] {
                fail(format!(
                    "at {} train={}: output shapes {} expected {}",
                    want["size"], want["train"], got["shapes"], want["shapes"]
                ));
            }
            let aux_expected = want["train"].as_bool() == Some(true);
            if got["tuple"].as_bool() != Some(aux_expected) {
                fail(format!(
                    "at {} train={}: returned a tuple: {}",
                    want["size"], want["train"], got["tuple"]
                ));
            }
            // Caffe's empty last windows hold -FLT_MAX, which later layers may overflow.
            if got["finite"].as_bool() != Some(true) && !caffe_empty_windows(g) {
                fail(format!(
                    "at {} train={}: non-finite output",
                    want["size"], want["train"]
                ));
            }
        }
        if let Some(n_out) = m["probe"]["outputs"].as_u64() {
            let n_out = n_out as usize;
            let classifier = g.nodes[g.main_output()].shape.channels() == g.classes;
            if classifier && r["classes7"].as_array().map(|a| a.len()) != Some(n_out) {
                fail(format!(
                    "num_classes=7 gives {} outputs, expected {n_out}",
                    r["classes7"]
                ));
            }
            if classifier && !r["classes7"].as_array().unwrap().iter().all(|s| s == &json!([2, 7])) {
                fail(format!("num_classes=7 gives shapes {}", r["classes7"]));
            }
            if r["no_aux_tuple"].as_bool() != Some(false) {
                fail("aux_logits=False still returns a tuple in training".into());
            }
        }
        let main = main_nodes(g);
        let aux_params: i64 = (0..g.nodes.len())
            .filter(|id| !main.contains(id))
            .map(|id| g.params(id))
            .sum();
        if r["no_aux_params"].as_i64() != Some(params - aux_params) {
            fail(format!(
                "aux_logits=False keeps {} parameters, expected {}",
                r["no_aux_params"],
                params - aux_params
            ));
        }
        if m["runs"].as_array().unwrap().is_empty() {
            fail("no valid input size to run".into());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn text_names_every_parameter_and_is_deterministic() {
    let g = common::lower_inline(SAME_NET, None);
    let text = pytorch_module(&g, "SameNet", "SAME padding test net");
    assert_eq!(text, pytorch_module(&g, "SameNet", "SAME padding test net"));
    for needle in [
        "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n",
        "class SameNet(nn.Module):",
        "def __init__(self, num_classes=10, aux_logits=True):",
        "def forward(self, x):",
        "def build(**kw):\n    return SameNet(**kw)",
        "if __name__ == \"__main__\":",
        "torch.zeros(2, 3, 33, 33)",
        // The separable stem: depthwise (groups = in channels), pointwise, BN without scale.
        "self.stem_1.conv1.depthwise = nn.Conv2d(3, 6, 5, stride=2, groups=3, bias=False)\n",
        "self.stem_1.conv1.pointwise = nn.Conv2d(6, 16, 1, bias=False)\n",
        "self.stem_1.conv1.bn = _without_scale(nn.BatchNorm2d(16, eps=0.001, momentum=0.0003))\n",
        // A conv, its batch norm and its ReLU are siblings (the flat unit: conv2, conv2_bn).
        "self.stem_1.conv2 = nn.Conv2d(16, 16, 4, stride=2, bias=False)\n",
        "self.stem_1.conv2_bn = _without_scale(nn.BatchNorm2d(16, eps=0.001, momentum=0.0003))\n",
        "self.stem_1.conv2_relu = nn.ReLU()\n",
        // SAME at stride 2 pads per input; at stride 1 with an odd kernel it is the conv's own.
        "x = self.stem_1.conv2(_same_pad(x, (4, 4), (2, 2)))",
        // A name that is no identifier is a string literal.
        "self.block_a.add_module(\"1x7\", Scope())\n",
        "getattr(self.block_a, \"1x7\").conv1 = nn.Conv2d(16, 6, (1, 7), padding=(0, 3), bias=False)\n",
        "x2 = getattr(self.block_a, \"1x7\").conv1(x)",
        "self.block_a.even.conv = nn.Conv2d(16, 4, 2, bias=False)\n",
        "self.block_a.avg.pool = nn.AvgPool2d(3, 1, 1, count_include_pad=False)\n",
        "_same_avg_pool2d(",
        "-math.inf), 2, 2)",
        // Classifiers take num_classes; the aux head is built and run only on request.
        "self.logits = nn.Linear(242, num_classes)\n",
        "        if aux_logits:\n            self.side = Scope()\n            self.side.conv = nn.Conv2d(",
        "self.side.logits = nn.Linear(20, num_classes)\n",
        "aux = self.training and self.aux_logits",
        "return x, out_side",
        "F.softmax(",
        "self.dropout = nn.Dropout(0.2)\n",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    for forbidden in ["import json", "import numpy", "\t"] {
        assert!(!text.contains(forbidden), "{forbidden:?} in:\n{text}");
    }
    // No layer is looked up by a name at run time.
    for forbidden in ["_put(", "self.node(", "_modules["] {
        assert!(!text.contains(forbidden), "{forbidden:?} in:\n{text}");
    }

    let caffe = pytorch_module(&common::lower_inline(CAFFE_NET, None), "CaffeNet", "a \"\"\" title\\");
    assert!(caffe.contains("    \"\"\"a \\\"\\\"\\\" title\\\\\n"), "{caffe}");
    for needle in [
        "def __init__(self, num_classes=5, aux_logits=False):",
        "self.conv_1.pool = nn.MaxPool2d(3, 2, 1, ceil_mode=True)\n",
        "_caffe_ceil(F.max_pool2d(x, 1, 2, ceil_mode=True), x, (1, 1), (2, 2), (0, 0), True)",
        "_caffe_ceil(F.avg_pool2d(x, 1, 2, ceil_mode=True), x, (1, 1), (2, 2), (0, 0), False)",
        "F.avg_pool2d(x, 3, 1, 1, ceil_mode=True, count_include_pad=False)",
        // A name that would hide an nn.Module attribute lives only in _modules; a layer
        // without state under a name that hides `training` stays functional.
        "getattr(self.mix_1, \"5-x5\")._modules[\"state_dict\"] = nn.Conv2d(8, 4, (3, 5), padding=(1, 2), groups=2)\n",
        "x1 = F.avg_pool2d(x, 3, 1, 1, ceil_mode=True, count_include_pad=False)  # mix_1.training.pool",
        "self.pool = nn.AdaptiveAvgPool2d(2)\n",
        "nn.Linear(80, num_classes, bias=False)",
        "torch.cat([x1, x2, x], 1)",
    ] {
        assert!(caffe.contains(needle), "missing {needle:?} in:\n{caffe}");
    }
    assert!(!caffe.contains("aux = "), "{caffe}");

    let nin = pytorch_module(&common::lower_inline(NIN_NET, None), "Nin", "");
    assert!(
        nin.contains("self.classifier = nn.Conv2d(16, num_classes, 1)\n"),
        "{nin}"
    );
    assert!(
        nin.contains("self.classifier_bn = nn.BatchNorm2d(num_classes, eps=1e-5, momentum=0.1)\n"),
        "{nin}"
    );
}

#[test]
fn emitted_modules_of_test_nets_run() {
    let same = common::lower_inline(SAME_NET, None);
    let cases = [
        Case {
            name: "same_net".into(),
            graph: same,
            extra: r#"
# SAME padding: 8 at 3/2 pads 0 top, 1 bottom; 7 pads 1 and 1; 33 at 4/2 pads 1 and 2.
assert mod._same_pads(torch.zeros(1, 1, 8, 7), (3, 3), (2, 2)) == (1, 1, 0, 1)
assert mod._same_pads(torch.zeros(1, 1, 33, 33), (4, 4), (2, 2)) == (1, 2, 1, 2)
# A SAME conv of ones sees a full window at the top-left (no padding there) at even sizes.
conv = torch.nn.Conv2d(1, 1, 3, stride=2, bias=False)
torch.nn.init.ones_(conv.weight)
y = conv(mod._same_pad(torch.ones(1, 1, 8, 8), (3, 3), (2, 2)))
assert y.shape == (1, 1, 4, 4) and y[0, 0, 0, 0] == 9 and y[0, 0, -1, -1] == 4, y
# A SAME average pool leaves the padding out of the count: ones stay ones.
for n in (7, 8, 33):
    y = mod._same_avg_pool2d(torch.ones(2, 3, n, n), (3, 3), (2, 2))
    assert y.shape[-1] == -(-n // 2) and torch.allclose(y, torch.ones_like(y)), (n, y)
# A SAME max pool pads with -inf: negative inputs are not lifted to 0.
y = F.max_pool2d(mod._same_pad(-torch.ones(1, 1, 8, 8), (3, 3), (2, 2), -math.inf), 3, 2)
assert (y == -1).all(), y
"#,
        },
        Case {
            name: "caffe_net".into(),
            graph: common::lower_inline(CAFFE_NET, None),
            extra: r#"
# Caffe keeps the window starting at 14 of a 1×1/2 pool on 14; PyTorch drops it.
x = torch.randn(1, 2, 14, 13)
y = mod._caffe_ceil(F.max_pool2d(x, 1, 2, ceil_mode=True), x, (1, 1), (2, 2), (0, 0), True)
assert y.shape == (1, 2, 8, 7), y.shape
assert (y[:, :, -1, :] == torch.finfo(y.dtype).min).all()
assert torch.equal(y[:, :, :7, :], x[:, :, ::2, ::2])
y = mod._caffe_ceil(F.avg_pool2d(x, 1, 2, ceil_mode=True), x, (1, 1), (2, 2), (0, 0), False)
assert y.shape == (1, 2, 8, 7) and (y[:, :, -1, :] == 0).all()
# With padding, Caffe drops the window as PyTorch does.
y = mod._caffe_ceil(F.max_pool2d(x, 3, 2, 1, ceil_mode=True), x, (3, 3), (2, 2), (1, 1), True)
assert y.shape == (1, 2, 8, 7), y.shape
"#,
        },
        case("nin", common::lower_inline(NIN_NET, None)),
    ];
    run_cases(&cases);
}

/// Every spec in specs/ under every variant (and none).
#[test]
fn emitted_modules_of_specs_run() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut cases = Vec::new();
    for f in &files {
        let spec = archcheck::spec::load_file(f).unwrap_or_else(|e| panic!("{e}"));
        let variants: Vec<Option<String>> = std::iter::once(None)
            .chain(spec.variants.keys().cloned().map(Some))
            .collect();
        for v in variants {
            // The graph `emit` builds: derive's, with the reading it takes where the table as
            // lowered cannot run (E105, E109).
            let g = archcheck::derive::derive(
                spec.clone(),
                &LowerOptions {
                    variant: v.clone(),
                    ..Default::default()
                },
                1,
            )
            .unwrap_or_else(|e| panic!("{e}"))
            .graph;
            let name = match &v {
                Some(v) => format!("{}_{v}", spec.name),
                None => spec.name.clone(),
            };
            cases.push(case(&name, g));
        }
    }
    assert!(!cases.is_empty(), "no specs in {}", dir.display());
    run_cases(&cases);
}

#[test]
fn shapes_in_comments_are_symbolic() {
    let g = common::lower_inline(SAME_NET, None);
    let text = pytorch_module(&g, "SameNet", "t");
    let last = &g.nodes[g.main_output()];
    assert!(matches!(last.shape, Shape::Flat { features: 10 }));
    assert!(text.contains("# stem_1.pool: 16×ceil(H/8)×ceil(W/8)"), "{text}");
}
