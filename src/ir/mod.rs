//! The resolved network: a graph of primitive ops, each with its symbolic output shape,
//! and the map from the table's rows to the nodes that build them. `model` (tch) and
//! `emit` (PyTorch source) build from this, so the three agree by construction.

mod args;
pub mod domain;
mod eval;
mod infer;
mod logits;
pub mod lower;
pub mod plan;

pub use crate::spec::activation::Activation;
pub use crate::spec::cell::PoolKind;
use std::fmt;

use crate::shape::{Requirement, Shape, WindowRounding};
use crate::spec::Loc;

pub use infer::infer;
pub use logits::logits_graph;
pub use lower::{LowerOptions, lower};

pub type NodeId = usize;

/// Padding of a conv or pool: the same on both sides of each axis, or TF's SAME.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pad {
    Explicit(i64, i64),
    Same,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv {
    pub out: i64,
    pub kernel: (i64, i64),
    pub stride: (i64, i64),
    pub pad: Pad,
    pub groups: i64,
    pub bias: bool,
    /// Spacing of the kernel's taps (1: a plain conv).
    pub dilation: (i64, i64),
}

impl Conv {
    /// The extent the kernel covers on each axis, d·(k − 1) + 1 (saturating; the shape
    /// rule refuses a conv where it overflows).
    pub fn window_kernel(&self) -> (i64, i64) {
        let eff = |k: i64, d: i64| crate::shape::dim::dilated_kernel(k, d).unwrap_or(i64::MAX);
        (eff(self.kernel.0, self.dilation.0), eff(self.kernel.1, self.dilation.1))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    pub kind: PoolKind,
    pub kernel: (i64, i64),
    pub stride: (i64, i64),
    pub pad: Pad,
    /// Floor, or ceil under PyTorch's or Caffe's rule (ignored with SAME padding).
    pub rounding: WindowRounding,
    pub count_include_pad: bool,
}

/// A primitive op.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Input {
        channels: i64,
    },
    Conv(Conv),
    BatchNorm {
        eps: f64,
        momentum: f64,
        scale: bool,
    },
    Relu,
    Pool(Pool),
    AdaptiveAvgPool {
        size: (i64, i64),
    },
    Concat,
    /// Elementwise sum of same-shaped inputs (a residual connection).
    Add,
    /// Elementwise product of a map and a C×1×1 gate broadcast over H×W (squeeze-and-excitation).
    Mul,
    Flatten,
    Linear {
        out: i64,
        bias: bool,
    },
    Dropout {
        p: f64,
    },
    Softmax,
    /// An activation other than ReLU (which keeps its own op, [`Op::Relu`]).
    Activation(Activation),
    /// PyTorch's `LocalResponseNorm`: x / (k + alpha/size · Σ x²)^beta over `size` channels.
    Lrn {
        size: i64,
        alpha: f64,
        beta: f64,
        k: f64,
    },
    /// Max or mean over H×W: a vector of C, or C×1×1 with `keep_dims`.
    GlobalPool {
        kind: PoolKind,
        keep_dims: bool,
    },
}

impl Op {
    /// A short name for tables: `conv 3×3/2`, `max pool 3×3/2 ceil`.
    pub fn describe(&self) -> String {
        self.description().to_string()
    }

    /// `describe` as a `Display`, so that a long report can write it in place instead of
    /// allocating a string per layer.
    pub fn description(&self) -> Description<'_> {
        Description(self)
    }

    /// Weights and biases, given the input channels (or features); saturates at i64::MAX.
    pub fn params(&self, in_channels: i64) -> i64 {
        match self {
            Op::Conv(c) => c
                .kernel
                .0
                .saturating_mul(c.kernel.1)
                .saturating_mul(in_channels / c.groups.max(1))
                .saturating_mul(c.out)
                .saturating_add(if c.bias { c.out } else { 0 }),
            Op::BatchNorm { scale, .. } => in_channels.saturating_mul(if *scale { 2 } else { 1 }),
            Op::Linear { out, bias } => in_channels
                .saturating_mul(*out)
                .saturating_add(if *bias { *out } else { 0 }),
            _ => 0,
        }
    }

    /// Non-learned state (BN running mean and variance).
    pub fn buffers(&self, in_channels: i64) -> i64 {
        match self {
            Op::BatchNorm { .. } => in_channels.saturating_mul(2),
            _ => 0,
        }
    }
}

