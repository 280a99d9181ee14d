//! The placed diagram as SVG: boxes with their text as real `<text>` (searchable, drawn in
//! the viewer's monospace font), findings in colour with their code, arrows between boxes.
//! Every box is a `<g class="node ..." data-node="ID">`, every opened row a
//! `<g class="frame" data-row="ID">`, so tests and scripts can find them.

use std::fmt::Write as _;

use super::layout::{FONT_PX, LINE_H, Placed, Rect, layout, port, shown};
use super::{Diagram, Kind, Line, Style, Tone};

/// Text as XML character data or an attribute value; a line break would be drawn as
/// nothing in a `<text>`, so breaks become spaces.
pub fn xml(text: &str) -> String {
    crate::fmt::xml_escape(text, crate::fmt::Breaks::AsSpaces)
}

fn tone_class(t: Tone) -> &'static str {
    match t {
        Tone::Plain => "plain",
        Tone::Note => "note",
        Tone::Warning => "warn",
        Tone::Error => "err",
    }
}

fn style_class(s: Style) -> &'static str {
    match s {
        Style::Title => "t",
        Style::Shape => "s",
        Style::Figures => "f",
        Style::Finding(Tone::Error) => "f-err",
        Style::Finding(Tone::Warning) => "f-warn",
        Style::Finding(_) => "f-note",
    }
}

const STYLE: &str = "\
text{white-space:pre}\
.t{font-weight:bold;fill:#111}.s{fill:#333}.f{fill:#666}\
.f-err{fill:#b71c1c;font-weight:bold}.f-warn{fill:#e65100;font-weight:bold}.f-note{fill:#1565c0}\
.node rect{fill:#fff;stroke:#9e9e9e;stroke-width:1}\
.node.Input rect{fill:#eceff1}.node.Merge rect{fill:#f5f5f5}.node.Block rect{fill:#fafafa}\
.node.err rect{stroke:#c62828;stroke-width:2.5;fill:#fff3f3}\
.node.warn rect{stroke:#ef6c00;stroke-width:2;fill:#fff8ef}\
.node.note rect{stroke:#1565c0;stroke-width:1.5;fill:#f3f8ff}\
.frame>rect{fill:#f7f9fb;stroke:#b0bec5;stroke-width:1}\
.frame.err>rect{stroke:#c62828;stroke-width:2.5;fill:#fff7f7}\
.frame.warn>rect{stroke:#ef6c00;stroke-width:2}\
.frame.note>rect{stroke:#1565c0;stroke-width:1.5}\
.edge{fill:none;stroke:#78909c;stroke-width:1.2}\
.branch{fill:#546e7a;font-style:italic}\
.halo{paint-order:stroke;stroke:#f7f9fb;stroke-width:4px;stroke-linejoin:round}\
";

fn text_lines(out: &mut String, lines: &[Line], x: f64, y: f64, halo: bool) {
    let class = if halo { " class=\"halo\"" } else { "" };
    let _ = write!(out, "<text x=\"{x:.1}\" y=\"{y:.1}\"{class}>");
    for (i, l) in lines.iter().enumerate() {
        let _ = write!(
            out,
            "<tspan x=\"{x:.1}\" dy=\"{}\" class=\"{}\">{}</tspan>",
            if i == 0 { FONT_PX } else { LINE_H },
            style_class(l.style),
            xml(&shown(&l.text))
        );
    }
    out.push_str("</text>");
}

/// The path of an arrow from box `a` to box `b`. Downwards: a long arrow into a merge runs
/// straight down its branch's column and bends at the end; any other bends at the start
/// (a fan-out) and runs straight down into its box. To a box beside (an auxiliary head): out
/// of a's right side.
fn edge_path(a: &Rect, b: &Rect, into_merge: bool, boxes: &[Rect]) -> String {
    const BEND: f64 = 36.0;
    let (sx, sy) = port(a, true);
    let (tx, ty) = port(b, false);
    // The arrow's straight run: down the source's column into a merge, else the target's.
    let column = if into_merge { sx } else { tx };
    if let Some(x) = detour(column, sy, ty, boxes) {
        // A skip over boxes (a residual, a pass-through): around them on the right.
        return format!(
            "M{sx:.1},{sy:.1} C{sx:.1},{:.1} {x:.1},{:.1} {x:.1},{:.1} L{x:.1},{:.1} C{x:.1},{:.1} {tx:.1},{:.1} {tx:.1},{ty:.1}",
            sy + 12.0,
            sy + 6.0,
            sy + 24.0,
            ty - 24.0,
            ty - 6.0,
            ty - 12.0
        );
    }
    if ty < sy {
        let (sx, sy) = (a.x + a.w, a.y + a.h / 2.0);
        return format!(
            "M{sx:.1},{sy:.1} C{:.1},{sy:.1} {tx:.1},{:.1} {tx:.1},{ty:.1}",
            sx + 40.0,
            ty - 40.0
        );
    }
    if ty - sy <= 2.0 * BEND || (sx - tx).abs() < 1.0 {
        let dy = ((ty - sy) / 2.0).max(10.0);
        return format!(
            "M{sx:.1},{sy:.1} C{sx:.1},{:.1} {tx:.1},{:.1} {tx:.1},{ty:.1}",
            sy + dy,
            ty - dy
        );
    }
    if into_merge {
        let y = ty - BEND;
        format!(
            "M{sx:.1},{sy:.1} L{sx:.1},{y:.1} C{sx:.1},{:.1} {tx:.1},{:.1} {tx:.1},{ty:.1}",
            y + BEND / 2.0,
            ty - BEND / 2.0
        )
    } else {
        let y = sy + BEND;
        format!(
            "M{sx:.1},{sy:.1} C{sx:.1},{:.1} {tx:.1},{:.1} {tx:.1},{y:.1} L{tx:.1},{ty:.1}",
            sy + BEND / 2.0,
            y - BEND / 2.0
        )
    }
}

