//! The libtorch model against derive: every node's real output shape, at several input
//! sizes, against the closed form derive computed; and the VarStore's parameter and buffer
//! counts against derive's.
//!
//! Mismatches become diagnostics in derive's style: [`SHAPE`] (E401) for a node whose
//! libtorch output differs from the derived shape (or that libtorch refuses), [`COUNT`]
//! (E402) for parameter or buffer totals that differ.

use tch::{Device, Kind, Tensor, nn};

mod sizes;
mod text;

use crate::count;
use crate::diag::{Diagnostic, Severity};
use crate::fmt::thousands;
use crate::ir::{Graph, NodeId};
use crate::spec::Loc;

use super::model::{ForwardError, Model, variable_counts};

pub use sizes::{default_sizes, invalid_reason};
pub use text::render;
use text::{dims, hw};

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

/// Why the verifier could not run.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The model builder refused the graph.
    #[error(transparent)]
    Model(#[from] crate::torch::model::ModelError),
}

/// Builds the model on the CPU and checks it at each of `sizes` (sizes derive says are
/// invalid are skipped and listed): every node in eval mode at every size, every node in
/// training mode at the first size (with the auxiliary outputs of `forward`), and the
/// parameter and buffer totals.
pub fn verify(graph: &Graph, sizes: &[(i64, i64)], batch: i64) -> Result<Report, VerifyError> {
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Model::new(&vs.root(), graph).map_err(VerifyError::Model)?;
    let (_, totals) = count::costs(graph, 1);
    let (params, buffers) = variable_counts(&vs);
    let mut skipped = Vec::new();
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
    let checks = tch::no_grad(|| {
        let mut checks: Vec<SizeCheck> = valid
            .iter()
            .enumerate()
            .map(|(i, s)| eval_check(&model, *s, batch, i == 0))
            .collect();
        // Training mode once: dropout and batch statistics, and the auxiliary heads.
        checks.extend(valid.first().map(|s| train_check(&model, *s, batch.max(2))));
        checks
    });
    let mut diagnostics: Vec<Diagnostic> = checks.iter().flat_map(|c| shape_diagnostics(graph, c)).collect();
    diagnostics.extend(count_diagnostics(
        graph,
        (params, totals.params),
        (buffers, totals.buffers),
    ));
    Ok(Report {
        checks,
        skipped,
        params: (params, totals.params),
        buffers: (buffers, totals.buffers),
        diagnostics,
    })
}

fn random_input(g: &Graph, size: (i64, i64), batch: i64) -> Tensor {
    Tensor::randn([batch, g.input_channels, size.0, size.1], (Kind::Float, Device::Cpu))
}

/// Every node in eval mode at `size`; with `against_forward`, also whether `forward()`
/// gives the logits `forward_partial()` computed.
fn eval_check(model: &Model, size: (i64, i64), batch: i64, against_forward: bool) -> SizeCheck {
    let graph = model.graph();
    let x = random_input(graph, size, batch);
    let (outs, failure) = model.forward_partial(&x, false);
    let mut c = SizeCheck {
        size,
        batch,
        train: false,
        layers: compare(graph, &outs, size, batch),
        failure,
        aux_outputs: None,
    };
    if against_forward
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
    c
}

/// Every node in training mode at `size`, and the number of auxiliary outputs `forward`
/// returns against the graph's.
fn train_check(model: &Model, size: (i64, i64), batch: i64) -> SizeCheck {
    let graph = model.graph();
    let x = random_input(graph, size, batch);
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
    SizeCheck {
        size,
        batch,
        train: true,
        layers: compare(graph, &outs, size, batch),
        failure,
        aux_outputs: Some((aux_real, aux_graph)),
    }
}

/// E402 for parameter and buffer totals, each (VarStore, derive), that differ.
fn count_diagnostics(g: &Graph, params: (i64, i64), buffers: (i64, i64)) -> Vec<Diagnostic> {
    let loc = g.nodes.first().map(|n| n.loc).unwrap_or_default();
    let differ = |(held, counted): (i64, i64), what: &str| {
        (held != counted).then(|| {
            Diagnostic::new(
                Severity::Error,
                COUNT,
                loc,
                format!(
                    "the varstore holds {} {what}, derive counts {}",
                    thousands(held),
                    thousands(counted)
                ),
            )
            .values(thousands(held), thousands(counted))
        })
    };
    [
        differ(params, "parameters"),
        differ(buffers, "buffers (batch norm running statistics)"),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// [`verify`] at [`default_sizes`], the sizes left out listed first in `skipped`.
pub fn verify_default(graph: &Graph, batch: i64) -> Result<Report, VerifyError> {
    let (sizes, skipped) = default_sizes(graph);
    let mut r = verify(graph, &sizes, batch)?;
    r.skipped.splice(0..0, skipped);
    Ok(r)
}
