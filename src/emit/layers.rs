//! Per op, the PyTorch code of one node: the standard module that computes it (registered
//! in `__init__`, called in `forward`) and, for an op without state, the functional
//! expression used where no module can be registered under its name. Every op's code is
//! here, one match arm each; which op and which padding is `ir/plan.rs`'s.

use std::fmt::Write as _;

use crate::ir::{Activation, Conv, Graph, NodeId, Op, Pool, PoolKind};
use crate::ir::{Scheme, conv_scheme, pool_scheme};
use crate::shape::Shape;

/// Which helper sections of `helpers.py` the file needs.
#[derive(Default)]
pub(super) struct Helpers {
    pub same_pad: bool,
    pub same_avg: bool,
    pub caffe_ceil: bool,
    pub no_scale: bool,
}

/// The code of one node.
pub(super) struct Layer {
    /// The module's constructor, where a standard module computes the op.
    pub module: Option<String>,
    /// The module holds parameters or buffers: it is always registered.
    pub stateful: bool,
    /// The module's argument: the input, padded first where the plan pads at run time.
    pub arg: String,
    /// The expression computing the node without a module (ops without state).
    pub functional: String,
}

/// A float as Python reads it back exactly (`0.001`, `1e-5`, `0.0`; `math.inf`, `math.nan`,
/// which Rust would spell `inf` and `NaN`).
pub(super) fn py_float(x: f64) -> String {
    if x.is_nan() {
        "math.nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "math.inf".into() } else { "-math.inf".into() }
    } else {
        format!("{x:?}")
    }
}

