//! The activation, LRN, batch-norm, dilated-conv and global-pool ops, each three ways on the same
//! weights and input (feature `torch`): the tch model's node shapes against derive's, layer
//! by layer; its output against the emitted PyTorch module's and against an expression of
//! PyTorch's own functional ops (`F.local_response_norm`, `F.conv2d(..., dilation=)`,
//! `F.hardswish`...); parameter counts against the VarStore's and the emitted module's
//! `numel`; MACs against `torch.utils.flop_counter.FlopCounterMode` (half its FLOPs).
#![cfg(feature = "torch")]

use archcheck::count;
use archcheck::emit::pytorch_module;
use archcheck::torch::export;
use archcheck::torch::model::{Model, variable_counts};
use serde_json::json;
use tch::{Device, Kind, Tensor, nn};

mod common;

/// One op under test: a row template's layers and a head, on an input of `size`; `reference`
/// is a Python expression of `x` (the input), `sd` (the weights by name), `F`, `torch` and
/// `same_pad(x, kernel, stride, dilation)` that computes the network's output.
struct Case {
    name: &'static str,
    layers: String,
    head: &'static str,
    size: &'static str,
    padding: &'static str,
    reference: &'static str,
}

fn spec_text(c: &Case) -> String {
    format!(
        "archcheck: 1\nname: ops\ninput: {{channels: 3, size: {}}}\nclasses: 10\ncolumns: {{type: type}}\n\
         conventions: {{padding: {}, conv_bias: true}}\ntemplates:\n  block:\n    layers:\n{}\nrows:\n  - {{type: block}}\nhead: {}\n",
        c.size,
        c.padding,
        c.layers
            .lines()
            .map(|l| format!("      {}", l.trim()))
            .collect::<Vec<_>>()
            .join("\n"),
        c.head
    )
}

const CONV: &str = "F.conv2d(x, sd['block_1.conv.weight'], sd['block_1.conv.bias'], padding=1)";

