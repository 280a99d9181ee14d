//! The resolved network: a graph of primitive ops, each with its symbolic output shape,
//! and the map from the table's rows to the nodes that build them. `model` (tch) and
//! `emit` (PyTorch source) build from this, so the three agree by construction.

mod args;
mod domain;
mod eval;
mod infer;
mod logits;
mod lower;
mod op;
mod plan;

pub use crate::spec::Activation;
pub use crate::spec::cell::PoolKind;

use crate::shape::{Requirement, Shape};
use crate::spec::Loc;

pub use domain::{
    Domain, chw, concat_condition, describe_agreement, max_input, min_input, reference_violation, valid_on,
};
pub use infer::infer;
pub use logits::logits_graph;
pub use lower::{Limits, LowerOptions, lower, lower_within, row_output_from};
pub use op::{Conv, Description, Op, Pad, Pool};
pub use plan::{
    AxisPad, Plan, Scheme, caffe_extra_windows, conv_at, conv_scheme, explicit_axis, pool_at, pool_is_same,
    pool_scheme, same_axis, same_symmetric_pad,
};

pub type NodeId = usize;

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
