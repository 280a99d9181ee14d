//! Every cell of the reference tables (MobileNetV2 Table 2, EfficientNet-B0 Table 1,
//! Inception-v3 Table 1, VGG Tables 1–2, ResNet's FLOPs row, ViT Table 1), transcribed as
//! printed, loads under a declared column kind; spot values read back as the paper means them.
//! Left out: the cells other productions own (ResNet's and DenseNet's bracketed blocks and
//! merged cells, output sizes without channels). MobileNetV2's `k` (the class count) is a
//! symbol its column declares.

use archcheck::spec::cell::TypeArg;
use archcheck::spec::{Spec, Symbol, Value, load_str};

fn load(text: &str) -> Spec {
    load_str(text, "t.yaml").unwrap_or_else(|e| panic!("{e}"))
}

/// Templates that load: one relu per row type (the tables are checked for their cells only).
fn templates(types: &[&str]) -> String {
    types
        .iter()
        .map(|t| format!("  \"{t}\": {{layers: [relu: {{}}]}}\n"))
        .collect()
}

fn cell<'a>(spec: &'a Spec, row: usize, column: &str) -> Option<&'a Value> {
    spec.rows[row].cells.get(column).map(|c| &c.value)
}

#[test]
fn mobilenet_v2_table_2() {
    let text = format!(
        r##"
name: mobilenet_v2
input: {{channels: 3, size: 224}}
columns: {{Input: input, Operator: type, t: count, c: {{kind: count, symbols: {{k: classes}}}}, n: count, s: count}}
templates:
{}
rows:
  - {{Input: 224² × 3, Operator: conv2d, t: "-", c: 32, n: 1, s: 2}}
  - {{Input: 112² × 32, Operator: bottleneck, t: 1, c: 16, n: 1, s: 1}}
  - {{Input: 112² × 16, Operator: bottleneck, t: 6, c: 24, n: 2, s: 2}}
  - {{Input: 56² × 24, Operator: bottleneck, t: 6, c: 32, n: 3, s: 2}}
  - {{Input: 28² × 32, Operator: bottleneck, t: 6, c: 64, n: 4, s: 2}}
  - {{Input: 14² × 64, Operator: bottleneck, t: 6, c: 96, n: 3, s: 1}}
  - {{Input: 14² × 96, Operator: bottleneck, t: 6, c: 160, n: 3, s: 2}}
  - {{Input: 7² × 160, Operator: bottleneck, t: 6, c: 320, n: 1, s: 1}}
  - {{Input: 7² × 320, Operator: conv2d 1x1, t: "-", c: 1280, n: 1, s: 1}}
  - {{Input: 7² × 1280, Operator: avgpool 7x7, t: "-", c: "-", n: 1, s: "-"}}
  - {{Input: 1 × 1 × 1280, Operator: conv2d 1x1, t: "-", c: k, n: "-"}}
totals:
  multiply-adds: {{counts: multiply-adds, printed: 300 million, in: section 6.1}}
  parameters: {{counts: parameters, printed: 3.4 million, in: section 6.1}}
"##,
        templates(&["conv2d", "bottleneck", "avgpool"])
    );
    let spec = load(&text);
    assert_eq!(spec.rows.len(), 11);
    let Some(Value::Input(first)) = cell(&spec, 0, "Input") else {
        panic!()
    };
    assert_eq!((first.h, first.w, first.c), (224, 224, Some(3)));
    assert!(cell(&spec, 0, "t").is_none(), "the paper's dash is its blank");
    assert_eq!(spec.rows[8].row_type.carried_kernel(), Some((1, 1)));
    assert_eq!(spec.rows[9].row_type.carried_kernel(), Some((7, 7)));
    assert_eq!(spec.totals.len(), 2);
    assert_eq!(
        cell(&spec, 10, "c"),
        Some(&Value::CountSymbol {
            symbol: "k".into(),
            means: Symbol::Classes
        })
    );
}

