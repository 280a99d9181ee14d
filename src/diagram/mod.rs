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

mod build;
mod layout;
mod svg;
mod text;

pub use svg::render as svg;
pub use text::{dot, mermaid};

use crate::derive::Derivation;
use crate::diag::Severity;
use crate::fmt::thousands;
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
