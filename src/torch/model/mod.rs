//! The network in libtorch, built node by node from the resolved [`Graph`].
//!
//! Every node of the graph becomes one layer, made by a small function per op in the style
//! of tch's `vision::inception` (`conv`, `batch_norm`, `linear`, ...). Variables are
//! registered under the node's dotted name split into path components, so the VarStore
//! names are the node names: `inception_3a.1x1.conv.weight`,
//! `inception_3a.1x1.conv_bn.running_mean`. Conv and linear layers follow tch's default
//! initialisation; batch norm follows PyTorch's (weight 1, bias 0), not tch's Uniform(0, 1).
//!
//! The rounding and padding conventions are reproduced exactly as derive computes them;
//! which op and which padding, per input size, is `ir/plan.rs`'s (the emitted PyTorch
//! module follows the same plan):
//!
//! * floor and PyTorch-ceil windows, and Caffe-ceil windows wherever Caffe's rule gives the
//!   same size as PyTorch's, use libtorch's own pooling (`ceil_mode`);
//! * TF SAME (convs and pools), Caffe's extra last window (no padding, last window starting
//!   at or past the input end) and paddings libtorch refuses (more than half the kernel)
//!   are padded explicitly to the exact extent the wanted output size needs: zeros for
//!   convs, the lowest f32 for max pools (Caffe's -FLT_MAX); avg pools then divide the sum
//!   by the count of the cells the convention counts (the padding for `count_include_pad`,
//!   never TF SAME's padding, never a ceil window's overhang). Caffe's extra window lies
//!   wholly past the input: it gives -FLT_MAX in a max pool, as in Caffe, and 0 in an avg
//!   pool (Caffe divides by zero there).
//!
//! All ops go through tch's fallible `f_` functions so a failing node is reported by name
//! ([`Model::try_forward_all`]); the plain methods panic like tch's own.

mod describe;
mod layer;
mod ops;

use tch::nn::{self, ModuleT};
use tch::{TchError, Tensor};

use self::layer::Layer;
use crate::ir::{Graph, NodeId, Output};

pub use describe::{summary, variable_counts};

/// A node that libtorch refused, with its message.
#[derive(Debug, Clone)]
pub struct ForwardError {
    pub node: NodeId,
    pub name: String,
    pub message: String,
}

impl std::fmt::Display for ForwardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // libtorch messages carry a C++ backtrace after the first line.
        let first = self.message.lines().next().unwrap_or("").trim();
        write!(f, "{} fails in libtorch: {first}", self.name)
    }
}

impl std::error::Error for ForwardError {}

/// The network: one module per graph node, evaluated in node order.
#[derive(Debug)]
pub struct Model {
    layers: Vec<Layer>,
    graph: Graph,
    /// Nodes the main output needs (eval-mode `forward`).
    main_needed: Vec<bool>,
    /// Nodes any output needs (training-mode `forward`, with the auxiliary heads).
    all_needed: Vec<bool>,
}

/// Why a graph cannot be built as a libtorch model (the graph checks make these rare: a
/// graph from a hand-built `Graph` or a future op can still reach them).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("layer name '{name}' has an empty component; it cannot name variables")]
    EmptyNameComponent { name: String },
    #[error(
        "{node}: a conv with {groups} groups needs input ({c_in}) and output ({c_out}) channels divisible by the groups"
    )]
    Groups {
        node: String,
        groups: i64,
        c_in: i64,
        c_out: i64,
    },
    #[error("{node}: a pool needs a positive kernel and stride")]
    PoolWindow { node: String },
}

/// `root / a / b / c` for the name `a.b.c`: tch's `Path` refuses dots inside a component.
pub fn var_path<'a>(root: &nn::Path<'a>, name: &str) -> Result<nn::Path<'a>, ModelError> {
    let bad = || ModelError::EmptyNameComponent { name: name.to_string() };
    let mut parts = name.split('.');
    let first = parts.next().filter(|p| !p.is_empty()).ok_or_else(bad)?;
    let mut p = root / first;
    for part in parts {
        if part.is_empty() {
            return Err(bad());
        }
        p = &p / part;
    }
    Ok(p)
}

/// The nodes `outputs` depend on.
fn ancestors(g: &Graph, outputs: impl Iterator<Item = NodeId>) -> Vec<bool> {
    let mut needed = vec![false; g.nodes.len()];
    let mut stack: Vec<NodeId> = outputs.collect();
    while let Some(i) = stack.pop() {
        if !needed[i] {
            needed[i] = true;
            stack.extend(g.nodes[i].inputs.iter().copied());
        }
    }
    needed
}

impl Model {
    /// Builds every node's module, registering variables under `vs_path` / node name.
    pub fn new(vs_path: &nn::Path, graph: &Graph) -> Result<Model, ModelError> {
        let mut layers = Vec::with_capacity(graph.nodes.len());
        for id in 0..graph.nodes.len() {
            layers.push(Layer::new(vs_path, graph, id)?);
        }
        let main_needed = ancestors(graph, std::iter::once(graph.main_output()));
        let all_needed = ancestors(
            graph,
            graph
                .outputs
                .iter()
                .map(|o| o.node)
                .chain(std::iter::once(graph.main_output())),
        );
        Ok(Model {
            layers,
            graph: graph.clone(),
            main_needed,
            all_needed,
        })
    }

    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The auxiliary outputs, in graph order (empty with `--no-aux` or without heads).
    pub fn aux_outputs(&self) -> Vec<&Output> {
        self.graph.outputs.iter().filter(|o| o.aux).collect()
    }

