//! `archcheck emit --pytorch`: the graph as a self-contained PyTorch source file, an
//! `nn.Module` that needs nothing but `torch` and `math`.
//!
//! Parameter and buffer names are the graph's node names: a conv node
//! `inception_4c.double_3x3.conv2` owns `inception_4c.double_3x3.conv2.weight`, its batch
//! norm `inception_4c.double_3x3.conv2.bn.{weight,bias,running_mean,running_var,
//! num_batches_tracked}`, so a state_dict moves between this module and archcheck's tch
//! model unchanged. Python attributes cannot hold dots, so the layers form a tree of
//! modules whose keys are the dotted components (`1x1` included), stored straight in
//! `_modules` so that no component can clash with an `nn.Module` attribute; a layer can hold
//! both its own parameters and children (the conv and its `bn`). `forward` reaches a layer
//! by its node name, `self.node("inception_3a.1x1.conv")`.
//!
//! Conventions of the generated code, which the tch model shares: which op and which
//! padding at which input size is [`crate::ir::plan`]'s, for both; the code that pads at run
//! time is `emit/helpers.py`, which Python tests against the plan (`tests/emit_helpers.rs`):
//! - TF SAME padding: total = max((ceil(in/s) - 1)·s + k - in, 0) per axis, the odd pixel
//!   at the bottom/right, computed from the actual input at forward time (`F.pad`, then a
//!   conv or pool without padding). Where it is the same for every input and symmetric
//!   (stride 1, odd kernel) it is the layer's own padding. A SAME max pool pads with -inf;
//!   a SAME average pool leaves the padding out of each window's count, as TF does, whatever
//!   `count_include_pad` says (like the window rounding, it does not apply to SAME).
//! - Caffe's ceil rule: ceil mode, plus, on an axis without padding, the last window that
//!   PyTorch drops because it starts past the input. It can differ only where kernel <
//!   stride; there the pool's output is extended to Caffe's size with the values Caffe gives
//!   such an empty window: -FLT_MAX for a max pool, 0 for an average pool (Caffe divides 0
//!   by a window size that is 0 or negative there).
//! - Batch norm without a learned scale (`scale: false`, TF-slim): `nn.BatchNorm2d` whose
//!   `weight` is unregistered (`None`, which `F.batch_norm` reads as 1): the parameters are
//!   `bias` only and the buffers the usual three, as `Op::params` counts.
//! - Text from the spec or the caller (title, file name, variant, node and output names,
//!   class name) reaches the source only through [`python`]: escaped in comments, ASCII
//!   string literals and docstrings, identifiers of ASCII words that hide no name the
//!   module uses; the file's first line fixes its encoding.
//! - Auxiliary heads are built when `aux_logits` is true and run only in training mode,
//!   where `forward` returns `(logits, aux, ...)` in the graph's output order; in eval mode
//!   it returns the logits alone. The classifier layers that produce the class count take
//!   `num_classes`.

pub mod python;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

use self::python::{comment, comment_lines, docstring_text, identifier, string_literal};
use crate::ir::plan::{Scheme, conv_scheme, pool_scheme};
use crate::ir::{Activation, Graph, NodeId, Op, Place, Pool, PoolKind};
use crate::shape::{Dim, Shape};

/// A class name for a spec and variant: `googlenet_bn` + `caffe` → `GooglenetBnCaffe`.
pub fn class_name(spec_name: &str, variant: Option<&str>) -> String {
    let mut out = String::new();
    for part in [Some(spec_name), variant].into_iter().flatten() {
        for word in part.split(|c: char| !c.is_ascii_alphanumeric()) {
            let mut cs = word.chars();
            if let Some(f) = cs.next() {
                out.push(f.to_ascii_uppercase());
                out.extend(cs);
            }
        }
    }
    identifier(&out, "Net", MODULE_GLOBALS)
}

