//! The terminal report: one line per layer, nested as the paper nests them (row → branch →
//! layer), then totals, input constraints and diagnostics.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ContentArrangement, Table};

use super::{LayerLine, bytes, layer_lines, place_label, printed_output, symbolic_with_batch, thousands};
use crate::derive::Derivation;
use crate::ir::{NodeId, Place};
use crate::shape::Shape;

fn hwc(s: &Shape, reference: (i64, i64)) -> String {
    match *s {
        Shape::Map { c, h, w } => format!("{}×{}×{c}", h.eval(reference.0), w.eval(reference.1)),
        Shape::Flat { features } => format!("1×1×{features}"),
    }
}

fn num(n: i64) -> String {
    if n == 0 { String::new() } else { thousands(n) }
}

struct Lines<'a> {
    d: &'a Derivation,
    table: Table,
    /// Only the printed rows, for very large graphs (a table of 100,000 layers helps nobody).
    folded: bool,
}

/// Graphs larger than this show their printed rows only; `--format json` lists every layer.
pub const FOLD_ABOVE_NODES: usize = 5000;

impl Lines<'_> {
    fn push(&mut self, label: String, node: NodeId, printed: String, status: String, params: i64, macs: i64) {
        let g = &self.d.graph;
        let shape = g.nodes[node].shape;
        self.table.add_row(vec![
            label,
            symbolic_with_batch(&shape),
            hwc(&shape, g.reference),
            printed,
            status,
            num(params),
            num(macs),
        ]);
    }

    fn layers(&mut self, lines: Vec<LayerLine>, indent: usize, strip: &str) {
        if self.folded {
            return;
        }
        let g = &self.d.graph;
        let mut branch: Option<&str> = None;
        for l in lines {
            let n = &g.nodes[l.node];
            let b = match &n.place {
                Place::Row { branch, .. } => branch.as_deref(),
                _ => None,
            };
            if b.is_some() && b != branch {
                self.table
                    .add_row(vec![format!("{}{}", " ".repeat(indent), b.unwrap_or_default())]);
                branch = b;
            }
            let depth = indent + if b.is_some() { 2 } else { 0 };
            let local = n.name.strip_prefix(strip).unwrap_or(&n.name);
            let local = b.and_then(|b| local.strip_prefix(&format!("{b}."))).unwrap_or(local);
            self.push(
                format!("{}{local}: {}", " ".repeat(depth), n.op.describe()),
                l.node,
                String::new(),
                String::new(),
                l.params,
                l.macs,
            );
        }
    }
}

