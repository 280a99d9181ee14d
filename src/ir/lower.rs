//! From a spec (and a variant) to the graph: each row's template is expanded with the row's
//! cells, conv layers become conv → batch norm → ReLU as the conventions say, and every node
//! gets its symbolic shape as it is added.

mod models;
mod rows;
mod sequential;
mod steps;

pub use rows::row_output_from;
use rows::template_of;

use std::borrow::Cow;

use indexmap::IndexMap;

use super::eval::{Ctx, Val};
use super::{ConcatMismatch, Constraint, Conv, Graph, Node, NodeId, Op, Output, Pad, Place, Pool, PoolKind, RowSpan};
use crate::shape::{Shape, ShapeError, WindowRounding};
use crate::spec::template::{LayerDecl, LayerOp, Lit, TemplateBody};
use crate::spec::{CeilRule, Cell, ConvUnit, Conventions, Loc, Padding, Rounding, Spec, SpecError, Template};

/// Choices made on the command line.
#[derive(Debug, Clone, Default)]
pub struct LowerOptions {
    pub variant: Option<String>,
    pub classes: Option<u64>,
    /// Leave out auxiliary heads.
    pub no_aux: bool,
    /// Override the reference input size.
    pub input: Option<(u64, u64)>,
    /// Replace cells of rows (row, column, new cell or None to empty it): used to explore
    /// another reading of an ambiguous cell.
    pub cell_overrides: Vec<(usize, String, Option<Cell>)>,
    /// Rows read with their stride-1 windows padded to keep the grid (`half`), whatever the
    /// templates say: the other reading of a table that leaves a padding unmarked.
    pub padded_rows: Vec<usize>,
    /// The architecture column to build, in a table of architectures (default: the
    /// variant's, or the first).
    pub model: Option<String>,
}

/// Bounds on what a spec may make the library build. A separate argument rather than a
/// field of [`LowerOptions`], so that callers that spell out every option keep compiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most nodes the lowered graph may have. The graph grows as rows × template
    /// layers, and aliases let a few kilobytes of YAML ask for millions of layers; the
    /// default is ten times the 10,000-row benchmark's ~100,000 nodes.
    pub max_nodes: usize,
}

impl Limits {
    pub const DEFAULT_MAX_NODES: usize = 1_000_000;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_nodes: Self::DEFAULT_MAX_NODES,
        }
    }
}

struct Builder<'a> {
    spec: &'a Spec,
    /// The most nodes the graph may get, and the row being lowered (to name it when the
    /// limit is reached) with the node count before it.
    max_nodes: usize,
    row: Option<(usize, usize)>,
    /// Per template name, the most nodes one row built with it can add.
    row_bounds: std::collections::HashMap<&'a str, usize>,
    conv: Conventions,
    nodes: Vec<Node>,
    constraints: Vec<Constraint>,
    mismatches: Vec<ConcatMismatch>,
    reference: (i64, i64),
    variant: Option<&'a crate::spec::Variant>,
    templates: &'a IndexMap<String, Template>,
    /// [`LowerOptions::padded_rows`].
    padded_rows: &'a [usize],
    /// Every node, by name, to refuse a second layer of the same name: the table holds ids
    /// and compares against `nodes[id].name`, so no name is copied to be a key.
    names: hashbrown::HashTable<NodeId>,
    /// Steps visited and template uses open (see `steps.rs`).
    visits: usize,
    depth: usize,
    /// Rows numbered as `torch.nn.Sequential` (`sequential: true`).
    numbering: sequential::Numbering,
}

/// A fixed hasher: the table is only probed, never iterated, so no output depends on it.
fn name_hash(name: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::default().hash_one(name)
}

/// The most nodes one list of layers can lower to: a conv is conv, batch norm and ReLU (a
/// separable one has two convs), a linear may flatten first.
fn layers_bound(ls: &[LayerDecl]) -> usize {
    ls.iter()
        .map(|l| match l.op {
            LayerOp::Conv => 3,
            LayerOp::SeparableConv => 4,
            LayerOp::Linear => 3,
            _ => 1,
        })
        .fold(0usize, usize::saturating_add)
}

