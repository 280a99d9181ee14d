//! A list of layers in a scope, and a template of branches merged by a concat.

use indexmap::IndexMap;

use super::{Builder, join_path};
use crate::ir::eval::Ctx;
use crate::ir::{NodeId, Op, Place};
use crate::spec::template::{LayerDecl, TemplateBody};
use crate::spec::{SpecError, Template};

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
        let mut seen: IndexMap<&str, usize> = IndexMap::new();
        // Unnamed layers per stem, counted once: counting them again for every layer was
        // quadratic in the list (a 100-layer list, aliased 100 times a row, took seconds).
        let mut totals: IndexMap<&str, usize> = IndexMap::new();
        for x in ls.iter().filter(|x| x.name.is_none()) {
            *totals.entry(x.op.stem()).or_insert(0) += 1;
        }
        for l in ls {
            let stem = l.op.stem();
            let total = totals.get(stem).copied().unwrap_or(0);
            let local = match &l.name {
                Some(n) => n.clone(),
                None => {
                    let k = seen.entry(stem).or_insert(0);
                    *k += 1;
                    if total > 1 {
                        format!("{stem}{k}")
                    } else {
                        stem.to_string()
                    }
                }
            };
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
