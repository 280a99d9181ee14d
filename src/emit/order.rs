//! The forward pass's order and its variable names: the main nodes in graph order, each
//! auxiliary head's nodes as one block right after the last node it reads, and a pool of
//! variable names reused once a value is dead.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::python::identifier;
use crate::ir::{Graph, NodeId, Op};
use crate::shape::{Dim, Shape};

/// An entry of the forward code in order: a node, or a block of an aux head's nodes.
pub(super) enum Item {
    Node(NodeId),
    Aux(Vec<NodeId>),
}

/// What the emitter needs to know about the forward pass before writing it.
pub(super) struct Order {
    /// Nodes computed only for auxiliary outputs.
    pub aux_only: HashSet<NodeId>,
    /// Nodes whose channel count is the class count (the classifier and a batch norm after it).
    pub classes_channels: HashSet<NodeId>,
    pub items: Vec<Item>,
    /// Each node's variable.
    pub vars: HashMap<NodeId, String>,
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
pub(super) struct Names {
    stem: &'static str,
    free: BTreeSet<usize>,
    next: usize,
}

impl Names {
    pub fn new(stem: &'static str) -> Self {
        Names {
            stem,
            free: BTreeSet::new(),
            next: 0,
        }
    }
    pub fn take(&mut self) -> String {
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
    pub fn give(&mut self, name: &str) {
        if let Some(rest) = name.strip_prefix(self.stem) {
            let i = if rest.is_empty() { Some(0) } else { rest.parse().ok() };
            if let Some(i) = i {
                self.free.insert(i);
            }
        }
    }
}

impl Order {
    pub fn new(g: &Graph) -> Self {
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

        let mut o = Order {
            aux_only,
            classes_channels: HashSet::new(),
            items,
            vars: HashMap::new(),
        };
        o.find_classifiers(g);
        o.allocate(g);
        o
    }

    /// From each output back through ops that keep the channel count to the conv or linear
    /// that makes it: where that is the class count, it takes `num_classes`.
    fn find_classifiers(&mut self, g: &Graph) {
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
                    // A flatten keeps the channel count of a vector, or of a 1×1 map (1×1
                    // always, or at the one size the flatten admits: its features are the
                    // map's channels, as after MobileNetV2's printed 7×7 pool).
                    Op::Flatten
                        if matches!(
                            g.input_shape(cur),
                            Shape::Flat { .. }
                                | Shape::Map {
                                    h: Dim::Const(1),
                                    w: Dim::Const(1),
                                    ..
                                }
                        ) || matches!((g.input_shape(cur), &n.shape),
                            (Shape::Map { c, .. }, Shape::Flat { features }) if c == *features) =>
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
    fn allocate(&mut self, g: &Graph) {
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
}
