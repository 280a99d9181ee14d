//! Shared by the integration tests (`mod common;`): a generator of random spec files, and
//! (in [`python`] and [`requirements`]) the one lookup of the test Python and of the data sets,
//! which fail a test naming what is missing, or skip it by name in a core-only run.
//!
//! A generated spec is a table of convolutions, pools and two-branch modules under
//! random conventions. Each test picks its own value ranges ([`SpecRanges`]).
#![allow(dead_code)]

pub mod idx;
pub mod python;
pub mod requirements;

use std::ops::Range;

use proptest::prelude::*;

/// Value ranges of one generated table row.
#[derive(Clone, Debug)]
pub struct RowRanges {
    /// Convolution row: kernel, stride, output channels.
    pub conv: (Range<u64>, Range<u64>, Range<u64>),
    /// Pool row: kernel, stride.
    pub pool: (Range<u64>, Range<u64>),
    /// Module row: width of the 1×1 branch `a` (an even value also makes the pool
    /// branch a pass-through) and of the 3×3 branch `b`.
    pub module: (Range<u64>, Range<u64>),
}

/// Value ranges of a generated spec.
#[derive(Clone, Debug)]
pub struct SpecRanges {
    /// Number of table rows.
    pub rows: Range<usize>,
    /// Square input size.
    pub size: Range<u64>,
    pub row: RowRanges,
    /// Also vary the `ceil_rule` and `count_include_pad` conventions (otherwise they
    /// keep their defaults).
    pub pool_conventions: bool,
}

/// One row of a generated table: a conv, a pool or a two-branch module.
pub fn row(r: RowRanges) -> impl Strategy<Value = String> {
    let RowRanges {
        conv: (ck, cs, cc),
        pool: (pk, ps),
        module: (ma, mb),
    } = r;
    prop_oneof![
        (ck, cs, cc).prop_map(|(k, s, c)| format!("  - {{type: convolution, patch: {k}×{k}/{s}, out: {c}}}")),
        (pk, ps, prop::bool::ANY).prop_map(|(k, s, avg)| format!(
            "  - {{type: {} pool, patch: {k}×{k}/{s}}}",
            if avg { "avg" } else { "max" }
        )),
        (ma, mb, 1u64..3, prop::bool::ANY).prop_map(|(a, b, s, max)| format!(
            "  - {{type: module, patch: stride {s}, a: {a}, b: {b}, pool: {} + {}}}",
            if max { "max" } else { "avg" },
            if a % 2 == 0 {
                "pass through".to_string()
            } else {
                a.to_string()
            }
        )),
    ]
}

/// The body of a generated `conventions:` mapping.
fn conventions(pool_conventions: bool) -> BoxedStrategy<String> {
    const PADDING: [&str; 3] = ["same", "half", "half"];
    const ROUNDING: [&str; 2] = ["floor", "ceil"];
    if pool_conventions {
        (0usize..3, 0usize..2, 0usize..2, prop::bool::ANY, prop::bool::ANY)
            .prop_map(|(pad, round, rule, bn, include)| {
                let rule = ["pytorch", "caffe"][rule];
                format!(
                    "padding: {}, pool_rounding: {}, ceil_rule: {rule}, batch_norm: {bn}, count_include_pad: {include}",
                    PADDING[pad], ROUNDING[round]
                )
            })
            .boxed()
    } else {
        (0usize..3, 0usize..2, prop::bool::ANY)
            .prop_map(|(pad, round, bn)| {
                format!(
                    "padding: {}, pool_rounding: {}, batch_norm: {bn}",
                    PADDING[pad], ROUNDING[round]
                )
            })
            .boxed()
    }
}

/// A spec text with generated rows and conventions; sometimes absurd on purpose.
pub fn spec_text(r: SpecRanges) -> impl Strategy<Value = String> {
    (prop::collection::vec(row(r.row), r.rows), r.size, conventions(r.pool_conventions), 0usize..3).prop_map(
        |(rows, size, conventions, pool_pad)| {
            let pool_pad = ["same", "1", "0"][pool_pad];
            let lines = [
                "name: gen".to_string(),
                format!("input: {{channels: 3, size: {size}}}"),
                "columns: {type: type, patch: patch, out: count, a: count, b: count, pool: pool_proj}".into(),
                format!("conventions: {{{conventions}}}"),
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
            format!("{}\n{}\n", lines.join("\n"), rows.join("\n"))
        },
    )
}

/// The graph of a spec given as text (named `inline.yaml`), as printed or under `variant`;
/// panics with the error.
pub fn lower_inline(yaml: &str, variant: Option<&str>) -> archcheck::ir::Graph {
    let spec = archcheck::spec::load_str(yaml, "inline.yaml").unwrap_or_else(|e| panic!("{e}"));
    let opts = archcheck::ir::LowerOptions {
        variant: variant.map(String::from),
        ..Default::default()
    };
    archcheck::ir::lower(&spec, &opts).unwrap_or_else(|e| panic!("{e}"))
}
