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

use tch::nn::{self, Init, ModuleT};
use tch::{TchError, Tensor};

use crate::ir::{AxisPad, Plan, conv_at, pool_at};
use crate::ir::{Activation, Graph, NodeId, Op, Output, Pad, Pool, PoolKind};

/// One node's module.
#[derive(Debug)]
enum Layer {
    Input,
    Conv(ConvLayer),
    BatchNorm(BatchNormLayer),
    Relu,
    Pool(Pool),
    AdaptiveAvgPool([i64; 2]),
    Concat,
    Add,
    Mul,
    Flatten,
    Linear(nn::Linear),
    Dropout(f64),
    Softmax,
    Activation(Activation),
    Lrn { size: i64, alpha: f64, beta: f64, k: f64 },
    GlobalPool { kind: PoolKind, keep_dims: bool },
}

#[derive(Debug)]
struct ConvLayer {
    ws: Tensor,
    bs: Option<Tensor>,
    conv: crate::ir::Conv,
}

#[derive(Debug)]
struct BatchNormLayer {
    ws: Option<Tensor>,
    bs: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
    eps: f64,
    momentum: f64,
}

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

fn conv(p: &nn::Path, node: &str, c_in: i64, c: &crate::ir::Conv) -> Result<Layer, ModelError> {
    if c.groups < 1 || c_in % c.groups != 0 || c.out % c.groups != 0 {
        return Err(ModelError::Groups {
            node: node.to_string(),
            groups: c.groups,
            c_in,
            c_out: c.out,
        });
    }
    let padding = match c.pad {
        Pad::Explicit(h, w) => [h, w],
        Pad::Same => [0, 0],
    };
    let cfg = nn::ConvConfigND::<[i64; 2]> {
        stride: [c.stride.0, c.stride.1],
        padding,
        groups: c.groups,
        bias: c.bias,
        dilation: [c.dilation.0, c.dilation.1],
        ..Default::default()
    };
    let m = nn::conv(p, c_in, c.out, [c.kernel.0, c.kernel.1], cfg);
    Ok(Layer::Conv(ConvLayer {
        ws: m.ws,
        bs: m.bs,
        conv: *c,
    }))
}

fn batch_norm(p: &nn::Path, channels: i64, eps: f64, momentum: f64, scale: bool) -> Layer {
    if scale {
        let cfg = nn::BatchNormConfig {
            eps,
            momentum,
            ws_init: Init::Const(1.),
            bs_init: Init::Const(0.),
            ..Default::default()
        };
        let m = nn::batch_norm2d(p, channels, cfg);
        let bs = m.bs.expect("affine batch norm has a bias");
        Layer::BatchNorm(BatchNormLayer {
            ws: m.ws,
            bs,
            running_mean: m.running_mean,
            running_var: m.running_var,
            eps,
            momentum,
        })
    } else {
        // TF's batch norm without scale: a learned offset only.
        let bs = p.var("bias", &[channels], Init::Const(0.));
        let running_mean = p.zeros_no_train("running_mean", &[channels]);
        let running_var = p.ones_no_train("running_var", &[channels]);
        Layer::BatchNorm(BatchNormLayer {
            ws: None,
            bs,
            running_mean,
            running_var,
            eps,
            momentum,
        })
    }
}

