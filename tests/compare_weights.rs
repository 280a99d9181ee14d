//! `archcheck compare`: checkpoints against the derived network. The reference checkpoints
//! are torchvision's own state_dicts (written by torch and the safetensors package), whole
//! and deliberately altered; each alteration must be found and located at its spec row.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn archcheck(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_archcheck"))
        .args(args)
        .output()
        .expect("archcheck runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// torchvision's googlenet(aux_logits=True) state_dict, whole and altered, as safetensors
/// (and the whole one as a torch.save'd .pt).
const CHECKPOINTS: &str = r#"
import sys, torch, torchvision
from torchvision.models.googlenet import Inception
from safetensors.torch import save_file
out = sys.argv[1]
def model():
    torch.manual_seed(0)
    return torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=False)
def save(name, sd):
    save_file({k: v.contiguous() for k, v in sd.items()}, f"{out}/{name}.safetensors")
m = model()
sd = m.state_dict()
save("whole", sd)
# libtorch reads a plain dict (the OrderedDict of state_dict() unpickles to None in C++).
torch.save(dict(sd), f"{out}/whole.pt")
# An implementation with a typo in one width: 4c's 1x1 branch with 120 filters, not 128.
wide = model()
wide.inception4c = Inception(512, 120, 128, 256, 24, 64, 64)
save("wrong_width", wide.state_dict())
# An implementation that forgot the batch norm of one convolution.
save("missing_bn", {k: v for k, v in sd.items() if not k.startswith("inception3b.branch2.1.bn.")})
# The classifier stored in×out.
save("transposed", {**sd, "fc.weight": sd["fc.weight"].t()})
# An extra head the table does not have.
save("extra_head", {**sd, "extra_head.weight": torch.zeros(10, 1024), "extra_head.bias": torch.zeros(10)})
print("ok")
"#;

