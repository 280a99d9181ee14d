//! The diagram's tree, from the derivation: the input, each row (a block, or opened into
//! its branches and layers), inserted layers, the head and auxiliary heads, and the edges.

use std::collections::{BTreeSet, HashMap};

use super::{BoxId, Diagram, Item, Kind, Line, Node, Style, Tone, at_reference, figures, line};
use crate::derive::Derivation;
use crate::fmt::thousands;
use crate::ir::{NodeId, Op, Place};
use crate::report::{LayerLine, layer_lines, place_label, printed_output, symbolic_with_batch};

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
        let mut seq: Vec<Item> = Vec::new();
        let mut par: Vec<(String, Vec<Item>)> = Vec::new();
        let lines = layer_lines(d, first, end);
        let mut next = lines.into_iter().peekable();
        for id in first..end {
            if let Some(word) = merge_word(&g.nodes[id].op) {
                flush_branches(&mut seq, &mut par);
                let item = self.merge_box(id, word);
                seq.push(item);
                continue;
            }
            let Some(l) = next.next_if(|l| l.node == id) else {
                continue;
            };
            let branch = match &g.nodes[id].place {
                Place::Row { branch, .. } => branch.as_deref().map(str::to_string),
                _ => None,
            };
            let item = self.layer_box(&l, strip, branch.as_deref());
            match branch {
                Some(b) => match par.iter_mut().find(|(name, _)| *name == b) {
                    Some((_, items)) => items.push(item),
                    None => par.push((b, vec![item])),
                },
                None => {
                    flush_branches(&mut seq, &mut par);
                    seq.push(item);
                }
            }
        }
        flush_branches(&mut seq, &mut par);
        Item::Seq(seq)
    }

    /// A concatenation, sum or product: `word → shape`.
    fn merge_box(&mut self, id: NodeId, word: &str) -> Item {
        let n = &self.d.graph.nodes[id];
        let node = Node {
            id: n.name.clone(),
            kind: Kind::Merge,
            lines: vec![line(
                format!("{word} → {}", at_reference(self.d, &n.shape)),
                Style::Title,
            )],
            tone: Tone::Plain,
        };
        self.push(node, &[id])
    }

    /// One displayed layer: its name without the row's (`strip`) and branch's prefixes, its
    /// op and the folded ones, its output shape and figures.
    fn layer_box(&mut self, l: &LayerLine, strip: &str, branch: Option<&str>) -> Item {
        let d = self.d;
        let g = &d.graph;
        let n = &g.nodes[l.node];
        let local = n.name.strip_prefix(strip).unwrap_or(&n.name);
        let local = branch
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
        let node = Node {
            id: n.name.clone(),
            kind: Kind::Layer,
            lines,
            tone: Tone::Plain,
        };
        self.push(node, &l.nodes)
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

/// The merge a node is, in a word: `concat`, `add`, `mul`.
fn merge_word(op: &Op) -> Option<&'static str> {
    match op {
        Op::Concat => Some("concat"),
        Op::Add => Some("add"),
        Op::Mul => Some("mul"),
        _ => None,
    }
}

/// The branches gathered so far, side by side, as the next item of `seq`.
fn flush_branches(seq: &mut Vec<Item>, par: &mut Vec<(String, Vec<Item>)>) {
    if !par.is_empty() {
        let branches = std::mem::take(par)
            .into_iter()
            .map(|(name, items)| (name, Item::Seq(items)))
            .collect();
        seq.push(Item::Par(branches));
    }
}
