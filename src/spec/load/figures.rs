//! Figure options (a column's or a printed total's tolerance, exactness and unit) and the
//! spec's `totals:`, what the paper prints about the whole network.

use super::*;
use crate::spec::cell::{Suffix, Tolerance};
use crate::spec::file::TotalFile;
use crate::spec::{PrintedFigure, PrintedTotal};

impl Loader<'_> {
    /// The tolerance and unit of a figure column or total at `p`; `header` is the column's
    /// name, which may print the unit (`params ×10⁶`).
    pub(super) fn figure_options(
        &self,
        p: &[Seg],
        tolerance: Option<f64>,
        exact: Option<bool>,
        unit: Option<&str>,
        header: Option<&str>,
    ) -> Result<(Option<Tolerance>, Option<Suffix>), SpecError> {
        let tolerance = match (tolerance, exact) {
            (Some(_), Some(true)) => {
                return Err(self.err(
                    self.r.at(&join(p.to_vec(), "exact")),
                    "a figure is either exact or within a tolerance, found both exact: true and tolerance",
                ));
            }
            (_, Some(true)) => Some(Tolerance::Exact),
            (Some(t), _) if !(t.is_finite() && t >= 0.0) => {
                return Err(self.err(
                    self.r.at(&join(p.to_vec(), "tolerance")),
                    format!("expected a non-negative relative tolerance, found {t}"),
                ));
            }
            (Some(t), _) => Some(Tolerance::Relative(t)),
            (None, _) => None,
        };
        let unit = match unit {
            Some(text) => {
                let up = join(p.to_vec(), "unit");
                let loc = self.r.marks.text(&up);
                Some(cell::parse_unit(text).map_err(|e| {
                    self.err(
                        yaml::source_loc(self.r.source, loc, e.offset),
                        format!("unit: {e} in {}", crate::quote::quote(text)),
                    )
                })?)
            }
            None => header.and_then(cell::unit_in_header),
        };
        Ok((tolerance, unit.filter(|u| *u != Suffix::None)))
    }

    /// The printed totals; `models` are the architecture columns, whose names a key may
    /// join with `,`.
    pub(super) fn totals(
        &self,
        raw: &IndexMap<String, TotalFile>,
        models: &[String],
    ) -> Result<Vec<PrintedTotal>, SpecError> {
        raw.iter().map(|(name, t)| self.total(name, t, models)).collect()
    }

    fn total(&self, name: &str, t: &TotalFile, models: &[String]) -> Result<PrintedTotal, SpecError> {
        let tp = path(&[Seg::from("totals"), Seg::from(name)]);
        let (tolerance, unit) = self.figure_options(&tp, t.tolerance, t.exact, t.unit.as_deref(), None)?;
        // A total's figures are read as a params column's cells.
        let column = Column {
            name: name.to_string(),
            kind: ColumnKind::Params,
            loc: self.r.marks.key(&tp),
            tolerance,
            unit,
            symbols: IndexMap::new(),
        };
        let pp = join(tp.clone(), "printed");
        let figures = self.printed_figures(name, &column, &t.printed, &pp, models)?;
        if figures.is_empty() {
            return Err(self.err(
                self.r.at(&pp),
                format!("total {} prints no figure", crate::quote::quote(name)),
            ));
        }
        Ok(PrintedTotal {
            name: name.to_string(),
            counts: t.counts,
            printed_in: t.printed_in.clone(),
            figures,
            tolerance,
            loc: self.r.marks.key(&tp),
        })
    }

    /// `printed:` at `pp`: one figure, or a mapping of models (or `A,A-LRN`) to figures.
    fn printed_figures(
        &self,
        name: &str,
        column: &Column,
        printed: &Value,
        pp: &[Seg],
        models: &[String],
    ) -> Result<Vec<PrintedFigure>, SpecError> {
        let Value::Mapping(m) = printed else {
            return Ok(vec![self.total_figure(name, column, printed, pp, None)?]);
        };
        let mut figures = Vec::new();
        for (k, v) in m {
            let Some(model) = k.as_str() else {
                return Err(self.err(self.r.at(pp), "expected model names as the keys of printed"));
            };
            // One figure printed for several models (VGG's Table 2, `A,A-LRN`), unless a
            // column's own name holds the comma.
            let names: Vec<&str> = if models.iter().any(|m| m == model) {
                vec![model]
            } else {
                model.split(',').map(str::trim).collect()
            };
            for one in names {
                if one.is_empty() {
                    return Err(self.err(
                        self.r.marks.key(&join(pp.to_vec(), model)),
                        format!(
                            "expected model names separated by ',' as a key of printed, found {}",
                            crate::quote::quote(model)
                        ),
                    ));
                }
                figures.push(self.total_figure(name, column, v, &join(pp.to_vec(), model), Some(one.to_string()))?);
            }
        }
        Ok(figures)
    }

    /// One printed figure of the total `name`, at `p`.
    fn total_figure(
        &self,
        name: &str,
        column: &Column,
        v: &Value,
        p: &[Seg],
        model: Option<String>,
    ) -> Result<PrintedFigure, SpecError> {
        let cell = self
            .cell(column, v, self.r.at(p), self.r.marks.text(p))
            .map_err(|mut e| {
                // Messages name the total, not a column.
                if let Some(rest) = e.message.strip_prefix("column ") {
                    e.message = format!("total {rest}");
                }
                e
            })?
            .ok_or_else(|| {
                self.err(
                    self.r.at(p),
                    format!("total {} prints no figure", crate::quote::quote(name)),
                )
            })?;
        Ok(PrintedFigure { model, cell })
    }
}
