//! E109 at the row whose unpadded windows make a later fixed window impossible at the
//! reference input, where the table's own printed sizes say the row keeps its grid (a
//! padding the table leaves unmarked): the padding analogue of [`super::blocked`]. Rather
//! than refusing the table at the symptom, the nearest such row above it is read padded,
//! both readings are reported there, and the rest of the table is derived padded.

use super::arithmetic::{printed_size, spatial_arithmetic};
use super::blocked::Recovered;
use crate::diag::{Diagnostic, Severity, code};
use crate::ir::Limits;
use crate::ir::chw;
use crate::ir::{Graph, LowerOptions, NodeId};
use crate::spec::{Cell, ColumnKind, Spec, Value};

/// The printed size row `i` hands on: its own output cell, else the next row's input cell
/// (a table whose sizes are inputs: "each module's output size is the next one's input
/// size"). With the row and column that print it.
fn printed_after<'a>(spec: &'a Spec, g: &'a Graph, i: usize) -> Option<(&'a Cell, usize, &'a str, (i64, i64))> {
    if let Some(col) = spec.column_of(ColumnKind::Output)
        && let Some(cell) = g.row_cells(spec, i).get(col.name.as_str())
        && let Some((_, h, w)) = printed_size(cell)
    {
        return Some((cell, i, col.name.as_str(), (h, w)));
    }
    let col = spec.column_of(ColumnKind::Input)?;
    let next = i + 1;
    if next >= spec.rows.len() {
        return None;
    }
    let cell = g.row_cells(spec, next).get(col.name.as_str())?;
    match &cell.value {
        Value::Input(p) => Some((cell, next, col.name.as_str(), (p.h as i64, p.w as i64))),
        _ => None,
    }
}

/// `g` fails the reference check at `node` (`why` says how). Tries, from the symptom's row
/// upwards, each row that outputs a smaller grid than the table prints after it, read with
/// its stride-1 windows padded.
pub fn recover(
    spec: &Spec,
    opts: &LowerOptions,
    limits: &Limits,
    g: &Graph,
    node: NodeId,
    why: &str,
) -> Option<Recovered> {
    let reread = |i: usize| {
        let (_, _, _, printed) = printed_after(spec, g, i)?;
        let span = &g.rows[i];
        let (_, ih, iw) = chw(&g.nodes[span.input].shape, g.reference);
        let (_, oh, ow) = chw(&g.nodes[span.output].shape, g.reference);
        // The table says the row keeps its grid; unpadded, it shrinks it.
        if printed != (ih, iw) || (oh, ow) == printed {
            return None;
        }
        let mut alt_opts = opts.clone();
        alt_opts.padded_rows.push(i);
        Some((alt_opts, (printed, (oh, ow))))
    };
    let accept = |i: usize, alt: &Graph, (printed, derived): ((i64, i64), (i64, i64))| {
        let (_, ah, aw) = chw(&alt.nodes[alt.rows[i].output].shape, alt.reference);
        ((ah, aw) == printed).then(|| finding(spec, g, i, derived, why))
    };
    super::blocked::first_reading_above(spec, limits, g, node, reread, accept)
}

fn finding(spec: &Spec, g: &Graph, i: usize, derived: (i64, i64), why: &str) -> Diagnostic {
    let row = &spec.rows[i];
    let reference = g.reference;
    let (cell, at_row, column, printed) = printed_after(spec, g, i).expect("checked by recover");
    let printed_by = if at_row == i {
        "its printed output".to_string()
    } else {
        format!("{} prints its input", spec.rows[at_row].label)
    };
    let mut d = Diagnostic::new(
        Severity::Error,
        code::UNMARKED_PADDING,
        cell.loc,
        format!(
            "{} is unpadded and outputs {}×{} where {printed_by} {}×{}, and unpadded a later window does not fit: {why}",
            row.label, derived.0, derived.1, printed.0, printed.1
        ),
    )
    .at(&spec.rows[at_row].label, column)
    .values(
        format!("{}×{}", printed.0, printed.1),
        format!("{}×{}", derived.0, derived.1),
    )
    .arithmetic(spatial_arithmetic(g, &g.rows[i]));
    let window = [ColumnKind::Patch, ColumnKind::PatchOrRemarks]
        .into_iter()
        .find_map(|k| spec.column_of(k))
        .and_then(|c| g.row_cells(spec, i).get(c.name.as_str()));
    if let Some(w) = window {
        d = d.related(w.loc, "the window, without padding");
    }
    d.readings = super::blocked::two_readings(
        format!(
            "{} unpadded, as its template builds it: it outputs {}×{}",
            row.label, derived.0, derived.1
        ),
        format!(
            "{} padded to keep the grid: it outputs {}×{}, as printed",
            row.label, printed.0, printed.1
        ),
        reference,
        why,
    );
    d.help = Some(
        "pick a reading in a variant: build the row padded (rows: {…: {template: …}}), or correct the printed sizes"
            .into(),
    );
    d
}
