//! Which printed cells of a row the checks compare, and N303: the note that an input size
//! other than the printed one leaves the H×W cells and the ops figures uncompared.

use super::Context;
use crate::diag::{Diagnostic, Severity, code};
use crate::ir::Graph;
use crate::spec::{ColumnKind, Spec};

/// A row's printed cells by whether a check compared them: short names (`channels`,
/// `size`, `depth`, `params`, `ops`, `input`, `filter`) that the reports show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compared {
    pub compared: Vec<&'static str>,
    /// Printed but not comparable (H×W and ops at another input size).
    pub not_compared: Vec<&'static str>,
}

impl Compared {
    /// A cell that only holds at the reference input: compared where `comparable`.
    fn sized(&mut self, name: &'static str, comparable: bool) {
        if comparable {
            self.compared.push(name);
        } else {
            self.not_compared.push(name);
        }
    }
}

/// The cells of row `i` that the checks compare. Channels, depth and parameters do not
/// depend on H and W; printed sizes and ops figures hold only at the printed input.
pub fn compared(spec: &Spec, g: &Graph, i: usize, at_reference: bool) -> Compared {
    let cells = g.row_cells(spec, i);
    let mut c = Compared::default();
    let printed = |kind: ColumnKind| {
        spec.column_of(kind)
            .and_then(|col| cells.get(col.name.as_str()))
            .is_some_and(|cell| !cell.text.is_empty())
    };
    if printed(ColumnKind::Output) {
        c.compared.push("channels");
        c.sized("size", at_reference);
    }
    // An output size without channels (`56×56`): H×W only.
    if printed(ColumnKind::Spatial) {
        c.sized("size", at_reference);
    }
    if printed(ColumnKind::Depth) {
        c.compared.push("depth");
    }
    if printed(ColumnKind::Params) {
        c.compared.push("params");
    }
    if printed(ColumnKind::Ops) {
        c.sized("ops", at_reference);
    }
    // E107: the size reaching the row, printed for the reference input.
    if printed(ColumnKind::Input) {
        c.sized("input", at_reference);
    }
    // E108: weights do not depend on H and W; a pooling window (`Pool 7 × 7`) does.
    if printed(ColumnKind::Filter) {
        let window = spec
            .column_of(ColumnKind::Filter)
            .and_then(|col| cells.get(col.name.as_str()))
            .is_some_and(|cell| matches!(cell.value, crate::spec::Value::Filter(crate::spec::Filter::Pool { .. })));
        c.sized("filter", at_reference || !window);
    }
    c
}

/// N303 at the spec's input, where the derivation runs at another size.
pub fn note_other_input(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    if cx.at_reference {
        return;
    }
    let (spec, g) = (cx.spec, cx.g);
    let printed = spec.printed_input(g.variant.as_deref());
    let mut left = Vec::new();
    if spec.column_of(ColumnKind::Output).is_some() || spec.column_of(ColumnKind::Spatial).is_some() {
        left.push("the printed H×W of each output size");
    }
    if spec.column_of(ColumnKind::Ops).is_some() {
        left.push("the ops figures");
    }
    if spec.column_of(ColumnKind::Input).is_some() {
        left.push("the printed input sizes");
    }
    if left.is_empty() {
        return;
    }
    let mut d = Diagnostic::new(
        Severity::Note,
        code::NOT_COMPARED,
        printed.loc,
        format!(
            "the derivation runs at {}×{}, the table prints sizes for {}×{}: {} are not compared; channels, depth and parameters are",
            g.reference.0,
            g.reference.1,
            printed.height,
            printed.width,
            left.join(" and ")
        ),
    );
    d.help = Some("derive without --input (or at the printed size) to check every printed cell".into());
    out.push(d);
}
