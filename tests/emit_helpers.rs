//! `src/emit/helpers.py`, the run-time padding code of the emitted PyTorch modules, run by
//! Python and compared with the plan the tch model follows (`archcheck::ir::plan`): TF SAME
//! padding and output sizes, and Caffe's extra ceil windows, for many sizes, kernels and
//! strides (generated here, run in one Python process).
//!
//! Python: tests/common/python.rs; the test fails, naming what is missing, without one (a
//! core-only run skips it by name).

use std::path::Path;

use archcheck::ir::{AxisPad, Plan, Scheme, pool_at, pool_scheme, same_axis};
use archcheck::ir::{Pad, Pool, PoolKind};
use archcheck::shape::{Window, WindowRounding};
use serde_json::{Value, json};

mod common;

const SCRIPT: &str = r#"
import json, runpy, sys
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
h = runpy.run_path(sys.argv[1])
cases = json.load(open(sys.argv[2]))
out = {"same": [], "caffe": []}
for c in cases["same"]:
    x = torch.zeros(1, 1, c["h"], c["w"])
    k, s = tuple(c["kernel"]), tuple(c["stride"])
    left, right, top, bottom = h["_same_pads"](x, k, s)
    conv = F.conv2d(h["_same_pad"](x, k, s), torch.zeros(1, 1, *k), stride=s)
    maxp = F.max_pool2d(h["_same_pad"](x, k, s, -float("inf")), k, s)
    avgp = h["_same_avg_pool2d"](torch.ones(1, 1, c["h"], c["w"]), k, s)
    out["same"].append({"pads": [top, bottom, left, right], "conv": list(conv.shape[-2:]),
                        "max": list(maxp.shape[-2:]), "avg": list(avgp.shape[-2:]),
                        "avg_of_ones": bool((avgp == 1).all())})
for c in cases["caffe"]:
    x = torch.randn(1, 1, c["h"], c["w"])
    k, s, p = tuple(c["kernel"]), tuple(c["stride"]), tuple(c["pad"])
    r = {}
    for kind, pool in (("max", F.max_pool2d), ("avg", F.avg_pool2d)):
        try:
            y = pool(x, k, s, p, ceil_mode=True)
            z = h["_caffe_ceil"](y, x, k, s, p, kind == "max")
            r[kind] = {"size": list(z.shape[-2:]), "extended": z is not y}
        except Exception as e:
            r[kind] = {"error": str(e).splitlines()[0]}
    out["caffe"].append(r)
print(json.dumps(out))
"#;

fn pad_pair(a: AxisPad, x: i64) -> [i64; 2] {
    [a.before, a.after(x)]
}

fn same_out(x: i64, k: i64, s: i64) -> i64 {
    Window {
        kernel: k,
        stride: s,
        pad: 0,
        rounding: WindowRounding::Same,
    }
    .apply_numeric(x)
}

