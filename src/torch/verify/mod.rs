//! The libtorch model against derive: every node's real output shape, at several input
//! sizes, against the closed form derive computed; and the VarStore's parameter and buffer
//! counts against derive's.
//!
//! Mismatches become diagnostics in derive's style: [`SHAPE`] (E401) for a node whose
//! libtorch output differs from the derived shape (or that libtorch refuses), [`COUNT`]
//! (E402) for parameter or buffer totals that differ.

use tch::{Device, Kind, Tensor, nn};

use crate::check;
use crate::count;
use crate::diag::{Diagnostic, Severity};
use crate::ir::{Graph, NodeId, Op};
use crate::report::thousands;
use crate::shape::{Requirement, Shape};
use crate::spec::Loc;

use super::model::{ForwardError, Model, variable_counts};

/// A node's libtorch output differs from the derived shape, or libtorch refuses the node.
pub const SHAPE: &str = crate::diag::code::TORCH_SHAPE;
/// The VarStore's parameter or buffer total differs from derive's count.
pub const COUNT: &str = crate::diag::code::TORCH_COUNT;

/// Input sizes left out, with derive's reason.
pub type Skipped = Vec<((i64, i64), String)>;

/// One node at one input size.
#[derive(Debug, Clone)]
pub struct LayerCheck {
    pub node: NodeId,
    pub name: String,
    pub op: String,
    /// Derive's shape with the batch prepended.
    pub derived: Vec<i64>,
    /// libtorch's shape; None where the forward pass stopped before this node.
    pub real: Option<Vec<i64>>,
    pub ok: bool,
}

/// Every node at one input size, in one mode.
#[derive(Debug, Clone)]
pub struct SizeCheck {
    pub size: (i64, i64),
    pub batch: i64,
    pub train: bool,
    pub layers: Vec<LayerCheck>,
    /// The node libtorch refused, if any.
    pub failure: Option<ForwardError>,
    /// Auxiliary outputs of a training-mode `forward` (train checks only): (libtorch, graph).
    pub aux_outputs: Option<(usize, usize)>,
}

impl SizeCheck {
    /// Layers libtorch ran whose shape differs from derive's.
    pub fn mismatches(&self) -> usize {
        self.layers.iter().filter(|l| !l.ok && l.real.is_some()).count()
    }
    pub fn ok(&self) -> bool {
        self.failure.is_none() && self.mismatches() == 0 && self.aux_outputs.is_none_or(|(a, b)| a == b)
    }
}

#[derive(Debug, Clone)]
pub struct Report {
    pub checks: Vec<SizeCheck>,
    /// Sizes not checked, with derive's reason.
    pub skipped: Skipped,
    /// Trainable elements: (VarStore, derive).
    pub params: (i64, i64),
    /// Buffer elements (batch norm running statistics): (VarStore, derive).
    pub buffers: (i64, i64),
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.diagnostics.iter().all(|d| d.severity != Severity::Error) && !self.checks.is_empty()
    }

    /// Layers compared per size (the input node is not a layer).
    pub fn layers(&self) -> usize {
        self.checks
            .first()
            .map_or(0, |c| c.layers.iter().filter(|l| l.node != 0).count())
    }

    /// `verified: 312 layers at 224×224, 193×193 and 256×256 agree with derive; ...`.
    pub fn summary(&self) -> String {
        let eval: Vec<String> = self.checks.iter().filter(|c| !c.train).map(|c| hw(c.size)).collect();
        let counts = if self.buffers.1 > 0 {
            format!(
                "{} parameters and {} buffers",
                thousands(self.params.1),
                thousands(self.buffers.1)
            )
        } else {
            format!("{} parameters", thousands(self.params.1))
        };
        if self.ok() {
            let train = self.checks.iter().find(|c| c.train).map(|c| {
                let aux = c.aux_outputs.map_or(0, |a| a.1);
                let heads = match aux {
                    0 => String::new(),
                    1 => ", with its auxiliary head".to_string(),
                    n => format!(", with its {n} auxiliary heads"),
                };
                format!(" (and in training mode at {}{heads})", hw(c.size))
            });
            return format!(
                "verified: {} layers at {} agree with derive{}; {counts} agree",
                self.layers(),
                and_list(&eval),
                train.unwrap_or_default()
            );
        }
        let mut parts = Vec::new();
        for c in &self.checks {
            let mode = if c.train { " in training mode" } else { "" };
            if c.mismatches() > 0 {
                parts.push(format!(
                    "{} of {} layers disagree at {}{mode}",
                    c.mismatches(),
                    c.layers.len() - 1,
                    hw(c.size)
                ));
            }
            if let Some(f) = &c.failure {
                parts.push(format!("libtorch refuses {} at {}{mode}", f.name, hw(c.size)));
            }
            if c.aux_outputs.is_some_and(|(a, b)| a != b) {
                parts.push(format!("the auxiliary outputs disagree at {}{mode}", hw(c.size)));
            }
        }
        if self.params.0 != self.params.1 {
            parts.push(format!(
                "the varstore holds {} parameters, derive counts {}",
                thousands(self.params.0),
                thousands(self.params.1)
            ));
        }
        if self.buffers.0 != self.buffers.1 {
            parts.push(format!(
                "the varstore holds {} buffers, derive counts {}",
                thousands(self.buffers.0),
                thousands(self.buffers.1)
            ));
        }
        if self.checks.is_empty() {
            parts.push("no input size was valid to check".into());
        }
        format!("verification failed: {}", parts.join("; "))
    }
}