/// A self-contained PyTorch nn.Module source file for the graph.
///
/// `class_name` is made a valid Python identifier if it is not one (nor a name the module
/// uses itself); `title` goes into the header comment and the class docstring. Every text
/// from the graph or the caller reaches the source through [`python`]'s escaping, so no
/// title, file name or layer name can end a comment or a string early.
pub fn pytorch_module(graph: &Graph, class_name: &str, title: &str) -> String {
    Emitter::new(graph).file(&identifier(class_name, "Net", MODULE_GLOBALS), title)
}

/// The module-level names of a generated file (imports, helpers, `build`, the `__main__`
/// block's): a class of the same name would replace one of them.
const MODULE_GLOBALS: &[&str] = &[
    "math",
    "torch",
    "nn",
    "F",
    "Scope",
    "_put",
    "_same_pads",
    "_same_pad",
    "_same_avg_pool2d",
    "_caffe_ceil",
    "_without_scale",
    "build",
    "model",
    "params",
    "x",
    "y",
    "ys",
    "names",
    "shapes",
];

/// A float as Python reads it back exactly (`0.001`, `1e-5`, `0.0`; `math.inf`, `math.nan`,
/// which Rust would spell `inf` and `NaN`).
fn py_float(x: f64) -> String {
    if x.is_nan() {
        "math.nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "math.inf".into() } else { "-math.inf".into() }
    } else {
        format!("{x:?}")
    }
}

fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// `3` for a square pair, `(1, 7)` otherwise.
fn py_pair(p: (i64, i64)) -> String {
    if p.0 == p.1 {
        p.0.to_string()
    } else {
        format!("({}, {})", p.0, p.1)
    }
}

/// Always a tuple, for the helpers.
fn py_tuple(p: (i64, i64)) -> String {
    format!("({}, {})", p.0, p.1)
}

/// Which helpers the file needs.
#[derive(Default)]
struct Helpers {
    same_pad: bool,
    same_avg: bool,
    caffe_ceil: bool,
    no_scale: bool,
}

/// An entry of the forward code in order: a node, or a block of an aux head's nodes.
enum Item {
    Node(NodeId),
    Aux(Vec<NodeId>),
}

struct Emitter<'g> {
    g: &'g Graph,
    /// Nodes computed only for auxiliary outputs.
    aux_only: HashSet<NodeId>,
    /// Nodes whose channel count is the class count (the classifier and a batch norm after it).
    classes_channels: HashSet<NodeId>,
    items: Vec<Item>,
    vars: HashMap<NodeId, String>,
    helpers: Helpers,
}

fn ancestors(g: &Graph, from: NodeId, into: &mut HashSet<NodeId>) {
    let mut stack = vec![from];
    while let Some(n) = stack.pop() {
        if into.insert(n) {
            stack.extend(g.nodes[n].inputs.iter().copied());
        }
    }
}

/// A pool of variable names `x`, `x1`, `x2`, …, reused once their value is dead.
struct Names {
    stem: &'static str,
    free: BTreeSet<usize>,
    next: usize,
}

impl Names {
    fn new(stem: &'static str) -> Self {
        Names {
            stem,
            free: BTreeSet::new(),
            next: 0,
        }
    }
    fn take(&mut self) -> String {
        let i = match self.free.pop_first() {
            Some(i) => i,
            None => {
                self.next += 1;
                self.next - 1
            }
        };
        if i == 0 {
            self.stem.to_string()
        } else {
            format!("{}{i}", self.stem)
        }
    }
    fn give(&mut self, name: &str) {
        if let Some(rest) = name.strip_prefix(self.stem) {
            let i = if rest.is_empty() { Some(0) } else { rest.parse().ok() };
            if let Some(i) = i {
                self.free.insert(i);
            }
        }
    }
}

