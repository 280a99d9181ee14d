//! E101 (channels) and E102 (spatial size): a row's printed output against the derived one;
//! a spatial mismatch that a printed stride explains is E105 (see [`super::stride`]).

use super::Context;
use super::arithmetic::{channel_arithmetic, pass_through_note, printed_size, size_text, spatial_arithmetic};
use crate::diag::{Diagnostic, Severity, code};
use crate::ir::domain::chw;
use crate::spec::ColumnKind;

/// Returns the rows whose mismatch has two readings (E105), which the continuity check skips.
pub fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) -> Vec<usize> {
    let (spec, g, opts, reference) = (cx.spec, cx.g, cx.opts, cx.g.reference);
    let mut ambiguous_rows = Vec::new();
    spatial_only(cx, out);
    let Some(col) = cx.column(ColumnKind::Output) else {
        return ambiguous_rows;
    };
    if !cx.at_reference {
        return ambiguous_rows;
    }
    let patch_col = cx.column(ColumnKind::Patch);
    for (i, span) in g.rows.iter().enumerate() {
        let row = &spec.rows[i];
        let cells = g.row_cells(spec, i);
        let derived = chw(&g.nodes[span.output].shape, reference);
        let Some((pc, ph, pw)) = cells.get(col).and_then(printed_size) else {
            continue;
        };
        let cell = &cells[col];
        // A classifier row prints the paper's class count; --classes changes it on purpose.
        let reclassed = opts
            .classes
            .is_some_and(|k| k as i64 == derived.0 && pc == spec.classes as i64);
        if pc != derived.0 && !reclassed {
            let mut d = Diagnostic::new(
                Severity::Error,
                code::CHANNELS,
                cell.loc,
                format!("{} outputs {} channels, the table says {pc}", row.label, derived.0),
            )
            .at(&row.label, col)
            .values(size_text(pc, ph, pw), size_text(derived.0, derived.1, derived.2))
            .arithmetic(channel_arithmetic(g, span.output));
            if let Some(note) = pass_through_note(g, span) {
                d.arithmetic = Some(format!("{}; {note}", d.arithmetic.unwrap_or_default()));
                if i > 0 {
                    let prev = &spec.rows[i - 1];
                    let prev_printed = g.row_cells(spec, i - 1).get(col).and_then(printed_size);
                    let prev_derived = chw(&g.nodes[g.rows[i - 1].output].shape, reference).0;
                    if let Some((ppc, _, _)) = prev_printed.filter(|p| p.0 != prev_derived) {
                        d = d.related(
                            g.row_cells(spec, i - 1)[col].loc,
                            format!(
                                "{} derives {prev_derived} channels where the table prints {ppc}",
                                prev.label
                            ),
                        );
                        d.help = Some(format!(
                            "the printed {pc} follows from {}'s printed {ppc}; fix {} first",
                            prev.label, prev.label
                        ));
                    }
                }
            }
            if d.help.is_none() {
                d.help = Some("correct the cell in a variant (rows: {…: {cells: {…}}}), or the filter counts if the transcription is wrong".into());
            }
            out.push(d);
        }
        if (ph, pw) != (derived.1, derived.2) {
            let alt = super::stride::reading(cx, i, patch_col, (ph, pw), col);
            match alt {
                Some(d) => {
                    ambiguous_rows.push(i);
                    out.push(d);
                }
                None => out.push(
                    Diagnostic::new(
                        Severity::Error,
                        code::SPATIAL,
                        cell.loc,
                        format!(
                            "{} outputs {}×{}, the table says {ph}×{pw}",
                            row.label, derived.1, derived.2
                        ),
                    )
                    .at(&row.label, col)
                    .values(size_text(pc, ph, pw), size_text(derived.0, derived.1, derived.2))
                    .arithmetic(spatial_arithmetic(g, span)),
                ),
            }
        }
    }
    ambiguous_rows
}

/// E102 for a printed output size without channels (`56×56`): H×W only.
fn spatial_only(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let (spec, g, reference) = (cx.spec, cx.g, cx.g.reference);
    let Some(col) = cx.column(ColumnKind::Spatial) else {
        return;
    };
    if !cx.at_reference {
        return;
    }
    for (i, span) in g.rows.iter().enumerate() {
        let Some(cell) = g.row_cells(spec, i).get(col) else {
            continue;
        };
        let crate::spec::Value::SizeHw { h, w } = cell.value else {
            continue;
        };
        let (ph, pw) = (h as i64, w as i64);
        let derived = chw(&g.nodes[span.output].shape, reference);
        if (ph, pw) != (derived.1, derived.2) {
            let row = &spec.rows[i];
            out.push(
                Diagnostic::new(
                    Severity::Error,
                    code::SPATIAL,
                    cell.loc,
                    format!(
                        "{} outputs {}×{}, the table says {ph}×{pw}",
                        row.label, derived.1, derived.2
                    ),
                )
                .at(&row.label, col)
                .values(format!("{ph}×{pw}"), format!("{}×{}", derived.1, derived.2))
                .arithmetic(spatial_arithmetic(g, span)),
            );
        }
    }
}