fn template_bound(t: &Template) -> usize {
    match &t.body {
        TemplateBody::Layers(ls) => layers_bound(ls),
        TemplateBody::Branches(bs) => bs
            .iter()
            .map(|b| layers_bound(&b.layers))
            .fold(1usize, usize::saturating_add),
        TemplateBody::Steps(s) => steps::steps_bound(s),
    }
}

/// A count from the spec or the command line as the graph's i64, refused where it does not
/// fit (it was clamped to i64::MAX before, silently).
fn to_i64(x: u64, file: &str, loc: Loc, what: &str) -> Result<i64, SpecError> {
    i64::try_from(x).map_err(|_| {
        SpecError::new(
            file,
            loc,
            format!("{what} is {x}, expected at most {} (63 bits)", i64::MAX),
        )
        .coded(crate::diag::code::LIMIT)
    })
}

impl<'a> Builder<'a> {
    /// The graph reached `max_nodes`: name the row (or the head) that takes it past, and
    /// the size the whole table would make, counting each remaining row's template at its
    /// most nodes (exact for templates without `if`).
    fn over_limit(&mut self, loc: Loc) -> SpecError {
        let limit = self.max_nodes;
        let (loc, what, would) = match self.row {
            Some((i, before)) => {
                let mut would = before;
                for j in i..self.spec.rows.len() {
                    would = would.saturating_add(self.row_bound(j));
                }
                (
                    self.spec.rows[i].loc,
                    format!("row {}", crate::quote::quote(&self.spec.rows[i].label)),
                    would,
                )
            }
            None => (loc, "the layers after the last row".to_string(), self.nodes.len() + 1),
        };
        self.err(
            loc,
            format!(
                "{what} would make the graph {} nodes, over the limit of {} (raise it with --max-nodes)",
                crate::report::thousands(i64::try_from(would.max(limit + 1)).unwrap_or(i64::MAX)),
                crate::report::thousands(i64::try_from(limit).unwrap_or(i64::MAX)),
            ),
        )
        .coded(crate::diag::code::LIMIT)
    }

    /// The most nodes row `j` can add, from its template under the variant.
    fn row_bound(&mut self, j: usize) -> usize {
        let row = &self.spec.rows[j];
        let variant = self.variant;
        let name: &'a str = variant
            .and_then(|v| v.rows.get(&j))
            .and_then(|o| o.template.as_deref())
            .unwrap_or_else(|| template_of(row, &self.spec.templates));
        let extra = variant
            .and_then(|v| v.rows.get(&j))
            .map_or(0, |o| layers_bound(&o.insert_after));
        let templates = self.templates;
        let bound = *self
            .row_bounds
            .entry(name)
            .or_insert_with(|| templates.get(name).map_or(0, template_bound));
        bound.saturating_add(extra)
    }

    /// A layer that cannot apply (E009).
    fn err(&self, loc: Loc, m: impl Into<String>) -> SpecError {
        SpecError::new(self.spec.file.clone(), loc, m).coded(crate::diag::code::LAYER)
    }

    /// Adds a node and infers its shape.
    fn add(
        &mut self,
        name: String,
        op: Op,
        inputs: Vec<NodeId>,
        place: &Place,
        weight_layer: bool,
        loc: Loc,
    ) -> Result<NodeId, SpecError> {
        if self.nodes.len() >= self.max_nodes {
            return Err(self.over_limit(loc));
        }
        let name = self
            .numbering
            .rename(name, matches!(op, Op::Concat | Op::Add | Op::Mul));
        let hash = name_hash(&name);
        if let Some(first) = self.names.find(hash, |&id| self.nodes[id].name == name) {
            return Err(self.err(
                loc,
                format!(
                    "two layers are named {name} (the first comes from line {})",
                    self.nodes[*first].loc.line,
                    name = crate::quote::quote(&name)
                ),
            ));
        }
        // Most layers have one input: their shape goes in an array, not a fresh Vec.
        let (one, many): ([Shape; 1], Vec<Shape>);
        let shapes: &[Shape] = match inputs.as_slice() {
            [] => &[],
            [i] => {
                one = [self.nodes[*i].shape];
                &one
            }
            _ => {
                many = inputs.iter().map(|i| self.nodes[*i].shape).collect();
                &many
            }
        };
        let (shape, reqs) = super::infer(&op, shapes, self.reference).map_err(|e| match e {
            ShapeError::Overflow => self.err(
                loc,
                format!("{name}: arithmetic overflow in its shape; are the sizes realistic?"),
            ),
            ShapeError::Message(m) => self.err(loc, format!("{name}: {m}")),
        })?;
        let id = self.nodes.len();
        if matches!(op, Op::Concat | Op::Add) {
            let spatial = |s: &Shape| match s {
                Shape::Map { h, w, .. } => Some((*h, *w)),
                Shape::Flat { .. } => None,
            };
            if shapes.iter().any(|s| spatial(s).is_none()) {
                return Err(self.err(
                    loc,
                    format!("{name}: merges a vector; every branch must end in a C×H×W map"),
                ));
            }
            if shapes.windows(2).any(|p| spatial(&p[0]) != spatial(&p[1])) {
                self.mismatches.push(ConcatMismatch {
                    node: id,
                    branches: inputs.clone(),
                    verb: if matches!(op, Op::Add) { "adds" } else { "concatenates" },
                });
            }
        }
        if shape.channels() <= 0 {
            return Err(self.err(loc, format!("{name}: produces {} channels", shape.channels())));
        }
        for r in reqs {
            self.constraints.push(Constraint {
                node: id,
                requirement: r,
            });
        }
        let nodes = &self.nodes;
        self.names.insert_unique(hash, id, |&n| name_hash(&nodes[n].name));
        self.nodes.push(Node {
            name,
            op,
            inputs,
            place: place.clone(),
            weight_layer,
            loc,
            shape,
            unit_of: None,
        });
        Ok(id)
    }