fn hw(s: (i64, i64)) -> String {
    format!("{}×{}", s.0, s.1)
}

fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [a] => a.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn dims(v: &[i64]) -> String {
    v.iter().map(i64::to_string).collect::<Vec<_>>().join("×")
}

/// Why derive says input `size` is invalid, or None where every layer is valid there and
/// every concat's branches agree.
pub fn invalid_reason(g: &Graph, size: (i64, i64)) -> Option<String> {
    let (h, w) = size;
    if h < 1 || w < 1 {
        return Some(format!("{} is not an image size", hw(size)));
    }
    for c in &g.constraints {
        let name = &g.nodes[c.node].name;
        match c.requirement {
            Requirement::AtLeast { axis, min } => {
                let v = if axis == crate::shape::Axis::H { h } else { w };
                if v < min {
                    return Some(format!("{name} needs {axis} ≥ {min}"));
                }
            }
            Requirement::Between { axis, lo, hi } => {
                let v = if axis == crate::shape::Axis::H { h } else { w };
                if v < lo || v > hi {
                    return Some(format!("{name} fixes {axis} to [{lo}, {hi}]"));
                }
            }
        }
    }
    for n in &g.nodes {
        if matches!(n.op, Op::Concat) {
            let spatial: Vec<Vec<i64>> = n
                .inputs
                .iter()
                .map(|i| g.nodes[*i].shape.at(h, w)[1..].to_vec())
                .collect();
            if spatial.windows(2).any(|p| p[0] != p[1]) {
                let sizes: Vec<String> = spatial.iter().map(|s| dims(s)).collect();
                return Some(format!("{}'s branches disagree there ({})", n.name, sizes.join(", ")));
            }
        }
        if let Shape::Map { .. } = n.shape {
            let at = n.shape.at(h, w);
            if at[1] < 1 || at[2] < 1 {
                return Some(format!("{} would output {}", n.name, dims(&at)));
            }
        }
    }
    None
}

/// The sizes to check: the reference, the smallest valid input, and one more (the
/// reference + 32 where valid, else the nearest other valid size); with the sizes left out
/// and why.
pub fn default_sizes(g: &Graph) -> (Vec<(i64, i64)>, Skipped) {
    let mut sizes = Vec::new();
    let mut skipped = Vec::new();
    let reference = g.reference;
    match invalid_reason(g, reference) {
        None => sizes.push(reference),
        Some(why) => skipped.push((reference, format!("the reference size is invalid: {why}"))),
    }
    let bump = |s: (i64, i64), d: i64| (s.0 + d, s.1 + d);
    // The smallest input derive reports (its H and W are found separately, so check the
    // pair), or the first valid one above it.
    let min = check::min_input(g);
    let limit = 4096;
    if min.0 < 1 || min.1 < 1 {
        skipped.push((min, "derive finds no valid input size near the layers' bound".into()));
        return (sizes, skipped);
    }
    match invalid_reason(g, min) {
        None => {
            if !sizes.contains(&min) {
                sizes.push(min)
            }
        }
        Some(why) => {
            let found = (1..limit)
                .map(|d| bump(min, d))
                .find(|s| invalid_reason(g, *s).is_none());
            let also = found
                .map(|s| format!("; the smallest valid input is {}", hw(s)))
                .unwrap_or_default();
            skipped.push((min, format!("derive's smallest input is invalid: {why}{also}")));
            if let Some(s) = found
                && !sizes.contains(&s)
            {
                sizes.push(s);
            }
        }
    }
    // One more.
    let extra = bump(reference, 32);
    match invalid_reason(g, extra) {
        None => sizes.push(extra),
        Some(why) => {
            skipped.push((extra, why));
            let lo = sizes.iter().map(|s| s.0.min(s.1)).min().unwrap_or(1);
            let up = (1..64).map(|d| bump(reference, d));
            let down = (1..(reference.0.min(reference.1) - lo).max(0)).map(|d| bump(reference, -d));
            if let Some(s) = up
                .chain(down)
                .find(|s| !sizes.contains(s) && invalid_reason(g, *s).is_none())
            {
                sizes.push(s);
            }
        }
    }
    (sizes, skipped)
}

