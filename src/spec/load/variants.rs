//! Variants: conventions, vars, templates, cell corrections, insertions and heads.

use super::*;

impl Loader<'_> {
    pub(super) fn variant(&self, name: &str, v: &VariantFile, p: &[Seg], spec: &Spec) -> Result<Variant, SpecError> {
        let conventions = self.conventions(spec.conventions, &v.conventions, &join(p.to_vec(), "conventions"))?;
        let vars = self.vars(&v.vars, &join(p.to_vec(), "vars"), Some(&spec.vars))?;
        let mut templates = self.templates(&v.templates, &join(p.to_vec(), "templates"), spec)?;
        for (k, t) in &spec.templates {
            if !templates.contains_key(k) {
                templates.insert(k.clone(), t.clone());
            }
        }
        self.check_uses(&templates)?;
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
        let mut rows = IndexMap::new();
        for (key, o) in &v.rows {
            let op = join(join(p.to_vec(), "rows"), key.as_str());
            let oloc = self.r.marks.key(&op);
            let idx = self.find_row(spec, key, oloc)?;
            let mut cells = IndexMap::new();
            for (c, val) in &o.cells {
                let cp = join(join(op.clone(), "cells"), c.as_str());
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
            let row_vars = self.vars(&o.vars, &join(op.clone(), "vars"), Some(&spec.vars))?;
            if let Some(t) = &o.template
                && !templates.contains_key(t)
            {
                let known: Vec<&str> = templates.keys().map(|s| s.as_str()).collect();
                return Err(self
                    .err(
                        self.r.at(&join(op.clone(), "template")),
                        format!(
                            "unknown template {t}, the variant's templates are: {}{}",
                            known.join(", "),
                            crate::suggest::did_you_mean(t, known.iter().copied()),
                            t = crate::quote::quote(&t)
                        ),
                    )
                    .coded(crate::diag::code::UNKNOWN_NAME));
            }
            let insert_after = self.r.layers(&o.insert_after, &join(op.clone(), "insert_after"))?;
            self.check_layers(&insert_after, spec)?;
            rows.insert(
                idx,
                RowOverride {
                    cells,
                    vars: row_vars,
                    template: o.template.clone(),
                    insert_after,
                    name: match &o.name {
                        Some(n) => Some(check_path(&self.r, n, self.r.at(&join(op.clone(), "name")))?),
                        None => None,
                    },
                    sequential: o.sequential,
                    loc: oloc,
                },
            );
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
