//! E104: each row against the previous row's printed output, where the chained checks do
//! not already explain it.

use super::Context;
use super::arithmetic::{printed_size, size_text};
use crate::diag::{Diagnostic, Severity, code};
use crate::ir;
use crate::ir::chw;
use crate::spec::ColumnKind;

/// `ambiguous`: rows with two readings (E105), whose neighbours are not compared.
pub fn check(cx: &Context<'_>, ambiguous: &[usize], out: &mut Vec<Diagnostic>) {
    let (spec, g, opts, reference) = (cx.spec, cx.g, cx.opts, cx.g.reference);
    if let Some(col) = cx.column(ColumnKind::Output) {
        for i in 1..g.rows.len() {
            let (Some(prev), Some(this)) = (
                g.row_cells(spec, i - 1).get(col).and_then(printed_size),
                g.row_cells(spec, i).get(col).and_then(printed_size),
            ) else {
                continue;
            };
            if ambiguous.contains(&(i - 1)) || ambiguous.contains(&i) || g.rows[i].input != g.rows[i - 1].output {
                continue;
            }
            let Ok(local) = ir::row_output_from(spec, opts, i, prev) else {
                continue;
            };
            let derived = chw(&g.nodes[g.rows[i].output].shape, reference);
            let chan_unexplained = local.0 != this.0 && derived.0 == this.0;
            // Away from the printed input only the channels are comparable.
            let spatial_unexplained =
                cx.at_reference && (local.1, local.2) != (this.1, this.2) && (derived.1, derived.2) == (this.1, this.2);
            if chan_unexplained || spatial_unexplained {
                let (pr, tr) = (&spec.rows[i - 1], &spec.rows[i]);
                out.push(
                    Diagnostic::new(
                        Severity::Error,
                        code::DISCONTINUITY,
                        g.row_cells(spec, i)[col].loc,
                        format!(
                            "{} prints {}, but fed {}'s printed {} it outputs {}",
                            tr.label,
                            size_text(this.0, this.1, this.2),
                            pr.label,
                            size_text(prev.0, prev.1, prev.2),
                            size_text(local.0, local.1, local.2)
                        ),
                    )
                    .at(&tr.label, col)
                    .values(size_text(this.0, this.1, this.2), size_text(local.0, local.1, local.2))
                    .related(
                        g.row_cells(spec, i - 1)[col].loc,
                        format!("{}'s printed output", pr.label),
                    ),
                );
            }
        }
    }
}
