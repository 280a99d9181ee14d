//! E106 (branches disagree in spatial size at the reference) and N302 (they agree there, but
//! not for every input): the condition comes from the derivation's input domain.

use super::Context;
use crate::diag::{Diagnostic, Severity, code};
use crate::ir::Place;
use crate::ir::chw;
use crate::shape::Axis;

pub fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let (spec, g, reference) = (cx.spec, cx.g, cx.g.reference);
    for (m, (_, cond)) in g.concat_mismatches.iter().zip(&cx.domain.conditions) {
        let node = &g.nodes[m.node];
        let row_label = match &node.place {
            Place::Row { row, .. } => spec.rows[*row].label.clone(),
            _ => node.name.clone(),
        };
        let dims = g.branch_dims(m, Axis::H);
        let at_ref = dims
            .windows(2)
            .all(|p| p[0].eval(reference.0) == p[1].eval(reference.0));
        let sizes: Vec<String> = m
            .branches
            .iter()
            .map(|b| {
                let s = chw(&g.nodes[*b].shape, reference);
                format!(
                    "{} gives {}×{} = {}",
                    g.nodes[*b].name,
                    s.1,
                    s.2,
                    g.nodes[*b].shape.symbolic()
                )
            })
            .collect();
        let (sev, code, msg) = if at_ref {
            (
                Severity::Note,
                code::CONCAT_CONDITION,
                format!("{row_label}: its branches agree in size at the reference input, but only {cond}"),
            )
        } else {
            (
                Severity::Error,
                code::CONCAT,
                format!(
                    "{row_label} {} branches of different spatial sizes at {}×{}; they agree only {cond}",
                    m.verb, reference.0, reference.1
                ),
            )
        };
        out.push(
            Diagnostic::new(sev, code, node.loc, msg)
                .arithmetic(sizes.join("; "))
                .help("give the pools and the strided convs the same padding and rounding"),
        );
    }
}
