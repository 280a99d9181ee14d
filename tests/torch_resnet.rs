//! ResNet in libtorch (feature `torch`, CPU): the tch models of torchvision's resnet18 and
//! resnet50 variants against derive, node by node (residual sums included), and
//! `archcheck build --verify` on them.
#![cfg(feature = "torch")]

use std::process::Command;

use archcheck::count;
use archcheck::derive::derive;
use archcheck::ir::LowerOptions;
use archcheck::torch::model::{Model, variable_counts};
use tch::{Device, Kind, Tensor, nn};

fn check(variant: &str) {
    archcheck::torch::init();
    let path = format!("{}/specs/resnet.yaml", env!("CARGO_MANIFEST_DIR"));
    let spec = archcheck::spec::load_file(std::path::Path::new(&path)).unwrap();
    let opts = LowerOptions {
        variant: Some(variant.into()),
        ..Default::default()
    };
    let d = derive(spec, &opts, 1).unwrap();
    let g = &d.graph;
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Model::new(&vs.root(), g).unwrap_or_else(|e| panic!("{variant}: {e}"));
    let (params, buffers) = variable_counts(&vs);
    let (_, totals) = count::costs(g, 1);
    assert_eq!((params, buffers), (totals.params, totals.buffers), "{variant}");
    // The reference and an odd size, where the stride-2 convs round.
    for size in [(224, 224), (97, 131)] {
        let x = Tensor::randn([2, 3, size.0, size.1], (Kind::Float, Device::Cpu));
        let outs = tch::no_grad(|| model.try_forward_all(&x, false)).unwrap_or_else(|e| panic!("{e}"));
        for (n, t) in g.nodes.iter().zip(&outs) {
            let mut derived = vec![2];
            derived.extend(n.shape.at(size.0, size.1));
            assert_eq!(t.size(), derived, "{variant}: {} at {size:?}", n.name);
        }
    }
}

#[test]
fn resnet18_agrees_with_derive() {
    check("resnet18");
}

#[test]
fn resnet50_agrees_with_derive() {
    check("resnet50");
}

#[test]
fn cli_build_verify_resnet18_and_resnet50() {
    for (variant, params) in [("resnet18", "11,689,512"), ("resnet50", "25,557,032")] {
        let out = Command::new(env!("CARGO_BIN_EXE_archcheck"))
            .args(["build", "specs/resnet.yaml", "--variant", variant, "--verify"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let last = stdout.lines().last().unwrap_or("");
        assert!(
            last.starts_with("verified: ") && last.contains(&format!("; {params} parameters")),
            "{stdout}"
        );
    }
}
