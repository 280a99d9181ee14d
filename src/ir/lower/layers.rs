//! A list of layers in a scope, and a template of branches merged by a concat.

use indexmap::IndexMap;

use super::{Builder, join_path};
use crate::ir::eval::Ctx;
use crate::ir::{NodeId, Op, Place};
use crate::spec::{LayerDecl, TemplateBody};
use crate::spec::{SpecError, Template};

/// The local names of a list's layers: a layer's own name, or its kind numbered by declared
/// position (`conv1`, `conv2`) where the list has more than one unnamed layer of that kind.
pub(super) struct LocalNames {
    /// Unnamed layers per kind, counted once: counting them again for every layer was
    /// quadratic in the list (a 100-layer list, aliased 100 times a row, took seconds).
    totals: IndexMap<&'static str, usize>,
    seen: IndexMap<&'static str, usize>,
}

impl LocalNames {
    /// For the list of `layers` (every layer of it, in declared order).
    pub(super) fn new<'l>(layers: impl Iterator<Item = &'l LayerDecl>) -> LocalNames {
        let mut totals = IndexMap::new();
        for l in layers.filter(|l| l.name.is_none()) {
            *totals.entry(l.op.stem()).or_insert(0) += 1;
        }
        LocalNames {
            totals,
            seen: IndexMap::new(),
        }
    }

    /// The name of the list's next layer `l`, asked for each layer in order, present or not.
    pub(super) fn of(&mut self, l: &LayerDecl) -> String {
        if let Some(n) = &l.name {
            return n.clone();
        }
        let stem = l.op.stem();
        let k = self.seen.entry(stem).or_insert(0);
        *k += 1;
        if self.totals.get(stem).copied().unwrap_or(0) > 1 {
            format!("{stem}{k}")
        } else {
            stem.to_string()
        }
    }
}

impl Builder<'_> {
    /// Lowers a list of layers in a scope; names are the layer's own or its kind numbered
    /// by declared position (conv1, conv2), so they stay stable when a layer is absent.
    pub(super) fn layers(
        &mut self,
        ctx: &Ctx<'_>,
        ls: &[LayerDecl],
        input: NodeId,
        scope: &str,
        place: &Place,
    ) -> Result<NodeId, SpecError> {
        let mut cur = input;
        let mut names = LocalNames::new(ls.iter());
        for l in ls {
            let local = names.of(l);
            self.set_input(ctx, cur);
            if let Some(c) = &l.cond
                && !ctx.holds(c)?
            {
                continue;
            }
            let name = join_path(scope, &local);
            if name.is_empty() {
                return Err(self.err(
                    l.loc,
                    "a layer named \"\" takes its scope's path, but it is at the top level, expected a name",
                ));
            }
            cur = self.layer(ctx, l, cur, name, place)?;
        }
        Ok(cur)
    }

    pub(super) fn template(
        &mut self,
        ctx: &Ctx<'_>,
        t: &Template,
        input: NodeId,
        row: usize,
        prefix: &str,
    ) -> Result<NodeId, SpecError> {
        match &t.body {
            TemplateBody::Layers(ls) => self.layers(ctx, ls, input, prefix, &Place::Row { row, branch: None }),
            TemplateBody::Steps(s) => self.steps(ctx, s, input, prefix, &Place::Row { row, branch: None }),
            TemplateBody::Branches(bs) => {
                let mut ends = Vec::new();
                for b in bs {
                    self.set_input(ctx, input);
                    if let Some(c) = &b.cond
                        && !ctx.holds(c)?
                    {
                        continue;
                    }
                    let place = Place::Row {
                        row,
                        branch: Some(b.name.as_str().into()),
                    };
                    ends.push(self.layers(ctx, &b.layers, input, &join_path(prefix, &b.name), &place)?);
                }
                if ends.is_empty() {
                    return Err(self.err(
                        self.spec.rows[row].loc,
                        format!(
                            "{}: every branch of template {} (line {}) is absent, expected at least one",
                            ctx.what,
                            crate::quote::quote(&t.name),
                            t.loc.line
                        ),
                    ));
                }
                self.add(
                    join_path(prefix, "concat"),
                    Op::Concat,
                    ends,
                    &Place::Row { row, branch: None },
                    false,
                    t.loc,
                )
            }
        }
    }
}
