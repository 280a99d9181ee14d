//! Source positions for every node of a YAML document.
//!
//! serde_yaml loads the typed spec but forgets where things were; yaml-rust2's event parser
//! gives a line and column for every scalar and collection. This module walks the events
//! once and records the position of each node under its path (`rows/4/#1×1`), so that a
//! diagnostic can point at the offending cell. It also bounds alias expansion, which serde
//! would otherwise perform blindly (a "billion laughs" file expands exponentially).

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::Loc;

/// The most nodes a spec may expand to once aliases are followed.
pub const MAX_EXPANDED_NODES: u64 = 2_000_000;
/// The deepest nesting a spec may have.
pub const MAX_DEPTH: usize = 64;

/// One step of a path into the document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl From<&str> for Seg {
    fn from(s: &str) -> Self {
        Seg::Key(s.to_string())
    }
}
impl From<String> for Seg {
    fn from(s: String) -> Self {
        Seg::Key(s)
    }
}
impl From<usize> for Seg {
    fn from(i: usize) -> Self {
        Seg::Index(i)
    }
}

/// A path into the document, reduced to a 64-bit hash built segment by segment, so that
/// recording a node costs no allocation (a 10,000-row table has ~100,000 nodes).
pub type PathKey = u64;

const ROOT: PathKey = 0xcbf2_9ce4_8422_2325;

