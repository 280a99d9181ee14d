//! E107: a row's printed input size (an `input` column) against what reaches the row: the
//! previous row's derived output (after any layers a variant inserts), or the network input.

use super::Context;
use super::arithmetic::size_text;
use crate::diag::{Diagnostic, Severity, code};
use crate::ir::chw;
use crate::spec::{ColumnKind, Value};

pub fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let (spec, g, reference) = (cx.spec, cx.g, cx.g.reference);
    let Some((col, cells)) = cx.sizes_at_reference(ColumnKind::Input) else {
        return;
    };
    for (i, cell) in cells {
        let span = &g.rows[i];
        let Value::Input(printed) = &cell.value else { continue };
        let (c, h, w) = chw(&g.nodes[span.input].shape, reference);
        let (ph, pw) = (printed.h as i64, printed.w as i64);
        let channels_differ = printed.c.is_some_and(|pc| pc as i64 != c);
        if (ph, pw) == (h, w) && !channels_differ {
            continue;
        }
        let row = &spec.rows[i];
        let (source, producer) = match i {
            0 => ("the network input".to_string(), "the spec's input".to_string()),
            _ => {
                let prev = &spec.rows[i - 1];
                let inserted = g.rows[i - 1].output != span.input;
                let after = if inserted {
                    " and the layers inserted after it"
                } else {
                    ""
                };
                (
                    format!("{}{after}", prev.label),
                    format!("{} outputs", g.nodes[span.input].name),
                )
            }
        };
        let printed_text = match printed.c {
            Some(pc) => size_text(pc as i64, ph, pw),
            None => format!("{ph}×{pw}"),
        };
        let derived_text = match printed.c {
            Some(_) => size_text(c, h, w),
            None => format!("{h}×{w}"),
        };
        out.push(
            Diagnostic::new(
                Severity::Error,
                code::INPUT_SIZE,
                cell.loc,
                format!(
                    "{} prints an input of {printed_text}, {source} gives it {derived_text}",
                    row.label
                ),
            )
            .at(&row.label, col)
            .values(printed_text, derived_text.clone())
            .arithmetic(format!(
                "{producer} {} = {derived_text} at the reference input {}×{}",
                g.nodes[span.input].shape.symbolic(),
                reference.0,
                reference.1
            ))
            .help("correct the cell in a variant, or the previous rows if the transcription is wrong"),
        );
    }
}
