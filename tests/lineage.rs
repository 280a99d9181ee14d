//! Proof of every variant that declares its lineage (`lineage: torchvision.models.X` in
//! specs/*.yaml) against the reference model itself, built by Python with the declared
//! arguments:
//!
//! (a) the parameter count equals the reference's;
//! (b) `build --verify` agrees with libtorch layer by layer (with the `torch` feature);
//! (c) the emitted PyTorch module loads the reference's own `state_dict` with `strict=True`
//!     (the variant names its parameters as the reference does) and, in eval mode, gives
//!     the reference's output within 1e-4 on a fixed random input, after the reference's
//!     weights and batch-norm statistics are randomised so that every one of them matters;
//! (d) derived MACs equal the multiply-accumulates `torch.utils.flop_counter.FlopCounterMode`
//!     counts on the reference model at the reference input, per image of a batch of 2, in
//!     training mode (so that auxiliary heads run, as derive counts them): FlopCounterMode counts 2 FLOPs per
//!     multiply-accumulate of a convolution and a matrix product (mm, addmm, bmm) and
//!     nothing else, and leaves biases out, as derive does; so derive's MACs = its total / 2.
//!
//! A spec joins by declaring `lineage` on a variant; nothing here names a network. The
//! test fails (it does not skip) where Python, torch or torchvision is missing, except in a
//! core-only run (`ARCHCHECK_TESTS=core`).

use std::path::{Path, PathBuf};

use archcheck::derive::{Derivation, derive};
use archcheck::emit::{class_name, pytorch_module};
use archcheck::ir::LowerOptions;
use archcheck::spec::{Lineage, load_file};
use serde_json::Value;

mod common;

/// Largest difference tolerated between the emitted module's output and the reference's.
const TOLERANCE: f64 = 1e-4;

/// A variant with a lineage.
struct Case {
    file: PathBuf,
    variant: String,
    lineage: Lineage,
}

impl Case {
    fn label(&self) -> String {
        format!("{} --variant {}", self.file.display(), self.variant)
    }

    fn derivation(&self) -> Derivation {
        let spec = load_file(&self.file).unwrap_or_else(|e| panic!("{e}"));
        let opts = LowerOptions {
            variant: Some(self.variant.clone()),
            ..Default::default()
        };
        derive(spec, &opts, 1).unwrap_or_else(|e| panic!("{}: {e}", self.label()))
    }
}

/// Every variant of every spec in specs/ that declares its lineage.
fn cases() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let rel = file.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap().to_path_buf();
        let spec = load_file(&file).unwrap_or_else(|e| panic!("{e}"));
        for (name, v) in &spec.variants {
            if let Some(l) = &v.lineage {
                out.push(Case {
                    file: rel.clone(),
                    variant: name.clone(),
                    lineage: l.clone(),
                });
            }
        }
    }
    assert!(
        !out.is_empty(),
        "no variant in specs/ declares its lineage; torchvision's googlenet variant should"
    );
    // ARCHCHECK_LINEAGE=resnet50 proves only the cases whose label contains it (while
    // working on one spec); a filter that matches nothing fails.
    if let Ok(only) = std::env::var("ARCHCHECK_LINEAGE") {
        out.retain(|c| c.label().contains(&only));
        assert!(
            !out.is_empty(),
            "ARCHCHECK_LINEAGE={only} matches no variant with a lineage"
        );
    }
    out
}

/// Builds the reference, randomises its state, loads it into the emitted module and
/// compares; counts the reference's parameters and FLOPs. Arguments: the emitted file,
/// the model's dotted path, its keyword arguments (JSON), C, H, W.
const SCRIPT: &str = r#"
import importlib, importlib.util, json, sys
import torch
from torch.utils.flop_counter import FlopCounterMode

path, model, kwargs, c, h, w = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), *map(int, sys.argv[4:7])
module, _, fn = model.rpartition(".")
torch.manual_seed(0)
ref = getattr(importlib.import_module(module), fn)(**kwargs)
params = sum(p.numel() for p in ref.parameters())

# Every weight and statistic random and away from its default, so that a swapped or
# ignored tensor shows in the output.
with torch.no_grad():
    for name, t in ref.state_dict().items():
        if t.is_floating_point():
            if name.endswith("running_var"):
                t.uniform_(0.5, 1.5)
            elif name.endswith(".weight") and t.dim() == 1:
                t.uniform_(0.5, 1.5)
            else:
                t.uniform_(-0.1, 0.1) if t.dim() > 1 else t.uniform_(-0.5, 0.5)

