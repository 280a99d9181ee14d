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
            let (rel, within) = compare_quantity(q, derived_n);
            if !within && rel > spec.tolerance {
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
                                human(derived_n),
                                cell.text,
                                (q.value() - derived_n as f64) / derived_n as f64 * 100.0
                            )
                        },
                    )
                    .at(&row.label, col)
                    .values(cell.text.clone(), derived_n.to_string())
                    .arithmetic(if derived_n == 0 {
                        format!(
                            "derived 0; printed {} ± {}; no relative difference from 0 (any nonzero figure is beyond the tolerance)",
                            q.value(),
                            q.half_unit()
                        )
                    } else {
                        format!(
                            "derived {derived_n}; printed {} ± {}; relative difference {:.1}% > tolerance {:.1}%",
                            q.value(),
                            q.half_unit(),
                            rel * 100.0,
                            spec.tolerance * 100.0
                        )
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

pub fn human(n: i64) -> String {
    let a = n.abs() as f64;
    if a >= 1e9 {
        format!("{:.2}G", n as f64 / 1e9)
    } else if a >= 1e6 {
        format!("{:.2}M", n as f64 / 1e6)
    } else if a >= 1e3 {
        format!("{:.1}K", n as f64 / 1e3)
    } else {
        n.to_string()
    }
}
