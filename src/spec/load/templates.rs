//! Templates, and the check that every expression in a layer names something that exists.

use super::*;

impl Loader<'_> {
    pub(super) fn templates(
        &self,
        raw: &IndexMap<String, TemplateFile>,
        p: &[Seg],
        spec: &Spec,
    ) -> Result<IndexMap<String, Template>, SpecError> {
        let mut out = IndexMap::new();
        for (name, t) in raw {
            let tp = join(p.to_vec(), name.as_str());
            let loc = self.r.marks.key(&tp);
            let body = match (t.layers.is_empty(), t.branches.is_empty()) {
                (false, true) => TemplateBody::Layers(self.r.layers(&t.layers, &join(tp.clone(), "layers"))?),
                (true, false) => {
                    let mut branches = Vec::new();
                    for (bname, b) in &t.branches {
                        let bp = join(join(tp.clone(), "branches"), bname.as_str());
                        let bloc = self.r.marks.key(&bp);
                        check_name(&self.r, bname, bloc)?;
                        let cond = match &b.cond {
                            Some(c) => Some(self.r.expr(c, &join(bp.clone(), "if"))?),
                            None => None,
                        };
                        let layers = self.r.layers(&b.layers, &join(bp, "layers"))?;
                        branches.push(Branch {
                            name: bname.clone(),
                            cond,
                            layers,
                            loc: bloc,
                        });
                    }
                    TemplateBody::Branches(branches)
                }
                (true, true) => {
                    return Err(self.err(
                        loc,
                        format!(
                            "template {name} has neither layers nor branches",
                            name = crate::quote::quote(&name)
                        ),
                    ));
                }
                (false, false) => {
                    return Err(self.err(
                        loc,
                        format!(
                            "template {name} has both layers and branches; use one",
                            name = crate::quote::quote(&name)
                        ),
                    ));
                }
            };
            let template = Template {
                name: name.clone(),
                body,
                loc,
            };
            self.check_template(&template, spec)?;
            out.insert(name.clone(), template);
        }
        Ok(out)
    }

    pub(super) fn check_template(&self, t: &Template, spec: &Spec) -> Result<(), SpecError> {
        match &t.body {
            TemplateBody::Layers(ls) => self.check_layers(ls, spec),
            TemplateBody::Branches(bs) => {
                for b in bs {
                    if let Some(c) = &b.cond {
                        self.check_expr(c, spec)?;
                    }
                    self.check_layers(&b.layers, spec)?;
                }
                Ok(())
            }
        }
    }

    pub(super) fn check_layers(&self, ls: &[LayerDecl], spec: &Spec) -> Result<(), SpecError> {
        for l in ls {
            if let Some(c) = &l.cond {
                self.check_expr(c, spec)?;
            }
            for a in l.args.values() {
                if let Arg::Expr(e) = &a.value {
                    self.check_expr(e, spec)?;
                }
            }
        }
        Ok(())
    }

    /// Every term names an existing column and field, or a declared var.
    pub(super) fn check_expr(&self, e: &Expr, spec: &Spec) -> Result<(), SpecError> {
        for t in &e.terms {
            match t {
                Term::Int(_) | Term::Classes => {}
                Term::Var(v) => {
                    if !spec.vars.contains_key(v) {
                        let known: Vec<&str> = spec.vars.keys().map(|s| s.as_str()).collect();
                        return Err(self
                            .err(
                                e.loc,
                                format!(
                                    "{} names var {v}, which the spec does not declare (vars: {})",
                                    crate::quote::quote(&e.text),
                                    known.join(", "),
                                    v = crate::quote::quote(&v)
                                ),
                            )
                            .coded(crate::diag::code::UNKNOWN_NAME));
                    }
                }
                Term::Column { column, field } => {
                    let Some(col) = spec.columns.get(column) else {
                        let known: Vec<&str> = spec.columns.keys().map(|s| s.as_str()).collect();
                        return Err(self
                            .err(
                                e.loc,
                                format!(
                                    "{} names column {column}, the table has no such column; its columns are: {}",
                                    crate::quote::quote(&e.text),
                                    known.join(", "),
                                    column = crate::quote::quote(&column)
                                ),
                            )
                            .coded(crate::diag::code::UNKNOWN_NAME));
                    };
                    let fields: &[&str] = match col.kind {
                        ColumnKind::Type => &["fraction", "label"],
                        ColumnKind::Patch => &["kernel", "stride"],
                        ColumnKind::Output => &["h", "w", "channels"],
                        ColumnKind::Count => &[],
                        ColumnKind::PoolProj => &["pool", "proj"],
                        ColumnKind::Depth | ColumnKind::Params | ColumnKind::Ops => {
                            return Err(self.err(e.loc, format!("{} reads column {column}, which is checked against the derivation and cannot shape it", crate::quote::quote(&e.text), column = crate::quote::quote(&column))));
                        }
                    };
                    match field {
                        None if col.kind == ColumnKind::Count => {}
                        None => {
                            return Err(self.err(
                                e.loc,
                                format!(
                                    "{}: column {column} needs a field, one of: {}",
                                    crate::quote::quote(&e.text),
                                    fields.join(", "),
                                    column = crate::quote::quote(&column)
                                ),
                            ));
                        }
                        Some(f) if !fields.contains(&f.as_str()) => {
                            let expected = if fields.is_empty() {
                                "no field".to_string()
                            } else {
                                fields.join(", ")
                            };
                            return Err(self.err(
                                e.loc,
                                format!(
                                    "{}: column {column} has no field {f}, expected {expected}",
                                    crate::quote::quote(&e.text),
                                    column = crate::quote::quote(&column),
                                    f = crate::quote::quote(&f)
                                ),
                            ));
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        Ok(())
    }
}
