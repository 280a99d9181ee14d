//! Renders a derivation: a terminal table, JSON (a stable schema) or markdown, and the
//! diagnostics pointing at file:line:column; `check`'s results as text, JSON, GitHub
//! workflow commands, SARIF or JUnit. Returns strings; only the CLI prints.

pub mod check;
pub mod diagnostics;
pub mod github;
pub mod json;
pub mod junit;
mod layout;
pub mod markdown;
pub mod sarif;
pub mod table;

use crate::derive::Derivation;
use crate::ir::{NodeId, Op, Place};

/// One displayed layer: a conv with its batch norm and ReLU folded in, a pool, a linear...
pub struct LayerLine {
    pub node: NodeId,
    /// The node ids the line stands for (conv + bn + relu).
    pub nodes: Vec<NodeId>,
    pub params: i64,
    pub macs: i64,
}

/// Groups nodes into displayed layers: a conv layer's batch norm and ReLU join its conv,
/// concatenations and implicit flattens are left out (the row line shows the concat).
pub fn layer_lines(d: &Derivation, from: NodeId, to: NodeId) -> Vec<LayerLine> {
    let g = &d.graph;
    let mut out: Vec<LayerLine> = Vec::new();
    for id in from..to {
        let n = &g.nodes[id];
        // A conv's own batch norm and ReLU, whatever the unit's naming; not a ReLU layer of
        // its own.
        let folds = n.unit_of.is_some_and(|conv| out.last().is_some_and(|l| l.node == conv));
        if folds {
            let l = out.last_mut().expect("checked");
            l.nodes.push(id);
            l.params += d.per_node[id].params;
            l.macs += d.per_node[id].macs;
            continue;
        }
        if matches!(n.op, Op::Concat | Op::Add | Op::Mul | Op::Input { .. }) {
            continue;
        }
        out.push(LayerLine {
            node: id,
            nodes: vec![id],
            params: d.per_node[id].params,
            macs: d.per_node[id].macs,
        });
    }
    out
}

/// Where a node sits, as the paper nests it.
pub fn place_label(d: &Derivation, id: NodeId) -> String {
    match &d.graph.nodes[id].place {
        Place::Row { row, branch } => match branch {
            Some(b) => format!("{} / {b}", d.spec.rows[*row].label),
            None => d.spec.rows[*row].label.clone(),
        },
        Place::After { row } => format!("after {}", d.spec.rows[*row].label),
        Place::Head => "head".into(),
        Place::Aux { head } => format!("auxiliary {head}"),
        Place::Input => "input".into(),
    }
}

pub use crate::fmt::thousands;

/// Bytes in MiB or GiB.
pub fn bytes(n: i64) -> String {
    let x = n as f64;
    if x >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2} GiB", x / (1024.0 * 1024.0 * 1024.0))
    } else {
        format!("{:.1} MiB", x / (1024.0 * 1024.0))
    }
}

/// The printed output cell of a row, if any (with the variant's correction applied).
pub fn printed_output(d: &Derivation, row: usize) -> Option<String> {
    let col = d
        .spec
        .column_of(crate::spec::ColumnKind::Output)
        .or_else(|| d.spec.column_of(crate::spec::ColumnKind::Spatial))?;
    d.graph.row_cells(&d.spec, row).get(&col.name).map(|c| c.text.clone())
}

/// The symbolic shape with the batch: `N×576×ceil(H/16)×ceil(W/16)`.
pub fn symbolic_with_batch(s: &crate::shape::Shape) -> String {
    match s {
        crate::shape::Shape::Map { .. } => format!("N×{}", s.symbolic()),
        crate::shape::Shape::Flat { features } => format!("N×{features}"),
    }
}
