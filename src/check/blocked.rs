//! E105 at the row whose printed stride makes a later fixed window impossible at the
//! reference input: rather than refusing the table at the symptom (the window that does
//! not fit), find the nearest row above it whose printed output says the stride is not
//! there and whose stride, dropped, lets every window fit; report both readings there and
//! derive the rest of the table without that stride.

use super::arithmetic::{printed_size, spatial_arithmetic};
use crate::diag::{Diagnostic, Reading, Severity, code};
use crate::ir::{Graph, LowerOptions, NodeId, Place};
use crate::ir::{Limits, lower_within};
use crate::ir::{chw, reference_violation};
use crate::spec::{Cell, ColumnKind, Loc, Patch, Spec, Value};

/// The other reading, where one exists: the options that drop the stride, the graph they
/// give, and the finding at the row that prints it.
pub struct Recovered {
    pub opts: LowerOptions,
    pub graph: Graph,
    pub finding: Diagnostic,
}

/// `g` fails the reference check at `node` (`why` says how). Tries, from the symptom's row
/// upwards, each row with a printed stride above 1 read without it.
pub fn recover(
    spec: &Spec,
    opts: &LowerOptions,
    limits: &Limits,
    g: &Graph,
    node: NodeId,
    why: &str,
) -> Option<Recovered> {
    let patch_col = spec.column_of(ColumnKind::Patch)?.name.clone();
    let reread = |i: usize| {
        let cell = g.row_cells(spec, i).get(&patch_col)?;
        let (alt_opts, stride) = without_stride(opts, i, &patch_col, cell)?;
        Some((alt_opts, (stride, cell.loc)))
    };
    let accept = |i: usize, alt: &Graph, (stride, stride_loc): (u64, Loc)| {
        contradicts(spec, g, alt, i).then(|| finding(spec, g, alt, i, stride, stride_loc, why))
    };
    first_reading_above(spec, limits, g, node, reread, accept)
}

/// The walk E105 and E109 share: from the row a reference failure at `node` shows in,
/// upwards, row `i` read another way (`reread` gives the options that build it so, and what
/// `accept` needs to know), lowered within `limits`; the first reading whose graph runs at
/// the reference input and that `accept` turns into a finding is the other reading.
pub(super) fn first_reading_above<T>(
    spec: &Spec,
    limits: &Limits,
    g: &Graph,
    node: NodeId,
    mut reread: impl FnMut(usize) -> Option<(LowerOptions, T)>,
    mut accept: impl FnMut(usize, &Graph, T) -> Option<Diagnostic>,
) -> Option<Recovered> {
    for i in (0..symptom_row(g, node).min(g.rows.len())).rev() {
        let Some((alt_opts, seen)) = reread(i) else {
            continue;
        };
        let Ok(alt) = lower_within(spec, &alt_opts, limits) else {
            continue;
        };
        if reference_violation(&alt).is_some() {
            continue;
        }
        let Some(finding) = accept(i, &alt, seen) else {
            continue;
        };
        return Some(Recovered {
            opts: alt_opts,
            graph: alt,
            finding,
        });
    }
    None
}

/// `opts` with row `i`'s printed patch `cell` (in `patch_col`) read without its stride, and
/// that stride, where it prints one above 1: the other reading of E105, at the row itself
/// (a contradicted stride) or above a window that cannot fit.
pub(super) fn without_stride(
    opts: &LowerOptions,
    i: usize,
    patch_col: &str,
    cell: &Cell,
) -> Option<(LowerOptions, u64)> {
    let Value::Patch(p) = &cell.value else { return None };
    let stride = p.stride.filter(|s| *s > 1)?;
    let alt_patch = Patch {
        kernel: p.kernel,
        stride: None,
    };
    let alt_cell = alt_patch.kernel.map(|_| Cell {
        text: alt_patch.to_string(),
        value: Value::Patch(alt_patch),
        loc: cell.loc,
    });
    let mut alt_opts = opts.clone();
    alt_opts.cell_overrides.push((i, patch_col.to_string(), alt_cell));
    Some((alt_opts, stride))
}

/// Whether row `i`'s printed size is what it outputs without its stride (`alt`) and not
/// with it (`g`): the table itself then reads the row both ways.
fn contradicts(spec: &Spec, g: &Graph, alt: &Graph, i: usize) -> bool {
    let Some(col) = spec.column_of(ColumnKind::Output) else {
        return false;
    };
    let Some((_, ph, pw)) = g.row_cells(spec, i).get(col.name.as_str()).and_then(printed_size) else {
        return false;
    };
    let with = chw(&g.nodes[g.rows[i].output].shape, g.reference);
    let without = chw(&alt.nodes[alt.rows[i].output].shape, alt.reference);
    (without.1, without.2) == (ph, pw) && (with.1, with.2) != (ph, pw)
}

fn finding(spec: &Spec, g: &Graph, alt: &Graph, i: usize, stride: u64, stride_loc: Loc, why: &str) -> Diagnostic {
    let row = &spec.rows[i];
    let reference = g.reference;
    let with = chw(&g.nodes[g.rows[i].output].shape, reference);
    let without = chw(&alt.nodes[alt.rows[i].output].shape, reference);
    let out_col = spec.column_of(ColumnKind::Output).map(|c| c.name.as_str());
    let printed = out_col.and_then(|c| g.row_cells(spec, i).get(c)).and_then(printed_size);
    let (loc, column) = match (out_col, printed) {
        (Some(c), Some(_)) => (g.row_cells(spec, i)[c].loc, c.to_string()),
        _ => (
            stride_loc,
            spec.column_of(ColumnKind::Patch)
                .map(|c| c.name.clone())
                .unwrap_or_default(),
        ),
    };
    let mut d = Diagnostic::new(
        Severity::Error,
        code::AMBIGUOUS_STRIDE,
        loc,
        format!(
            "{} prints stride {stride}, and with it a later window does not fit: {why}",
            row.label
        ),
    )
    .at(&row.label, &column)
    .values(
        printed.map_or_else(String::new, |p| format!("{}×{}", p.1, p.2)),
        format!("{}×{}", with.1, with.2),
    )
    .arithmetic(spatial_arithmetic(g, &g.rows[i]))
    .related(stride_loc, format!("the printed stride {stride}"));
    d.readings = two_readings(
        format!(
            "stride {stride} applies inside {}: it outputs {}×{}",
            row.label, with.1, with.2
        ),
        format!(
            "no stride in {}: it outputs {}×{}, as printed",
            row.label, without.1, without.2
        ),
        reference,
        why,
    );
    d.help = Some("pick a reading in a variant: empty the stride cell (rows: {…: {cells: {…: …}}}), or correct the layers that follow".into());
    d
}

/// The two readings of a row that makes a later window impossible (E105's stride, E109's
/// padding): as built, the network cannot run; as printed, every window fits and the rest
/// of the report derives it so.
pub(super) fn two_readings(as_built: String, as_printed: String, reference: (i64, i64), why: &str) -> Vec<Reading> {
    vec![
        Reading {
            reading: as_built,
            implies: format!("the network cannot run at {}×{}: {why}", reference.0, reference.1),
        },
        Reading {
            reading: as_printed,
            implies: "every window fits; the rest of this report derives the table with this reading".into(),
        },
    ]
}

/// The row a reference failure at `node` shows in (past the last row for the head): where
/// E105's and E109's search for the cause starts, upwards.
pub(super) fn symptom_row(g: &Graph, node: NodeId) -> usize {
    match g.nodes[node].place {
        Place::Row { row, .. } | Place::After { row } => row,
        _ => g.rows.len(),
    }
}