    fn pad(
        &self,
        ctx: &Ctx<'_>,
        l: &LayerDecl,
        kernel: (i64, i64),
        stride: (i64, i64),
        default: Pad,
    ) -> Result<Pad, SpecError> {
        if stride == (1, 1) && self.row.is_some_and(|(i, _)| self.padded_rows.contains(&i)) {
            return Ok(Pad::Explicit((kernel.0 - 1) / 2, (kernel.1 - 1) / 2));
        }
        let Some(a) = l.args.get("pad") else { return Ok(default) };
        Ok(match ctx.arg(a)? {
            None => default,
            Some(Val::Int(p)) if p >= 0 => Pad::Explicit(p, p),
            Some(Val::Pair(a, b)) if a >= 0 && b >= 0 => Pad::Explicit(a, b),
            Some(Val::Word(w)) if w == "same" => Pad::Same,
            Some(Val::Word(w)) if w == "valid" => Pad::Explicit(0, 0),
            Some(Val::Word(w)) if w == "half" => Pad::Explicit((kernel.0 - 1) / 2, (kernel.1 - 1) / 2),
            Some(v) => {
                return Err(ctx.err(
                    a.loc,
                    format!(
                        "{} gives pad the value {v}, expected a non-negative integer, [h, w], same, valid or half",
                        ctx.what
                    ),
                ));
            }
        })
    }

    fn flag(&self, ctx: &Ctx<'_>, l: &LayerDecl, name: &str, default: bool) -> Result<bool, SpecError> {
        let Some(a) = l.args.get(name) else { return Ok(default) };
        match ctx.arg(a)? {
            None => Ok(default),
            Some(Val::Bool(b)) => Ok(b),
            Some(v) => Err(ctx.err(a.loc, format!("{name} is {v}, expected true or false"))),
        }
    }

    fn rounding(&self, ctx: &Ctx<'_>, l: &LayerDecl) -> Result<WindowRounding, SpecError> {
        let ceil = match self.conv.ceil_rule {
            CeilRule::Pytorch => WindowRounding::CeilPytorch,
            CeilRule::Caffe => WindowRounding::CeilCaffe,
        };
        let default = match self.conv.pool_rounding {
            Rounding::Floor => WindowRounding::Floor,
            Rounding::Ceil => ceil,
        };
        let Some(a) = l.args.get("rounding") else {
            return Ok(default);
        };
        match ctx.arg(a)? {
            None => Ok(default),
            Some(Val::Word(w)) if w == "floor" => Ok(WindowRounding::Floor),
            Some(Val::Word(w)) if w == "ceil" => Ok(ceil),
            Some(v) => Err(ctx.err(a.loc, format!("rounding is {v}, expected floor or ceil"))),
        }
    }

