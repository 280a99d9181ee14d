//! One call from a spec file to everything `derive` reports.

use std::sync::Arc;

use std::collections::HashMap;

use crate::check;
pub use crate::check::{RowFigures, RowStatus};

use crate::count::{NodeCost, Totals, costs, depth_between, row_cost};
use crate::diag::{Diagnostic, Severity, code};
use crate::ir::Domain;
use crate::ir::{Graph, LowerOptions, NodeId, Place};
use crate::ir::{Limits, lower_within};
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
    /// One per printed row, in order: what every report shows for the row.
    pub rows: Vec<RowFigures>,
    /// The inputs the network accepts.
    pub domain: Domain,
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
    let mut graph = lower_within(&spec, opts, limits)?;
    // A printed stride (or a missing padding the printed sizes contradict) that makes a
    // later window impossible is a finding at its row, and the table is derived with the
    // other reading, rather than refused at the window.
    let mut blocked = None;
    let mut opts = std::borrow::Cow::Borrowed(opts);
    if let Some((node, why)) = crate::ir::reference_violation(&graph)
        && let Some(r) = check::recover(&spec, &opts, limits, &graph, node, &why)
    {
        graph = r.graph;
        opts = std::borrow::Cow::Owned(r.opts);
        blocked = Some(r.finding);
    }
    let opts = opts.as_ref();
    if let Some((node, why)) = crate::ir::reference_violation(&graph) {
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
        return Err(SpecError::new(spec.file.clone(), loc, message).coded(code::LAYER));
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
        return Err(SpecError::new(spec.file.clone(), loc, message).coded(code::LIMIT));
    }
    let mut rows: Vec<RowFigures> = graph
        .rows
        .iter()
        .enumerate()
        .map(|(i, span)| RowFigures {
            cost: row_cost(&graph, &per_node, i),
            depth: depth_between(&graph, span.input, span.output),
            status: RowStatus::default(),
        })
        .collect();
    let domain = Domain::of(&graph);
    let mut diagnostics = check::check(&spec, &graph, opts, limits, &rows, &domain);
    if let Some(d) = blocked {
        let at = diagnostics.partition_point(|x| (x.line, x.col) <= (d.line, d.col));
        diagnostics.insert(at, d);
    }
    fill_statuses(&spec, &graph, &diagnostics, &mut rows);
    Ok(Derivation {
        spec,
        graph,
        per_node,
        totals,
        diagnostics,
        rows,
        domain,
    })
}

/// Each row's status from the findings, in one pass over them. A finding names its row by
/// label, so rows that print the same label ("max pool") share their findings' codes.
fn fill_statuses(spec: &Spec, graph: &Graph, diagnostics: &[Diagnostic], rows: &mut [RowFigures]) {
    let mut by_label: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in spec.rows.iter().enumerate() {
        by_label.entry(r.label.as_str()).or_default().push(i);
    }
    // Notes leave a row "ok", except N304: its printed cell disagrees with the derivation.
    let shown = |d: &&Diagnostic| d.severity != Severity::Note || d.code == crate::diag::code::INHERITED;
    for d in diagnostics.iter().filter(shown) {
        for &i in d
            .row
            .as_deref()
            .and_then(|label| by_label.get(label))
            .into_iter()
            .flatten()
        {
            rows[i].status.codes.push(d.code);
        }
    }
    for c in &graph.corrections {
        rows[c.row].status.corrected = true;
    }
    let at_reference = check::at_reference(spec, graph);
    for (i, r) in rows.iter_mut().enumerate() {
        r.status.compared = check::compared(spec, graph, i, at_reference);
    }
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
