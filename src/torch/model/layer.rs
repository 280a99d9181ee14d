//! One node's module: per op, the variables it registers (in the style of tch's
//! `vision::inception`: `conv`, `batch_norm`, `linear`) and its forward computation.

use tch::nn::{self, Init};
use tch::{TchError, Tensor};

use super::ops::{activation_forward, conv_forward, lrn_forward, pool_forward};
use super::{ModelError, var_path};
use crate::ir::{Activation, Graph, NodeId, Op, Pad, Pool, PoolKind};

/// One node's module.
#[derive(Debug)]
pub(super) enum Layer {
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
pub(super) struct ConvLayer {
    ws: Tensor,
    bs: Option<Tensor>,
    conv: crate::ir::Conv,
}

#[derive(Debug)]
pub(super) struct BatchNormLayer {
    ws: Option<Tensor>,
    bs: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
    eps: f64,
    momentum: f64,
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

impl Layer {
    /// Node `id`'s module, its variables registered under `vs_path` / the node's name.
    pub(super) fn new(vs_path: &nn::Path, graph: &Graph, id: NodeId) -> Result<Layer, ModelError> {
        let n = &graph.nodes[id];
        let cin = graph.in_channels(id);
        Ok(match &n.op {
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
        })
    }

    /// The node's output from its inputs (`x`: the network's input, for the input node).
    pub(super) fn apply(&self, inputs: &[&Tensor], x: &Tensor, train: bool) -> Result<Tensor, TchError> {
        let first = || inputs.first().copied().ok_or_else(|| TchError::Kind("no input".into()));
        match self {
            Layer::Input => Ok(x.shallow_clone()),
            Layer::Conv(c) => conv_forward(first()?, &c.ws, c.bs.as_ref(), &c.conv),
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