impl<'g> Emitter<'g> {
    fn new(g: &'g Graph) -> Self {
        let mut main = HashSet::new();
        ancestors(g, g.main_output(), &mut main);
        // Aux-only nodes, grouped by the first aux output that needs them.
        let mut aux_only = HashSet::new();
        let mut groups: Vec<Vec<NodeId>> = Vec::new();
        for o in g.outputs.iter().filter(|o| o.aux) {
            let mut anc = HashSet::new();
            ancestors(g, o.node, &mut anc);
            let mut group: Vec<NodeId> = anc
                .into_iter()
                .filter(|n| !main.contains(n) && !aux_only.contains(n))
                .collect();
            group.sort_unstable();
            aux_only.extend(group.iter().copied());
            if !group.is_empty() {
                groups.push(group);
            }
        }
        // Forward order: the main nodes in graph order, each aux block right after the last
        // node it reads is computed, so its input does not stay alive to the end.
        let mut items = Vec::new();
        let mut done: HashSet<NodeId> = HashSet::new();
        let mut pending: Vec<Option<Vec<NodeId>>> = groups.into_iter().map(Some).collect();
        let ready = |group: &[NodeId], done: &HashSet<NodeId>| {
            group
                .iter()
                .all(|n| g.nodes[*n].inputs.iter().all(|i| group.contains(i) || done.contains(i)))
        };
        let flush = |items: &mut Vec<Item>,
                     done: &mut HashSet<NodeId>,
                     pending: &mut Vec<Option<Vec<NodeId>>>,
                     all: bool| loop {
            let next = pending
                .iter()
                .position(|p| p.as_ref().is_some_and(|grp| all || ready(grp, done)));
            let Some(i) = next else { break };
            let group = pending[i].take().expect("pending");
            done.extend(group.iter().copied());
            items.push(Item::Aux(group));
        };
        for id in 0..g.nodes.len() {
            if aux_only.contains(&id) {
                continue;
            }
            items.push(Item::Node(id));
            done.insert(id);
            flush(&mut items, &mut done, &mut pending, false);
        }
        flush(&mut items, &mut done, &mut pending, true);

        let mut e = Emitter {
            g,
            aux_only,
            classes_channels: HashSet::new(),
            items,
            vars: HashMap::new(),
            helpers: Helpers::default(),
        };
        e.find_classifiers();
        e.allocate();
        e
    }

    /// From each output back through ops that keep the channel count to the conv or linear
    /// that makes it: where that is the class count, it takes `num_classes`.
    fn find_classifiers(&mut self) {
        let g = self.g;
        for o in &g.outputs {
            let mut cur = o.node;
            let mut between = Vec::new();
            loop {
                let n = &g.nodes[cur];
                match &n.op {
                    Op::Conv(c) if c.out == g.classes && c.groups == 1 => {
                        self.classes_channels.insert(cur);
                        self.classes_channels.extend(between.iter().copied());
                        break;
                    }
                    Op::Linear { out, .. } if *out == g.classes => {
                        self.classes_channels.insert(cur);
                        self.classes_channels.extend(between.iter().copied());
                        break;
                    }
                    Op::BatchNorm { .. }
                    | Op::Relu
                    | Op::Dropout { .. }
                    | Op::Softmax
                    | Op::Pool(_)
                    | Op::AdaptiveAvgPool { .. }
                    | Op::Activation(_)
                    | Op::Lrn { .. }
                    | Op::GlobalPool { .. } => {
                        if matches!(n.op, Op::BatchNorm { .. }) {
                            between.push(cur);
                        }
                        cur = n.inputs[0];
                    }
                    // A flatten keeps the channel count of a vector, or of a 1×1 map.
                    Op::Flatten
                        if matches!(
                            g.input_shape(cur),
                            Shape::Flat { .. }
                                | Shape::Map {
                                    h: Dim::Const(1),
                                    w: Dim::Const(1),
                                    ..
                                }
                        ) =>
                    {
                        cur = n.inputs[0];
                    }
                    _ => break,
                }
            }
        }
    }