fn linear(p: &nn::Path, features: i64, out: i64, bias: bool) -> Layer {
    Layer::Linear(nn::linear(
        p,
        features,
        out,
        nn::LinearConfig {
            bias,
            ..Default::default()
        },
    ))
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
        for (id, n) in graph.nodes.iter().enumerate() {
            let cin = graph.in_channels(id);
            let layer = match &n.op {
                Op::Input { .. } => Layer::Input,
                Op::Conv(c) => conv(&var_path(vs_path, &n.name)?, &n.name, cin, c)?,
                Op::BatchNorm { eps, momentum, scale } => {
                    batch_norm(&var_path(vs_path, &n.name)?, cin, *eps, *momentum, *scale)
                }
                Op::Relu => Layer::Relu,
                Op::Pool(p) => {
                    if p.kernel.0 < 1 || p.kernel.1 < 1 || p.stride.0 < 1 || p.stride.1 < 1 {
                        return Err(ModelError::PoolWindow { node: n.name.clone() });
                    }
                    Layer::Pool(*p)
                }
                Op::AdaptiveAvgPool { size } => Layer::AdaptiveAvgPool([size.0, size.1]),
                Op::Concat => Layer::Concat,
                Op::Add => Layer::Add,
                Op::Mul => Layer::Mul,
                Op::Flatten => Layer::Flatten,
                Op::Linear { out, bias } => linear(&var_path(vs_path, &n.name)?, cin, *out, *bias),
                Op::Dropout { p } => Layer::Dropout(*p),
                Op::Softmax => Layer::Softmax,
                Op::Activation(a) => Layer::Activation(*a),
                Op::Lrn { size, alpha, beta, k } => Layer::Lrn {
                    size: *size,
                    alpha: *alpha,
                    beta: *beta,
                    k: *k,
                },
                Op::GlobalPool { kind, keep_dims } => Layer::GlobalPool {
                    kind: *kind,
                    keep_dims: *keep_dims,
                },
            };
            layers.push(layer);
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
                match self.apply(j, &inputs, x, train) {
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

    fn apply(&self, id: NodeId, inputs: &[&Tensor], x: &Tensor, train: bool) -> Result<Tensor, TchError> {
        let first = || inputs.first().copied().ok_or_else(|| TchError::Kind("no input".into()));
        match &self.layers[id] {
            Layer::Input => Ok(x.shallow_clone()),
            Layer::Conv(c) => conv_forward(first()?, c),
            Layer::BatchNorm(b) => first()?.f_batch_norm(
                b.ws.as_ref(),
                Some(&b.bs),
                Some(&b.running_mean),
                Some(&b.running_var),
                train,
                b.momentum,
                b.eps,
                true,
            ),
            Layer::Relu => first()?.f_relu(),
            Layer::Pool(p) => pool_forward(first()?, p),
            Layer::AdaptiveAvgPool(size) => first()?.f_adaptive_avg_pool2d(size),
            Layer::Concat => Tensor::f_cat(inputs, 1),
            Layer::Add => inputs[1..]
                .iter()
                .try_fold(first()?.shallow_clone(), |acc, x| acc.f_add(x)),
            // The gate (N×C×1×1) broadcasts over the map's H×W.
            Layer::Mul => inputs[1..]
                .iter()
                .try_fold(first()?.shallow_clone(), |acc, x| acc.f_mul(x)),
            Layer::Flatten => first()?.f_flatten(1, -1),
            Layer::Linear(l) => first()?.f_linear(&l.ws, l.bs.as_ref()),
            Layer::Dropout(p) => first()?.f_dropout(*p, train),
            Layer::Softmax => {
                let xs = first()?;
                xs.f_softmax(1, xs.kind())
            }
            Layer::Activation(a) => activation_forward(first()?, *a),
            Layer::Lrn { size, alpha, beta, k } => lrn_forward(first()?, *size, *alpha, *beta, *k),
            Layer::GlobalPool { kind, keep_dims } => {
                let xs = first()?;
                match kind {
                    PoolKind::Avg => xs.f_mean_dim([2i64, 3].as_slice(), *keep_dims, None),
                    PoolKind::Max => xs.f_amax([2, 3], *keep_dims),
                }
            }
        }
    }
}

impl ModuleT for Model {
    /// The main logits (panics on a libtorch error, like tch's modules).
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.forward(xs, train).0
    }
}

/// Pads H and W as `h` and `w` say (with `value`), then cuts them to the extents.
fn pad_to(xs: &Tensor, h: AxisPad, w: AxisPad, value: f64) -> Result<Tensor, TchError> {
    let size = xs.size();
    let (hx, wx) = (size[size.len() - 2], size[size.len() - 1]);
    let (ha, wa) = (h.after(hx), w.after(wx));
    let padded = if h.before == 0 && w.before == 0 && ha == 0 && wa == 0 {
        xs.shallow_clone()
    } else if value == 0.0 {
        xs.f_constant_pad_nd([w.before, wa, h.before, ha])?
    } else {
        xs.f_pad([w.before, wa, h.before, ha], "constant", Some(value))?
    };
    let d = padded.dim() as i64;
    let mut out = padded;
    if out.size()[(d - 2) as usize] > h.extent {
        out = out.f_narrow(d - 2, 0, h.extent)?;
    }
    if out.size()[(d - 1) as usize] > w.extent {
        out = out.f_narrow(d - 1, 0, w.extent)?;
    }
    Ok(out)
}

fn conv_forward(xs: &Tensor, c: &ConvLayer) -> Result<Tensor, TchError> {
    let size = xs.size();
    let (hx, wx) = (size[size.len() - 2], size[size.len() - 1]);
    let stride = [c.conv.stride.0, c.conv.stride.1];
    let dilation = [c.conv.dilation.0, c.conv.dilation.1];
    match conv_at(&c.conv, hx, wx) {
        Plan::Native { pad, .. } => xs.f_conv2d(&c.ws, c.bs.as_ref(), stride, [pad.0, pad.1], dilation, c.conv.groups),
        Plan::Padded { h, w } => {
            pad_to(xs, h, w, 0.0)?.f_conv2d(&c.ws, c.bs.as_ref(), stride, [0, 0], dilation, c.conv.groups)
        }
    }
}

fn activation_forward(xs: &Tensor, a: Activation) -> Result<Tensor, TchError> {
    match a {
        Activation::Relu => xs.f_relu(),
        Activation::Relu6 => xs.f_relu6(),
        Activation::HardSwish => xs.f_hardswish(),
        Activation::HardSigmoid => xs.f_hardsigmoid(),
        Activation::Silu => xs.f_silu(),
        Activation::Gelu => xs.f_gelu("none"),
        Activation::Sigmoid => xs.f_sigmoid(),
    }
}

/// `torch.nn.functional.local_response_norm` on an N×C×H×W map, step for step (libtorch
/// has no native op for it): the squares averaged over `size` channels, zero-padded
/// size/2 before and (size-1)/2 after, then x / (k + alpha·mean)^beta.
fn lrn_forward(xs: &Tensor, size: i64, alpha: f64, beta: f64, k: f64) -> Result<Tensor, TchError> {
    let div = xs.f_mul(xs)?.f_unsqueeze(1)?;
    let div = div.f_constant_pad_nd([0, 0, 0, 0, size / 2, (size - 1) / 2])?;
    let div = div
        .f_avg_pool3d([size, 1, 1], [1, 1, 1], [0, 0, 0], false, true, None)?
        .f_squeeze_dim(1)?;
    let div = div.f_mul_scalar(alpha)?.f_add_scalar(k)?.f_pow_tensor_scalar(beta)?;
    xs.f_div(&div)
}

/// The padding of an emulated max pool: never the maximum of a window holding an input
/// cell, and what Caffe outputs for its window past the end (-FLT_MAX), where -inf would
/// turn into NaN in the next conv.
const MAX_POOL_PAD: f64 = f32::MIN as f64;

/// A 1-d mask of the counted cells over an axis of `extent` cells.
fn axis_mask(a: AxisPad, like: &Tensor) -> Result<Tensor, TchError> {
    let idx = Tensor::f_arange(a.extent, (like.kind(), like.device()))?;
    let lo = idx.f_ge(a.counted.0 as f64)?;
    let hi = idx.f_lt(a.counted.1 as f64)?;
    lo.f_logical_and(&hi)?.f_to_kind(like.kind())
}

fn pool_forward(xs: &Tensor, p: &Pool) -> Result<Tensor, TchError> {
    let size = xs.size();
    let (hx, wx) = (size[size.len() - 2], size[size.len() - 1]);
    let k = [p.kernel.0, p.kernel.1];
    let s = [p.stride.0, p.stride.1];
    match pool_at(p, hx, wx) {
        Plan::Native { pad, ceil_mode } => {
            let pad = [pad.0, pad.1];
            match p.kind {
                PoolKind::Max => xs.f_max_pool2d(k, s, pad, [1, 1], ceil_mode),
                PoolKind::Avg => xs.f_avg_pool2d(k, s, pad, ceil_mode, p.count_include_pad, None),
            }
        }
        Plan::Padded { h, w } => match p.kind {
            PoolKind::Max => pad_to(xs, h, w, MAX_POOL_PAD)?.f_max_pool2d(k, s, [0, 0], [1, 1], false),
            PoolKind::Avg => {
                // sum / count, as the ratio of two averages over the same windows.
                let sum = pad_to(xs, h, w, 0.0)?.f_avg_pool2d(k, s, [0, 0], false, true, None)?;
                let mask = axis_mask(h, xs)?
                    .f_unsqueeze(1)?
                    .f_mul(&axis_mask(w, xs)?.f_unsqueeze(0)?)?;
                let count = mask
                    .f_view([1, 1, h.extent, w.extent])?
                    .f_avg_pool2d(k, s, [0, 0], false, true, None)?;
                // A window over no counted cell (Caffe's window past the end) gives 0.
                let empty = count.f_eq(0.0)?.f_to_kind(count.kind())?;
                sum.f_div(&count.f_add(&empty)?)
            }
        },
    }
}

/// Trainable parameters and buffers (non-trainable variables) in `vs`, in elements.
pub fn variable_counts(vs: &nn::VarStore) -> (i64, i64) {
    let trainable: i64 = vs.trainable_variables().iter().map(|t| t.numel() as i64).sum();
    let all: i64 = vs.variables().values().map(|t| t.numel() as i64).sum();
    (trainable, all - trainable)
}

/// One paragraph on the built model, for `archcheck build`.
pub fn summary(model: &Model, vs: &nn::VarStore, spec_name: &str) -> String {
    let g = model.graph();
    let (params, buffers) = variable_counts(vs);
    let t = crate::fmt::thousands;
    let layers = g.nodes.iter().filter(|n| !matches!(n.op, Op::Input { .. })).count();
    let weight_layers = g.nodes.iter().filter(|n| n.weight_layer).count();
    let aux: Vec<&str> = model.aux_outputs().iter().map(|o| o.name.as_str()).collect();
    let variant = g
        .variant
        .as_deref()
        .map(|v| format!(" (variant {v})"))
        .unwrap_or_default();
    let device = match vs.device() {
        tch::Device::Cpu => "cpu".to_string(),
        tch::Device::Cuda(i) => format!("cuda:{i}"),
        d => format!("{d:?}").to_lowercase(),
    };
    let heads = if aux.is_empty() {
        "no auxiliary heads".to_string()
    } else {
        format!("auxiliary heads {} (training mode only)", aux.join(", "))
    };
    format!(
        "built {spec_name}{variant} in libtorch on {device}: {layers} layers ({weight_layers} with weights), {} parameters in {} variables, {} buffers; input N×{}×{}×{}, {} classes, {heads}.",
        t(params),
        vs.trainable_variables().len(),
        t(buffers),
        g.input_channels,
        g.reference.0,
        g.reference.1,
        t(g.classes),
    )
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
