//! Plain-text helpers shared by the report and the libtorch code (which must not depend on
//! [`crate::report`]): digit grouping, the source excerpt around a column, and a spec error
//! rendered with its source line (by [`crate::report::diagnostics`]).

use crate::source::Source;
use crate::spec::SpecError;

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

/// A spec error (exit 2) as text: `error[E0xx]: message`, `--> file:line:col`, and the
/// source line with a caret when `source` is given. The one renderer of diagnostics is
/// [`crate::report::diagnostics`]; this is its entry for the libtorch code.
pub fn spec_error(e: &SpecError, source: Option<&Source>) -> String {
    crate::report::diagnostics::render_error(e, source)
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
    fn the_window_keeps_the_caret_under_its_column() {
        let line = format!("{}X{}", "a".repeat(100), "b".repeat(100));
        let (text, caret) = source_window(&line, 101);
        assert_eq!(text.chars().nth(caret), Some('X'));
        assert!(text.starts_with('…') && text.ends_with('…'));
        assert_eq!(source_window("ab", 2), ("ab".to_string(), 1));
    }
}
