//! `archcheck emit --pytorch`: the graph as a self-contained PyTorch source file, an
//! `nn.Module` that needs nothing but `torch` and `math`.
//!
//! Parameter and buffer names are the graph's node names: a conv node `conv1.conv` owns
//! `conv1.conv.weight`, its batch norm `conv1.bn` owns `conv1.bn.{weight,bias,running_mean,
//! running_var,num_batches_tracked}`, so a state_dict moves between this module and
//! archcheck's tch model (and, for a variant named as its lineage, the reference model)
//! unchanged. Every layer is an ordinary submodule under its name's path ([`tree`]): a conv,
//! its batch norm and its ReLU are siblings, as torchvision writes them, and `forward` reaches
//! each by attribute or index (`self.inception3a.branch2[0].conv`).
//!
//! Conventions of the generated code, which the tch model shares: which op and which
//! padding at which input size is `ir/plan.rs`'s, for both; the code that pads at run
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

mod layers;
mod order;
pub mod python;
mod train;
mod tree;

use std::fmt::Write as _;

use self::layers::{Helpers, Layer, py_bool};
use self::order::{Item, Order};
use self::python::{comment, comment_lines, docstring_text, identifier, string_literal};
pub use self::train::{ScriptTarget, script_file_name, train_script};
pub use self::tree::MODULE_ATTRIBUTES;
use self::tree::{Candidate, Tree};
use crate::ir::{Graph, NodeId, Op, Place};

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

/// Which node the forward code computes how: through its registered module, or its
/// functional expression.
struct Emitter<'g> {
    g: &'g Graph,
    order: Order,
    helpers: Helpers,
    /// Per node, its code (inputs already named).
    layers: Vec<Layer>,
    tree: Tree,
}

impl<'g> Emitter<'g> {
    fn new(g: &'g Graph) -> Self {
        let order = Order::new(g);
        let mut helpers = Helpers::default();
        let layers: Vec<Layer> = (0..g.nodes.len())
            .map(|id| {
                let inputs: Vec<&str> = g.nodes[id].inputs.iter().map(|i| order.vars[i].as_str()).collect();
                layers::layer(g, id, &inputs, order.classes_channels.contains(&id), &mut helpers)
            })
            .collect();
        let candidates: Vec<Candidate<'_>> = layers
            .iter()
            .enumerate()
            .filter_map(|(id, l)| {
                l.module.as_ref().map(|m| Candidate {
                    node: id,
                    name: &g.nodes[id].name,
                    constructor: m.clone(),
                    stateful: l.stateful,
                    aux: order.aux_only.contains(&id),
                })
            })
            .collect();
        let tree = tree::build(&candidates);
        Emitter {
            g,
            order,
            helpers,
            layers,
            tree,
        }
    }

    fn var(&self, id: NodeId) -> &str {
        &self.order.vars[&id]
    }

    /// The expression computing a node from its inputs' variables.
    fn expr(&self, id: NodeId) -> String {
        let l = &self.layers[id];
        match self.tree.access.get(&id) {
            Some(module) => format!("{module}({})", l.arg),
            None => l.functional.clone(),
        }
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

    fn forward_line(&self, id: NodeId, indent: &str, out: &mut String) {
        let n = &self.g.nodes[id];
        let expr = self.expr(id);
        let shape = n.shape.symbolic();
        let note = if self.tree.access.contains_key(&id) {
            shape
        } else {
            format!("{}: {shape}", n.name)
        };
        let _ = writeln!(out, "{indent}{} = {expr}  # {}", self.var(id), comment(&note));
    }

    fn forward(&self) -> String {
        let g = self.g;
        let has_aux = self.has_aux();
        let mut out = String::new();
        let mut section = "";
        if has_aux {
            out.push_str("        aux = self.training and self.aux_logits\n");
        }
        for item in &self.order.items {
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

    fn file(self, class: &str, title: &str) -> String {
        let g = self.g;
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
        f.push_str(&self.tree.init);
        f.push('\n');
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
        use super::layers::{py_float, py_pair};
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
