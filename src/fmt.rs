//! Plain-text helpers shared by the report, the ir and the libtorch code (which must not
//! depend on [`crate::report`]): digit grouping, XML escaping, singular/plural, word wrap,
//! the ASCII fallback, the window of a long source line around a column.

/// What [`xml_escape`] does with tabs, newlines and carriage returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breaks {
    Kept,
    AsSpaces,
}

/// Text as XML 1.0 character data or an attribute value: the five special characters as
/// entities, and the characters XML 1.0 cannot hold (most C0 controls, U+FFFE, U+FFFF) as
/// U+FFFD, so no spec text can break the file (the SVG diagram, the JUnit report).
pub fn xml_escape(text: &str, breaks: Breaks) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' if breaks == Breaks::AsSpaces => out.push(' '),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || matches!(c, '\u{FFFE}' | '\u{FFFF}') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// 17683640 → "17,683,640".
pub fn thousands(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// `1 error`, `2 errors`: the count and the word, singular for exactly one.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `text` broken at spaces into lines of at most `width` characters (a word longer than
/// the width stands alone); lines after the first start with `indent`. `None` keeps it whole.
pub fn wrap(text: &str, width: Option<usize>, indent: &str) -> String {
    let len = |s: &str| s.chars().count();
    let Some(width) = width.filter(|&w| len(text) > w) else {
        return text.to_string();
    };
    let mut out = String::new();
    let mut line = String::new();
    let mut started = false;
    // Split at single spaces and join with one: runs of spaces (alignment) stay where no
    // break falls.
    for word in text.split(' ') {
        if started {
            if !word.is_empty() && !line.trim().is_empty() && len(&line) + 1 + len(word) > width {
                out.push_str(line.trim_end());
                out.push('\n');
                line = indent.to_string();
            } else {
                line.push(' ');
            }
        }
        line.push_str(word);
        started = true;
    }
    out.push_str(line.trim_end());
    out
}

/// Text for a terminal without UTF-8: the report's own symbols spelled in ASCII (one
/// character for one where a caret may stand under it), anything else as `?`.
pub fn ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            c if c.is_ascii() => out.push(c),
            '×' => out.push('x'),
            '—' | '–' | '─' | '━' | '═' => out.push('-'),
            '…' => out.push('~'),
            '≤' => out.push_str("<="),
            '≥' => out.push_str(">="),
            '≡' => out.push('='),
            '∈' => out.push_str("in"),
            '±' => out.push_str("+/-"),
            '²' => out.push('2'),
            '│' | '┆' | '┃' => out.push('|'),
            _ => out.push('?'),
        }
    }
    out
}

/// The part of a long line around `col` (1-based, in characters) and the caret offset in it.
pub fn source_window(line: &str, col: usize) -> (String, usize) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits_in_threes() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(17_683_640), "17,683,640");
        assert_eq!(thousands(-1_234_567), "-1,234,567");
        assert_eq!(thousands(i64::MIN), "-9,223,372,036,854,775,808");
    }

    #[test]
    fn plural_is_singular_for_one_only() {
        assert_eq!(plural(0, "error"), "0 errors");
        assert_eq!(plural(1, "error"), "1 error");
        assert_eq!(plural(2, "warning"), "2 warnings");
    }

    #[test]
    fn wrap_breaks_at_spaces_within_the_width() {
        let text = "the released Caffe model and its ports, stride 2 inside 3c and 4e";
        let w = wrap(text, Some(20), "  ");
        assert!(w.lines().all(|l| l.chars().count() <= 20), "{w}");
        assert_eq!(
            w.split_whitespace().collect::<Vec<_>>(),
            text.split(' ').collect::<Vec<_>>()
        );
        assert!(w.lines().skip(1).all(|l| l.starts_with("  ")), "{w}");
        assert_eq!(wrap("a verylongword b", Some(4), ""), "a\nverylongword\nb");
        assert_eq!(wrap(text, None, ""), text);
        assert_eq!(wrap("MACs   12 per image", Some(10), "  "), "MACs   12\n  per\n  image");
        assert_eq!(wrap("  two  spaces", Some(40), ""), "  two  spaces");
        assert_eq!(wrap("   abc def", Some(8), "   "), "   abc\n   def");
    }

    #[test]
    fn ascii_leaves_no_other_character() {
        let s = ascii("14×14×608 — ∈ {0, 1} … ≥ 2 ∮");
        assert!(s.is_ascii(), "{s}");
        assert_eq!(s, "14x14x608 - in {0, 1} ~ >= 2 ?");
    }

    #[test]
    fn the_window_keeps_the_caret_under_its_column() {
        let line = format!("{}X{}", "a".repeat(100), "b".repeat(100));
        let (text, caret) = source_window(&line, 101);
        assert_eq!(text.chars().nth(caret), Some('X'));
        assert!(text.starts_with('…') && text.ends_with('…'));
        assert_eq!(source_window("ab", 2), ("ab".to_string(), 1));
    }
}