pub(super) fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// `3` for a square pair, `(1, 7)` otherwise.
pub(super) fn py_pair(p: (i64, i64)) -> String {
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

/// The code of node `id`, whose inputs are the variables `inputs`; `classes` where its
/// channel count is the class count (it then takes `num_classes`).
pub(super) fn layer(g: &Graph, id: NodeId, inputs: &[&str], classes: bool, helpers: &mut Helpers) -> Layer {
    let cin = g.in_channels(id);
    let x = inputs.first().copied().unwrap_or("x").to_string();
    let channels = |c: i64| {
        if classes {
            "num_classes".to_string()
        } else {
            c.to_string()
        }
    };
    let stateful = |module: String, arg: String| Layer {
        module: Some(module),
        stateful: true,
        arg,
        functional: String::new(),
    };
    let stateless = |module: Option<String>, functional: String| Layer {
        module,
        stateful: false,
        arg: x.clone(),
        functional,
    };
    match &g.nodes[id].op {
        Op::Input { .. } => stateless(None, "x".into()),
        Op::Conv(c) => {
            let (module, arg) = conv(c, cin, &channels(c.out), &x, helpers);
            stateful(module, arg)
        }
        Op::BatchNorm { eps, momentum, scale } => {
            let flat = matches!(g.input_shape(id), Shape::Flat { .. });
            stateful(
                batch_norm(flat, &channels(cin), *eps, *momentum, *scale, helpers),
                x.clone(),
            )
        }
        Op::Linear { out, bias } => {
            let mut s = format!("nn.Linear({cin}, {}", channels(*out));
            if !bias {
                s.push_str(", bias=False");
            }
            s.push(')');
            stateful(s, x.clone())
        }
        Op::Relu => stateless(Some("nn.ReLU()".into()), format!("F.relu({x})")),
        Op::Pool(p) => {
            let (module, functional) = pool(p, &x, helpers);
            stateless(module, functional)
        }
        Op::AdaptiveAvgPool { size } => stateless(
            Some(format!("nn.AdaptiveAvgPool2d({})", py_pair(*size))),
            format!("F.adaptive_avg_pool2d({x}, {})", py_pair(*size)),
        ),
        Op::Concat => stateless(None, format!("torch.cat([{}], 1)", inputs.join(", "))),
        Op::Add => stateless(None, inputs.join(" + ")),
        Op::Mul => stateless(None, inputs.join(" * ")),
        Op::Activation(a) => {
            let (module, functional) = activation(*a, &x);
            stateless(Some(module.into()), functional)
        }
        Op::Lrn { size, alpha, beta, k } => stateless(
            None,
            format!(
                "F.local_response_norm({x}, {size}, alpha={}, beta={}, k={})",
                py_float(*alpha),
                py_float(*beta),
                py_float(*k)
            ),
        ),
        Op::GlobalPool { kind, keep_dims } => stateless(None, global_pool(*kind, *keep_dims, &x)),
        Op::Flatten => stateless(None, format!("torch.flatten({x}, 1)")),
        Op::Dropout { p } => stateless(
            Some(format!("nn.Dropout({})", py_float(*p))),
            format!("F.dropout({x}, {}, self.training)", py_float(*p)),
        ),
        Op::Softmax => stateless(None, format!("F.softmax({x}, 1)")),
    }
}

/// A conv's module, and its argument (padded at run time for TF SAME); `out` is its output
/// channels as written.
fn conv(c: &Conv, cin: i64, out: &str, x: &str, helpers: &mut Helpers) -> (String, String) {
    let mut s = format!("nn.Conv2d({cin}, {out}, {}", py_pair(c.kernel));
    if c.stride != (1, 1) {
        let _ = write!(s, ", stride={}", py_pair(c.stride));
    }
    let (pad, arg) = match conv_scheme(c) {
        Scheme::Native { pad, .. } | Scheme::Symmetric { pad } | Scheme::CaffeFromInput { pad } => (pad, x.to_string()),
        Scheme::SameFromInput => {
            helpers.same_pad = true;
            (
                (0, 0),
                // SAME pads for the extent a dilated kernel covers.
                format!(
                    "_same_pad({x}, {}, {})",
                    py_tuple(c.window_kernel()),
                    py_tuple(c.stride)
                ),
            )
        }
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
    (s, arg)
}

/// A batch norm's module (1-d after a flatten), without its scale where `scale` is false.
fn batch_norm(flat: bool, channels: &str, eps: f64, momentum: f64, scale: bool, helpers: &mut Helpers) -> String {
    let kind = if flat { "BatchNorm1d" } else { "BatchNorm2d" };
    let bn = format!(
        "nn.{kind}({channels}, eps={}, momentum={})",
        py_float(eps),
        py_float(momentum)
    );
    if scale {
        bn
    } else {
        helpers.no_scale = true;
        format!("_without_scale({bn})")
    }
}

/// An activation's module and functional expression.
fn activation(a: Activation, x: &str) -> (&'static str, String) {
    let module = match a {
        Activation::Relu => "nn.ReLU()",
        Activation::Relu6 => "nn.ReLU6()",
        Activation::HardSwish => "nn.Hardswish()",
        Activation::HardSigmoid => "nn.Hardsigmoid()",
        Activation::Silu => "nn.SiLU()",
        Activation::Gelu => "nn.GELU()",
        Activation::Sigmoid => "nn.Sigmoid()",
    };
    let functional = match a {
        Activation::Sigmoid => format!("torch.sigmoid({x})"),
        other => format!("F.{}({x})", other.word()),
    };
    (module, functional)
}

/// A pool over all of H and W, as a tensor method (`x.mean((2, 3))`).
fn global_pool(kind: PoolKind, keep_dims: bool, x: &str) -> String {
    let f = match kind {
        PoolKind::Max => "amax",
        PoolKind::Avg => "mean",
    };
    let keep = if keep_dims { ", keepdim=True" } else { "" };
    format!("{x}.{f}((2, 3){keep})")
}

/// A pool: its module where PyTorch's own computes it (floor or ceil windows, padding it
/// accepts), and the functional expression (TF SAME and Caffe's extra window pad at run time).
fn pool(p: &Pool, x: &str, helpers: &mut Helpers) -> (Option<String>, String) {
    let (k, s) = (py_pair(p.kernel), py_pair(p.stride));
    let (class, func) = match p.kind {
        PoolKind::Max => ("nn.MaxPool2d", "F.max_pool2d"),
        PoolKind::Avg => ("nn.AvgPool2d", "F.avg_pool2d"),
    };
    // The arguments after kernel and stride, as both spell them.
    let mut rest = String::new();
    match pool_scheme(p) {
        // SAME's padding is never counted: at stride 1 with odd kernels it is the pool's own.
        Scheme::Symmetric { pad } => {
            let _ = write!(rest, ", {}", py_pair(pad));
            if p.kind == PoolKind::Avg {
                rest.push_str(", count_include_pad=False");
            }
        }
        Scheme::SameFromInput => {
            helpers.same_pad = true;
            let f = match p.kind {
                PoolKind::Max => format!(
                    "F.max_pool2d(_same_pad({x}, {}, {}, -math.inf), {k}, {s})",
                    py_tuple(p.kernel),
                    py_tuple(p.stride)
                ),
                PoolKind::Avg => {
                    helpers.same_avg = true;
                    format!("_same_avg_pool2d({x}, {}, {})", py_tuple(p.kernel), py_tuple(p.stride))
                }
            };
            return (None, f);
        }
        Scheme::Native { pad, ceil_mode } => pool_rest(&mut rest, p, pad, ceil_mode),
        // Caffe's rule: ceil mode, then the extra windows added at run time.
        Scheme::CaffeFromInput { pad } => pool_rest(&mut rest, p, pad, true),
    }
    let call = format!("{func}({x}, {k}, {s}{rest})");
    if let Scheme::CaffeFromInput { pad } = pool_scheme(p) {
        helpers.caffe_ceil = true;
        let f = format!(
            "_caffe_ceil({call}, {x}, {}, {}, {}, {})",
            py_tuple(p.kernel),
            py_tuple(p.stride),
            py_tuple(pad),
            py_bool(p.kind == PoolKind::Max)
        );
        return (None, f);
    }
    (Some(format!("{class}({k}, {s}{rest})")), call)
}

/// A native pool's arguments after kernel and stride.
fn pool_rest(rest: &mut String, p: &Pool, pad: (i64, i64), ceil_mode: bool) {
    if pad != (0, 0) {
        let _ = write!(rest, ", {}", py_pair(pad));
    }
    if ceil_mode {
        rest.push_str(", ceil_mode=True");
    }
    if p.kind == PoolKind::Avg && !p.count_include_pad {
        rest.push_str(", count_include_pad=False");
    }
}
