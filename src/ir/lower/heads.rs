//! The classifier head and the auxiliary heads: the node each auxiliary head reads, and
//! their layers.

use indexmap::IndexMap;

use super::{Builder, Shared};
use crate::ir::{NodeId, Output, Place};
use crate::spec::Lit;
use crate::spec::{AuxHead, SpecError};

impl<'a> Builder<'a> {
    /// The auxiliary heads after row `i`, each with the node it reads: the row's output
    /// `out`, or a node of the row (added from `first` on) by its full name.
    pub(super) fn aux_roots_in(
        &self,
        i: usize,
        out: NodeId,
        first: usize,
        roots: &mut Vec<(&'a AuxHead, NodeId)>,
    ) -> Result<(), SpecError> {
        let spec = self.spec;
        let heads = self.variant.map(|v| &v.aux_heads).unwrap_or(&spec.aux_heads);
        for h in heads.iter().filter(|h| h.after == i) {
            let root = match &h.at {
                None => out,
                // A node of this row, by its full name: the row's nodes are the last added.
                Some((at, loc)) => match (first..self.nodes.len()).find(|&n| self.nodes[n].name == *at) {
                    Some(n) => n,
                    None => {
                        return Err(SpecError::new(
                            &spec.file,
                            *loc,
                            format!(
                                "auxiliary head {} reads {}, which row {} does not build",
                                crate::quote::quote(&h.name),
                                crate::quote::quote(at),
                                crate::quote::quote(&spec.rows[i].label)
                            ),
                        )
                        .coded(crate::diag::code::UNKNOWN_NAME));
                    }
                },
            };
            roots.push((h, root));
        }
        Ok(())
    }

    /// The classifier head after the last row's `end`, then each auxiliary head from its
    /// root: the graph's outputs, logits first.
    pub(super) fn heads(
        &mut self,
        shared: &Shared<'_>,
        vars: &IndexMap<String, Lit>,
        end: NodeId,
        aux_roots: Vec<(&AuxHead, NodeId)>,
    ) -> Result<Vec<Output>, SpecError> {
        let empty = IndexMap::new();
        let head = self.variant.and_then(|v| v.head.as_ref()).unwrap_or(&self.spec.head);
        let ctx = shared.ctx(&empty, vars, "the head".into());
        let logits = self.layers(&ctx, head, end, "", &Place::Head)?;
        let mut outputs = vec![Output {
            name: "logits".into(),
            node: logits,
            aux: false,
        }];
        for (h, root) in aux_roots {
            let ctx = shared.ctx(&empty, vars, format!("auxiliary head {}", crate::quote::quote(&h.name)));
            let end = self.layers(&ctx, &h.layers, root, &h.name, &Place::Aux { head: h.name.clone() })?;
            outputs.push(Output {
                name: h.name.clone(),
                node: end,
                aux: true,
            });
        }
        Ok(outputs)
    }
}
