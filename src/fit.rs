//! Whether a run fits the derivation before it starts: the input size within the domain
//! derive found, and a batch that gives every batch norm more than one value per channel in
//! training. `build`, `build --train` and `bench` ask this first, so what cannot work is
//! refused with the valid range and the limiting layer instead of failing inside libtorch.

use crate::derive::Derivation;
use crate::ir::Op;
use crate::ir::{chw, concat_condition, valid_on};
use crate::report::place_label;
use crate::shape::{Axis, Requirement};

/// Why input `(h, w)` cannot be used with `d`'s graph (derived at any valid reference):
/// the valid range, then each layer and concatenation that rules the size out.
pub fn refuse_input(d: &Derivation, (h, w): (i64, i64)) -> Option<String> {
    let g = &d.graph;
    if valid_on(g, Axis::H, h) && valid_on(g, Axis::W, w) {
        return None;
    }
    let mut why = Vec::new();
    let mut failing_concats = Vec::new();
    for (axis, v) in [(Axis::H, h), (Axis::W, w)] {
        let before = why.len();
        let failing: Vec<_> = g
            .constraints
            .iter()
            .filter(|c| c.requirement.axis() == axis && !c.requirement.holds(v))
            .collect();
        let what = |node: crate::ir::NodeId| {
            let n = &g.nodes[node];
            format!("{} ({}, in {})", n.name, n.op.describe(), place_label(d, node))
        };
        // Many layers need the same least size; the one asking most is the limit.
        let least = failing.iter().filter_map(|c| match c.requirement {
            Requirement::AtLeast { min, .. } => Some((min, c.node)),
            Requirement::Between { .. } => None,
        });
        if let Some((min, node)) = least.clone().max_by_key(|&(min, node)| (min, std::cmp::Reverse(node))) {
            let others = least.filter(|&(m, _)| m == min).count() - 1;
            let more = if others > 0 {
                format!(" (as do {others} more layers)")
            } else {
                String::new()
            };
            why.push(format!("{} needs {axis} ≥ {min}{more}", what(node)));
        }
        for c in &failing {
            if let Requirement::Between { lo, hi, .. } = c.requirement {
                why.push(format!("{} takes a fixed size: {axis} from {lo} to {hi}", what(c.node)));
            }
        }
        for m in &g.concat_mismatches {
            let dims = g.branch_dims(m, axis);
            if !dims.windows(2).all(|p| p[0].eval(v) == p[1].eval(v)) {
                failing_concats.push(m.node);
                why.push(format!(
                    "{}: its branches differ in size at {axis} = {v}; they agree {}",
                    place_label(d, m.node),
                    concat_condition(g, m, d.domain.min.0.max(1))
                ));
            }
        }
        // A square input fails both axes alike; one list says it.
        if why.len() > before && h == w {
            break;
        }
    }
    // The rest of the domain: the sizes inside the range where the branches agree.
    for (node, condition) in d.domain.conditions.iter().filter(|(n, _)| !failing_concats.contains(n)) {
        why.push(format!("{}: branches agree {condition}", place_label(d, *node)));
    }
    Some(format!(
        "input {h}×{w} cannot be used with {}: {}\n{}",
        model_name(d),
        range(d),
        why.iter().map(|l| format!("  {l}\n")).collect::<String>()
    ))
}

/// Why `batch` cannot train `d`'s graph at input `(h, w)`: a batch norm that would see one
/// value per channel (libtorch refuses to normalise that in training mode).
pub fn refuse_training_batch(d: &Derivation, (h, w): (i64, i64), batch: u64) -> Option<String> {
    let g = &d.graph;
    let single = g.nodes.iter().enumerate().find(|(id, n)| {
        matches!(n.op, Op::BatchNorm { .. }) && {
            let (_, bh, bw) = chw(&g.input_shape(*id), (h, w));
            batch as i64 * bh * bw <= 1
        }
    })?;
    Some(format!(
        "batch {batch} cannot train {} at {h}×{w}: batch norm {} (in {}) gets a 1×1 input, one value per channel, \
         which training cannot normalise; expected a batch of at least 2\n",
        model_name(d),
        single.1.name,
        place_label(d, single.0)
    ))
}

/// `googlenet_bn (variant caffe)`.
fn model_name(d: &Derivation) -> String {
    match &d.graph.variant {
        Some(v) => format!("{} (variant {v})", d.spec.name),
        None => d.spec.name.clone(),
    }
}

/// `it is valid from 223×223 to 230×230`, with a word where not every size in it is.
fn range(d: &Derivation) -> String {
    let (min, max) = (d.domain.min, d.domain.max);
    if min.0 == 0 || min.1 == 0 {
        return "no input size makes every concatenation's branches agree".into();
    }
    let mut s = match max {
        (Some(mh), Some(mw)) => format!("it is valid from {}×{} to {mh}×{mw}", min.0, min.1),
        _ => format!("it is valid from {}×{}", min.0, min.1),
    };
    if !d.domain.conditions.is_empty() {
        s.push_str(", where every concatenation's branches agree");
    }
    s
}
