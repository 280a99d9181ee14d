//! Counts against published references.

use archcheck::derive::derive;
use archcheck::ir::LowerOptions;

fn spec(path: &str) -> archcheck::spec::Spec {
    archcheck::spec::load_file(std::path::Path::new(&format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))).unwrap()
}

#[test]
fn caffe_lineage_without_conv_bias_matches_the_pytorch_anchor() {
    // paper-tables.md §4: BN-Inception (Caffe lineage, conv without bias) has 11,285,224
    // parameters in PyTorch.
    let mut s = spec("specs/googlenet_bn.yaml");
    s.variants.get_mut("caffe").unwrap().conventions.conv_bias = false;
    let d = derive(
        s,
        &LowerOptions {
            variant: Some("caffe".into()),
            ..Default::default()
        },
        1,
    )
    .unwrap();
    assert_eq!(d.totals.params, 11_285_224);
}

#[test]
fn bn_buffers_are_listed_apart_from_parameters() {
    let d = derive(
        spec("specs/googlenet_bn.yaml"),
        &LowerOptions {
            variant: Some("caffe".into()),
            ..Default::default()
        },
        1,
    )
    .unwrap();
    let bn: i64 = d
        .graph
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| matches!(n.op, archcheck::ir::Op::BatchNorm { .. }))
        .map(|(i, _)| d.graph.in_channels(i))
        .sum();
    assert_eq!(d.totals.buffers, 2 * bn);
}

#[test]
fn macs_scale_with_batch_only_in_memory() {
    let a = derive(spec("specs/googlenet_bn.yaml"), &LowerOptions::default(), 1).unwrap();
    let b = derive(spec("specs/googlenet_bn.yaml"), &LowerOptions::default(), 32).unwrap();
    assert_eq!(a.totals.macs, b.totals.macs);
    assert_eq!(a.totals.forward_bytes * 32, b.totals.forward_bytes);
    assert!(a.totals.training_bytes < a.totals.forward_bytes);
}
