//! N304: a printed output that differs from the derived one only because the row before it
//! prints a wrong output: fed that printed output, the row gives exactly what it prints.
//! The first row of such a chain keeps its error; the rows after it name where it starts.

use super::Context;
use super::arithmetic::{printed_size, size_text};
use crate::diag::{Diagnostic, Severity, code};
use crate::ir;
use crate::ir::chw;

/// Which part of a printed size follows from the row before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Channels,
    Spatial,
}

/// The row before `i` as printed, where `i` takes its input and prints an output that
/// differs from its derived one in `part`.
pub struct Upstream {
    pub row: usize,
    pub printed: (i64, i64, i64),
    pub derived: (i64, i64, i64),
    /// Row `i`'s output fed `printed`.
    pub fed_printed: (i64, i64, i64),
}

/// Row `i`'s upstream, when its printed `part` follows from the previous row's printed
/// output and not from the derived one.
pub fn upstream(cx: &Context<'_>, i: usize, col: &str, printed: (i64, i64, i64), part: Part) -> Option<Upstream> {
    let (spec, g) = (cx.spec, cx.g);
    if i == 0 || g.rows[i].input != g.rows[i - 1].output {
        return None;
    }
    let prev_printed = g.row_cells(spec, i - 1).get(col).and_then(printed_size)?;
    let prev_derived = chw(&g.nodes[g.rows[i - 1].output].shape, g.reference);
    let differs = match part {
        Part::Channels => prev_printed.0 != prev_derived.0,
        Part::Spatial => (prev_printed.1, prev_printed.2) != (prev_derived.1, prev_derived.2),
    };
    if !differs {
        return None;
    }
    let fed = ir::row_output_from(spec, cx.opts, i, prev_printed).ok()?;
    let follows = match part {
        Part::Channels => fed.0 == printed.0,
        Part::Spatial => (fed.1, fed.2) == (printed.1, printed.2),
    };
    follows.then_some(Upstream {
        row: i - 1,
        printed: prev_printed,
        derived: prev_derived,
        fed_printed: fed,
    })
}

/// Row `i`'s printed and derived output, the part that differs and the row's own arithmetic.
pub struct Mismatch {
    pub part: Part,
    pub printed: (i64, i64, i64),
    pub derived: (i64, i64, i64),
    pub own: String,
}

/// The N304 note for row `i`, whose printed output follows from `up`; `first` is the row
/// where the chain of inherited mismatches starts.
pub fn note(cx: &Context<'_>, i: usize, col: &str, up: &Upstream, first: usize, m: Mismatch) -> Diagnostic {
    let Mismatch {
        part,
        printed,
        derived,
        own,
    } = m;
    let (spec, g) = (cx.spec, cx.g);
    let (row, prev) = (&spec.rows[i], &spec.rows[up.row]);
    let cell = &g.row_cells(spec, i)[col];
    let (p, d, pp, pd) = (
        size_text(printed.0, printed.1, printed.2),
        size_text(derived.0, derived.1, derived.2),
        size_text(up.printed.0, up.printed.1, up.printed.2),
        size_text(up.derived.0, up.derived.1, up.derived.2),
    );
    let first_label = &spec.rows[first].label;
    let (fed, from_derived) = match part {
        Part::Channels => (format!("{} channels", up.fed_printed.0), format!("{}", derived.0)),
        Part::Spatial => (
            format!("{}×{}", up.fed_printed.1, up.fed_printed.2),
            format!("{}×{}", derived.1, derived.2),
        ),
    };
    let mut arithmetic = format!(
        "fed {}'s printed {pp}, {} outputs {fed}, as printed; fed the derived {pd}, it outputs {from_derived}",
        prev.label, row.label
    );
    if !own.is_empty() {
        arithmetic.push_str(&format!(" ({own})"));
    }
    let mut n = Diagnostic::new(
        Severity::Note,
        code::INHERITED,
        cell.loc,
        format!(
            "{} prints {p} where it derives {d}, which follows from {}'s printed {pp}",
            row.label, prev.label
        ),
    )
    .at(&row.label, col)
    .values(p, d)
    .arithmetic(arithmetic)
    .related(
        g.row_cells(spec, up.row)[col].loc,
        format!("{} derives {pd} where the table prints {pp}", prev.label),
    );
    n.help = Some(if first == up.row {
        format!("the error is at {first_label}; correct it there, and this cell with it")
    } else {
        format!("the chain starts at {first_label}, the error; correct it there, and the cells that follow from it")
    });
    n
}