    /// Lowers one template layer; returns the node that ends it.
    fn layer(
        &mut self,
        ctx: &Ctx<'_>,
        l: &LayerDecl,
        input: NodeId,
        name: String,
        place: &Place,
    ) -> Result<NodeId, SpecError> {
        let op_name = l.op.stem();
        let conv_pad = |k: (i64, i64)| match self.conv.padding {
            Padding::Same => Pad::Same,
            Padding::Half => Pad::Explicit((k.0 - 1) / 2, (k.1 - 1) / 2),
        };
        match l.op {
            LayerOp::Conv | LayerOp::SeparableConv => {
                let out = ctx.positive(l, "out", "conv", None)?;
                let kernel = ctx.pair(l, "kernel", "conv", None)?;
                let stride = ctx.pair(l, "stride", "conv", Some((1, 1)))?;
                // Padding by the extent the dilated kernel covers (`half` keeps the size).
                let super::args::Dilation { dilation, extent } = super::args::dilation(ctx, l, op_name, kernel)?;
                let pad = self.pad(ctx, l, extent, stride, conv_pad(extent))?;
                let bias = self.flag(ctx, l, "bias", self.conv.conv_bias)?;
                let bn = self.flag(ctx, l, "bn", self.conv.batch_norm.is_some())?;
                let act = super::args::activation(ctx, l, op_name, Some(crate::ir::Activation::Relu))?;
                // The batch norm's own name, beside the conv: `bn1` beside `conv1`.
                let bn_name = match l.args.get("bn_name") {
                    None => None,
                    Some(a) => match ctx.arg(a)? {
                        Some(Val::Word(w)) if !w.is_empty() && !w.contains('.') => Some(w),
                        Some(Val::Int(i)) if i >= 0 => Some(i.to_string()),
                        v => {
                            return Err(ctx.err(
                                a.loc,
                                format!(
                                    "bn_name is {}, expected a name without '.'",
                                    v.map_or("empty".to_string(), |v| v.to_string())
                                ),
                            ));
                        }
                    },
                };
                let act_word = act.map_or("relu", |a| a.word());
                let unit = if l.op == LayerOp::SeparableConv {
                    // The depthwise and pointwise convs already sit under the layer's name.
                    unit_names(ConvUnit::Nested, &name, bn_name.as_deref(), act_word)
                } else {
                    unit_names(self.conv.conv_unit, &name, bn_name.as_deref(), act_word)
                };
                let mut cur = input;
                let mut conv_node = None;
                if l.op == LayerOp::SeparableConv {
                    let mult = ctx.positive(l, "multiplier", "separable_conv", None)?;
                    let cin = self.nodes[input].shape.channels();
                    let dw_out = cin
                        .checked_mul(mult)
                        .ok_or_else(|| self.err(l.loc, "depth multiplier overflows"))?;
                    let dw = Conv {
                        out: dw_out,
                        kernel,
                        stride,
                        pad,
                        groups: cin,
                        bias: false,
                        dilation,
                    };
                    cur = self.add(
                        format!("{name}.depthwise"),
                        Op::Conv(dw),
                        vec![cur],
                        place,
                        false,
                        l.loc,
                    )?;
                    let pw = Conv {
                        out,
                        kernel: (1, 1),
                        stride: (1, 1),
                        pad: Pad::Explicit(0, 0),
                        groups: 1,
                        bias,
                        dilation: (1, 1),
                    };
                    cur = self.add(format!("{name}.pointwise"), Op::Conv(pw), vec![cur], place, true, l.loc)?;
                } else {
                    let groups = ctx.positive(l, "groups", "conv", Some(1))?;
                    let c = Conv {
                        out,
                        kernel,
                        stride,
                        pad,
                        groups,
                        bias,
                        dilation,
                    };
                    cur = self.add(unit.conv, Op::Conv(c), vec![cur], place, true, l.loc)?;
                    conv_node = Some(cur);
                }
                if bn {
                    let b = self.conv.batch_norm.unwrap_or(crate::spec::BatchNorm {
                        eps: 1e-5,
                        momentum: 0.1,
                        scale: true,
                    });
                    cur = self.add(
                        unit.bn,
                        Op::BatchNorm {
                            eps: b.eps,
                            momentum: b.momentum,
                            scale: b.scale,
                        },
                        vec![cur],
                        place,
                        false,
                        l.loc,
                    )?;
                    self.nodes[cur].unit_of = conv_node;
                }
                if let Some(a) = act {
                    let op = super::args::activation_op(a);
                    cur = self.add(unit.act, op, vec![cur], place, false, l.loc)?;
                    self.nodes[cur].unit_of = conv_node;
                }
                Ok(cur)
            }
            LayerOp::MaxPool | LayerOp::AvgPool | LayerOp::Pool => {
                let kind = match l.op {
                    LayerOp::MaxPool => PoolKind::Max,
                    LayerOp::AvgPool => PoolKind::Avg,
                    _ => match ctx.required(&l.args, "kind", "pool")? {
                        Val::Word(w) if w == "max" => PoolKind::Max,
                        Val::Word(w) if w == "avg" || w == "average" => PoolKind::Avg,
                        v => return Err(ctx.err(l.args["kind"].loc, format!("pool kind is {v}, expected max or avg"))),
                    },
                };
                let kernel = ctx.pair(l, "kernel", op_name, None)?;
                let stride = ctx.pair(l, "stride", op_name, Some((1, 1)))?;
                let default_pad = match self.conv.padding {
                    Padding::Same => Pad::Same,
                    Padding::Half => Pad::Explicit(0, 0),
                };
                let pad = self.pad(ctx, l, kernel, stride, default_pad)?;
                let rounding = self.rounding(ctx, l)?;
                let count_include_pad = self.flag(ctx, l, "count_include_pad", self.conv.count_include_pad)?;
                let p = Pool {
                    kind,
                    kernel,
                    stride,
                    pad,
                    rounding,
                    count_include_pad,
                };
                self.add(name, Op::Pool(p), vec![input], place, false, l.loc)
            }
            LayerOp::GlobalAvgPool => self.add(
                name,
                Op::AdaptiveAvgPool { size: (1, 1) },
                vec![input],
                place,
                false,
                l.loc,
            ),
            LayerOp::AdaptiveAvgPool => {
                let size = ctx.pair(l, "size", "adaptive_avg_pool", None)?;
                self.add(name, Op::AdaptiveAvgPool { size }, vec![input], place, false, l.loc)
            }
            LayerOp::Flatten => self.add(name, Op::Flatten, vec![input], place, false, l.loc),
            LayerOp::Linear => {
                let out = ctx.positive(l, "out", "linear", None)?;
                let bias = self.flag(ctx, l, "bias", true)?;
                let act = super::args::activation(ctx, l, "linear", None)?;
                // A linear on a map flattens it first, as the papers' tables imply.
                let mut cur = input;
                if matches!(self.nodes[cur].shape, Shape::Map { .. }) {
                    cur = self.add(format!("{name}_flatten"), Op::Flatten, vec![cur], place, false, l.loc)?;
                }
                let fc = self.add(name.clone(), Op::Linear { out, bias }, vec![cur], place, true, l.loc)?;
                match act {
                    Some(a) => {
                        let op = super::args::activation_op(a);
                        self.add(format!("{name}.{}", a.word()), op, vec![fc], place, false, l.loc)
                    }
                    None => Ok(fc),
                }
            }
            LayerOp::Dropout => {
                let a = &l.args["p"];
                let p = match ctx.required(&l.args, "p", "dropout")? {
                    Val::Float(p) => p,
                    Val::Int(p) => p as f64,
                    v => return Err(ctx.err(a.loc, format!("dropout p is {v}, expected a probability"))),
                };
                if !(0.0..1.0).contains(&p) {
                    return Err(ctx.err(a.loc, format!("dropout p is {p}, expected a probability in [0, 1)")));
                }
                self.add(name, Op::Dropout { p }, vec![input], place, false, l.loc)
            }
            LayerOp::Relu => self.add(name, Op::Relu, vec![input], place, false, l.loc),
            LayerOp::Softmax => self.add(name, Op::Softmax, vec![input], place, false, l.loc),
            LayerOp::Activation(a) => self.add(name, super::args::activation_op(a), vec![input], place, false, l.loc),
            LayerOp::Lrn => {
                let op = super::args::lrn(ctx, l)?;
                self.add(name, op, vec![input], place, false, l.loc)
            }
            LayerOp::GlobalPool => {
                let op = super::args::global_pool(ctx, l)?;
                self.add(name, op, vec![input], place, false, l.loc)
            }
            LayerOp::BatchNorm => {
                let op = super::args::batch_norm(ctx, l, self.conv.batch_norm)?;
                self.add(name, op, vec![input], place, false, l.loc)
            }
            LayerOp::ChannelMean => {
                let op = Op::GlobalPool {
                    kind: PoolKind::Avg,
                    keep_dims: true,
                };
                self.add(name, op, vec![input], place, false, l.loc)
            }
        }
    }

