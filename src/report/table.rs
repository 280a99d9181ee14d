//! The terminal report: one line per layer, nested as the paper nests them (row → branch →
//! layer), then totals, input constraints and diagnostics.

use super::{LayerLine, bytes, layer_lines, layout, place_label, printed_output, symbolic_with_batch, thousands};
use crate::derive::Derivation;
use crate::diag::Severity;
use crate::fmt::{plural, wrap};
use crate::ir::{NodeId, Place};
use crate::shape::Shape;

/// How much of the nesting the table shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Depth {
    /// The printed rows only (heads and inserted layers as one line each).
    Rows,
    /// The rows and each branch of a multi-branch row, one line per branch.
    Branches,
    /// Every layer (a conv with its batch norm and ReLU on one line).
    #[default]
    Layers,
}

/// How the report is laid out: its width, depth and character set.
#[derive(Clone, Copy, Debug, Default)]
pub struct View {
    /// The widest line the table and the lines around it may take; `None`: as wide as the
    /// content (the table's cells are never wrapped).
    pub width: Option<usize>,
    pub depth: Depth,
    /// ASCII only: `+-|` box drawing, `x` for `×` (for terminals without UTF-8).
    pub ascii: bool,
}

/// The narrowest `--width` the table is laid out for: every column keeps a few characters.
pub const MIN_WIDTH: usize = 40;

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
    rows: Vec<[String; layout::COLUMNS]>,
    depth: Depth,
}

/// Graphs larger than this show their printed rows only; `--format json` lists every layer.
pub const FOLD_ABOVE_NODES: usize = 5000;