    /// Variable names: a value's name is free again after its last use. Main values are
    /// `x, x1, …`, aux-head values `a, a1, …`, aux outputs `out_<name>`.
    fn allocate(&mut self) {
        let g = self.g;
        let order: Vec<NodeId> = self
            .items
            .iter()
            .flat_map(|it| match it {
                Item::Node(n) => vec![*n],
                Item::Aux(ns) => ns.clone(),
            })
            .collect();
        let mut last_use: HashMap<NodeId, usize> = HashMap::new();
        for (pos, n) in order.iter().enumerate() {
            for i in &g.nodes[*n].inputs {
                last_use.insert(*i, pos);
            }
        }
        let mut returned: HashMap<NodeId, String> = HashMap::new();
        let mut taken: HashSet<String> = HashSet::new();
        for o in g.outputs.iter().filter(|o| o.aux && self.aux_only.contains(&o.node)) {
            if returned.contains_key(&o.node) {
                continue;
            }
            let base = format!("out_{}", identifier(&o.name, "aux", &[]).trim_start_matches('_'));
            let mut name = base.clone();
            let mut k = 2;
            while !taken.insert(name.clone()) {
                name = format!("{base}_{k}");
                k += 1;
            }
            returned.insert(o.node, name);
        }
        let outputs: HashSet<NodeId> = g.outputs.iter().map(|o| o.node).collect();
        let mut xs = Names::new("x");
        let mut aux = Names::new("a");
        for (pos, n) in order.iter().enumerate() {
            for i in &g.nodes[*n].inputs {
                let dead = last_use.get(i) == Some(&pos) && !outputs.contains(i);
                if let (true, Some(v)) = (dead, self.vars.get(i)) {
                    xs.give(v);
                    aux.give(v);
                }
            }
            let name = match returned.get(n) {
                Some(r) => r.clone(),
                None if self.aux_only.contains(n) => aux.take(),
                None => xs.take(),
            };
            // A value nobody reads frees its name at once.
            if !last_use.contains_key(n) && !outputs.contains(n) {
                xs.give(&name);
                aux.give(&name);
            }
            self.vars.insert(*n, name);
        }
    }

    fn var(&self, id: NodeId) -> &str {
        &self.vars[&id]
    }

    fn channels_expr(&self, id: NodeId, c: i64) -> String {
        if self.classes_channels.contains(&id) {
            "num_classes".into()
        } else {
            c.to_string()
        }
    }

    /// The constructor of a node's module, if it has parameters.
    fn module(&mut self, id: NodeId) -> Option<String> {
        let g = self.g;
        let cin = g.in_channels(id);
        Some(match &g.nodes[id].op {
            Op::Conv(c) => {
                let mut s = format!(
                    "nn.Conv2d({cin}, {}, {}",
                    self.channels_expr(id, c.out),
                    py_pair(c.kernel)
                );
                if c.stride != (1, 1) {
                    let _ = write!(s, ", stride={}", py_pair(c.stride));
                }
                let pad = match conv_scheme(c) {
                    Scheme::Native { pad, .. } | Scheme::Symmetric { pad } | Scheme::CaffeFromInput { pad } => pad,
                    Scheme::SameFromInput => (0, 0),
                };
                if pad != (0, 0) {
                    let _ = write!(s, ", padding={}", py_pair(pad));
                }
                if c.dilation != (1, 1) {
                    let _ = write!(s, ", dilation={}", py_pair(c.dilation));
                }
                if c.groups != 1 {
                    let _ = write!(s, ", groups={}", c.groups);
                }
                if !c.bias {
                    s.push_str(", bias=False");
                }
                s.push(')');
                s
            }
            Op::BatchNorm { eps, momentum, scale } => {
                let kind = match g.input_shape(id) {
                    Shape::Map { .. } => "BatchNorm2d",
                    Shape::Flat { .. } => "BatchNorm1d",
                };
                let bn = format!(
                    "nn.{kind}({}, eps={}, momentum={})",
                    self.channels_expr(id, cin),
                    py_float(*eps),
                    py_float(*momentum)
                );
                if *scale {
                    bn
                } else {
                    self.helpers.no_scale = true;
                    format!("_without_scale({bn})")
                }
            }
            Op::Linear { out, bias } => {
                let mut s = format!("nn.Linear({cin}, {}", self.channels_expr(id, *out));
                if !bias {
                    s.push_str(", bias=False");
                }
                s.push(')');
                s
            }
            _ => return None,
        })
    }

