//! The tensors a network's state_dict holds, read off the derived graph: every parameter
//! and buffer with its name, shape and role, in graph order. The names are the graph's
//! (a node's name is its parameter prefix), so they are the tch model's and the emitted
//! module's names too.

use crate::ir::{Graph, NodeId, Op, Place};

/// What a tensor is for; a structural match pairs tensors of the same role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    ConvWeight,
    ConvBias,
    NormWeight,
    NormBias,
    RunningMean,
    RunningVar,
    /// PyTorch's `num_batches_tracked`: optional, a checkpoint may or may not carry it.
    BatchesTracked,
    LinearWeight,
    LinearBias,
}

impl Role {
    /// The last component of the tensor's name, as PyTorch names it.
    pub fn suffix(self) -> &'static str {
        match self {
            Role::ConvWeight | Role::NormWeight | Role::LinearWeight => "weight",
            Role::ConvBias | Role::NormBias | Role::LinearBias => "bias",
            Role::RunningMean => "running_mean",
            Role::RunningVar => "running_var",
            Role::BatchesTracked => "num_batches_tracked",
        }
    }

    /// The kind of module holding a tensor of this role.
    pub fn module(self) -> ModuleKind {
        match self {
            Role::ConvWeight | Role::ConvBias => ModuleKind::Conv,
            Role::NormWeight | Role::NormBias | Role::RunningMean | Role::RunningVar | Role::BatchesTracked => {
                ModuleKind::Norm
            }
            Role::LinearWeight | Role::LinearBias => ModuleKind::Linear,
        }
    }

    pub fn optional(self) -> bool {
        self == Role::BatchesTracked
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModuleKind {
    Conv,
    Norm,
    Linear,
}

impl ModuleKind {
    pub fn word(self) -> &'static str {
        match self {
            ModuleKind::Conv => "convolution",
            ModuleKind::Norm => "batch norm",
            ModuleKind::Linear => "linear layer",
        }
    }
}

/// One tensor the derived network has.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    pub name: String,
    pub shape: Vec<i64>,
    pub role: Role,
    pub node: NodeId,
    /// The printed row (or head) the tensor belongs to: a structural match prefers
    /// partners in the same one.
    pub unit: usize,
}

/// Every tensor of the graph's state, in graph order (a node's tensors in PyTorch's order:
/// weight, bias, running_mean, running_var, num_batches_tracked).
pub fn expected(g: &Graph) -> Vec<Expected> {
    let mut out = Vec::new();
    let mut aux: Vec<&str> = Vec::new();
    for (id, node) in g.nodes.iter().enumerate() {
        let cin = g.in_channels(id);
        let unit = match &node.place {
            Place::Row { row, .. } | Place::After { row } => *row,
            Place::Input => usize::MAX,
            Place::Head => g.rows.len(),
            Place::Aux { head } => {
                let k = aux.iter().position(|h| h == head).unwrap_or_else(|| {
                    aux.push(head);
                    aux.len() - 1
                });
                g.rows.len() + 1 + k
            }
        };
        let mut push = |role: Role, shape: Vec<i64>| {
            out.push(Expected {
                name: format!("{}.{}", node.name, role.suffix()),
                shape,
                role,
                node: id,
                unit,
            })
        };
        match &node.op {
            Op::Conv(c) => {
                push(
                    Role::ConvWeight,
                    vec![c.out, cin / c.groups.max(1), c.kernel.0, c.kernel.1],
                );
                if c.bias {
                    push(Role::ConvBias, vec![c.out]);
                }
            }
            Op::BatchNorm { scale, .. } => {
                if *scale {
                    push(Role::NormWeight, vec![cin]);
                }
                push(Role::NormBias, vec![cin]);
                push(Role::RunningMean, vec![cin]);
                push(Role::RunningVar, vec![cin]);
                push(Role::BatchesTracked, vec![]);
            }
            Op::Linear { out, bias } => {
                push(Role::LinearWeight, vec![*out, cin]);
                if *bias {
                    push(Role::LinearBias, vec![*out]);
                }
            }
            // No state (listed, so that a new op with parameters cannot be left out).
            Op::Input { .. }
            | Op::Relu
            | Op::Pool(_)
            | Op::AdaptiveAvgPool { .. }
            | Op::Concat
            | Op::Add
            | Op::Mul
            | Op::Flatten
            | Op::Dropout { .. }
            | Op::Softmax
            | Op::Activation(_)
            | Op::Lrn { .. }
            | Op::GlobalPool { .. } => {}
        }
    }
    out
}
