//! Places a [`Diagram`]: sizes from the text (a monospace font of known advance), then
//! sequences top to bottom, branches side by side, frames around opened rows, auxiliary
//! heads in a column to the right beside the row they branch from.

use super::{Diagram, Item, Line, Tone};

/// Advance of one character at the 12 px monospace font the SVG asks for (DejaVu Sans
/// Mono: 0.602 em), rounded up so text never overflows its box.
pub const CHAR_W: f64 = 7.4;
pub const LINE_H: f64 = 16.0;
pub const FONT_PX: f64 = 12.0;
const PAD_X: f64 = 8.0;
const PAD_Y: f64 = 6.0;
/// Between boxes of a sequence: room for the arrow.
const V_GAP: f64 = 26.0;
const H_GAP: f64 = 18.0;
const BRANCH_LABEL_H: f64 = 18.0;
const FRAME_PAD: f64 = 10.0;
const SIDE_GAP: f64 = 70.0;
pub const MARGIN: f64 = 20.0;
/// Longer lines are cut (with an ellipsis) so one message cannot widen the whole picture.
pub const MAX_CHARS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// A line as drawn: cut to [`MAX_CHARS`].
pub fn shown(text: &str) -> String {
    if text.chars().count() <= MAX_CHARS {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(MAX_CHARS - 1).collect();
        s.push('…');
        s
    }
}

fn text_w(lines: &[Line]) -> f64 {
    lines.iter().map(|l| shown(&l.text).chars().count()).max().unwrap_or(0) as f64 * CHAR_W
}

fn block(lines: &[Line]) -> (f64, f64) {
    (text_w(lines) + 2.0 * PAD_X, lines.len() as f64 * LINE_H + 2.0 * PAD_Y)
}

/// An opened row's frame.
pub struct Frame<'a> {
    pub id: &'a str,
    pub rect: Rect,
    pub header: &'a [Line],
    pub tone: Tone,
}

/// Where everything goes.
pub struct Placed<'a> {
    /// Per box, in [`Diagram::nodes`] order.
    pub boxes: Vec<Rect>,
    pub frames: Vec<Frame<'a>>,
    /// Branch names: (x centre, baseline y, text).
    pub labels: Vec<(f64, f64, &'a str)>,
    /// The title and header lines' top-left corner.
    pub header_at: (f64, f64),
    pub width: f64,
    pub height: f64,
}

struct Placer<'a> {
    d: &'a Diagram,
    boxes: Vec<Rect>,
    frames: Vec<Frame<'a>>,
    labels: Vec<(f64, f64, &'a str)>,
}

impl<'a> Placer<'a> {
    fn size(&self, item: &Item) -> (f64, f64) {
        match item {
            Item::Node(b) => block(&self.d.nodes[*b].lines),
            Item::Seq(items) => {
                let sizes: Vec<(f64, f64)> = items.iter().map(|i| self.size(i)).collect();
                let w = sizes.iter().map(|s| s.0).fold(0.0, f64::max);
                let h = sizes.iter().map(|s| s.1).sum::<f64>() + V_GAP * (sizes.len().saturating_sub(1)) as f64;
                (w, h)
            }
            Item::Par(branches) => {
                let sizes: Vec<(f64, f64)> = branches.iter().map(|(name, i)| self.branch_size(name, i)).collect();
                let w = sizes.iter().map(|s| s.0).sum::<f64>() + H_GAP * (sizes.len().saturating_sub(1)) as f64;
                let h = sizes.iter().map(|s| s.1).fold(0.0, f64::max);
                (w, h)
            }
            Item::Frame { header, body, .. } => {
                let (hw, hh) = block(header);
                let (bw, bh) = self.size(body);
                (hw.max(bw + 2.0 * FRAME_PAD), hh + bh + FRAME_PAD)
            }
        }
    }

    fn branch_size(&self, name: &str, item: &Item) -> (f64, f64) {
        let (w, h) = self.size(item);
        (w.max(name.chars().count() as f64 * CHAR_W), h + BRANCH_LABEL_H)
    }

    /// Places `item` with its top-left at (x, y), centred in `width`.
    fn place(&mut self, item: &'a Item, x: f64, y: f64, width: f64) {
        let (w, _) = self.size(item);
        let x = x + (width - w) / 2.0;
        match item {
            Item::Node(b) => {
                let (bw, bh) = block(&self.d.nodes[*b].lines);
                self.boxes[*b] = Rect { x, y, w: bw, h: bh };
            }
            Item::Seq(items) => {
                let mut y = y;
                for i in items {
                    let (_, h) = self.size(i);
                    self.place(i, x, y, w);
                    y += h + V_GAP;
                }
            }
            Item::Par(branches) => {
                let mut x = x;
                for (name, i) in branches {
                    let (bw, _) = self.branch_size(name, i);
                    self.labels
                        .push((x + bw / 2.0, y + BRANCH_LABEL_H - 6.0, name.as_str()));
                    self.place(i, x, y + BRANCH_LABEL_H, bw);
                    x += bw + H_GAP;
                }
            }
            Item::Frame { id, header, tone, body } => {
                let (_, hh) = block(header);
                let (fw, fh) = self.size(item);
                self.frames.push(Frame {
                    id,
                    rect: Rect { x, y, w: fw, h: fh },
                    header,
                    tone: *tone,
                });
                self.place(body, x + FRAME_PAD, y + hh, fw - 2.0 * FRAME_PAD);
            }
        }
    }
}

/// The placed diagram.
pub fn layout(d: &Diagram) -> Placed<'_> {
    let mut p = Placer {
        d,
        boxes: vec![
            Rect {
                x: 0.0,
                y: 0.0,
                w: 0.0,
                h: 0.0
            };
            d.nodes.len()
        ],
        frames: Vec::new(),
        labels: Vec::new(),
    };
    let header_lines = d.header.len() as f64 + 1.5;
    let header_w = d
        .header
        .iter()
        .map(|l| shown(&l.text).chars().count())
        .chain([d.title.chars().count()])
        .max()
        .unwrap_or(0) as f64
        * CHAR_W;
    let top = MARGIN + header_lines * LINE_H + V_GAP;
    let main_w = d.main.iter().map(|i| p.size(i).0).fold(0.0, f64::max);
    let mut y = top;
    let mut tops = Vec::new();
    for item in &d.main {
        tops.push(y);
        let (_, h) = p.size(item);
        p.place(item, MARGIN, y, main_w);
        y += h + V_GAP;
    }
    let mut bottom = y - V_GAP;
    // Auxiliary heads: below the item they branch from, never over the one before.
    let side_x = MARGIN + main_w + SIDE_GAP;
    let mut side_y = top;
    let mut side_w: f64 = 0.0;
    for (at, item) in &d.sides {
        let (w, h) = p.size(item);
        let want = tops.get(at + 1).copied().unwrap_or(top);
        let y = want.max(side_y);
        p.place(item, side_x, y, w);
        side_y = y + h + V_GAP;
        side_w = side_w.max(w);
        bottom = bottom.max(y + h);
    }
    let width = if d.sides.is_empty() {
        MARGIN + main_w
    } else {
        side_x + side_w
    }
    .max(MARGIN + header_w)
        + MARGIN;
    Placed {
        boxes: p.boxes,
        frames: p.frames,
        labels: p.labels,
        header_at: (MARGIN, MARGIN),
        width,
        height: bottom + MARGIN,
    }
}

/// The centre of a box's top or bottom edge.
pub fn port(r: &Rect, bottom: bool) -> (f64, f64) {
    (r.x + r.w / 2.0, if bottom { r.y + r.h } else { r.y })
}
