//! How many nodes the rows can make: the bound on each template and row, and the message
//! for a graph over its node limit.

use super::{Builder, steps};
use crate::spec::{LayerDecl, LayerOp, TemplateBody};
use crate::spec::{Loc, SpecError, Template};

/// The most nodes one list of layers can lower to: a conv is conv, batch norm and ReLU (a
/// separable one has two convs), a linear may flatten first.
pub(super) fn layers_bound(ls: &[LayerDecl]) -> usize {
    ls.iter()
        .map(|l| match l.op {
            LayerOp::Conv => 3,
            LayerOp::SeparableConv => 4,
            LayerOp::Linear => 3,
            _ => 1,
        })
        .fold(0usize, usize::saturating_add)
}

fn template_bound(t: &Template) -> usize {
    match &t.body {
        TemplateBody::Layers(ls) => layers_bound(ls),
        TemplateBody::Branches(bs) => bs
            .iter()
            .map(|b| layers_bound(&b.layers))
            .fold(1usize, usize::saturating_add),
        TemplateBody::Steps(s) => steps::steps_bound(s),
    }
}

impl<'a> Builder<'a> {
    /// The graph reached `max_nodes`: name the row (or the head) that takes it past, and
    /// the size the whole table would make, counting each remaining row's template at its
    /// most nodes (exact for templates without `if`).
    pub(super) fn over_limit(&mut self, loc: Loc) -> SpecError {
        let limit = self.max_nodes;
        let (loc, what, would) = match self.row {
            Some((i, before)) => {
                let mut would = before;
                for j in i..self.spec.rows.len() {
                    would = would.saturating_add(self.row_bound(j));
                }
                (
                    self.spec.rows[i].loc,
                    format!("row {}", crate::quote::quote(&self.spec.rows[i].label)),
                    would,
                )
            }
            None => (loc, "the layers after the last row".to_string(), self.nodes.len() + 1),
        };
        self.err(
            loc,
            format!(
                "{what} would make the graph {} nodes, over the limit of {} (raise it with --max-nodes)",
                crate::fmt::thousands(i64::try_from(would.max(limit + 1)).unwrap_or(i64::MAX)),
                crate::fmt::thousands(i64::try_from(limit).unwrap_or(i64::MAX)),
            ),
        )
        .coded(crate::diag::code::LIMIT)
    }

    /// The most nodes row `j` can add, from its template under the variant.
    fn row_bound(&mut self, j: usize) -> usize {
        let row = &self.spec.rows[j];
        let variant = self.variant;
        let name: &'a str = variant
            .and_then(|v| v.rows.get(&j))
            .and_then(|o| o.template.as_deref())
            .unwrap_or_else(|| super::template_of(row, &self.spec.templates));
        let extra = variant
            .and_then(|v| v.rows.get(&j))
            .map_or(0, |o| layers_bound(&o.insert_after));
        let templates = self.templates;
        let bound = *self
            .row_bounds
            .entry(name)
            .or_insert_with(|| templates.get(name).map_or(0, template_bound));
        bound.saturating_add(extra)
    }
}
