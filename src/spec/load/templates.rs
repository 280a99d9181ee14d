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
            let body = self.template_body(name, t, &tp, loc)?;
            if !tvars.is_empty() && !matches!(body, TemplateBody::Steps(_)) {
                return Err(self.template_error(loc, name, "declares vars, which only a template of steps can read"));
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

    /// A template's body: steps, layers or branches, exactly one of them.
    fn template_body(&self, name: &str, t: &TemplateFile, tp: &[Seg], loc: Loc) -> Result<TemplateBody, SpecError> {
        Ok(match (t.layers.is_empty(), t.branches.is_empty()) {
            _ if t.steps.is_some() => {
                if !(t.layers.is_empty() && t.branches.is_empty()) {
                    return Err(self.template_error(loc, name, "has steps and also layers or branches; use one"));
                }
                let steps = self
                    .r
                    .steps(t.steps.as_ref().expect("checked"), &join(tp.to_vec(), "steps"))?;
                // `steps: []` builds nothing: a row that prints no layer (VGG's
                // `input (224 × 224 RGB image)`).
                TemplateBody::Steps(steps)
            }
            (false, true) => TemplateBody::Layers(self.r.layers(&t.layers, &join(tp.to_vec(), "layers"))?),
            (true, false) => TemplateBody::Branches(self.branches(t, tp)?),
            (true, true) => return Err(self.template_error(loc, name, "has neither layers nor branches")),
            (false, false) => return Err(self.template_error(loc, name, "has both layers and branches; use one")),
        })
    }

    /// `template 'name' {what}`.
    fn template_error(&self, loc: Loc, name: &str, what: &str) -> SpecError {
        self.err(loc, format!("template {} {what}", crate::quote::quote(name)))
    }

    /// A template's named branches, each with its condition and layers.
    fn branches(&self, t: &TemplateFile, tp: &[Seg]) -> Result<Vec<Branch>, SpecError> {
        let mut branches = Vec::new();
        for (bname, b) in &t.branches {
            let bp = join(join(tp.to_vec(), "branches"), bname.as_str());
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
        Ok(branches)
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
                Term::In(f) => self.check_input_fact(e, f)?,
                Term::Model(f) => self.check_model_field(e, f.as_deref(), spec)?,
                Term::Var(v) if scope.contains(&v.as_str()) => {}
                Term::Var(v) => self.check_var(e, v, spec, scope)?,
                Term::Column { column, field } => self.check_column_term(e, column, field.as_deref(), spec)?,
            }
        }
        Ok(())
    }

    /// `in.f`: a fact of the input.
    fn check_input_fact(&self, e: &Expr, f: &str) -> Result<(), SpecError> {
        if ["channels", "h", "w"].contains(&f) {
            return Ok(());
        }
        Err(self.err(
            e.loc,
            format!(
                "{}: the input has no fact {}, expected in.channels, in.h or in.w",
                crate::quote::quote(&e.text),
                crate::quote::quote(f)
            ),
        ))
    }

    /// `model.f`: the spec has architecture columns, and a model cell of layers has `f`.
    fn check_model_field(&self, e: &Expr, f: Option<&str>, spec: &Spec) -> Result<(), SpecError> {
        if spec.models.is_empty() {
            return Err(self.err(
                e.loc,
                format!(
                    "{} reads model, but the spec names no architecture columns (models: [...])",
                    crate::quote::quote(&e.text)
                ),
            ));
        }
        let field = f.unwrap_or("").trim_end_matches(|c: char| c.is_ascii_digit());
        let known = crate::spec::cell::LayerItem::FIELDS;
        let layers = spec.models.iter().all(|m| spec.columns[m].kind == ColumnKind::Layers);
        if layers && !known.contains(&field) {
            return Err(self.err(
                e.loc,
                format!(
                    "{}: a model cell has no field {}, expected one of {} (outN, kernelN, strideN for line N of a bracket)",
                    crate::quote::quote(&e.text),
                    crate::quote::quote(f.unwrap_or("")),
                    known.join(", ")
                ),
            ));
        }
        Ok(())
    }

    /// `var.v` outside the repeats that name `v`: a var the spec declares.
    fn check_var(&self, e: &Expr, v: &str, spec: &Spec, scope: &[&str]) -> Result<(), SpecError> {
        if spec.vars.contains_key(v) {
            return Ok(());
        }
        let known: Vec<&str> = spec
            .vars
            .keys()
            .map(|s| s.as_str())
            .chain(scope.iter().copied())
            .collect();
        Err(self
            .err(
                e.loc,
                format!(
                    "{} names var {v}, which the spec does not declare (vars: {})",
                    crate::quote::quote(&e.text),
                    known.join(", "),
                    v = crate::quote::quote(&v)
                ),
            )
            .coded(crate::diag::code::UNKNOWN_NAME))
    }

    /// `column.field`: a column that shapes the network, and a field it has.
    fn check_column_term(&self, e: &Expr, column: &str, field: Option<&str>, spec: &Spec) -> Result<(), SpecError> {
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
        let fields = self.column_fields(e, column, col.kind)?;
        match field {
            None if col.kind == ColumnKind::Count => Ok(()),
            None => Err(self.err(
                e.loc,
                format!(
                    "{}: column {column} needs a field, one of: {}",
                    crate::quote::quote(&e.text),
                    fields.join(", "),
                    column = crate::quote::quote(&column)
                ),
            )),
            Some(f) if !fields.contains(&f) => {
                let expected = if fields.is_empty() {
                    "no field".to_string()
                } else {
                    fields.join(", ")
                };
                Err(self.err(
                    e.loc,
                    format!(
                        "{}: column {column} has no field {f}, expected {expected}",
                        crate::quote::quote(&e.text),
                        column = crate::quote::quote(&column),
                        f = crate::quote::quote(&f)
                    ),
                ))
            }
            Some(_) => Ok(()),
        }
    }

    /// The fields an expression can read from a column of `kind`; an error for a column
    /// that cannot shape the network.
    fn column_fields(&self, e: &Expr, column: &str, kind: ColumnKind) -> Result<&'static [&'static str], SpecError> {
        Ok(match kind {
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
                return Err(self.err(
                    e.loc,
                    format!(
                        "{} reads column {column}, which is checked against the derivation and cannot shape it",
                        crate::quote::quote(&e.text),
                        column = crate::quote::quote(&column)
                    ),
                ));
            }
        })
    }
}
