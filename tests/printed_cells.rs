//! Cells as other papers print them, through load and derive: type cells that carry a stride,
//! a kernel or a width build the layers they say; input sizes, filter shapes and figures are
//! checked against the derivation (E107, E108, W201), remarks are kept and never compared; the
//! totals papers print (MobileNetV2's 300 million multiply-adds and 3.4 million parameters,
//! EfficientNet-B0's 5.3M parameters and 0.39B FLOPS, ResNet's FLOPs row, VGG's Table 2) are
//! checked against the derived totals of small specs built to give them (W203).

use archcheck::derive::{Derivation, derive};
use archcheck::diag::Diagnostic;
use archcheck::ir::LowerOptions;
use archcheck::spec::load_str;

fn derive_text(text: &str, variant: Option<&str>) -> Derivation {
    let spec = load_str(text, "t.yaml").unwrap_or_else(|e| panic!("{e}"));
    let opts = LowerOptions {
        variant: variant.map(String::from),
        ..Default::default()
    };
    derive(spec, &opts, 1).unwrap_or_else(|e| panic!("{e}"))
}

fn findings(d: &Derivation) -> Vec<&Diagnostic> {
    d.diagnostics.iter().filter(|d| d.code != "N301").collect()
}

/// The 1-based line and column of the first character of `needle`, which `text` holds once.
fn place(text: &str, needle: &str) -> (usize, usize) {
    assert_eq!(text.matches(needle).count(), 1, "{needle:?} is not unique");
    let at = text.find(needle).unwrap();
    let line = text[..at].matches('\n').count() + 1;
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    (line, text[start..at].chars().count() + 1)
}

/// The only finding, which must have `code` at the first character of `cell` in `text`.
fn only<'a>(d: &'a Derivation, code: &str, text: &str, cell: &str) -> &'a Diagnostic {
    let f = findings(d);
    assert_eq!(f.len(), 1, "{f:#?}");
    let (line, col) = place(text, cell);
    assert_eq!((f[0].code, f[0].line, f[0].col), (code, line, col), "{f:#?}");
    f[0]
}

/// The head of MobileNet v1 (Howard et al. 2017, Table 1) at 32×32: type cells with their
/// stride, filter shapes, input sizes; the widths in a count column. (The paper's header is
/// "Type / Stride"; with spaces, `/` in a template expression divides.)
const MOBILENET: &str = r##"
name: mobilenet_head
input: {channels: 3, size: 32}
columns: {Type/Stride: type, Filter Shape: filter, Input Size: input, "#out": count}
conventions: {padding: half, conv_bias: false}
templates:
  Conv: {layers: [conv: {out: "{#out}", kernel: "{Type/Stride.kernel or 3}", stride: "{Type/Stride.stride or 1}"}]}
  Conv dw: {layers: [conv: {out: "{#out}", groups: "{#out}", kernel: 3, stride: "{Type/Stride.stride or 1}"}]}
  FC: {layers: [global_avg_pool: {}, linear: {out: "{Type/Stride.width}", bias: false}]}
rows:
  - {Type/Stride: Conv / s2, Filter Shape: 3 × 3 × 3 × 32, Input Size: 32² × 3, "#out": 32}
  - {Type/Stride: Conv dw / s1, Filter Shape: 3 × 3 × 32 dw, Input Size: 16² × 32, "#out": 32}
  - {Type/Stride: Conv1x1 / s1, Filter Shape: 1 × 1 × 32 × 64, Input Size: 16² × 32, "#out": 64}
  - {Type/Stride: FC-10, Filter Shape: 64 × 10, Input Size: 16 × 16 × 64}
"##;

