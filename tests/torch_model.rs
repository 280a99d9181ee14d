//! The libtorch model against derive (feature `torch`, CPU): every node's real output
//! shape equals the derived one for every spec and variant, at the reference and the
//! smallest valid input; the VarStore holds derive's parameter and buffer counts; pools
//! reproduce each rounding convention's values, not only its sizes; random small specs
//! agree node by node; the exports load back in Python.
#![cfg(feature = "torch")]

use std::path::Path;
use std::process::Command;

use archcheck::count;
use archcheck::derive::{Derivation, derive};
use archcheck::ir::{Graph, LowerOptions, Op, Pad, PoolKind};
use archcheck::shape::{Shape, WindowRounding};
use archcheck::torch::export;
use archcheck::torch::model::{Model, variable_counts};
use archcheck::torch::verify::{self, invalid_reason};
use proptest::prelude::*;
use tch::{Device, Kind, Tensor, nn};

mod common;

/// CUDA must be loaded before any other tch call of the process (see torch::runtime).
fn setup() -> bool {
    archcheck::torch::init()
}

fn derivation(file: &str, variant: Option<&str>) -> Derivation {
    derivation_with(
        file,
        LowerOptions {
            variant: variant.map(String::from),
            ..LowerOptions::default()
        },
    )
}

fn derivation_with(file: &str, opts: LowerOptions) -> Derivation {
    let spec = archcheck::spec::load_file(Path::new(file)).unwrap_or_else(|e| panic!("{e}"));
    derive(spec, &opts, 1).unwrap_or_else(|e| panic!("{e}"))
}

