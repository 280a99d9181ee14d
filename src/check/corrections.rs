//! N301: a variant corrects a printed cell.

use super::Context;
use crate::diag::{Diagnostic, Severity, code};

pub fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let (spec, g) = (cx.spec, cx.g);
    let variant = g.variant.clone().map(|v| format!("variant {v}")).unwrap_or_default();
    for c in &g.corrections {
        let row = &spec.rows[c.row];
        let printed = if c.printed.is_empty() {
            "nothing".to_string()
        } else {
            crate::quote::quote(&c.printed)
        };
        let corrected = if c.corrected.is_empty() {
            "an empty cell".to_string()
        } else {
            crate::quote::quote(&c.corrected)
        };
        let mut d = Diagnostic::new(
            Severity::Note,
            code::CORRECTED,
            c.loc,
            format!(
                "{variant} corrects {}'s {}: the table prints {printed}, the variant uses {corrected}",
                row.label, c.column
            ),
        )
        .at(&row.label, &c.column);
        d = d.values(c.printed.clone(), c.corrected.clone());
        if let Some(p) = row.cells.get(&c.column) {
            d = d.related(p.loc, "the printed cell");
        }
        out.push(d);
    }
}
