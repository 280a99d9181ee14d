//! The emitted module's tree: every layer registered as an ordinary submodule under its
//! node name's path components, so that the state_dict names are the node names and tools
//! that walk the module tree (torchinfo, fvcore, `print(model)`) see each layer where the
//! name puts it. Scopes that are not layers are empty containers: `nn.Sequential` where
//! their children are `0, 1, …` in order (torchvision's `branch2.0`), else a `Scope`.
//!
//! A layer with parameters or buffers is always registered. A layer without state (ReLU,
//! pools, dropout) is registered only where that keeps every module that holds parameters
//! a leaf (not under another layer's name and not above one) and where no component of its
//! name hides a module attribute; elsewhere it is computed by its functional expression.
//!
//! How a component is written: an identifier that hides no attribute of `nn.Module` or of
//! the class as an attribute (`self.inception3a.branch1.conv`), a position in a sequence as
//! an index (`branch2[0]`), any other name through `add_module`/`getattr` with a string
//! literal, and a name that hides an attribute (`state_dict`, `_x`) straight in `_modules`,
//! where `add_module` would refuse it.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use super::python::{KEYWORDS, is_identifier_text, string_literal};
use crate::ir::NodeId;

/// The attributes of `nn.Module`, of an instance of it and of `nn.Sequential` (torch 2.11),
/// and the generated class's own: a submodule of one of these names must not be set or read
/// as an attribute. tests/emit_injection.rs checks the list against Python.
pub const MODULE_ATTRIBUTES: &[&str] = &[
    "T_destination",
    "add_module",
    "append",
    "apply",
    "aux_logits",
    "bfloat16",
    "buffers",
    "call_super_init",
    "children",
    "compile",
    "cpu",
    "cuda",
    "double",
    "dump_patches",
    "eval",
    "extend",
    "extra_repr",
    "float",
    "forward",
    "get_buffer",
    "get_extra_state",
    "get_parameter",
    "get_submodule",
    "half",
    "insert",
    "ipu",
    "load_state_dict",
    "modules",
    "mtia",
    "named_buffers",
    "named_children",
    "named_modules",
    "named_parameters",
    "num_classes",
    "parameters",
    "pop",
    "register_backward_hook",
    "register_buffer",
    "register_forward_hook",
    "register_forward_pre_hook",
    "register_full_backward_hook",
    "register_full_backward_pre_hook",
    "register_load_state_dict_post_hook",
    "register_load_state_dict_pre_hook",
    "register_module",
    "register_parameter",
    "register_state_dict_post_hook",
    "register_state_dict_pre_hook",
    "requires_grad_",
    "set_extra_state",
    "set_submodule",
    "share_memory",
    "state_dict",
    "to",
    "to_empty",
    "train",
    "training",
    "type",
    "xpu",
    "zero_grad",
];

/// A layer that may be registered.
pub(super) struct Candidate<'a> {
    pub node: NodeId,
    pub name: &'a str,
    pub constructor: String,
    pub stateful: bool,
    /// Built only with `aux_logits`.
    pub aux: bool,
}

/// The registered layers: how `__init__` builds them and how `forward` reaches each.
pub(super) struct Tree {
    /// Per registered node, the expression of its module (`self.conv1.bn`).
    pub access: HashMap<NodeId, String>,
    /// The body of `__init__` that registers them, indented for it.
    pub init: String,
}