    /// The expression computing a node from its inputs' variables.
    fn expr(&mut self, id: NodeId) -> String {
        let g = self.g;
        let n = &g.nodes[id];
        let call = format!("self.node({})", string_literal(&n.name));
        let x = n
            .inputs
            .first()
            .map(|i| self.var(*i).to_string())
            .unwrap_or_else(|| "x".into());
        match &n.op {
            Op::Input { .. } => "x".into(),
            Op::Conv(c) => {
                let arg = match conv_scheme(c) {
                    Scheme::SameFromInput => {
                        self.helpers.same_pad = true;
                        // SAME pads for the extent a dilated kernel covers.
                        format!(
                            "_same_pad({x}, {}, {})",
                            py_tuple(c.window_kernel()),
                            py_tuple(c.stride)
                        )
                    }
                    _ => x,
                };
                format!("{call}({arg})")
            }
            Op::BatchNorm { .. } | Op::Linear { .. } => format!("{call}({x})"),
            Op::Relu => format!("F.relu({x})"),
            Op::Pool(p) => self.pool(p, &x),
            Op::AdaptiveAvgPool { size } => format!("F.adaptive_avg_pool2d({x}, {})", py_pair(*size)),
            Op::Concat => {
                let parts: Vec<&str> = n.inputs.iter().map(|i| self.var(*i)).collect();
                format!("torch.cat([{}], 1)", parts.join(", "))
            }
            Op::Add | Op::Mul => {
                let parts: Vec<&str> = n.inputs.iter().map(|i| self.var(*i)).collect();
                parts.join(if matches!(n.op, Op::Add) { " + " } else { " * " })
            }
            Op::Flatten => format!("torch.flatten({x}, 1)"),
            Op::Dropout { p } => format!("F.dropout({x}, {}, self.training)", py_float(*p)),
            Op::Softmax => format!("F.softmax({x}, 1)"),
            Op::Activation(a) => match a {
                Activation::Sigmoid => format!("torch.sigmoid({x})"),
                other => format!("F.{}({x})", other.word()),
            },
            Op::Lrn { size, alpha, beta, k } => format!(
                "F.local_response_norm({x}, {size}, alpha={}, beta={}, k={})",
                py_float(*alpha),
                py_float(*beta),
                py_float(*k)
            ),
            Op::GlobalPool { kind, keep_dims } => {
                let f = match kind {
                    PoolKind::Max => "amax",
                    PoolKind::Avg => "mean",
                };
                if *keep_dims {
                    format!("{x}.{f}((2, 3), keepdim=True)")
                } else {
                    format!("{x}.{f}((2, 3))")
                }
            }
        }
    }

