//! Paths into a YAML document (`rows/4/#1×1`) and their 64-bit keys, built segment by
//! segment so that recording a node allocates nothing.

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

pub(super) const ROOT: PathKey = 0xcbf2_9ce4_8422_2325;

/// FNV-1a over the parent's key, a tag and the segment's bytes.
fn fnv(parent: PathKey, tag: u8, bytes: &[u8]) -> PathKey {
    let mut h = parent ^ 0x9e37_79b9_7f4a_7c15;
    for b in std::iter::once(tag).chain(bytes.iter().copied()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

pub(super) fn step_key(parent: PathKey, key: &str) -> PathKey {
    fnv(parent, b'k', key.as_bytes())
}

pub(super) fn step_index(parent: PathKey, i: usize) -> PathKey {
    fnv(parent, b'i', &(i as u64).to_le_bytes())
}

pub(super) fn step(parent: PathKey, seg: &Seg) -> PathKey {
    match seg {
        Seg::Key(k) => step_key(parent, k),
        Seg::Index(i) => step_index(parent, *i),
    }
}

pub fn key_of(path: &[Seg]) -> PathKey {
    path.iter().fold(ROOT, step)
}
