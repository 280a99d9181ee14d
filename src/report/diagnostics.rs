//! Diagnostics as text, rustc-style, through annotate-snippets: `error[CODE]: message`,
//! `--> file:line:col`, the source line with the primary label under the offending cell and
//! secondary labels under the related cells, then notes (the arithmetic, the readings of an
//! ambiguity) and help. Load errors (E0xx) and findings go through the same function. Positions
//! are line:col until here; they become byte spans into the quoted lines only now.

use annotate_snippets::renderer::AnsiColor;
use annotate_snippets::{Level, Message, Renderer, Snippet};

use crate::diag::{Diagnostic, Severity};
use crate::source::Source;
use crate::spec::SpecError;

/// Whether the text carries ANSI colour (the CLI decides: `--color`, `NO_COLOR`,
/// `CLICOLOR_FORCE`, a terminal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paint {
    #[default]
    Plain,
    Color,
}

/// The length of the cell starting at `col`: up to the next `,` or `}` of a flow mapping.
fn cell_width(line: &str, col: usize) -> usize {
    let rest: String = line.chars().skip(col.saturating_sub(1)).collect();
    let n = rest.chars().take_while(|c| *c != ',' && *c != '}').count();
    n.max(1)
}

/// A source line as shown: each tab one space and each invisible character one U+FFFD, so
/// the quoted text cannot steer the terminal and columns stay columns.
fn shown_line(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' => ' ',
            c if crate::quote::is_invisible(c) => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// One label: a 1-based line and column, a width in characters and its text.
struct Label<'a> {
    line: usize,
    col: usize,
    width: usize,
    text: &'a str,
    primary: bool,
}

/// One quoted line (windowed around its labels) and its labels as byte spans into it.
struct Quoted {
    line: usize,
    text: String,
    spans: Vec<(std::ops::Range<usize>, usize)>,
}