/// Where a downward arrow running straight down at `x` from `sy` to `ty` would cross boxes
/// between its ends: the x just right of them.
fn detour(x: f64, sy: f64, ty: f64, boxes: &[Rect]) -> Option<f64> {
    if ty - sy < 60.0 {
        return None;
    }
    let (lo, hi) = (x - 2.0, x + 2.0);
    boxes
        .iter()
        .filter(|r| r.y > sy + 1.0 && r.y + r.h < ty - 1.0 && r.x < hi && r.x + r.w > lo)
        .map(|r| r.x + r.w + 14.0)
        .reduce(f64::max)
}

/// The diagram as an SVG document.
pub fn render(d: &Diagram) -> String {
    let p: Placed<'_> = layout(d);
    let mut out = String::new();
    let (w, h) = (p.width.ceil(), p.height.ceil());
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" font-size=\"{FONT_PX}\">\n<title>{}</title>\n<style>{STYLE}</style>\n",
        xml(&d.title)
    );
    out.push_str("<defs><marker id=\"arrow\" viewBox=\"0 0 8 8\" refX=\"8\" refY=\"4\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"#78909c\"/></marker></defs>\n");
    let _ = writeln!(out, "<rect width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>");
    header(&mut out, d, &p);
    // Frames, then the arrows, then the frames' text and branch names over the arrows
    // (with a halo, so an arrow passing behind them does not cross the letters), then boxes.
    frames(&mut out, &p);
    edges(&mut out, d, &p);
    for f in &p.frames {
        text_lines(&mut out, f.header, f.rect.x + 8.0, f.rect.y + 6.0, true);
        out.push('\n');
    }
    for (x, y, name) in &p.labels {
        let _ = writeln!(
            out,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"middle\" class=\"branch halo\">{}</text>",
            xml(name)
        );
    }
    boxes(&mut out, d, &p);
    out.push_str("</svg>\n");
    out
}

/// The title, the header lines and the colour legend.
fn header(out: &mut String, d: &Diagram, p: &Placed<'_>) {
    let (hx, hy) = p.header_at;
    let _ = writeln!(
        out,
        "<text x=\"{hx}\" y=\"{:.1}\" font-size=\"15\" class=\"t\">{}</text>",
        hy + 14.0,
        xml(&shown(&d.title))
    );
    text_lines(out, &d.header, hx, hy + LINE_H + 4.0, false);
    let ly = hy + LINE_H * (d.header.len() as f64 + 2.0) + 2.0;
    let _ = writeln!(
        out,
        "\n<text x=\"{hx}\" y=\"{ly:.1}\"><tspan class=\"f-err\">■ error</tspan><tspan class=\"f\">   </tspan><tspan class=\"f-warn\">■ warning</tspan><tspan class=\"f\">   </tspan><tspan class=\"f-note\">■ note</tspan></text>"
    );
}

/// The opened rows' rectangles (their text comes after the arrows).
fn frames(out: &mut String, p: &Placed<'_>) {
    for f in &p.frames {
        let r = f.rect;
        let _ = writeln!(
            out,
            "<g class=\"frame {}\" data-row=\"{}\"><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"6\"/></g>",
            tone_class(f.tone),
            xml(f.id),
            r.x,
            r.y,
            r.w,
            r.h
        );
    }
}

/// The arrows between boxes.
fn edges(out: &mut String, d: &Diagram, p: &Placed<'_>) {
    for &(a, b) in &d.edges {
        let merge = d.nodes[b].kind == Kind::Merge;
        let _ = writeln!(
            out,
            "<path class=\"edge\" d=\"{}\" marker-end=\"url(#arrow)\"/>",
            edge_path(&p.boxes[a], &p.boxes[b], merge, &p.boxes)
        );
    }
}

/// Every box with its text.
fn boxes(out: &mut String, d: &Diagram, p: &Placed<'_>) {
    for (n, r) in d.nodes.iter().zip(&p.boxes) {
        let kind = match n.kind {
            Kind::Input => "Input",
            Kind::Layer => "Layer",
            Kind::Merge => "Merge",
            Kind::Block => "Block",
        };
        let rx = if n.kind == Kind::Merge { r.h / 2.0 } else { 4.0 };
        let _ = write!(
            out,
            "<g class=\"node {kind} {}\" data-node=\"{}\"><title>{}</title><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"{rx:.1}\"/>",
            tone_class(n.tone),
            xml(&n.id),
            xml(&n.id),
            r.x,
            r.y,
            r.w,
            r.h
        );
        text_lines(out, &n.lines, r.x + 8.0, r.y + 6.0, false);
        out.push_str("</g>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(x: f64, y: f64) -> Rect {
        Rect {
            x,
            y,
            w: 100.0,
            h: 40.0,
        }
    }

    #[test]
    fn an_arrow_over_boxes_goes_around_them() {
        let (a, mid, b) = (r(0.0, 0.0), r(0.0, 80.0), r(0.0, 160.0));
        // Straight below with a box between: around its right side (x = 100 + 14).
        assert!(edge_path(&a, &b, false, &[a, mid, b]).contains("L114.0,"));
        // Nothing between: no detour.
        assert!(!edge_path(&a, &b, false, &[a, b]).contains("L114.0,"));
        assert_eq!(detour(50.0, 40.0, 160.0, &[r(300.0, 80.0)]), None);
    }

    #[test]
    fn xml_text_is_escaped() {
        assert_eq!(
            xml("a<b & \"c\" 'd'>\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;\u{FFFD}"
        );
    }
}