fn cases() -> Vec<Case> {
    let act = |name: &'static str, word: &'static str, reference: &'static str| Case {
        name,
        layers: format!("- conv: {{out: 4, kernel: 3, act: {word}}}"),
        head: "[]",
        size: "9",
        padding: "half",
        reference,
    };
    vec![
        act("conv relu6", "relu6", "F.relu6(CONV)"),
        act("conv hardswish", "hardswish", "F.hardswish(CONV)"),
        act("conv hardsigmoid", "hardsigmoid", "F.hardsigmoid(CONV)"),
        act("conv silu", "silu", "F.silu(CONV)"),
        act("conv swish", "swish", "F.silu(CONV)"),
        act("conv gelu", "gelu", "F.gelu(CONV)"),
        act("conv sigmoid", "sigmoid", "torch.sigmoid(CONV)"),
        act("conv relu", "relu", "F.relu(CONV)"),
        act("conv none", "none", "CONV"),
        Case {
            name: "standalone activations",
            layers: "- relu6\n- hardswish\n- gelu\n- silu\n- swish\n- hardsigmoid\n- sigmoid".into(),
            head: "[]",
            size: "5",
            padding: "half",
            reference: "torch.sigmoid(F.hardsigmoid(F.silu(F.silu(F.gelu(F.hardswish(F.relu6(x)))))))",
        },
        Case {
            name: "dilated conv, half padding",
            layers: "- conv: {out: 5, kernel: 3, dilation: 2, act: none}".into(),
            head: "[]",
            size: "11",
            padding: "half",
            reference: "F.conv2d(x, sd['block_1.conv.weight'], sd['block_1.conv.bias'], padding=2, dilation=2)",
        },
        Case {
            name: "dilated conv, rectangular, strided, unpadded",
            layers: "- conv: {out: 4, kernel: [3, 2], stride: 2, dilation: [2, 3], pad: 0, act: none}".into(),
            head: "[]",
            size: "14",
            padding: "half",
            reference: "F.conv2d(x, sd['block_1.conv.weight'], sd['block_1.conv.bias'], stride=2, dilation=(2, 3))",
        },
        Case {
            name: "dilated conv, TF SAME at stride 2",
            layers: "- conv: {out: 4, kernel: 3, stride: 2, dilation: 2, act: none}".into(),
            head: "[]",
            size: "13",
            padding: "same",
            reference: "F.conv2d(same_pad(x, (3, 3), (2, 2), (2, 2)), sd['block_1.conv.weight'], sd['block_1.conv.bias'], stride=2, dilation=2)",
        },
        Case {
            name: "dilated depthwise-separable conv",
            layers: "- separable_conv: {out: 4, kernel: 3, multiplier: 2, dilation: 2, act: none}".into(),
            head: "[]",
            size: "10",
            padding: "half",
            reference: "F.conv2d(F.conv2d(x, sd['block_1.conv.depthwise.weight'], None, padding=2, dilation=2, groups=3), sd['block_1.conv.pointwise.weight'], sd['block_1.conv.pointwise.bias'])",
        },
        Case {
            name: "lrn as VGG's A-LRN",
            layers: "- conv: {out: 8, kernel: 3, act: relu}\n- lrn: {size: 5, alpha: 0.0001, beta: 0.75, k: 2}".into(),
            head: "[]",
            size: "8",
            padding: "half",
            reference: "F.local_response_norm(F.relu(CONV), 5, alpha=1e-4, beta=0.75, k=2.0)",
        },
        Case {
            // A large alpha and an even size, so that the window and its asymmetric
            // padding decide the values.
            name: "lrn with an even window",
            layers: "- lrn: {size: 4, alpha: 3, beta: 0.5}".into(),
            head: "[]",
            size: "6",
            padding: "half",
            reference: "F.local_response_norm(x, 4, alpha=3.0, beta=0.5, k=1.0)",
        },
        Case {
            name: "global max pool to a vector, linear with an activation",
            layers: "- global_pool: {kind: max}".into(),
            head: "[linear: {name: fc, out: 6, act: gelu}, linear: {name: logits, out: '{classes}'}]",
            size: "7",
            padding: "half",
            reference: "F.linear(F.gelu(F.linear(x.amax((2, 3)), sd['fc.weight'], sd['fc.bias'])), sd['logits.weight'], sd['logits.bias'])",
        },
        Case {
            name: "global avg pool keeping dims",
            layers: "- global_pool: {kind: avg, keep_dims: true}".into(),
            head: "[]",
            size: "7",
            padding: "half",
            reference: "F.adaptive_avg_pool2d(x, 1)",
        },
        Case {
            // Pre-activation (DenseNet's BN-ReLU-Conv): batch norms of their own, one with
            // its own eps and momentum, one without a learned scale.
            name: "standalone batch norm before and after a conv",
            layers: "- batch_norm: {eps: 0.5, momentum: 0.2}\n- relu\n- conv: {out: 4, kernel: 3, act: none}\n- batch_norm: {name: norm, scale: false}".into(),
            head: "[]",
            size: "6",
            padding: "half",
            reference: "F.batch_norm(F.conv2d(F.relu(F.batch_norm(x, sd['block_1.bn.running_mean'], sd['block_1.bn.running_var'], sd['block_1.bn.weight'], sd['block_1.bn.bias'], False, 0.2, 0.5)), sd['block_1.conv.weight'], sd['block_1.conv.bias'], padding=1), sd['block_1.norm.running_mean'], sd['block_1.norm.running_var'], None, sd['block_1.norm.bias'], False, 0.1, 1e-5)",
        },
        Case {
            name: "channel mean into a squeeze-and-excitation gate",
            layers: "- channel_mean\n- conv: {name: reduce, out: 2, kernel: 1}\n- conv: {name: expand, out: 3, kernel: 1, act: hardsigmoid}".into(),
            head: "[flatten]",
            size: "6",
            padding: "half",
            reference: "torch.flatten(F.hardsigmoid(F.conv2d(F.relu(F.conv2d(x.mean((2, 3), keepdim=True), sd['block_1.reduce.weight'], sd['block_1.reduce.bias'])), sd['block_1.expand.weight'], sd['block_1.expand.bias'])), 1)",
        },
    ]
}

const HARNESS: &str = r#"
import importlib.util, json, math, struct, sys
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

torch.set_num_threads(1)

