//! The arithmetic a finding shows: how channels add up, which windows change the size.

use crate::ir::chw;
use crate::ir::{self, Graph, NodeId, Op, Pad, Place};
use crate::shape::WindowRounding;
use crate::spec::{Cell, Value};

pub fn printed_size(cell: &Cell) -> Option<(i64, i64, i64)> {
    match &cell.value {
        Value::Size(s) => Some((s.c as i64, s.h as i64, s.w as i64)),
        _ => None,
    }
}

pub fn size_text(c: i64, h: i64, w: i64) -> String {
    format!("{h}×{w}×{c}")
}

/// How a row's output channels add up: "160 + 160 + 160 + 128 = 608".
pub fn channel_arithmetic(g: &Graph, out: NodeId) -> String {
    let n = &g.nodes[out];
    match n.op {
        Op::Concat => {
            let parts: Vec<String> = n
                .inputs
                .iter()
                .map(|i| match &g.nodes[*i].place {
                    Place::Row { branch: Some(b), .. } => format!("{} ({b})", g.nodes[*i].shape.channels()),
                    _ => format!("{} (pass-through)", g.nodes[*i].shape.channels()),
                })
                .collect();
            format!("{} = {}", parts.join(" + "), n.shape.channels())
        }
        _ => format!("{} outputs {} channels", g.nodes[out].name, n.shape.channels()),
    }
}

/// Branches of a concat that carry their input through (no weight layer): pass-through.
pub fn pass_through_note(g: &Graph, span: &ir::RowSpan) -> Option<String> {
    let n = &g.nodes[span.output];
    if !matches!(n.op, Op::Concat) {
        return None;
    }
    let carries = n.inputs.iter().find(|i| {
        let mut cur = **i;
        loop {
            let node = &g.nodes[cur];
            if node.weight_layer {
                return false;
            }
            if cur == span.input {
                return true;
            }
            match node.inputs.first() {
                Some(p) if *p >= span.input => cur = *p,
                _ => return false,
            }
        }
    })?;
    Some(format!(
        "the pass-through branch carries all {} input channels",
        g.nodes[*carries].shape.channels()
    ))
}

/// The steps that change the spatial size inside a row: "28 → 14: conv 3×3/2 pad 1".
pub fn spatial_arithmetic(g: &Graph, span: &ir::RowSpan) -> String {
    let (rh, rw) = g.reference;
    let mut steps = Vec::new();
    let mut seen_strides = std::collections::HashSet::new();
    for id in span.first..span.end {
        let n = &g.nodes[id];
        let (Op::Conv(_) | Op::Pool(_) | Op::AdaptiveAvgPool { .. }) = n.op else {
            continue;
        };
        let before = chw(&g.input_shape(id), (rh, rw));
        let after = chw(&n.shape, (rh, rw));
        if before.1 != after.1 || before.2 != after.2 {
            let desc = n.op.describe();
            if seen_strides.insert(desc.clone()) {
                steps.push(format!(
                    "{}×{} → {}×{} by {} ({})",
                    before.1,
                    before.2,
                    after.1,
                    after.2,
                    desc,
                    window_formula(&n.op, before.1)
                ));
            }
        }
    }
    steps.join("; ")
}

/// The formula a window applies, evaluated: "floor((28 + 2 - 3)/2) + 1 = 14".
fn window_formula(op: &Op, x: i64) -> String {
    let (k, s, pad, rounding) = match op {
        // A dilated conv's window is the extent its kernel covers, d·(k - 1) + 1.
        Op::Conv(c) => (c.window_kernel().0, c.stride.0, c.pad, WindowRounding::Floor),
        Op::Pool(p) => (p.kernel.0, p.stride.0, p.pad, p.rounding),
        Op::AdaptiveAvgPool { size } => return format!("adaptive to {}", size.0),
        _ => return String::new(),
    };
    match pad {
        Pad::Same => format!("ceil({x}/{s}) = {}", (x + s - 1).div_euclid(s)),
        Pad::Explicit(p, _) => {
            let w = crate::shape::Window {
                kernel: k,
                stride: s,
                pad: p,
                rounding,
            };
            let out = w.apply_numeric(x);
            match rounding {
                WindowRounding::Floor => format!("floor(({x} + {} - {k})/{s}) + 1 = {out}", 2 * p),
                _ => format!("ceil(({x} + {} - {k})/{s}) + 1 = {out}", 2 * p),
            }
        }
    }
}