/// One path component's entry.
struct Entry {
    name: String,
    /// The layer registered here, if any (its index in the candidates).
    layer: Option<usize>,
    children: Vec<usize>,
    /// Every layer at or under it is built only with `aux_logits`.
    aux: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Container {
    Sequential,
    Other,
}

/// How a child named `name` is written under a parent of kind `parent`.
enum Component {
    Attribute,
    Index(usize),
    Literal,
    /// Hides an attribute: only `_modules` holds it.
    Hidden,
}

/// Whether a submodule of this name would hide an attribute of the module holding it.
fn hides(name: &str) -> bool {
    name.starts_with('_') || MODULE_ATTRIBUTES.contains(&name)
}

fn component(name: &str, parent: Container, position: usize) -> Component {
    if parent == Container::Sequential {
        return Component::Index(position);
    }
    if hides(name) {
        Component::Hidden
    } else if is_identifier_text(name) && !KEYWORDS.contains(&name) {
        Component::Attribute
    } else {
        Component::Literal
    }
}

pub(super) fn build(candidates: &[Candidate<'_>]) -> Tree {
    let chosen = choose(candidates);
    // The entries, the root first; children in the order their first layer comes.
    let mut entries = vec![Entry {
        name: String::new(),
        layer: None,
        children: Vec::new(),
        aux: true,
    }];
    let mut index: HashMap<String, usize> = HashMap::new();
    for &c in &chosen {
        let cand = &candidates[c];
        let mut at = 0;
        let mut path = String::new();
        for part in cand.name.split('.') {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(part);
            entries[at].aux &= cand.aux;
            at = match index.get(&path) {
                Some(&e) => e,
                None => {
                    entries.push(Entry {
                        name: part.to_string(),
                        layer: None,
                        children: Vec::new(),
                        aux: true,
                    });
                    let e = entries.len() - 1;
                    entries[at].children.push(e);
                    index.insert(path.clone(), e);
                    e
                }
            };
        }
        entries[at].aux &= cand.aux;
        entries[at].layer = Some(c);
    }
    let mut tree = Tree {
        access: HashMap::new(),
        init: String::new(),
    };
    let mut in_aux = false;
    write_children(&entries, candidates, 0, "self", &mut tree, &mut in_aux);
    tree
}

/// Which candidates are registered: every stateful one, and a stateless one where it is
/// neither under nor above another registered layer.
fn choose(candidates: &[Candidate<'_>]) -> Vec<usize> {
    let prefixes = |name: &str| -> Vec<String> {
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(dot) = name[at..].find('.') {
            out.push(name[..at + dot].to_string());
            at += dot + 1;
        }
        out
    };
    let mut layers: HashSet<String> = HashSet::new();
    let mut scopes: HashSet<String> = HashSet::new();
    for c in candidates.iter().filter(|c| c.stateful) {
        layers.insert(c.name.to_string());
        scopes.extend(prefixes(c.name));
    }
    let mut chosen = Vec::new();
    for (i, c) in candidates.iter().enumerate() {
        if !c.stateful {
            // `nn.Module.train` sets `training` on every module, which a submodule of that
            // name refuses: a layer without state there stays functional.
            if c.name.split('.').any(hides) {
                continue;
            }
            let above = scopes.contains(c.name);
            let under = prefixes(c.name).iter().any(|p| layers.contains(p));
            if above || under || layers.contains(c.name) {
                continue;
            }
            layers.insert(c.name.to_string());
            scopes.extend(prefixes(c.name));
        }
        chosen.push(i);
    }
    chosen
}

fn container_of(entries: &[Entry], e: usize) -> Container {
    let children = &entries[e].children;
    let numbered = !children.is_empty()
        && children
            .iter()
            .enumerate()
            .all(|(i, c)| entries[*c].name == i.to_string())
        && children.iter().all(|c| entries[*c].aux == entries[children[0]].aux);
    if numbered && e != 0 && entries[e].layer.is_none() {
        Container::Sequential
    } else {
        Container::Other
    }
}

/// Registers `e`'s children under `parent` (an expression), depth first.
fn write_children(
    entries: &[Entry],
    candidates: &[Candidate<'_>],
    e: usize,
    parent: &str,
    tree: &mut Tree,
    in_aux: &mut bool,
) {
    let kind = container_of(entries, e);
    for (position, &c) in entries[e].children.iter().enumerate() {
        let child = &entries[c];
        let constructor = match child.layer {
            Some(l) => candidates[l].constructor.clone(),
            None if container_of(entries, c) == Container::Sequential => "nn.Sequential()".to_string(),
            None => "Scope()".to_string(),
        };
        let literal = string_literal(&child.name);
        let (register, access) = match component(&child.name, kind, position) {
            Component::Attribute => (
                format!("{parent}.{} = {constructor}", child.name),
                format!("{parent}.{}", child.name),
            ),
            Component::Index(i) => (format!("{parent}.append({constructor})"), format!("{parent}[{i}]")),
            Component::Literal => (
                format!("{parent}.add_module({literal}, {constructor})"),
                format!("getattr({parent}, {literal})"),
            ),
            Component::Hidden => (
                format!("{parent}._modules[{literal}] = {constructor}"),
                format!("{parent}._modules[{literal}]"),
            ),
        };
        if child.aux && !*in_aux {
            tree.init.push_str("        if aux_logits:\n");
        }
        *in_aux = child.aux;
        let indent = if child.aux { "            " } else { "        " };
        let _ = writeln!(tree.init, "{indent}{register}");
        if let Some(l) = child.layer {
            tree.access.insert(candidates[l].node, access.clone());
        }
        write_children(entries, candidates, c, &access, tree, in_aux);
    }
}