/// Quotes `line` of `source` with its labels as byte spans into it. A long line is cut by
/// the renderer to a window around the labels (`...` at the cut ends).
fn quote_line(source: &Source, line: usize, labels: &[(usize, &Label<'_>)]) -> Option<Quoted> {
    // An empty line (the end of the file) has nothing to underline: the place alone.
    let text = shown_line(source.line(line).filter(|l| !l.is_empty())?);
    let mut spans = Vec::with_capacity(labels.len());
    for (i, l) in labels {
        let start = byte_of_col(&text, l.col);
        let end = byte_of_col(&text[start..], l.width + 1) + start;
        spans.push((start..end, *i));
    }
    Some(Quoted { line, text, spans })
}

/// The byte offset of the 1-based character column `col` of `text` (its end past the last).
fn byte_of_col(text: &str, col: usize) -> usize {
    text.char_indices()
        .nth(col.saturating_sub(1))
        .map_or(text.len(), |(i, _)| i)
}

fn level(s: Severity) -> Level {
    match s {
        Severity::Error => Level::Error,
        Severity::Warning => Level::Warning,
        Severity::Note => Level::Note,
    }
}

thread_local! {
    /// How [`render`] paints, for renderers that call it inside their own text (the table).
    static PAINT: std::cell::Cell<Paint> = const { std::cell::Cell::new(Paint::Plain) };
}

/// Runs `f` with [`render`] painting as `paint` (plain again afterwards).
pub fn painted<R>(paint: Paint, f: impl FnOnce() -> R) -> R {
    let before = PAINT.replace(paint);
    let result = f();
    PAINT.set(before);
    result
}

/// Renders one diagnostic against the spec text (lines are looked up in the line index, so
/// rendering many findings is linear in their number); plain unless inside [`painted`].
pub fn render(d: &Diagnostic, file: &str, source: &Source) -> String {
    render_painted(d, file, Some(source), PAINT.get())
}

/// [`render`], in colour when `paint` says so; without the text, the place alone.
pub fn render_painted(d: &Diagnostic, file: &str, source: Option<&Source>, paint: Paint) -> String {
    let primary_text = match (&d.stated, &d.derived) {
        (Some(st), Some(de)) => format!("printed {st}, derived {de}"),
        _ => String::new(),
    };
    let labels = labels(d, source, &primary_text);
    let quoted = match source {
        Some(s) => quoted_lines(s, &labels),
        None => Vec::new(),
    };
    let notes = notes(d, file, &quoted);
    let mut message: Message<'_> = level(d.severity).title(&d.message).id(d.code);
    for q in &quoted {
        // The library adds `:line:col` of the snippet's first label to the origin.
        let mut snippet = Snippet::source(&q.text).line_start(q.line).origin(file);
        for (span, i) in &q.spans {
            // `Error` draws `^` and `Warning` draws `-`, both without a level word before
            // the label: the primary and the secondary labels, as rustc draws them.
            let l = &labels[*i];
            let lvl = if l.primary { Level::Error } else { Level::Warning };
            snippet = snippet.annotation(lvl.span(span.clone()).label(l.text));
        }
        message = message.snippet(snippet);
    }
    for n in &notes {
        message = message.footer(Level::Note.title(n));
    }
    if let Some(h) = &d.help {
        message = message.footer(Level::Help.title(h));
    }
    let text = renderer(paint, d.severity).render(message).to_string();
    finish(text, d, file, quoted.is_empty())
}

/// The labels of `d`: the primary place (with the printed and derived values), then each
/// related place that has a line.
fn labels<'a>(d: &'a Diagnostic, source: Option<&Source>, primary_text: &'a str) -> Vec<Label<'a>> {
    // Findings point at whole cells; a load error at the exact character.
    let is_cell = d.column.is_some();
    let width_at = |line: usize, col: usize| match source.and_then(|s| s.line(line)) {
        Some(l) if is_cell => cell_width(&shown_line(l), col).min(40),
        _ => 1,
    };
    let mut labels = Vec::new();
    if d.line > 0 {
        labels.push(Label {
            line: d.line,
            col: d.col,
            width: width_at(d.line, d.col),
            text: primary_text,
            primary: true,
        });
    }
    labels.extend(d.related.iter().filter(|r| r.line > 0).map(|r| Label {
        line: r.line,
        col: r.col,
        width: width_at(r.line, r.col),
        text: &r.message,
        primary: false,
    }));
    labels
}

/// One quoted line per line with labels, in the order of the labels (the primary first).
fn quoted_lines(source: &Source, labels: &[Label<'_>]) -> Vec<Quoted> {
    let mut lines: Vec<usize> = Vec::new();
    for l in labels {
        if !lines.contains(&l.line) {
            lines.push(l.line);
        }
    }
    lines
        .iter()
        .filter_map(|&n| {
            let on: Vec<(usize, &Label<'_>)> = labels.iter().enumerate().filter(|(_, l)| l.line == n).collect();
            quote_line(source, n, &on)
        })
        .collect()
}

/// The notes under the snippets: the arithmetic, the readings, and the related places no
/// quoted line shows.
fn notes(d: &Diagnostic, file: &str, quoted: &[Quoted]) -> Vec<String> {
    d.arithmetic
        .iter()
        .map(|a| format!("arithmetic: {a}"))
        .chain(
            d.readings
                .iter()
                .enumerate()
                .map(|(i, r)| format!("reading {}: {}; {}", i + 1, r.reading, r.implies)),
        )
        // A related place that has no line to quote still says where it is.
        .chain(
            d.related
                .iter()
                .filter(|r| !quoted.iter().any(|q| q.line == r.line))
                .map(|r| match r.line {
                    0 => r.message.clone(),
                    _ => format!("see {file}:{}:{}: {}", r.line, r.col, r.message),
                }),
        )
        .collect()
}

fn renderer(paint: Paint, severity: Severity) -> Renderer {
    match paint {
        Paint::Plain => Renderer::plain(),
        // Secondary labels are drawn at the warning level (`-`, no level word): in bold
        // bright blue, as rustc draws them, unless the diagnostic is itself a warning.
        Paint::Color if severity != Severity::Warning => Renderer::styled().warning(
            AnsiColor::BrightBlue
                .on_default()
                .effects(annotate_snippets::renderer::Effects::BOLD),
        ),
        Paint::Color => Renderer::styled(),
    }
}

/// The rendered `text` as printed: without the library's empty closing line, with the
/// place after the title where no line is quoted, ending in one newline.
fn finish(text: String, d: &Diagnostic, file: &str, nothing_quoted: bool) -> String {
    // The library closes a snippet without footers with an empty ` |` line: drop it.
    let mut text = match text.rsplit_once('\n') {
        Some((body, last))
            if without_ansi(last)
                .trim_matches(|c: char| c == ' ' || c == '|')
                .is_empty() =>
        {
            body.to_string()
        }
        _ => text,
    };
    if nothing_quoted {
        // No line to quote (standard input already consumed, a place outside the text):
        // the place alone, after the title.
        let (title, rest) = text.split_once('\n').map_or((text.as_str(), ""), |(t, r)| (t, r));
        let place = match d.line {
            0 => file.to_string(),
            _ => format!("{file}:{}:{}", d.line, d.col),
        };
        text = format!("{title}\n  --> {place}\n{rest}");
        if text.ends_with('\n') {
            text.pop();
        }
    }
    text.push('\n');
    text
}

/// `text` without its ANSI escape sequences (`ESC [ ... letter`).
fn without_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A load error (exit 2) as text, the same way: `error[E005]: message`, `--> file:line:col`
/// and the line with a caret when `source` is given.
pub fn render_error(e: &SpecError, source: Option<&Source>) -> String {
    render_error_painted(e, source, Paint::Plain)
}

/// [`render_error`], in colour when `paint` says so.
pub fn render_error_painted(e: &SpecError, source: Option<&Source>, paint: Paint) -> String {
    render_painted(&Diagnostic::from(e), &e.file, source, paint)
}

/// One line per diagnostic, for summaries: `file:line:col: error[E101] message`.
pub fn render_concise(d: &Diagnostic, file: &str) -> String {
    format!("{file}:{}:{}: {}[{}] {}", d.line, d.col, d.severity, d.code, d.message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::code;
    use crate::spec::Loc;

    #[test]
    fn quoted_lines_show_no_control_characters_and_keep_the_caret_under_its_column() {
        let source = Source::new("x", "a:\t\x1b[31mred\u{202e}, bad: 1\n".to_string());
        let e = SpecError::new("x", Loc { line: 1, col: 15 }, "bad");
        let s = render_error(&e, Some(&source));
        assert!(s.lines().all(|l| !l.chars().any(crate::quote::is_invisible)), "{s:?}");
        assert!(!s.contains('\t'));
        let lines: Vec<&str> = s.lines().collect();
        let quoted: Vec<char> = lines.iter().find(|l| l.starts_with("1 | ")).unwrap().chars().collect();
        let caret = lines.iter().find(|l| l.contains('^')).expect("the caret");
        let at = caret.chars().position(|c| c == '^').unwrap();
        assert_eq!(quoted[at], 'b', "{s}");
        assert!(s.contains("--> x:1:15"), "{s}");
    }

    #[test]
    fn secondary_labels_sit_under_their_own_columns() {
        let source = Source::new("f.yaml", "- {a: 1, bé: 2, c: 3}\n".to_string());
        let d = Diagnostic::new(
            Severity::Error,
            code::AMBIGUOUS_STRIDE,
            Loc { line: 1, col: 17 },
            "m".into(),
        )
        .at("row", "c")
        .values("3", "4")
        .related(Loc { line: 1, col: 10 }, "the other cell");
        let s = render(&d, "f.yaml", &source);
        let lines: Vec<&str> = s.lines().collect();
        let quoted: Vec<char> = lines.iter().find(|l| l.starts_with("1 | ")).unwrap().chars().collect();
        let marks: Vec<char> = lines.iter().find(|l| l.contains('^')).unwrap().chars().collect();
        let primary = marks.iter().position(|&c| c == '^').unwrap();
        let secondary = marks.iter().position(|&c| c == '-').unwrap();
        assert_eq!(quoted[primary], 'c', "{s}");
        assert_eq!(quoted[secondary], 'b', "{s}");
        // The primary label covers the cell up to the next ',' or '}'.
        assert_eq!(marks.iter().filter(|&&c| c == '^').count(), "c: 3".len(), "{s}");
        assert!(
            s.contains("printed 3, derived 4") && s.contains("the other cell"),
            "{s}"
        );
    }

    #[test]
    fn a_place_without_a_line_is_named_alone() {
        let e = SpecError::new("f.yaml", Loc::default(), "unknown variant 'x'").coded(code::UNKNOWN_NAME);
        assert_eq!(
            render_error(&e, None),
            "error[E007]: unknown variant 'x'\n  --> f.yaml\n"
        );
        let e = SpecError::new("f.yaml", Loc { line: 3, col: 2 }, "m");
        assert_eq!(render_error(&e, None), "error[E008]: m\n  --> f.yaml:3:2\n");
    }
}
