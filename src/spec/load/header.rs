//! The spec's header: input, columns, conventions, vars.

use super::*;
use crate::spec::Symbol;

impl Loader<'_> {
    pub(super) fn input(&self, raw: &SpecFile) -> Result<Input, SpecError> {
        let (height, width, loc) = self.input_size(&raw.input.size, &path(&["input", "size"]))?;
        if raw.input.channels == 0 {
            return Err(self.err(
                self.r.at(&path(&["input", "channels"])),
                "expected a positive channel count, found 0",
            ));
        }
        if i64::try_from(raw.input.channels).is_err() {
            return Err(self.err(
                self.r.at(&path(&["input", "channels"])),
                format!("expected at most {} channels, found {}", i64::MAX, raw.input.channels),
            ));
        }
        Ok(Input {
            channels: raw.input.channels,
            height,
            width,
            loc,
        })
    }

    /// An input size at `p`: `224` or `"224x224"`, with its place.
    pub(super) fn input_size(&self, size: &Value, p: &[Seg]) -> Result<(u64, u64, Loc), SpecError> {
        let loc = self.r.at(p);
        let (h, w) = match size {
            Value::Number(n) => match n.as_u64() {
                Some(s) => (s, s),
                None => return Err(self.err(loc, format!("expected a positive input size, found {n}"))),
            },
            Value::String(s) => parse_hw(s).map_err(|e| self.err(loc, e.to_string()))?,
            _ => return Err(self.err(loc, "expected the input size as 224 or 224x224")),
        };
        check_positive(h, w).map_err(|e| self.err(loc, e.to_string()))?;
        Ok((h, w, loc))
    }

    pub(super) fn columns(&self, raw: &SpecFile) -> Result<IndexMap<String, Column>, SpecError> {
        let mut out = IndexMap::new();
        for (name, column) in &raw.columns {
            let kind = &column.kind;
            let cp = path(&[Seg::from("columns"), Seg::from(name.as_str())]);
            let loc = self.r.marks.key(&cp);
            if name.contains('.') {
                return Err(self.err(
                    loc,
                    format!(
                        "column name {name} contains '.', which templates use to select a field",
                        name = crate::quote::quote(&name)
                    ),
                ));
            }
            if name.trim().is_empty() || name.contains(['{', '}']) || name.contains(" or ") {
                return Err(self.err(
                    loc,
                    format!(
                        "column name {name} cannot be referenced from a template",
                        name = crate::quote::quote(&name)
                    ),
                ));
            }
            let o = &column.options;
            let figure = matches!(kind, ColumnKind::Params | ColumnKind::Ops);
            if !figure && (o.tolerance.is_some() || o.exact.is_some() || o.unit.is_some()) {
                return Err(self.err(
                    loc,
                    format!(
                        "column {} of kind {} takes no tolerance, exact or unit (only params and ops columns do)",
                        crate::quote::quote(&name),
                        serde_yaml::to_string(kind).unwrap_or_default().trim()
                    ),
                ));
            }
            let (tolerance, unit) = if figure {
                self.figure_options(&cp, o.tolerance, o.exact, o.unit.as_deref(), Some(name))?
            } else {
                (None, None)
            };
            let symbols = self.symbols(raw, name, *kind, &o.symbols, &cp)?;
            out.insert(
                name.clone(),
                Column {
                    name: name.clone(),
                    kind: *kind,
                    loc,
                    tolerance,
                    unit,
                    symbols,
                },
            );
        }
        let types = out
            .values()
            .filter(|c| matches!(c.kind, ColumnKind::Type | ColumnKind::Name))
            .count();
        // A table of architectures may print no row names at all (VGG's Table 1): its rows
        // are numbered.
        let unnamed_ok = types == 0 && !raw.models.is_empty();
        if types != 1 && !unnamed_ok {
            // At the second type column, or at the columns when there is none.
            let loc = out
                .values()
                .filter(|c| matches!(c.kind, ColumnKind::Type | ColumnKind::Name))
                .nth(1)
                .map_or(self.r.at(&path(&["columns"])), |c| c.loc);
            return Err(self.err(
                loc,
                format!("expected exactly one column of kind type, found {types} (a table of architectures has one of kind name instead, or none)"),
            ));
        }
        Ok(out)
    }

    /// A count column's symbols (`symbols: {k: classes}`): each a word, standing for
    /// `classes` or a var the spec declares (`var.NAME`).
    fn symbols(
        &self,
        raw: &SpecFile,
        column: &str,
        kind: ColumnKind,
        symbols: &IndexMap<String, String>,
        cp: &[Seg],
    ) -> Result<IndexMap<String, Symbol>, SpecError> {
        let sp = join(cp.to_vec(), "symbols");
        if kind != ColumnKind::Count && !symbols.is_empty() {
            return Err(self.err(
                self.r.marks.key(&sp),
                format!(
                    "column {} of kind {} takes no symbols (only count columns do)",
                    crate::quote::quote(column),
                    serde_yaml::to_string(&kind).unwrap_or_default().trim()
                ),
            ));
        }
        let mut out = IndexMap::new();
        for (symbol, means) in symbols {
            let p = join(sp.clone(), symbol.as_str());
            if !cell::is_symbol(symbol) {
                return Err(self.err(
                    self.r.marks.key(&p),
                    format!(
                        "symbol {} is not a word, expected a letter then letters, digits, '_' or primes (k, k′)",
                        crate::quote::quote(symbol)
                    ),
                ));
            }
            let meaning = match means.strip_prefix("var.") {
                None if means == "classes" => Symbol::Classes,
                Some(var) if raw.vars.contains_key(var) => Symbol::Var(var.to_string()),
                Some(var) => {
                    let known: Vec<&str> = raw.vars.keys().map(String::as_str).collect();
                    return Err(self
                        .err(
                            self.r.at(&p),
                            format!(
                                "symbol {} stands for the undeclared var {}, the spec declares: {}",
                                crate::quote::quote(symbol),
                                crate::quote::quote(var),
                                if known.is_empty() {
                                    "none".to_string()
                                } else {
                                    known.join(", ")
                                }
                            ),
                        )
                        .coded(crate::diag::code::UNKNOWN_NAME));
                }
                None => {
                    return Err(self.err(
                        self.r.at(&p),
                        format!(
                            "symbol {} stands for {}, expected classes or var.NAME",
                            crate::quote::quote(symbol),
                            crate::quote::quote(means)
                        ),
                    ));
                }
            };
            out.insert(symbol.clone(), meaning);
        }
        Ok(out)
    }

    pub(super) fn conventions(
        &self,
        mut c: Conventions,
        raw: &ConventionsFile,
        p: &[Seg],
    ) -> Result<Conventions, SpecError> {
        set_given(&mut c.padding, raw.padding);
        set_given(&mut c.pool_rounding, raw.pool_rounding);
        set_given(&mut c.ceil_rule, raw.ceil_rule);
        set_given(&mut c.conv_bias, raw.conv_bias);
        set_given(&mut c.count_include_pad, raw.count_include_pad);
        set_given(&mut c.conv_unit, raw.conv_unit);
        if let Some(bn) = &raw.batch_norm {
            let bp = join(p.to_vec(), "batch_norm");
            c.batch_norm = match bn {
                Value::Bool(false) | Value::Null => None,
                Value::Bool(true) => Some(BatchNorm {
                    eps: 1e-5,
                    momentum: 0.1,
                    scale: true,
                }),
                Value::Mapping(_) => {
                    let b: BatchNorm = serde_yaml::from_value(bn.clone())
                        .map_err(|e| self.err(self.r.at(&bp), format!("batch_norm: {e}")))?;
                    if !(b.eps > 0.0 && b.eps.is_finite() && (0.0..=1.0).contains(&b.momentum)) {
                        return Err(self.err(
                            self.r.at(&bp),
                            format!(
                                "batch_norm needs eps > 0 and momentum in [0, 1], found eps {} and momentum {}",
                                b.eps, b.momentum
                            ),
                        ));
                    }
                    Some(b)
                }
                other => {
                    let found = match other {
                        Value::Number(n) => n.to_string(),
                        Value::String(s) => crate::quote::quote(s),
                        Value::Sequence(_) => "a list".to_string(),
                        _ => "a tagged value".to_string(),
                    };
                    return Err(self.err(
                        self.r.at(&bp),
                        format!("expected batch_norm: false or {{eps, momentum, scale}}, found {found}"),
                    ));
                }
            };
        }
        Ok(c)
    }

    /// Variables; with `declared`, each must override one the spec declares.
    pub(super) fn vars(
        &self,
        raw: &IndexMap<String, Value>,
        p: &[Seg],
        declared: Option<&IndexMap<String, Lit>>,
    ) -> Result<IndexMap<String, Lit>, SpecError> {
        let mut out = IndexMap::new();
        for (k, v) in raw {
            let vp = join(p.to_vec(), k.as_str());
            if let Some(d) = declared
                && !d.contains_key(k)
            {
                let known: Vec<&str> = d.keys().map(|s| s.as_str()).collect();
                let at = self.r.marks.key(&vp);
                return Err(self.unknown_name(at, "var", k, "the spec declares", &known, false));
            }
            out.insert(k.clone(), self.r.lit(v, &vp)?);
        }
        Ok(out)
    }
}

/// A convention the file gives replaces the one so far.
fn set_given<T>(slot: &mut T, given: Option<T>) {
    if let Some(x) = given {
        *slot = x;
    }
}
