//! One call from a spec file to everything `derive` reports.

use crate::check;
use crate::count::{costs, NodeCost, Totals};
use crate::diag::{Diagnostic, Severity};
use crate::ir::{lower, Graph, LowerOptions};
use crate::spec::{Loc, Spec, SpecError};

/// The derivation of one spec under one variant.
pub struct Derivation {
    pub spec: Spec,
    pub graph: Graph,
    pub per_node: Vec<NodeCost>,
    pub totals: Totals,
    pub diagnostics: Vec<Diagnostic>,
    pub min_input: (i64, i64),
    pub max_input: (Option<i64>, Option<i64>),
}

impl Derivation {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Error).count()
    }
    pub fn warnings(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Warning).count()
    }
}

/// Derives `spec` with `opts` for a batch of `batch` images.
pub fn derive(spec: Spec, opts: &LowerOptions, batch: i64) -> Result<Derivation, SpecError> {
    let graph = lower(&spec, opts)?;
    if let Some((node, why)) = check::reference_violation(&graph) {
        let loc: Loc = graph.nodes[node].loc;
        return Err(SpecError { file: spec.file.clone(), loc, message: why });
    }
    let (per_node, totals) = costs(&graph, batch);
    let diagnostics = check::check(&spec, &graph, opts, &per_node);
    let min_input = check::min_input(&graph);
    let max_input = check::max_input(&graph);
    Ok(Derivation { spec, graph, per_node, totals, diagnostics, min_input, max_input })
}