fn compare(g: &Graph, outs: &[Tensor], size: (i64, i64), batch: i64) -> Vec<LayerCheck> {
    g.nodes
        .iter()
        .enumerate()
        .map(|(id, n)| {
            let mut derived = vec![batch];
            derived.extend(n.shape.at(size.0, size.1));
            let real = outs.get(id).map(Tensor::size);
            let ok = real.as_ref() == Some(&derived);
            LayerCheck {
                node: id,
                name: n.name.clone(),
                op: n.op.describe(),
                derived,
                real,
                ok,
            }
        })
        .collect()
}

fn shape_diagnostics(g: &Graph, c: &SizeCheck) -> Vec<Diagnostic> {
    let mode = if c.train { ", training mode" } else { "" };
    let context = format!(
        "input {}×{}×{}×{} (batch {}{mode})",
        c.batch, g.input_channels, c.size.0, c.size.1, c.batch
    );
    let mut out = Vec::new();
    if let Some(first) = c.layers.iter().find(|l| !l.ok && l.real.is_some()) {
        let n = &g.nodes[first.node];
        let real = dims(first.real.as_deref().unwrap_or_default());
        let mut d = Diagnostic::new(
            Severity::Error,
            SHAPE,
            n.loc,
            format!(
                "{} outputs {real} in libtorch, derive says {}",
                first.name,
                dims(&first.derived)
            ),
        )
        .values(real, dims(&first.derived))
        .arithmetic(format!("{context}: {} ({})", first.name, first.op));
        let later = c
            .layers
            .iter()
            .filter(|l| !l.ok && l.real.is_some() && l.node > first.node)
            .count();
        let mut help = Vec::new();
        if later > 0 {
            help.push(format!("{later} later layers differ too; they follow from this one"));
        }
        if let Some(f) = &c.failure {
            help.push(format!("libtorch then refuses {}", f.name));
        }
        if !help.is_empty() {
            d = d.help(help.join("; "));
        }
        out.push(d);
    } else if let Some(f) = &c.failure {
        let n = &g.nodes[f.node];
        let first_line = f.message.lines().next().unwrap_or("").trim().to_string();
        out.push(
            Diagnostic::new(
                Severity::Error,
                SHAPE,
                n.loc,
                format!("{} fails in libtorch at {}: {first_line}", f.name, hw(c.size)),
            )
            .arithmetic(format!("{context}: {} ({})", f.name, n.op.describe())),
        );
    }
    if let Some((real, derived)) = c.aux_outputs
        && real != derived
    {
        out.push(Diagnostic::new(
            Severity::Error,
            SHAPE,
            Loc::default(),
            format!("a training-mode forward returns {real} auxiliary outputs in libtorch, derive has {derived}"),
        ));
    }
    out
}