impl Lines<'_> {
    fn push(&mut self, label: String, node: NodeId, printed: String, status: String, params: i64, macs: i64) {
        let g = &self.d.graph;
        let shape = g.nodes[node].shape;
        self.rows.push([
            label,
            symbolic_with_batch(&shape),
            hwc(&shape, g.reference),
            printed,
            status,
            num(params),
            num(macs),
        ]);
    }

    /// A line with a label only (a branch's name above its layers).
    fn label(&mut self, label: String) {
        let mut row: [String; layout::COLUMNS] = Default::default();
        row[0] = label;
        self.rows.push(row);
    }

    /// A group of layers (a head, inserted layers) under `label`: a bare label line and its
    /// layers at layer depth, else one line with the group's output and summed figures.
    fn group(&mut self, label: String, lines: Vec<LayerLine>, strip: &str) {
        if self.depth == Depth::Layers {
            self.label(label);
            self.layers(lines, 2, strip);
        } else if let Some(last) = lines.last() {
            let (params, macs) = sums(&lines);
            self.push(label, last.node, String::new(), String::new(), params, macs);
        }
    }

    fn layers(&mut self, lines: Vec<LayerLine>, indent: usize, strip: &str) {
        match self.depth {
            Depth::Rows => return,
            Depth::Branches => return self.branches(lines, indent),
            Depth::Layers => {}
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
                self.label(format!("{}{}", " ".repeat(indent), b.unwrap_or_default()));
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

    /// One line per branch: the branch's output (its last layer's) and its summed figures.
    fn branches(&mut self, lines: Vec<LayerLine>, indent: usize) {
        let g = &self.d.graph;
        let branch_of = |l: &LayerLine| match &g.nodes[l.node].place {
            Place::Row { branch, .. } => branch.clone(),
            _ => None,
        };
        let mut start = 0;
        while start < lines.len() {
            let b = branch_of(&lines[start]);
            let end = (start..lines.len())
                .find(|&i| branch_of(&lines[i]) != b)
                .unwrap_or(lines.len());
            if let Some(b) = b {
                let group = &lines[start..end];
                let (params, macs) = sums(group);
                let last = group[group.len() - 1].node;
                self.push(
                    format!("{}{b}", " ".repeat(indent)),
                    last,
                    String::new(),
                    String::new(),
                    params,
                    macs,
                );
            }
            start = end;
        }
    }
}

fn sums(lines: &[LayerLine]) -> (i64, i64) {
    lines.iter().fold((0, 0), |(p, m), l| (p + l.params, m + l.macs))
}

/// The whole report as text, as wide as its content; `source` is the spec's text, for the
/// diagnostics.
pub fn render(d: &Derivation, source: &crate::source::Source) -> String {
    render_view(d, source, &View::default())
}

/// The whole report laid out as `view` says: the header, a summary of the findings, the
/// table, totals and input constraints, then the findings.
pub fn render_view(d: &Derivation, source: &crate::source::Source, view: &View) -> String {
    let g = &d.graph;
    let width = view.width.map(|w| w.max(MIN_WIDTH));
    let top = heading(d, width);

    let mut body = String::from("\n");
    let folded = g.nodes.len() > FOLD_ABOVE_NODES;
    if folded {
        body.push_str(&wrap(
            &format!(
                "{} layers in {} rows: showing the rows only (--format json lists every layer)",
                g.nodes.len(),
                g.rows.len()
            ),
            width,
            "",
        ));
        body.push('\n');
    }
    // A table of 100,000 layers helps nobody: very large graphs show their rows only.
    let depth = if folded { Depth::Rows } else { view.depth };
    let rows = table_rows(d, depth);
    let (table, left_out) = layout::render(&header(d), &rows, width, view.ascii);
    if !left_out.is_empty() {
        let full_width = layout::render(&header(d), &rows, None, view.ascii)
            .0
            .lines()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or_default();
        body.push_str(&wrap(
            &format!(
                "left out to fit {} columns: {} (--width {full_width} shows every column; --format json has every figure)",
                width.unwrap_or_default(),
                left_out.join(", "),
            ),
            width,
            "  ",
        ));
        body.push('\n');
    }
    body.push_str(&table);
    body.push('\n');
    body.push_str(&totals(d, width));
    let counts = counts(d);
    body.push_str(&format!("\n{counts}\n"));

    let mut findings = String::new();
    for x in &d.diagnostics {
        findings.push('\n');
        findings.push_str(&super::diagnostics::render(x, &d.spec.file, source));
    }
    let summary = summary_line(d, &counts, top.lines().count() + body.lines().count(), width);
    let out = format!("{top}{summary}{body}{findings}");
    if view.ascii { crate::fmt::ascii(&out) } else { out }
}

/// The lines above the table: the spec, the variant, the model, the input and the axes.
fn heading(d: &Derivation, width: Option<usize>) -> String {
    let g = &d.graph;
    let (rh, rw) = g.reference;
    let variant = match &g.variant {
        Some(v) => format!("variant {v}: {}", d.spec.variants[v].description),
        None => "the table as printed (no variant)".into(),
    };
    let mut lines = vec![
        format!("{} — {}", d.spec.name, d.spec.title),
        format!("{}: {variant}", d.spec.file),
    ];
    if let Some(m) = &g.model {
        lines.push(format!("model {m} (of {})", d.spec.models.join(", ")));
    }
    lines.push(format!(
        "input N×{}×H×W, reference {rh}×{rw}, {} classes, batch {}",
        g.input_channels, g.classes, d.totals.batch
    ));
    lines.push(format!(
        "axes: the symbolic output is N×C×H×W (PyTorch's order); the shape at {rh}×{rw} and the printed one are H×W×C, as the paper prints them"
    ));
    let mut top = String::new();
    for line in lines {
        top.push_str(&wrap(&line, width, "  "));
        top.push('\n');
    }
    top
}

/// The table's rows: the input, each printed row with its layers down to `depth`, the
/// layers a variant inserts after a row, the head and the auxiliary heads.
fn table_rows(d: &Derivation, depth: Depth) -> Vec<[String; layout::COLUMNS]> {
    let g = &d.graph;
    let mut lines = Lines {
        d,
        rows: Vec::new(),
        depth,
    };
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
        let inserted = node_range(cursor..after_end, |p| matches!(p, Place::After { row } if *row == i), g);
        if let Some((first, end)) = inserted {
            lines.group(
                format!("  (inserted after {})", row.label),
                layer_lines(d, first, end),
                &format!("{}_after.", row.name),
            );
            cursor = end;
        }
    }
    if let Some((first, end)) = node_range(cursor..g.nodes.len(), |p| matches!(p, Place::Head), g) {
        lines.group("head".to_string(), layer_lines(d, first, end), "");
    }
    for o in g.outputs.iter().filter(|o| o.aux) {
        let aux = |p: &Place| matches!(p, Place::Aux { head } if *head == o.name);
        if let Some((first, end)) = node_range(0..g.nodes.len(), aux, g) {
            let root = g.nodes[first].inputs[0];
            lines.group(
                format!("{} (from {})", o.name, place_label(d, root)),
                layer_lines(d, first, end),
                &format!("{}.", o.name),
            );
        }
    }
    lines.rows
}

