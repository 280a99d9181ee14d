//! Properties of whole derivations on generated specs: derive never panics, and every
//! node's closed-form size equals a layer-by-layer numeric evaluation of the graph.

use archcheck::derive::derive;
use archcheck::ir::{LowerOptions, Op, Pad};
use archcheck::shape::{Shape, Window, WindowRounding};
use proptest::prelude::*;

/// One row of a generated table: a conv, a pool or a two-branch module.
fn row() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u64..8, 1u64..4, 1u64..300).prop_map(|(k, s, c)| format!("  - {{type: convolution, patch: {k}×{k}/{s}, out: {c}}}")),
        (1u64..6, 1u64..4, prop::bool::ANY).prop_map(|(k, s, avg)| format!("  - {{type: {} pool, patch: {k}×{k}/{s}}}", if avg { "avg" } else { "max" })),
        (0u64..64, 1u64..64, 1u64..3, prop::bool::ANY).prop_map(|(a, b, s, max)| format!("  - {{type: module, patch: stride {s}, a: {a}, b: {b}, pool: {} + {}}}", if max { "max" } else { "avg" }, if a % 2 == 0 { "pass through".to_string() } else { a.to_string() })),
    ]
}

/// A spec text with generated rows and conventions; sometimes absurd on purpose.
fn spec_text() -> impl Strategy<Value = String> {
    (prop::collection::vec(row(), 1..10), 1u64..400, 0usize..3, 0usize..2, prop::bool::ANY, 0usize..3).prop_map(|(rows, size, pad, round, bn, pool_pad)| {
        let padding = ["same", "half", "half"][pad];
        let rounding = ["floor", "ceil"][round];
        let pool_pad = ["same", "1", "0"][pool_pad];
        let lines = [
            "name: gen".to_string(),
            format!("input: {{channels: 3, size: {size}}}"),
            "columns: {type: type, patch: patch, out: count, a: count, b: count, pool: pool_proj}".into(),
            format!("conventions: {{padding: {padding}, pool_rounding: {rounding}, batch_norm: {bn}}}"),
            format!("vars: {{pool_pad: {pool_pad}}}"),
            "templates:".into(),
            "  convolution: {layers: [conv: {out: '{out}', kernel: '{patch.kernel}', stride: '{patch.stride or 1}'}]}".into(),
            "  max pool: {layers: [max_pool: {kernel: '{patch.kernel}', stride: '{patch.stride or 1}'}]}".into(),
            "  avg pool: {layers: [avg_pool: {kernel: '{patch.kernel}', stride: '{patch.stride or 1}'}]}".into(),
            "  module:".into(),
            "    branches:".into(),
            "      a: {if: a, layers: [conv: {out: '{a}', kernel: 1}]}".into(),
            "      b: {layers: [conv: {out: '{b}', kernel: 3, stride: '{patch.stride or 1}'}]}".into(),
            "      p: {layers: [pool: {kind: '{pool.pool}', kernel: 3, stride: '{patch.stride or 1}', pad: '{var.pool_pad}'}, conv: {if: pool.proj, out: '{pool.proj}', kernel: 1}]}".into(),
            "rows:".into(),
        ];
        format!(
            "{}\n{}\n",
            lines.join("\n"),
            rows.join("\n")
        )
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
                Window { kernel: k.0, stride: s.0, pad: ph, rounding: r }.apply_numeric(input.0),
                Window { kernel: k.1, stride: s.1, pad: pw, rounding: r }.apply_numeric(input.1),
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

    /// The closed form of every node equals the numeric evaluation, for valid input sizes.
    #[test]
    fn closed_form_equals_numeric_graph(text in spec_text(), extra in 0i64..64) {
        let Ok(spec) = archcheck::spec::load_str(&text, "gen.yaml") else { return Ok(()) };
        let Ok(g) = archcheck::ir::lower(&spec, &LowerOptions::default()) else { return Ok(()) };
        let min = archcheck::check::min_input(&g);
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
