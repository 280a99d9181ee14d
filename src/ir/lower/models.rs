//! Tables whose columns are architectures: which column is built (`--model`), and a row
//! built item by item from its model cell, each item with the template named after its form.

use super::super::eval::Ctx;
use super::{Builder, LowerOptions};
use crate::ir::NodeId;
use crate::spec::{Loc, Spec, SpecError};

/// The architecture column to build: `--model`, else the variant's only one, else the
/// first; refused where the spec has none or the variant is for others.
pub(super) fn model_of(
    spec: &Spec,
    variant: Option<&crate::spec::Variant>,
    opts: &LowerOptions,
) -> Result<Option<String>, SpecError> {
    let err = |message: String| {
        SpecError::new(spec.file.clone(), Loc::default(), message).coded(crate::diag::code::UNKNOWN_NAME)
    };
    if spec.models.is_empty() {
        return match &opts.model {
            Some(m) => Err(err(format!(
                "--model {}: the spec has no architecture columns (models: [...])",
                crate::quote::quote(m)
            ))),
            None => Ok(None),
        };
    }
    let targets = variant.map_or(&[][..], |v| v.models.as_slice());
    let m = match (&opts.model, targets) {
        (Some(m), _) => m.clone(),
        (None, [only]) => only.clone(),
        (None, _) => spec.models[0].clone(),
    };
    if !spec.models.contains(&m) {
        return Err(err(format!(
            "unknown model {}, the spec's models are: {}",
            crate::quote::quote(&m),
            spec.models.join(", ")
        )));
    }
    if !targets.is_empty() && !targets.contains(&m) {
        return Err(err(format!(
            "variant {} is for {}, not for model {}",
            crate::quote::quote(opts.variant.as_deref().unwrap_or("")),
            targets.join(", "),
            crate::quote::quote(&m)
        )));
    }
    Ok(Some(m))
}

impl Builder<'_> {
    /// Builds row `i` with its template; in a table of architectures, a row without one is
    /// built item by item from its model cell, each item with the template named after its
    /// form (`conv`, `max pool`, `blocks`). Returns the row's last node and what built it.
    pub(super) fn row_layers(
        &mut self,
        ctx: &Ctx<'_>,
        tname: &str,
        i: usize,
        input: NodeId,
        scope: &str,
    ) -> Result<(NodeId, String), SpecError> {
        let sequential = self.variant.and_then(|v| v.rows.get(&i)).is_some_and(|o| o.sequential);
        if sequential {
            self.numbering.start_row(scope);
        }
        let out = self.row_items(ctx, tname, i, input, scope);
        self.numbering.end_row();
        out
    }

    fn row_items(
        &mut self,
        ctx: &Ctx<'_>,
        tname: &str,
        i: usize,
        input: NodeId,
        scope: &str,
    ) -> Result<(NodeId, String), SpecError> {
        let (spec, templates) = (self.spec, self.templates);
        let row = &spec.rows[i];
        let items = ctx.model.and_then(|m| ctx.cells.get(m)).and_then(|c| match &c.value {
            crate::spec::Value::Layers(l) => Some(&l.items),
            _ => None,
        });
        let Some(items) = items.filter(|_| tname.is_empty()) else {
            if tname.is_empty() {
                return Err(self.err(
                    row.loc,
                    format!(
                        "row {} has no cell in column {} to build it from",
                        crate::quote::quote(&row.label),
                        crate::quote::quote(ctx.model.unwrap_or(""))
                    ),
                ));
            }
            let template = templates.get(tname).ok_or_else(|| {
                self.err(row.loc, format!("unknown template {}", crate::quote::quote(tname)))
                    .coded(crate::diag::code::UNKNOWN_NAME)
            })?;
            let mut c = ctx.with_vars(ctx.vars);
            c.item = items.and_then(|v| v.first());
            return Ok((self.template(&c, template, input, i, scope)?, tname.to_string()));
        };
        let mut cur = input;
        let mut forms = Vec::new();
        for item in items {
            let Some(t) = templates.get(item.form()) else {
                let known: Vec<&str> = templates.keys().map(|s| s.as_str()).collect();
                return Err(self.err(
                    ctx.cells[ctx.model.unwrap_or("")].loc,
                    format!(
                        "row {} prints a {} ({}), and the spec has no template named {}; its templates are: {}",
                        crate::quote::quote(&row.label),
                        item.form(),
                        crate::quote::quote(&item.to_string()),
                        crate::quote::quote(item.form()),
                        known.join(", ")
                    ),
                ));
            };
            let mut c = ctx.with_vars(ctx.vars);
            c.item = Some(item);
            self.numbering.start_item();
            cur = self.template(&c, t, cur, i, scope)?;
            forms.push(item.form());
        }
        Ok((cur, forms.join(", ")))
    }
}
