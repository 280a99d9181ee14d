//! The inputs a graph accepts: the smallest and largest H and W, the sizes at which
//! concatenated branches agree, and the check at the reference size. Computed once per
//! derivation; every report reads it from there.

use super::{ConcatMismatch, Graph, NodeId};
use crate::shape::{Agreement, Axis, BranchSizes, Requirement, Shape, agreement};

/// The input domain of one derivation.
#[derive(Debug, Clone)]
pub struct Domain {
    /// The smallest valid (H, W); 0 on an axis where none was found.
    pub min: (i64, i64),
    /// The largest valid (H, W), where a flatten fixes the size.
    pub max: (Option<i64>, Option<i64>),
    /// For each concatenation whose branches disagree for some H: the condition under
    /// which they agree, from the smallest valid H on (in `g.concat_mismatches` order).
    pub conditions: Vec<(NodeId, String)>,
}

impl Domain {
    pub fn of(g: &Graph) -> Domain {
        let min = min_input(g);
        let conditions = g
            .concat_mismatches
            .iter()
            .map(|m| (m.node, concat_condition(g, m, min.0)))
            .collect();
        Domain {
            min,
            max: max_input(g),
            conditions,
        }
    }
}

/// (C, H, W) of a shape at the reference; a vector of F reads as 1×1×F like the tables print it.
pub fn chw(s: &Shape, reference: (i64, i64)) -> (i64, i64, i64) {
    match *s {
        Shape::Map { c, h, w } => (c, h.eval(reference.0), w.eval(reference.1)),
        Shape::Flat { features } => (features, 1, 1),
    }
}

pub fn describe_agreement(a: &Agreement, axis: Axis) -> String {
    match a {
        Agreement::Always => format!("for every {axis}"),
        Agreement::Periodic { modulus, runs } if runs.is_empty() => {
            format!("for no {axis} (checked {axis} mod {modulus})")
        }
        Agreement::Periodic { modulus, runs } if runs.len() == 1 && runs[0].0 == runs[0].1 => {
            format!("when {axis} ≡ {} (mod {modulus})", runs[0].0)
        }
        Agreement::Periodic { modulus, runs } => format!("when {axis} mod {modulus} ∈ {{{}}}", run_list(runs)),
        Agreement::Only { runs, truncated, .. } if runs.is_empty() && !truncated => format!("for no {axis}"),
        Agreement::Only {
            runs, truncated: false, ..
        } => format!("for {axis} in {{{}}}", run_list(runs)),
        Agreement::Only { runs, scanned_to, .. } if runs.is_empty() => {
            format!("for no {axis} below {scanned_to} (the scan stopped there)")
        }
        Agreement::Only { runs, scanned_to, .. } => format!(
            "for {axis} in {{{}, …}} (the scan stopped at {axis} = {scanned_to})",
            run_list(runs)
        ),
    }
}

/// The most values a condition lists one by one; beyond it, runs print as `a..b`. The
/// conditions of real tables (16 residues of 32 at most) stay lists.
const LISTED_VALUES: i128 = 32;

/// `0, 1, 2, 15` for few values, `0..6, 15` for many: bounded by the number of runs.
fn run_list(runs: &[(i64, i64)]) -> String {
    let count: i128 = runs.iter().map(|&(a, b)| i128::from(b) - i128::from(a) + 1).sum();
    let parts: Vec<String> = if count <= LISTED_VALUES {
        runs.iter().flat_map(|&(a, b)| a..=b).map(|v| v.to_string()).collect()
    } else {
        runs.iter()
            .map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}..{b}") })
            .collect()
    };
    parts.join(", ")
}

/// Whether input size `v` on `axis` satisfies every layer's requirement and makes every
/// concatenation's branches agree.
pub fn valid_on(g: &Graph, axis: Axis, v: i64) -> bool {
    g.constraints
        .iter()
        .all(|c| c.requirement.axis() != axis || c.requirement.holds(v))
        && g.concat_mismatches
            .iter()
            .all(|m| g.branch_dims(m, axis).windows(2).all(|p| p[0].eval(v) == p[1].eval(v)))
}

/// The condition under which a concatenation's branches agree in height, from `from` on.
pub fn concat_condition(g: &Graph, m: &ConcatMismatch, from: i64) -> String {
    describe_agreement(&agreement(&g.branch_dims(m, Axis::H), from), Axis::H)
}

/// The smallest input (H, W) for which every layer is valid and every concatenation's
/// branches agree (0 where none is found within 65,536 sizes above the layers' bound). The
/// same answer as trying `valid_on` size by size, without trying sizes one by one: the
/// layers' requirements reduce to one range, and each concatenation says where its
/// branches next agree (in closed form for equal strides), so the search leaps from one
/// candidate to the next.
pub fn min_input(g: &Graph) -> (i64, i64) {
    let first = |axis: Axis| {
        let reqs = || g.constraints.iter().filter(move |c| c.requirement.axis() == axis);
        let from = reqs().map(|c| c.requirement.lowest()).fold(1, i64::max);
        let highest = reqs()
            .filter_map(|c| match c.requirement {
                Requirement::Between { hi, .. } => Some(hi),
                Requirement::AtLeast { .. } => None,
            })
            .min()
            .unwrap_or(i64::MAX);
        let end = from.saturating_add(1 << 16).min(highest.saturating_add(1));
        let concats: Vec<BranchSizes> = g
            .concat_mismatches
            .iter()
            .map(|m| BranchSizes::new(&g.branch_dims(m, axis)))
            .collect();
        // Bounds the scans of branches with different slopes; running out reads as "none found".
        let mut budget: u64 = 1 << 24;
        let mut v = from;
        if v >= end {
            return 0;
        }
        loop {
            let mut moved = false;
            for c in &concats {
                match c.next_agreeing(v, end, &mut budget) {
                    None => return 0,
                    Some(next) if next > v => {
                        v = next;
                        moved = true;
                    }
                    Some(_) => {}
                }
            }
            if !moved {
                return v;
            }
        }
    };
    (first(Axis::H), first(Axis::W))
}

/// The largest input (H, W) allowed, where a flatten fixes the size.
pub fn max_input(g: &Graph) -> (Option<i64>, Option<i64>) {
    let mut m = (None::<i64>, None::<i64>);
    for c in &g.constraints {
        if let Requirement::Between { axis, hi, .. } = c.requirement {
            let slot = if axis == Axis::H { &mut m.0 } else { &mut m.1 };
            *slot = Some(slot.map_or(hi, |x| x.min(hi)));
        }
    }
    m
}

/// Unused input check at the reference: a layer whose window does not fit.
pub fn reference_violation(g: &Graph) -> Option<(NodeId, String)> {
    let (h, w) = g.reference;
    for c in &g.constraints {
        let axis = c.requirement.axis();
        let v = if axis == Axis::H { h } else { w };
        let ok = c.requirement.holds(v);
        if !ok {
            let n = &g.nodes[c.node];
            let input = chw(&g.input_shape(c.node), (h, w));
            let why = match c.requirement {
                Requirement::AtLeast { min, .. } => format!(
                    "{} ({}) gets a {}×{} input at the reference size {h}×{w}; it needs {axis} ≥ {min}",
                    n.name,
                    n.op.describe(),
                    input.1,
                    input.2
                ),
                Requirement::Between { lo, hi, .. } => format!(
                    "{} fixes the input size to {axis} in [{lo}, {hi}], the reference is {h}×{w}",
                    n.name
                ),
            };
            return Some((c.node, why));
        }
    }
    None
}