/// Where a node sits in the network as the paper nests it.
#[derive(Debug, Clone, PartialEq)]
pub enum Place {
    /// Part of a printed row (index into spec.rows), in a branch or not. The branch name is
    /// shared by every node of the branch rather than copied per node; an `Arc`, since the
    /// tch model holding the graph must be `Send`.
    Row {
        row: usize,
        branch: Option<std::sync::Arc<str>>,
    },
    /// Inserted by a variant after a row.
    After {
        row: usize,
    },
    /// The variant's or spec's classifier head.
    Head,
    /// An auxiliary classifier.
    Aux {
        head: String,
    },
    Input,
}

#[derive(Debug, Clone)]
pub struct Node {
    /// Dotted path, which is also the parameter prefix: `inception_4c.double_3x3.conv2`.
    pub name: String,
    pub op: Op,
    pub inputs: Vec<NodeId>,
    pub place: Place,
    /// Counted by the table's depth column (a separable conv counts once).
    pub weight_layer: bool,
    /// The template layer (or cell) it came from.
    pub loc: Loc,
    pub shape: Shape,
    /// For a conv layer's own batch norm and ReLU, the conv they follow (the report shows
    /// them as one layer, whatever their names).
    pub unit_of: Option<NodeId>,
}

/// The nodes of one printed row.
#[derive(Debug, Clone)]
pub struct RowSpan {
    pub row: usize,
    pub input: NodeId,
    pub output: NodeId,
    pub first: NodeId,
    pub end: NodeId,
    pub template: String,
}

/// A variant's correction of a printed cell.
#[derive(Debug, Clone)]
pub struct Correction {
    pub row: usize,
    pub column: String,
    pub printed: String,
    pub corrected: String,
    pub loc: Loc,
}

/// A requirement, with the node that imposes it.
#[derive(Debug, Clone)]
pub struct Constraint {
    pub node: NodeId,
    pub requirement: Requirement,
}

/// Branches concatenated with spatial sizes that do not agree for every input.
#[derive(Debug, Clone)]
pub struct ConcatMismatch {
    pub node: NodeId,
    pub branches: Vec<NodeId>,
    /// What the merge does, for messages: `concatenates`, `adds`.
    pub verb: &'static str,
}

#[derive(Debug, Clone)]
pub struct Output {
    pub name: String,
    pub node: NodeId,
    pub aux: bool,
}

/// An op's short name for tables; see [`Op::describe`].
pub struct Description<'a>(&'a Op);

