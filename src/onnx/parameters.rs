//! The parameters and buffers each op holds, named as the graph names them.

use super::weights::{Init, Wanted};
use crate::ir::{Graph, NodeId, Op};

/// The parameters and buffers of node `id` (an exhaustive match: a new op says here what
/// it holds).
pub fn node_parameters(g: &Graph, id: NodeId) -> Vec<Wanted> {
    let n = &g.nodes[id];
    let cin = g.in_channels(id);
    let w = |suffix: &str, dims: Vec<i64>, init: Init| Wanted {
        name: format!("{}.{suffix}", n.name),
        dims,
        init,
        buffer: suffix.starts_with("running_"),
    };
    match &n.op {
        Op::Conv(c) => {
            let fan_in = cin / c.groups.max(1) * c.kernel.0 * c.kernel.1;
            let mut v = vec![w(
                "weight",
                vec![c.out, cin / c.groups.max(1), c.kernel.0, c.kernel.1],
                Init::FanIn(fan_in),
            )];
            if c.bias {
                v.push(w("bias", vec![c.out], Init::FanIn(fan_in)));
            }
            v
        }
        Op::BatchNorm { scale, .. } => {
            let mut v = Vec::new();
            if *scale {
                v.push(w("weight", vec![cin], Init::AroundOne));
            }
            v.push(w("bias", vec![cin], Init::Small));
            v.push(w("running_mean", vec![cin], Init::Small));
            v.push(w("running_var", vec![cin], Init::AroundOne));
            v
        }
        Op::Linear { out, bias } => {
            let mut v = vec![w("weight", vec![*out, cin], Init::FanIn(cin))];
            if *bias {
                v.push(w("bias", vec![*out], Init::FanIn(cin)));
            }
            v
        }
        Op::Input { .. }
        | Op::Relu
        | Op::Pool(_)
        | Op::AdaptiveAvgPool { .. }
        | Op::Concat
        | Op::Flatten
        | Op::Dropout { .. }
        | Op::Softmax
        | Op::Add
        | Op::Mul
        | Op::Activation(_)
        | Op::Lrn { .. }
        | Op::GlobalPool { .. } => Vec::new(),
    }
}
