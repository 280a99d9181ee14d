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

    pub(super) fn totals(&self, raw: &IndexMap<String, TotalFile>) -> Result<Vec<PrintedTotal>, SpecError> {
        let mut out = Vec::new();
        for (name, t) in raw {
            let tp = path(&[Seg::from("totals"), Seg::from(name.as_str())]);
            let (tolerance, unit) = self.figure_options(&tp, t.tolerance, t.exact, t.unit.as_deref(), None)?;
            let column = Column {
                name: name.clone(),
                kind: ColumnKind::Params,
                loc: self.r.marks.key(&tp),
                tolerance,
                unit,
                symbols: IndexMap::new(),
            };
            let pp = join(tp.clone(), "printed");
            let mut figures = Vec::new();
            let mut figure = |v: &Value, p: &[Seg], model: Option<String>| -> Result<(), SpecError> {
                let cell = self
                    .cell(&column, v, self.r.at(p), self.r.marks.text(p))
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
                figures.push(PrintedFigure { model, cell });
                Ok(())
            };
            match &t.printed {
                Value::Mapping(m) => {
                    for (k, v) in m {
                        let Some(model) = k.as_str() else {
                            return Err(self.err(self.r.at(&pp), "expected model names as the keys of printed"));
                        };
                        figure(v, &join(pp.clone(), model), Some(model.to_string()))?;
                    }
                }
                v => figure(v, &pp, None)?,
            }
            if figures.is_empty() {
                return Err(self.err(
                    self.r.at(&pp),
                    format!("total {} prints no figure", crate::quote::quote(name)),
                ));
            }
            out.push(PrintedTotal {
                name: name.clone(),
                counts: t.counts,
                printed_in: t.printed_in.clone(),
                figures,
                tolerance,
                loc: self.r.marks.key(&tp),
            });
        }
        Ok(out)
    }
}