def load_safetensors(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        a, b = info['data_offsets']
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(info['shape']).clone()
    return out

def tensor(path, shape):
    return torch.frombuffer(bytearray(open(path, 'rb').read()), dtype=torch.float32).reshape(shape).clone()

def same_pad(x, kernel, stride, dilation):
    # TF SAME for a dilated kernel, written out from TF's definition.
    pads = []
    for size, k, s, d in zip(x.shape[2:], kernel, stride, dilation):
        extent = d * (k - 1) + 1
        out = -(-size // s)
        total = max((out - 1) * s + extent - size, 0)
        pads.append((total // 2, total - total // 2))
    (ht, hb), (wl, wr) = pads
    return F.pad(x, (wl, wr, ht, hb))

results = []
for c in json.load(open(sys.argv[1])):
    spec = importlib.util.spec_from_file_location("ops_case", c["module"])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = mod.build()
    sd = load_safetensors(c["weights"])
    model.load_state_dict(sd, strict=True)
    model.eval()
    x = tensor(c["x"], c["x_shape"])
    want = tensor(c["y"], c["y_shape"])
    with torch.no_grad():
        counter = FlopCounterMode(display=False)
        with counter:
            got = model(x)
        ref = eval(c["reference"], {"x": x, "sd": sd, "F": F, "torch": torch, "same_pad": same_pad})
    results.append({
        "name": c["name"],
        "params": sum(p.numel() for p in model.parameters()),
        # Running statistics only: derive counts 2C per batch norm, not PyTorch's
        # num_batches_tracked counter.
        "buffers": sum(b.numel() for n, b in model.named_buffers() if not n.endswith("num_batches_tracked")),
        "emitted_shape": list(got.shape),
        "reference_shape": list(ref.shape),
        "emitted_vs_tch": float((got - want).abs().max()),
        "reference_vs_tch": float((ref - want).abs().max()),
        "scale": float(want.abs().max()),
        "flops": counter.get_total_flops(),
    })
print(json.dumps(results))
"#;

fn write_f32(path: &std::path::Path, t: &Tensor) {
    let v: Vec<f32> = Vec::try_from(t.flatten(0, -1)).unwrap();
    std::fs::write(path, v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
}

#[test]
fn new_ops_agree_with_derive_pytorch_and_the_emitted_module() {
    archcheck::torch::init();
    let Some(py) = common::python::test_python_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut jobs = Vec::new();
    let mut expected = Vec::new();
    for (i, c) in cases().iter().enumerate() {
        let text = spec_text(c);
        let g = common::lower_inline(&text, None);
        let what = format!("{}:\n{text}", c.name);
        tch::manual_seed(i as i64);
        let vs = nn::VarStore::new(Device::Cpu);
        let model = Model::new(&vs.root(), &g).unwrap_or_else(|e| panic!("{what}: {e}"));
        let (params, buffers) = variable_counts(&vs);
        let (_, totals) = count::costs(&g, 1);
        assert_eq!(params, totals.params, "{what}: VarStore parameters");
        assert_eq!(buffers, totals.buffers, "{what}: VarStore buffers");
        let (h, w) = g.reference;
        let x = Tensor::randn([2, 3, h, w], (Kind::Float, Device::Cpu));
        let outs = tch::no_grad(|| model.try_forward_all(&x, false)).unwrap_or_else(|e| panic!("{what}: {e}"));
        for (n, t) in g.nodes.iter().zip(&outs) {
            let mut derived = vec![2];
            derived.extend(n.shape.at(h, w));
            assert_eq!(t.size(), derived, "{what}: {} ({})", n.name, n.op.describe());
        }
        let y = &outs[g.main_output()];
        let case_dir = dir.path().join(i.to_string());
        std::fs::create_dir(&case_dir).unwrap();
        let module = case_dir.join("ops_case.py");
        std::fs::write(&module, pytorch_module(&g, "OpsCase", c.name)).unwrap();
        let weights = case_dir.join("w.safetensors");
        export::save_weights(&vs, &weights).unwrap();
        write_f32(&case_dir.join("x.bin"), &x);
        write_f32(&case_dir.join("y.bin"), y);
        jobs.push(json!({
            "name": c.name,
            "module": module,
            "weights": weights,
            "x": case_dir.join("x.bin"),
            "x_shape": x.size(),
            "y": case_dir.join("y.bin"),
            "y_shape": y.size(),
            "reference": c.reference.replace("CONV", CONV),
        }));
        expected.push((what, totals, y.size()));
    }
    let jobs_file = dir.path().join("cases.json");
    std::fs::write(&jobs_file, serde_json::to_string(&jobs).unwrap()).unwrap();
    let out = common::python::run_script(&py, HARNESS, &[&jobs_file], None);
    let results = common::python::last_json_line(&out);
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), expected.len());
    for (r, (what, totals, shape)) in results.iter().zip(&expected) {
        let f = |k: &str| r[k].as_f64().unwrap_or_else(|| panic!("{what}: {k} in {r}"));
        let tol = 1e-5 * (1.0 + f("scale"));
        assert_eq!(
            r["emitted_shape"],
            json!(shape),
            "{what}: emitted module's output shape"
        );
        assert_eq!(
            r["reference_shape"],
            json!(shape),
            "{what}: PyTorch reference's output shape"
        );
        assert!(
            f("emitted_vs_tch") <= tol,
            "{what}: emitted module differs from tch by {}",
            f("emitted_vs_tch")
        );
        assert!(
            f("reference_vs_tch") <= tol,
            "{what}: PyTorch's ops differ from tch by {}",
            f("reference_vs_tch")
        );
        assert_eq!(
            r["params"].as_i64(),
            Some(totals.params),
            "{what}: emitted module's parameters"
        );
        assert_eq!(
            r["buffers"].as_i64(),
            Some(totals.buffers),
            "{what}: emitted module's buffers"
        );
        // FlopCounterMode counts 2 FLOPs per MAC of convs and matrix products, for the batch of 2.
        assert_eq!(
            r["flops"].as_i64(),
            Some(4 * totals.macs),
            "{what}: FlopCounterMode against MACs"
        );
    }
}
