//! Bounds on what hostile input can make the library compute: the concat agreement
//! condition in closed form at any stride, the valid-size search, the graph-size limit, and
//! values that do not fit the graph's integers.

use archcheck::ir::{Limits, lower_within};
use archcheck::ir::{LowerOptions, lower};
use archcheck::ir::{concat_condition, describe_agreement, min_input, valid_on};
use archcheck::shape::{Agreement, Axis, Dim, agreement};
use archcheck::spec::load_str;

fn floor(offset: i64, divisor: i64) -> Dim {
    Dim::Floor {
        axis: Axis::H,
        offset,
        divisor,
    }
}

/// The residues modulo `m` at which every dim agrees, by evaluating one whole period (the
/// definition, independent of the closed form).
fn residues_by_evaluation(dims: &[Dim], m: i64, from: i64) -> Vec<i64> {
    let mut r: Vec<i64> = (from..from + m)
        .filter(|v| dims.windows(2).all(|p| p[0].eval(*v) == p[1].eval(*v)))
        .map(|v| v.rem_euclid(m))
        .collect();
    r.sort();
    r
}

fn expand(runs: &[(i64, i64)]) -> Vec<i64> {
    runs.iter().flat_map(|&(a, b)| a..=b).collect()
}

#[test]
fn periodic_agreement_matches_evaluation_over_a_period() {
    for m in 1..=24 {
        for a in -30..30 {
            for b in [a - 7, a + 1, a + 3, a + m - 1, a + m, a + 2 * m + 1] {
                for extra in [None, Some(a + 1), Some(b - 2)] {
                    let mut dims = vec![floor(a, m), floor(b, m)];
                    if let Some(c) = extra {
                        dims.push(floor(c, m));
                    }
                    let want = residues_by_evaluation(&dims, m, 5);
                    match agreement(&dims, 5) {
                        Agreement::Always => assert_eq!(want.len() as i64, m, "{dims:?}"),
                        Agreement::Periodic { modulus, runs } => {
                            assert_eq!(modulus, m);
                            assert_eq!(expand(&runs), want, "{dims:?}");
                        }
                        other => panic!("{dims:?}: {other:?}"),
                    }
                }
            }
        }
    }
}

#[test]
fn bounded_agreement_matches_evaluation() {
    // Different slopes, and a constant against a slope: the sizes where they meet.
    let cases = [
        vec![floor(0, 2), floor(0, 3)],
        vec![floor(5, 4), floor(-3, 7), floor(1, 4)],
        vec![Dim::Const(3), floor(1, 2)],
        vec![floor(1, 1), floor(40, 3)],
    ];
    for dims in cases {
        let want: Vec<i64> = (1..2000)
            .filter(|v| dims.windows(2).all(|p| p[0].eval(*v) == p[1].eval(*v)))
            .collect();
        match agreement(&dims, 1) {
            Agreement::Only { runs, .. } => assert_eq!(expand(&runs), want, "{dims:?}"),
            other => panic!("{dims:?}: {other:?}"),
        }
    }
}

#[test]
fn bounded_agreement_matches_evaluation_for_every_small_case() {
    // Two floor forms of different divisors, with and without a constant: the scan (which
    // leaps between sizes) against evaluating every size of its range.
    for m1 in 1..=5 {
        for m2 in (m1 + 1)..=7 {
            for a1 in -6..=6 {
                for a2 in -6..=6 {
                    for constant in [None, Some(2), Some(5)] {
                        let mut dims = vec![floor(a1, m1), floor(a2, m2)];
                        if let Some(c) = constant {
                            dims.push(Dim::Const(c));
                        }
                        let Agreement::Only {
                            runs,
                            scanned_to,
                            truncated,
                        } = agreement(&dims, 1)
                        else {
                            panic!("{dims:?}");
                        };
                        assert!(!truncated, "{dims:?}");
                        let want: Vec<i64> = (1..scanned_to)
                            .filter(|v| dims.windows(2).all(|p| p[0].eval(*v) == p[1].eval(*v)))
                            .collect();
                        assert_eq!(expand(&runs), want, "{dims:?}");
                    }
                }
            }
        }
    }
}

#[test]
fn agreement_at_stride_2_32_is_a_range_not_a_list() {
    let s = 1i64 << 32;
    let a = agreement(&[floor(s - 1, s), floor(s, s)], 1);
    assert_eq!(
        a,
        Agreement::Periodic {
            modulus: s,
            runs: vec![(1, s - 1)]
        }
    );
    assert_eq!(
        describe_agreement(&a, Axis::H),
        "when H mod 4294967296 ∈ {1..4294967295}"
    );
    // Offsets that differ by a period or more never agree.
    let never = agreement(&[floor(0, s), floor(s, s)], 1);
    assert_eq!(
        describe_agreement(&never, Axis::H),
        "for no H (checked H mod 4294967296)"
    );
}

