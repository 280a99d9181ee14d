//! The diagram as Graphviz DOT and as a Mermaid flowchart: the same boxes and edges as the
//! SVG, opened rows as clusters (subgraphs), findings coloured.

use std::fmt::Write as _;

use super::{Diagram, Item, Kind, Line, Style, Tone};

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

/// The diagram in Graphviz DOT (`dot -Tsvg`).
pub fn dot(d: &Diagram) -> String {
    let mut out = String::from(
        "digraph archcheck {\n  rankdir=TB;\n  node [shape=box, fontname=\"DejaVu Sans Mono\", fontsize=10];\n",
    );
    let _ = writeln!(out, "  label={}; labelloc=t;", dot_str(&d.title));
    let mut cluster = 0;
    fn item(d: &Diagram, i: &Item, out: &mut String, cluster: &mut usize, indent: usize) {
        let pad = " ".repeat(indent);
        match i {
            Item::Node(b) => {
                let n = &d.nodes[*b];
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
            Item::Seq(items) => items.iter().for_each(|i| item(d, i, out, cluster, indent)),
            Item::Par(branches) => {
                for (name, i) in branches {
                    *cluster += 1;
                    let _ = writeln!(
                        out,
                        "{pad}subgraph cluster_{} {{ label={}; style=dashed;",
                        cluster,
                        dot_str(name)
                    );
                    item(d, i, out, cluster, indent + 2);
                    let _ = writeln!(out, "{pad}}}");
                }
            }
            Item::Frame { header, tone, body, .. } => {
                *cluster += 1;
                let _ = writeln!(
                    out,
                    "{pad}subgraph cluster_{} {{ label={}; labeljust=l; color=\"{}\";",
                    cluster,
                    dot_label(header),
                    colour(*tone)
                );
                item(d, body, out, cluster, indent + 2);
                let _ = writeln!(out, "{pad}}}");
            }
        }
    }
    for i in d.main.iter().chain(d.sides.iter().map(|(_, i)| i)) {
        item(d, i, &mut out, &mut cluster, 2);
    }
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

/// The diagram as a Mermaid flowchart (`flowchart TB`).
pub fn mermaid(d: &Diagram) -> String {
    let mut out = String::from("flowchart TB\n");
    let mut cluster = 0;
    fn item(d: &Diagram, i: &Item, out: &mut String, cluster: &mut usize, indent: usize) {
        let pad = " ".repeat(indent);
        match i {
            Item::Node(b) => {
                let n = &d.nodes[*b];
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
            Item::Seq(items) => items.iter().for_each(|i| item(d, i, out, cluster, indent)),
            Item::Par(branches) => {
                for (name, i) in branches {
                    *cluster += 1;
                    let _ = writeln!(
                        out,
                        "{pad}subgraph c{}[{}]",
                        cluster,
                        mermaid_label(&[Line {
                            text: name.clone(),
                            style: Style::Shape
                        }])
                    );
                    item(d, i, out, cluster, indent + 2);
                    let _ = writeln!(out, "{pad}end");
                }
            }
            Item::Frame { header, tone, body, .. } => {
                *cluster += 1;
                let c = *cluster;
                let _ = writeln!(out, "{pad}subgraph c{c}[{}]", mermaid_label(header));
                item(d, body, out, cluster, indent + 2);
                let _ = writeln!(out, "{pad}end");
                if *tone > Tone::Plain {
                    let _ = writeln!(out, "{pad}style c{c} stroke:{},stroke-width:2px", colour(*tone));
                }
            }
        }
    }
    for i in d.main.iter().chain(d.sides.iter().map(|(_, i)| i)) {
        item(d, i, &mut out, &mut cluster, 2);
    }
    for (a, b) in &d.edges {
        let _ = writeln!(out, "  n{a} --> n{b}");
    }
    out
}
