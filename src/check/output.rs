//! E101 (channels) and E102 (spatial size): a row's printed output against the derived one;
//! a spatial mismatch that a printed stride explains is E105 (see [`super::stride`]).

use super::Context;
use super::arithmetic::{channel_arithmetic, pass_through_note, printed_size, size_text, spatial_arithmetic};
use super::inherited::{self, Mismatch, Part};
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
    let patch_col = cx.column(ColumnKind::Patch);
    // Per row, where the chain of inherited channel / spatial mismatches it ends starts.
    let mut first_cause: [Vec<Option<usize>>; 2] = [vec![None; g.rows.len()], vec![None; g.rows.len()]];
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
            let mut arithmetic = channel_arithmetic(g, span.output);
            if let Some(note) = pass_through_note(g, span) {
                arithmetic = format!("{arithmetic}; {note}");
            }
            if let Some(up) = inherited::upstream(cx, i, col, (pc, ph, pw), Part::Channels) {
                let first = first_cause[0][up.row].unwrap_or(up.row);
                first_cause[0][i] = Some(first);
                let m = Mismatch {
                    part: Part::Channels,
                    printed: (pc, ph, pw),
                    derived,
                    own: arithmetic,
                };
                out.push(inherited::note(cx, i, col, &up, first, m));
            } else {
                let mut d = Diagnostic::new(
                    Severity::Error,
                    code::CHANNELS,
                    cell.loc,
                    format!("{} outputs {} channels, the table says {pc}", row.label, derived.0),
                )
                .at(&row.label, col)
                .values(size_text(pc, ph, pw), size_text(derived.0, derived.1, derived.2))
                .arithmetic(arithmetic);
                d.help = Some("correct the cell in a variant (rows: {…: {cells: {…}}}), or the filter counts if the transcription is wrong".into());
                out.push(d);
            }
        }
        // Printed sizes are for the printed input; channels are the same at every size.
        if cx.at_reference && (ph, pw) != (derived.1, derived.2) {
            if let Some(up) = inherited::upstream(cx, i, col, (pc, ph, pw), Part::Spatial) {
                let first = first_cause[1][up.row].unwrap_or(up.row);
                first_cause[1][i] = Some(first);
                let m = Mismatch {
                    part: Part::Spatial,
                    printed: (pc, ph, pw),
                    derived,
                    own: spatial_arithmetic(g, span),
                };
                out.push(inherited::note(cx, i, col, &up, first, m));
                continue;
            }
            let alt = super::stride::reading(cx, i, patch_col, (ph, pw), col);
            match alt {
                Some(d) => {
                    ambiguous_rows.push(i);
                    out.push(d);
                }
                None => out.push(
                    spatial(&row.label, col, cell.loc, (ph, pw), (derived.1, derived.2))
                        .values(size_text(pc, ph, pw), size_text(derived.0, derived.1, derived.2))
                        .arithmetic(spatial_arithmetic(g, span)),
                ),
            }
        }
    }
    ambiguous_rows
}

/// E102: the row outputs `derived` H×W where the table prints `printed` (the caller adds
/// the values as printed, with or without channels, and the arithmetic).
fn spatial(label: &str, col: &str, loc: crate::spec::Loc, printed: (i64, i64), derived: (i64, i64)) -> Diagnostic {
    Diagnostic::new(
        Severity::Error,
        code::SPATIAL,
        loc,
        format!(
            "{label} outputs {}×{}, the table says {}×{}",
            derived.0, derived.1, printed.0, printed.1
        ),
    )
    .at(label, col)
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
                spatial(&row.label, col, cell.loc, (ph, pw), (derived.1, derived.2))
                    .values(format!("{ph}×{pw}"), format!("{}×{}", derived.1, derived.2))
                    .arithmetic(spatial_arithmetic(g, span)),
            );
        }
    }
}
