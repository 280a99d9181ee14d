//! The file's text around a scalar: a number as written, where a character of a value lies
//! in the file, and the characters YAML does not allow.

use crate::spec::Loc;

/// The text of the plain (unquoted) scalar that starts at `at` in `text`, as the file
/// writes it: `1.6e1` where YAML reads 16.0. Only for messages; None when `at` lies outside
/// the text. A plain scalar in a flow collection ends at `,`, `]`, `}`, a comment or the end
/// of the line; numbers, the scalars this is for, hold none of those.
pub fn plain_scalar_at(text: &str, at: Loc) -> Option<&str> {
    let line = text.split('\n').nth(at.line.checked_sub(1)?)?;
    let start = line.char_indices().nth(at.col.checked_sub(1)?).map(|(i, _)| i)?;
    let rest = &line[start..];
    let end = rest
        .char_indices()
        .find(|&(_, c)| c.is_whitespace() || matches!(c, ',' | ']' | '}' | '#'))
        .map_or(rest.len(), |(i, _)| i);
    (end > 0).then(|| &rest[..end])
}

/// Where in the file the character `offset` (in chars) of a scalar's value lies, the value
/// starting at `start` (after its opening quote if quoted). YAML's reading differs from the
/// file's text in three ways, each walked here: escapes in double quotes (`\u00d7` is one
/// character of the value, six of the file), `''` in single quotes, and line folding (a line
/// break and the next line's indentation read as one space, trailing blanks dropped, empty
/// lines as line breaks). Counting the offset from `start` on one line was wrong past any
/// of them.
pub fn source_loc(text: &str, start: Loc, offset: usize) -> Loc {
    let plain = Loc {
        line: start.line,
        col: start.col + offset,
    };
    let Some((quote, rest)) = value_text(text, start) else {
        return plain;
    };
    let mut walk = ValueWalk {
        rest,
        quote,
        i: 0,
        line: start.line,
        col: start.col,
        produced: 0,
    };
    while walk.produced < offset && walk.i < walk.rest.len() && walk.step() {}
    Loc {
        line: walk.line,
        col: walk.col,
    }
}

/// How a scalar is written, which decides how its text reads.
#[derive(Clone, Copy, PartialEq)]
enum Quote {
    Double,
    Single,
    Plain,
}

/// The quoting of the scalar whose value starts at `start`, and the file's text from there
/// on; None when `start` lies outside the text.
fn value_text(text: &str, start: Loc) -> Option<(Quote, Vec<char>)> {
    let line_text = start.line.checked_sub(1).and_then(|i| text.split('\n').nth(i))?;
    let line_start = line_text.as_ptr() as usize - text.as_ptr() as usize;
    let before: Vec<char> = line_text.chars().take(start.col.saturating_sub(1)).collect();
    if before.len() + 1 != start.col {
        return None;
    }
    let quote = match before.last() {
        Some('"') => Quote::Double,
        Some('\'') => Quote::Single,
        _ => Quote::Plain,
    };
    let skip: usize = before.iter().map(|c| c.len_utf8()).sum();
    Some((quote, text[line_start + skip..].chars().collect()))
}

fn is_break(c: char) -> bool {
    c == '\n' || c == '\r'
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// A walk over a scalar's text, counting the characters of its value produced so far and
/// the file position reached.
struct ValueWalk {
    rest: Vec<char>,
    quote: Quote,
    /// The index into `rest` reached.
    i: usize,
    line: usize,
    col: usize,
    produced: usize,
}

impl ValueWalk {
    /// Reads the next piece of the text (a character, an escape, a fold); false at the
    /// closing quote.
    fn step(&mut self) -> bool {
        let c = self.rest[self.i];
        let next = self.rest.get(self.i + 1).copied();
        match (self.quote, c) {
            (Quote::Double, '\\') => self.escape(next),
            (Quote::Single, '\'') if next == Some('\'') => self.advance(2),
            (Quote::Double, '"') | (Quote::Single, '\'') => return false,
            (_, c) if is_blank(c) || is_break(c) => self.blanks(),
            _ => self.advance(1),
        }
        true
    }

    /// `chars` characters of the file on one line that read as one of the value.
    fn advance(&mut self, chars: usize) {
        (self.i, self.col, self.produced) = (self.i + chars, self.col + chars, self.produced + 1);
    }

    /// An escape in double quotes: one character of the value, or an escaped line break,
    /// which joins the lines with nothing between them.
    fn escape(&mut self, next: Option<char>) {
        match next {
            Some(n) if is_break(n) => {
                self.i += 1;
                self.next_line();
            }
            n => self.advance(match n {
                Some('x') => 4,
                Some('u') => 6,
                Some('U') => 10,
                _ => 2,
            }),
        }
    }

    /// Blanks that end a line are dropped; a break and the next line's indentation fold
    /// into one space, or into one line break per empty line.
    fn blanks(&mut self) {
        let mut j = self.i;
        while j < self.rest.len() && is_blank(self.rest[j]) {
            j += 1;
        }
        if j < self.rest.len() && !is_break(self.rest[j]) {
            self.advance(1);
            return;
        }
        self.i = j;
        let mut empty = 0;
        while self.i < self.rest.len() && is_break(self.rest[self.i]) {
            self.next_line();
            if self.i < self.rest.len() && is_break(self.rest[self.i]) {
                empty += 1;
            }
        }
        self.produced += empty.max(1);
    }

    /// Past the line break at `i` (LF, CR LF or CR) and the next line's indentation.
    fn next_line(&mut self) {
        if self.rest.get(self.i) == Some(&'\r') && self.rest.get(self.i + 1) == Some(&'\n') {
            self.i += 2;
        } else {
            self.i += 1;
        }
        (self.line, self.col) = (self.line + 1, 1);
        while self.i < self.rest.len() && is_blank(self.rest[self.i]) {
            (self.i, self.col) = (self.i + 1, self.col + 1);
        }
    }
}

/// The first character of `text` that YAML does not allow in a document (C0 controls other
/// than tab and line breaks, DEL, C1 controls other than NEL, U+FFFE, U+FFFF), with its
/// position: the parser reported a NUL at the start of the next line, or not at all.
pub fn first_unprintable(text: &str) -> Option<(Loc, char)> {
    let bad = |c: char| matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{84}' | '\u{86}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}');
    // Fast path: a clean ASCII file has no such byte.
    if !text
        .bytes()
        .any(|b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b >= 0x7f)
    {
        return None;
    }
    let (mut line, mut col) = (1, 1);
    let mut prev_cr = false;
    for c in text.chars() {
        if bad(c) {
            return Some((Loc { line, col }, c));
        }
        match c {
            '\n' if prev_cr => {}
            '\n' | '\r' => (line, col) = (line + 1, 1),
            _ => col += 1,
        }
        prev_cr = c == '\r';
    }
    None
}
