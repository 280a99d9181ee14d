//! `archcheck diagram`: the network as the paper nests it (row → branch → layer, merges as
//! merges), read from the [`Derivation`]: every shape, count and finding shown is the
//! derivation's, formatted here and never recomputed.
//!
//! [`Diagram::of`] builds a tree of boxes (one per layer at the chosen depth, or one per
//! row where rows are collapsed) and the edges between them, taken from the graph's own
//! inputs; [`layout`] places it, [`svg`] draws it, [`text`] writes Graphviz DOT and
//! Mermaid from the same tree. The layout is archcheck's own: the network is
//! series-parallel as the table nests it (rows in sequence, branches side by side, each
//! branch a sequence), so nested boxes show that nesting directly, where a general layered
//! (Sugiyama) layout would flatten it into one graph and lose the rows.

pub mod layout;
pub mod svg;
pub mod text;

use std::collections::{BTreeSet, HashMap};

use crate::derive::Derivation;
use crate::diag::Severity;
use crate::fmt::thousands;
use crate::ir::{NodeId, Op, Place};
use crate::report::{layer_lines, place_label, printed_output, symbolic_with_batch};
use crate::shape::Shape;

/// How strongly a box is marked: by the worst finding it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tone {
    Plain,
    /// A variant corrected a printed cell (N301), or another note.
    Note,
    Warning,
    Error,
}

impl Tone {
    fn of(s: Severity) -> Tone {
        match s {
            Severity::Note => Tone::Note,
            Severity::Warning => Tone::Warning,
            Severity::Error => Tone::Error,
        }
    }
}

/// One line of a box's text.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub text: String,
    pub style: Style,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Title,
    Shape,
    Figures,
    /// A finding: its code, in its tone.
    Finding(Tone),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Input,
    Layer,
    /// A concatenation, sum or product: where branches merge.
    Merge,
    /// A collapsed row, head or auxiliary head.
    Block,
}

/// A drawn box.
#[derive(Debug, Clone)]
pub struct Node {
    /// Stable id: the layer's node name, a row's name, `head`, an auxiliary head's name.
    pub id: String,
    pub kind: Kind,
    pub lines: Vec<Line>,
    pub tone: Tone,
}

pub type BoxId = usize;

/// The nesting of boxes.
#[derive(Debug, Clone)]
pub enum Item {
    Node(BoxId),
    /// Top to bottom.
    Seq(Vec<Item>),
    /// Side by side, each with its branch name.
    Par(Vec<(String, Item)>),
    /// An opened row: its figures and findings on top, its layers inside.
    Frame {
        id: String,
        header: Vec<Line>,
        tone: Tone,
        body: Box<Item>,
    },
}

/// The whole picture, before layout.
#[derive(Debug, Clone)]
pub struct Diagram {
    pub title: String,
    pub header: Vec<Line>,
    pub nodes: Vec<Node>,
    /// The main column, input to head.
    pub main: Vec<Item>,
    /// Auxiliary heads, each beside the main item it branches from (an index into `main`).
    pub sides: Vec<(usize, Item)>,
    /// (from, to) between boxes, from the graph's inputs, without repeats.
    pub edges: Vec<(BoxId, BoxId)>,
}

/// `9,472`, `219.1K`, `118.0M`: exact below 100,000, else four significant figures at most.
pub fn compact(n: i64) -> String {
    let f = n as f64;
    match n.unsigned_abs() {
        0..100_000 => thousands(n),
        100_000..1_000_000 => format!("{:.1}K", f / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1}M", f / 1e6),
        _ => format!("{:.2}G", f / 1e9),
    }
}

/// `28×28×256` at the reference, `1000` for a vector.
fn at_reference(d: &Derivation, s: &Shape) -> String {
    let (h, w) = d.graph.reference;
    match *s {
        Shape::Map { c, h: dh, w: dw } => format!("{}×{}×{c}", dh.eval(h), dw.eval(w)),
        Shape::Flat { features } => features.to_string(),
    }
}

fn line(text: impl Into<String>, style: Style) -> Line {
    Line {
        text: text.into(),
        style,
    }
}