fn checkpoints() -> Option<PathBuf> {
    let py = common::python::test_python_with_or_skip(&["torch", "torchvision", "safetensors"])?;
    let dir = std::env::temp_dir().join(format!("archcheck-compare-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    common::python::run_script(&py, CHECKPOINTS, &[&dir], None);
    Some(dir)
}

fn compare(file: &Path) -> (i32, String, String) {
    archcheck(&[
        "compare",
        "specs/googlenet.yaml",
        "--variant",
        "torchvision",
        file.to_str().unwrap(),
    ])
}

/// The line of `specs/googlenet.yaml` where `needle` first occurs, as `file:line:`.
fn spec_line(needle: &str) -> String {
    let text = std::fs::read_to_string("specs/googlenet.yaml").unwrap();
    let line = text.lines().position(|l| l.contains(needle)).expect("needle in spec") + 1;
    format!("specs/googlenet.yaml:{line}:")
}

#[test]
fn torchvision_checkpoints_whole_and_altered() {
    let Some(dir) = checkpoints() else { return };

    let (status, out, err) = compare(&dir.join("whole.safetensors"));
    assert_eq!(status, 0, "{out}{err}");
    assert!(
        out.contains("364 tensors derived, 364 tensors in the checkpoint"),
        "{out}"
    );
    assert!(out.contains("0 differences, the checkpoint matches the table"), "{out}");

    // One width wrong: the convolution and its batch norm differ, at row 4c's 1x1 branch.
    let (status, out, _) = compare(&dir.join("wrong_width.safetensors"));
    assert_eq!(status, 1, "{out}");
    assert!(
        // The variant names its layers as torchvision does, so the names pair directly.
        out.contains("error[E501]: inception4c.branch1.conv.weight is 120×512×1×1, the table derives 128×512×1×1: inception (4c), conv 1×1/1"),
        "{out}"
    );
    assert!(out.contains("inception4c.branch1.bn.running_mean"), "{out}");
    // The variant's own inception template (it names the layers as torchvision does).
    assert!(out.contains(&spec_line("conv: {name: \"\", out: \"{#1×1}\"")), "{out}");
    assert_eq!(
        out.matches("error[E501]").count(),
        5,
        "the conv weight and the 4 BN tensors: {out}"
    );

    // A missing batch norm: the derived one has no tensors, at row 3b's 3x3 branch.
    let (status, out, _) = compare(&dir.join("missing_bn.safetensors"));
    assert_eq!(status, 1, "{out}");
    assert!(
        out.contains("error[E502]: the weights have no batch norm inception3b.branch2.1.bn (weight 192, bias 192, running_mean 192, running_var 192): inception (3b)"),
        "{out}"
    );
    assert_eq!(out.matches("error[").count(), 1, "{out}");

    // A transposed classifier: found, with the hint.
    let (status, out, _) = compare(&dir.join("transposed.safetensors"));
    assert_eq!(status, 1, "{out}");
    assert!(out.contains("fc.weight"), "{out}");
    assert!(out.contains("is 1024×1000, the table derives 1000×1024"), "{out}");
    assert!(out.contains("transposed layout"), "{out}");

    // An extra head.
    let (status, out, _) = compare(&dir.join("extra_head.safetensors"));
    assert_eq!(status, 1, "{out}");
    let unexpected = out
        .lines()
        .find(|l| l.starts_with("error[E503]"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(unexpected.contains("extra_head.weight 10×1024"), "{out}");
    assert!(unexpected.contains("extra_head.bias 10"), "{out}");
    // With the names paired directly, compare places it after its name neighbour.
    assert!(unexpected.contains("which the table does not derive"), "{out}");
    assert_eq!(out.matches("error[").count(), 1, "{out}");

    // A torch.save'd state_dict needs libtorch: with it, the same verdict as the safetensors.
    let (status, out, err) = compare(&dir.join("whole.pt"));
    if cfg!(feature = "torch") {
        assert_eq!(status, 0, "{out}{err}");
        assert!(out.contains("0 differences"), "{out}");
    } else {
        assert_eq!(status, 2, "{out}{err}");
        assert!(err.contains("needs the libtorch build"), "{err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn header(json: &str, data: usize) -> Vec<u8> {
    let mut b = (json.len() as u64).to_le_bytes().to_vec();
    b.extend_from_slice(json.as_bytes());
    b.extend(std::iter::repeat_n(0u8, data));
    b
}

/// Hostile checkpoints: each refused with exit 2 and a message naming what is wrong, and
/// nothing allocated from a claimed length.
#[test]
fn unusable_checkpoints_exit_2() {
    let dir = std::env::temp_dir().join(format!("archcheck-compare-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let huge = {
        let mut b = u64::MAX.to_le_bytes().to_vec();
        b.extend_from_slice(b"{}");
        b
    };
    let cases: Vec<(PathBuf, &str)> = vec![
        (
            write(&dir, "short.safetensors", b"abc"),
            "shorter than the 8-byte header length",
        ),
        (
            write(&dir, "huge.safetensors", &huge),
            "over the limit of 100000000 bytes",
        ),
        (
            write(&dir, "past.safetensors", &header("{}", 0)[..6]),
            "shorter than the 8-byte header length",
        ),
        (
            write(&dir, "runs_past.safetensors", &{
                let mut b = 1000u64.to_le_bytes().to_vec();
                b.extend_from_slice(b"{}");
                b
            }),
            "runs past the end",
        ),
        (
            write(&dir, "json.safetensors", &header("{not json", 0)),
            "its header is not valid",
        ),
        (
            write(
                &dir,
                "range.safetensors",
                &header(r#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#, 8),
            ),
            "claims bytes 0..16",
        ),
        (write(&dir, "weights.npz", b""), "unknown weights format 'npz'"),
        (write(&dir, "bad.onnx", b"\xff\xff\xff\xff"), "is not an ONNX model"),
    ];
    for (path, want) in cases {
        let (status, out, err) = archcheck(&["compare", "specs/googlenet.yaml", path.to_str().unwrap()]);
        assert_eq!(status, 2, "{}: {out}{err}", path.display());
        assert!(err.contains(want), "{}: want '{want}' in: {err}", path.display());
        assert!(err.starts_with("error: "), "{err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// An ONNX model's initializers are a checkpoint too: archcheck's own export pairs by name
/// with nothing missing (the inference graph has no auxiliary heads, hence `--no-aux`).
#[test]
fn onnx_initializers_of_the_own_export_match() {
    let dir = tempfile::tempdir().unwrap();
    let onnx = dir.path().join("tv.onnx");
    let (status, _, err) = archcheck(&[
        "emit",
        "onnx",
        "specs/googlenet.yaml",
        "--variant",
        "torchvision",
        "-o",
        onnx.to_str().unwrap(),
    ]);
    assert_eq!(status, 0, "{err}");
    let (status, out, err) = archcheck(&[
        "compare",
        "specs/googlenet.yaml",
        "--variant",
        "torchvision",
        "--no-aux",
        onnx.to_str().unwrap(),
    ]);
    assert_eq!(status, 0, "{out}{err}");
    assert!(out.contains("paired by name: 287 agree"), "{out}");
    assert!(out.contains("0 differences, the checkpoint matches the table"), "{out}");
}

/// zjZSTU's GoogLeNet_BN (tests/reference) builds a batch norm for every convolution and
/// never calls it. Its state_dict holds them, so a state_dict cannot tell; torch.onnx keeps
/// only the parameters the forward pass uses, so its ONNX export lacks every one, and
/// compare finds each unused batch norm at its row (and nothing else).
#[test]
fn the_unused_batch_norms_of_zjzstu_are_found_in_its_onnx_export() {
    let Some(py) = common::python::test_python_with_or_skip(&["torch", "onnx"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let onnx = dir.path().join("zjzstu.onnx");
    let script = r#"
import sys, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, "tests/reference")
import torch, zjzstu_googlenet_bn as z
m = z.GoogLeNetBN().eval()
torch.onnx.export(m, torch.randn(1, 3, 224, 224), sys.argv[1], dynamo=False, opset_version=17, do_constant_folding=False)
print("ok")
"#;
    common::python::run_script(&py, script, &[&onnx], None);
    let (status, out, err) = archcheck(&[
        "compare",
        "specs/googlenet_bn.yaml",
        "--variant",
        "zjzstu",
        "--no-aux",
        onnx.to_str().unwrap(),
    ]);
    assert_eq!(status, 1, "{out}{err}");
    let errors: Vec<&str> = out.lines().filter(|l| l.starts_with("error[")).collect();
    assert!(!errors.is_empty(), "{out}");
    for e in &errors {
        assert!(
            e.starts_with("error[E502]: the weights have no batch norm "),
            "only the unused batch norms differ: {e}"
        );
    }
    // One per convolution of the inference graph (each is followed by its batch norm).
    let (_, json, _) = archcheck(&[
        "derive",
        "specs/googlenet_bn.yaml",
        "--variant",
        "zjzstu",
        "--no-aux",
        "--format",
        "json",
    ]);
    let convs = json.matches("\"op\": \"conv ").count();
    assert!(convs > 0, "{json}");
    assert_eq!(errors.len(), convs, "{out}");
    assert!(out.contains("paired by structure: 71 agree"), "{out}");
}