    fn pool(&mut self, p: &Pool, x: &str) -> String {
        let (k, s) = (py_pair(p.kernel), py_pair(p.stride));
        let (pad, ceil_mode) = match pool_scheme(p) {
            // SAME's padding is never counted: at stride 1 with odd kernels it is the pool's own.
            Scheme::Symmetric { pad } => {
                return match p.kind {
                    PoolKind::Max => format!("F.max_pool2d({x}, {k}, {s}, {})", py_pair(pad)),
                    PoolKind::Avg => format!("F.avg_pool2d({x}, {k}, {s}, {}, count_include_pad=False)", py_pair(pad)),
                };
            }
            Scheme::SameFromInput => {
                self.helpers.same_pad = true;
                return match p.kind {
                    PoolKind::Max => format!(
                        "F.max_pool2d(_same_pad({x}, {}, {}, -math.inf), {k}, {s})",
                        py_tuple(p.kernel),
                        py_tuple(p.stride)
                    ),
                    PoolKind::Avg => {
                        self.helpers.same_avg = true;
                        format!("_same_avg_pool2d({x}, {}, {})", py_tuple(p.kernel), py_tuple(p.stride))
                    }
                };
            }
            Scheme::Native { pad, ceil_mode } => (pad, ceil_mode),
            Scheme::CaffeFromInput { pad } => (pad, true),
        };
        let mut call = match p.kind {
            PoolKind::Max => format!("F.max_pool2d({x}, {k}, {s}"),
            PoolKind::Avg => format!("F.avg_pool2d({x}, {k}, {s}"),
        };
        if pad != (0, 0) {
            let _ = write!(call, ", {}", py_pair(pad));
        }
        if ceil_mode {
            call.push_str(", ceil_mode=True");
        }
        if p.kind == PoolKind::Avg && !p.count_include_pad {
            call.push_str(", count_include_pad=False");
        }
        call.push(')');
        if let Scheme::CaffeFromInput { pad } = pool_scheme(p) {
            self.helpers.caffe_ceil = true;
            call = format!(
                "_caffe_ceil({call}, {x}, {}, {}, {}, {})",
                py_tuple(p.kernel),
                py_tuple(p.stride),
                py_tuple(pad),
                py_bool(p.kind == PoolKind::Max)
            );
        }
        call
    }

