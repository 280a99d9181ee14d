//! One call from a spec file to everything `derive` reports.

use std::sync::Arc;

use crate::check;
use crate::count::{NodeCost, Totals, costs};
use crate::diag::{Diagnostic, Severity};
use crate::ir::lower::{Limits, lower_within};
use crate::ir::{Graph, LowerOptions, NodeId, Place};
use crate::spec::{Loc, Spec, SpecError};

/// The derivation of one spec under one variant. The spec is shared, not owned: checking
/// every variant of a spec derives it once per variant, and a copy each time made that
/// quadratic in the variants (1,000 aliased variants took 18 s).
pub struct Derivation {
    pub spec: Arc<Spec>,
    pub graph: Graph,
    pub per_node: Vec<NodeCost>,
    pub totals: Totals,
    pub diagnostics: Vec<Diagnostic>,
    pub min_input: (i64, i64),
    pub max_input: (Option<i64>, Option<i64>),
}

impl Derivation {
    pub fn errors(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }
    pub fn warnings(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count()
    }
}

/// Derives `spec` with `opts` for a batch of `batch` images, within the default [`Limits`].
/// Pass an `Arc<Spec>` (cloned per call) to derive one spec many times without copying it;
/// a `Spec` is moved into a new `Arc`.
pub fn derive(spec: impl Into<Arc<Spec>>, opts: &LowerOptions, batch: i64) -> Result<Derivation, SpecError> {
    derive_within(spec, opts, batch, &Limits::default())
}

/// [`derive`] within `limits` (the graph-size limit the command line may raise).
pub fn derive_within(
    spec: impl Into<Arc<Spec>>,
    opts: &LowerOptions,
    batch: i64,
    limits: &Limits,
) -> Result<Derivation, SpecError> {
    let spec: Arc<Spec> = spec.into();
    let graph = lower_within(&spec, opts, limits)?;
    if let Some((node, why)) = check::reference_violation(&graph) {
        // Point at the row the layer builds (what one would correct), not its template.
        let n = &graph.nodes[node];
        let (loc, message): (Loc, String) = match n.place {
            Place::Row { row, .. } => (
                spec.rows[row].loc,
                format!(
                    "row {}: {why} (the layer comes from line {})",
                    crate::quote::quote(&spec.rows[row].label),
                    n.loc.line
                ),
            ),
            _ => (n.loc, why),
        };
        return Err(SpecError {
            file: spec.file.clone(),
            loc,
            message,
        });
    }
    let (per_node, totals) = costs(&graph, batch);
    if let Some((node, what)) = overflow(&per_node, &totals) {
        let n = &graph.nodes[node];
        let loc = match n.place {
            Place::Row { row, .. } => spec.rows[row].loc,
            _ => n.loc,
        };
        let message = format!(
            "{}: {what} overflows 64 bits, expected realistic sizes (batch {batch})",
            n.name
        );
        return Err(SpecError {
            file: spec.file.clone(),
            loc,
            message,
        });
    }
    let diagnostics = check::check(&spec, &graph, opts, limits, &per_node);
    let min_input = check::min_input(&graph);
    let max_input = check::max_input(&graph);
    Ok(Derivation {
        spec,
        graph,
        per_node,
        totals,
        diagnostics,
        min_input,
        max_input,
    })
}

/// Where a count saturated (reached i64::MAX) and stopped being exact: the node whose own
/// figure, or the running total up to it, overflows.
fn overflow(per: &[NodeCost], totals: &Totals) -> Option<(NodeId, &'static str)> {
    const MAX: i64 = i64::MAX;
    let (mut params, mut buffers, mut macs, mut elements) = (0i64, 0i64, 0i64, 0i64);
    for (i, c) in per.iter().enumerate() {
        params = params.saturating_add(c.params);
        buffers = buffers.saturating_add(c.buffers);
        macs = macs.saturating_add(c.macs);
        elements = elements.saturating_add(c.output_elements);
        let what = if c.output_elements == MAX || elements == MAX {
            "the activation size"
        } else if c.params == MAX || params == MAX {
            "the parameter count"
        } else if c.buffers == MAX || buffers == MAX {
            "the buffer count"
        } else if c.macs == MAX || macs == MAX {
            "the multiply-accumulate count"
        } else {
            continue;
        };
        return Some((i, what));
    }
    if totals.forward_bytes == MAX || totals.training_bytes == MAX {
        return Some((0, "the activation memory"));
    }
    None
}
