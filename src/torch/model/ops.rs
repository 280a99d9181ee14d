//! The ops whose conventions libtorch does not compute directly: padding to an exact
//! extent (TF SAME, Caffe's extra window, paddings libtorch refuses), averages over the
//! counted cells only, and local response norm.

use tch::{TchError, Tensor};

use crate::ir::{Activation, Conv, Pool, PoolKind};
use crate::ir::{AxisPad, Plan, conv_at, pool_at};

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

/// Conv `c` with weights `ws` and bias `bs`, padded as the plan says for this input.
pub(super) fn conv_forward(xs: &Tensor, ws: &Tensor, bs: Option<&Tensor>, c: &Conv) -> Result<Tensor, TchError> {
    let size = xs.size();
    let (hx, wx) = (size[size.len() - 2], size[size.len() - 1]);
    let stride = [c.stride.0, c.stride.1];
    let dilation = [c.dilation.0, c.dilation.1];
    match conv_at(c, hx, wx) {
        Plan::Native { pad, .. } => xs.f_conv2d(ws, bs, stride, [pad.0, pad.1], dilation, c.groups),
        Plan::Padded { h, w } => pad_to(xs, h, w, 0.0)?.f_conv2d(ws, bs, stride, [0, 0], dilation, c.groups),
    }
}

pub(super) fn activation_forward(xs: &Tensor, a: Activation) -> Result<Tensor, TchError> {
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
pub(super) fn lrn_forward(xs: &Tensor, size: i64, alpha: f64, beta: f64, k: f64) -> Result<Tensor, TchError> {
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

pub(super) fn pool_forward(xs: &Tensor, p: &Pool) -> Result<Tensor, TchError> {
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