    /// The section a node belongs to in comments: the head, an aux head, or its name's
    /// first component (the row).
    fn section(&self, id: NodeId) -> &'g str {
        let n = &self.g.nodes[id];
        match &n.place {
            Place::Head => "head",
            Place::Aux { head } => head,
            _ => n.name.split('.').next().unwrap_or(&n.name),
        }
    }

    fn forward_line(&mut self, id: NodeId, indent: &str, out: &mut String) {
        let n = &self.g.nodes[id];
        let expr = self.expr(id);
        let shape = n.shape.symbolic();
        let note = if n.op.params(self.g.in_channels(id)) > 0 {
            shape
        } else {
            format!("{}: {shape}", n.name)
        };
        let _ = writeln!(out, "{indent}{} = {expr}  # {}", self.var(id), comment(&note));
    }

    fn forward(&mut self) -> String {
        let g = self.g;
        let has_aux = self.has_aux();
        let mut out = String::new();
        let mut section = "";
        if has_aux {
            out.push_str("        aux = self.training and self.aux_logits\n");
        }
        let items = std::mem::take(&mut self.items);
        for item in &items {
            match item {
                Item::Node(id) => {
                    if matches!(g.nodes[*id].op, Op::Input { .. }) {
                        continue;
                    }
                    let s = self.section(*id);
                    if s != section {
                        section = s;
                        let _ = writeln!(out, "        # {}", comment(s));
                    }
                    self.forward_line(*id, "        ", &mut out);
                }
                Item::Aux(ids) => {
                    out.push_str("        if aux:\n");
                    let mut sub = "";
                    for id in ids {
                        let s = self.section(*id);
                        if s != sub {
                            sub = s;
                            let _ = writeln!(out, "            # {}", comment(s));
                        }
                        self.forward_line(*id, "            ", &mut out);
                    }
                }
            }
        }
        self.items = items;
        let main = self.var(g.main_output()).to_string();
        if has_aux {
            let rest: Vec<&str> = g.outputs.iter().filter(|o| o.aux).map(|o| self.var(o.node)).collect();
            let _ = writeln!(out, "        if aux:\n            return {main}, {}", rest.join(", "));
        }
        let _ = writeln!(out, "        return {main}");
        out
    }

    fn has_aux(&self) -> bool {
        self.g.outputs.iter().any(|o| o.aux)
    }

    fn init(&mut self) -> String {
        let g = self.g;
        let mut out = String::new();
        let mut in_aux = false;
        for id in 0..g.nodes.len() {
            let Some(m) = self.module(id) else { continue };
            let aux = self.aux_only.contains(&id);
            if aux && !in_aux {
                out.push_str("        if aux_logits:\n");
            }
            in_aux = aux;
            let indent = if aux { "            " } else { "        " };
            let _ = writeln!(out, "{indent}_put(self, {}, {m})", string_literal(&g.nodes[id].name));
        }
        out
    }

    /// The imports and the helper sections the module uses.
    fn helpers_text(&self) -> String {
        let h = &self.helpers;
        let used = [true, true, h.same_pad, h.same_avg, h.caffe_ceil, h.no_scale];
        let mut out = String::new();
        for (name, used) in HELPER_SECTIONS.iter().zip(used) {
            if used {
                if !out.is_empty() {
                    out.push_str("\n\n");
                }
                out.push_str(&helper_section(name));
            }
        }
        out
    }

    fn file(mut self, class: &str, title: &str) -> String {
        let g = self.g;
        let init = self.init();
        let forward = self.forward();
        let has_aux = self.has_aux();
        let mut f = String::new();
        let title_line = if title.trim().is_empty() {
            class.to_string()
        } else {
            title.trim().to_string()
        };
        f.push_str(python::CODING_LINE);
        f.push_str(&comment_lines(&title_line, ""));
        f.push_str("#\n");
        let variant = g
            .variant
            .as_deref()
            .map(|v| format!(", variant '{}'", comment(v)))
            .unwrap_or_default();
        let _ = writeln!(
            f,
            "# Generated by archcheck{variant}. Parameter and buffer names are the graph's node names"
        );
        f.push_str("# (`<node>.weight`, `<node>.bias`, `<node>.running_mean`, ...), so state_dicts are\n");
        f.push_str("# interchangeable with archcheck's own model. Needs only torch.\n\n");
        f.push_str(&self.helpers_text());
        let (h, w) = g.reference;
        let docs = docstring_text(&title_line);
        let _ = write!(
            f,
            "\n\nclass {class}(nn.Module):\n    \"\"\"{docs}\n\n    Input: N×{c}×H×W, reference {h}×{w}. forward returns the logits; in training mode with\n    aux_logits, the tuple (logits{auxs}).\n    \"\"\"\n\n",
            c = g.input_channels,
            auxs = g
                .outputs
                .iter()
                .filter(|o| o.aux)
                .map(|o| format!(", {}", docstring_text(&o.name)))
                .collect::<String>(),
        );
        let _ = writeln!(
            f,
            "    def __init__(self, num_classes={}, aux_logits={}):",
            g.classes,
            py_bool(has_aux)
        );
        f.push_str("        super().__init__()\n        self.num_classes = num_classes\n        self.aux_logits = aux_logits\n");
        f.push_str(&init);
        f.push_str(
            "\n    def node(self, name):\n        \"\"\"The layer of graph node `name` (a dotted path, as in the state_dict).\"\"\"\n        m = self\n        for part in name.split(\".\"):\n            m = m._modules[part]\n        return m\n\n",
        );
        f.push_str("    def forward(self, x):\n");
        f.push_str(&forward);
        let _ = write!(f, "\n\ndef build(**kw):\n    return {class}(**kw)\n\n");
        // The names as JSON strings, so that the line printed is JSON whatever they hold.
        let names: Vec<String> = g
            .outputs
            .iter()
            .map(|o| string_literal(&serde_json::Value::from(o.name.as_str()).to_string()))
            .collect();
        let mode = if has_aux {
            "    model.train(model.aux_logits)\n"
        } else {
            "    model.eval()\n"
        };
        let _ = write!(
            f,
            "\nif __name__ == \"__main__\":\n    model = build()\n{mode}    params = sum(p.numel() for p in model.parameters())\n    x = torch.zeros(2, {c}, {h}, {w})\n    with torch.no_grad():\n        y = model(x)\n    ys = y if isinstance(y, tuple) else (y,)\n    names = [{names}]\n    shapes = \", \".join('%s: %s' % (n, list(t.shape)) for n, t in zip(names, ys))\n    print('{{\"parameters\": %d, \"input\": %s, \"outputs\": {{%s}}}}' % (params, list(x.shape), shapes))\n",
            c = g.input_channels,
            names = names.join(", "),
        );
        f
    }
}