#[test]
fn different_slopes_at_huge_strides_are_walked_piece_by_piece() {
    // ceil(H/2^32) and ceil(H/2^31) agree exactly for 1 <= H <= 2^31.
    let (a, b) = (1i64 << 32, 1i64 << 31);
    let start = std::time::Instant::now();
    let ag = agreement(&[floor(a - 1, a), floor(b - 1, b)], 1);
    assert!(start.elapsed().as_secs() < 2, "{:?}", start.elapsed());
    assert_eq!(describe_agreement(&ag, Axis::H), "for H in {1..2147483648}");
}

#[test]
fn the_printed_list_is_bounded_whatever_the_sizes() {
    // ceil(H/2) against H/2 rounded otherwise at stride 1..: many separate runs.
    let dims = [floor(0, 1), floor(0, 1 << 40)];
    let text = describe_agreement(&agreement(&dims, 1), Axis::H);
    assert!(text.len() < 2000, "{} bytes", text.len());
    let dims = [floor(0, 2), floor(1, 3)];
    let text = describe_agreement(&agreement(&dims, 1), Axis::H);
    assert!(text.len() < 2000, "{} bytes: {text}", text.len());
}

/// The real specs' conditions are unchanged (README and snapshots print them).
#[test]
fn bn_inception_conditions_are_printed_as_before() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/googlenet_bn.yaml");
    let spec = archcheck::spec::load_file(&path).unwrap();
    let opts = LowerOptions {
        variant: Some("caffe".into()),
        ..Default::default()
    };
    let g = lower(&spec, &opts).unwrap();
    let min = min_input(&g);
    assert_eq!(min, (223, 223));
    let conds: Vec<String> = g
        .concat_mismatches
        .iter()
        .map(|m| concat_condition(&g, m, min.0))
        .collect();
    assert_eq!(
        conds,
        [
            "when H mod 16 ∈ {0, 1, 2, 3, 4, 5, 6, 15}",
            "when H mod 32 ∈ {0, 1, 2, 3, 4, 5, 6, 23, 24, 25, 26, 27, 28, 29, 30, 31}"
        ]
    );
}

const SPLIT: &str = r#"
name: wide
input: {channels: 3, size: 224}
columns:
  type: type
templates:
  split:
    branches:
      conv:
        layers:
          - conv: {out: 8, kernel: 1, stride: STRIDE, pad: 0}
      pool:
        layers:
          - max_pool: {kernel: 3, stride: STRIDE, pad: 1, rounding: ceil}
rows:
  - {type: split}
"#;

#[test]
fn min_input_does_not_scan_sizes_one_by_one() {
    for stride in [1u64 << 20, 1 << 32, 1 << 40] {
        let spec = load_str(&SPLIT.replace("STRIDE", &stride.to_string()), "split.yaml").unwrap();
        let g = lower(&spec, &LowerOptions::default()).unwrap();
        let start = std::time::Instant::now();
        let min = min_input(&g);
        assert!(start.elapsed().as_secs() < 2, "{:?}", start.elapsed());
        // The definition: the first size that valid_on accepts.
        let first = (1..100).find(|v| valid_on(&g, Axis::H, *v)).unwrap();
        assert_eq!(min.0, first, "stride {stride}");
    }
}

