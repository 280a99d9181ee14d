//! Which input sizes work, against a scan of the PyTorch implementations (a forward pass at
//! every size, tests/reference/*.py), and parameter totals against those implementations.

use archcheck::ir::valid_on;
use archcheck::ir::{LowerOptions, lower};
use archcheck::shape::Axis;

fn graph(spec: &str, variant: &str) -> archcheck::ir::Graph {
    let s = archcheck::spec::load_file(std::path::Path::new(&format!(
        "{}/specs/{spec}",
        env!("CARGO_MANIFEST_DIR")
    )))
    .unwrap();
    lower(
        &s,
        &LowerOptions {
            variant: Some(variant.into()),
            ..Default::default()
        },
    )
    .unwrap()
}

fn valid(g: &archcheck::ir::Graph, range: std::ops::RangeInclusive<i64>) -> Vec<i64> {
    range.filter(|v| valid_on(g, Axis::H, *v)).collect()
}

#[test]
fn caffe_bn_inception_accepts_only_223_to_230() {
    // Cadene's port with the original fixed 7×7 pool: forward passes succeed for 223..=230
    // only; elsewhere the stride-2 conv and the ceil pool of 3c or 4e disagree, or the
    // flatten size changes.
    assert_eq!(
        valid(&graph("googlenet_bn.yaml", "caffe"), 1..=400),
        (223..=230).collect::<Vec<_>>()
    );
}

#[test]
fn pytorch_lineages_accept_15_and_up() {
    // zjZSTU's two networks and torchvision's googlenet run from 15×15 (the scans went up to 224).
    for (spec, v) in [
        ("googlenet_bn.yaml", "zjzstu"),
        ("googlenet.yaml", "zjzstu"),
        ("googlenet.yaml", "torchvision"),
    ] {
        assert_eq!(
            valid(&graph(spec, v), 1..=224),
            (15..=224).collect::<Vec<_>>(),
            "{spec} {v}"
        );
    }
}

#[test]
fn slim_accepts_every_size_down_to_one() {
    // TF-slim's SAME padding shrinks the final pool for small inputs; every size from 1 to
    // 224 ran. Ours keeps the printed 7×7 VALID pool, so sizes below 193 are out.
    let g = graph("googlenet_bn.yaml", "slim");
    assert_eq!(valid(&g, 1..=224), (193..=224).collect::<Vec<_>>());
}

#[test]
fn totals_match_the_reference_implementations() {
    let params = |spec: &str, v: &str| archcheck::count::costs(&graph(spec, v), 1).1.params;
    assert_eq!(params("googlenet_bn.yaml", "zjzstu"), 17_683_640);
    assert_eq!(params("googlenet.yaml", "zjzstu"), 13_370_744);
    assert_eq!(params("googlenet.yaml", "torchvision"), 13_004_888);
    assert_eq!(params("googlenet_bn.yaml", "caffe"), 11_295_240);
    // TF-slim's inception_v2 built in TensorFlow, 1000 classes (1001 gives 11,179,361).
    assert_eq!(params("googlenet_bn.yaml", "slim"), 11_178_336);
}
