//! What the network costs: parameters, buffers, multiply-accumulates and activation memory.
//!
//! Conventions, stated once: a MAC is one multiply-accumulate (1 MAC = 2 FLOPs); only
//! convolutions and linear layers count (batch norm, activations, LRN, pooling, global
//! pooling and concatenation are not MACs; biases are not counted), as
//! `torch.utils.flop_counter.FlopCounterMode` counts only convolutions and matrix products
//! (2 FLOPs per MAC: tests/lineage.rs); a dilated conv costs what the undilated one costs
//! per output. torchinfo's and fvcore's conventions differ by biases, batch norm and pooling
//! (tests/emit_tools.rs). MACs are per image at the reference input. Memory is for fp32
//! activations.

use serde::Serialize;

use crate::ir::{Activation, Graph, NodeId, Op, PoolKind};

/// Per-node figures at the reference input.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct NodeCost {
    pub params: i64,
    pub buffers: i64,
    pub macs: i64,
    /// Elements of the node's output for one image.
    pub output_elements: i64,
}

/// Totals for the graph.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Totals {
    pub params: i64,
    /// Parameters of auxiliary heads (included in `params`).
    pub aux_params: i64,
    pub buffers: i64,
    pub macs: i64,
    /// Bytes of every node's forward output for the batch (fp32).
    pub forward_bytes: i64,
    /// Estimated bytes autograd keeps for backward for the batch.
    pub training_bytes: i64,
    pub batch: i64,
}

pub const BYTES_PER_ELEMENT: i64 = 4;

/// The cost of node `id` at the graph's reference input.
pub fn node_cost(g: &Graph, id: NodeId) -> NodeCost {
    let (h, w) = g.reference;
    let node = &g.nodes[id];
    let cin = g.in_channels(id);
    let out = node.shape;
    let out_el = out.elements(h, w);
    let macs = match &node.op {
        Op::Conv(c) => {
            let per_out = c
                .kernel
                .0
                .saturating_mul(c.kernel.1)
                .saturating_mul(cin / c.groups.max(1));
            out_el.saturating_mul(per_out)
        }
        Op::Linear { out, .. } => cin.saturating_mul(*out),
        _ => 0,
    };
    NodeCost {
        params: node.op.params(cin),
        buffers: node.op.buffers(cin),
        macs,
        output_elements: out_el,
    }
}

/// Tensors autograd saves for backward, estimated per op as PyTorch's kernels do: a conv,
/// linear or batch norm keeps its input, a ReLU or softmax its output, a max pool its input
/// and int64 indices, a dropout a one-byte mask. A tensor kept by several ops counts once.
fn training_bytes(g: &Graph, batch: i64) -> i64 {
    let (h, w) = g.reference;
    let mut saved = vec![false; g.nodes.len()];
    let mut extra: i64 = 0;
    for (id, n) in g.nodes.iter().enumerate() {
        let input = n.inputs.first().copied();
        match &n.op {
            Op::Conv(_) | Op::Linear { .. } | Op::BatchNorm { .. } => {
                if let Some(i) = input {
                    saved[i] = true;
                }
            }
            Op::Relu | Op::Softmax | Op::Activation(Activation::Sigmoid) => saved[id] = true,
            // The others' backward reads their input (hardswish, SiLU, GELU, ReLU6's clamp).
            Op::Activation(_) => {
                if let Some(i) = input {
                    saved[i] = true;
                }
            }
            // F.local_response_norm keeps its input, its output and the denominator.
            Op::Lrn { .. } => {
                if let Some(i) = input {
                    saved[i] = true;
                }
                saved[id] = true;
                extra = extra.saturating_add(n.shape.elements(h, w).saturating_mul(BYTES_PER_ELEMENT));
            }
            Op::Pool(p) if p.kind == PoolKind::Max => {
                if let Some(i) = input {
                    saved[i] = true;
                }
                extra = extra.saturating_add(n.shape.elements(h, w).saturating_mul(8));
            }
            Op::Dropout { .. } => extra = extra.saturating_add(n.shape.elements(h, w)),
            _ => {}
        }
    }
    let kept: i64 = saved
        .iter()
        .enumerate()
        .filter(|(_, s)| **s)
        .map(|(i, _)| g.nodes[i].shape.elements(h, w).saturating_mul(BYTES_PER_ELEMENT))
        .fold(0i64, |a, b| a.saturating_add(b));
    kept.saturating_add(extra).saturating_mul(batch)
}

/// Costs of every node and the totals, for a batch of `batch` images.
pub fn costs(g: &Graph, batch: i64) -> (Vec<NodeCost>, Totals) {
    let per: Vec<NodeCost> = (0..g.nodes.len()).map(|i| node_cost(g, i)).collect();
    let mut t = Totals {
        batch,
        ..Totals::default()
    };
    for (i, c) in per.iter().enumerate() {
        t.params = t.params.saturating_add(c.params);
        if matches!(g.nodes[i].place, crate::ir::Place::Aux { .. }) {
            t.aux_params = t.aux_params.saturating_add(c.params);
        }
        t.buffers = t.buffers.saturating_add(c.buffers);
        t.macs = t.macs.saturating_add(c.macs);
        t.forward_bytes = t
            .forward_bytes
            .saturating_add(c.output_elements.saturating_mul(BYTES_PER_ELEMENT));
    }
    t.forward_bytes = t.forward_bytes.saturating_mul(batch);
    t.training_bytes = training_bytes(g, batch);
    (per, t)
}

/// The figures of one printed row: the sum over its nodes.
pub fn row_cost(g: &Graph, per: &[NodeCost], row: usize) -> NodeCost {
    let span = &g.rows[row];
    let mut c = NodeCost::default();
    for n in &per[span.first..span.end] {
        c.params = c.params.saturating_add(n.params);
        c.buffers = c.buffers.saturating_add(n.buffers);
        c.macs = c.macs.saturating_add(n.macs);
    }
    c.output_elements = per[span.output].output_elements;
    c
}

/// The weight-layer depth of the deepest path from `from` to `to` (ids between them only,
/// so a row costs its own size, not the graph's).
pub fn depth_between(g: &Graph, from: NodeId, to: NodeId) -> i64 {
    if to < from {
        return 0;
    }
    let mut depth = vec![i64::MIN; to - from + 1];
    depth[0] = 0;
    for id in from + 1..=to {
        let best = g.nodes[id]
            .inputs
            .iter()
            .filter(|i| **i >= from)
            .map(|i| depth[*i - from])
            .max()
            .unwrap_or(i64::MIN);
        if best != i64::MIN {
            depth[id - from] = best + i64::from(g.nodes[id].weight_layer);
        }
    }
    depth[to - from].max(0)
}