fn load_fixture(name: &str) -> archcheck::spec::Spec {
    archcheck::spec::load_file(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
}

#[test]
fn a_graph_over_the_node_limit_is_refused_at_the_row_before_it_is_built() {
    // 40 rows of 30,001 nodes (100 aliased branches of 100 conv → BN → ReLU, one concat).
    let spec = load_fixture("tests/bad/graph_over_node_limit.yaml");
    let e = lower(&spec, &LowerOptions::default()).unwrap_err();
    assert_eq!(
        e.message,
        "row 'split (row 34)' would make the graph 1,200,041 nodes, over the limit of 1,000,000 (raise it with --max-nodes)"
    );
    // Row 34 is the first to pass it: 1 + 34 × 30,001 > 1,000,000.
    assert_eq!(e.loc.line, spec.rows[33].loc.line);
    // A raised limit builds it: the limit is the only thing in the way.
    let limits = Limits { max_nodes: 2_000_000 };
    let g = lower_within(&spec, &LowerOptions::default(), &limits).unwrap();
    assert_eq!(g.nodes.len(), 1 + 40 * 30_001);
}

#[test]
fn the_default_limit_is_far_above_real_tables() {
    assert_eq!(Limits::default().max_nodes, 1_000_000);
    let spec = load_fixture("specs/googlenet_bn.yaml");
    let g = lower(&spec, &LowerOptions::default()).unwrap();
    // A limit just below the real graph stops it, at the row that passes it.
    let limits = Limits {
        max_nodes: g.nodes.len() - 1,
    };
    let e = lower_within(&spec, &LowerOptions::default(), &limits).unwrap_err();
    assert!(e.message.contains("over the limit of"), "{}", e.message);
    assert!(
        lower_within(
            &spec,
            &LowerOptions::default(),
            &Limits {
                max_nodes: g.nodes.len()
            }
        )
        .is_ok()
    );
}

#[test]
fn a_class_count_beyond_63_bits_is_refused_not_clamped() {
    let spec = load_fixture("specs/googlenet_bn.yaml");
    for k in [u64::MAX, i64::MAX as u64 + 1] {
        let opts = LowerOptions {
            classes: Some(k),
            ..Default::default()
        };
        let e = lower(&spec, &opts).unwrap_err();
        assert_eq!(
            e.message,
            format!("--classes is {k}, expected at most 9223372036854775807 (63 bits)")
        );
    }
    // The largest that fits is accepted by lowering (the counts then overflow, reported apart).
    let opts = LowerOptions {
        classes: Some(i64::MAX as u64),
        ..Default::default()
    };
    let g = lower(&spec, &opts).unwrap();
    assert_eq!(g.classes, i64::MAX);
}

#[test]
fn a_spec_class_or_channel_count_beyond_63_bits_is_refused_at_its_place() {
    let text =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/googlenet_bn.yaml"))
            .unwrap();
    let big = text.replace("classes: 1000", "classes: 18446744073709551615");
    let e = load_str(&big, "big.yaml").unwrap_err();
    assert_eq!(
        e.message,
        "expected at most 9223372036854775807 classes, found 18446744073709551615"
    );
    assert_eq!((e.loc.line, e.loc.col), (9, 10));
    let big = text.replace("channels: 3,", "channels: 9223372036854775808,");
    let e = load_str(&big, "big.yaml").unwrap_err();
    assert_eq!(
        e.message,
        "expected at most 9223372036854775807 channels, found 9223372036854775808"
    );
    assert_eq!(e.loc.line, 8);
}

/// googlenet_bn.yaml with `n` more variants, all aliases of one (a small file, n full
/// variants once loaded): what `check --all-variants` derives one by one.
fn aliased_variants(n: usize) -> String {
    let text =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/googlenet_bn.yaml"))
            .unwrap();
    let mut out = text.trim_end().to_string();
    out.push_str(
        "\n  alias_0: &aliased\n    description: caffe again\n    conventions: {padding: half, pool_rounding: ceil, ceil_rule: caffe}\n    vars: {pool_pad: 1}\n",
    );
    for i in 1..n {
        out.push_str(&format!("  alias_{i}: *aliased\n"));
    }
    out
}

#[test]
fn deriving_every_variant_shares_the_spec_instead_of_copying_it() {
    use std::sync::Arc;
    let spec = Arc::new(load_str(&aliased_variants(1000), "many.yaml").unwrap());
    assert_eq!(spec.variants.len(), 1003);
    let names: Vec<String> = spec.variants.keys().cloned().collect();
    let start = std::time::Instant::now();
    for v in names.iter().take(50) {
        let opts = LowerOptions {
            variant: Some(v.clone()),
            ..Default::default()
        };
        let d = archcheck::derive::derive(Arc::clone(&spec), &opts, 1).unwrap();
        // The derivation holds the caller's spec itself, not a copy of it.
        assert!(Arc::ptr_eq(&d.spec, &spec));
        assert_eq!(Arc::strong_count(&spec), 2);
    }
    assert_eq!(Arc::strong_count(&spec), 1);
    let per_variant = start.elapsed() / 50;
    // Copying 1,003 variants per derivation is what made it quadratic; one derivation of
    // this 23-row table takes milliseconds.
    assert!(per_variant.as_millis() < 500, "{per_variant:?} per variant");
}

/// Found by the derive_emit fuzz target: branches of slopes 1 and 1/2^40 change size at
/// every input size, so the scan for where they meet walks one size per step; twelve such
/// modules took over ten seconds.
#[test]
fn many_concats_of_very_different_slopes_derive_in_bounded_time() {
    let mut text = String::from(
        "name: slopes\ninput: {channels: 3, size: 64}\ncolumns:\n  type: type\ntemplates:\n  module:\n    branches:\n      a:\n        layers:\n          - conv: {out: 4, kernel: 1, stride: 1, pad: 0}\n      b:\n        layers:\n          - max_pool: {kernel: 1, stride: 1099511627776, rounding: ceil}\nrows:\n",
    );
    for _ in 0..12 {
        text.push_str("  - {type: module}\n");
    }
    let spec = load_str(&text, "slopes.yaml").unwrap();
    let start = std::time::Instant::now();
    let d = archcheck::derive::derive(spec, &LowerOptions::default(), 1);
    let took = start.elapsed();
    assert!(took.as_secs_f64() < 3.0, "{took:?}");
    // Whatever it finds, each condition says it was cut short rather than listing sizes.
    if let Ok(d) = d {
        for (_, c) in &d.domain.conditions {
            assert!(c.len() < 2000, "{c}");
        }
    }
}
