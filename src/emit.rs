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
//! Conventions of the generated code, which the tch model must share:
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
use crate::ir::{Graph, NodeId, Op, Pad, Place, Pool, PoolKind};
use crate::shape::{Dim, Shape, WindowRounding};

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

/// What a SAME window needs: padding fixed at build time, or computed per input.
enum SamePad {
    /// Stride 1 and odd kernels: (k-1)/2 on every side, for every input.
    Static((i64, i64)),
    Dynamic,
}

fn same_pad(kernel: (i64, i64), stride: (i64, i64)) -> SamePad {
    if stride == (1, 1) && kernel.0 % 2 == 1 && kernel.1 % 2 == 1 {
        SamePad::Static(((kernel.0 - 1) / 2, (kernel.1 - 1) / 2))
    } else {
        SamePad::Dynamic
    }
}

/// A pool's padding as the shape rules read it: SAME also where the rounding says so.
fn pool_is_same(p: &Pool) -> bool {
    p.pad == Pad::Same || p.rounding == WindowRounding::Same
}

/// Whether Caffe's ceil rule can give a window more than PyTorch's on some axis.
fn caffe_extra_possible(p: &Pool) -> bool {
    let Pad::Explicit(ph, pw) = p.pad else { return false };
    p.rounding == WindowRounding::CeilCaffe
        && ((ph == 0 && p.kernel.0 < p.stride.0) || (pw == 0 && p.kernel.1 < p.stride.1))
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
                    | Op::AdaptiveAvgPool { .. } => {
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
                let pad = match c.pad {
                    Pad::Explicit(ph, pw) => (ph, pw),
                    Pad::Same => match same_pad(c.kernel, c.stride) {
                        SamePad::Static(p) => p,
                        SamePad::Dynamic => (0, 0),
                    },
                };
                if pad != (0, 0) {
                    let _ = write!(s, ", padding={}", py_pair(pad));
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
                let arg = match (c.pad, same_pad(c.kernel, c.stride)) {
                    (Pad::Same, SamePad::Dynamic) => {
                        self.helpers.same_pad = true;
                        format!("_same_pad({x}, {}, {})", py_tuple(c.kernel), py_tuple(c.stride))
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
            Op::Flatten => format!("torch.flatten({x}, 1)"),
            Op::Dropout { p } => format!("F.dropout({x}, {}, self.training)", py_float(*p)),
            Op::Softmax => format!("F.softmax({x}, 1)"),
        }
    }

    fn pool(&mut self, p: &Pool, x: &str) -> String {
        let (k, s) = (py_pair(p.kernel), py_pair(p.stride));
        if pool_is_same(p) {
            return match (same_pad(p.kernel, p.stride), p.kind) {
                (SamePad::Static(pad), PoolKind::Max) => format!("F.max_pool2d({x}, {k}, {s}, {})", py_pair(pad)),
                (SamePad::Static(pad), PoolKind::Avg) => {
                    format!("F.avg_pool2d({x}, {k}, {s}, {}, count_include_pad=False)", py_pair(pad))
                }
                (SamePad::Dynamic, PoolKind::Max) => {
                    self.helpers.same_pad = true;
                    format!(
                        "F.max_pool2d(_same_pad({x}, {}, {}, -math.inf), {k}, {s})",
                        py_tuple(p.kernel),
                        py_tuple(p.stride)
                    )
                }
                (SamePad::Dynamic, PoolKind::Avg) => {
                    self.helpers.same_pad = true;
                    self.helpers.same_avg = true;
                    format!("_same_avg_pool2d({x}, {}, {})", py_tuple(p.kernel), py_tuple(p.stride))
                }
            };
        }
        let Pad::Explicit(ph, pw) = p.pad else {
            unreachable!("SAME handled above")
        };
        let mut call = match p.kind {
            PoolKind::Max => format!("F.max_pool2d({x}, {k}, {s}"),
            PoolKind::Avg => format!("F.avg_pool2d({x}, {k}, {s}"),
        };
        if (ph, pw) != (0, 0) {
            let _ = write!(call, ", {}", py_pair((ph, pw)));
        }
        if p.rounding != WindowRounding::Floor {
            call.push_str(", ceil_mode=True");
        }
        if p.kind == PoolKind::Avg && !p.count_include_pad {
            call.push_str(", count_include_pad=False");
        }
        call.push(')');
        if caffe_extra_possible(p) {
            self.helpers.caffe_ceil = true;
            call = format!(
                "_caffe_ceil({call}, {x}, {}, {}, {}, {})",
                py_tuple(p.kernel),
                py_tuple(p.stride),
                py_tuple((ph, pw)),
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

    fn helpers_text(&self) -> String {
        let mut out = String::new();
        out.push_str(HELPER_SCOPE);
        if self.helpers.same_pad {
            out.push_str(HELPER_SAME_PAD);
        }
        if self.helpers.same_avg {
            out.push_str(HELPER_SAME_AVG);
        }
        if self.helpers.caffe_ceil {
            out.push_str(HELPER_CAFFE_CEIL);
        }
        if self.helpers.no_scale {
            out.push_str(HELPER_NO_SCALE);
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
        f.push_str("import math\n\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n");
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

const HELPER_SCOPE: &str = r#"
class Scope(nn.Module):
    """The layers under one prefix of the node names; it computes nothing itself."""


def _put(root, name, module):
    """Registers `module` under the dotted node name, so its parameters are `name.weight`."""
    *parents, last = name.split(".")
    for part in parents:
        if part not in root._modules:
            root._modules[part] = Scope()
        root = root._modules[part]
    if last in root._modules:  # a scope made earlier for layers under this name
        module._modules.update(root._modules[last]._modules)
    root._modules[last] = module
"#;

const HELPER_SAME_PAD: &str = r#"

def _same_pads(x, kernel, stride):
    """TF's SAME padding for x as F.pad takes it, (left, right, top, bottom): the output is
    ceil(in / stride), the total padding max((out - 1) * stride + kernel - in, 0), the odd
    pixel at the bottom or right."""
    pads = []
    for n, k, s in zip(x.shape[-2:], kernel, stride):
        total = max((-(-n // s) - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    (top, bottom), (left, right) = pads
    return (left, right, top, bottom)


def _same_pad(x, kernel, stride, value=0.0):
    """x padded for a SAME conv or pool with this kernel and stride."""
    pads = _same_pads(x, kernel, stride)
    if not any(pads):
        return x
    return F.pad(x, pads, value=value)
"#;

const HELPER_SAME_AVG: &str = r#"

def _same_avg_pool2d(x, kernel, stride):
    """TF's SAME average pool: each window divides by the inputs it covers, padding left out."""
    pads = _same_pads(x, kernel, stride)
    total = F.avg_pool2d(F.pad(x, pads), kernel, stride, divisor_override=1)
    ones = torch.ones((1, 1) + tuple(x.shape[-2:]), dtype=x.dtype, device=x.device)
    count = F.avg_pool2d(F.pad(ones, pads), kernel, stride, divisor_override=1)
    return total / count
"#;

const HELPER_CAFFE_CEIL: &str = r#"

def _caffe_ceil(y, x, kernel, stride, padding, max_pool):
    """Caffe's ceil rule: on an axis without padding it keeps a last window that starts past
    the input, which PyTorch drops. Extends y, the ceil-mode pool of x, by those windows with
    what Caffe gives them: -FLT_MAX for a max pool, 0 for an average pool."""
    extra = []
    for i, (n, k, s, p) in enumerate(zip(x.shape[-2:], kernel, stride, padding)):
        out = -(-(n + 2 * p - k) // s) + 1
        if p > 0 and (out - 1) * s >= n + p:
            out -= 1
        extra.append(out - y.shape[2 + i])
    if extra == [0, 0]:
        return y
    fill = torch.finfo(y.dtype).min if max_pool else 0.0
    return F.pad(y, (0, extra[1], 0, extra[0]), value=fill)
"#;

const HELPER_NO_SCALE: &str = r#"

def _without_scale(bn):
    """Batch norm without a learned scale (gamma fixed at 1): `weight` is unregistered, which
    F.batch_norm reads as 1, so the parameters are `bias` only."""
    bn.register_parameter("weight", None)
    return bn
"#;

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
