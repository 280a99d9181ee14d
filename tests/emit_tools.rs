//! The emitted PyTorch module reads right in other tools: torchinfo's and fvcore's counts on
//! it equal derive's, parameters exactly and multiply-adds by each tool's documented
//! convention, side by side. Each module is built without auxiliary heads
//! (`build(aux_logits=False)`, derive's `--no-aux`) and run in eval mode on one image at the
//! reference input, so every layer the tools see runs once.
//!
//! The conventions, per image, against derive's MACs (convolution and linear weights only,
//! biases and everything else left out; src/count.rs):
//!
//! | tool | counts | = derive's |
//! |---|---|---|
//! | torchinfo `summary(...).total_mult_adds` | every parameter of a leaf layer once per output position: a conv's weight and bias × output H×W, a linear's weight and bias, a batch norm's weight and bias once | MACs + conv bias × H×W + linear bias + batch-norm parameters |
//! | fvcore `FlopCountAnalysis(...).total()` | one per multiply-accumulate of a conv or linear (bias left out), plus one per input element of an eval-mode batch norm (two with a learned scale) and of an adaptive average pool; other ops not at all | MACs + batch-norm input elements × (2 with a scale, 1 without) + adaptive-pool input elements |
//! | torchinfo `total_params`, fvcore `parameter_count(model)[""]` | parameters | parameters |
//!
//! torchinfo counts only layers without children ("leaf" layers): a batch norm registered
//! inside its conv's module hid the conv from it (BN-Inception read as 1.05 M mult-adds).

use archcheck::count::node_cost;
use archcheck::derive::{Derivation, derive};
use archcheck::emit::{class_name, pytorch_module};
use archcheck::ir::{LowerOptions, Op};
use archcheck::spec::load_file;
use serde_json::Value;

mod common;

const SPECS: &[(&str, Option<&str>)] = &[
    ("specs/googlenet_bn.yaml", None),
    ("specs/googlenet_bn.yaml", Some("slim")),
    ("specs/googlenet.yaml", None),
    ("specs/googlenet.yaml", Some("torchvision")),
];

/// Arguments: the emitted file, C, H, W. Prints both tools' figures as JSON.
const SCRIPT: &str = r#"
import importlib.util, json, sys
import torch
import torchinfo
from fvcore.nn import FlopCountAnalysis, parameter_count

path, c, h, w = sys.argv[1], *map(int, sys.argv[2:5])
spec = importlib.util.spec_from_file_location("emitted", path)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
model = mod.build(aux_logits=False).eval()
info = torchinfo.summary(model, input_size=(1, c, h, w), verbose=0, mode="eval")
x = torch.zeros(1, c, h, w)
flops = FlopCountAnalysis(model, x).unsupported_ops_warnings(False).uncalled_modules_warnings(False)
print(json.dumps({
    "torchinfo_params": info.total_params,
    "torchinfo_mult_adds": info.total_mult_adds,
    "fvcore_flops": flops.total(),
    "fvcore_params": parameter_count(model)[""],
}))
"#;

/// derive's figures and each tool's convention applied to them.
struct Expected {
    params: i64,
    macs: i64,
    torchinfo_mult_adds: i64,
    fvcore_flops: i64,
}

fn expected(d: &Derivation) -> Expected {
    let g = &d.graph;
    let (mut conv_bias, mut linear_bias, mut bn_params, mut bn_inputs, mut pool_inputs) = (0, 0, 0, 0, 0);
    for (id, n) in g.nodes.iter().enumerate() {
        let input_elements = || n.inputs.first().map_or(0, |i| node_cost(g, *i).output_elements);
        match &n.op {
            // One bias per output element.
            Op::Conv(c) if c.bias => conv_bias += node_cost(g, id).output_elements,
            Op::Linear { out, bias: true } => linear_bias += out,
            Op::BatchNorm { scale, .. } => {
                bn_params += d.per_node[id].params;
                bn_inputs += input_elements() * if *scale { 2 } else { 1 };
            }
            Op::AdaptiveAvgPool { .. } => pool_inputs += input_elements(),
            _ => {}
        }
    }
    let macs = d.totals.macs;
    Expected {
        params: d.totals.params,
        macs,
        torchinfo_mult_adds: macs + conv_bias + linear_bias + bn_params,
        fvcore_flops: macs + bn_inputs + pool_inputs,
    }
}

#[test]
fn torchinfo_and_fvcore_count_what_derive_counts() {
    let Some(py) = common::python::test_python_with_or_skip(&["torch", "torchinfo", "fvcore"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (file, variant) in SPECS {
        let spec = load_file(std::path::Path::new(file)).unwrap();
        let opts = LowerOptions {
            variant: variant.map(String::from),
            no_aux: true,
            ..Default::default()
        };
        let d = derive(spec, &opts, 1).unwrap();
        let g = &d.graph;
        let path = dir
            .path()
            .join(format!("{}_{}.py", d.spec.name, variant.unwrap_or("table")));
        std::fs::write(
            &path,
            pytorch_module(g, &class_name(&d.spec.name, *variant), &d.spec.title),
        )
        .unwrap();
        let (h, w) = g.reference;
        let (c, h, w) = (g.input_channels.to_string(), h.to_string(), w.to_string());
        let out = common::python::run_script(&py, SCRIPT, &[&path, c.as_ref(), h.as_ref(), w.as_ref()], None);
        let r: Value = common::python::last_json_line(&out);
        let e = expected(&d);
        let label = format!("{file} {}", variant.unwrap_or("(as printed)"));
        let got = |k: &str| r[k].as_i64().unwrap_or(-1);
        eprintln!(
            "{label}: derive {} params, {} MACs | torchinfo {} params, {} mult-adds (expected {}) | fvcore {} params, {} flops (expected {})",
            e.params,
            e.macs,
            got("torchinfo_params"),
            got("torchinfo_mult_adds"),
            e.torchinfo_mult_adds,
            got("fvcore_params"),
            got("fvcore_flops"),
            e.fvcore_flops
        );
        for (what, have, want) in [
            ("torchinfo total_params", got("torchinfo_params"), e.params),
            ("fvcore parameter_count", got("fvcore_params"), e.params),
            (
                "torchinfo total_mult_adds",
                got("torchinfo_mult_adds"),
                e.torchinfo_mult_adds,
            ),
            ("fvcore FlopCountAnalysis.total", got("fvcore_flops"), e.fvcore_flops),
        ] {
            if have != want {
                failures.push(format!(
                    "{label}: {what} is {have}, derive's figure by its convention is {want}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
