//! The composed template language: uses with vars, groups merged by concat, add and mul,
//! identity and conditional branches, repeats with instance names, expressions reading the
//! step's input; the agreement a residual sum needs, as for a concatenation.

mod common;

use archcheck::derive::derive;
use archcheck::diag::{Severity, code};
use archcheck::ir::{LowerOptions, Op};
use archcheck::shape::Shape;

fn derived(yaml: &str) -> archcheck::derive::Derivation {
    let spec = archcheck::spec::load_str(yaml, "inline.yaml").unwrap_or_else(|e| panic!("{e}"));
    derive(spec, &LowerOptions::default(), 1).unwrap_or_else(|e| panic!("{e}"))
}

fn residual(main: &str, shortcut: &str) -> String {
    format!(
        r#"
name: res
input: {{channels: 3, size: 32}}
columns: {{type: type}}
templates:
  block:
    steps:
      - group:
          merge: add
          branches:
            - [{main}]
            - {{name: shortcut, steps: [{shortcut}]}}
rows:
  - {{type: block}}
"#
    )
}

#[test]
fn a_residual_that_agrees_only_for_even_sizes_gives_the_condition() {
    // floor(H/2) (a 2×2/2 pool) and ceil(H/2) (a 1×1/2 conv) agree only for even H.
    let d = derived(&residual(
        "max_pool: {kernel: 2, stride: 2}",
        "conv: {out: 3, kernel: 1, stride: 2}",
    ));
    let notes: Vec<_> = d
        .diagnostics
        .iter()
        .filter(|x| x.code == code::CONCAT_CONDITION)
        .collect();
    assert_eq!(notes.len(), 1, "{:?}", d.diagnostics);
    assert_eq!(notes[0].severity, Severity::Note);
    assert!(notes[0].message.contains("when H ≡ 0 (mod 2)"), "{}", notes[0].message);
    // And the valid inputs say so: the smallest is even.
    assert_eq!(archcheck::ir::min_input(&d.graph).0 % 2, 0);
}

#[test]
fn a_residual_of_different_sizes_at_the_reference_is_an_error() {
    // 3×3/2 without padding gives floor((H - 1)/2), the 1×1/2 floor((H - 1)/2) + 1.
    let d = derived(&residual(
        "conv: {out: 3, kernel: 3, stride: 2, pad: 0}",
        "conv: {out: 3, kernel: 1, stride: 2}",
    ));
    let e = d
        .diagnostics
        .iter()
        .find(|x| x.code == code::CONCAT)
        .unwrap_or_else(|| panic!("{:?}", d.diagnostics));
    assert_eq!(e.severity, Severity::Error);
    assert!(
        e.message.contains("adds branches of different spatial sizes at 32×32"),
        "{}",
        e.message
    );
}

#[test]
fn a_gate_multiplies_a_map_by_its_channel_summary() {
    // Squeeze-and-excitation: global pool → 1×1 convs → broadcast product.
    let d = derived(
        r#"
name: se
input: {channels: 8, size: 16}
columns: {type: type}
templates:
  se:
    vars: {reduce: 2}
    steps:
      - group:
          merge: mul
          branches:
            - identity
            - name: gate
              steps:
                - global_avg_pool
                - conv: {out: "{in.channels / var.reduce}", kernel: 1}
                - conv: {out: "{in.channels * var.reduce}", kernel: 1, relu: false}
  block:
    steps:
      - se: {reduce: 4}
rows:
  - {type: block}
"#,
    );
    let g = &d.graph;
    let mul = g.nodes.iter().find(|n| n.op == Op::Mul).unwrap();
    assert_eq!(mul.name, "block_1.mul");
    assert_eq!(mul.shape, g.nodes[0].shape);
    let conv1 = g.nodes.iter().find(|n| n.name == "block_1.gate.conv1").unwrap();
    assert!(matches!(conv1.op, Op::Conv(c) if c.out == 2), "{:?}", conv1.op);
    let conv2 = g.nodes.iter().find(|n| n.name == "block_1.gate.conv2").unwrap();
    assert!(matches!(conv2.shape, Shape::Map { c: 8, .. }));
    // Elementwise ops hold no parameters and add no multiply-adds.
    let id = g.nodes.iter().position(|n| n.op == Op::Mul).unwrap();
    assert_eq!((d.per_node[id].params, d.per_node[id].macs), (0, 0));
}

