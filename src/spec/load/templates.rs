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
            let tvars = self.vars(&t.vars, &join(tp.clone(), "vars"), None)?;
            let body = match (t.layers.is_empty(), t.branches.is_empty()) {
                _ if t.steps.is_some() => {
                    if !(t.layers.is_empty() && t.branches.is_empty()) {
                        return Err(self.err(
                            loc,
                            format!(
                                "template {name} has steps and also layers or branches; use one",
                                name = crate::quote::quote(&name)
                            ),
                        ));
                    }
                    let steps = self
                        .r
                        .steps(t.steps.as_ref().expect("checked"), &join(tp.clone(), "steps"))?;
                    if steps.is_empty() {
                        return Err(self.err(
                            loc,
                            format!("template {name} has no steps", name = crate::quote::quote(&name)),
                        ));
                    }
                    TemplateBody::Steps(steps)
                }
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
            if !tvars.is_empty() && !matches!(body, TemplateBody::Steps(_)) {
                return Err(self.err(
                    loc,
                    format!(
                        "template {name} declares vars, which only a template of steps can read",
                        name = crate::quote::quote(&name)
                    ),
                ));
            }
            let template = Template {
                name: name.clone(),
                body,
                vars: tvars,
                loc,
            };
            self.check_template(&template, spec)?;
            out.insert(name.clone(), template);
        }
        Ok(out)
    }

    pub(super) fn check_template(&self, t: &Template, spec: &Spec) -> Result<(), SpecError> {
        match &t.body {
            TemplateBody::Steps(steps) => {
                let mut scope: Vec<&str> = t.vars.keys().map(String::as_str).collect();
                self.check_steps(steps, spec, &mut scope)
            }
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
            self.check_layer(l, spec, &[])?;
        }
        Ok(())
    }

    fn check_layer(&self, l: &LayerDecl, spec: &Spec, scope: &[&str]) -> Result<(), SpecError> {
        if let Some(c) = &l.cond {
            self.check_expr_in(c, spec, scope)?;
        }
        for a in l.args.values() {
            if let Arg::Expr(e) = &a.value {
                self.check_expr_in(e, spec, scope)?;
            }
        }
        Ok(())
    }

    /// Steps: expressions read what exists, with the template's vars and the indices of
    /// the repeats around them in `scope`.
    fn check_steps<'s>(&self, steps: &'s [Step], spec: &Spec, scope: &mut Vec<&'s str>) -> Result<(), SpecError> {
        for s in steps {
            let cond = match s {
                Step::Layer(l) => {
                    self.check_layer(l, spec, scope)?;
                    None
                }
                Step::Use(u) => {
                    for a in u.args.values() {
                        if let Arg::Expr(e) = &a.value {
                            self.check_expr_in(e, spec, scope)?;
                        }
                    }
                    u.cond.as_ref()
                }
                Step::Group(g) => {
                    for b in &g.branches {
                        if let Some(c) = &b.cond {
                            self.check_expr_in(c, spec, scope)?;
                        }
                        self.check_steps(&b.steps, spec, scope)?;
                    }
                    g.cond.as_ref()
                }
                Step::Repeat(r) => {
                    if let Arg::Expr(e) = &r.count.value {
                        self.check_expr_in(e, spec, scope)?;
                    }
                    let depth = scope.len();
                    if let Some(i) = &r.index {
                        scope.push(i);
                    }
                    if let Some(n) = &r.instance {
                        self.check_expr_in(&n.expr, spec, scope)?;
                    }
                    self.check_steps(&r.steps, spec, scope)?;
                    scope.truncate(depth);
                    r.cond.as_ref()
                }
            };
            if let Some(c) = cond {
                self.check_expr_in(c, spec, scope)?;
            }
        }
        Ok(())
    }

    /// Every template a use names exists in `templates` (the spec's, or a variant's).
    pub(super) fn check_uses(&self, templates: &IndexMap<String, Template>) -> Result<(), SpecError> {
        fn walk<'s>(steps: &'s [Step], out: &mut Vec<&'s crate::spec::steps::Use>) {
            for s in steps {
                match s {
                    Step::Layer(_) => {}
                    Step::Use(u) => out.push(u),
                    Step::Group(g) => g.branches.iter().for_each(|b| walk(&b.steps, out)),
                    Step::Repeat(r) => walk(&r.steps, out),
                }
            }
        }
        for t in templates.values() {
            let TemplateBody::Steps(steps) = &t.body else { continue };
            let mut uses = Vec::new();
            walk(steps, &mut uses);
            for u in uses {
                let Some(target) = templates.get(&u.template) else {
                    let known: Vec<&str> = templates.keys().map(|s| s.as_str()).collect();
                    return Err(self.err(
                        u.loc,
                        format!(
                            "unknown layer or template {}, expected a layer ({}), group, repeat or one of the templates: {}",
                            crate::quote::quote(&u.template),
                            LayerOp::NAMES,
                            known.join(", ")
                        ),
                    ));
                };
                for k in u.args.keys() {
                    if !target.vars.contains_key(k) {
                        let known: Vec<&str> = target.vars.keys().map(|s| s.as_str()).collect();
                        return Err(self.err(
                            u.args[k].loc,
                            format!(
                                "template {} has no var {}; its vars are: {}",
                                crate::quote::quote(&u.template),
                                crate::quote::quote(k),
                                if known.is_empty() {
                                    "none".to_string()
                                } else {
                                    known.join(", ")
                                }
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Every term names an existing column and field, or a declared var.
    pub(super) fn check_expr(&self, e: &Expr, spec: &Spec) -> Result<(), SpecError> {
        self.check_expr_in(e, spec, &[])
    }

    fn check_expr_in(&self, e: &Expr, spec: &Spec, scope: &[&str]) -> Result<(), SpecError> {
        for t in &e.terms {
            match t {
                Term::Int(_) | Term::Classes => {}
                Term::In(f) => {
                    if !["channels", "h", "w"].contains(&f.as_str()) {
                        return Err(self.err(
                            e.loc,
                            format!(
                                "{}: the input has no fact {}, expected in.channels, in.h or in.w",
                                crate::quote::quote(&e.text),
                                crate::quote::quote(f)
                            ),
                        ));
                    }
                }
                Term::Model(f) => {
                    if spec.models.is_empty() {
                        return Err(self.err(
                            e.loc,
                            format!(
                                "{} reads model, but the spec names no architecture columns (models: [...])",
                                crate::quote::quote(&e.text)
                            ),
                        ));
                    }
                    let field = f
                        .as_deref()
                        .unwrap_or("")
                        .trim_end_matches(|c: char| c.is_ascii_digit());
                    let known = crate::spec::cell::LayerItem::FIELDS;
                    let layers = spec.models.iter().all(|m| spec.columns[m].kind == ColumnKind::Layers);
                    if layers && !known.contains(&field) {
                        return Err(self.err(
                            e.loc,
                            format!(
                                "{}: a model cell has no field {}, expected one of {} (outN, kernelN, strideN for line N of a bracket)",
                                crate::quote::quote(&e.text),
                                crate::quote::quote(f.as_deref().unwrap_or("")),
                                known.join(", ")
                            ),
                        ));
                    }
                }
                Term::Var(v) if scope.contains(&v.as_str()) => {}
                Term::Var(v) => {
                    if !spec.vars.contains_key(v) {
                        let known: Vec<&str> = spec
                            .vars
                            .keys()
                            .map(|s| s.as_str())
                            .chain(scope.iter().copied())
                            .collect();
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
                                    "{} names column {column}, the table has no such column; its columns are: {}{}",
                                    crate::quote::quote(&e.text),
                                    known.join(", "),
                                    crate::suggest::did_you_mean(column, known.iter().copied()),
                                    column = crate::quote::quote(&column)
                                ),
                            )
                            .coded(crate::diag::code::UNKNOWN_NAME));
                    };
                    let fields: &[&str] = match col.kind {
                        ColumnKind::Type => &["fraction", "label", "repeat", "stride", "kernel", "width"],
                        ColumnKind::Patch | ColumnKind::PatchOrRemarks => &["kernel", "stride"],
                        ColumnKind::Output => &["h", "w", "channels"],
                        ColumnKind::Count => &[],
                        ColumnKind::PoolProj => &["pool", "proj"],
                        ColumnKind::Name => &["label"],
                        ColumnKind::Layers => crate::spec::cell::LayerItem::FIELDS,
                        ColumnKind::Remarks => {
                            return Err(self.err(
                                e.loc,
                                format!(
                                    "{} reads column {column}, which holds remarks kept as printed and cannot shape the network",
                                    crate::quote::quote(&e.text),
                                    column = crate::quote::quote(&column)
                                ),
                            ));
                        }
                        ColumnKind::Depth
                        | ColumnKind::Params
                        | ColumnKind::Ops
                        | ColumnKind::Spatial
                        | ColumnKind::Input
                        | ColumnKind::Filter => {
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
