//! Properties of whole derivations on generated specs: derive never panics, and every
//! node's closed-form size equals a layer-by-layer numeric evaluation of the graph.

use archcheck::derive::derive;
use archcheck::ir::{LowerOptions, Op, Pad};
use archcheck::shape::{Shape, Window, WindowRounding};
use proptest::prelude::*;

mod common;

/// A spec text with generated rows and conventions (tests/common), with wide ranges:
/// up to 9 rows, input sizes 1–399, up to 299 channels; sometimes absurd on purpose.
fn spec_text() -> impl Strategy<Value = String> {
    common::spec_text(common::SpecRanges {
        rows: 1..10,
        size: 1..400,
        row: common::RowRanges {
            conv: (1..8, 1..4, 1..300),
            pool: (1..6, 1..4),
            module: (0..64, 1..64),
        },
        pool_conventions: false,
    })
}

/// Numeric output size of every node at input h×w, evaluated node by node.
fn numeric_sizes(g: &archcheck::ir::Graph, h: i64, w: i64) -> Vec<(i64, i64)> {
    let mut sizes: Vec<(i64, i64)> = Vec::new();
    for n in &g.nodes {
        let input = n.inputs.first().map(|i| sizes[*i]).unwrap_or((h, w));
        let window = |k: (i64, i64), s: (i64, i64), pad: Pad, r: WindowRounding| -> (i64, i64) {
            let (ph, pw, r) = match pad {
                Pad::Explicit(a, b) => (a, b, r),
                Pad::Same => (0, 0, WindowRounding::Same),
            };
            (
                Window {
                    kernel: k.0,
                    stride: s.0,
                    pad: ph,
                    rounding: r,
                }
                .apply_numeric(input.0),
                Window {
                    kernel: k.1,
                    stride: s.1,
                    pad: pw,
                    rounding: r,
                }
                .apply_numeric(input.1),
            )
        };
        let out = match &n.op {
            Op::Input { .. } => (h, w),
            Op::Conv(c) => window(c.kernel, c.stride, c.pad, WindowRounding::Floor),
            Op::Pool(p) => window(p.kernel, p.stride, p.pad, p.rounding),
            Op::AdaptiveAvgPool { size } => *size,
            _ => input,
        };
        sizes.push(out);
    }
    sizes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any generated spec derives or fails with a located error; never a panic.
    #[test]
    fn derive_never_panics(text in spec_text()) {
        if let Ok(spec) = archcheck::spec::load_str(&text, "gen.yaml") {
            match derive(spec, &LowerOptions::default(), 2) {
                Ok(d) => { let _ = archcheck::report::json::value(&d, 0); }
                Err(e) => prop_assert!(e.loc.line > 0 || e.message.contains("unknown variant"), "unlocated error: {}", e),
            }
        }
    }

    /// min_input, which leaps between candidates, finds the size a one-by-one scan with
    /// valid_on (the definition) finds, or none where the scan finds none.
    #[test]
    fn min_input_is_the_first_valid_size(text in spec_text()) {
        let Ok(spec) = archcheck::spec::load_str(&text, "gen.yaml") else { return Ok(()) };
        let Ok(g) = archcheck::ir::lower(&spec, &LowerOptions::default()) else { return Ok(()) };
        let min = archcheck::ir::min_input(&g);
        for (axis, found) in [(archcheck::shape::Axis::H, min.0), (archcheck::shape::Axis::W, min.1)] {
            let from = g.constraints.iter().filter(|c| c.requirement.axis() == axis)
                .map(|c| c.requirement.lowest()).fold(1, i64::max);
            let scanned = (from..from + (1 << 16)).find(|v| archcheck::ir::valid_on(&g, axis, *v)).unwrap_or(0);
            prop_assert_eq!(found, scanned, "axis {}", axis);
        }
    }

    /// The closed form of every node equals the numeric evaluation, for valid input sizes.
    #[test]
    fn closed_form_equals_numeric_graph(text in spec_text(), extra in 0i64..64) {
        let Ok(spec) = archcheck::spec::load_str(&text, "gen.yaml") else { return Ok(()) };
        let Ok(g) = archcheck::ir::lower(&spec, &LowerOptions::default()) else { return Ok(()) };
        let min = archcheck::ir::min_input(&g);
        // No size works (branches that never agree): derive reports E106; nothing to compare.
        if min.0 == 0 || min.1 == 0 { return Ok(()); }
        let (h, w) = (min.0 + extra, min.1 + extra);
        let numeric = numeric_sizes(&g, h, w);
        for (i, n) in g.nodes.iter().enumerate() {
            if let Shape::Map { h: dh, w: dw, .. } = n.shape {
                prop_assert_eq!((dh.eval(h), dw.eval(w)), numeric[i], "node {} at {}×{}", n.name, h, w);
                prop_assert!(numeric[i].0 >= 1 && numeric[i].1 >= 1, "node {} empty at the min input {}×{}", n.name, h, w);
            }
        }
    }
}

/// The generator is useful: most generated specs load and derive.
#[test]
fn generated_specs_mostly_derive() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut ok, total) = (0, 200);
    for _ in 0..total {
        let text = spec_text().new_tree(&mut runner).unwrap().current();
        let spec = archcheck::spec::load_str(&text, "gen.yaml").unwrap_or_else(|e| panic!("{e}\n{text}"));
        if derive(spec, &LowerOptions::default(), 1).is_ok() {
            ok += 1;
        }
    }
    assert!(ok * 3 > total, "only {ok} of {total} generated specs derive");
}