#[test]
fn repeats_name_their_instances_and_read_the_index_and_the_input() {
    // DenseNet-like growth: each instance concatenates 4 new channels to its input.
    let d = derived(
        r##"
name: dense
input: {channels: 3, size: 8}
columns: {type: type, "#n": count}
vars: {growth: 4}
templates:
  dense:
    steps:
      - repeat:
          count: "{#n}"
          index: i
          name: layer
          steps:
            - group:
                merge: concat
                branches:
                  - identity
                  - [conv: {out: "{var.growth}", kernel: 3, stride: "{if var.i == 0 then 1 else 1}"}]
      - conv: {name: transition, out: "{in.channels / 2}", kernel: 1}
rows:
  - {type: dense, "#n": 3}
"##,
    );
    let g = &d.graph;
    let names: Vec<&str> = g.nodes.iter().map(|n| n.name.as_str()).collect();
    assert!(names.contains(&"dense_1.layer.0.conv"), "{names:?}");
    assert!(names.contains(&"dense_1.layer.2.concat"), "{names:?}");
    let t = g.nodes.iter().find(|n| n.name == "dense_1.transition").unwrap();
    // 3 + 3 × 4 = 15 channels in, half of them out (integer division).
    assert!(matches!(t.op, Op::Conv(c) if c.out == 7), "{:?}", t.op);
}

/// A repeat whose instances are named by `instance` (`{pattern}` replaces the repeat's body's
/// first line).
fn named_instances(pattern: &str) -> String {
    format!(
        r##"
name: dense
input: {{channels: 3, size: 8}}
columns: {{type: type, "#n": count}}
templates:
  dense:
    steps:
      - repeat:
          count: "{{#n}}"
          index: i
          instance: {pattern}
          steps:
            - conv: {{out: 4, kernel: 3}}
rows:
  - {{type: dense, "#n": 3}}
"##
    )
}