/// A count column's symbols: a cell that prints one builds with what it stands for (the
/// class count, which `--classes` sets, or a var); an undeclared word, a symbol that is not
/// a word and one that stands for something else are refused at their place.
#[test]
fn count_symbols_stand_for_the_class_count_or_a_var() {
    use archcheck::derive::derive;
    use archcheck::ir::LowerOptions;
    let spec = |symbols: &str, cell: &str| {
        format!(
            r#"
name: t
input: {{channels: 3, size: 8}}
classes: 10
vars: {{width: 6}}
columns: {{type: type, c: {{kind: count, symbols: {symbols}}}}}
templates: {{fc: {{layers: [linear: {{out: "{{c}}"}}]}}}}
rows:
  - {{type: fc, c: {cell}}}
"#
        )
    };
    let outputs = |text: &str, classes: Option<u64>| {
        let opts = LowerOptions {
            classes,
            ..Default::default()
        };
        let d = derive(load(text), &opts, 1).unwrap_or_else(|e| panic!("{e}"));
        d.graph.nodes.last().unwrap().shape.channels()
    };
    assert_eq!(outputs(&spec("{k: classes}", "k"), None), 10);
    assert_eq!(outputs(&spec("{k: classes}", "k"), Some(7)), 7);
    assert_eq!(outputs(&spec("{k: classes, k′: var.width}", "k′"), None), 6);
    assert_eq!(outputs(&spec("{k: classes}", "12"), None), 12);
    let refused = |text: String, at: (usize, usize), message: &str| {
        let e = load_str(&text, "t.yaml").unwrap_err();
        assert_eq!((e.loc.line, e.loc.col), at, "{e}");
        assert!(e.message.contains(message), "{e}");
    };
    refused(
        spec("{k: classes}", "n"),
        (9, 19),
        "expected a whole number or the column's symbol k, found 'n'",
    );
    refused(spec("{\"k k\": classes}", "k"), (6, 50), "symbol 'k k' is not a word");
    refused(
        spec("{k: width}", "k"),
        (6, 53),
        "symbol 'k' stands for 'width', expected classes or var.NAME",
    );
    refused(
        spec("{k: var.depth}", "k"),
        (6, 53),
        "the undeclared var 'depth', the spec declares: width",
    );
}

#[test]
fn efficientnet_b0_table_1() {
    let text = format!(
        r##"
name: efficientnet_b0
input: {{channels: 3, size: 224}}
columns: {{Stage i: count, Operator F̂_i: type, Resolution Ĥ_i × Ŵ_i: input, "#Channels Ĉ_i": count, "#Layers L̂_i": count}}
templates:
{}
rows:
  - {{Stage i: 1, Operator F̂_i: Conv3x3, Resolution Ĥ_i × Ŵ_i: 224 × 224, "#Channels Ĉ_i": 32, "#Layers L̂_i": 1}}
  - {{Stage i: 2, Operator F̂_i: "MBConv1, k3x3", Resolution Ĥ_i × Ŵ_i: 112 × 112, "#Channels Ĉ_i": 16, "#Layers L̂_i": 1}}
  - {{Stage i: 3, Operator F̂_i: "MBConv6, k3x3", Resolution Ĥ_i × Ŵ_i: 112 × 112, "#Channels Ĉ_i": 24, "#Layers L̂_i": 2}}
  - {{Stage i: 4, Operator F̂_i: "MBConv6, k5x5", Resolution Ĥ_i × Ŵ_i: 56 × 56, "#Channels Ĉ_i": 40, "#Layers L̂_i": 2}}
  - {{Stage i: 5, Operator F̂_i: "MBConv6, k3x3", Resolution Ĥ_i × Ŵ_i: 28 × 28, "#Channels Ĉ_i": 80, "#Layers L̂_i": 3}}
  - {{Stage i: 6, Operator F̂_i: "MBConv6, k5x5", Resolution Ĥ_i × Ŵ_i: 14 × 14, "#Channels Ĉ_i": 112, "#Layers L̂_i": 3}}
  - {{Stage i: 7, Operator F̂_i: "MBConv6, k5x5", Resolution Ĥ_i × Ŵ_i: 14 × 14, "#Channels Ĉ_i": 192, "#Layers L̂_i": 4}}
  - {{Stage i: 8, Operator F̂_i: "MBConv6, k3x3", Resolution Ĥ_i × Ŵ_i: 7 × 7, "#Channels Ĉ_i": 320, "#Layers L̂_i": 1}}
  - {{Stage i: 9, Operator F̂_i: Conv1x1 & Pooling & FC, Resolution Ĥ_i × Ŵ_i: 7 × 7, "#Channels Ĉ_i": 1280, "#Layers L̂_i": 1}}
totals:
  parameters: {{counts: parameters, printed: 5.3M, in: table 2}}
  FLOPS: {{counts: multiply-adds, printed: 0.39B, in: table 2}}
"##,
        templates(&["Conv", "MBConv1", "MBConv6", "Conv1x1 & Pooling & FC"])
    );
    let spec = load(&text);
    assert_eq!(spec.rows[0].row_type.template_key(|k| k == "Conv"), "Conv");
    assert_eq!(spec.rows[3].row_type.carried_kernel(), Some((5, 5)));
    let Some(Value::Input(r)) = cell(&spec, 3, "Resolution Ĥ_i × Ŵ_i") else {
        panic!()
    };
    assert_eq!((r.h, r.w, r.c), (56, 56, None));
}

