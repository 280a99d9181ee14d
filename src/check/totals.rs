//! W203: a total the paper prints (its table's total row, a figure in its text) against the
//! derived total of the whole network, auxiliary heads left out (papers count the network
//! they run at inference).

use super::Context;
use crate::count::node_cost;
use crate::diag::{Diagnostic, Severity, code};
use crate::ir::Place;
use crate::spec::{TotalCounts, Value};

pub fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let (spec, g) = (cx.spec, cx.g);
    // The paper's totals are for its own class count; --classes changes the classifier.
    if spec.totals.is_empty() || cx.opts.classes.is_some_and(|k| k != spec.classes) {
        return;
    }
    let (mut params, mut macs) = (0i64, 0i64);
    for id in 0..g.nodes.len() {
        if matches!(g.nodes[id].place, Place::Aux { .. }) {
            continue;
        }
        let c = node_cost(g, id);
        params = params.saturating_add(c.params);
        macs = macs.saturating_add(c.macs);
    }
    // The architecture column built (a table of architectures), else the variant's name.
    let model = g.model.as_deref().or(cx.opts.variant.as_deref());
    for total in &spec.totals {
        let (derived, what) = match total.counts {
            TotalCounts::Parameters => (params, "parameters"),
            TotalCounts::MultiplyAdds => (macs, "multiply-adds"),
            TotalCounts::Flops => (macs.saturating_mul(2), "FLOPs (2 per multiply-add)"),
        };
        // Operation counts are printed for the paper's input size.
        if total.counts != TotalCounts::Parameters && !cx.at_reference {
            continue;
        }
        let tolerance = super::figures::tolerance(total.tolerance, spec);
        for figure in &total.figures {
            if figure.model.as_deref().is_some_and(|m| Some(m) != model) {
                continue;
            }
            let Value::Quantity(q) = &figure.cell.value else {
                continue;
            };
            if q.admits(derived, tolerance) {
                continue;
            }
            let printed = figure.cell.text.trim();
            let place = match (total.printed_in.trim(), &figure.model) {
                ("", None) => String::new(),
                ("", Some(m)) => format!(" for {m}"),
                (p, None) => format!(" in {p}"),
                (p, Some(m)) => format!(" in {p} for {m}"),
            };
            let mut d = Diagnostic::new(
                Severity::Warning,
                code::TOTAL,
                figure.cell.loc,
                format!(
                    "the paper prints {} {printed}{place}, the network derives {} {what}",
                    total.name,
                    crate::fmt::thousands(derived)
                ),
            )
            .values(printed.to_string(), crate::fmt::thousands(derived))
            .arithmetic(super::figures::arithmetic(printed, q, derived, tolerance));
            d.column = Some(total.name.clone());
            out.push(d);
        }
    }
}
