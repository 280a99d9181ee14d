//! W201 (parameters) and W202 (multiply-adds): a printed rounded figure against the derived
//! count, within the printed rounding and the spec's tolerance.

use super::Context;
use crate::diag::{Diagnostic, Severity, code};
use crate::spec::{ColumnKind, Quantity, Value};

pub fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let (spec, g) = (cx.spec, cx.g);
    for i in 0..g.rows.len() {
        let row = &spec.rows[i];
        let cells = g.row_cells(spec, i);
        let rc = &cx.rows[i].cost;
        for (col, derived_n, code, what) in [
            (cx.column(ColumnKind::Params), rc.params, code::PARAMS, "parameters"),
            (cx.column(ColumnKind::Ops), rc.macs, code::OPS, "multiply-adds"),
        ] {
            let Some(col) = col else { continue };
            let Some(cell) = cells.get(col) else { continue };
            let Value::Quantity(q) = &cell.value else { continue };
            if !cx.at_reference && code == code::OPS {
                continue;
            }
            let column = spec.columns.get(col);
            let tolerance = super::figures::column_tolerance(column, spec);
            let (rel, _) = compare_quantity(q, derived_n);
            if !q.admits(derived_n, tolerance) {
                out.push(
                    Diagnostic::new(
                        Severity::Warning,
                        code,
                        cell.loc,
                        if derived_n == 0 {
                            // A difference relative to nothing has no percentage.
                            format!("{} has no {what}, the table says {}", row.label, cell.text)
                        } else {
                            format!(
                                "{} has {} {what}, the table says {} ({:+.1}%)",
                                row.label,
                                crate::fmt::thousands(derived_n),
                                cell.text,
                                (q.value() - derived_n as f64) / derived_n as f64 * 100.0
                            )
                        },
                    )
                    .at(&row.label, col)
                    .values(cell.text.clone(), crate::fmt::thousands(derived_n))
                    .arithmetic(match tolerance {
                        crate::spec::Tolerance::DigitsOr(_) if derived_n == 0 => format!(
                            "derived 0; printed {} ± {}; no relative difference from 0 (any nonzero figure is beyond the tolerance)",
                            figure(q.value()),
                            figure(q.half_unit())
                        ),
                        crate::spec::Tolerance::DigitsOr(t) => format!(
                            "derived {}; printed {} ± {}; relative difference {:.1}% > tolerance {:.1}%",
                            crate::fmt::thousands(derived_n),
                            figure(q.value()),
                            figure(q.half_unit()),
                            rel * 100.0,
                            t * 100.0
                        ),
                        other => super::figures::arithmetic(&cell.text, q, derived_n, other),
                    }),
                );
            }
        }
    }
}

/// Relative difference of a printed rounded figure from the derived count.
fn compare_quantity(q: &Quantity, derived: i64) -> (f64, bool) {
    let v = q.value();
    let within_rounding = (v - derived as f64).abs() <= q.half_unit() + 1e-9;
    let rel = if derived == 0 {
        if v == 0.0 { 0.0 } else { f64::INFINITY }
    } else {
        (v - derived as f64).abs() / derived as f64
    };
    (rel, within_rounding)
}

/// A printed figure read as a number, grouped like every count (`2,700`, `0.5`).
fn figure(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 9e18 {
        crate::fmt::thousands(x as i64)
    } else {
        format!("{x}")
    }
}
