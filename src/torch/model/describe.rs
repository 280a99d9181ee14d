//! What a built model holds, counted and in words (`archcheck build`).

use tch::nn;

use super::Model;
use crate::ir::Op;

/// Trainable parameters and buffers (non-trainable variables) in `vs`, in elements.
pub fn variable_counts(vs: &nn::VarStore) -> (i64, i64) {
    let trainable: i64 = vs.trainable_variables().iter().map(|t| t.numel() as i64).sum();
    let all: i64 = vs.variables().values().map(|t| t.numel() as i64).sum();
    (trainable, all - trainable)
}

/// One paragraph on the built model, for `archcheck build`.
pub fn summary(model: &Model, vs: &nn::VarStore, spec_name: &str) -> String {
    let g = model.graph();
    let (params, buffers) = variable_counts(vs);
    let t = crate::fmt::thousands;
    let layers = g.nodes.iter().filter(|n| !matches!(n.op, Op::Input { .. })).count();
    let weight_layers = g.nodes.iter().filter(|n| n.weight_layer).count();
    let aux: Vec<&str> = model.aux_outputs().iter().map(|o| o.name.as_str()).collect();
    let variant = g
        .variant
        .as_deref()
        .map(|v| format!(" (variant {v})"))
        .unwrap_or_default();
    let device = match vs.device() {
        tch::Device::Cpu => "cpu".to_string(),
        tch::Device::Cuda(i) => format!("cuda:{i}"),
        d => format!("{d:?}").to_lowercase(),
    };
    let heads = if aux.is_empty() {
        "no auxiliary heads".to_string()
    } else {
        format!("auxiliary heads {} (training mode only)", aux.join(", "))
    };
    format!(
        "built {spec_name}{variant} in libtorch on {device}: {layers} layers ({weight_layers} with weights), {} parameters in {} variables, {} buffers; input N×{}×{}×{}, {} classes, {heads}.",
        t(params),
        vs.trainable_variables().len(),
        t(buffers),
        g.input_channels,
        g.reference.0,
        g.reference.1,
        t(g.classes),
    )
}
