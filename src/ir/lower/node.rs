//! Adding a node: its name checked for uniqueness, its shape inferred, what it requires of
//! the input size and any merge of disagreeing branches recorded.

use super::Builder;
use crate::ir::{ConcatMismatch, Constraint, Node, NodeId, Op, Place};
use crate::shape::{Shape, ShapeError};
use crate::spec::{Loc, SpecError};

/// A fixed hasher: the table is only probed, never iterated, so no output depends on it.
fn name_hash(name: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::default().hash_one(name)
}

impl Builder<'_> {
    /// Adds a node and infers its shape.
    pub(super) fn add(
        &mut self,
        name: String,
        op: Op,
        inputs: Vec<NodeId>,
        place: &Place,
        weight_layer: bool,
        loc: Loc,
    ) -> Result<NodeId, SpecError> {
        if self.nodes.len() >= self.max_nodes {
            return Err(self.over_limit(loc));
        }
        let name = self
            .numbering
            .rename(name, matches!(op, Op::Concat | Op::Add | Op::Mul));
        let hash = name_hash(&name);
        self.refuse_taken_name(&name, hash, loc)?;
        let id = self.nodes.len();
        // Most layers have one input: their shape goes in an array, not a fresh Vec.
        let (one, many): ([Shape; 1], Vec<Shape>);
        let shapes: &[Shape] = match inputs.as_slice() {
            [] => &[],
            [i] => {
                one = [self.nodes[*i].shape];
                &one
            }
            _ => {
                many = inputs.iter().map(|i| self.nodes[*i].shape).collect();
                &many
            }
        };
        let (shape, reqs) = crate::ir::infer(&op, shapes, self.reference).map_err(|e| match e {
            ShapeError::Overflow => self.err(
                loc,
                format!("{name}: arithmetic overflow in its shape; are the sizes realistic?"),
            ),
            ShapeError::Message(m) => self.err(loc, format!("{name}: {m}")),
        })?;
        if matches!(op, Op::Concat | Op::Add) {
            self.record_merge(&name, &op, id, shapes, &inputs, loc)?;
        }
        if shape.channels() <= 0 {
            return Err(self.err(loc, format!("{name}: produces {} channels", shape.channels())));
        }
        for r in reqs {
            self.constraints.push(Constraint {
                node: id,
                requirement: r,
            });
        }
        let nodes = &self.nodes;
        self.names.insert_unique(hash, id, |&n| name_hash(&nodes[n].name));
        self.nodes.push(Node {
            name,
            op,
            inputs,
            place: place.clone(),
            weight_layer,
            loc,
            shape,
            unit_of: None,
        });
        Ok(id)
    }

    /// Refuses a second layer named `name` (its hash `hash`), naming the first one's line.
    fn refuse_taken_name(&self, name: &str, hash: u64, loc: Loc) -> Result<(), SpecError> {
        match self.names.find(hash, |&id| self.nodes[id].name == name) {
            Some(first) => Err(self.err(
                loc,
                format!(
                    "two layers are named {name} (the first comes from line {})",
                    self.nodes[*first].loc.line,
                    name = crate::quote::quote(name)
                ),
            )),
            None => Ok(()),
        }
    }

    /// A concat or add (node `id`, named `name`) of `inputs` with `shapes`: a vector among
    /// them is refused; spatial sizes that differ are recorded, for derive to say where the
    /// branches agree.
    fn record_merge(
        &mut self,
        name: &str,
        op: &Op,
        id: NodeId,
        shapes: &[Shape],
        inputs: &[NodeId],
        loc: Loc,
    ) -> Result<(), SpecError> {
        let spatial = |s: &Shape| match s {
            Shape::Map { h, w, .. } => Some((*h, *w)),
            Shape::Flat { .. } => None,
        };
        if shapes.iter().any(|s| spatial(s).is_none()) {
            return Err(self.err(
                loc,
                format!("{name}: merges a vector; every branch must end in a C×H×W map"),
            ));
        }
        if shapes.windows(2).any(|p| spatial(&p[0]) != spatial(&p[1])) {
            self.mismatches.push(ConcatMismatch {
                node: id,
                branches: inputs.to_vec(),
                verb: if matches!(op, Op::Add) { "adds" } else { "concatenates" },
            });
        }
        Ok(())
    }
}
