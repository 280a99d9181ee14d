//! Which input sizes the verifier runs: derive's reference, its smallest valid input and one
//! more, each checked against the graph's constraints and concatenations first.

use crate::ir::{Graph, Op};
use crate::shape::{Requirement, Shape};

use super::Skipped;
use super::text::{dims, hw};

/// Why derive says input `size` is invalid, or None where every layer is valid there and
/// every concat's branches agree.
pub fn invalid_reason(g: &Graph, size: (i64, i64)) -> Option<String> {
    let (h, w) = size;
    if h < 1 || w < 1 {
        return Some(format!("{} is not an image size", hw(size)));
    }
    for c in &g.constraints {
        let name = &g.nodes[c.node].name;
        match c.requirement {
            Requirement::AtLeast { axis, min } => {
                let v = if axis == crate::shape::Axis::H { h } else { w };
                if v < min {
                    return Some(format!("{name} needs {axis} ≥ {min}"));
                }
            }
            Requirement::Between { axis, lo, hi } => {
                let v = if axis == crate::shape::Axis::H { h } else { w };
                if v < lo || v > hi {
                    return Some(format!("{name} fixes {axis} to [{lo}, {hi}]"));
                }
            }
        }
    }
    for n in &g.nodes {
        if matches!(n.op, Op::Concat | Op::Add) {
            let spatial: Vec<Vec<i64>> = n
                .inputs
                .iter()
                .map(|i| g.nodes[*i].shape.at(h, w)[1..].to_vec())
                .collect();
            if spatial.windows(2).any(|p| p[0] != p[1]) {
                let sizes: Vec<String> = spatial.iter().map(|s| dims(s)).collect();
                return Some(format!("{}'s branches disagree there ({})", n.name, sizes.join(", ")));
            }
        }
        if let Shape::Map { .. } = n.shape {
            let at = n.shape.at(h, w);
            if at[1] < 1 || at[2] < 1 {
                return Some(format!("{} would output {}", n.name, dims(&at)));
            }
        }
    }
    None
}

/// The sizes to check: the reference, the smallest valid input, and one more (the
/// reference + 32 where valid, else the nearest other valid size); with the sizes left out
/// and why.
pub fn default_sizes(g: &Graph) -> (Vec<(i64, i64)>, Skipped) {
    let mut sizes = Vec::new();
    let mut skipped = Vec::new();
    let reference = g.reference;
    match invalid_reason(g, reference) {
        None => sizes.push(reference),
        Some(why) => skipped.push((reference, format!("the reference size is invalid: {why}"))),
    }
    let bump = |s: (i64, i64), d: i64| (s.0 + d, s.1 + d);
    // The smallest input derive reports (its H and W are found separately, so check the
    // pair), or the first valid one above it.
    let min = crate::ir::min_input(g);
    let limit = 4096;
    if min.0 < 1 || min.1 < 1 {
        skipped.push((min, "derive finds no valid input size near the layers' bound".into()));
        return (sizes, skipped);
    }
    match invalid_reason(g, min) {
        None => {
            if !sizes.contains(&min) {
                sizes.push(min)
            }
        }
        Some(why) => {
            let found = (1..limit)
                .map(|d| bump(min, d))
                .find(|s| invalid_reason(g, *s).is_none());
            let also = found
                .map(|s| format!("; the smallest valid input is {}", hw(s)))
                .unwrap_or_default();
            skipped.push((min, format!("derive's smallest input is invalid: {why}{also}")));
            if let Some(s) = found
                && !sizes.contains(&s)
            {
                sizes.push(s);
            }
        }
    }
    // One more.
    let extra = bump(reference, 32);
    match invalid_reason(g, extra) {
        None => sizes.push(extra),
        Some(why) => {
            skipped.push((extra, why));
            let lo = sizes.iter().map(|s| s.0.min(s.1)).min().unwrap_or(1);
            let up = (1..64).map(|d| bump(reference, d));
            let down = (1..(reference.0.min(reference.1) - lo).max(0)).map(|d| bump(reference, -d));
            if let Some(s) = up
                .chain(down)
                .find(|s| !sizes.contains(s) && invalid_reason(g, *s).is_none())
            {
                sizes.push(s);
            }
        }
    }
    (sizes, skipped)
}
