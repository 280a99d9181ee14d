//! Compares every printed cell with the derivation and explains each difference.

use crate::count::{NodeCost, depth_between, row_cost};
use crate::diag::{Diagnostic, Reading, Severity, code};
use crate::ir::lower::Limits;
use crate::ir::{self, Graph, LowerOptions, NodeId, Op, Pad, Place};
use crate::shape::{Agreement, Axis, BranchSizes, Shape, WindowRounding, agreement};
use crate::spec::{Cell, ColumnKind, Patch, Quantity, Spec, Value};

/// (C, H, W) of a shape at the reference; a vector of F reads as 1×1×F like the tables print it.
fn chw(s: &Shape, reference: (i64, i64)) -> (i64, i64, i64) {
    match *s {
        Shape::Map { c, h, w } => (c, h.eval(reference.0), w.eval(reference.1)),
        Shape::Flat { features } => (features, 1, 1),
    }
}

fn printed_size(cell: &Cell) -> Option<(i64, i64, i64)> {
    match &cell.value {
        Value::Size(s) => Some((s.c as i64, s.h as i64, s.w as i64)),
        _ => None,
    }
}

/// How a row's output channels add up: "160 + 160 + 160 + 128 = 608".
fn channel_arithmetic(g: &Graph, out: NodeId) -> String {
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
fn pass_through_note(g: &Graph, span: &ir::RowSpan) -> Option<String> {
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
fn spatial_arithmetic(g: &Graph, span: &ir::RowSpan) -> String {
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
        Op::Conv(c) => (c.kernel.0, c.stride.0, c.pad, WindowRounding::Floor),
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

/// Relative difference of a printed rounded figure from the derived count.
fn compare_quantity(q: &Quantity, derived: i64) -> (f64, bool) {
    let v = q.value();
    let within_rounding = (v - derived as f64).abs() <= q.half_unit() + 1e-9;
    let rel = if derived == 0 {
        if v == 0.0 { 0.0 } else { f64::INFINITY }
    } else {
        (v - derived as f64).abs() / derived as f64
    };
    (rel, within_rounding)
}

pub fn human(n: i64) -> String {
    let a = n.abs() as f64;
    if a >= 1e9 {
        format!("{:.2}G", n as f64 / 1e9)
    } else if a >= 1e6 {
        format!("{:.2}M", n as f64 / 1e6)
    } else if a >= 1e3 {
        format!("{:.1}K", n as f64 / 1e3)
    } else {
        n.to_string()
    }
}

fn size_text(c: i64, h: i64, w: i64) -> String {
    format!("{h}×{w}×{c}")
}

/// The findings about `g`, which was lowered from `spec` with `opts` within `limits` (the
/// other reading of a stride lowers the spec again, within the same limits).
pub fn check(spec: &Spec, g: &Graph, opts: &LowerOptions, limits: &Limits, per: &[NodeCost]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let reference = g.reference;
    let col_of = |k: ColumnKind| spec.column_of(k).map(|c| c.name.clone());
    let output_col = col_of(ColumnKind::Output);
    let depth_col = col_of(ColumnKind::Depth);
    let params_col = col_of(ColumnKind::Params);
    let ops_col = col_of(ColumnKind::Ops);
    let patch_col = col_of(ColumnKind::Patch);
    let variant = g.variant.clone().map(|v| format!("variant {v}")).unwrap_or_default();
    // Printed sizes only check the reference input they were printed for.
    let at_reference = (spec.input.height as i64, spec.input.width as i64) == reference;

    for c in &g.corrections {
        let row = &spec.rows[c.row];
        let printed = if c.printed.is_empty() {
            "nothing".to_string()
        } else {
            crate::quote::quote(&c.printed)
        };
        let corrected = if c.corrected.is_empty() {
            "an empty cell".to_string()
        } else {
            crate::quote::quote(&c.corrected)
        };
        let mut d = Diagnostic::new(
            Severity::Note,
            code::CORRECTED,
            c.loc,
            format!(
                "{variant} corrects {}'s {}: the table prints {printed}, the variant uses {corrected}",
                row.label, c.column
            ),
        )
        .at(&row.label, &c.column);
        d = d.values(c.printed.clone(), c.corrected.clone());
        if let Some(p) = row.cells.get(&c.column) {
            d = d.related(p.loc, "the printed cell");
        }
        out.push(d);
    }

    let mut ambiguous_rows = Vec::new();
    for (i, span) in g.rows.iter().enumerate() {
        let row = &spec.rows[i];
        let cells = g.row_cells(spec, i);
        let derived = chw(&g.nodes[span.output].shape, reference);
        if let (Some(col), true) = (&output_col, at_reference)
            && let Some((pc, ph, pw)) = cells.get(col).and_then(printed_size)
        {
            let cell = &cells[col];
            // A classifier row prints the paper's class count; --classes changes it on purpose.
            let reclassed = opts
                .classes
                .is_some_and(|k| k as i64 == derived.0 && pc == spec.classes as i64);
            if pc != derived.0 && !reclassed {
                let mut d = Diagnostic::new(
                    Severity::Error,
                    code::CHANNELS,
                    cell.loc,
                    format!("{} outputs {} channels, the table says {pc}", row.label, derived.0),
                )
                .at(&row.label, col)
                .values(size_text(pc, ph, pw), size_text(derived.0, derived.1, derived.2))
                .arithmetic(channel_arithmetic(g, span.output));
                if let Some(note) = pass_through_note(g, span) {
                    d.arithmetic = Some(format!("{}; {note}", d.arithmetic.unwrap_or_default()));
                    if i > 0 {
                        let prev = &spec.rows[i - 1];
                        let prev_printed = g.row_cells(spec, i - 1).get(col).and_then(printed_size);
                        let prev_derived = chw(&g.nodes[g.rows[i - 1].output].shape, reference).0;
                        if let Some((ppc, _, _)) = prev_printed.filter(|p| p.0 != prev_derived) {
                            d = d.related(
                                g.row_cells(spec, i - 1)[col].loc,
                                format!(
                                    "{} derives {prev_derived} channels where the table prints {ppc}",
                                    prev.label
                                ),
                            );
                            d.help = Some(format!(
                                "the printed {pc} follows from {}'s printed {ppc}; fix {} first",
                                prev.label, prev.label
                            ));
                        }
                    }
                }
                if d.help.is_none() {
                    d.help = Some("correct the cell in a variant (rows: {…: {cells: {…}}}), or the filter counts if the transcription is wrong".into());
                }
                out.push(d);
            }
            if (ph, pw) != (derived.1, derived.2) {
                let alt = stride_reading(spec, g, (opts, limits), i, patch_col.as_deref(), (ph, pw), col);
                match alt {
                    Some(d) => {
                        ambiguous_rows.push(i);
                        out.push(d);
                    }
                    None => out.push(
                        Diagnostic::new(
                            Severity::Error,
                            code::SPATIAL,
                            cell.loc,
                            format!(
                                "{} outputs {}×{}, the table says {ph}×{pw}",
                                row.label, derived.1, derived.2
                            ),
                        )
                        .at(&row.label, col)
                        .values(size_text(pc, ph, pw), size_text(derived.0, derived.1, derived.2))
                        .arithmetic(spatial_arithmetic(g, span)),
                    ),
                }
            }
        }
        if let Some(col) = &depth_col
            && let Some(Value::Count(pd)) = cells.get(col).map(|c| &c.value)
        {
            let dd = depth_between(g, span.input, span.output);
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
        let rc = row_cost(g, per, i);
        for (col, derived_n, code, what) in [
            (&params_col, rc.params, code::PARAMS, "parameters"),
            (&ops_col, rc.macs, code::OPS, "multiply-adds"),
        ] {
            let Some(col) = col else { continue };
            let Some(cell) = cells.get(col) else { continue };
            let Value::Quantity(q) = &cell.value else { continue };
            if !at_reference && code == code::OPS {
                continue;
            }
            let (rel, within) = compare_quantity(q, derived_n);
            if !within && rel > spec.tolerance {
                out.push(
                    Diagnostic::new(
                        Severity::Warning,
                        code,
                        cell.loc,
                        format!(
                            "{} has {} {what}, the table says {} ({:+.1}%)",
                            row.label,
                            human(derived_n),
                            cell.text,
                            (q.value() - derived_n as f64) / derived_n.max(1) as f64 * 100.0
                        ),
                    )
                    .at(&row.label, col)
                    .values(cell.text.clone(), derived_n.to_string())
                    .arithmetic(format!(
                        "derived {derived_n}; printed {} ± {}; relative difference {:.1}% > tolerance {:.1}%",
                        q.value(),
                        q.half_unit(),
                        rel * 100.0,
                        spec.tolerance * 100.0
                    )),
                );
            }
        }
    }

    // Each row against the previous row's printed output.
    if let (Some(col), true) = (&output_col, at_reference) {
        for i in 1..g.rows.len() {
            let (Some(prev), Some(this)) = (
                g.row_cells(spec, i - 1).get(col).and_then(printed_size),
                g.row_cells(spec, i).get(col).and_then(printed_size),
            ) else {
                continue;
            };
            if ambiguous_rows.contains(&(i - 1))
                || ambiguous_rows.contains(&i)
                || g.rows[i].input != g.rows[i - 1].output
            {
                continue;
            }
            let Ok(local) = ir::lower::row_output_from(spec, opts, i, prev) else {
                continue;
            };
            let derived = chw(&g.nodes[g.rows[i].output].shape, reference);
            let chan_unexplained = local.0 != this.0 && derived.0 == this.0;
            let spatial_unexplained =
                (local.1, local.2) != (this.1, this.2) && (derived.1, derived.2) == (this.1, this.2);
            if chan_unexplained || spatial_unexplained {
                let (pr, tr) = (&spec.rows[i - 1], &spec.rows[i]);
                out.push(
                    Diagnostic::new(
                        Severity::Error,
                        code::DISCONTINUITY,
                        g.row_cells(spec, i)[col].loc,
                        format!(
                            "{} prints {}, but fed {}'s printed {} it outputs {}",
                            tr.label,
                            size_text(this.0, this.1, this.2),
                            pr.label,
                            size_text(prev.0, prev.1, prev.2),
                            size_text(local.0, local.1, local.2)
                        ),
                    )
                    .at(&tr.label, col)
                    .values(size_text(this.0, this.1, this.2), size_text(local.0, local.1, local.2))
                    .related(
                        g.row_cells(spec, i - 1)[col].loc,
                        format!("{}'s printed output", pr.label),
                    ),
                );
            }
        }
    }

    // Branches that disagree in spatial size.
    let min_h = min_input(g).0;
    for m in &g.concat_mismatches {
        let node = &g.nodes[m.node];
        let row_label = match &node.place {
            Place::Row { row, .. } => spec.rows[*row].label.clone(),
            _ => node.name.clone(),
        };
        let dims = g.branch_dims(m, Axis::H);
        let ag = agreement(&dims, min_h);
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
        let cond = describe_agreement(&ag, Axis::H);
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
                    "{row_label} concatenates branches of different spatial sizes at {}×{}; they agree only {cond}",
                    reference.0, reference.1
                ),
            )
        };
        out.push(
            Diagnostic::new(sev, code, node.loc, msg)
                .arithmetic(sizes.join("; "))
                .help("give the pools and the strided convs the same padding and rounding"),
        );
    }
    out.sort_by_key(|d| (d.line, d.col));
    out
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

/// The other reading of a printed stride: if dropping it gives the printed size, the table
/// contradicts itself at that row; say what each reading implies for the next row.
fn stride_reading(
    spec: &Spec,
    g: &Graph,
    (opts, limits): (&LowerOptions, &Limits),
    i: usize,
    patch_col: Option<&str>,
    printed: (i64, i64),
    out_col: &str,
) -> Option<Diagnostic> {
    let patch_col = patch_col?;
    let cell = g.row_cells(spec, i).get(patch_col)?;
    let Value::Patch(p) = &cell.value else { return None };
    let stride = p.stride.filter(|s| *s > 1)?;
    let alt_patch = Patch {
        kernel: p.kernel,
        stride: None,
    };
    let alt_cell = if alt_patch.kernel.is_some() {
        Some(Cell {
            text: alt_patch.to_string(),
            value: Value::Patch(alt_patch),
            loc: cell.loc,
        })
    } else {
        None
    };
    let mut alt_opts = opts.clone();
    alt_opts.cell_overrides.push((i, patch_col.to_string(), alt_cell));
    let alt = ir::lower::lower_within(spec, &alt_opts, limits).ok()?;
    let reference = g.reference;
    let with = chw(&g.nodes[g.rows[i].output].shape, reference);
    let without = chw(&alt.nodes[alt.rows[i].output].shape, reference);
    if (without.1, without.2) != printed {
        return None;
    }
    let row = &spec.rows[i];
    let next = spec.rows.get(i + 1);
    let next_printed = next
        .and_then(|_| g.row_cells(spec, i + 1).get(out_col))
        .and_then(printed_size);
    let implies = |graph: &Graph| -> String {
        match (next, next_printed) {
            (Some(n), Some((_, nh, nw))) => {
                let d = chw(&graph.nodes[graph.rows[i + 1].output].shape, reference);
                if (d.1, d.2) == (nh, nw) {
                    format!(
                        "{} then outputs {}×{}, which matches its printed {nh}×{nw}",
                        n.label, d.1, d.2
                    )
                } else {
                    format!(
                        "{} then outputs {}×{} where the table prints {nh}×{nw}, so a downsampling step (e.g. a 3×3/2 max pool) is needed between them",
                        n.label, d.1, d.2
                    )
                }
            }
            _ => "nothing follows to check against".to_string(),
        }
    };
    let mut d = Diagnostic::new(
        Severity::Error,
        code::AMBIGUOUS_STRIDE,
        g.row_cells(spec, i)[out_col].loc,
        format!(
            "{} prints stride {stride} and an output of {}×{}; with the stride it outputs {}×{}",
            row.label, printed.0, printed.1, with.1, with.2
        ),
    )
    .at(&row.label, out_col)
    .values(format!("{}×{}", printed.0, printed.1), format!("{}×{}", with.1, with.2))
    .arithmetic(spatial_arithmetic(g, &g.rows[i]))
    .related(cell.loc, format!("the printed stride {stride}"));
    d.readings = vec![
        Reading {
            reading: format!(
                "stride {stride} applies inside {}: it outputs {}×{}, not the printed {}×{}",
                row.label, with.1, with.2, printed.0, printed.1
            ),
            implies: implies(g),
        },
        Reading {
            reading: format!(
                "no stride in {}: it outputs {}×{} as printed",
                row.label, without.1, without.2
            ),
            implies: implies(&alt),
        },
    ];
    d.help = Some("pick a reading in a variant: correct the output size, or empty the stride cell and insert a pool with insert_after".into());
    Some(d)
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
pub fn concat_condition(g: &Graph, m: &crate::ir::ConcatMismatch, from: i64) -> String {
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
                crate::shape::Requirement::Between { hi, .. } => Some(hi),
                crate::shape::Requirement::AtLeast { .. } => None,
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
        if let crate::shape::Requirement::Between { axis, hi, .. } = c.requirement {
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
                crate::shape::Requirement::AtLeast { min, .. } => format!(
                    "{} ({}) gets a {}×{} input at the reference size {h}×{w}; it needs {axis} ≥ {min}",
                    n.name,
                    n.op.describe(),
                    input.1,
                    input.2
                ),
                crate::shape::Requirement::Between { lo, hi, .. } => format!(
                    "{} fixes the input size to {axis} in [{lo}, {hi}], the reference is {h}×{w}",
                    n.name
                ),
            };
            return Some((c.node, why));
        }
    }
    None
}
