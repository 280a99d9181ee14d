//! Pairing a checkpoint's tensors with the derived ones: by name where the checkpoint names
//! its tensors as the variant does, otherwise by structure (`structure.rs`).

use super::inventory::Expected;
use super::weights::Found;

mod structure;

/// How the tensors were paired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pairing {
    ByName,
    ByStructure,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Difference {
    /// The paired tensors' shapes differ.
    Shape { expected: usize, found: usize },
    /// A derived tensor with no counterpart.
    Missing { expected: usize },
    /// A checkpoint tensor with no counterpart; `after` is the derived tensor paired last
    /// before it (where it sits in the network), if any.
    Unexpected { found: usize, after: Option<usize> },
}

#[derive(Debug, Clone)]
pub struct Comparison {
    pub pairing: Pairing,
    /// (expected, found) pairs whose shapes agree.
    pub matched: Vec<(usize, usize)>,
    pub differences: Vec<Difference>,
}

impl Comparison {
    pub fn agrees(&self) -> bool {
        self.differences.is_empty()
    }
}

pub fn pair(expected: &[Expected], found: &[Found]) -> Comparison {
    let by_name: std::collections::HashMap<&str, usize> =
        found.iter().enumerate().map(|(i, f)| (f.name.as_str(), i)).collect();
    let required: Vec<usize> = (0..expected.len()).filter(|i| !expected[*i].role.optional()).collect();
    let named = required
        .iter()
        .filter(|i| by_name.contains_key(expected[**i].name.as_str()))
        .count();
    if !required.is_empty() && named * 2 >= required.len() {
        pair_by_name(expected, found, &by_name)
    } else {
        structure::pair_by_structure(expected, found)
    }
}

fn pair_by_name(
    expected: &[Expected],
    found: &[Found],
    by_name: &std::collections::HashMap<&str, usize>,
) -> Comparison {
    let mut c = Comparison {
        pairing: Pairing::ByName,
        matched: Vec::new(),
        differences: Vec::new(),
    };
    let mut used = vec![false; found.len()];
    for (e, exp) in expected.iter().enumerate() {
        match by_name.get(exp.name.as_str()) {
            Some(&f) => {
                used[f] = true;
                if found[f].shape == exp.shape {
                    c.matched.push((e, f));
                } else {
                    c.differences.push(Difference::Shape { expected: e, found: f });
                }
            }
            None if exp.role.optional() => {}
            None => c.differences.push(Difference::Missing { expected: e }),
        }
    }
    // An unexpected tensor sits after the derived tensor whose name precedes it in the file.
    let mut last = None;
    for (f, tensor) in found.iter().enumerate() {
        if used[f] {
            last = expected.iter().position(|e| e.name == tensor.name);
        } else {
            c.differences.push(Difference::Unexpected { found: f, after: last });
        }
    }
    c
}