/// `params 9,472 · MACs 118.0M` (parts that are zero left out), with more parts first.
fn figures(mut parts: Vec<String>, params: i64, macs: i64) -> Option<Line> {
    if params > 0 {
        parts.push(format!("params {}", compact(params)));
    }
    if macs > 0 {
        parts.push(format!("MACs {}", compact(macs)));
    }
    (!parts.is_empty()).then(|| line(parts.join(" · "), Style::Figures))
}

struct Builder<'d> {
    d: &'d Derivation,
    depth: usize,
    nodes: Vec<Node>,
    /// The box each graph node is drawn in.
    drawn_in: HashMap<NodeId, BoxId>,
}

impl Diagram {
    /// The diagram at `depth`: 1 draws each printed row (and the head, each auxiliary
    /// head) as one block; 2 and more open them into branches and layers.
    pub fn of(d: &Derivation, depth: usize) -> Diagram {
        let mut b = Builder {
            d,
            depth,
            nodes: Vec::new(),
            drawn_in: HashMap::new(),
        };
        let g = &d.graph;
        let mut main = Vec::new();
        let mut sides = Vec::new();
        main.push(b.input());
        let mut cursor = 1;
        for (i, span) in g.rows.iter().enumerate() {
            main.push(b.row(i, span.first, span.end));
            cursor = span.end;
            let after_end = g.rows.get(i + 1).map(|r| r.first).unwrap_or(g.nodes.len());
            let inserted: Vec<NodeId> = (cursor..after_end)
                .filter(|id| matches!(g.nodes[*id].place, Place::After { row } if row == i))
                .collect();
            if let (Some(&first), Some(&last)) = (inserted.first(), inserted.last()) {
                let label = format!("inserted after {}", d.spec.rows[i].label);
                main.push(b.group(&format!("{}_after", d.spec.rows[i].name), &label, first, last + 1));
                cursor = last + 1;
            }
        }
        let head: Vec<NodeId> = (cursor..g.nodes.len())
            .filter(|id| matches!(g.nodes[*id].place, Place::Head))
            .collect();
        if let (Some(&first), Some(&last)) = (head.first(), head.last()) {
            main.push(b.group("head", "head", first, last + 1));
        }
        for o in g.outputs.iter().filter(|o| o.aux) {
            let ids: Vec<NodeId> = (0..g.nodes.len())
                .filter(|id| matches!(&g.nodes[*id].place, Place::Aux { head } if *head == o.name))
                .collect();
            if let (Some(&first), Some(&last)) = (ids.first(), ids.last()) {
                let root = g.nodes[first].inputs[0];
                let label = format!("{} (from {})", o.name, place_label(d, root));
                let item = b.group(&o.name, &label, first, last + 1);
                // Beside the main item that holds its root.
                let at = b.drawn_in.get(&root).map_or(0, |&bx| main_index(&main, bx));
                sides.push((at, item));
            }
        }
        let edges = b.edges();
        Diagram {
            title: format!("{} — {}", d.spec.name, d.spec.title),
            header: header(d),
            nodes: b.nodes,
            main,
            sides,
            edges,
        }
    }
}

/// The index of the main item that draws box `bx`.
fn main_index(main: &[Item], bx: BoxId) -> usize {
    fn holds(item: &Item, bx: BoxId) -> bool {
        match item {
            Item::Node(b) => *b == bx,
            Item::Seq(items) => items.iter().any(|i| holds(i, bx)),
            Item::Par(branches) => branches.iter().any(|(_, i)| holds(i, bx)),
            Item::Frame { body, .. } => holds(body, bx),
        }
    }
    main.iter().position(|i| holds(i, bx)).unwrap_or(0)
}

/// Variant, totals, input domain, and the findings that name no row.
fn header(d: &Derivation) -> Vec<Line> {
    let g = &d.graph;
    let t = &d.totals;
    let (h, w) = g.reference;
    let mut out = vec![line(
        format!(
            "{}: {}",
            d.spec.file,
            g.variant
                .as_deref()
                .map_or("the table as printed".to_string(), |v| format!("variant {v}"))
        ),
        Style::Shape,
    )];
    out.push(line(
        format!(
            "input N×{}×H×W (reference {h}×{w}) · params {} · MACs {} · {} errors, {} warnings",
            g.input_channels,
            thousands(t.params),
            thousands(t.macs),
            d.errors(),
            d.warnings()
        ),
        Style::Figures,
    ));
    let labels: BTreeSet<&str> = d.spec.rows.iter().map(|r| r.label.as_str()).collect();
    for x in &d.diagnostics {
        if x.row.as_deref().is_none_or(|r| !labels.contains(r)) {
            out.push(line(
                format!("{} {}", x.code, x.message),
                Style::Finding(Tone::of(x.severity)),
            ));
        }
    }
    out
}

