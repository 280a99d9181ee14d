//! `archcheck build`: the network in libtorch; `--verify`, `--save-weights`, `--torchscript`.

use std::path::Path;

use super::args::BuildArgs;
use super::{Failure, Output, ended, output, plural};
use archcheck::derive::Derivation;
use archcheck::report;
use archcheck::torch::{export, model, verify};

pub fn run(a: &BuildArgs) -> Result<u8, Failure> {
    let training_batch = match (a.train.train, a.train.batch) {
        (false, _) => None,
        (true, Some(b)) => Some(b),
        // A resumed run keeps its checkpoint's batch, which the checkpoint was trained with.
        (true, None) if a.train.resume => None,
        (true, None) => Some(super::DEFAULT_TRAIN_BATCH),
    };
    let loaded = super::refuse_unfit(&a.model, training_batch)?;
    archcheck::torch::init();
    if a.train.train {
        return super::train::run(a, loaded);
    }
    let device = archcheck::torch::device_from_str(a.device.as_deref().unwrap_or("cpu")).map_err(Failure::error)?;
    for p in [&a.save_weights, &a.torchscript].into_iter().flatten() {
        output::refuse_overwriting_input(p, &[a.model.spec.as_path()])?;
    }
    let d = loaded.derive(&a.model.lower_options(), 1, a.model.limits)?;
    let mut vs = tch::nn::VarStore::new(device);
    let net = model::Model::new(&vs.root(), &d.graph).map_err(|e| Failure::error(format!("{}: {e}", d.spec.file)))?;
    let mut out = Output::stdout();
    let mut status = 0;
    let written = (|| {
        out.line(&model::summary(&net, &vs, &d.spec.name))?;
        if d.errors() > 0 {
            out.line(&format!(
                "note: derive finds {} in the table (see archcheck derive); the network is built as lowered",
                plural(d.errors(), "error")
            ))?;
        }
        if a.verify {
            status = run_verify(&d, &mut out)?;
        }
        if let Some(p) = &a.save_weights {
            export::save_weights(&vs, p).map_err(Failure::error)?;
            out.line(&format!("saved weights to {}", p.display()))?;
        }
        if let Some(p) = &a.torchscript {
            save_torchscript(&d, &mut vs, &net, p, &mut out)?;
        }
        out.finish()
    })();
    ended(written, status)
}

/// `--verify`: the forward passes, every mismatch as a diagnostic; status 1 on a mismatch.
fn run_verify(d: &Derivation, out: &mut Output) -> Result<u8, Failure> {
    let r = verify::verify_default(&d.graph, 2).map_err(Failure::error)?;
    out.write(&verify::render(&r))?;
    for x in &r.diagnostics {
        out.write(&format!(
            "\n{}",
            report::diagnostics::render(x, &d.spec.file, &d.spec.source)
        ))?;
    }
    out.line(&format!("\n{}", r.summary()))?;
    Ok(if r.ok() { 0 } else { 1 })
}

fn save_torchscript(
    d: &Derivation,
    vs: &mut tch::nn::VarStore,
    net: &model::Model,
    path: &Path,
    out: &mut Output,
) -> Result<(), Failure> {
    let (h, w) = d.graph.reference;
    let c = d.graph.input_channels;
    export::torchscript(vs, net, [1, c, h, w], path).map_err(Failure::error)?;
    out.line(&format!(
        "saved TorchScript (traced at 1×{c}×{h}×{w}) to {}",
        path.display()
    ))
}
