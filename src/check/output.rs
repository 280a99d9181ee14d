//! E101 (channels) and E102 (spatial size): a row's printed output against the derived one;
//! a spatial mismatch that a printed stride explains is E105 (see [`super::stride`]).

use super::Context;
use super::arithmetic::{channel_arithmetic, pass_through_note, printed_size, size_text, spatial_arithmetic};
use super::inherited::{self, Mismatch, Part};
use crate::diag::{Diagnostic, Severity, code};
use crate::ir::chw;
use crate::spec::ColumnKind;

/// Returns the rows whose mismatch has two readings (E105), which the continuity check skips.
pub fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) -> Vec<usize> {
    let (spec, g, opts, reference) = (cx.spec, cx.g, cx.opts, cx.g.reference);
    let mut ambiguous_rows = Vec::new();
    spatial_only(cx, out);
    let Some(col) = cx.column(ColumnKind::Output) else {
        return ambiguous_rows;
    };
    // Per row, where the chain of inherited channel / spatial mismatches it ends starts.
    let mut first_cause: [Vec<Option<usize>>; 2] = [vec![None; g.rows.len()], vec![None; g.rows.len()]];
    for (i, span) in g.rows.iter().enumerate() {
        let derived = chw(&g.nodes[span.output].shape, reference);
        let Some(printed) = g.row_cells(spec, i).get(col).and_then(printed_size) else {
            continue;
        };
        // A classifier row prints the paper's class count; --classes changes it on purpose.
        let reclassed = opts
            .classes
            .is_some_and(|k| k as i64 == derived.0 && printed.0 == spec.classes as i64);
        if printed.0 != derived.0 && !reclassed {
            out.push(channels(cx, i, col, printed, derived, &mut first_cause[0]));
        }
        // Printed sizes are for the printed input; channels are the same at every size.
        if cx.at_reference && (printed.1, printed.2) != (derived.1, derived.2) {
            let (d, ambiguous) = spatial_mismatch(cx, i, col, printed, derived, &mut first_cause[1]);
            if ambiguous {
                ambiguous_rows.push(i);
            }
            out.push(d);
        }
    }
    ambiguous_rows
}

/// The mismatch row `i` inherits from the row before it (N304), recording in `first_cause`
/// where the chain it ends starts; the mismatch back when it is the row's own.
fn inherited_note(
    cx: &Context<'_>,
    i: usize,
    col: &str,
    m: Mismatch,
    first_cause: &mut [Option<usize>],
) -> Result<Diagnostic, Mismatch> {
    let Some(up) = inherited::upstream(cx, i, col, m.printed, m.part) else {
        return Err(m);
    };
    let first = first_cause[up.row].unwrap_or(up.row);
    first_cause[i] = Some(first);
    Ok(inherited::note(cx, i, col, &up, first, m))
}

/// E101 for row `i`'s channels (or the N304 note where they follow from the row before).
fn channels(
    cx: &Context<'_>,
    i: usize,
    col: &str,
    printed: (i64, i64, i64),
    derived: (i64, i64, i64),
    first_cause: &mut [Option<usize>],
) -> Diagnostic {
    let (spec, g) = (cx.spec, cx.g);
    let span = &g.rows[i];
    let mut arithmetic = channel_arithmetic(g, span.output);
    if let Some(note) = pass_through_note(g, span) {
        arithmetic = format!("{arithmetic}; {note}");
    }
    let m = Mismatch {
        part: Part::Channels,
        printed,
        derived,
        own: arithmetic,
    };
    let m = match inherited_note(cx, i, col, m, first_cause) {
        Ok(note) => return note,
        Err(m) => m,
    };
    let row = &spec.rows[i];
    let (pc, ph, pw) = printed;
    let mut d = Diagnostic::new(
        Severity::Error,
        code::CHANNELS,
        g.row_cells(spec, i)[col].loc,
        format!("{} outputs {} channels, the table says {pc}", row.label, derived.0),
    )
    .at(&row.label, col)
    .values(size_text(pc, ph, pw), size_text(derived.0, derived.1, derived.2))
    .arithmetic(m.own);
    d.help = Some(
        "correct the cell in a variant (rows: {…: {cells: {…}}}), or the filter counts if the transcription is wrong"
            .into(),
    );
    d
}

/// Row `i`'s printed H×W against the derived one: the N304 note where it follows from the
/// row before, E105 where dropping a printed stride gives it (then `true`: two readings),
/// else E102.
fn spatial_mismatch(
    cx: &Context<'_>,
    i: usize,
    col: &str,
    printed: (i64, i64, i64),
    derived: (i64, i64, i64),
    first_cause: &mut [Option<usize>],
) -> (Diagnostic, bool) {
    let (spec, g) = (cx.spec, cx.g);
    let m = Mismatch {
        part: Part::Spatial,
        printed,
        derived,
        own: spatial_arithmetic(g, &g.rows[i]),
    };
    let m = match inherited_note(cx, i, col, m, first_cause) {
        Ok(note) => return (note, false),
        Err(m) => m,
    };
    let (pc, ph, pw) = printed;
    if let Some(d) = super::stride::reading(cx, i, cx.column(ColumnKind::Patch), (ph, pw), col) {
        return (d, true);
    }
    let label = &spec.rows[i].label;
    let loc = g.row_cells(spec, i)[col].loc;
    let d = spatial(label, col, loc, (ph, pw), (derived.1, derived.2))
        .values(size_text(pc, ph, pw), size_text(derived.0, derived.1, derived.2))
        .arithmetic(m.own);
    (d, false)
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
    let Some((col, cells)) = cx.sizes_at_reference(ColumnKind::Spatial) else {
        return;
    };
    for (i, cell) in cells {
        let span = &g.rows[i];
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