impl Builder<'_> {
    fn push(&mut self, node: Node, graph_nodes: &[NodeId]) -> Item {
        let id = self.nodes.len();
        for &n in graph_nodes {
            self.drawn_in.insert(n, id);
        }
        self.nodes.push(node);
        Item::Node(id)
    }

    fn input(&mut self) -> Item {
        let n = &self.d.graph.nodes[0];
        let node = Node {
            id: n.name.clone(),
            kind: Kind::Input,
            lines: vec![
                line("input", Style::Title),
                line(symbolic_with_batch(&n.shape), Style::Shape),
                line(at_reference(self.d, &n.shape), Style::Figures),
            ],
            tone: Tone::Plain,
        };
        self.push(node, &[0])
    }

    /// The findings of row `i` (matched by label, as the row statuses are), each with the
    /// printed value beside the derived one; and the worst tone among them.
    fn findings(&self, i: usize) -> (Vec<Line>, Tone) {
        let label = &self.d.spec.rows[i].label;
        let mut tone = Tone::Plain;
        let mut out = Vec::new();
        for x in self.d.diagnostics.iter().filter(|x| x.row.as_deref() == Some(label)) {
            let t = Tone::of(x.severity);
            tone = tone.max(t);
            let text = match (&x.column, &x.stated, &x.derived) {
                (Some(c), Some(s), Some(v)) => {
                    let shown = |v: &str| {
                        if v.trim().is_empty() {
                            "(empty)".to_string()
                        } else {
                            v.to_string()
                        }
                    };
                    // A correction note's second value is the variant's correction.
                    let verb = if x.code == "N301" { "corrected to" } else { "derived" };
                    format!("{} {c}: printed {}, {verb} {}", x.code, shown(s), shown(v))
                }
                _ => format!("{} {}", x.code, x.message),
            };
            out.push(line(text, Style::Finding(t)));
        }
        (out, tone)
    }

    /// A row's title, shapes and figures.
    fn row_lines(&self, i: usize) -> Vec<Line> {
        let d = self.d;
        let span = &d.graph.rows[i];
        let shape = &d.graph.nodes[span.output].shape;
        let f = &d.rows[i];
        let mut lines = vec![
            line(d.spec.rows[i].label.clone(), Style::Title),
            line(symbolic_with_batch(shape), Style::Shape),
        ];
        let derived = at_reference(d, shape);
        let values = match printed_output(d, i) {
            Some(p) => format!("derived {derived} · printed {p}"),
            None => format!("derived {derived}"),
        };
        lines.extend(figures(
            vec![values, format!("depth {}", f.depth)],
            f.cost.params,
            f.cost.macs,
        ));
        lines
    }

    fn row(&mut self, i: usize, first: NodeId, end: NodeId) -> Item {
        let (findings, tone) = self.findings(i);
        let mut lines = self.row_lines(i);
        lines.extend(findings);
        let id = self.d.spec.rows[i].name.clone();
        if self.depth <= 1 {
            let nodes: Vec<NodeId> = (first..end).collect();
            return self.push(
                Node {
                    id,
                    kind: Kind::Block,
                    lines,
                    tone,
                },
                &nodes,
            );
        }
        let body = self.layers(first, end, &format!("{id}."));
        Item::Frame {
            id,
            header: lines,
            tone,
            body: Box::new(body),
        }
    }

    /// The head, an auxiliary head or inserted layers: a block, or opened.
    fn group(&mut self, id: &str, label: &str, first: NodeId, end: NodeId) -> Item {
        let d = self.d;
        let last = &d.graph.nodes[end - 1];
        let (params, macs) = (first..end).fold((0, 0), |(p, m), n| (p + d.per_node[n].params, m + d.per_node[n].macs));
        let mut header = vec![line(label, Style::Title)];
        if self.depth <= 1 {
            header.push(line(symbolic_with_batch(&last.shape), Style::Shape));
            header.extend(figures(vec![at_reference(d, &last.shape)], params, macs));
            let nodes: Vec<NodeId> = (first..end).collect();
            return self.push(
                Node {
                    id: id.to_string(),
                    kind: Kind::Block,
                    lines: header,
                    tone: Tone::Plain,
                },
                &nodes,
            );
        }
        header.extend(figures(Vec::new(), params, macs));
        let strip = if id == "head" { String::new() } else { format!("{id}.") };
        let body = self.layers(first, end, &strip);
        Item::Frame {
            id: id.to_string(),
            header,
            tone: Tone::Plain,
            body: Box::new(body),
        }
    }

    /// Layers `first..end` (conv, batch norm and ReLU folded as derive's table folds them),
    /// runs of one branch side by side, a concatenation after them as their merge.
    fn layers(&mut self, first: NodeId, end: NodeId, strip: &str) -> Item {
        let d = self.d;
        let g = &d.graph;
        let branch_of = |id: NodeId| match &g.nodes[id].place {
            Place::Row { branch, .. } => branch.as_deref().map(str::to_string),
            _ => None,
        };
        let mut seq: Vec<Item> = Vec::new();
        let mut par: Vec<(String, Vec<Item>)> = Vec::new();
        let flush = |seq: &mut Vec<Item>, par: &mut Vec<(String, Vec<Item>)>| {
            if !par.is_empty() {
                let branches = std::mem::take(par)
                    .into_iter()
                    .map(|(name, items)| (name, Item::Seq(items)))
                    .collect();
                seq.push(Item::Par(branches));
            }
        };
        let lines = layer_lines(d, first, end);
        let mut next = lines.into_iter().peekable();
        for id in first..end {
            let n = &g.nodes[id];
            let merge = match n.op {
                Op::Concat => Some("concat"),
                Op::Add => Some("add"),
                Op::Mul => Some("mul"),
                _ => None,
            };
            if let Some(word) = merge {
                flush(&mut seq, &mut par);
                let item = self.push(
                    Node {
                        id: n.name.clone(),
                        kind: Kind::Merge,
                        lines: vec![line(format!("{word} → {}", at_reference(d, &n.shape)), Style::Title)],
                        tone: Tone::Plain,
                    },
                    &[id],
                );
                seq.push(item);
                continue;
            }
            let Some(l) = next.next_if(|l| l.node == id) else {
                continue;
            };
            let local = n.name.strip_prefix(strip).unwrap_or(&n.name);
            let branch = branch_of(id);
            let local = branch
                .as_deref()
                .and_then(|b| local.strip_prefix(&format!("{b}.")))
                .unwrap_or(local);
            let mut title = format!("{local}: {}", n.op.describe());
            for &folded in &l.nodes[1..] {
                title.push_str(" + ");
                title.push_str(match &g.nodes[folded].op {
                    Op::BatchNorm { .. } => "bn",
                    Op::Activation(a) => a.word(),
                    _ => "relu",
                });
            }
            let last = &g.nodes[*l.nodes.last().expect("a layer has a node")];
            let mut lines = vec![
                line(title, Style::Title),
                line(symbolic_with_batch(&last.shape), Style::Shape),
            ];
            lines.extend(figures(vec![at_reference(d, &last.shape)], l.params, l.macs));
            let item = self.push(
                Node {
                    id: n.name.clone(),
                    kind: Kind::Layer,
                    lines,
                    tone: Tone::Plain,
                },
                &l.nodes,
            );
            match branch {
                Some(b) => match par.iter_mut().find(|(name, _)| *name == b) {
                    Some((_, items)) => items.push(item),
                    None => par.push((b, vec![item])),
                },
                None => {
                    flush(&mut seq, &mut par);
                    seq.push(item);
                }
            }
        }
        flush(&mut seq, &mut par);
        Item::Seq(seq)
    }

    /// Every graph edge between two different boxes, once, in graph order.
    fn edges(&self) -> Vec<(BoxId, BoxId)> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (id, n) in self.d.graph.nodes.iter().enumerate() {
            let Some(&to) = self.drawn_in.get(&id) else { continue };
            for i in &n.inputs {
                if let Some(&from) = self.drawn_in.get(i)
                    && from != to
                    && seen.insert((from, to))
                {
                    out.push((from, to));
                }
            }
        }
        out
    }
}
