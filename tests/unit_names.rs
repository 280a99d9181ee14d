//! How layers are named: the conv unit conventions (flat: the conv beside its batch norm and
//! ReLU; nested: `X.conv`, `X.bn`, `X.relu`), a batch norm's own name (`bn_name: bn1`), empty and
//! numeric layer names, and a variant's row names. The refusals are in tests/bad/
//! (`bn_name_dotted`, `conv_unit_unknown`, `layer_named_empty_at_top_level`,
//! `two_units_at_one_path`, `variant_row_name_with_space`, `lineage_*`).

mod common;

const SPEC: &str = r##"
name: names
input: {channels: 3, size: 32}
columns:
  type: type
  "#out": count
conventions: {batch_norm: true, conv_bias: false}
templates:
  stem:
    layers:
      - conv: {name: conv1, out: "{#out}", kernel: 3, bn_name: bn1}
      - conv: {out: "{#out}", kernel: 1}
  block:
    branches:
      one:
        layers:
          - conv: {name: "", out: "{#out}", kernel: 1}
      pair:
        layers:
          - conv: {name: 0, out: "{#out}", kernel: 1, bn_name: 1, relu: false}
          - max_pool: {name: 2, kernel: 3, pad: 1}
rows:
  - {type: stem, "#out": 8}
  - {type: block (a), "#out": 4}
head:
  - linear: {name: fc, out: 10}
variants:
  nested:
    conventions: {conv_unit: nested}
    rows:
      stem_1: {name: ""}
      block (a): {name: layer1.0}
"##;

fn names(variant: Option<&str>) -> Vec<String> {
    common::lower_inline(SPEC, variant)
        .nodes
        .iter()
        .map(|n| n.name.clone())
        .collect()
}

#[test]
fn flat_units_put_batch_norm_and_relu_beside_the_conv() {
    assert_eq!(
        names(None),
        [
            "input",
            // The named batch norm is a sibling: torchvision's ResNet writes conv1 and bn1.
            "stem_1.conv1",
            "stem_1.bn1",
            "stem_1.conv1_relu",
            "stem_1.conv",
            "stem_1.conv_bn",
            "stem_1.conv_relu",
            // An empty name is the scope's own path; numbers are positions.
            "block_a.one",
            "block_a.one_bn",
            "block_a.one_relu",
            "block_a.pair.0",
            "block_a.pair.1",
            "block_a.pair.2",
            "block_a.concat",
            "fc_flatten",
            "fc",
        ]
    );
}

#[test]
fn nested_units_and_row_names() {
    assert_eq!(
        names(Some("nested")),
        [
            "input",
            // The row renamed to "": its layers at the top level.
            "conv1.conv",
            "conv1.bn1",
            "conv1.relu",
            "conv.conv",
            "conv.bn",
            "conv.relu",
            // A dotted row name with a numeric component (lang's `layer1.0`).
            "layer1.0.one.conv",
            "layer1.0.one.bn",
            "layer1.0.one.relu",
            "layer1.0.pair.0.conv",
            "layer1.0.pair.0.1",
            "layer1.0.pair.2",
            "layer1.0.concat",
            "fc_flatten",
            "fc",
        ]
    );
}
