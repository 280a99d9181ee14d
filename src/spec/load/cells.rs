//! One cell parsed with its column's grammar, its errors at the place in the file they are
//! about.

use super::*;

impl Loader<'_> {
    /// Parses one cell with its column's grammar; `loc` is the cell's position and `start`
    /// that of its text's first character (after an opening quote).
    pub(super) fn cell(&self, col: &Column, v: &Value, loc: Loc, start: Loc) -> Result<Option<Cell>, SpecError> {
        let text = match cell_text(v) {
            None => return Ok(None),
            Some(Err(found)) => {
                return Err(self
                    .err(
                        loc,
                        format!(
                            "column {} expects a cell as text or a number, found {found}",
                            crate::quote::quote(&col.name)
                        ),
                    )
                    .coded(crate::diag::code::CELL));
            }
            Some(Ok(t)) => t,
        };
        // A cell merged across the architecture columns, `⟦…⟧`: its grammar is the column's.
        let (inner, shift) = match text.trim().strip_prefix('⟦').and_then(|t| t.strip_suffix('⟧')) {
            Some(inner) => (inner.to_string(), text.len() - text.trim_start().len() + 1),
            None => (text.clone(), 0),
        };
        let value = parse_cell(col, &inner).map_err(|mut e| {
            e.offset += shift;
            self.cell_error(col, v, &text, start, &e)
        })?;
        Ok(Some(Cell { text, value, loc }))
    }

    /// The error of a cell whose text `text` (read from `v`, starting at `start`) does not
    /// parse, at the place in the file its offset points to.
    fn cell_error(&self, col: &Column, v: &Value, text: &str, start: Loc, e: &CellError) -> SpecError {
        let message = |e: &CellError, quoted: &str| {
            format!(
                "column {}: {e} in {}",
                crate::quote::quote(&col.name),
                crate::quote::quote(quoted)
            )
        };
        let at = |offset: usize| Loc {
            line: start.line,
            col: start.col + offset,
        };
        // A number is read by YAML (1.6e1 becomes 16.0): the message quotes the file's
        // text, and the error is the one that text gives, at its own offset.
        let written = match v {
            Value::Number(_) => yaml::plain_scalar_at(self.r.source, start).filter(|w| *w != text),
            _ => None,
        };
        match written {
            None => self.err(yaml::source_loc(self.r.source, start, e.offset), message(e, text)),
            Some(w) => match parse_cell(col, w.strip_prefix('⟦').and_then(|w| w.strip_suffix('⟧')).unwrap_or(w)) {
                Err(we) => self.err(at(we.offset), message(&we, w)),
                Ok(_) => self.err(at(0), message(e, w)),
            },
        }
        .coded(crate::diag::code::CELL)
    }
}

/// A cell's text read with its column's grammar: one arm per kind of column.
fn parse_cell(col: &Column, text: &str) -> Result<CellValue, CellError> {
    Ok(match col.kind {
        ColumnKind::Name => CellValue::Type(cell::RowType {
            words: text.trim().to_string(),
            starred: false,
            arg: None,
            repeat: None,
            kernel: None,
            stride: None,
        }),
        ColumnKind::Layers => CellValue::Layers(cell::parse_layers(text)?),
        ColumnKind::Spatial => {
            let (h, w) = cell::parse_size_hw(text)?;
            CellValue::SizeHw { h, w }
        }
        ColumnKind::Type => CellValue::Type(cell::parse_row_type(text)?),
        ColumnKind::Patch => CellValue::Patch(cell::parse_patch(text)?),
        ColumnKind::Output => CellValue::Size(cell::parse_size(text)?),
        ColumnKind::Depth => CellValue::Count(cell::parse_count(text)?),
        ColumnKind::Count => {
            let symbols: Vec<&str> = col.symbols.keys().map(String::as_str).collect();
            match cell::parse_count_cell(text, &symbols)? {
                cell::CountCell::Number(n) => CellValue::Count(n),
                cell::CountCell::Symbol(s) => CellValue::CountSymbol {
                    means: col.symbols[&s].clone(),
                    symbol: s,
                },
            }
        }
        ColumnKind::PoolProj => CellValue::PoolProj(cell::parse_pool_proj(text)?),
        ColumnKind::Params | ColumnKind::Ops => {
            let q = cell::parse_figure(text)?;
            CellValue::Quantity(match col.unit {
                Some(unit) => cell::with_unit(q, unit)?,
                None => q,
            })
        }
        ColumnKind::Input => CellValue::Input(cell::parse_printed_size(text)?),
        ColumnKind::Filter => CellValue::Filter(cell::parse_filter(text)?),
        ColumnKind::Remarks => CellValue::Text(text.trim().to_string()),
        // Text that does not start like a patch is a remark; a patch gone wrong part-way
        // (`3×3/0`) is still an error.
        ColumnKind::PatchOrRemarks => match cell::parse_patch(text) {
            Ok(p) => CellValue::Patch(p),
            Err(e) if e.offset == text.chars().count() - text.trim_start().chars().count() => {
                CellValue::Text(text.trim().to_string())
            }
            Err(e) => return Err(e),
        },
    })
}
