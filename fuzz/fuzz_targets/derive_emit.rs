//! The whole pipeline `archcheck emit` runs, load → derive → PyTorch source, on two kinds of
//! input: any bytes as a spec file (first byte even), and specs generated from the bytes
//! (first byte odd), which reach deep into lowering, the concat agreement and emit far more
//! often than mutated YAML does. Nothing may panic, overflow, hang or exhaust memory; every
//! error names a place in the file; the report and the emitted module stay bounded.
#![no_main]

use archcheck::derive::derive_within;
use archcheck::emit::{class_name, pytorch_module};

use archcheck::ir::{Limits, LowerOptions};
use archcheck::report;
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

/// Smaller graphs than the command line's default: the instrumented build runs some 20×
/// slower, and a spec at the default limits (a million nodes, four million visited steps)
/// would read as a hang; the bounds themselves are what is fuzzed.
const LIMITS: Limits = Limits { max_nodes: 50_000 };

/// A spec with 1 to 12 rows of convolutions, pools and two-branch modules, with strides,
/// kernels and paddings that are sometimes huge (up to 2^40), for the closed forms and the
/// agreement condition.
fn generated(u: &mut Unstructured<'_>) -> Result<String> {
    let size = |u: &mut Unstructured<'_>| -> Result<u64> {
        Ok(match u.int_in_range(0..=9)? {
            0 => 1u64 << u.int_in_range(20..=40)?,
            1 => u.int_in_range(1..=100_000)?,
            _ => u.int_in_range(1..=7)?,
        })
    };
    let mut s = String::new();
    let input = u.int_in_range(1..=300)?;
    s.push_str(&format!(
        "archcheck: 1\nname: gen\ninput: {{channels: {}, size: {input}}}\n",
        u.int_in_range(1..=8)?
    ));
    s.push_str(&format!("classes: {}\n", u.int_in_range(1..=2000)?));
    s.push_str("columns:\n  type: type\n  patch: patch\n  out: output\n");
    let padding = if u.arbitrary()? { "same" } else { "half" };
    let rounding = if u.arbitrary()? { "floor" } else { "ceil" };
    s.push_str(&format!(
        "conventions: {{padding: {padding}, pool_rounding: {rounding}}}\n"
    ));
    s.push_str("templates:\n");
    s.push_str("  conv:\n    layers:\n      - conv: {out: \"{out.channels or 8}\", kernel: \"{patch.kernel or 3}\", stride: \"{patch.stride or 1}\"}\n");
    s.push_str(
        "  pool:\n    layers:\n      - max_pool: {kernel: \"{patch.kernel or 3}\", stride: \"{patch.stride or 1}\"}\n",
    );
    let (k1, s1, p1, k2, s2) = (size(u)?, size(u)?, u.int_in_range(0..=3)?, size(u)?, size(u)?);
    s.push_str(&format!(
        "  module:\n    branches:\n      a:\n        layers:\n          - conv: {{out: 4, kernel: {k1}, stride: {s1}, pad: {p1}}}\n      b:\n        layers:\n          - max_pool: {{kernel: {k2}, stride: {s2}, rounding: ceil}}\n"
    ));
    s.push_str("rows:\n");
    for _ in 0..u.int_in_range(1..=12)? {
        let kind = ["conv", "pool", "module"][u.int_in_range(0..=2)?];
        let mut row = format!("  - {{type: {kind}");
        if u.arbitrary()? {
            row.push_str(&format!(", patch: {}×{}/{}", size(u)?, size(u)?, size(u)?));
        }
        if u.arbitrary()? {
            row.push_str(&format!(", out: {}×{}×{}", size(u)?, size(u)?, u.int_in_range(1..=64)?));
        }
        row.push_str("}\n");
        s.push_str(&row);
    }
    if u.arbitrary()? {
        s.push_str("head: [global_avg_pool, linear: {out: \"{classes}\"}]\n");
    }
    if u.arbitrary()? {
        s.push_str("variants:\n  v:\n    description: another rounding\n    conventions: {pool_rounding: floor}\n");
    }
    Ok(s)
}

fn run(text: &str) {
    let spec = match archcheck::spec::load_str(text, "fuzz.yaml") {
        Ok(s) => std::sync::Arc::new(s),
        Err(e) => {
            assert!(e.loc.line >= 1 && e.loc.col >= 1, "unlocated: {e}");
            assert!(e.message.len() < 4096, "a {}-byte message", e.message.len());
            return;
        }
    };
    let variants: Vec<Option<String>> = std::iter::once(None)
        .chain(spec.variants.keys().cloned().map(Some))
        .collect();
    for variant in variants {
        let opts = LowerOptions {
            variant: variant.clone(),
            ..LowerOptions::default()
        };
        match derive_within(std::sync::Arc::clone(&spec), &opts, 1, &LIMITS) {
            Ok(d) => {
                let table = report::table::render(&d, &d.spec.source);
                // A report is a few lines per node; the 16.6 MB condition was not.
                assert!(
                    table.len() < 4096 + 2048 * d.graph.nodes.len(),
                    "a {}-byte report",
                    table.len()
                );
                let _ = report::json::value(&d, 0).to_string();
                let module = pytorch_module(&d.graph, &class_name(&spec.name, variant.as_deref()), &spec.title);
                assert!(
                    module.len() < 4096 + 4096 * d.graph.nodes.len(),
                    "a {}-byte module",
                    module.len()
                );
            }
            Err(e) => assert!(
                e.loc.line >= 1 || e.message.contains("unknown variant"),
                "unlocated: {e}"
            ),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((mode, rest)) if mode % 2 == 1 => {
            if let Ok(text) = generated(&mut Unstructured::new(rest)) {
                run(&text);
            }
        }
        Some((_, rest)) => {
            if let Ok(text) = std::str::from_utf8(rest) {
                run(text);
            }
        }
        None => {}
    }
});