#[test]
fn repeat_instances_are_named_by_their_pattern() {
    // torchvision's `denseblock1.denselayer1` …: 1-based names from a 0-based index.
    let d = derived(&named_instances(r#""denselayer{var.i + 1}""#));
    let names: Vec<&str> = d.graph.nodes.iter().map(|n| n.name.as_str()).collect();
    for k in 1..=3 {
        assert!(
            names.contains(&format!("dense_1.denselayer{k}.conv").as_str()),
            "{names:?}"
        );
    }
    assert!(!names.iter().any(|n| n.contains("denselayer0")), "{names:?}");
    // The expression alone, and literal text on both sides.
    let d = derived(&named_instances(r#""{var.i * 2}""#));
    assert!(d.graph.nodes.iter().any(|n| n.name == "dense_1.4.conv"));
    let d = derived(&named_instances(r#"block_{#n - var.i}-x"#));
    assert!(d.graph.nodes.iter().any(|n| n.name == "dense_1.block_3-x.conv"));
}

#[test]
fn a_bad_instance_pattern_is_refused_at_its_character() {
    let err = |pattern: &str| {
        archcheck::spec::load_str(&named_instances(pattern), "inline.yaml")
            .err()
            .unwrap_or_else(|| panic!("{pattern} accepted"))
            .to_string()
    };
    // The pattern sits at line 11, column 21 (after the quote when quoted).
    for (pattern, at, says) in [
        (r#""denselayer""#, "11:22", "has no {expression}"),
        (r#""dense.layer{var.i}""#, "11:27", "contains '.'"),
        (r#""layer{var.i}{var.i}""#, "11:34", "a second brace"),
        (r#""layer{var.i""#, "11:27", "expected '}' closing"),
        (r#""layer{var.j}""#, "11:27", "var.j"),
        (r#""layer{var.i +}""#, "11:35", "empty term"),
        ("[1, 2]", "11:21", "expected the instances' name as text"),
    ] {
        let e = err(pattern);
        assert!(
            e.contains(&format!("inline.yaml:{at}")) && e.contains(says),
            "{pattern}: {e}"
        );
    }
    // A value that is no name: at lowering, at the expression.
    let spec = archcheck::spec::load_str(&named_instances(r#""layer{var.i - 1}""#), "inline.yaml").unwrap();
    let e = derive(spec, &LowerOptions::default(), 1)
        .err()
        .expect("a negative instance")
        .to_string();
    assert!(
        e.contains("inline.yaml:11:27") && e.contains("the value -1, expected a whole number ≥ 0"),
        "{e}"
    );
}

#[test]
fn a_template_refers_to_the_shape_of_its_input_in_conditions() {
    // The projection only where the channels change: two uses, one each way.
    let yaml = r#"
name: proj
input: {channels: 16, size: 8}
columns: {type: type}
templates:
  block:
    vars: {out: 16}
    steps:
      - group:
          merge: add
          branches:
            - [conv: {out: "{var.out}", kernel: 3}]
            - {name: proj, if: "{in.channels != var.out}", steps: [conv: {out: "{var.out}", kernel: 1}]}
            - {identity: {if: "{in.channels == var.out}"}}
  stage:
    steps:
      - block: {name: a}
      - block: {name: b, out: 32}
rows:
  - {type: stage}
"#;
    let names: Vec<String> = common::lower_inline(yaml, None)
        .nodes
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert!(!names.iter().any(|n| n.starts_with("stage_1.a.proj")), "{names:?}");
    assert!(names.iter().any(|n| n == "stage_1.b.proj.conv"), "{names:?}");
}

#[test]
fn a_merge_name_names_a_nested_concatenation_beside_the_outer_one() {
    // InceptionE's 3×3 branch splits into 1×3 and 3×1, concatenated inside the module's own
    // concatenation: without merge_name both merges would be `e_1.concat`.
    let d = derived(
        r#"
name: nested
input: {channels: 8, size: 8}
columns: {type: type}
templates:
  e:
    steps:
      - group:
          merge: concat
          branches:
            - [conv: {name: branch1x1, out: 4, kernel: 1}]
            - - conv: {name: branch3x3_1, out: 6, kernel: 1}
              - group:
                  merge: concat
                  merge_name: branch3x3
                  branches:
                    - [conv: {name: branch3x3_2a, out: 6, kernel: [1, 3]}]
                    - [conv: {name: branch3x3_2b, out: 6, kernel: [3, 1]}]
rows:
  - {type: e}
"#,
    );
    let g = &d.graph;
    let inner = g.nodes.iter().find(|n| n.name == "e_1.branch3x3").unwrap();
    assert_eq!(inner.op, Op::Concat);
    assert!(matches!(inner.shape, Shape::Map { c: 12, .. }), "{:?}", inner.shape);
    let outer = g.nodes.iter().find(|n| n.name == "e_1.concat").unwrap();
    // 4 + (6 + 6) channels; the branches' layers keep their own names, no path added.
    assert!(matches!(outer.shape, Shape::Map { c: 16, .. }), "{:?}", outer.shape);
    assert!(g.nodes.iter().any(|n| n.name == "e_1.branch3x3_2b"));
}

#[test]
fn an_aux_head_reads_a_node_inside_its_row() {
    // The head after the first block of a row that holds two: it sees 8 channels at 16×16,
    // not the row's 16 channels at 8×8.
    let d = derived(
        r#"
name: aux_at
input: {channels: 3, size: 16}
columns: {type: type}
conventions: {padding: half}
templates:
  stage:
    steps:
      - conv: {name: first, out: 8, kernel: 3}
      - conv: {name: second, out: 16, kernel: 3, stride: 2}
rows:
  - {type: stage}
head: [global_avg_pool, linear: {name: fc, out: 10}]
aux_heads:
  aux:
    after: stage_1
    at: stage_1.first_relu
    layers: [conv: {name: conv0, out: 4, kernel: 1}, global_avg_pool, linear: {name: fc, out: 10}]
"#,
    );
    let g = &d.graph;
    let conv0 = g.nodes.iter().position(|n| n.name == "aux.conv0").unwrap();
    let read = g.nodes[conv0].inputs[0];
    assert_eq!(g.nodes[read].name, "stage_1.first_relu");
    assert!(matches!(g.nodes[read].shape, Shape::Map { c: 8, .. }));
    // 8 → 4 channels by a 1×1 conv with bias: 36 parameters, at 16×16.
    assert_eq!(d.per_node[conv0].params, 36);
    assert_eq!(d.per_node[conv0].macs, 8 * 4 * 16 * 16);
}

/// `sequential: true` numbers a row's modules as `torch.nn.Sequential` does, across rows of
/// the same path; the emitted module must then load a real `nn.Sequential`'s state_dict.
#[test]
fn sequential_rows_are_numbered_as_torch_sequential_numbers_its_children() {
    let yaml = r#"
name: seq
input: {channels: 3, size: 8}
columns: {type: type}
conventions: {conv_bias: true, batch_norm: {eps: 1.0e-5, momentum: 0.1}}
templates:
  conv: {layers: [conv: {out: 4, kernel: 3, pad: 1}]}
  pool: {layers: [max_pool: {kernel: 2, stride: 2}]}
  block:
    steps:
      - repeat:
          count: 2
          steps:
            - group:
                merge: add
                branches:
                  - [conv: {name: "0", bn_name: "1", out: 4, kernel: 1}]
                  - identity
rows:
  - {type: conv}
  - {type: pool}
  - {type: block}
variants:
  torch:
    rows:
      conv: {name: features, sequential: true}
      pool: {name: features, sequential: true}
      block: {name: features, sequential: true}
"#;
    let spec = archcheck::spec::load_str(yaml, "inline.yaml").unwrap_or_else(|e| panic!("{e}"));
    let opts = LowerOptions {
        variant: Some("torch".into()),
        ..Default::default()
    };
    let d = derive(spec, &opts, 1).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = d.graph.nodes.iter().map(|n| n.name.as_str()).collect();
    // conv, bn, relu; pool; two blocks, each one index with its own children.
    for want in [
        "features.0",
        "features.1",
        "features.2",
        "features.3",
        "features.4.0",
        "features.4.1",
        "features.5.0",
        "features.5.add",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    // The reference: the same modules as an nn.Sequential, loaded strictly.
    let Some(py) = common::python::test_python_with_or_skip(&["torch"]) else {
        return;
    };
    let text = archcheck::emit::pytorch_module(&d.graph, "Seq", "seq");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seq.py");
    std::fs::write(&path, text).unwrap();
    let script = r#"
import importlib.util, sys, json, torch.nn as nn
spec = importlib.util.spec_from_file_location("emitted", sys.argv[1])
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.add_module("0", nn.Conv2d(4, 4, 1)); self.add_module("1", nn.BatchNorm2d(4))
class Ref(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), Block(), Block())
m.build().load_state_dict(Ref().state_dict(), strict=True)
print(json.dumps({"loaded": True}))
"#;
    let out = common::python::run_script(&py, script, &[&path], None);
    let r: serde_json::Value = common::python::last_json_line(&out);
    assert_eq!(r["loaded"], true);
}
