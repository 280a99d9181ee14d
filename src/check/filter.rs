//! E108: a row's printed filter shape (a `filter` column) against the weights of its layer:
//! `k×k×Cin×Cout` and `k×k×Cin` per group for a convolution, `k×k×C dw` for a depthwise one
//! (groups = input channels), `in×out` for a fully connected layer, `Pool k×k` for a window.

use super::Context;
use crate::diag::{Diagnostic, Severity, code};
use crate::ir::chw;
use crate::ir::{Graph, NodeId, Op};
use crate::spec::cell::Filter;
use crate::spec::{ColumnKind, Value};

/// The printed form of node `id`'s weights (or window), where it has any.
fn derived(g: &Graph, id: NodeId, reference: (i64, i64)) -> Option<(String, String)> {
    let cin = g.in_channels(id);
    match &g.nodes[id].op {
        Op::Conv(c) => {
            let (kh, kw) = c.kernel;
            let groups = c.groups.max(1);
            let shape = if groups == cin && groups > 1 && c.out % groups == 0 && c.out == groups {
                format!("{kh}×{kw}×{cin} dw")
            } else {
                format!("{kh}×{kw}×{}×{}", cin / groups, c.out)
            };
            let why = format!(
                "{} weight [out, in/groups, kh, kw] = [{}, {}, {kh}, {kw}] with {cin} input channels in {groups} group{}",
                g.nodes[id].name,
                c.out,
                cin / groups,
                if groups == 1 { "" } else { "s" }
            );
            Some((shape, why))
        }
        Op::Linear { out, .. } => Some((
            format!("{cin}×{out}"),
            format!("{} weight [out, in] = [{out}, {cin}]", g.nodes[id].name),
        )),
        Op::Pool(p) => Some((
            format!("Pool {}×{}", p.kernel.0, p.kernel.1),
            format!("{} window {}×{}", g.nodes[id].name, p.kernel.0, p.kernel.1),
        )),
        Op::AdaptiveAvgPool { size: (1, 1) } => {
            let (_, h, w) = chw(&g.input_shape(id), reference);
            Some((
                format!("Pool {h}×{w}"),
                format!("{} averages its whole {h}×{w} input", g.nodes[id].name),
            ))
        }
        _ => None,
    }
}

/// Whether node `id` has the printed shape.
fn matches(g: &Graph, id: NodeId, printed: &Filter, reference: (i64, i64)) -> bool {
    let cin = g.in_channels(id);
    let n = |x: u64| x as i64;
    match (printed, &g.nodes[id].op) {
        (
            Filter::Conv {
                kernel,
                inputs,
                outputs,
                depthwise,
            },
            Op::Conv(c),
        ) => {
            let groups = c.groups.max(1);
            let kernel_ok = (n(kernel.0), n(kernel.1)) == c.kernel;
            let outputs_ok = outputs.is_none_or(|o| n(o) == c.out);
            let inputs_ok = if *depthwise {
                n(*inputs) == cin && groups == cin
            } else {
                n(*inputs) == cin / groups
            };
            kernel_ok && outputs_ok && inputs_ok
        }
        (Filter::Linear { inputs, outputs }, Op::Linear { out, .. }) => n(*inputs) == cin && n(*outputs) == *out,
        // A fully connected layer written as a 1×1 convolution.
        (Filter::Linear { inputs, outputs }, Op::Conv(c)) => {
            c.kernel == (1, 1) && c.groups <= 1 && n(*inputs) == cin && n(*outputs) == c.out
        }
        (Filter::Pool { kernel }, Op::Pool(p)) => (n(kernel.0), n(kernel.1)) == p.kernel,
        (Filter::Pool { kernel }, Op::AdaptiveAvgPool { size: (1, 1) }) => {
            let (_, h, w) = chw(&g.input_shape(id), reference);
            (n(kernel.0), n(kernel.1)) == (h, w)
        }
        _ => false,
    }
}

pub fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let (spec, g, reference) = (cx.spec, cx.g, cx.g.reference);
    let Some(col) = cx.column(ColumnKind::Filter) else {
        return;
    };
    for (i, span) in g.rows.iter().enumerate() {
        let cells = g.row_cells(spec, i);
        let Some(cell) = cells.get(col) else { continue };
        let Value::Filter(printed) = &cell.value else { continue };
        // A window depends on the input size only for a global pool, read at the reference.
        let window = matches!(printed, Filter::Pool { .. });
        if window && !cx.at_reference {
            continue;
        }
        let candidates: Vec<NodeId> = (span.first..span.end)
            .filter(|&id| match &g.nodes[id].op {
                Op::Conv(_) | Op::Linear { .. } => !window,
                Op::Pool(_) | Op::AdaptiveAvgPool { size: (1, 1) } => window,
                _ => false,
            })
            .collect();
        if candidates.iter().any(|&id| matches(g, id, printed, reference)) {
            continue;
        }
        let row = &spec.rows[i];
        let what = if window { "pooling window" } else { "weight layer" };
        let mut d = match candidates.first().and_then(|&id| derived(g, id, reference)) {
            Some((shape, why)) => Diagnostic::new(
                Severity::Error,
                code::FILTER_SHAPE,
                cell.loc,
                format!("{} prints the filter {printed}, its {what} is {shape}", row.label),
            )
            .values(printed.to_string(), shape)
            .arithmetic(why),
            None => Diagnostic::new(
                Severity::Error,
                code::FILTER_SHAPE,
                cell.loc,
                format!("{} prints the filter {printed}, and builds no {what}", row.label),
            )
            .values(printed.to_string(), "none"),
        };
        if candidates.len() > 1 {
            d = d.help(format!(
                "the row has {} {what}s and none has this shape",
                candidates.len()
            ));
        }
        out.push(d.at(&row.label, col));
    }
}
