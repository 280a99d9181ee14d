//! Compares every printed cell with the derivation and explains each difference: one file
//! per family of finding, each reading the same [`Context`].

mod arithmetic;
mod blocked;
mod compared;
mod concat;
mod continuity;
mod corrections;
mod depth;
mod figures;
mod filter;
mod inherited;
mod input;
mod output;
mod quantity;
mod row;
mod stride;
mod totals;
mod unpadded;

pub use blocked::Recovered;
pub use compared::{Compared, compared};
pub use row::{RowFigures, RowStatus};

use crate::diag::Diagnostic;
use crate::ir::Domain;
use crate::ir::Limits;
use crate::ir::NodeId;
use crate::ir::{Graph, LowerOptions};
use crate::spec::{Cell, ColumnKind, Spec};

/// `g` fails the reference check at `node` (`why` says how): the other reading of the
/// table that runs, if one does — a printed stride read without it (E105), else a row's
/// stride-1 windows padded (E109) — with its graph and the finding.
pub fn recover(
    spec: &Spec,
    opts: &LowerOptions,
    limits: &Limits,
    g: &Graph,
    node: NodeId,
    why: &str,
) -> Option<Recovered> {
    blocked::recover(spec, opts, limits, g, node, why).or_else(|| unpadded::recover(spec, opts, limits, g, node, why))
}

/// What every check reads: the spec, its graph and the figures derived from it.
pub struct Context<'a> {
    pub spec: &'a Spec,
    pub g: &'a Graph,
    pub opts: &'a LowerOptions,
    /// The bounds the other reading of a stride is lowered within.
    pub limits: &'a Limits,
    pub rows: &'a [RowFigures],
    pub domain: &'a Domain,
    /// Printed sizes only check the reference input they were printed for.
    pub at_reference: bool,
}

impl<'a> Context<'a> {
    /// The name of the (first) column of `kind`.
    pub fn column(&self, kind: ColumnKind) -> Option<&'a str> {
        self.spec.column_of(kind).map(|c| c.name.as_str())
    }

    /// The column of `kind` and, row by row, the cell it prints there (row index, cell),
    /// where printed sizes are comparable: `None` at an input size other than the printed
    /// one, since a printed size describes the input it was printed for.
    pub fn sizes_at_reference(&self, kind: ColumnKind) -> Option<(&'a str, impl Iterator<Item = (usize, &'a Cell)>)> {
        let col = self.column(kind)?;
        if !self.at_reference {
            return None;
        }
        let (spec, g) = (self.spec, self.g);
        let cells = (0..g.rows.len()).filter_map(move |i| g.row_cells(spec, i).get(col).map(|cell| (i, cell)));
        Some((col, cells))
    }
}

/// Whether `g` was lowered at the input size the table prints for: printed H×W and ops
/// figures are only comparable there.
pub fn at_reference(spec: &Spec, g: &Graph) -> bool {
    let printed = spec.printed_input(g.variant.as_deref());
    (printed.height as i64, printed.width as i64) == g.reference
}

/// The findings about `g`, which was lowered from `spec` with `opts` within `limits`, in
/// file order.
pub fn check(
    spec: &Spec,
    g: &Graph,
    opts: &LowerOptions,
    limits: &Limits,
    rows: &[RowFigures],
    domain: &Domain,
) -> Vec<Diagnostic> {
    let at_reference = at_reference(spec, g);
    let cx = Context {
        spec,
        g,
        opts,
        limits,
        rows,
        domain,
        at_reference,
    };
    let mut out = Vec::new();
    compared::note_other_input(&cx, &mut out);
    corrections::check(&cx, &mut out);
    let ambiguous = output::check(&cx, &mut out);
    depth::check(&cx, &mut out);
    quantity::check(&cx, &mut out);
    continuity::check(&cx, &ambiguous, &mut out);
    concat::check(&cx, &mut out);
    input::check(&cx, &mut out);
    filter::check(&cx, &mut out);
    totals::check(&cx, &mut out);
    out.sort_by_key(|d| (d.line, d.col));
    out
}
