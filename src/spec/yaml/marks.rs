//! The recorded positions of a document's nodes ([`Marks`]) and how they are looked up.

use std::collections::HashMap;

use super::path::{PathKey, ROOT, Seg, key_of, step, step_key};
use crate::spec::Loc;

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

/// Recording, for the walk over the events.
impl Marks {
    pub(super) fn record_value(&mut self, path: PathKey, at: Loc) {
        self.values.insert(path, at);
    }

    pub(super) fn record_quoted(&mut self, path: PathKey) {
        self.quoted.insert(path);
    }

    /// Records the key of the value at `path`; the place of the same key recorded before.
    pub(super) fn record_key(&mut self, path: PathKey, at: Loc) -> Option<Loc> {
        self.keys.insert(path, at)
    }

    /// The value at `path` starts at `at` where that comes before its recorded start.
    pub(super) fn start_value_at(&mut self, path: PathKey, at: Loc) {
        if let Some(l) = self.values.get_mut(&path)
            && (at.line, at.col) < (l.line, l.col)
        {
            *l = at;
        }
    }
}
