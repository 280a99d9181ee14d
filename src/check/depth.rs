//! E103: a row's printed depth against the weight layers on its deepest path.

use super::Context;
use crate::diag::{Diagnostic, Severity, code};
use crate::spec::{ColumnKind, Value};

pub fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let (spec, g) = (cx.spec, cx.g);
    let Some(col) = cx.column(ColumnKind::Depth) else {
        return;
    };
    for (i, span) in g.rows.iter().enumerate() {
        let row = &spec.rows[i];
        let cells = g.row_cells(spec, i);
        let Some(Value::Count(pd)) = cells.get(col).map(|c| &c.value) else {
            continue;
        };
        let dd = cx.rows[i].depth;
        if *pd as i64 != dd {
            let layers: Vec<String> = (span.first..span.end)
                .filter(|id| g.nodes[*id].weight_layer)
                .map(|id| g.nodes[id].op.describe())
                .collect();
            out.push(
                Diagnostic::new(
                    Severity::Error,
                    code::DEPTH,
                    cells[col].loc,
                    format!("{} is {dd} weight layers deep, the table says {pd}", row.label),
                )
                .at(&row.label, col)
                .values(pd.to_string(), dd.to_string())
                .arithmetic(format!("deepest path through: {}", layers.join(", "))),
            );
        }
    }
}
