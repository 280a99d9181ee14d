//! specs/vgg.yaml, the verbatim Tables 1 and 2 of Simonyan and Zisserman (2014), against what
//! the paper itself prints: each configuration's "N weight layers" header (Table 1) and its
//! "Number of parameters" in millions (Table 2, checked by the spec's `totals:`), and the
//! layer facts of section 2.1. torchvision's vgg11 … vgg19_bn are proved by tests/lineage.rs.
//!
//! Findings of the verbatim table (`archcheck check specs/vgg.yaml --all-models`): none. Every
//! Table 2 figure is within its printed digits of the derived count (A 132.86M, B 133.05M,
//! C 133.64M, D 138.36M, E 143.67M).

use archcheck::derive::{Derivation, derive};
use archcheck::ir::{LowerOptions, Op};
use archcheck::spec::load_str;

const SPEC: &str = include_str!("../specs/vgg.yaml");

/// The configurations and the weight layers Table 1's header prints for each.
const WEIGHT_LAYERS: [(&str, usize); 6] = [("A", 11), ("A-LRN", 11), ("B", 13), ("C", 16), ("D", 16), ("E", 19)];

fn derived(text: &str, model: &str) -> Derivation {
    let spec = load_str(text, "specs/vgg.yaml").unwrap_or_else(|e| panic!("{e}"));
    let opts = LowerOptions {
        model: Some(model.into()),
        ..Default::default()
    };
    derive(spec, &opts, 1).unwrap_or_else(|e| panic!("{model}: {e}"))
}

#[test]
fn every_configuration_derives_its_printed_weight_layers_and_no_finding() {
    for (model, printed) in WEIGHT_LAYERS {
        let d = derived(SPEC, model);
        let findings: Vec<String> = d
            .diagnostics
            .iter()
            .map(|f| format!("{}: {}", f.code, f.message))
            .collect();
        assert!(findings.is_empty(), "{model}: {findings:#?}");
        let weight_layers = d
            .graph
            .nodes
            .iter()
            .filter(|n| matches!(n.op, Op::Conv(_) | Op::Linear { .. }))
            .count();
        assert_eq!(
            weight_layers, printed,
            "{model}: Table 1 prints {printed} weight layers"
        );
    }
}

#[test]
fn the_text_s_layer_facts_hold() {
    for (model, _) in WEIGHT_LAYERS {
        let d = derived(SPEC, model);
        let g = &d.graph;
        for n in &g.nodes {
            let input = n.inputs.first().map(|&i| g.nodes[i].shape.at(224, 224));
            match &n.op {
                // Stride 1, the spatial size preserved (1×1 and 3×3 alike).
                Op::Conv(c) => {
                    assert_eq!(c.stride, (1, 1), "{model} {}", n.name);
                    let size = |dims: &[i64]| dims[1..].to_vec();
                    assert_eq!(
                        input.map(|s| size(&s)),
                        Some(size(&n.shape.at(224, 224))),
                        "{model} {}",
                        n.name
                    );
                }
                Op::Pool(p) => assert_eq!((p.kernel, p.stride), ((2, 2), (2, 2)), "{model} {}", n.name),
                // Krizhevsky et al.'s normalization, in A-LRN only.
                Op::Lrn { size, alpha, beta, k } => {
                    assert_eq!(model, "A-LRN");
                    assert_eq!((*size, *alpha, *beta, *k), (5, 1e-4, 0.75, 2.0));
                }
                // Dropout 0.5 follows the first two fully connected layers only.
                Op::Dropout { p } => assert_eq!(*p, 0.5),
                _ => {}
            }
        }
        let dropouts = g.nodes.iter().filter(|n| matches!(n.op, Op::Dropout { .. })).count();
        assert_eq!(dropouts, 2, "{model}");
        let last = g
            .nodes
            .iter()
            .rev()
            .find(|n| matches!(n.op, Op::Linear { .. }))
            .unwrap();
        assert_eq!(last.op, Op::Linear { out: 1000, bias: true }, "{model}");
    }
}

#[test]
fn a_wrong_table_2_figure_is_a_warning_for_every_model_of_its_cell() {
    // The shared cell `A,A-LRN` is compared for both configurations.
    let wrong = SPEC.replace("\"A,A-LRN\": 133", "\"A,A-LRN\": 120");
    assert_ne!(wrong, SPEC);
    for model in ["A", "A-LRN"] {
        let d = derived(&wrong, model);
        let codes: Vec<&str> = d.diagnostics.iter().map(|f| f.code).collect();
        assert_eq!(codes, ["W203"], "{model}");
        assert!(
            d.diagnostics[0]
                .message
                .contains(&format!("120 in table 2 for {model}")),
            "{}",
            d.diagnostics[0].message
        );
    }
    assert!(derived(&wrong, "B").diagnostics.is_empty());
}