#[test]
fn type_cells_build_the_layers_they_print() {
    let d = derive_text(MOBILENET, None);
    assert!(findings(&d).is_empty(), "{:#?}", findings(&d));
    // 3·3·3·32 + 3·3·32 + 32·64 + 64·10, by hand from the printed filter shapes.
    assert_eq!(d.totals.params, 864 + 288 + 2048 + 640);
    let conv = |name: &str| {
        d.graph
            .nodes
            .iter()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    match &conv("conv_1.conv").op {
        archcheck::ir::Op::Conv(c) => assert_eq!((c.kernel, c.stride), ((3, 3), (2, 2))),
        other => panic!("{other:?}"),
    }
    match &conv("conv1x1_1.conv").op {
        archcheck::ir::Op::Conv(c) => assert_eq!(c.kernel, (1, 1)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_filter_shape_that_differs_is_located_with_the_weights() {
    let text = MOBILENET.replace("3 × 3 × 32 dw", "3 × 3 × 16 dw");
    let d = derive_text(&text, None);
    let f = only(&d, "E108", &text, "3 × 3 × 16 dw");
    assert_eq!(f.stated.as_deref(), Some("3×3×16 dw"));
    assert_eq!(f.derived.as_deref(), Some("3×3×32 dw"));
    assert!(
        f.arithmetic
            .as_deref()
            .unwrap()
            .contains("32 input channels in 32 groups"),
        "{f:#?}"
    );
    // A depthwise filter printed for an ordinary convolution.
    let text = MOBILENET.replace("1 × 1 × 32 × 64", "1 × 1 × 32 dw");
    let f = only(&derive_text(&text, None), "E108", &text, "1 × 1 × 32 dw").clone();
    assert_eq!(f.derived.as_deref(), Some("1×1×32×64"));
}

#[test]
fn an_input_size_is_checked_against_the_previous_row() {
    let text = MOBILENET.replace(
        "Input Size: 16² × 32, \"#out\": 64",
        "Input Size: 15² × 32, \"#out\": 64",
    );
    let d = derive_text(&text, None);
    let f = only(&d, "E107", &text, "15² × 32");
    assert_eq!(
        (f.stated.as_deref(), f.derived.as_deref()),
        (Some("15×15×32"), Some("16×16×32"))
    );
    assert!(
        f.message.contains("conv dw (row 2)") || f.message.contains("Conv dw"),
        "{}",
        f.message
    );
    // The first row's input is the network's.
    let text = MOBILENET.replace("32² × 3", "224² × 3");
    let f = only(&derive_text(&text, None), "E107", &text, "224² × 3").clone();
    assert!(f.message.contains("the network input"), "{}", f.message);
    // Without channels only H×W is compared.
    let text = MOBILENET.replace("16 × 16 × 64", "16 × 16");
    assert!(findings(&derive_text(&text, None)).is_empty());
}

/// Inception-v3's outline (Szegedy et al. 2015, Table 1): a patch column whose other cells are
/// remarks, an input column, a repeat count read by a template. (The header prints "patch
/// size/stride or remarks"; a template cannot name a column with " or " in it.)
const OUTLINE: &str = r#"
name: outline
input: {channels: 3, size: 35}
columns: {type: type, patch size/stride: patch_or_remarks, input size: input, note: remarks}
templates:
  conv: {layers: [conv: {out: 8, kernel: "{patch size/stride.kernel}", stride: "{patch size/stride.stride or 1}", pad: 0}]}
  Inception: {layers: [conv: {out: "{type.repeat}", kernel: 1}]}
rows:
  - {type: conv, patch size/stride: 3×3/2, input size: 35×35×3, note: "valid padding"}
  - {type: 3×Inception, patch size/stride: As in figure 4, input size: 17×17×8, note: "anything at all"}
"#;

#[test]
fn remarks_are_kept_and_never_compared() {
    let d = derive_text(OUTLINE, None);
    assert!(findings(&d).is_empty(), "{:#?}", findings(&d));
    let out = &d.graph.nodes[d.graph.rows[1].output];
    assert_eq!(out.shape.channels(), 3, "3×Inception reads its repeat count");
    let text = OUTLINE.replace("out: \"{type.repeat}\"", "out: \"{note}\"");
    let e = load_str(&text, "t.yaml").unwrap_err();
    assert!(e.message.contains("holds remarks"), "{e}");
    // A patch gone wrong part-way is still an error, not a remark.
    let e = load_str(&OUTLINE.replace("3×3/2", "3×3/0"), "t.yaml").unwrap_err();
    assert!(e.message.contains("expected a positive number, found 0"), "{e}");
}

/// One conv, 3×3 from 3 to 16 channels with bias: 3·3·3·16 + 16 = 448 parameters.
fn figure_spec(column: &str, cell: &str) -> String {
    format!(
        r#"
name: figure
input: {{channels: 3, size: 8}}
columns: {{type: type, "params": {column}}}
templates:
  conv: {{layers: [conv: {{out: 16, kernel: 3}}]}}
rows:
  - {{type: conv, params: "{cell}"}}
"#
    )
}

#[test]
fn figure_tolerance_follows_digits_column_or_exactness() {
    let ok = |column: &str, cell: &str| findings(&derive_text(&figure_spec(column, cell), None)).is_empty();
    assert!(ok("params", "448"));
    assert!(ok("params", "0.45K"), "448 is within 450 ± 5");
    assert!(!ok("params", "0.44K"), "448 is not within 440 ± 5");
    assert!(ok("{kind: params, unit: ×10^3}", "0.45"));
    assert!(ok("{kind: params, tolerance: 0.01}", "450"));
    assert!(!ok("{kind: params, tolerance: 0.01}", "460"));
    assert!(ok("{kind: params, exact: true}", "448"));
    assert!(!ok("{kind: params, exact: true}", "0.45K"));
    let d = derive_text(&figure_spec("params", "0.44K"), None);
    let text = figure_spec("params", "0.44K");
    let f = only(&d, "W201", &text, "\"0.44K\"");
    assert_eq!(
        f.arithmetic.as_deref(),
        Some("printed 0.44K = 440 ± 5 (half the last printed digit), derived 448; relative difference 1.79%")
    );
}

/// A network whose totals are whatever the test needs: one 1×1 convolution without bias
/// (`Cin·Cout` parameters, `H·W·Cin·Cout` multiply-adds), a linear head.
fn totals_spec(size: u64, cin: u64, cout: u64, totals: &str) -> String {
    format!(
        r#"
name: totals
input: {{channels: {cin}, size: {size}}}
columns: {{type: type}}
conventions: {{conv_bias: false}}
templates:
  conv: {{layers: [conv: {{out: {cout}, kernel: 1}}]}}
rows:
  - {{type: conv}}
totals:
{totals}
"#
    )
}

#[test]
fn mobilenet_v2_text_totals() {
    // 100·100·100·300 = 300,000,000 multiply-adds; 3,400·1,000 = 3,400,000 parameters.
    let totals = "  multiply-adds: {counts: multiply-adds, printed: 300 million, in: section 6.1}\n";
    assert!(findings(&derive_text(&totals_spec(100, 100, 300, totals), None)).is_empty());
    let params = "  parameters: {counts: parameters, printed: 3.4 million, in: section 6.1}\n";
    assert!(findings(&derive_text(&totals_spec(1, 3400, 1000, params), None)).is_empty());
    // 3,500,000 is outside 3.4 million ± 0.05 million: located at the printed figure.
    let text = totals_spec(1, 3500, 1000, params);
    let d = derive_text(&text, None);
    let f = only(&d, "W203", &text, "3.4 million");
    assert_eq!(
        f.message,
        "the paper prints parameters 3.4 million in section 6.1, the network derives 3,500,000 parameters"
    );
    assert_eq!(
        f.arithmetic.as_deref(),
        Some(
            "printed 3.4 million = 3,400,000 ± 50,000 (half the last printed digit), derived 3,500,000; relative difference 2.86%"
        )
    );
}

#[test]
fn totals_are_for_the_papers_own_class_count() {
    let params = "  parameters: {counts: parameters, printed: 3.4 million, in: section 6.1}\n";
    let spec = load_str(&totals_spec(1, 3500, 1000, params), "t.yaml").unwrap();
    let opts = LowerOptions {
        classes: Some(10),
        ..Default::default()
    };
    let d = derive(spec, &opts, 1).unwrap();
    assert!(findings(&d).is_empty(), "{:#?}", findings(&d));
}

#[test]
fn efficientnet_b0_text_totals_count_flops_as_multiply_adds() {
    // EfficientNet's "FLOPS" are multiply-adds: 0.39B is 390,000,000 ± 5,000,000.
    let totals = "  FLOPS: {counts: multiply-adds, printed: 0.39B, in: table 2}\n  parameters: {counts: parameters, printed: 5.3M, in: table 2}\n";
    // 0.39B multiply-adds and 5.3M parameters are not one 1×1 convolution: check them apart.
    let flops_only = "  FLOPS: {counts: multiply-adds, printed: 0.39B, in: table 2}\n";
    assert!(findings(&derive_text(&totals_spec(100, 130, 300, flops_only), None)).is_empty());
    let params_only = "  parameters: {counts: parameters, printed: 5.3M, in: table 2}\n";
    assert!(findings(&derive_text(&totals_spec(1, 5300, 1000, params_only), None)).is_empty());
    // Counted as two FLOPs per multiply-add the same network is far off.
    let as_flops = "  FLOPS: {counts: flops, printed: 0.39B, in: table 2}\n";
    let text = totals_spec(100, 130, 300, as_flops);
    let d = derive_text(&text, None);
    let f = only(&d, "W203", &text, "0.39B");
    assert_eq!(f.derived.as_deref(), Some("780,000,000"));
    let d = derive_text(&totals_spec(100, 130, 300, totals), None);
    assert_eq!(
        findings(&d).len(),
        1,
        "5.3M parameters is not 39,000: {:#?}",
        findings(&d)
    );
}

/// ResNet's Table 1 prints its FLOPs row per architecture column; VGG's Table 2 its parameters
/// per configuration, in millions. Each model here is a variant of widths.
fn per_model(totals: &str) -> String {
    format!(
        r#"
name: per_model
input: {{channels: 1000, size: 100}}
columns: {{type: type}}
conventions: {{conv_bias: false}}
vars: {{width: 180}}
templates:
  conv: {{layers: [conv: {{out: "{{var.width}}", kernel: 1}}]}}
rows:
  - {{type: conv}}
variants:
  18-layer: {{vars: {{width: 180}}}}
  34-layer: {{vars: {{width: 360}}}}
totals:
{totals}
"#
    )
}

#[test]
fn resnet_flops_row_is_checked_per_model() {
    let row =
        "  FLOPs: {counts: multiply-adds, in: table 1 FLOPs row, printed: {18-layer: 1.8×10^9, 34-layer: 3.6×10^9}}\n";
    // 100·100·1000·180 = 1.8e9 and ·360 = 3.6e9.
    for model in ["18-layer", "34-layer"] {
        let d = derive_text(&per_model(row), Some(model));
        assert!(findings(&d).is_empty(), "{model}: {:#?}", findings(&d));
    }
    let wrong = row.replace("3.6×10^9", "3.8×10^9");
    let text = per_model(&wrong);
    let d = derive_text(&text, Some("34-layer"));
    let f = only(&d, "W203", &text, "3.8×10^9");
    assert!(
        f.message.contains("3.8×10^9 in table 1 FLOPs row for 34-layer"),
        "{}",
        f.message
    );
    assert_eq!(
        f.arithmetic.as_deref(),
        Some(
            "printed 3.8×10^9 = 3,800,000,000 ± 50,000,000 (half the last printed digit), derived 3,600,000,000; relative difference 5.56%"
        )
    );
    // The other model's figure is not compared with this model's total.
    assert!(findings(&derive_text(&per_model(&wrong), Some("18-layer"))).is_empty());
}

#[test]
fn vgg_parameter_row_in_millions() {
    // 1000·180 = 180,000 and 1000·360 = 360,000 parameters: printed in thousands here, as
    // VGG's Table 2 prints millions ("Number of parameters", 133 …).
    let row = "  Number of parameters: {counts: parameters, unit: ×10^3, in: table 2, printed: {18-layer: 180, 34-layer: 360}}\n";
    for model in ["18-layer", "34-layer"] {
        assert!(findings(&derive_text(&per_model(row), Some(model))).is_empty());
    }
    let e = load_str(&per_model(&row.replace("360}", "360M}")), "t.yaml").unwrap_err();
    assert!(e.message.contains("in units of ×10^3"), "{e}");
}

/// One figure printed for several architecture columns (VGG's Table 2 header `A,A-LRN`) is
/// compared for each; a column whose own name holds a comma is still one column.
#[test]
fn a_total_key_may_name_several_models() {
    let text = r#"
name: shared
input: {channels: 3, size: 8}
columns: {"x,y": layers, z: layers, w: layers}
models: ["x,y", z, w]
conventions: {conv_bias: false}
templates:
  conv: {steps: [conv: {out: "{model.out}", kernel: "{model.kernel}"}]}
rows:
  - {"x,y": conv1-10, z: conv1-10, w: conv1-20}
totals:
  weights: {counts: parameters, exact: true, printed: {"x,y": 30, "z, w": 30}}
"#;
    // A 1×1 conv from 3 to 10 channels has 30 weights; to 20, 60.
    let model = |m: &str| {
        let spec = load_str(text, "t.yaml").unwrap_or_else(|e| panic!("{e}"));
        let opts = LowerOptions {
            model: Some(m.into()),
            ..Default::default()
        };
        derive(spec, &opts, 1).unwrap_or_else(|e| panic!("{e}"))
    };
    assert!(findings(&model("x,y")).is_empty());
    assert!(findings(&model("z")).is_empty());
    let w = model("w");
    let f = only(&w, "W203", text, "30}");
    assert!(f.message.contains("30 for w"), "{}", f.message);
}

/// A row whose only printed cell is its input size (MobileNetV2's Table 2) is compared: its
/// status names `input`, and at another input size the cell is listed as not compared.
#[test]
fn input_cells_count_as_compared_at_the_reference_only() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/mobilenet_v2.yaml");
    let spec = archcheck::spec::load_file(&path).unwrap();
    let d = derive(spec.clone(), &LowerOptions::default(), 1).unwrap();
    for r in &d.rows {
        assert!(r.status.compared.compared.contains(&"input"), "{:?}", r.status.compared);
    }
    let other = LowerOptions {
        input: Some((256, 256)),
        ..Default::default()
    };
    let d = derive(spec, &other, 1).unwrap();
    for r in &d.rows {
        assert!(
            !r.status.compared.compared.contains(&"input"),
            "{:?}",
            r.status.compared
        );
        assert!(
            r.status.compared.not_compared.contains(&"input"),
            "{:?}",
            r.status.compared
        );
    }
}