#[test]
fn helpers_pad_as_the_plan_says() {
    // SAME: every (H, W) up to 19 with kernels 1..5 and strides 1..4, the axes differing.
    let mut same = Vec::new();
    for hx in 1..=19 {
        for wx in [hx, hx + 2] {
            for kh in 1..=5 {
                for kw in [kh, 6 - kh] {
                    for sh in 1..=4 {
                        for sw in [sh, 5 - sh] {
                            same.push((hx, wx, (kh, kw), (sh, sw)));
                        }
                    }
                }
            }
        }
    }
    // Caffe ceil: kernels 1..4, strides 1..5 (kernel < stride is where Caffe keeps an extra
    // window), paddings up to half the kernel on either axis, sizes the pool accepts.
    let mut caffe = Vec::new();
    for hx in 1..=17 {
        for wx in [hx, hx + 1] {
            for k in 1..=4 {
                for s in 1..=5 {
                    let mut pads = vec![(0, 0), (k / 2, 0), (0, k / 2)];
                    pads.dedup();
                    for pad in pads {
                        let pool = Pool {
                            kind: PoolKind::Max,
                            kernel: (k, k),
                            stride: (s, s),
                            pad: Pad::Explicit(pad.0, pad.1),
                            rounding: WindowRounding::CeilCaffe,
                            count_include_pad: true,
                        };
                        let fits = |x, p, r| {
                            Window {
                                kernel: k,
                                stride: s,
                                pad: p,
                                rounding: r,
                            }
                            .apply_numeric(x)
                                >= 1
                        };
                        // PyTorch's ceil-mode pool must accept it before Caffe's rule extends it.
                        let ok = [WindowRounding::CeilCaffe, WindowRounding::CeilPytorch]
                            .iter()
                            .all(|r| fits(hx, pad.0, *r) && fits(wx, pad.1, *r));
                        if ok {
                            caffe.push((hx, wx, pool));
                        }
                    }
                }
            }
        }
    }
    let cases = json!({
        "same": same.iter().map(|(h, w, k, s)| json!({"h": h, "w": w, "kernel": [k.0, k.1], "stride": [s.0, s.1]})).collect::<Vec<_>>(),
        "caffe": caffe.iter().map(|(h, w, p)| {
            let Pad::Explicit(ph, pw) = p.pad else { unreachable!() };
            json!({"h": h, "w": w, "kernel": [p.kernel.0, p.kernel.1], "stride": [p.stride.0, p.stride.1], "pad": [ph, pw]})
        }).collect::<Vec<_>>(),
    });
    let tmp = tempfile::tempdir().unwrap();
    let cases_path = tmp.path().join("cases.json");
    std::fs::write(&cases_path, cases.to_string()).unwrap();
    let helpers = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/emit/helpers.py");
    let Some(py) = common::python::test_python_with_or_skip(&[]) else {
        return;
    };
    let stdout = common::python::run_script(&py, SCRIPT, &[&helpers, &cases_path], None);
    let got: Value = common::python::last_json_line(&stdout);

    let mut failures = Vec::new();
    let same_got = got["same"].as_array().unwrap();
    assert_eq!(same_got.len(), same.len());
    for ((hx, wx, k, s), r) in same.iter().zip(same_got) {
        let (h, w) = (same_axis(*hx, k.0, s.0), same_axis(*wx, k.1, s.1));
        let pads = [pad_pair(h, *hx), pad_pair(w, *wx)].concat();
        let size = json!([same_out(*hx, k.0, s.0), same_out(*wx, k.1, s.1)]);
        let want = json!({"pads": pads, "conv": size, "max": size, "avg": size, "avg_of_ones": true});
        if r != &want {
            failures.push(format!(
                "SAME {hx}×{wx} kernel {k:?} stride {s:?}: python {r}, plan {want}"
            ));
        }
    }
    let caffe_got = got["caffe"].as_array().unwrap();
    assert_eq!(caffe_got.len(), caffe.len());
    let mut extended = 0;
    for ((hx, wx, p), r) in caffe.iter().zip(caffe_got) {
        // The plan's size: PyTorch's ceil where it is native, the padded extent's otherwise.
        let (size, padded) = match pool_at(p, *hx, *wx) {
            Plan::Native { pad, ceil_mode } => {
                let n = |x, k, s, pad| {
                    Window {
                        kernel: k,
                        stride: s,
                        pad,
                        rounding: if ceil_mode {
                            WindowRounding::CeilPytorch
                        } else {
                            WindowRounding::Floor
                        },
                    }
                    .apply_numeric(x)
                };
                (
                    [
                        n(*hx, p.kernel.0, p.stride.0, pad.0),
                        n(*wx, p.kernel.1, p.stride.1, pad.1),
                    ],
                    false,
                )
            }
            Plan::Padded { h, w } => (
                [
                    (h.extent - p.kernel.0) / p.stride.0 + 1,
                    (w.extent - p.kernel.1) / p.stride.1 + 1,
                ],
                true,
            ),
        };
        extended += usize::from(padded);
        // The emitter calls _caffe_ceil only where the scheme says the count can differ.
        if padded && !matches!(pool_scheme(p), Scheme::CaffeFromInput { .. }) {
            failures.push(format!(
                "{p:?} at {hx}×{wx}: padded, but its scheme is {:?}",
                pool_scheme(p)
            ));
        }
        let want = json!({"size": size, "extended": padded});
        for kind in ["max", "avg"] {
            if r[kind] != want {
                failures.push(format!(
                    "Caffe {kind} pool {hx}×{wx} kernel {:?} stride {:?} pad {:?}: python {}, plan {want}",
                    p.kernel, p.stride, p.pad, r[kind]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        same.len() + 2 * caffe.len(),
        failures.join("\n")
    );
    // Caffe's extra window is exercised, not only the sizes where it agrees with PyTorch.
    assert!(extended > 50, "only {extended} Caffe cases keep an extra window");
    eprintln!(
        "{} SAME and {} Caffe cases agree, {extended} with Caffe's extra window",
        same.len(),
        caffe.len()
    );
}