impl fmt::Display for Description<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// A kernel or window: `3×3`.
        struct K((i64, i64));
        impl fmt::Display for K {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}×{}", self.0.0, self.0.1)
            }
        }
        /// A stride: `2`, or `2×1` when the axes differ.
        struct S((i64, i64));
        impl fmt::Display for S {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                if self.0.0 == self.0.1 {
                    write!(f, "{}", self.0.0)
                } else {
                    write!(f, "{}×{}", self.0.0, self.0.1)
                }
            }
        }
        /// Padding as a suffix: ` same`, ` pad 1`, ` pad 1×2`, or nothing for none.
        struct P(Pad);
        impl fmt::Display for P {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.0 {
                    Pad::Same => f.write_str(" same"),
                    Pad::Explicit(0, 0) => Ok(()),
                    Pad::Explicit(a, b) if a == b => write!(f, " pad {a}"),
                    Pad::Explicit(a, b) => write!(f, " pad {a}×{b}"),
                }
            }
        }
        /// Dilation as a suffix: ` dilation 2`, or nothing for a plain conv.
        struct D((i64, i64));
        impl fmt::Display for D {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                if self.0 == (1, 1) {
                    Ok(())
                } else {
                    write!(f, " dilation {}", S(self.0))
                }
            }
        }
        match self.0 {
            Op::Input { channels } => write!(f, "input {channels}"),
            Op::Conv(c) if c.groups > 1 => write!(
                f,
                "conv {}/{} groups {}{}{}",
                K(c.kernel),
                S(c.stride),
                c.groups,
                P(c.pad),
                D(c.dilation)
            ),
            Op::Conv(c) => write!(f, "conv {}/{}{}{}", K(c.kernel), S(c.stride), P(c.pad), D(c.dilation)),
            Op::BatchNorm { .. } => f.write_str("batch norm"),
            Op::Relu => f.write_str("relu"),
            Op::Pool(p) => {
                let kind = match p.kind {
                    PoolKind::Max => "max",
                    PoolKind::Avg => "avg",
                };
                let r = match (p.pad, p.rounding) {
                    (Pad::Same, _) | (_, WindowRounding::Floor) | (_, WindowRounding::Same) => "",
                    _ => " ceil",
                };
                write!(f, "{kind} pool {}/{}{}{r}", K(p.kernel), S(p.stride), P(p.pad))
            }
            Op::AdaptiveAvgPool { size } => write!(f, "adaptive avg pool {}", K(*size)),
            Op::Concat => f.write_str("concat"),
            Op::Add => f.write_str("add"),
            Op::Mul => f.write_str("mul"),
            Op::Flatten => f.write_str("flatten"),
            Op::Linear { out, .. } => write!(f, "linear → {out}"),
            Op::Dropout { p } => write!(f, "dropout {p}"),
            Op::Softmax => f.write_str("softmax"),
            Op::Activation(a) => f.write_str(a.word()),
            Op::Lrn { size, alpha, beta, k } => write!(f, "lrn {size} alpha {alpha} beta {beta} k {k}"),
            Op::GlobalPool { kind, keep_dims } => {
                let to = if *keep_dims { "C×1×1" } else { "vector" };
                write!(f, "global {kind} pool → {to}")
            }
        }
    }
}

/// The resolved network.
#[derive(Debug, Clone)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub rows: Vec<RowSpan>,
    pub outputs: Vec<Output>,
    pub reference: (i64, i64),
    pub input_channels: i64,
    pub classes: i64,
    pub variant: Option<String>,
    /// The architecture column built, in a table of architectures.
    pub model: Option<String>,
    pub corrections: Vec<Correction>,
    pub constraints: Vec<Constraint>,
    pub concat_mismatches: Vec<ConcatMismatch>,
    /// The cells of the rows that a variant or a cell override changed (printed, with
    /// corrections applied); `None` where a row is built from its printed cells unchanged,
    /// which is most rows, so those are not copied. Read them through [`Graph::row_cells`].
    pub changed_cells: Vec<Option<indexmap::IndexMap<String, crate::spec::Cell>>>,
}

impl Graph {
    /// The cells row `i` was built from: its changed cells, or else the printed ones of
    /// `spec` (the spec this graph was lowered from).
    pub fn row_cells<'a>(
        &'a self,
        spec: &'a crate::spec::Spec,
        i: usize,
    ) -> &'a indexmap::IndexMap<String, crate::spec::Cell> {
        self.changed_cells[i].as_ref().unwrap_or(&spec.rows[i].cells)
    }

    pub fn input_shape(&self, id: NodeId) -> Shape {
        match self.nodes[id].inputs.first() {
            Some(i) => self.nodes[*i].shape,
            None => self.nodes[id].shape,
        }
    }

    pub fn in_channels(&self, id: NodeId) -> i64 {
        self.input_shape(id).channels()
    }

    pub fn params(&self, id: NodeId) -> i64 {
        self.nodes[id].op.params(self.in_channels(id))
    }

    /// The spatial sizes on `axis` of the branches a concatenation joins.
    pub fn branch_dims(&self, m: &ConcatMismatch, axis: crate::shape::Axis) -> Vec<crate::shape::Dim> {
        m.branches
            .iter()
            .filter_map(|b| match self.nodes[*b].shape {
                Shape::Map { h, w, .. } => Some(if axis == crate::shape::Axis::H { h } else { w }),
                Shape::Flat { .. } => None,
            })
            .collect()
    }

    pub fn main_output(&self) -> NodeId {
        self.outputs
            .iter()
            .find(|o| !o.aux)
            .map(|o| o.node)
            .unwrap_or(self.nodes.len() - 1)
    }
}
