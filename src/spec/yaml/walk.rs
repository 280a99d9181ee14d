//! The walk over yaml-rust2's events that records every node's position, refuses duplicate
//! keys and a second document, and bounds alias expansion and nesting.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::marks::Marks;
use super::path::{PathKey, ROOT, step_index, step_key};
use crate::spec::Loc;

/// The most nodes a spec may expand to once aliases are followed.
pub const MAX_EXPANDED_NODES: u64 = 2_000_000;
/// The deepest nesting a spec may have.
pub const MAX_DEPTH: usize = 64;

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
            if *size == 1 {
                self.marks.start_value_at(*path, at);
            }
            let p = step_key(*path, &value);
            *pending_key = Some((value.clone(), at));
            self.key(p, &value, at);
            return;
        }
        if let Some(p) = self.place() {
            if quoted {
                self.marks.record_quoted(p);
            }
            self.marks.record_value(p, at);
        }
        if anchor > 0 {
            self.anchor_sizes.insert(anchor, 1);
        }
        self.count(1, at);
        self.finish(1);
    }

    /// A mapping's key at `at`, recorded under the path `p` of its value; a key the mapping
    /// already has is an error that points at both.
    fn key(&mut self, p: PathKey, value: &str, at: Loc) {
        let Some(first) = self.marks.record_key(p, at) else {
            return;
        };
        self.fail(at, format!("duplicate key {}", crate::quote::quote(value)));
        if let Some(e) = &mut self.error
            && e.related.is_none()
            && e.loc == at
        {
            e.related = Some((first, "first defined here".into()));
        }
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
                    self.marks.record_value(p, at);
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
                self.marks.record_value(path, at);
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
