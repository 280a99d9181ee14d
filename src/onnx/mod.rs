//! `archcheck emit onnx`: the graph as an ONNX model (opset 17), written from Rust.
//!
//! - Names: a node's output value is the node's name; parameters are the graph's parameter
//!   names (`inception_3a.1x1.conv.weight`, `….bn.running_mean`), as in the tch model and
//!   the emitted PyTorch module, so their state_dicts are the model's initializers.
//! - The model is the inference graph: eval mode, auxiliary heads left out, dropout an
//!   `Identity`, batch norm with its running statistics.
//! - The batch is dynamic (`N`); H and W are too (`H`, `W`) unless something fixes them: a
//!   flatten of a map whose size follows the input (the domain's largest input), an adaptive
//!   pool to more than 1×1 (ONNX has no adaptive pool), or Caffe's extra ceil window, whose
//!   padding depends on the input. Then the input is the reference size.
//! - Padding follows `ir/plan.rs`, like the tch model and the PyTorch module: TF SAME
//!   is ONNX's `SAME_UPPER` (the odd cell after, padding left out of an average), a plan
//!   with explicit padding a `Pad` (cut to the windows' extent by a `Slice`) before the op,
//!   an average over part of its window a constant correction of the divisor.
//! - Every op of [`Op`] is mapped in one `match` ([`Builder::node`]): a new op fails to
//!   compile until it is exported. Opset 17 has no GELU: it is x·(1 + erf(x/√2))/2, SiLU
//!   x·σ(x), ReLU6 a Clip; an even-sized LRN is refused (ONNX centres its window otherwise).

mod builder;
mod node;
mod parameters;
mod proto;
mod weights;
mod windows;

use prost::Message as _;

use self::builder::Builder;
use self::proto::*;
use self::weights::{Source, Values, Wanted};
use crate::ir::Domain;
use crate::ir::{Graph, NodeId, Op};
use crate::ir::{Scheme, pool_scheme};

pub use self::parameters::node_parameters;
pub use self::weights::Source as WeightSource;

/// An ONNX model's initializers as (name, dims), in the file's order: what `compare` checks.
/// The whole model is decoded (node attributes and weights included) and then dropped.
pub fn initializers(bytes: &[u8]) -> Result<Vec<(String, Vec<i64>)>, prost::DecodeError> {
    let model = ModelProto::decode(bytes)?;
    Ok(model
        .graph
        .map(|g| g.initializer.into_iter().map(|t| (t.name, t.dims)).collect())
        .unwrap_or_default())
}

/// The opset written: the oldest with every op here in its current form (Softmax on one
/// axis since 13, BatchNormalization's inference form since 15).
pub const OPSET: i64 = 17;
/// The IR version of opset 17.
const IR_VERSION: i64 = 8;

#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// The network uses something ONNX cannot express as archcheck computes it.
    #[error("{0}")]
    Unsupported(String),
    /// The weights file is unusable.
    #[error("{0}")]
    Weights(String),
}

/// An exported model and what a user needs to know of it.
pub struct Exported {
    pub bytes: Vec<u8>,
    /// Why H and W are fixed to the reference, or `None` where they are dynamic.
    pub fixed_size: Option<String>,
    pub nodes: usize,
    /// Learned parameters (running statistics not counted).
    pub parameters: i64,
}

/// The nodes the main output needs (auxiliary heads left out), in graph order.
fn inference_nodes(g: &Graph) -> Vec<NodeId> {
    let mut keep = vec![false; g.nodes.len()];
    let mut stack = vec![g.main_output()];
    while let Some(n) = stack.pop() {
        if !std::mem::replace(&mut keep[n], true) {
            stack.extend(g.nodes[n].inputs.iter().copied());
        }
    }
    (0..g.nodes.len()).filter(|&n| keep[n]).collect()
}

/// Why the input size must be fixed, or `None` where H and W can stay dynamic.
fn fixed_size_reason(g: &Graph, domain: &Domain, nodes: &[NodeId]) -> Option<String> {
    if let (Some(h), _) | (_, Some(h)) = domain.max {
        return Some(format!("a flatten fixes the input size (at most {h} on an axis)"));
    }
    for &id in nodes {
        let n = &g.nodes[id];
        match &n.op {
            Op::AdaptiveAvgPool { size } if *size != (1, 1) => {
                return Some(format!(
                    "{}: ONNX has no adaptive pool to {}×{}",
                    n.name, size.0, size.1
                ));
            }
            Op::Pool(p) if matches!(pool_scheme(p), Scheme::CaffeFromInput { .. }) => {
                return Some(format!(
                    "{}: Caffe's extra ceil window depends on the input size",
                    n.name
                ));
            }
            _ => {}
        }
    }
    None
}

/// The graph as an ONNX model. `domain` decides whether H and W stay dynamic; `doc` goes
/// into the model's doc string.
pub fn export(g: &Graph, domain: &Domain, source: Source<'_>, doc: &str) -> Result<Exported, OnnxError> {
    let all: Vec<Wanted> = (0..g.nodes.len()).flat_map(|id| node_parameters(g, id)).collect();
    let values = Values::new(source, &all)?;
    let nodes = inference_nodes(g);
    let fixed_size = fixed_size_reason(g, domain, &nodes);
    let mut b = Builder {
        g,
        fixed: fixed_size.is_some(),
        values,
        graph: GraphProto {
            name: g.variant.clone().unwrap_or_else(|| "as printed".into()),
            ..Default::default()
        },
        used: g.nodes.iter().map(|n| n.name.clone()).collect(),
        parameters: 0,
    };
    for &id in &nodes {
        b.node(id)?;
    }
    let main = g.main_output();
    let output = b.value_info(&g.nodes[main].name, &g.nodes[main].shape);
    b.graph.output.push(output);
    let parameters = b.parameters;
    let model = ModelProto {
        ir_version: IR_VERSION,
        producer_name: "archcheck".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: doc.into(),
        graph: Some(b.graph),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
    };
    Ok(Exported {
        bytes: model.encode_to_vec(),
        fixed_size,
        nodes: nodes.len(),
        parameters,
    })
}