    /// Every node's output, in node order (aux heads included, in either mode).
    pub fn try_forward_all(&self, x: &Tensor, train: bool) -> Result<Vec<Tensor>, ForwardError> {
        match self.forward_partial(x, train) {
            (outs, None) => Ok(outs),
            (_, Some(e)) => Err(e),
        }
    }

    /// Every node's output in node order, up to the first node libtorch refuses (then the
    /// outputs before it and the error): what verification compares.
    pub fn forward_partial(&self, x: &Tensor, train: bool) -> (Vec<Tensor>, Option<ForwardError>) {
        let keep = vec![true; self.layers.len()];
        let (outs, err) = self.run(x, train, &keep, &keep);
        (outs.into_iter().map_while(|t| t).collect(), err)
    }

    /// Every node's output, in node order; panics where libtorch refuses a node.
    pub fn forward_all(&self, x: &Tensor, train: bool) -> Vec<Tensor> {
        self.try_forward_all(x, train)
            .unwrap_or_else(|e| panic!("{e}\n{}", e.message))
    }

    /// The main logits and, in training, the auxiliary heads' outputs. Intermediate
    /// tensors are dropped as soon as no later node needs them.
    pub fn try_forward(&self, x: &Tensor, train: bool) -> Result<(Tensor, Vec<Tensor>), ForwardError> {
        let needed = if train { &self.all_needed } else { &self.main_needed };
        let main = self.graph.main_output();
        let mut keep = vec![false; self.layers.len()];
        keep[main] = true;
        if train {
            for o in &self.graph.outputs {
                keep[o.node] = true;
            }
        }
        let (mut outs, err) = self.run(x, train, needed, &keep);
        if let Some(e) = err {
            return Err(e);
        }
        let logits = outs[main].take().expect("main output computed");
        let aux = if train {
            self.graph
                .outputs
                .iter()
                .filter(|o| o.aux)
                .map(|o| {
                    if o.node == main {
                        logits.shallow_clone()
                    } else {
                        outs[o.node].take().expect("aux output computed")
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok((logits, aux))
    }

    /// The main logits and, in training, the auxiliary outputs; panics on a libtorch error.
    pub fn forward(&self, x: &Tensor, train: bool) -> (Tensor, Vec<Tensor>) {
        self.try_forward(x, train)
            .unwrap_or_else(|e| panic!("{e}\n{}", e.message))
    }

    /// Evaluates the `needed` nodes in order, stopping at the first error; a tensor is kept
    /// after its last consumer only where `keep` says so.
    fn run(
        &self,
        x: &Tensor,
        train: bool,
        needed: &[bool],
        keep: &[bool],
    ) -> (Vec<Option<Tensor>>, Option<ForwardError>) {
        let n = self.layers.len();
        let mut last_use = vec![0usize; n];
        for (j, node) in self.graph.nodes.iter().enumerate() {
            if needed[j] {
                for &i in &node.inputs {
                    last_use[i] = last_use[i].max(j);
                }
            }
        }
        let mut outs: Vec<Option<Tensor>> = (0..n).map(|_| None).collect();
        for j in 0..n {
            if !needed[j] {
                continue;
            }
            let node = &self.graph.nodes[j];
            let fail = |e: TchError| ForwardError {
                node: j,
                name: node.name.clone(),
                message: e.to_string(),
            };
            let y = {
                let inputs: Vec<&Tensor> = node
                    .inputs
                    .iter()
                    .map(|i| outs[*i].as_ref().expect("inputs come first"))
                    .collect();
                match self.layers[j].apply(&inputs, x, train) {
                    Ok(y) => y,
                    Err(e) => return (outs, Some(fail(e))),
                }
            };
            outs[j] = Some(y);
            for &i in &node.inputs {
                if last_use[i] == j && !keep[i] {
                    outs[i] = None;
                }
            }
        }
        (outs, None)
    }
}

impl ModuleT for Model {
    /// The main logits (panics on a libtorch error, like tch's modules).
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.forward(xs, train).0
    }
}

#[cfg(test)]
mod tests {
    use super::{ModelError, var_path};
    use tch::{Device, nn};

    #[test]
    fn a_name_with_an_empty_component_cannot_name_variables() {
        let vs = nn::VarStore::new(Device::Cpu);
        assert!(var_path(&vs.root(), "layer1.0.conv1").is_ok());
        for bad in ["", "layer1..conv", ".conv", "conv."] {
            assert_eq!(
                var_path(&vs.root(), bad).err(),
                Some(ModelError::EmptyNameComponent { name: bad.into() }),
                "{bad:?}"
            );
        }
    }
}