/// Builds the model on the CPU and checks it at each of `sizes` (sizes derive says are
/// invalid are skipped and listed): every node in eval mode at every size, every node in
/// training mode at the first size (with the auxiliary outputs of `forward`), and the
/// parameter and buffer totals.
pub fn verify(graph: &Graph, sizes: &[(i64, i64)], batch: i64) -> Result<Report, String> {
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Model::new(&vs.root(), graph)?;
    let (_, totals) = count::costs(graph, 1);
    let (params, buffers) = variable_counts(&vs);
    let mut checks = Vec::new();
    let mut skipped = Vec::new();
    let mut diagnostics = Vec::new();
    let valid: Vec<(i64, i64)> = sizes
        .iter()
        .copied()
        .filter(|s| match invalid_reason(graph, *s) {
            None => true,
            Some(why) => {
                skipped.push((*s, why));
                false
            }
        })
        .collect();
    tch::no_grad(|| {
        let input =
            |s: (i64, i64), b: i64| Tensor::randn([b, graph.input_channels, s.0, s.1], (Kind::Float, Device::Cpu));
        for (i, s) in valid.iter().enumerate() {
            let x = input(*s, batch);
            let (outs, failure) = model.forward_partial(&x, false);
            let mut c = SizeCheck {
                size: *s,
                batch,
                train: false,
                layers: compare(graph, &outs, *s, batch),
                failure,
                aux_outputs: None,
            };
            // forward() and forward_all() agree on the logits.
            if i == 0
                && c.failure.is_none()
                && let Ok((logits, aux)) = model.try_forward(&x, false)
            {
                let main = &outs[graph.main_output()];
                if logits.size() != main.size() || !logits.allclose(main, 1e-5, 1e-6, false) || !aux.is_empty() {
                    c.failure = Some(ForwardError {
                        node: graph.main_output(),
                        name: graph.nodes[graph.main_output()].name.clone(),
                        message: "forward() and forward_all() disagree on the logits".into(),
                    });
                }
            }
            diagnostics.extend(shape_diagnostics(graph, &c));
            checks.push(c);
        }
        // Training mode once: dropout and batch statistics, and the auxiliary heads.
        if let Some(s) = valid.first() {
            let b = batch.max(2);
            let x = input(*s, b);
            let (outs, failure) = model.forward_partial(&x, true);
            let aux_graph = model.aux_outputs().len();
            let aux_real = if failure.is_none() {
                model
                    .try_forward(&x, true)
                    .map(|(_, aux)| aux.len())
                    .unwrap_or(usize::MAX)
            } else {
                aux_graph
            };
            let c = SizeCheck {
                size: *s,
                batch: b,
                train: true,
                layers: compare(graph, &outs, *s, b),
                failure,
                aux_outputs: Some((aux_real, aux_graph)),
            };
            diagnostics.extend(shape_diagnostics(graph, &c));
            checks.push(c);
        }
    });
    let loc = graph.nodes.first().map(|n| n.loc).unwrap_or_default();
    if params != totals.params {
        diagnostics.push(
            Diagnostic::new(
                Severity::Error,
                COUNT,
                loc,
                format!(
                    "the varstore holds {} parameters, derive counts {}",
                    thousands(params),
                    thousands(totals.params)
                ),
            )
            .values(thousands(params), thousands(totals.params)),
        );
    }
    if buffers != totals.buffers {
        diagnostics.push(
            Diagnostic::new(
                Severity::Error,
                COUNT,
                loc,
                format!(
                    "the varstore holds {} buffers (batch norm running statistics), derive counts {}",
                    thousands(buffers),
                    thousands(totals.buffers)
                ),
            )
            .values(thousands(buffers), thousands(totals.buffers)),
        );
    }
    Ok(Report {
        checks,
        skipped,
        params: (params, totals.params),
        buffers: (buffers, totals.buffers),
        diagnostics,
    })
}

/// The layer-by-layer agreement as text: a compact table per eval-mode size (layer, op,
/// derived, libtorch, ok), the training-mode check in one line (plus any disagreeing
/// rows), and the skipped sizes.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    for c in &r.checks {
        let layers = c.layers.len().saturating_sub(1);
        let mode = if c.train { "training mode" } else { "eval mode" };
        let verdict = if c.ok() {
            format!("{layers} layers agree")
        } else {
            format!("{} of {layers} layers disagree", c.mismatches())
        };
        s.push_str(&format!("\nat {} (batch {}, {mode}): {verdict}", hw(c.size), c.batch));
        if let Some((real, graph)) = c.aux_outputs {
            s.push_str(&format!(
                "; forward returns {real} auxiliary output{} (derive: {graph})",
                if real == 1 { "" } else { "s" }
            ));
        }
        s.push('\n');
        let rows: Vec<&LayerCheck> = if c.train {
            c.layers.iter().filter(|l| !l.ok).collect()
        } else {
            c.layers.iter().collect()
        };
        if rows.is_empty() {
            continue;
        }
        let cells: Vec<[String; 5]> = rows
            .iter()
            .map(|l| {
                let real = l.real.as_deref().map(dims).unwrap_or_else(|| "—".into());
                [
                    l.name.clone(),
                    l.op.clone(),
                    dims(&l.derived),
                    real,
                    if l.ok { "ok".into() } else { "NO".into() },
                ]
            })
            .collect();
        let head = ["layer", "op", "derived", "libtorch", "ok"].map(String::from);
        let width = |i: usize| {
            cells
                .iter()
                .chain(std::iter::once(&head))
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        };
        let w = [width(0), width(1), width(2), width(3)];
        for row in std::iter::once(&head).chain(cells.iter()) {
            let pad = |t: &str, n: usize| format!("{t}{}", " ".repeat(n.saturating_sub(t.chars().count())));
            s.push_str(&format!(
                "  {}  {}  {}  {}  {}\n",
                pad(&row[0], w[0]),
                pad(&row[1], w[1]),
                pad(&row[2], w[2]),
                pad(&row[3], w[3]),
                row[4]
            ));
        }
        if let Some(f) = &c.failure {
            s.push_str(&format!("  {f}\n"));
        }
    }
    if !r.skipped.is_empty() {
        s.push('\n');
        for (size, why) in &r.skipped {
            s.push_str(&format!("skipped {}: {why}\n", hw(*size)));
        }
    }
    s
}

/// [`verify`] at [`default_sizes`], the sizes left out listed first in `skipped`.
pub fn verify_default(graph: &Graph, batch: i64) -> Result<Report, String> {
    let (sizes, skipped) = default_sizes(graph);
    let mut r = verify(graph, &sizes, batch)?;
    r.skipped.splice(0..0, skipped);
    Ok(r)
}