    /// Lowers a list of layers in a scope; names are the layer's own or its kind numbered
    /// by declared position (conv1, conv2), so they stay stable when a layer is absent.
    fn layers(
        &mut self,
        ctx: &Ctx<'_>,
        ls: &[LayerDecl],
        input: NodeId,
        scope: &str,
        place: &Place,
    ) -> Result<NodeId, SpecError> {
        let mut cur = input;
        let mut seen: IndexMap<&str, usize> = IndexMap::new();
        // Unnamed layers per stem, counted once: counting them again for every layer was
        // quadratic in the list (a 100-layer list, aliased 100 times a row, took seconds).
        let mut totals: IndexMap<&str, usize> = IndexMap::new();
        for x in ls.iter().filter(|x| x.name.is_none()) {
            *totals.entry(x.op.stem()).or_insert(0) += 1;
        }
        for l in ls {
            let stem = l.op.stem();
            let total = totals.get(stem).copied().unwrap_or(0);
            let local = match &l.name {
                Some(n) => n.clone(),
                None => {
                    let k = seen.entry(stem).or_insert(0);
                    *k += 1;
                    if total > 1 {
                        format!("{stem}{k}")
                    } else {
                        stem.to_string()
                    }
                }
            };
            self.set_input(ctx, cur);
            if let Some(c) = &l.cond
                && !ctx.holds(c)?
            {
                continue;
            }
            let name = join_path(scope, &local);
            if name.is_empty() {
                return Err(self.err(
                    l.loc,
                    "a layer named \"\" takes its scope's path, but it is at the top level, expected a name",
                ));
            }
            cur = self.layer(ctx, l, cur, name, place)?;
        }
        Ok(cur)
    }

