//! E105: a printed stride that the same row's printed size contradicts. Both readings are
//! derived (the other by lowering the spec again without the stride), each with what it
//! implies for the next row.

use super::Context;
use super::arithmetic::{printed_size, spatial_arithmetic};
use crate::diag::{Diagnostic, Reading, Severity, code};
use crate::ir::chw;
use crate::ir::{self, Graph};

/// The other reading of a printed stride: if dropping it gives the printed size, the table
/// contradicts itself at that row; say what each reading implies for the next row.
pub fn reading(
    cx: &Context<'_>,
    i: usize,
    patch_col: Option<&str>,
    printed: (i64, i64),
    out_col: &str,
) -> Option<Diagnostic> {
    let (spec, g, opts, limits) = (cx.spec, cx.g, cx.opts, cx.limits);
    let patch_col = patch_col?;
    let cell = g.row_cells(spec, i).get(patch_col)?;
    let (alt_opts, stride) = super::blocked::without_stride(opts, i, patch_col, cell)?;
    let alt = ir::lower_within(spec, &alt_opts, limits).ok()?;
    let reference = g.reference;
    let with = chw(&g.nodes[g.rows[i].output].shape, reference);
    let without = chw(&alt.nodes[alt.rows[i].output].shape, reference);
    if (without.1, without.2) != printed {
        return None;
    }
    let row = &spec.rows[i];
    let implies = |graph: &Graph| next_row_implies(cx, graph, i, out_col);
    let mut d = Diagnostic::new(
        Severity::Error,
        code::AMBIGUOUS_STRIDE,
        g.row_cells(spec, i)[out_col].loc,
        format!(
            "{} prints stride {stride} and an output of {}×{}; with the stride it outputs {}×{}",
            row.label, printed.0, printed.1, with.1, with.2
        ),
    )
    .at(&row.label, out_col)
    .values(format!("{}×{}", printed.0, printed.1), format!("{}×{}", with.1, with.2))
    .arithmetic(spatial_arithmetic(g, &g.rows[i]))
    .related(cell.loc, format!("the printed stride {stride}"));
    d.readings = vec![
        Reading {
            reading: format!(
                "stride {stride} applies inside {}: it outputs {}×{}, not the printed {}×{}",
                row.label, with.1, with.2, printed.0, printed.1
            ),
            implies: implies(g),
        },
        Reading {
            reading: format!(
                "no stride in {}: it outputs {}×{} as printed",
                row.label, without.1, without.2
            ),
            implies: implies(&alt),
        },
    ];
    d.help = Some("pick a reading in a variant: correct the output size, or empty the stride cell and insert a pool with insert_after".into());
    Some(d)
}

/// What reading `graph` implies for the row after `i`: its output against its printed one.
fn next_row_implies(cx: &Context<'_>, graph: &Graph, i: usize, out_col: &str) -> String {
    let (spec, g, reference) = (cx.spec, cx.g, cx.g.reference);
    let next = spec.rows.get(i + 1);
    let next_printed = next
        .and_then(|_| g.row_cells(spec, i + 1).get(out_col))
        .and_then(printed_size);
    match (next, next_printed) {
        (Some(n), Some((_, nh, nw))) => {
            let d = chw(&graph.nodes[graph.rows[i + 1].output].shape, reference);
            if (d.1, d.2) == (nh, nw) {
                format!(
                    "{} then outputs {}×{}, which matches its printed {nh}×{nw}",
                    n.label, d.1, d.2
                )
            } else if d.1 >= nh && d.2 >= nw {
                format!(
                    "{} then outputs {}×{} where the table prints {nh}×{nw}, so a downsampling step (e.g. a 3×3/2 max pool) is needed between them",
                    n.label, d.1, d.2
                )
            } else if d.1 <= nh && d.2 <= nw {
                // Already smaller than printed: no further downsampling can help.
                format!(
                    "{} then outputs {}×{} where the table prints the larger {nh}×{nw}, so a stride before it is one too many",
                    n.label, d.1, d.2
                )
            } else {
                format!(
                    "{} then outputs {}×{} where the table prints {nh}×{nw}, larger on one axis and smaller on the other",
                    n.label, d.1, d.2
                )
            }
        }
        _ => "nothing follows to check against".to_string(),
    }
}
