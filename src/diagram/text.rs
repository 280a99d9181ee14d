//! The diagram as Graphviz DOT and as a Mermaid flowchart: the same boxes and edges as the
//! SVG, opened rows as clusters (subgraphs), findings coloured.

use std::fmt::Write as _;

use super::{BoxId, Diagram, Item, Kind, Line, Node, Style, Tone};

fn colour(t: Tone) -> &'static str {
    match t {
        Tone::Plain => "#9e9e9e",
        Tone::Note => "#1565c0",
        Tone::Warning => "#ef6c00",
        Tone::Error => "#c62828",
    }
}

/// Text inside a DOT double-quoted string: quotes and backslashes escaped, controls dropped.
fn dot_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn dot_str(s: &str) -> String {
    format!("\"{}\"", dot_escape(s))
}

/// Lines as one DOT label, each ended by DOT's left-justified line break.
fn dot_label(lines: &[Line]) -> String {
    let mut s = String::from("\"");
    for l in lines {
        s.push_str(&dot_escape(&l.text));
        s.push_str("\\l");
    }
    s.push('"');
    s
}

/// How one text format writes the tree: its boxes and the opening of its clusters.
trait Syntax {
    /// The line that closes a cluster.
    const CLOSE: &'static str;
    /// Box `b`'s lines, each starting with `pad`.
    fn node(&self, out: &mut String, pad: &str, b: BoxId, n: &Node);
    /// The line opening cluster `c`, a branch named `name`.
    fn open_branch(&self, c: usize, name: &str) -> String;
    /// The line opening cluster `c`, an opened row.
    fn open_frame(&self, c: usize, header: &[Line], tone: Tone) -> String;
    /// A line after an opened row's cluster, styling it.
    fn frame_style(&self, _c: usize, _tone: Tone) -> Option<String> {
        None
    }
}

/// The main column and the auxiliary heads, opened rows and branches as clusters numbered
/// in order from 1.
fn tree(syntax: &impl Syntax, d: &Diagram, out: &mut String) {
    let mut cluster = 0;
    for i in d.main.iter().chain(d.sides.iter().map(|(_, i)| i)) {
        item(syntax, d, i, out, &mut cluster, 2);
    }
}

fn item<S: Syntax>(syntax: &S, d: &Diagram, i: &Item, out: &mut String, cluster: &mut usize, indent: usize) {
    let pad = " ".repeat(indent);
    match i {
        Item::Node(b) => syntax.node(out, &pad, *b, &d.nodes[*b]),
        Item::Seq(items) => items.iter().for_each(|i| item(syntax, d, i, out, cluster, indent)),
        Item::Par(branches) => {
            for (name, i) in branches {
                *cluster += 1;
                let _ = writeln!(out, "{pad}{}", syntax.open_branch(*cluster, name));
                item(syntax, d, i, out, cluster, indent + 2);
                let _ = writeln!(out, "{pad}{}", S::CLOSE);
            }
        }
        Item::Frame { header, tone, body, .. } => {
            *cluster += 1;
            let c = *cluster;
            let _ = writeln!(out, "{pad}{}", syntax.open_frame(c, header, *tone));
            item(syntax, d, body, out, cluster, indent + 2);
            let _ = writeln!(out, "{pad}{}", S::CLOSE);
            if let Some(style) = syntax.frame_style(c, *tone) {
                let _ = writeln!(out, "{pad}{style}");
            }
        }
    }
}

struct Dot;

impl Syntax for Dot {
    const CLOSE: &'static str = "}";

    fn node(&self, out: &mut String, pad: &str, b: BoxId, n: &Node) {
        let shape = match n.kind {
            Kind::Merge => "oval",
            _ => "box",
        };
        let _ = writeln!(
            out,
            "{pad}n{b} [label={}, shape={shape}, color=\"{}\", penwidth={}];",
            dot_label(&n.lines),
            colour(n.tone),
            if n.tone >= Tone::Warning { 2 } else { 1 }
        );
    }

    fn open_branch(&self, c: usize, name: &str) -> String {
        format!("subgraph cluster_{c} {{ label={}; style=dashed;", dot_str(name))
    }

    fn open_frame(&self, c: usize, header: &[Line], tone: Tone) -> String {
        format!(
            "subgraph cluster_{c} {{ label={}; labeljust=l; color=\"{}\";",
            dot_label(header),
            colour(tone)
        )
    }
}

/// The diagram in Graphviz DOT (`dot -Tsvg`).
pub fn dot(d: &Diagram) -> String {
    let mut out = String::from(
        "digraph archcheck {\n  rankdir=TB;\n  node [shape=box, fontname=\"DejaVu Sans Mono\", fontsize=10];\n",
    );
    let _ = writeln!(out, "  label={}; labelloc=t;", dot_str(&d.title));
    tree(&Dot, d, &mut out);
    for (a, b) in &d.edges {
        let _ = writeln!(out, "  n{a} -> n{b};");
    }
    out.push_str("}\n");
    out
}

/// A Mermaid label: in double quotes, with quotes and markup as entities; lines as `<br/>`.
fn mermaid_label(lines: &[Line]) -> String {
    let parts: Vec<String> = lines
        .iter()
        .map(|l| {
            let t: String = l
                .text
                .chars()
                .map(|c| match c {
                    '"' => "#quot;".to_string(),
                    '<' => "#lt;".to_string(),
                    '>' => "#gt;".to_string(),
                    '#' => "#35;".to_string(),
                    c if c.is_control() => " ".to_string(),
                    c => c.to_string(),
                })
                .collect();
            if l.style == Style::Title {
                format!("<b>{t}</b>")
            } else {
                t
            }
        })
        .collect();
    format!("\"{}\"", parts.join("<br/>"))
}

struct Mermaid;

impl Syntax for Mermaid {
    const CLOSE: &'static str = "end";

    fn node(&self, out: &mut String, pad: &str, b: BoxId, n: &Node) {
        let (open, close) = if n.kind == Kind::Merge {
            ("([", "])")
        } else {
            ("[", "]")
        };
        let _ = writeln!(out, "{pad}n{b}{open}{}{close}", mermaid_label(&n.lines));
        if n.tone > Tone::Plain {
            let _ = writeln!(out, "{pad}style n{b} stroke:{},stroke-width:2px", colour(n.tone));
        }
    }

    fn open_branch(&self, c: usize, name: &str) -> String {
        let label = mermaid_label(&[Line {
            text: name.to_string(),
            style: Style::Shape,
        }]);
        format!("subgraph c{c}[{label}]")
    }

    fn open_frame(&self, c: usize, header: &[Line], _tone: Tone) -> String {
        format!("subgraph c{c}[{}]", mermaid_label(header))
    }

    fn frame_style(&self, c: usize, tone: Tone) -> Option<String> {
        (tone > Tone::Plain).then(|| format!("style c{c} stroke:{},stroke-width:2px", colour(tone)))
    }
}

/// The diagram as a Mermaid flowchart (`flowchart TB`).
pub fn mermaid(d: &Diagram) -> String {
    let mut out = String::from("flowchart TB\n");
    tree(&Mermaid, d, &mut out);
    for (a, b) in &d.edges {
        let _ = writeln!(out, "  n{a} --> n{b}");
    }
    out
}
