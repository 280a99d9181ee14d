//! Compares every printed cell with the derivation and explains each difference: one file
//! per family of finding, each reading the same [`Context`].

mod arithmetic;
mod concat;
mod continuity;
mod corrections;
mod depth;
mod output;
mod quantity;
mod stride;

use crate::derive::RowFigures;
use crate::diag::Diagnostic;
use crate::ir::domain::Domain;
use crate::ir::lower::Limits;
use crate::ir::{Graph, LowerOptions};
use crate::spec::{ColumnKind, Spec};

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

impl Context<'_> {
    /// The name of the (first) column of `kind`.
    pub fn column(&self, kind: ColumnKind) -> Option<&str> {
        self.spec.column_of(kind).map(|c| c.name.as_str())
    }
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
    let at_reference = (spec.input.height as i64, spec.input.width as i64) == g.reference;
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
    corrections::check(&cx, &mut out);
    let ambiguous = output::check(&cx, &mut out);
    depth::check(&cx, &mut out);
    quantity::check(&cx, &mut out);
    continuity::check(&cx, &ambiguous, &mut out);
    concat::check(&cx, &mut out);
    out.sort_by_key(|d| (d.line, d.col));
    out
}