spec = importlib.util.spec_from_file_location("emitted", path)
emitted = importlib.util.module_from_spec(spec)
spec.loader.exec_module(emitted)
ours = emitted.build()
ours_names = sorted(ours.state_dict())
ref_names = sorted(ref.state_dict())
ours.load_state_dict(ref.state_dict(), strict=True)

ref.eval()
ours.eval()
x = torch.randn(2, c, h, w, generator=torch.Generator().manual_seed(1))
with torch.no_grad():
    a, b = ref(x), ours(x)
diff = (a - b).abs().max().item()
scale = a.abs().max().item()

# Training mode, so that the auxiliary heads run; batch 2, since a batch norm in training
# needs more than one value per channel (Inception-v3's auxiliary head normalises 1×1
# maps), and the count is per image.
ref.train()
counter = FlopCounterMode(display=False)
batch = 2
with torch.no_grad(), counter:
    ref(torch.zeros(batch, c, h, w))
by_op = {str(k): v for k, v in counter.get_flop_counts()["Global"].items()}
print(json.dumps({
    "params": params,
    "max_abs_diff": diff,
    "output_scale": scale,
    "output_shape": list(a.shape),
    "flops": counter.get_total_flops() // batch,
    "flops_by_op": {k: v // batch for k, v in by_op.items()},
    "state_dict_names": len(ref_names),
}))
"#;

#[test]
fn lineage_variants_match_their_reference_models() {
    let cases = cases();
    let Some(py) = common::python::test_python_with_or_skip(&["torch", "torchvision"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for case in &cases {
        let d = case.derivation();
        let g = &d.graph;
        let text = pytorch_module(g, &class_name(&d.spec.name, Some(&case.variant)), &d.spec.title);
        let path = dir.path().join(format!("{}_{}.py", d.spec.name, case.variant));
        std::fs::write(&path, text).unwrap();
        let kwargs = serde_json::to_string(&case.lineage.args).unwrap();
        let (h, w) = g.reference;
        let (c, h, w) = (g.input_channels.to_string(), h.to_string(), w.to_string());
        let out = common::python::run_script(
            &py,
            SCRIPT,
            &[
                &path,
                Path::new(&case.lineage.model),
                Path::new(&kwargs),
                Path::new(&c),
                Path::new(&h),
                Path::new(&w),
            ],
            None,
        );
        let r: Value = common::python::last_json_line(&out);
        let label = case.label();
        eprintln!("{label} against {}: {r}", case.lineage.model);
        // (a) parameters.
        if r["params"].as_i64() != Some(d.totals.params) {
            failures.push(format!(
                "{label}: derive counts {} parameters, {} has {}",
                d.totals.params, case.lineage.model, r["params"]
            ));
        }
        // (c) the same output from the same state_dict (strict loading is in the script).
        // NaN (no number) fails too.
        let diff = r["max_abs_diff"].as_f64().unwrap_or(f64::NAN);
        if diff.is_nan() || diff > TOLERANCE {
            failures.push(format!(
                "{label}: the emitted module's eval output differs from {} by {diff} (outputs up to {}), expected at most {TOLERANCE}",
                case.lineage.model, r["output_scale"]
            ));
        }
        // (d) MACs: FlopCounterMode's FLOPs / 2.
        let flops = r["flops"].as_i64().unwrap();
        if flops != 2 * d.totals.macs {
            failures.push(format!(
                "{label}: derive counts {} MACs, FlopCounterMode counts {flops} FLOPs on {} = {} MACs ({})",
                d.totals.macs,
                case.lineage.model,
                flops / 2,
                r["flops_by_op"]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// (b) libtorch, layer by layer, at the sizes `build --verify` picks.
#[cfg(feature = "torch")]
#[test]
fn lineage_variants_verify_in_libtorch() {
    for case in cases() {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_archcheck"))
            .args([
                "build",
                case.file.to_str().unwrap(),
                "--variant",
                &case.variant,
                "--verify",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("OMP_NUM_THREADS", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {stdout}\n{}",
            case.label(),
            String::from_utf8_lossy(&out.stderr)
        );
        let last = stdout.lines().last().unwrap_or("");
        assert!(
            last.starts_with("verified: ") && last.contains("agree with derive"),
            "{}: {stdout}",
            case.label()
        );
    }
}