    fn template(
        &mut self,
        ctx: &Ctx<'_>,
        t: &Template,
        input: NodeId,
        row: usize,
        prefix: &str,
    ) -> Result<NodeId, SpecError> {
        match &t.body {
            TemplateBody::Layers(ls) => self.layers(ctx, ls, input, prefix, &Place::Row { row, branch: None }),
            TemplateBody::Steps(s) => self.steps(ctx, s, input, prefix, &Place::Row { row, branch: None }),
            TemplateBody::Branches(bs) => {
                let mut ends = Vec::new();
                for b in bs {
                    self.set_input(ctx, input);
                    if let Some(c) = &b.cond
                        && !ctx.holds(c)?
                    {
                        continue;
                    }
                    let place = Place::Row {
                        row,
                        branch: Some(b.name.as_str().into()),
                    };
                    ends.push(self.layers(ctx, &b.layers, input, &join_path(prefix, &b.name), &place)?);
                }
                if ends.is_empty() {
                    return Err(self.err(
                        self.spec.rows[row].loc,
                        format!(
                            "{}: every branch of template {} (line {}) is absent, expected at least one",
                            ctx.what,
                            crate::quote::quote(&t.name),
                            t.loc.line
                        ),
                    ));
                }
                self.add(
                    join_path(prefix, "concat"),
                    Op::Concat,
                    ends,
                    &Place::Row { row, branch: None },
                    false,
                    t.loc,
                )
            }
        }
    }
}

/// `scope.local`, or either alone where the other is empty.
fn join_path(scope: &str, local: &str) -> String {
    match (scope.is_empty(), local.is_empty()) {
        (true, _) => local.to_string(),
        (_, true) => scope.to_string(),
        _ => format!("{scope}.{local}"),
    }
}

/// The node names of one conv layer named `name`.
struct UnitNames {
    conv: String,
    bn: String,
    act: String,
}