/// The whole report as text; `source` is the spec's text, for the diagnostics.
pub fn render(d: &Derivation, source: &crate::source::Source) -> String {
    let g = &d.graph;
    let (rh, rw) = g.reference;
    let mut out = String::new();
    out.push_str(&format!("{} — {}\n", d.spec.name, d.spec.title));
    let variant = match &g.variant {
        Some(v) => format!("variant {v}: {}", d.spec.variants[v].description),
        None => "the table as printed (no variant)".into(),
    };
    out.push_str(&format!("{}: {variant}\n", d.spec.file));
    if let Some(m) = &g.model {
        out.push_str(&format!("model {m} (of {})\n", d.spec.models.join(", ")));
    }
    out.push_str(&format!(
        "input N×{}×H×W, reference {rh}×{rw}, {} classes, batch {}\n\n",
        g.input_channels, g.classes, d.totals.batch
    ));
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled);
    table.set_header(vec![
        "layer".to_string(),
        "output (symbolic)".into(),
        format!("at {rh}×{rw}"),
        "printed".into(),
        "status".into(),
        "params".into(),
        "MACs".into(),
    ]);
    for i in [5, 6] {
        if let Some(c) = table.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    let folded = g.nodes.len() > FOLD_ABOVE_NODES;
    if folded {
        out.push_str(&format!(
            "{} layers in {} rows: showing the rows only (--format json lists every layer)\n",
            g.nodes.len(),
            g.rows.len()
        ));
    }
    let mut lines = Lines { d, table, folded };
    lines.push("input".into(), 0, String::new(), String::new(), 0, 0);
    let mut cursor = 1;
    for (i, span) in g.rows.iter().enumerate() {
        let row = &d.spec.rows[i];
        let figures = &d.rows[i];
        lines.push(
            row.label.clone(),
            span.output,
            printed_output(d, i).unwrap_or_default(),
            figures.status.to_string(),
            figures.cost.params,
            figures.cost.macs,
        );
        lines.layers(layer_lines(d, span.first, span.end), 2, &format!("{}.", row.name));
        cursor = span.end;
        // Layers a variant inserts after the row.
        let after_end = g.rows.get(i + 1).map(|r| r.first).unwrap_or(cursor);
        let inserted: Vec<NodeId> = (cursor..after_end)
            .filter(|id| matches!(g.nodes[*id].place, Place::After { row } if row == i))
            .collect();
        if let (Some(first), Some(last)) = (inserted.first(), inserted.last()) {
            lines.table.add_row(vec![format!("  (inserted after {})", row.label)]);
            lines.layers(layer_lines(d, *first, last + 1), 2, &format!("{}_after.", row.name));
            cursor = last + 1;
        }
    }
    let head: Vec<NodeId> = (cursor..g.nodes.len())
        .filter(|id| matches!(g.nodes[*id].place, Place::Head))
        .collect();
    if let (Some(first), Some(last)) = (head.first(), head.last()) {
        lines.table.add_row(vec!["head".to_string()]);
        lines.layers(layer_lines(d, *first, last + 1), 2, "");
    }
    for o in g.outputs.iter().filter(|o| o.aux) {
        let nodes: Vec<NodeId> = (0..g.nodes.len())
            .filter(|id| matches!(&g.nodes[*id].place, Place::Aux { head } if *head == o.name))
            .collect();
        if let (Some(first), Some(last)) = (nodes.first(), nodes.last()) {
            let root = g.nodes[*first].inputs[0];
            lines
                .table
                .add_row(vec![format!("{} (from {})", o.name, place_label(d, root))]);
            lines.layers(layer_lines(d, *first, last + 1), 2, &format!("{}.", o.name));
        }
    }
    out.push_str(&lines.table.to_string());
    out.push('\n');

    let t = &d.totals;
    out.push_str(&format!(
        "\nparameters   {} ({} in auxiliary heads); buffers {} (batch norm running statistics)\n",
        thousands(t.params),
        thousands(t.aux_params),
        thousands(t.buffers)
    ));
    out.push_str(&format!(
        "MACs         {} per image at {rh}×{rw} ({:.2} GFLOPs, 1 MAC = 2 FLOPs; conv and linear only)\n",
        thousands(t.macs),
        t.macs as f64 * 2.0 / 1e9
    ));
    out.push_str(&format!(
        "activations  {} forward outputs, ~{} kept for backward in training (batch {}, fp32)\n",
        bytes(t.forward_bytes),
        bytes(t.training_bytes),
        t.batch
    ));
    let max = match d.domain.max {
        (Some(h), Some(w)) => format!(", at most {h}×{w} (a flatten fixes the size)"),
        _ => String::new(),
    };
    if d.domain.min.0 == 0 || d.domain.min.1 == 0 {
        out.push_str("input        no input size makes every concatenation's branches agree\n");
    } else {
        out.push_str(&format!(
            "input        valid from {}×{}{max}\n",
            d.domain.min.0, d.domain.min.1
        ));
    }
    for (node, condition) in &d.domain.conditions {
        out.push_str(&format!(
            "             {}: branches agree {condition}\n",
            place_label(d, *node)
        ));
    }
    out.push_str(&format!(
        "\n{} errors, {} warnings, {} notes\n",
        d.errors(),
        d.warnings(),
        d.diagnostics.len() - d.errors() - d.warnings()
    ));
    for x in &d.diagnostics {
        out.push('\n');
        out.push_str(&super::diagnostics::render(x, &d.spec.file, source));
    }
    out
}
