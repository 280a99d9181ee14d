//! Diagnostics as text, rustc-style: the message, file:line:col, the source line with a
//! caret under the offending cell, the printed and derived values, the arithmetic, the
//! readings of an ambiguity, related places and help.

use crate::diag::Diagnostic;
use crate::source::Source;

/// The part of a long line around `col` (1-based, in characters) and the caret offset in it.
fn window(line: &str, col: usize) -> (String, usize) {
    let chars: Vec<char> = line.chars().collect();
    let at = col.saturating_sub(1).min(chars.len());
    let start = at.saturating_sub(48);
    let end = (at + 60).min(chars.len());
    let mut s: String = chars[start..end].iter().collect();
    let mut caret = at - start;
    if start > 0 {
        s = format!("…{s}");
        caret += 1;
    }
    if end < chars.len() {
        s.push('…');
    }
    (s, caret)
}

/// The length of the cell starting at `col`: up to the next `,` or `}` of a flow mapping.
fn cell_width(line: &str, col: usize) -> usize {
    let rest: String = line.chars().skip(col.saturating_sub(1)).collect();
    let n = rest.chars().take_while(|c| *c != ',' && *c != '}').count();
    n.max(1)
}

/// The source line of `line:col` with the cell underlined (`width` carets) and a label
/// after them; nothing when the text has no such line.
fn snippet(source: Option<&Source>, line: usize, col: usize, width: usize, label: &str) -> String {
    let Some(text) = source.and_then(|s| s.line(line)) else {
        return String::new();
    };
    let (shown, caret) = window(text, col);
    let num = line.to_string();
    let pad = " ".repeat(num.len());
    format!(
        "{pad} |\n{num} | {shown}\n{pad} | {}{}{label}\n",
        " ".repeat(caret),
        "^".repeat(width)
    )
}

/// Renders one diagnostic against the spec text (its lines indexed once, so rendering many
/// findings is linear in their number).
pub fn render(d: &Diagnostic, file: &str, source: &Source) -> String {
    let mut s = format!("{}[{}]: {}\n", d.severity, d.code, d.message);
    s.push_str(&format!("  --> {file}:{}:{}\n", d.line, d.col));
    let width = source.line(d.line).map_or(1, |l| cell_width(l, d.col).min(40));
    let label = match (&d.stated, &d.derived) {
        (Some(st), Some(de)) => format!(" printed {st}, derived {de}"),
        _ => String::new(),
    };
    s.push_str(&snippet(Some(source), d.line, d.col, width, &label));
    if let Some(a) = &d.arithmetic {
        s.push_str(&format!("   = arithmetic: {a}\n"));
    }
    for (i, r) in d.readings.iter().enumerate() {
        s.push_str(&format!("   = reading {}: {}; {}\n", i + 1, r.reading, r.implies));
    }
    for r in &d.related {
        s.push_str(&format!("   = see {file}:{}:{}: {}\n", r.line, r.col, r.message));
    }
    if let Some(h) = &d.help {
        s.push_str(&format!("   = help: {h}\n"));
    }
    s
}

/// One line per diagnostic, for summaries: `file:line:col: error[E101] message`.
pub fn render_concise(d: &Diagnostic, file: &str) -> String {
    format!("{file}:{}:{}: {}[{}] {}", d.line, d.col, d.severity, d.code, d.message)
}

/// Renders a spec error (exit 2) the same way.
pub fn render_error(e: &crate::spec::SpecError, source: Option<&Source>) -> String {
    let mut s = format!("error: {}\n", e.message);
    if e.loc.line == 0 {
        s.push_str(&format!("  --> {}\n", e.file));
        return s;
    }
    s.push_str(&format!("  --> {}:{}:{}\n", e.file, e.loc.line, e.loc.col));
    s.push_str(&snippet(source, e.loc.line, e.loc.col, 1, ""));
    s
}
