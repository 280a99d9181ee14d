//! The table's rows, sub-rows and row names; auxiliary heads.

use super::*;

/// The key of a row's sub-rows (ResNet's conv2_x prints a pool line above its blocks).
const SUB_ROWS: &str = "sub_rows";

/// The key of a row's own vars.
const ROW_VARS: &str = "vars";

impl Loader<'_> {
    pub(super) fn rows(&self, raw: &[IndexMap<String, Value>], spec: &Spec) -> Result<Vec<Row>, SpecError> {
        if raw.is_empty() {
            return Err(self.err(self.r.at(&path(&["rows"])), "expected at least one row"));
        }
        // None in a table of architectures without row names: every row is numbered.
        let type_col = spec
            .columns
            .values()
            .find(|c| matches!(c.kind, ColumnKind::Type | ColumnKind::Name))
            .map_or(String::new(), |c| c.name.clone());
        let named = spec.column_of(ColumnKind::Type).is_none();
        let mut naming = RowNames::default();
        let mut rows: Vec<Row> = Vec::new();
        for (i, unit) in self.row_units(raw, spec)?.into_iter().enumerate() {
            let row = if named {
                self.named_row(i, unit, &type_col, &naming, &rows)?
            } else {
                self.typed_row(i, unit, &type_col, &mut naming, &rows)?
            };
            naming.names.insert(row.name.clone(), rows.len());
            rows.push(row);
        }
        number_repeated_labels(&mut rows);
        Ok(rows)
    }

    /// Every row of the file, a row with sub-rows as one unit per sub-row.
    fn row_units(&self, raw: &[IndexMap<String, Value>], spec: &Spec) -> Result<Vec<RowUnit>, SpecError> {
        let mut units = Vec::with_capacity(raw.len());
        for (i, map) in raw.iter().enumerate() {
            let rp = path(&[Seg::from("rows"), Seg::from(i)]);
            let shared = self.row_cells(map, &rp, spec)?;
            let shared_vars = self.row_vars(map, &rp, spec, IndexMap::new())?;
            match map.get(SUB_ROWS) {
                None => units.push(RowUnit {
                    path: rp,
                    cells: shared,
                    vars: shared_vars,
                    sub: None,
                }),
                Some(Value::Sequence(subs)) if !subs.is_empty() => {
                    for (j, s) in subs.iter().enumerate() {
                        let sp = join(join(rp.clone(), SUB_ROWS), j);
                        units.push(self.sub_row(s, sp, &shared, &shared_vars, (j, subs.len()), spec)?);
                    }
                }
                Some(_) => {
                    return Err(self.err(
                        self.r.at(&join(rp.clone(), SUB_ROWS)),
                        "expected sub_rows as a non-empty list of sub-rows",
                    ));
                }
            }
        }
        Ok(units)
    }

    /// Sub-row `j` of `n` at `sp`, with the cells and vars of its row.
    fn sub_row(
        &self,
        s: &Value,
        sp: Vec<Seg>,
        shared: &IndexMap<String, Cell>,
        shared_vars: &IndexMap<String, Lit>,
        (j, n): (usize, usize),
        spec: &Spec,
    ) -> Result<RowUnit, SpecError> {
        let Value::Mapping(m) = s else {
            return Err(self.err(self.r.at(&sp), "expected a sub-row: a mapping of column to cell"));
        };
        let sm = self.named_entries(m, self.r.at(&sp), "column")?;
        let own = self.row_cells(&sm, &sp, spec)?;
        let vars = self.row_vars(&sm, &sp, spec, shared_vars.clone())?;
        // The row's cells hold for every sub-row, except the checked ones, which describe
        // the whole row: they go with its last sub-row.
        let last = j + 1 == n;
        let mut cells: IndexMap<String, Cell> = shared
            .iter()
            .filter(|(k, _)| last || !spec.columns[*k].kind.is_checked())
            .map(|(k, c)| (k.clone(), c.clone()))
            .collect();
        for (k, c) in own {
            if cells.contains_key(&k) && shared.contains_key(&k) {
                return Err(self.err(
                    c.loc,
                    format!(
                        "column {} is given by the row and by its sub-row",
                        crate::quote::quote(&k)
                    ),
                ));
            }
            cells.insert(k, c);
        }
        Ok(RowUnit {
            path: sp,
            cells,
            vars,
            sub: Some((j, n)),
        })
    }

    /// Row `i` of a table of architectures: named by its name cell, or numbered.
    fn named_row(
        &self,
        i: usize,
        unit: RowUnit,
        type_col: &str,
        naming: &RowNames,
        rows: &[Row],
    ) -> Result<Row, SpecError> {
        let RowUnit {
            path: rp,
            mut cells,
            vars,
            sub,
        } = unit;
        let name_cell = cells.get(type_col);
        let text = name_cell.map(|c| c.text.trim().to_string()).unwrap_or_default();
        let stem = if text.is_empty() {
            format!("row{}", i + 1)
        } else {
            sanitize(&text)
        };
        let (name, label) = match sub {
            Some((j, _)) => (
                format!("{stem}_{}", j + 1),
                format!(
                    "{} (sub-row {})",
                    if text.is_empty() { "(blank)" } else { &text },
                    j + 1
                ),
            ),
            None if text.is_empty() => (stem, format!("(row {})", i + 1)),
            None => (stem, text),
        };
        if let Some(prev) = naming.names.get(&name) {
            return Err(self.err(
                name_cell.map_or(self.r.at(&rp), |c| c.loc),
                format!(
                    "duplicate row name {}: row at line {} has the same name",
                    crate::quote::quote(&name),
                    rows[*prev].loc.line
                ),
            ));
        }
        cells.shift_remove(SUB_ROWS);
        Ok(Row {
            name,
            label,
            row_type: cell::RowType {
                words: String::new(),
                starred: false,
                arg: None,
                repeat: None,
                kernel: None,
                stride: None,
            },
            cells,
            vars,
            loc: self.r.at(&rp),
        })
    }

    /// Row `i` of a table with a type column: named by its type and label, or its type and
    /// ordinal.
    fn typed_row(
        &self,
        i: usize,
        unit: RowUnit,
        type_col: &str,
        naming: &mut RowNames,
        rows: &[Row],
    ) -> Result<Row, SpecError> {
        let RowUnit {
            path: rp, cells, vars, ..
        } = unit;
        let Some(type_cell) = cells.get(type_col) else {
            return Err(self.err(
                self.r.at(&rp),
                format!(
                    "row {} has no {type_col} cell",
                    i + 1,
                    type_col = crate::quote::quote(&type_col)
                ),
            ));
        };
        let CellValue::Type(rt) = &type_cell.value else {
            unreachable!("type column parses to a type")
        };
        let stem: String = sanitize(&rt.words);
        let name = match &rt.arg {
            Some(TypeArg::Label(l)) => format!("{stem}_{}", sanitize(l)),
            _ => {
                let n = naming.ordinals.entry(stem.clone()).or_insert(0);
                *n += 1;
                format!("{stem}_{n}")
            }
        };
        if let Some(prev) = naming.names.get(&name) {
            return Err(self.err(
                type_cell.loc,
                format!(
                    "duplicate row name {name}: row at line {} has the same type and label",
                    rows[*prev].loc.line,
                    name = crate::quote::quote(&name)
                ),
            ));
        }
        Ok(Row {
            name,
            label: type_cell.text.trim().to_string(),
            row_type: rt.clone(),
            loc: self.r.at(&rp),
            cells,
            vars,
        })
    }

    /// A row's `vars:` over `base` (a sub-row's over its row's): declared vars only.
    fn row_vars(
        &self,
        map: &IndexMap<String, Value>,
        rp: &[Seg],
        spec: &Spec,
        mut base: IndexMap<String, Lit>,
    ) -> Result<IndexMap<String, Lit>, SpecError> {
        let Some(v) = map.get(ROW_VARS) else { return Ok(base) };
        let vp = join(rp.to_vec(), ROW_VARS);
        let Value::Mapping(m) = v else {
            return Err(self.err(self.r.at(&vp), "expected the row's vars as a mapping"));
        };
        let raw = self.named_entries(m, self.r.at(&vp), "var")?;
        base.extend(self.vars(&raw, &vp, Some(&spec.vars))?);
        Ok(base)
    }

    /// The cells of one row (or sub-row) mapping, each parsed with its column's grammar; a
    /// merged cell `⟦…⟧` fills every architecture column.
    fn row_cells(
        &self,
        map: &IndexMap<String, Value>,
        rp: &[Seg],
        spec: &Spec,
    ) -> Result<IndexMap<String, Cell>, SpecError> {
        // The row's path is hashed once; each cell's position is then found from it.
        let rp_key = yaml::key_of(rp);
        let mut cells = IndexMap::new();
        let mut merged: Option<(String, Cell)> = None;
        for (k, v) in map {
            if k == SUB_ROWS || k == ROW_VARS {
                continue;
            }
            let Some(col) = spec.columns.get(k) else {
                let known: Vec<&str> = spec.columns.keys().map(|s| s.as_str()).collect();
                let cp = join(rp.to_vec(), k.as_str());
                let at = self.r.marks.key(&cp);
                return Err(self.unknown_name(at, "column", k, "the table's columns are", &known, true));
            };
            let (loc, start) = self.r.marks.child_value_and_text(rp, rp_key, k);
            if let Some(c) = self.cell(col, v, loc, start)? {
                if c.text.trim_start().starts_with('⟦') {
                    if !spec.models.contains(k) {
                        return Err(self.err(
                            loc,
                            format!(
                                "a merged cell ⟦…⟧ spans the architecture columns, and {} is not one (models: [...])",
                                crate::quote::quote(k)
                            ),
                        ));
                    }
                    merged = Some((k.clone(), c.clone()));
                }
                cells.insert(k.clone(), c);
            }
        }
        if let Some((k, c)) = merged {
            for m in &spec.models {
                if m == &k {
                    continue;
                }
                if let Some(other) = cells.get(m) {
                    return Err(self.err(
                        other.loc,
                        format!(
                            "column {} is filled, but the merged cell in {} (line {}) spans every architecture column",
                            crate::quote::quote(m),
                            crate::quote::quote(&k),
                            c.loc.line
                        ),
                    ));
                }
                cells.insert(m.clone(), c.clone());
            }
        }
        Ok(cells)
    }

    /// A row named in a variant or aux head: its printed type cell or its derived name.
    pub(super) fn find_row(&self, spec: &Spec, key: &str, loc: Loc) -> Result<usize, SpecError> {
        let by_name = spec.rows.iter().position(|r| r.name == key);
        let type_col = spec
            .column_of(ColumnKind::Type)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let printed = |r: &Row| {
            r.cells
                .get(&type_col)
                .map(|c| c.text.trim().to_string())
                .unwrap_or_default()
        };
        let by_label: Vec<usize> = spec
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.label == key || printed(r) == key)
            .map(|(i, _)| i)
            .collect();
        match (by_name, by_label.as_slice()) {
            (Some(i), _) => Ok(i),
            (None, [i]) => Ok(*i),
            (None, []) => Err(self
                .err(
                    loc,
                    format!(
                        "no row is named {key}; rows are named by their type cell (e.g. {}) or as {}{}",
                        crate::quote::quote(&spec.rows[0].label),
                        crate::quote::quote(&spec.rows[0].name),
                        crate::suggest::did_you_mean(
                            key,
                            spec.rows.iter().flat_map(|r| [r.label.as_str(), r.name.as_str()])
                        ),
                        key = crate::quote::quote(&key)
                    ),
                )
                .coded(crate::diag::code::UNKNOWN_NAME)),
            (None, many) => {
                let names: Vec<&str> = many.iter().map(|i| spec.rows[*i].name.as_str()).collect();
                Err(self.err(
                    loc,
                    format!(
                        "{key} names {} rows; use one of: {}",
                        many.len(),
                        names.join(", "),
                        key = crate::quote::quote(&key)
                    ),
                ))
            }
        }
    }

    pub(super) fn aux_heads(
        &self,
        raw: &IndexMap<String, AuxHeadFile>,
        p: &[Seg],
        spec: &Spec,
    ) -> Result<Vec<AuxHead>, SpecError> {
        let mut out = Vec::new();
        for (name, h) in raw {
            let hp = join(p.to_vec(), name.as_str());
            let loc = self.r.marks.key(&hp);
            check_name(&self.r, name, loc)?;
            let after = self.find_row(spec, &h.after, self.r.at(&join(hp.clone(), "after")))?;
            let at = match &h.at {
                Some(a) => {
                    let at_loc = self.r.at(&join(hp.clone(), "at"));
                    Some((check_path(&self.r, a, at_loc)?, at_loc))
                }
                None => None,
            };
            let layers = self.r.layers(&h.layers, &join(hp, "layers"))?;
            self.check_layers(&layers, spec)?;
            out.push(AuxHead {
                name: name.clone(),
                after,
                at,
                layers,
                loc,
            });
        }
        Ok(out)
    }
}

/// One row of the table as the file gives it, a sub-row with its row's cells and vars.
struct RowUnit {
    path: Vec<Seg>,
    cells: IndexMap<String, Cell>,
    vars: IndexMap<String, Lit>,
    /// Sub-row `j` of `n`.
    sub: Option<(usize, usize)>,
}

/// The names given so far, and how many rows of each type stem were numbered.
#[derive(Default)]
struct RowNames {
    names: std::collections::HashMap<String, usize>,
    ordinals: IndexMap<String, usize>,
}

/// A label printed on several rows ("convolution", "max pool") is told apart by its
/// position in the table wherever it is shown.
fn number_repeated_labels(rows: &mut [Row]) {
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for r in rows.iter() {
        *counts.entry(r.label.clone()).or_insert(0) += 1;
    }
    for (i, r) in rows.iter_mut().enumerate() {
        if counts[&r.label] > 1 {
            r.label = format!("{} (row {})", r.label, i + 1);
        }
    }
}