fn graph_from_yaml(text: &str) -> Graph {
    let spec = archcheck::spec::load_str(text, "test.yaml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    archcheck::ir::lower(&spec, &LowerOptions::default()).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// The first size from `from` on (growing both sides) where derive says every layer is
/// valid and every concat's branches agree.
fn first_valid(g: &Graph, from: (i64, i64), span: i64) -> Option<(i64, i64)> {
    (0..span)
        .map(|d| (from.0 + d, from.1 + d))
        .find(|s| invalid_reason(g, *s).is_none())
}

/// Every node's libtorch output shape against derive's, at `size`; returns the outputs.
fn assert_shapes(model: &Model, g: &Graph, size: (i64, i64), batch: i64, what: &str) -> Vec<Tensor> {
    let x = Tensor::randn([batch, g.input_channels, size.0, size.1], (Kind::Float, Device::Cpu));
    let outs = tch::no_grad(|| model.try_forward_all(&x, false))
        .unwrap_or_else(|e| panic!("{what} at {size:?}: {e}\n{}", e.message));
    assert_eq!(outs.len(), g.nodes.len());
    for (n, t) in g.nodes.iter().zip(&outs) {
        let mut derived = vec![batch];
        derived.extend(n.shape.at(size.0, size.1));
        assert_eq!(
            t.size(),
            derived,
            "{what}: {} ({}) at {}×{}",
            n.name,
            n.op.describe(),
            size.0,
            size.1
        );
    }
    outs
}

/// Derive and libtorch agree at every node at the reference and the smallest valid input,
/// and on the parameter and buffer counts.
fn check_spec(file: &str, variant: Option<&str>) {
    setup();
    let d = derivation(file, variant);
    let g = &d.graph;
    let what = format!("{file} {variant:?}");
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Model::new(&vs.root(), g).unwrap_or_else(|e| panic!("{what}: {e}"));
    let (params, buffers) = variable_counts(&vs);
    let (_, totals) = count::costs(g, 1);
    assert_eq!(params, totals.params, "{what}: parameters");
    assert_eq!(buffers, totals.buffers, "{what}: buffers");
    assert!(invalid_reason(g, g.reference).is_none(), "{what}: reference invalid");
    assert_shapes(&model, g, g.reference, 1, &what);
    let min = first_valid(g, archcheck::ir::min_input(g), 256).unwrap_or_else(|| panic!("{what}: no valid size"));
    assert_ne!(
        min, g.reference,
        "{what}: the smallest valid input should differ from the reference"
    );
    assert_shapes(&model, g, min, 1, &what);
}

#[test]
fn googlenet_bn_verbatim_agrees_with_derive() {
    setup();
    check_spec("specs/googlenet_bn.yaml", None);
}

#[test]
fn googlenet_bn_caffe_agrees_with_derive() {
    setup();
    check_spec("specs/googlenet_bn.yaml", Some("caffe"));
}

#[test]
fn googlenet_bn_slim_agrees_with_derive() {
    setup();
    check_spec("specs/googlenet_bn.yaml", Some("slim"));
}

#[test]
fn googlenet_bn_zjzstu_agrees_with_derive() {
    setup();
    check_spec("specs/googlenet_bn.yaml", Some("zjzstu"));
}

#[test]
fn googlenet_verbatim_agrees_with_derive() {
    setup();
    check_spec("specs/googlenet.yaml", None);
}

#[test]
fn googlenet_torchvision_agrees_with_derive() {
    setup();
    check_spec("specs/googlenet.yaml", Some("torchvision"));
}

#[test]
fn googlenet_zjzstu_agrees_with_derive() {
    setup();
    check_spec("specs/googlenet.yaml", Some("zjzstu"));
}

#[test]
fn variables_are_named_after_the_nodes() {
    setup();
    let d = derivation("specs/googlenet_bn.yaml", Some("caffe"));
    let vs = nn::VarStore::new(Device::Cpu);
    Model::new(&vs.root(), &d.graph).unwrap();
    let vars = vs.variables();
    for name in [
        "inception_3a.1x1.conv.weight",
        "inception_3a.1x1.conv.bias",
        "inception_3a.1x1.conv_bn.weight",
        "inception_3a.1x1.conv_bn.bias",
        "inception_3a.1x1.conv_bn.running_mean",
        "inception_3a.1x1.conv_bn.running_var",
        "fc.weight",
        "fc.bias",
    ] {
        assert!(
            vars.contains_key(name),
            "{name} missing; have e.g. {:?}",
            vars.keys().take(5).collect::<Vec<_>>()
        );
    }
    // PyTorch's batch-norm init, not tch's Uniform(0, 1).
    let w = &vars["inception_3a.1x1.conv_bn.weight"];
    assert_eq!(w.size(), vec![64]);
    assert!(w.eq(1.0).all().int64_value(&[]) == 1);
    // Every variable belongs to a node.
    for name in vars.keys() {
        let (node, _) = name.rsplit_once('.').unwrap();
        assert!(d.graph.nodes.iter().any(|n| n.name == node), "{name} names no node");
    }

    // Batch norm without scale (slim): a bias, no weight.
    let d = derivation("specs/googlenet_bn.yaml", Some("slim"));
    let vs = nn::VarStore::new(Device::Cpu);
    Model::new(&vs.root(), &d.graph).unwrap();
    let vars = vs.variables();
    let bn = d
        .graph
        .nodes
        .iter()
        .find(|n| matches!(n.op, Op::BatchNorm { .. }))
        .unwrap();
    assert!(vars.contains_key(&format!("{}.bias", bn.name)));
    assert!(!vars.contains_key(&format!("{}.weight", bn.name)));
    assert!(vars.contains_key(&format!("{}.running_var", bn.name)));
}

#[test]
fn classes_and_aux_heads_follow_the_options() {
    setup();
    let opts = |no_aux| LowerOptions {
        variant: Some("zjzstu".into()),
        classes: Some(10),
        no_aux,
        ..LowerOptions::default()
    };
    let x = Tensor::randn([2, 3, 96, 96], (Kind::Float, Device::Cpu));
    tch::no_grad(|| {
        let d = derivation_with("specs/googlenet_bn.yaml", opts(false));
        let vs = nn::VarStore::new(Device::Cpu);
        let m = Model::new(&vs.root(), &d.graph).unwrap();
        let (logits, aux) = m.forward(&x, false);
        assert_eq!(logits.size(), vec![2, 10]);
        assert!(aux.is_empty(), "eval mode returns no auxiliary outputs");
        let (logits, aux) = m.forward(&x, true);
        assert_eq!(logits.size(), vec![2, 10]);
        assert_eq!(aux.len(), 2);
        for a in &aux {
            assert_eq!(a.size(), vec![2, 10]);
        }

        let d = derivation_with("specs/googlenet_bn.yaml", opts(true));
        let vs = nn::VarStore::new(Device::Cpu);
        let m = Model::new(&vs.root(), &d.graph).unwrap();
        let (logits, aux) = m.forward(&x, true);
        assert_eq!(logits.size(), vec![2, 10]);
        assert!(aux.is_empty());
        assert_eq!(variable_counts(&vs).0, count::costs(&d.graph, 1).1.params);
    });
}

#[test]
fn verify_finds_a_wrong_pool_and_names_it() {
    setup();
    let d = derivation("specs/googlenet_bn.yaml", Some("caffe"));
    let mut g = d.graph.clone();
    // Give 3c's pool the padding the notes warn about, keeping derive's shape: libtorch
    // then outputs 15×15 where derive says 14×14.
    let id = g
        .nodes
        .iter()
        .position(|n| n.name == "inception_3c.pool_proj.pool")
        .unwrap();
    match &mut g.nodes[id].op {
        Op::Pool(p) => p.pad = Pad::Explicit(1, 1),
        other => panic!("{other:?}"),
    }
    let r = verify::verify(&g, &[(224, 224)], 2).unwrap();
    assert!(!r.ok());
    let first = &r.diagnostics[0];
    assert_eq!(first.code, verify::SHAPE);
    assert_eq!(
        first.message,
        "inception_3c.pool_proj.pool outputs 2×320×15×15 in libtorch, derive says 2×320×14×14"
    );
    assert!(r.summary().starts_with("verification failed:"), "{}", r.summary());
    assert!(verify::render(&r).contains("NO"));
}

#[test]
fn verify_reports_sizes_and_skips_invalid_ones() {
    setup();
    let d = derivation("specs/googlenet_bn.yaml", Some("caffe"));
    let (sizes, skipped) = verify::default_sizes(&d.graph);
    // Below 223 3c's or 4e's concat breaks; 256 exceeds the flatten's 230.
    assert_eq!(sizes, vec![(224, 224), (223, 223), (225, 225)]);
    assert_eq!(skipped.iter().map(|s| s.0).collect::<Vec<_>>(), vec![(256, 256)]);
    assert!(
        invalid_reason(&d.graph, (222, 222))
            .unwrap()
            .contains("branches disagree")
    );
    let r = verify::verify(&d.graph, &[(224, 224), (256, 256)], 1).unwrap();
    assert!(r.ok(), "{:?}", r.diagnostics);
    assert_eq!(r.skipped.len(), 1);
    assert_eq!(r.params, (11_295_240, 11_295_240));
    assert_eq!(
        r.summary(),
        "verified: 232 layers at 224×224 agree with derive (and in training mode at 224×224); 11,295,240 parameters and 20,032 buffers agree"
    );
}

// ---------------------------------------------------------------------------------------
// Pool values: each convention's divisor and padding, against a loop-by-loop reference.
// ---------------------------------------------------------------------------------------

/// One axis of a pool as the frameworks compute it: for output i, the cells it reads
/// (clipped to the input) and the avg divisor's extent along this axis.
fn reference_axis(
    x: i64,
    out: i64,
    k: i64,
    s: i64,
    pad: Pad,
    axis_pad: i64,
    include_pad: bool,
) -> Vec<(i64, i64, i64)> {
    (0..out)
        .map(|i| {
            let (start, count_end) = match pad {
                Pad::Same => {
                    let total = ((out - 1) * s + k - x).max(0);
                    let start = i * s - total / 2;
                    (start, None)
                }
                Pad::Explicit(..) => (i * s - axis_pad, Some((i * s - axis_pad + k).min(x + axis_pad))),
            };
            let (lo, hi) = (start.max(0), (start + k).min(x));
            let div = match count_end {
                Some(end) if include_pad => end - start,
                _ => (hi - lo).max(0),
            };
            (lo, hi, div)
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn pool_spec(
    x: (i64, i64),
    kind: PoolKind,
    k: (i64, i64),
    s: (i64, i64),
    pad: Option<(i64, i64)>,
    ceil: bool,
    caffe: bool,
    include_pad: bool,
) -> String {
    let kind = if kind == PoolKind::Max { "max" } else { "avg" };
    let pad = match pad {
        None => "same".to_string(),
        Some((a, b)) => format!("[{a}, {b}]"),
    };
    format!(
        "name: pool\ninput: {{channels: 2, size: {}x{}}}\ncolumns: {{type: type}}\nconventions: {{padding: half, pool_rounding: {}, ceil_rule: {}, count_include_pad: {include_pad}}}\ntemplates:\n  p: {{layers: [pool: {{kind: {kind}, kernel: [{}, {}], stride: [{}, {}], pad: {pad}}}]}}\nrows:\n  - {{type: p}}\n",
        x.0,
        x.1,
        if ceil { "ceil" } else { "floor" },
        if caffe { "caffe" } else { "pytorch" },
        k.0,
        k.1,
        s.0,
        s.1,
    )
}

/// Runs the one-pool graph on a random input and compares with the reference loops.
fn check_pool_values(text: &str) -> Result<(), TestCaseError> {
    setup();
    let g = graph_from_yaml(text);
    let (h, w) = g.reference;
    if invalid_reason(&g, (h, w)).is_some() {
        return Ok(());
    }
    let node = &g.nodes[1];
    let Op::Pool(p) = node.op else { panic!("{:?}", node.op) };
    let out = node.shape.at(h, w);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Model::new(&vs.root(), &g).unwrap();
    let x = Tensor::randn([1, 2, h, w], (Kind::Float, Device::Cpu));
    let y = tch::no_grad(|| model.forward_all(&x, false)).pop().unwrap();
    prop_assert_eq!(y.size(), vec![1, out[0], out[1], out[2]], "{}", text);
    let (ph, pw) = match p.pad {
        Pad::Explicit(a, b) => (a, b),
        Pad::Same => (0, 0),
    };
    let rows = reference_axis(h, out[1], p.kernel.0, p.stride.0, p.pad, ph, p.count_include_pad);
    let cols = reference_axis(w, out[2], p.kernel.1, p.stride.1, p.pad, pw, p.count_include_pad);
    let xv: Vec<f32> = Vec::<f32>::try_from(x.flatten(0, -1)).unwrap();
    let yv: Vec<f32> = Vec::<f32>::try_from(y.flatten(0, -1)).unwrap();
    for c in 0..2 {
        for (i, &(r0, r1, rd)) in rows.iter().enumerate() {
            for (j, &(c0, c1, cd)) in cols.iter().enumerate() {
                let cells: Vec<f32> = (r0..r1)
                    .flat_map(|r| (c0..c1).map(move |q| (r, q)))
                    .map(|(r, q)| xv[((c * h + r) * w + q) as usize])
                    .collect();
                let want = match p.kind {
                    PoolKind::Max => cells.iter().copied().fold(f32::MIN, f32::max),
                    PoolKind::Avg if rd * cd == 0 => 0.0,
                    PoolKind::Avg => cells.iter().sum::<f32>() / (rd * cd) as f32,
                };
                let got = yv[((c * out[1] + i as i64) * out[2] + j as i64) as usize];
                prop_assert!(
                    (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
                    "out[{c},{i},{j}] = {got}, expected {want}\n{text}"
                );
            }
        }
    }
    Ok(())
}

#[test]
fn caffe_keeps_the_window_past_the_end() {
    setup();
    // 1×1/2 on 4 without padding: PyTorch's ceil gives 2, Caffe's 3; the third window lies
    // past the input and yields Caffe's -FLT_MAX.
    let text = pool_spec((4, 5), PoolKind::Max, (1, 1), (2, 2), Some((0, 0)), true, true, true);
    let g = graph_from_yaml(&text);
    assert_eq!(g.nodes[1].shape.at(4, 5), vec![2, 3, 3]);
    check_pool_values(&text).unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    let m = Model::new(&vs.root(), &g).unwrap();
    let y = m
        .forward(&Tensor::zeros([1, 2, 4, 5], (Kind::Float, Device::Cpu)), false)
        .0;
    assert_eq!(y.double_value(&[0, 0, 2, 0]), f32::MIN as f64);
    assert_eq!(y.double_value(&[0, 0, 1, 1]), 0.0);
    // The same pool under PyTorch's rule.
    let g = graph_from_yaml(&pool_spec(
        (4, 5),
        PoolKind::Max,
        (1, 1),
        (2, 2),
        Some((0, 0)),
        true,
        false,
        true,
    ));
    assert_eq!(g.nodes[1].shape.at(4, 5), vec![2, 2, 3]);
    check_pool_values(&pool_spec(
        (4, 5),
        PoolKind::Avg,
        (1, 1),
        (2, 2),
        Some((0, 0)),
        true,
        true,
        true,
    ))
    .unwrap();
}

#[test]
fn same_avg_pool_leaves_the_padding_out_of_the_divisor() {
    setup();
    let text = pool_spec((5, 6), PoolKind::Avg, (3, 3), (2, 2), None, false, false, true);
    let g = graph_from_yaml(&text);
    let vs = nn::VarStore::new(Device::Cpu);
    let m = Model::new(&vs.root(), &g).unwrap();
    let y = m
        .forward(&Tensor::ones([1, 2, 5, 6], (Kind::Float, Device::Cpu)), false)
        .0;
    assert_eq!(y.size(), vec![1, 2, 3, 3]);
    assert!(y.eq(1.0).all().int64_value(&[]) == 1, "{y}");
    check_pool_values(&text).unwrap();
}

fn pool_case() -> impl Strategy<Value = String> {
    (
        (1i64..5, 1i64..5),
        (1i64..4, 1i64..4),
        (0i64..3, 0i64..3),
        prop::bool::ANY,
        (prop::bool::ANY, prop::bool::ANY, prop::bool::ANY, prop::bool::ANY),
        (4i64..14, 4i64..14),
    )
        .prop_map(|(k, s, p, avg, (same, ceil, caffe, include), x)| {
            // Derive (like PyTorch and Caffe) wants the padding at most half the kernel.
            let pad = if same {
                None
            } else {
                Some((p.0.min(k.0 / 2), p.1.min(k.1 / 2)))
            };
            let kind = if avg { PoolKind::Avg } else { PoolKind::Max };
            pool_spec(x, kind, k, s, pad, ceil, caffe, include)
        })
}

// ---------------------------------------------------------------------------------------
// Random small networks.
// ---------------------------------------------------------------------------------------

/// A random small network (tests/common): up to 6 rows, input 32–64, at most 8
/// channels a branch, every pool convention varied.
fn net_text() -> impl Strategy<Value = String> {
    common::spec_text(common::SpecRanges {
        rows: 1..7,
        size: 32..65,
        row: common::RowRanges {
            conv: (1..6, 1..3, 1..9),
            pool: (1..5, 1..4),
            module: (0..6, 1..6),
        },
        pool_conventions: true,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Every pool convention gives the frameworks' values, not only their sizes.
    #[test]
    fn pools_match_the_reference_loops(text in pool_case()) {
        check_pool_values(&text)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Random small conv/pool/concat chains: derive's shape is libtorch's at every node.
    #[test]
    fn random_networks_agree_with_derive(text in net_text(), extra in 0i64..8) {
        setup();
        let Ok(spec) = archcheck::spec::load_str(&text, "gen.yaml") else { return Ok(()) };
        let Ok(g) = archcheck::ir::lower(&spec, &LowerOptions::default()) else { return Ok(()) };
        let min = archcheck::ir::min_input(&g);
        let from = (g.reference.0.max(min.0) + extra, g.reference.1.max(min.1) + extra);
        let Some(size) = first_valid(&g, from, 64) else { return Ok(()) };
        let vs = nn::VarStore::new(Device::Cpu);
        let model = Model::new(&vs.root(), &g).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        assert_shapes(&model, &g, size, 1, &text);
        prop_assert_eq!(variable_counts(&vs), (count::costs(&g, 1).1.params, count::costs(&g, 1).1.buffers));
    }
}

/// The generator is useful: most generated networks are checked at some size.
#[test]
fn generated_networks_mostly_build() {
    setup();
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut ok, total) = (0, 100);
    let mut shapes = std::collections::HashSet::new();
    for _ in 0..total {
        let text = net_text().new_tree(&mut runner).unwrap().current();
        let spec = archcheck::spec::load_str(&text, "gen.yaml").unwrap_or_else(|e| panic!("{e}\n{text}"));
        if let Ok(g) = archcheck::ir::lower(&spec, &LowerOptions::default())
            && first_valid(&g, g.reference, 64).is_some()
        {
            ok += 1;
            for n in &g.nodes {
                if let (Op::Pool(p), Shape::Map { .. }) = (&n.op, n.shape) {
                    shapes.insert(format!("{:?}{:?}", p.rounding, p.pad == Pad::Same));
                }
            }
        }
    }
    assert!(
        ok * 2 > total,
        "only {ok} of {total} generated networks have a valid size"
    );
    // Floor, both ceil rules and SAME all occur.
    for r in [
        WindowRounding::Floor,
        WindowRounding::CeilPytorch,
        WindowRounding::CeilCaffe,
    ] {
        assert!(
            shapes.iter().any(|s| s.starts_with(&format!("{r:?}"))),
            "{r:?} never generated: {shapes:?}"
        );
    }
    assert!(shapes.iter().any(|s| s.ends_with("true")), "SAME pools never generated");
}

// ---------------------------------------------------------------------------------------
// Exports, checked in Python.
// ---------------------------------------------------------------------------------------

/// Runs `script` in the test Python (tests/common/python.rs: it fails the test naming what
/// is missing).
fn run_python(script: &str, args: &[&Path]) -> String {
    common::python::run_script(&common::python::test_python(), script, args, None)
}

const TORCHSCRIPT_CHECK: &str = r#"
import json, sys, torch
m = torch.jit.load(sys.argv[1])
shape = json.load(open(sys.argv[3]))
x = torch.frombuffer(bytearray(open(sys.argv[2], 'rb').read()), dtype=torch.float32).reshape(shape)
with torch.no_grad():
    y = m(x)
print(json.dumps(y.flatten().tolist()))
"#;

fn check_torchscript(file: &str, variant: &str, input: Option<(u64, u64)>) {
    let d = derivation_with(
        file,
        LowerOptions {
            variant: Some(variant.into()),
            input,
            ..LowerOptions::default()
        },
    );
    let g = &d.graph;
    let dir = tempfile::tempdir().unwrap();
    let mut vs = nn::VarStore::new(Device::Cpu);
    let model = Model::new(&vs.root(), g).unwrap();
    let shape = [2, g.input_channels, g.reference.0, g.reference.1];
    let pt = dir.path().join("model.pt");
    export::torchscript(&mut vs, &model, shape, &pt).unwrap();
    assert!(
        vs.trainable_variables().iter().all(|t| t.requires_grad()),
        "variables unfrozen after tracing"
    );
    let x = Tensor::randn(shape, (Kind::Float, Device::Cpu));
    let want: Vec<f32> = Vec::try_from(tch::no_grad(|| model.forward(&x, false).0).flatten(0, -1)).unwrap();
    let xv: Vec<f32> = Vec::try_from(x.flatten(0, -1)).unwrap();
    let bin = dir.path().join("x.bin");
    std::fs::write(&bin, xv.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
    let shape_file = dir.path().join("shape.json");
    std::fs::write(&shape_file, serde_json::to_string(&shape).unwrap()).unwrap();
    let got: Vec<f64> = serde_json::from_str(run_python(TORCHSCRIPT_CHECK, &[&pt, &bin, &shape_file]).trim()).unwrap();
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs())) as f64;
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(
            (g - *w as f64).abs() <= 1e-4 * (1.0 + scale),
            "{file} {variant}: logit {i}: python {g}, rust {w}"
        );
    }
}

#[test]
fn torchscript_loads_in_python_and_agrees() {
    setup();
    if common::python::test_python_or_skip().is_none() {
        return;
    }
    // SAME convs and pools (explicit padding in the trace), separable conv, BN without scale.
    check_torchscript("specs/googlenet_bn.yaml", "slim", None);
    // Native ceil pools, aux heads left out of the eval-mode trace.
    check_torchscript("specs/googlenet.yaml", "torchvision", Some((96, 96)));
}

const SAFETENSORS_CHECK: &str = r#"
import json, struct, sys, torch
path = sys.argv[1]
raw = open(path, 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
header = json.loads(raw[8:8 + n])
data = raw[8 + n:]
out = {}
for name, info in header.items():
    if name == '__metadata__':
        continue
    assert info['dtype'] == 'F32', info
    a, b = info['data_offsets']
    t = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(info['shape'])
    out[name] = [list(t.shape), float(t.double().sum())]
try:
    from safetensors.torch import load_file
    loaded = load_file(path)
    assert sorted(loaded) == sorted(out)
except ImportError:
    pass
print(json.dumps(out))
"#;

#[test]
fn safetensors_weights_load_back() {
    setup();
    if common::python::test_python_or_skip().is_none() {
        return;
    }
    let d = derivation("specs/googlenet_bn.yaml", Some("slim"));
    let vs = nn::VarStore::new(Device::Cpu);
    Model::new(&vs.root(), &d.graph).unwrap();
    let dir = tempfile::tempdir().unwrap();
    assert!(
        export::save_weights(&vs, &dir.path().join("w.pt"))
            .unwrap_err()
            .to_string()
            .contains(".safetensors")
    );
    let path = dir.path().join("w.safetensors");
    export::save_weights(&vs, &path).unwrap();

    let vars = vs.variables();
    let header = export::read_safetensors_header(&path).unwrap();
    assert_eq!(header.len(), vars.len());
    for t in &header {
        assert_eq!(t.dtype, "F32");
        assert_eq!(t.shape, vars[&t.name].size(), "{}", t.name);
    }

    let py: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(run_python(SAFETENSORS_CHECK, &[&path]).trim()).unwrap();
    assert_eq!(py.len(), vars.len());
    for (name, t) in &vars {
        let entry = py.get(name).unwrap_or_else(|| panic!("{name} missing in python"));
        let shape: Vec<i64> = serde_json::from_value(entry[0].clone()).unwrap();
        assert_eq!(shape, t.size());
        let sum = entry[1].as_f64().unwrap();
        let want = t.to_kind(Kind::Double).sum(Kind::Double).double_value(&[]);
        assert!(
            (sum - want).abs() <= 1e-6 * (1.0 + want.abs()),
            "{name}: python {sum}, rust {want}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// CUDA, where the machine has it.
// ---------------------------------------------------------------------------------------

/// The same weights on the GPU give the CPU's logits (TF32 convs allowed, hence the
/// tolerance), with SAME emulation and Caffe's extra window built on the GPU's tensors.
/// Named `cuda_only_*`: scripts/test-all.sh leaves such tests out, by name, where no CUDA
/// device is visible; run anyway, it skips by name.
#[test]
fn cuda_only_logits_agree_with_cpu() {
    if !setup() {
        common::requirements::skip("no CUDA device");
        return;
    }
    let cases = [
        derivation("specs/googlenet_bn.yaml", Some("slim")).graph,
        graph_from_yaml(&pool_spec(
            (10, 12),
            PoolKind::Avg,
            (1, 2),
            (2, 3),
            Some((0, 0)),
            true,
            true,
            false,
        )),
    ];
    for g in &cases {
        let cpu = nn::VarStore::new(Device::Cpu);
        let m_cpu = Model::new(&cpu.root(), g).unwrap();
        let mut gpu = nn::VarStore::new(Device::Cuda(0));
        let m_gpu = Model::new(&gpu.root(), g).unwrap();
        gpu.copy(&cpu).unwrap();
        let x = Tensor::randn(
            [2, g.input_channels, g.reference.0, g.reference.1],
            (Kind::Float, Device::Cpu),
        );
        let (a, b) = tch::no_grad(|| {
            (
                m_cpu.forward(&x, false).0,
                m_gpu
                    .forward(&x.to_device(Device::Cuda(0)), false)
                    .0
                    .to_device(Device::Cpu),
            )
        });
        assert_eq!(a.size(), b.size());
        let scale = a.abs().max().double_value(&[]);
        let diff = (&a - &b).abs().max().double_value(&[]);
        assert!(
            diff <= 1e-2 * (1.0 + scale),
            "cpu and cuda differ by {diff} (scale {scale})"
        );
    }
}

// ---------------------------------------------------------------------------------------
// The command line.
// ---------------------------------------------------------------------------------------

#[test]
fn cli_build_verify_caffe() {
    setup();
    let out = Command::new(env!("CARGO_BIN_EXE_archcheck"))
        .args(["build", "specs/googlenet_bn.yaml", "--variant", "caffe", "--verify"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("built googlenet_bn (variant caffe) in libtorch on cpu: 232 layers"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nskipped 256×256: fc_flatten fixes H to [199, 230]\n"),
        "{stdout}"
    );
    assert_eq!(
        stdout.lines().last().unwrap(),
        "verified: 232 layers at 224×224, 223×223 and 225×225 agree with derive (and in training mode at 224×224); 11,295,240 parameters and 20,032 buffers agree"
    );
}