/// Names of a conv layer's conv, batch norm and activation (`act`, its word: `relu`) under
/// `layout`; `bn` is the batch norm's own name (`bn_name`) where the layer gives one, beside
/// the conv. Flat puts all three beside each other (`conv1`, `bn1`; or `conv1_bn`,
/// `conv1_relu`), so that no module holding parameters holds another module.
fn unit_names(layout: ConvUnit, name: &str, bn: Option<&str>, act: &str) -> UnitNames {
    match layout {
        ConvUnit::Nested => UnitNames {
            conv: format!("{name}.conv"),
            bn: format!("{name}.{}", bn.unwrap_or("bn")),
            act: format!("{name}.{act}"),
        },
        ConvUnit::Flat => {
            let (parent, last) = name.rsplit_once('.').unwrap_or(("", name));
            UnitNames {
                conv: name.to_string(),
                bn: join_path(parent, &bn.map_or_else(|| format!("{last}_bn"), str::to_string)),
                act: join_path(parent, &format!("{last}_{act}")),
            }
        }
    }
}

/// Builds the graph of `spec` under the options' variant, within the default [`Limits`].
pub fn lower(spec: &Spec, opts: &LowerOptions) -> Result<Graph, SpecError> {
    lower_within(spec, opts, &Limits::default())
}

/// The options' class count, refused where it does not fit the graph's integers.
fn classes_of(spec: &Spec, opts: &LowerOptions) -> Result<i64, SpecError> {
    match opts.classes {
        Some(k) => to_i64(k, &spec.file, Loc::default(), "--classes"),
        None => to_i64(spec.classes, &spec.file, Loc::default(), "classes"),
    }
}

