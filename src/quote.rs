//! The one way a message quotes text from the input (cells, names, keys): in single
//! quotes, with every control character (Unicode Cc: C0, DEL, C1 such as CSI) and every
//! invisible format character (Cf: bidi overrides and isolates, zero-width characters, the
//! byte-order mark, tags) and line/paragraph separators written as a visible escape, and text
//! longer than [`MAX_QUOTED`] characters cut, with its length named. So no escape sequence
//! from a file reaches the terminal, reordered text cannot hide what an error shows, and a
//! 5 MB cell is not copied into a message whole.
//!
//! Backslashes and quotes inside the text are left as they are: messages are for people,
//! and the position they name shows the file's own text.

use std::borrow::Cow;
use std::fmt::Write;

/// The most characters of input a message quotes whole.
pub const MAX_QUOTED: usize = 80;
/// How many characters of a longer text are kept (then `…`).
const KEPT: usize = 60;

/// Whether `c` would not show as itself on a terminal: Cc, Cf, and U+2028/U+2029.
pub fn is_invisible(c: char) -> bool {
    if c.is_control() {
        return true;
    }
    matches!(
        c as u32,
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x2028..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\0' => out.push_str("\\0"),
        c if is_invisible(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// `s` with invisible characters escaped, not cut and not quoted (for names a message
/// shows bare, such as row labels).
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_invisible) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// `'s'`, escaped; a text of more than [`MAX_QUOTED`] characters keeps its first ones:
/// `'xxxx…' (5,242,880 characters)`. Takes anything displayable (a name, a char, a cell).
pub fn quote<T: std::fmt::Display + ?Sized>(x: &T) -> String {
    let owned = x.to_string();
    quote_str(&owned)
}

fn quote_str(s: &str) -> String {
    let mut out = String::from("'");
    let mut count = 0usize;
    let mut cut = false;
    for c in s.chars() {
        count += 1;
        if count > MAX_QUOTED {
            cut = true;
            break;
        }
        push_escaped(&mut out, c);
    }
    if !cut {
        out.push('\'');
        return out;
    }
    // Re-build from the first KEPT characters, then name the full length.
    let mut head = String::from("'");
    for c in s.chars().take(KEPT) {
        push_escaped(&mut head, c);
    }
    let total = s.chars().count();
    let _ = write!(head, "…' ({} characters)", thousands(total));
    head
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// `s` itself when nothing in it is invisible, else escaped: for whole messages that embed
/// names bare (a finding about a row names the row's label).
pub fn visible(s: String) -> String {
    if s.chars().any(is_invisible) {
        escape(&s).into_owned()
    } else {
        s
    }
}