#[test]
fn inception_v3_table_1() {
    // The header prints "patch size/stride or remarks"; a template cannot name a column
    // with " or " in it, so it is shortened here.
    let text = format!(
        r##"
name: inception_v3
input: {{channels: 3, size: 299}}
columns: {{type: type, patch size/stride: patch_or_remarks, input size: input}}
templates:
{}
rows:
  - {{type: conv, patch size/stride: 3×3/2, input size: 299×299×3}}
  - {{type: conv, patch size/stride: 3×3/1, input size: 149×149×32}}
  - {{type: conv padded, patch size/stride: 3×3/1, input size: 147×147×32}}
  - {{type: pool, patch size/stride: 3×3/2, input size: 147×147×64}}
  - {{type: conv, patch size/stride: 3×3/1, input size: 73×73×64}}
  - {{type: conv, patch size/stride: 3×3/2, input size: 71×71×80}}
  - {{type: conv, patch size/stride: 3×3/1, input size: 35×35×192}}
  - {{type: 3×Inception, patch size/stride: As in figure 4, input size: 35×35×288}}
  - {{type: 5×Inception, patch size/stride: As in figure 5, input size: 17×17×768}}
  - {{type: 2×Inception, patch size/stride: As in figure 6, input size: 8×8×1280}}
  - {{type: pool, patch size/stride: 8 × 8, input size: 8 × 8 × 2048}}
  - {{type: linear, patch size/stride: logits, input size: 1 × 1 × 2048}}
  - {{type: softmax, patch size/stride: classifier, input size: 1 × 1 × 1000}}
"##,
        templates(&["conv", "conv padded", "pool", "Inception", "linear", "softmax"])
    );
    let spec = load(&text);
    assert_eq!(spec.rows[8].row_type.repeat, Some(5));
    assert!(matches!(cell(&spec, 8, "patch size/stride"), Some(Value::Text(t)) if t == "As in figure 5"));
    assert!(matches!(cell(&spec, 10, "patch size/stride"), Some(Value::Patch(p)) if p.kernel == Some((8, 8))));
}

#[test]
fn vgg_configuration_a_and_table_2() {
    let text = format!(
        r##"
name: vgg
input: {{channels: 3, size: 224}}
columns: {{A: type}}
templates:
{}
rows:
  - {{A: input (224 × 224 RGB image)}}
  - {{A: conv3-64}}
  - {{A: LRN}}
  - {{A: maxpool}}
  - {{A: conv3-128}}
  - {{A: maxpool}}
  - {{A: conv3-256}}
  - {{A: conv3-256}}
  - {{A: conv1-256}}
  - {{A: maxpool}}
  - {{A: FC-4096}}
  - {{A: FC-4096}}
  - {{A: FC-1000}}
  - {{A: soft-max}}
totals:
  Number of parameters:
    counts: parameters
    unit: million
    in: table 2
    printed: {{A: 133, A-LRN: 133, B: 133, C: 134, D: 138, E: 144}}
"##,
        templates(&["input", "conv", "LRN", "maxpool", "FC", "soft-max"])
    );
    let spec = load(&text);
    assert_eq!(
        spec.rows[0].row_type.arg,
        Some(TypeArg::Text("224 × 224 RGB image".into()))
    );
    let conv = &spec.rows[1].row_type;
    assert_eq!((conv.carried_kernel(), conv.width()), (Some((3, 3)), Some(64)));
    assert_eq!(spec.rows[8].row_type.carried_kernel(), Some((1, 1)));
    assert_eq!(spec.rows[10].row_type.width(), Some(4096));
    let figures = &spec.totals[0].figures;
    assert_eq!(figures.len(), 6);
    let Value::Quantity(q) = &figures[4].cell.value else {
        panic!()
    };
    assert_eq!(
        (figures[4].model.as_deref(), q.value(), q.half_unit()),
        (Some("D"), 138e6, 0.5e6)
    );
}

#[test]
fn resnet_flops_row_and_vit_params() {
    let text = format!(
        r##"
name: vit
input: {{channels: 3, size: 224}}
columns: {{Model: type, Layers: count, Hidden size D: count, MLP size: count, Heads: count, Params: params}}
templates:
{}
rows:
  - {{Model: ViT-Base, Layers: 12, Hidden size D: 768, MLP size: 3072, Heads: 12, Params: 86M}}
  - {{Model: ViT-Large, Layers: 24, Hidden size D: 1024, MLP size: 4096, Heads: 16, Params: 307M}}
  - {{Model: ViT-Huge, Layers: 32, Hidden size D: 1280, MLP size: 5120, Heads: 16, Params: 632M}}
totals:
  FLOPs:
    counts: multiply-adds
    in: table 1, FLOPs row
    printed: {{18-layer: 1.8×10^9, 34-layer: 3.6×10^9, 50-layer: 3.8×10^9, 101-layer: 7.6×10^9, 152-layer: 11.3×10^9}}
"##,
        templates(&["ViT-Base", "ViT-Large", "ViT-Huge"])
    );
    let spec = load(&text);
    let Some(Value::Quantity(q)) = cell(&spec, 1, "Params") else {
        panic!()
    };
    assert_eq!(q.value(), 307e6);
    let Value::Quantity(q) = &spec.totals[0].figures[4].cell.value else {
        panic!()
    };
    assert_eq!((q.value(), q.half_unit()), (11.3e9, 0.05e9));
}