/// FNV-1a over the parent's key, a tag and the segment's bytes.
fn fnv(parent: PathKey, tag: u8, bytes: &[u8]) -> PathKey {
    let mut h = parent ^ 0x9e37_79b9_7f4a_7c15;
    for b in std::iter::once(tag).chain(bytes.iter().copied()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn step_key(parent: PathKey, key: &str) -> PathKey {
    fnv(parent, b'k', key.as_bytes())
}

fn step_index(parent: PathKey, i: usize) -> PathKey {
    fnv(parent, b'i', &(i as u64).to_le_bytes())
}

fn step(parent: PathKey, seg: &Seg) -> PathKey {
    match seg {
        Seg::Key(k) => step_key(parent, k),
        Seg::Index(i) => step_index(parent, *i),
    }
}

pub fn key_of(path: &[Seg]) -> PathKey {
    path.iter().fold(ROOT, step)
}

/// Positions of the nodes of one document, keyed by path; keys of mappings are recorded
/// under the path of their value.
#[derive(Debug, Default, Clone)]
pub struct Marks {
    values: HashMap<PathKey, Loc, KeyHash>,
    keys: HashMap<PathKey, Loc, KeyHash>,
    /// Values written in quotes: their text starts one column after the node.
    quoted: std::collections::HashSet<PathKey, KeyHash>,
}

/// Path keys are already FNV hashes of the path, so hashing them again with SipHash (the
/// default) only costs time: a spec of 10,000 rows records and looks up ~100,000 of them.
/// One multiply spreads the FNV bits over the whole word for the table's bucket and tag bits.
#[derive(Debug, Default, Clone, Copy)]
struct KeyHash;

impl std::hash::BuildHasher for KeyHash {
    type Hasher = KeyHasher;
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(0)
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed here; fold anything else in FNV-style to stay correct.
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, k: u64) {
        self.0 = (self.0 ^ k).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(26);
    }
}

impl Marks {
    /// The position of the value at `path`, or of its nearest recorded ancestor (a value
    /// reached through an alias is recorded at the alias).
    pub fn value(&self, path: &[Seg]) -> Loc {
        // The path itself is nearly always recorded: try it before building the prefixes.
        if let Some(l) = self.values.get(&key_of(path)) {
            return *l;
        }
        let mut prefixes = Vec::with_capacity(path.len() + 1);
        prefixes.push(ROOT);
        for seg in path {
            let last = *prefixes.last().expect("root");
            prefixes.push(step(last, seg));
        }
        prefixes
            .iter()
            .rev()
            .find_map(|k| self.values.get(k).copied())
            .unwrap_or(Loc { line: 1, col: 1 })
    }

    /// The position of the first character of the scalar's text at `path`.
    pub fn text(&self, path: &[Seg]) -> Loc {
        let l = self.value(path);
        if self.quoted.contains(&key_of(path)) {
            Loc {
                line: l.line,
                col: l.col + 1,
            }
        } else {
            l
        }
    }

    /// `value` and `text` of the scalar at `parent` + `key`, given the parent's
    /// [`key_of`]: only the last segment is hashed and no path is built, which matters for
    /// a table's cells (a 10,000-row table has ~50,000). The same answers as `value` and
    /// `text`, which it falls back to when the scalar itself was not recorded.
    pub fn child_value_and_text(&self, parent: &[Seg], parent_key: PathKey, key: &str) -> (Loc, Loc) {
        let k = step_key(parent_key, key);
        match self.values.get(&k) {
            Some(l) => (
                *l,
                if self.quoted.contains(&k) {
                    Loc {
                        line: l.line,
                        col: l.col + 1,
                    }
                } else {
                    *l
                },
            ),
            None => {
                let mut p = parent.to_vec();
                p.push(Seg::from(key));
                (self.value(&p), self.text(&p))
            }
        }
    }

    /// The position of the key whose value is at `path` (falls back to the value).
    pub fn key(&self, path: &[Seg]) -> Loc {
        self.keys
            .get(&key_of(path))
            .copied()
            .unwrap_or_else(|| self.value(path))
    }
}

/// A YAML problem found while recording positions.
#[derive(Debug, Clone)]
pub struct YamlError {
    pub loc: Loc,
    pub message: String,
    /// [`crate::diag::code::YAML`], or [`crate::diag::code::LIMIT`] for a bound passed.
    pub code: &'static str,
    /// Where the other half of the problem is (the first of two duplicate keys).
    pub related: Option<(Loc, String)>,
}

enum Frame {
    Seq {
        path: PathKey,
        next: usize,
        size: u64,
        anchor: usize,
    },
    Map {
        path: PathKey,
        pending_key: Option<(String, Loc)>,
        size: u64,
        anchor: usize,
    },
}

struct Recorder {
    marks: Marks,
    stack: Vec<Frame>,
    root_seen: bool,
    anchor_sizes: HashMap<usize, u64>,
    total: u64,
    error: Option<YamlError>,
}

fn loc(m: &Marker) -> Loc {
    // yaml-rust2 lines are 1-based, columns 0-based.
    Loc {
        line: m.line(),
        col: m.col() + 1,
    }
}

impl Recorder {
    /// Path of the node that starts now, or None when it is a mapping key.
    fn place(&mut self) -> Option<PathKey> {
        match self.stack.last_mut() {
            None => Some(ROOT),
            Some(Frame::Seq { path, next, .. }) => {
                let p = step_index(*path, *next);
                *next += 1;
                Some(p)
            }
            Some(Frame::Map { path, pending_key, .. }) => pending_key.as_ref().map(|(k, _)| step_key(*path, k)),
        }
    }

    fn fail(&mut self, at: Loc, message: String) {
        if self.error.is_none() {
            self.error = Some(YamlError {
                loc: at,
                message,
                code: crate::diag::code::YAML,
                related: None,
            });
        }
    }

    /// Like [`Recorder::fail`], for an input limit passed.
    fn fail_limit(&mut self, at: Loc, message: String) {
        self.fail(at, message);
        if let Some(e) = &mut self.error {
            e.code = crate::diag::code::LIMIT;
        }
    }

    /// Counts `n` more nodes of the expanded document.
    fn count(&mut self, n: u64, at: Loc) {
        self.total = self.total.saturating_add(n);
        if self.total > MAX_EXPANDED_NODES {
            self.fail_limit(
                at,
                format!("the document expands to more than {MAX_EXPANDED_NODES} nodes once aliases are followed"),
            );
        }
    }

    /// Accounts for a finished node of `size` expanded nodes in its parent.
    fn finish(&mut self, size: u64) {
        match self.stack.last_mut() {
            Some(Frame::Seq { size: s, .. }) => *s = s.saturating_add(size),
            Some(Frame::Map {
                size: s, pending_key, ..
            }) => {
                *s = s.saturating_add(size);
                *pending_key = None;
            }
            None => {}
        }
    }

    fn scalar(&mut self, value: String, quoted: bool, anchor: usize, at: Loc) {
        if let Some(Frame::Map {
            pending_key,
            path,
            size,
            ..
        }) = self.stack.last_mut()
            && pending_key.is_none()
        {
            // yaml-rust2 marks a block mapping at the ':' after its first key: the
            // mapping starts at that key.
            if *size == 1
                && let Some(l) = self.marks.values.get_mut(path)
                && (at.line, at.col) < (l.line, l.col)
            {
                *l = at;
            }
            let p = step_key(*path, &value);
            *pending_key = Some((value.clone(), at));
            if let Some(&first) = self.marks.keys.get(&p) {
                self.fail(
                    at,
                    format!("duplicate key {value}", value = crate::quote::quote(&value)),
                );
                if let Some(e) = &mut self.error
                    && e.related.is_none()
                    && e.loc == at
                {
                    e.related = Some((first, "first defined here".into()));
                }
            }
            self.marks.keys.insert(p, at);
            return;
        }
        if let Some(p) = self.place() {
            if quoted {
                self.marks.quoted.insert(p);
            }
            self.marks.values.insert(p, at);
        }
        if anchor > 0 {
            self.anchor_sizes.insert(anchor, 1);
        }
        self.count(1, at);
        self.finish(1);
    }
}

impl MarkedEventReceiver for Recorder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let at = loc(&mark);
        match ev {
            Event::DocumentStart => {
                if self.root_seen {
                    self.fail(at, "a spec holds one YAML document, found a second".into());
                }
                self.root_seen = true;
            }
            Event::Scalar(v, style, anchor, _) => {
                let quoted = matches!(style, TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted);
                self.scalar(v, quoted, anchor, at)
            }
            Event::Alias(id) => {
                if matches!(self.stack.last(), Some(Frame::Map { pending_key: None, .. })) {
                    self.fail(at, "an alias cannot be used as a mapping key".into());
                    return;
                }
                if let Some(p) = self.place() {
                    self.marks.values.insert(p, at);
                }
                let size = self.anchor_sizes.get(&id).copied().unwrap_or(1);
                self.count(size, at);
                self.finish(size);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if matches!(self.stack.last(), Some(Frame::Map { pending_key: None, .. })) {
                    self.fail(at, "a mapping key must be plain text, found a collection".into());
                    return;
                }
                if self.stack.len() >= MAX_DEPTH {
                    self.fail_limit(at, format!("the document nests deeper than {MAX_DEPTH} levels"));
                    return;
                }
                self.count(1, at);
                let path = self.place().unwrap_or(ROOT);
                self.marks.values.insert(path, at);
                self.stack.push(if matches!(ev, Event::SequenceStart(..)) {
                    Frame::Seq {
                        path,
                        next: 0,
                        size: 1,
                        anchor,
                    }
                } else {
                    Frame::Map {
                        path,
                        pending_key: None,
                        size: 1,
                        anchor,
                    }
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (size, anchor) = match self.stack.pop() {
                    Some(Frame::Seq { size, anchor, .. }) | Some(Frame::Map { size, anchor, .. }) => (size, anchor),
                    None => return,
                };
                if anchor > 0 {
                    self.anchor_sizes.insert(anchor, size);
                }
                self.finish(size);
            }
            _ => {}
        }
    }
}

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
    let Some(line_text) = start.line.checked_sub(1).and_then(|i| text.split('\n').nth(i)) else {
        return plain;
    };
    let line_start = line_text.as_ptr() as usize - text.as_ptr() as usize;
    let before: Vec<char> = line_text.chars().take(start.col.saturating_sub(1)).collect();
    if before.len() + 1 != start.col {
        return plain;
    }
    let (double, single) = match before.last() {
        Some('"') => (true, false),
        Some('\'') => (false, true),
        _ => (false, false),
    };
    let skip: usize = before.iter().map(|c| c.len_utf8()).sum();
    let rest: Vec<char> = text[line_start + skip..].chars().collect();
    let (mut i, mut line, mut col, mut produced) = (0usize, start.line, start.col, 0usize);
    let is_break = |c: char| c == '\n' || c == '\r';
    let is_blank = |c: char| c == ' ' || c == '\t';
    // Skips a line break (LF, CR LF or CR) at rest[i].
    let skip_break = |i: &mut usize| {
        if rest.get(*i) == Some(&'\r') && rest.get(*i + 1) == Some(&'\n') {
            *i += 2;
        } else {
            *i += 1;
        }
    };
    while produced < offset && i < rest.len() {
        let c = rest[i];
        if double && c == '\\' {
            match rest.get(i + 1) {
                Some(&n) if is_break(n) => {
                    // An escaped line break joins the lines with nothing between them.
                    i += 1;
                    skip_break(&mut i);
                    (line, col) = (line + 1, 1);
                    while i < rest.len() && is_blank(rest[i]) {
                        (i, col) = (i + 1, col + 1);
                    }
                }
                n => {
                    let len = match n {
                        Some('x') => 4,
                        Some('u') => 6,
                        Some('U') => 10,
                        _ => 2,
                    };
                    (i, col, produced) = (i + len, col + len, produced + 1);
                }
            }
        } else if single && c == '\'' && rest.get(i + 1) == Some(&'\'') {
            (i, col, produced) = (i + 2, col + 2, produced + 1);
        } else if (double && c == '"') || (single && c == '\'') {
            break;
        } else if is_blank(c) || is_break(c) {
            // Blanks that end a line are dropped; a break and the next line's indentation
            // fold into one space, or into one line break per empty line.
            let mut j = i;
            while j < rest.len() && is_blank(rest[j]) {
                j += 1;
            }
            if j < rest.len() && !is_break(rest[j]) {
                (i, col, produced) = (i + 1, col + 1, produced + 1);
                continue;
            }
            i = j;
            let mut empty = 0;
            loop {
                if i >= rest.len() || !is_break(rest[i]) {
                    break;
                }
                skip_break(&mut i);
                (line, col) = (line + 1, 1);
                let mut k = i;
                while k < rest.len() && is_blank(rest[k]) {
                    k += 1;
                }
                col += k - i;
                i = k;
                if i < rest.len() && is_break(rest[i]) {
                    empty += 1;
                }
            }
            produced += empty.max(1);
        } else {
            (i, col, produced) = (i + 1, col + 1, produced + 1);
        }
    }
    Loc { line, col }
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

/// Records the position of every node of `text`, or says where its YAML is malformed.
pub fn marks(text: &str) -> Result<Marks, YamlError> {
    let mut rec = Recorder {
        marks: Marks::default(),
        stack: Vec::new(),
        root_seen: false,
        anchor_sizes: HashMap::new(),
        total: 0,
        error: None,
    };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut rec, true) {
        let m = e.marker();
        return Err(YamlError {
            loc: loc(m),
            message: format!("invalid YAML: {}", e.info()),
            code: crate::diag::code::YAML,
            related: None,
        });
    }
    match rec.error {
        Some(e) => Err(e),
        None => Ok(rec.marks),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(segs: &[Seg]) -> Vec<Seg> {
        segs.to_vec()
    }

    #[test]
    fn records_cells_by_path() {
        let m = marks("rows:\n  - type: conv\n    depth: 1\n").unwrap();
        let at = m.value(&p(&["rows".into(), 0usize.into(), "depth".into()]));
        assert_eq!((at.line, at.col), (3, 12));
        let key = m.key(&p(&["rows".into(), 0usize.into(), "depth".into()]));
        assert_eq!((key.line, key.col), (3, 5));
    }

    #[test]
    fn block_mapping_starts_at_its_first_key() {
        let m = marks("a:\n  - max_pool:\n      kernel: 3\n").unwrap();
        let at = m.value(&p(&["a".into(), 0usize.into()]));
        assert_eq!((at.line, at.col), (2, 5));
        let at = m.value(&p(&["a".into(), 0usize.into(), "max_pool".into()]));
        assert_eq!((at.line, at.col), (3, 7));
    }

    #[test]
    fn missing_path_falls_back_to_ancestor() {
        let m = marks("a:\n  b: 1\n").unwrap();
        let at = m.value(&p(&["a".into(), "b".into(), "c".into()]));
        assert_eq!(at.line, 2);
    }

    #[test]
    fn rejects_alias_bomb() {
        let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            s.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let e = marks(&s).unwrap_err();
        assert!(e.message.contains("expands to more than"), "{}", e.message);
    }

    #[test]
    fn rejects_duplicate_keys_and_syntax_errors() {
        let e = marks("a: 1\na: 2\n").unwrap_err();
        assert!(e.message.contains("duplicate key 'a'"));
        assert_eq!(e.loc.line, 2);
        let e = marks("a: [1, 2\n").unwrap_err();
        assert!(e.message.starts_with("invalid YAML"), "{}", e.message);
    }
}