/// Builds the graph of `spec` under the options' variant; refuses a graph over `limits`.
pub fn lower_within(spec: &Spec, opts: &LowerOptions, limits: &Limits) -> Result<Graph, SpecError> {
    let variant = match &opts.variant {
        None => None,
        Some(v) => Some(spec.variants.get(v).ok_or_else(|| {
            SpecError::new(
                spec.file.clone(),
                Loc::default(),
                format!(
                    "unknown variant {v}, the spec defines: {}{}",
                    if spec.variants.is_empty() {
                        "none".to_string()
                    } else {
                        spec.variants.keys().cloned().collect::<Vec<_>>().join(", ")
                    },
                    crate::suggest::did_you_mean(v, spec.variants.keys().map(String::as_str)),
                    v = crate::quote::quote(&v)
                ),
            )
            .coded(crate::diag::code::UNKNOWN_NAME)
        })?),
    };
    let conventions = variant.map(|v| v.conventions).unwrap_or(spec.conventions);
    let templates = variant.map(|v| &v.templates).unwrap_or(&spec.templates);
    // A variant may read the table at another input size; --input overrides both.
    let printed = spec.printed_input(opts.variant.as_deref());
    let (h, w) = opts.input.unwrap_or((printed.height, printed.width));
    let classes = classes_of(spec, opts)?;
    let input_loc = if opts.input.is_some() {
        Loc::default()
    } else {
        printed.loc
    };
    let what = if opts.input.is_some() {
        "--input"
    } else {
        "the input size"
    };
    let reference = (
        to_i64(h, &spec.file, input_loc, what)?,
        to_i64(w, &spec.file, input_loc, what)?,
    );
    let input_channels = to_i64(
        spec.input.channels,
        &spec.file,
        spec.input.loc,
        "the input channel count",
    )?;
    let mut b = Builder {
        spec,
        max_nodes: limits.max_nodes,
        row: None,
        row_bounds: std::collections::HashMap::new(),
        conv: conventions,
        nodes: Vec::new(),
        constraints: Vec::new(),
        mismatches: Vec::new(),
        reference,
        variant,
        templates,
        padded_rows: &opts.padded_rows,
        names: hashbrown::HashTable::new(),
        visits: 0,
        depth: 0,
        numbering: Default::default(),
    };
    let model = models::model_of(spec, variant, opts)?;
    // Growing the node list by doubling copies every node and touches twice the memory; a
    // long table is allocation-bound, so reserve generously up front. Capacity that is never
    // written costs only address space (its pages are never touched), so over-estimating
    // the nodes per row is cheap. The name table gets the same estimate: growing it would
    // rehash every name so far (twice on a 10,000-row table), and it holds only ids.
    let estimate = spec
        .rows
        .len()
        .saturating_mul(16)
        .saturating_add(64)
        .min(limits.max_nodes.saturating_add(1));
    b.nodes.reserve(estimate);
    b.names = hashbrown::HashTable::with_capacity(estimate);
    let input = b.add(
        "input".into(),
        Op::Input {
            channels: input_channels,
        },
        vec![],
        &Place::Input,
        false,
        spec.input.loc,
    )?;
    let mut vars: IndexMap<String, Lit> = spec.vars.clone();
    if let Some(v) = variant {
        vars.extend(v.vars.clone());
    }
    let mut cur = input;
    let mut rows = Vec::new();
    let mut corrections = Vec::new();
    let mut changed_cells = Vec::with_capacity(spec.rows.len());
    let mut aux_roots = Vec::new();
    for (i, row) in spec.rows.iter().enumerate() {
        let over = variant.and_then(|v| v.rows.get(&i));
        let env = rows::row_env(spec, variant, &vars, opts, i);
        corrections.extend(env.corrections);
        let (cells, row_vars, tname) = (env.cells, env.vars, env.template);
        let mut ctx = Ctx::new(
            &spec.file,
            &cells,
            &row_vars,
            classes,
            format!("row {}", crate::quote::quote(&row.label)),
        );
        ctx.model = model.as_deref();
        let first = b.nodes.len();
        b.row = Some((i, first));
        let scope = over.and_then(|o| o.name.as_deref()).unwrap_or(&row.name);
        let (out, built_with) = b.row_layers(&ctx, tname, i, cur, scope)?;
        rows.push(RowSpan {
            row: i,
            input: cur,
            output: out,
            first,
            end: b.nodes.len(),
            template: built_with,
        });
        cur = out;
        if let Some(o) = over
            && !o.insert_after.is_empty()
        {
            let mut ctx = Ctx::new(
                &spec.file,
                &cells,
                &row_vars,
                classes,
                format!("the layers after {}", crate::quote::quote(&row.label)),
            );
            ctx.model = model.as_deref();
            cur = b.layers(
                &ctx,
                &o.insert_after,
                cur,
                &format!("{}_after", row.name),
                &Place::After { row: i },
            )?;
        }
        // Only a changed row keeps its own copy; `Graph::row_cells` reads the rest from the spec.
        changed_cells.push(match cells {
            Cow::Borrowed(_) => None,
            Cow::Owned(c) => Some(c),
        });
        if !opts.no_aux {
            let heads = variant.map(|v| &v.aux_heads).unwrap_or(&spec.aux_heads);
            for h in heads.iter().filter(|h| h.after == i) {
                let root = match &h.at {
                    None => out,
                    // A node of this row, by its full name: the row's nodes are the last added.
                    Some((at, loc)) => match (first..b.nodes.len()).find(|&n| b.nodes[n].name == *at) {
                        Some(n) => n,
                        None => {
                            return Err(SpecError::new(
                                &spec.file,
                                *loc,
                                format!(
                                    "auxiliary head {} reads {}, which row {} does not build",
                                    crate::quote::quote(&h.name),
                                    crate::quote::quote(at),
                                    crate::quote::quote(&row.label)
                                ),
                            )
                            .coded(crate::diag::code::UNKNOWN_NAME));
                        }
                    },
                };
                aux_roots.push((h, root));
            }
        }
    }
    b.row = None;
    let empty = IndexMap::new();
    let head = variant.and_then(|v| v.head.as_ref()).unwrap_or(&spec.head);
    let mut ctx = Ctx::new(&spec.file, &empty, &vars, classes, "the head".into());
    ctx.model = model.as_deref();
    cur = b.layers(&ctx, head, cur, "", &Place::Head)?;
    let mut outputs = vec![Output {
        name: "logits".into(),
        node: cur,
        aux: false,
    }];
    for (h, root) in aux_roots {
        let mut ctx = Ctx::new(
            &spec.file,
            &empty,
            &vars,
            classes,
            format!("auxiliary head {}", crate::quote::quote(&h.name)),
        );
        ctx.model = model.as_deref();
        let end = b.layers(&ctx, &h.layers, root, &h.name, &Place::Aux { head: h.name.clone() })?;
        outputs.push(Output {
            name: h.name.clone(),
            node: end,
            aux: true,
        });
    }
    Ok(Graph {
        nodes: b.nodes,
        rows,
        outputs,
        reference: b.reference,
        input_channels,
        classes,
        variant: opts.variant.clone(),
        model,
        corrections,
        constraints: b.constraints,
        concat_mismatches: b.mismatches,
        changed_cells,
    })
}