/// From the first to past the last node among `ids` whose place is `wanted`.
fn node_range(
    ids: std::ops::Range<NodeId>,
    wanted: impl Fn(&Place) -> bool,
    g: &crate::ir::Graph,
) -> Option<(NodeId, NodeId)> {
    let mut found = ids.filter(|id| wanted(&g.nodes[*id].place));
    let first = found.next()?;
    let last = found.last().unwrap_or(first);
    Some((first, last + 1))
}

fn header(d: &Derivation) -> [String; layout::COLUMNS] {
    let (rh, rw) = d.graph.reference;
    [
        "layer".to_string(),
        "output (symbolic)".into(),
        format!("at {rh}×{rw}"),
        "printed".into(),
        "status".into(),
        "params".into(),
        "MACs".into(),
    ]
}

/// `6 errors, 0 warnings, 0 notes`.
fn counts(d: &Derivation) -> String {
    format!(
        "{}, {}, {}",
        plural(d.errors(), "error"),
        plural(d.warnings(), "warning"),
        plural(d.diagnostics.len() - d.errors() - d.warnings(), "note")
    )
}

/// The line above the table: the counts, the rows to look at (errors first), and the line
/// the findings start on, for a reader who sees the top of the report first (a pager).
/// `before` is the number of lines the report has besides this one, up to the findings.
fn summary_line(d: &Derivation, counts: &str, before: usize, width: Option<usize>) -> String {
    if d.diagnostics.is_empty() {
        return format!("{}\n", wrap(counts, width, "  "));
    }
    // Each row once, with its codes, errors first.
    let mut look: Vec<(String, Vec<&str>)> = Vec::new();
    for severity in [Severity::Error, Severity::Warning] {
        for x in d.diagnostics.iter().filter(|x| x.severity == severity) {
            let row = x.row.clone().unwrap_or_else(|| "the spec".into());
            match look.iter_mut().find(|(r, _)| *r == row) {
                Some((_, codes)) if !codes.contains(&x.code) => codes.push(x.code),
                Some(_) => {}
                None => look.push((row, vec![x.code])),
            }
        }
    }
    let look: Vec<String> = look
        .into_iter()
        .map(|(row, codes)| format!("{row} ({})", codes.join(", ")))
        .collect();
    const LISTED: usize = 6;
    let mut rows = look.iter().take(LISTED).cloned().collect::<Vec<_>>().join(", ");
    if look.len() > LISTED {
        rows.push_str(&format!(" and {} more", look.len() - LISTED));
    }
    let look = if rows.is_empty() {
        String::new()
    } else {
        format!("; look at {rows}")
    };
    // The summary's own lines count too, and their number can depend on the line number.
    let mut lines = 1;
    loop {
        let text = wrap(
            &format!(
                "{counts}{look}; the findings follow the table, from line {}",
                before + lines + 2
            ),
            width,
            "  ",
        );
        let n = text.lines().count();
        if n == lines {
            return format!("{text}\n");
        }
        lines = n;
    }
}

/// Parameters, MACs, activation memory and the valid input sizes.
fn totals(d: &Derivation, width: Option<usize>) -> String {
    let (rh, rw) = d.graph.reference;
    let t = &d.totals;
    let indent = " ".repeat(13);
    let mut lines = vec![
        format!(
            "parameters   {} ({} in auxiliary heads); buffers {} (batch norm running statistics)",
            thousands(t.params),
            thousands(t.aux_params),
            thousands(t.buffers)
        ),
        format!(
            "MACs         {} per image at {rh}×{rw} ({:.2} GFLOPs, 1 MAC = 2 FLOPs; conv and linear only)",
            thousands(t.macs),
            t.macs as f64 * 2.0 / 1e9
        ),
        format!(
            "activations  {} forward outputs, ~{} kept for backward in training (batch {}, fp32)",
            bytes(t.forward_bytes),
            bytes(t.training_bytes),
            t.batch
        ),
    ];
    let max = match d.domain.max {
        (Some(h), Some(w)) => format!(", at most {h}×{w} (a flatten fixes the size)"),
        _ => String::new(),
    };
    if d.domain.min.0 == 0 || d.domain.min.1 == 0 {
        lines.push("input        no input size makes every concatenation's branches agree".into());
    } else {
        lines.push(format!(
            "input        valid from {}×{}{max}",
            d.domain.min.0, d.domain.min.1
        ));
    }
    for (node, condition) in &d.domain.conditions {
        lines.push(format!("{indent}{}: branches agree {condition}", place_label(d, *node)));
    }
    let mut out = String::from("\n");
    for l in lines {
        out.push_str(&wrap(&l, width, &indent));
        out.push('\n');
    }
    out
}