/// The helper code, in sections (`## NAME` lines); see the file's header.
const HELPERS_PY: &str = include_str!("emit/helpers.py");

/// The sections of [`HELPERS_PY`] a module may need, in the order they are written.
const HELPER_SECTIONS: &[&str] = &["imports", "scope", "same_pad", "same_avg", "caffe_ceil", "no_scale"];

/// A section of [`HELPERS_PY`] without its `## NAME` line and the blank lines around it,
/// ending in one newline.
fn helper_section(name: &str) -> String {
    let marker = format!("\n## {name}\n");
    let start = HELPERS_PY
        .find(&marker)
        .unwrap_or_else(|| panic!("helpers.py has no section {name}"))
        + marker.len();
    let end = HELPERS_PY[start..]
        .find("\n## ")
        .map_or(HELPERS_PY.len(), |e| start + e);
    format!("{}\n", HELPERS_PY[start..end].trim_matches('\n'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_reused_after_last_use() {
        let mut n = Names::new("x");
        assert_eq!(n.take(), "x");
        assert_eq!(n.take(), "x1");
        n.give("x");
        assert_eq!(n.take(), "x");
        assert_eq!(n.take(), "x2");
        n.give("a1");
        assert_eq!(n.take(), "x3");
    }

    #[test]
    fn helper_sections_are_the_file() {
        // Every `## NAME` line of helpers.py is a known section, in order, and none is empty.
        let names: Vec<&str> = HELPERS_PY.lines().filter_map(|l| l.strip_prefix("## ")).collect();
        assert_eq!(names, HELPER_SECTIONS);
        for name in HELPER_SECTIONS {
            let text = helper_section(name);
            assert!(!text.trim().is_empty() && !text.contains("\n## "), "{name}: {text:?}");
        }
        assert!(helper_section("imports").starts_with("import math\n"));
        assert!(helper_section("scope").starts_with("class Scope(nn.Module):"));
    }

    #[test]
    fn class_names() {
        assert_eq!(class_name("googlenet_bn", Some("caffe")), "GooglenetBnCaffe");
        assert_eq!(class_name("googlenet", None), "Googlenet");
        assert_eq!(class_name("3d-net", None), "_3dNet");
        assert_eq!(identifier("class", "Net", MODULE_GLOBALS), "_class");
        assert_eq!(identifier("", "Net", MODULE_GLOBALS), "Net");
        // A class must not replace a name the module itself uses.
        assert_eq!(class_name("f", None), "_F");
        assert_eq!(class_name("scope", None), "_Scope");
    }

    #[test]
    fn python_literals() {
        assert_eq!(py_float(1e-5), "1e-5");
        assert_eq!(py_float(0.001), "0.001");
        assert_eq!(py_float(0.0), "0.0");
        assert_eq!(py_float(f64::NAN), "math.nan");
        assert_eq!(py_float(f64::NEG_INFINITY), "-math.inf");
        assert_eq!(py_pair((3, 3)), "3");
        assert_eq!(py_pair((1, 7)), "(1, 7)");
        assert_eq!(string_literal("a\"b"), "\"a\\\"b\"");
    }
}
