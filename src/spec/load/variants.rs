//! Variants: conventions, vars, templates, cell corrections, insertions and heads.

use super::*;

impl Loader<'_> {
    pub(super) fn variant(&self, name: &str, v: &VariantFile, p: &[Seg], spec: &Spec) -> Result<Variant, SpecError> {
        let conventions = self.conventions(spec.conventions, &v.conventions, &join(p.to_vec(), "conventions"))?;
        let vars = self.vars(&v.vars, &join(p.to_vec(), "vars"), Some(&spec.vars))?;
        let templates = self.variant_templates(v, p, spec)?;
        self.check_variant_models(v, p, spec)?;
        let mut rows = IndexMap::new();
        for (key, o) in &v.rows {
            let op = join(join(p.to_vec(), "rows"), key.as_str());
            let (idx, row) = self.row_override(key, o, &op, spec, &templates)?;
            rows.insert(idx, row);
        }
        let head = match &v.head {
            Some(h) => {
                let ls = self.r.layers(h, &join(p.to_vec(), "head"))?;
                self.check_layers(&ls, spec)?;
                Some(ls)
            }
            None => None,
        };
        let aux_heads = match &v.aux_heads {
            Some(a) => self.aux_heads(a, &join(p.to_vec(), "aux_heads"), spec)?,
            None => spec.aux_heads.clone(),
        };
        let input = match &v.input {
            Some(i) => {
                let (height, width, loc) = self.input_size(&i.size, &join(join(p.to_vec(), "input"), "size"))?;
                Some(Input {
                    channels: spec.input.channels,
                    height,
                    width,
                    loc,
                })
            }
            None => None,
        };
        let lineage = match &v.lineage {
            Some(l) => Some(self.lineage(l, &join(p.to_vec(), "lineage"))?),
            None => None,
        };
        Ok(Variant {
            input,
            name: name.to_string(),
            description: v.description.clone(),
            conventions,
            vars,
            templates,
            rows,
            head,
            aux_heads,
            models: v.models.clone(),
            lineage,
            loc: self.r.marks.key(p),
        })
    }

    /// The variant's own templates over the spec's, every use resolved.
    fn variant_templates(
        &self,
        v: &VariantFile,
        p: &[Seg],
        spec: &Spec,
    ) -> Result<IndexMap<String, Template>, SpecError> {
        let mut templates = self.templates(&v.templates, &join(p.to_vec(), "templates"), spec)?;
        for (k, t) in &spec.templates {
            if !templates.contains_key(k) {
                templates.insert(k.clone(), t.clone());
            }
        }
        self.check_uses(&templates)?;
        Ok(templates)
    }

    /// `models:` of a variant: models the spec has.
    fn check_variant_models(&self, v: &VariantFile, p: &[Seg], spec: &Spec) -> Result<(), SpecError> {
        for (i, m) in v.models.iter().enumerate() {
            if !spec.models.contains(m) {
                return Err(self.err(
                    self.r.at(&join(join(p.to_vec(), "models"), i)),
                    format!(
                        "variant is for model {}, which is not among the spec's models: {}",
                        crate::quote::quote(m),
                        if spec.models.is_empty() {
                            "none".to_string()
                        } else {
                            spec.models.join(", ")
                        }
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The variant's changes to the row `key` names, at `op`, with that row's index.
    fn row_override(
        &self,
        key: &str,
        o: &RowOverrideFile,
        op: &[Seg],
        spec: &Spec,
        templates: &IndexMap<String, Template>,
    ) -> Result<(usize, RowOverride), SpecError> {
        let oloc = self.r.marks.key(op);
        let idx = self.find_row(spec, key, oloc)?;
        let cells = self.corrected_cells(key, o, op, spec)?;
        let row_vars = self.vars(&o.vars, &join(op.to_vec(), "vars"), Some(&spec.vars))?;
        if let Some(t) = &o.template
            && !templates.contains_key(t)
        {
            let known: Vec<&str> = templates.keys().map(|s| s.as_str()).collect();
            let at = self.r.at(&join(op.to_vec(), "template"));
            return Err(self.unknown_name(at, "template", t, "the variant's templates are", &known, true));
        }
        let insert_after = self.r.layers(&o.insert_after, &join(op.to_vec(), "insert_after"))?;
        self.check_layers(&insert_after, spec)?;
        let name = match &o.name {
            Some(n) => Some(check_path(&self.r, n, self.r.at(&join(op.to_vec(), "name")))?),
            None => None,
        };
        Ok((
            idx,
            RowOverride {
                cells,
                vars: row_vars,
                template: o.template.clone(),
                insert_after,
                name,
                sequential: o.sequential,
                loc: oloc,
            },
        ))
    }

    /// The cells a variant corrects in the row `key` names; an emptied cell stays as an
    /// empty marker.
    fn corrected_cells(
        &self,
        key: &str,
        o: &RowOverrideFile,
        op: &[Seg],
        spec: &Spec,
    ) -> Result<IndexMap<String, Cell>, SpecError> {
        let mut cells = IndexMap::new();
        for (c, val) in &o.cells {
            let cp = join(join(op.to_vec(), "cells"), c.as_str());
            let Some(col) = spec.columns.get(c) else {
                return Err(self
                    .err(
                        self.r.marks.key(&cp),
                        format!(
                            "unknown column {c} in the correction of {key}{}",
                            crate::suggest::did_you_mean(c, spec.columns.keys().map(String::as_str)),
                            c = crate::quote::quote(&c),
                            key = crate::quote::quote(&key)
                        ),
                    )
                    .coded(crate::diag::code::UNKNOWN_NAME));
            };
            if col.kind == ColumnKind::Type {
                return Err(self.err(
                    self.r.marks.key(&cp),
                    "the type cell cannot be corrected; use template: to build the row differently",
                ));
            }
            let cell = match self.cell(col, val, self.r.at(&cp), self.r.marks.text(&cp))? {
                Some(cell) => cell,
                // An emptied cell: keep an empty marker by storing the text only.
                None => Cell {
                    text: String::new(),
                    value: CellValue::Count(0),
                    loc: self.r.at(&cp),
                },
            };
            cells.insert(c.clone(), cell);
        }
        Ok(cells)
    }

    /// A reference model: a dotted Python path of identifiers, keyword arguments that are
    /// identifiers with scalar values.
    fn lineage(&self, l: &Value, p: &[Seg]) -> Result<Lineage, SpecError> {
        let call: LineageCallFile = match l {
            Value::String(m) => LineageCallFile {
                model: m.clone(),
                args: IndexMap::new(),
            },
            Value::Mapping(_) => {
                serde_yaml::from_value(l.clone()).map_err(|e| self.err(self.r.at(p), format!("lineage: {e}")))?
            }
            _ => {
                return Err(self.err(
                    self.r.at(p),
                    "expected lineage as a Python path (torchvision.models.googlenet) or {model: ..., args: {...}}",
                ));
            }
        };
        let (model, raw_args, model_path) = match l {
            Value::String(_) => (&call.model, None, p.to_vec()),
            _ => (&call.model, Some(&call.args), join(p.to_vec(), "model")),
        };
        let is_identifier = |s: &str| {
            s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        if !model.split('.').all(is_identifier) {
            return Err(self.err(
                self.r.at(&model_path),
                format!(
                    "lineage model {} is not a dotted Python path, expected e.g. torchvision.models.googlenet",
                    crate::quote::quote(model)
                ),
            ));
        }
        let mut args = IndexMap::new();
        for (k, v) in raw_args.into_iter().flatten() {
            let ap = join(join(p.to_vec(), "args"), k.as_str());
            let value = match v {
                Value::Bool(b) => serde_json::Value::from(*b),
                Value::Number(n) if n.is_i64() => serde_json::Value::from(n.as_i64()),
                Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => serde_json::Value::from(n.as_f64()),
                Value::String(s) => serde_json::Value::from(s.as_str()),
                Value::Null => serde_json::Value::Null,
                other => {
                    let found = match other {
                        Value::Sequence(_) => "a list",
                        Value::Mapping(_) => "a mapping",
                        _ => "not a plain value",
                    };
                    return Err(self.err(
                        self.r.at(&ap),
                        format!(
                            "lineage argument {} is {found}, expected true, false, a number, text or null",
                            crate::quote::quote(k)
                        ),
                    ));
                }
            };
            if !is_identifier(k) {
                return Err(self.err(
                    self.r.marks.key(&ap),
                    format!("lineage argument {} is not a Python identifier", crate::quote::quote(k)),
                ));
            }
            args.insert(k.clone(), value);
        }
        Ok(Lineage {
            model: model.clone(),
            args,
            loc: self.r.at(p),
        })
    }
}
