//! A markdown report: the printed rows with their derived values, totals and findings, for
//! pasting into an issue or a paper's reproduction notes.

use super::{bytes, printed_output, thousands};
use crate::derive::Derivation;

fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

pub fn render(d: &Derivation) -> String {
    let g = &d.graph;
    let (rh, rw) = g.reference;
    let mut s = format!("## {} — {}\n\n", d.spec.name, d.spec.title);
    s.push_str(&format!(
        "Variant: {}.{} Input N×{}×H×W, reference {rh}×{rw}.\n\n",
        g.variant.as_deref().unwrap_or("none (the table as printed)"),
        g.model.as_deref().map(|m| format!(" Model: {m}.")).unwrap_or_default(),
        g.input_channels
    ));
    s.push_str("| row | output (symbolic) | derived | printed | depth | params | MACs | status |\n|---|---|---|---|---|---:|---:|---|\n");
    for (i, span) in g.rows.iter().enumerate() {
        let n = &g.nodes[span.output];
        let at = n.shape.at(rh, rw);
        let derived = match at.as_slice() {
            [c, h, w] => format!("{h}×{w}×{c}"),
            [f] => format!("1×1×{f}"),
            _ => String::new(),
        };
        let figures = &d.rows[i];
        s.push_str(&format!(
            "| {} | `{}` | {derived} | {} | {} | {} | {} | {} |\n",
            cell(&d.spec.rows[i].label),
            n.shape.symbolic(),
            cell(&printed_output(d, i).unwrap_or_default()),
            figures.depth,
            thousands(figures.cost.params),
            thousands(figures.cost.macs),
            cell(&figures.status.to_string()),
        ));
    }
    let t = &d.totals;
    s.push_str(&format!(
        "\n**Totals:** {} parameters ({} in auxiliary heads), {} buffers, {} MACs per image ({:.2} GFLOPs), {} of forward activations and ~{} kept for backward at batch {}. Valid from {}×{}.\n",
        thousands(t.params), thousands(t.aux_params), thousands(t.buffers), thousands(t.macs), t.macs as f64 * 2.0 / 1e9, bytes(t.forward_bytes), bytes(t.training_bytes), t.batch, d.domain.min.0, d.domain.min.1
    ));
    if !d.diagnostics.is_empty() {
        s.push_str("\n### Findings\n\n");
        for x in &d.diagnostics {
            s.push_str(&format!(
                "- **{} {}** ({}:{}:{}): {}",
                x.severity,
                x.code,
                d.spec.file,
                x.line,
                x.col,
                cell(&x.message)
            ));
            if let Some(a) = &x.arithmetic {
                s.push_str(&format!(" — `{}`", a));
            }
            s.push('\n');
            for r in &x.readings {
                s.push_str(&format!("  - {}; {}\n", r.reading, r.implies));
            }
        }
    }
    s
}
