//! One template layer → its nodes: a conv unit (conv, batch norm, activation; a separable
//! conv's depthwise and pointwise convs), a pool, a linear (flattening a map first), and the
//! one-node layers; with the arguments they read under the conventions.

use super::{Builder, join_path};
use crate::ir::eval::{Ctx, Val};
use crate::ir::{Conv, NodeId, Op, Pad, Place, Pool, PoolKind};
use crate::shape::{Shape, WindowRounding};
use crate::spec::template::{LayerDecl, LayerOp};
use crate::spec::{CeilRule, ConvUnit, Padding, Rounding, SpecError};

impl Builder<'_> {
    fn pad(
        &self,
        ctx: &Ctx<'_>,
        l: &LayerDecl,
        kernel: (i64, i64),
        stride: (i64, i64),
        default: Pad,
    ) -> Result<Pad, SpecError> {
        if stride == (1, 1) && self.row.is_some_and(|(i, _)| self.padded_rows.contains(&i)) {
            return Ok(Pad::Explicit((kernel.0 - 1) / 2, (kernel.1 - 1) / 2));
        }
        let Some(a) = l.args.get("pad") else { return Ok(default) };
        Ok(match ctx.arg(a)? {
            None => default,
            Some(Val::Int(p)) if p >= 0 => Pad::Explicit(p, p),
            Some(Val::Pair(a, b)) if a >= 0 && b >= 0 => Pad::Explicit(a, b),
            Some(Val::Word(w)) if w == "same" => Pad::Same,
            Some(Val::Word(w)) if w == "valid" => Pad::Explicit(0, 0),
            Some(Val::Word(w)) if w == "half" => Pad::Explicit((kernel.0 - 1) / 2, (kernel.1 - 1) / 2),
            Some(v) => {
                return Err(ctx.err(
                    a.loc,
                    format!(
                        "{} gives pad the value {v}, expected a non-negative integer, [h, w], same, valid or half",
                        ctx.what
                    ),
                ));
            }
        })
    }

    fn flag(&self, ctx: &Ctx<'_>, l: &LayerDecl, name: &str, default: bool) -> Result<bool, SpecError> {
        let Some(a) = l.args.get(name) else { return Ok(default) };
        match ctx.arg(a)? {
            None => Ok(default),
            Some(Val::Bool(b)) => Ok(b),
            Some(v) => Err(ctx.err(a.loc, format!("{name} is {v}, expected true or false"))),
        }
    }

    fn rounding(&self, ctx: &Ctx<'_>, l: &LayerDecl) -> Result<WindowRounding, SpecError> {
        let ceil = match self.conv.ceil_rule {
            CeilRule::Pytorch => WindowRounding::CeilPytorch,
            CeilRule::Caffe => WindowRounding::CeilCaffe,
        };
        let default = match self.conv.pool_rounding {
            Rounding::Floor => WindowRounding::Floor,
            Rounding::Ceil => ceil,
        };
        let Some(a) = l.args.get("rounding") else {
            return Ok(default);
        };
        match ctx.arg(a)? {
            None => Ok(default),
            Some(Val::Word(w)) if w == "floor" => Ok(WindowRounding::Floor),
            Some(Val::Word(w)) if w == "ceil" => Ok(ceil),
            Some(v) => Err(ctx.err(a.loc, format!("rounding is {v}, expected floor or ceil"))),
        }
    }

    /// Lowers one template layer; returns the node that ends it.
    pub(super) fn layer(
        &mut self,
        ctx: &Ctx<'_>,
        l: &LayerDecl,
        input: NodeId,
        name: String,
        place: &Place,
    ) -> Result<NodeId, SpecError> {
        let op_name = l.op.stem();
        let conv_pad = |k: (i64, i64)| match self.conv.padding {
            Padding::Same => Pad::Same,
            Padding::Half => Pad::Explicit((k.0 - 1) / 2, (k.1 - 1) / 2),
        };
        match l.op {
            LayerOp::Conv | LayerOp::SeparableConv => {
                let out = ctx.positive(l, "out", "conv", None)?;
                let kernel = ctx.pair(l, "kernel", "conv", None)?;
                let stride = ctx.pair(l, "stride", "conv", Some((1, 1)))?;
                // Padding by the extent the dilated kernel covers (`half` keeps the size).
                let crate::ir::args::Dilation { dilation, extent } =
                    crate::ir::args::dilation(ctx, l, op_name, kernel)?;
                let pad = self.pad(ctx, l, extent, stride, conv_pad(extent))?;
                let bias = self.flag(ctx, l, "bias", self.conv.conv_bias)?;
                let bn = self.flag(ctx, l, "bn", self.conv.batch_norm.is_some())?;
                let act = crate::ir::args::activation(ctx, l, op_name, Some(crate::ir::Activation::Relu))?;
                // The batch norm's own name, beside the conv: `bn1` beside `conv1`.
                let bn_name = match l.args.get("bn_name") {
                    None => None,
                    Some(a) => match ctx.arg(a)? {
                        Some(Val::Word(w)) if !w.is_empty() && !w.contains('.') => Some(w),
                        Some(Val::Int(i)) if i >= 0 => Some(i.to_string()),
                        v => {
                            return Err(ctx.err(
                                a.loc,
                                format!(
                                    "bn_name is {}, expected a name without '.'",
                                    v.map_or("empty".to_string(), |v| v.to_string())
                                ),
                            ));
                        }
                    },
                };
                let act_word = act.map_or("relu", |a| a.word());
                let unit = if l.op == LayerOp::SeparableConv {
                    // The depthwise and pointwise convs already sit under the layer's name.
                    unit_names(ConvUnit::Nested, &name, bn_name.as_deref(), act_word)
                } else {
                    unit_names(self.conv.conv_unit, &name, bn_name.as_deref(), act_word)
                };
                let mut cur = input;
                let mut conv_node = None;
                if l.op == LayerOp::SeparableConv {
                    let mult = ctx.positive(l, "multiplier", "separable_conv", None)?;
                    let cin = self.nodes[input].shape.channels();
                    let dw_out = cin
                        .checked_mul(mult)
                        .ok_or_else(|| self.err(l.loc, "depth multiplier overflows"))?;
                    let dw = Conv {
                        out: dw_out,
                        kernel,
                        stride,
                        pad,
                        groups: cin,
                        bias: false,
                        dilation,
                    };
                    cur = self.add(
                        format!("{name}.depthwise"),
                        Op::Conv(dw),
                        vec![cur],
                        place,
                        false,
                        l.loc,
                    )?;
                    let pw = Conv {
                        out,
                        kernel: (1, 1),
                        stride: (1, 1),
                        pad: Pad::Explicit(0, 0),
                        groups: 1,
                        bias,
                        dilation: (1, 1),
                    };
                    cur = self.add(format!("{name}.pointwise"), Op::Conv(pw), vec![cur], place, true, l.loc)?;
                } else {
                    let groups = ctx.positive(l, "groups", "conv", Some(1))?;
                    let c = Conv {
                        out,
                        kernel,
                        stride,
                        pad,
                        groups,
                        bias,
                        dilation,
                    };
                    cur = self.add(unit.conv, Op::Conv(c), vec![cur], place, true, l.loc)?;
                    conv_node = Some(cur);
                }
                if bn {
                    let b = self.conv.batch_norm.unwrap_or(crate::spec::BatchNorm {
                        eps: 1e-5,
                        momentum: 0.1,
                        scale: true,
                    });
                    cur = self.add(
                        unit.bn,
                        Op::BatchNorm {
                            eps: b.eps,
                            momentum: b.momentum,
                            scale: b.scale,
                        },
                        vec![cur],
                        place,
                        false,
                        l.loc,
                    )?;
                    self.nodes[cur].unit_of = conv_node;
                }
                if let Some(a) = act {
                    let op = crate::ir::args::activation_op(a);
                    cur = self.add(unit.act, op, vec![cur], place, false, l.loc)?;
                    self.nodes[cur].unit_of = conv_node;
                }
                Ok(cur)
            }
            LayerOp::MaxPool | LayerOp::AvgPool | LayerOp::Pool => {
                let kind = match l.op {
                    LayerOp::MaxPool => PoolKind::Max,
                    LayerOp::AvgPool => PoolKind::Avg,
                    _ => match ctx.required(&l.args, "kind", "pool")? {
                        Val::Word(w) if w == "max" => PoolKind::Max,
                        Val::Word(w) if w == "avg" || w == "average" => PoolKind::Avg,
                        v => return Err(ctx.err(l.args["kind"].loc, format!("pool kind is {v}, expected max or avg"))),
                    },
                };
                let kernel = ctx.pair(l, "kernel", op_name, None)?;
                let stride = ctx.pair(l, "stride", op_name, Some((1, 1)))?;
                let default_pad = match self.conv.padding {
                    Padding::Same => Pad::Same,
                    Padding::Half => Pad::Explicit(0, 0),
                };
                let pad = self.pad(ctx, l, kernel, stride, default_pad)?;
                let rounding = self.rounding(ctx, l)?;
                let count_include_pad = self.flag(ctx, l, "count_include_pad", self.conv.count_include_pad)?;
                let p = Pool {
                    kind,
                    kernel,
                    stride,
                    pad,
                    rounding,
                    count_include_pad,
                };
                self.add(name, Op::Pool(p), vec![input], place, false, l.loc)
            }
            LayerOp::GlobalAvgPool => self.add(
                name,
                Op::AdaptiveAvgPool { size: (1, 1) },
                vec![input],
                place,
                false,
                l.loc,
            ),
            LayerOp::AdaptiveAvgPool => {
                let size = ctx.pair(l, "size", "adaptive_avg_pool", None)?;
                self.add(name, Op::AdaptiveAvgPool { size }, vec![input], place, false, l.loc)
            }
            LayerOp::Flatten => self.add(name, Op::Flatten, vec![input], place, false, l.loc),
            LayerOp::Linear => {
                let out = ctx.positive(l, "out", "linear", None)?;
                let bias = self.flag(ctx, l, "bias", true)?;
                let act = crate::ir::args::activation(ctx, l, "linear", None)?;
                // A linear on a map flattens it first, as the papers' tables imply.
                let mut cur = input;
                if matches!(self.nodes[cur].shape, Shape::Map { .. }) {
                    cur = self.add(format!("{name}_flatten"), Op::Flatten, vec![cur], place, false, l.loc)?;
                }
                let fc = self.add(name.clone(), Op::Linear { out, bias }, vec![cur], place, true, l.loc)?;
                match act {
                    Some(a) => {
                        let op = crate::ir::args::activation_op(a);
                        self.add(format!("{name}.{}", a.word()), op, vec![fc], place, false, l.loc)
                    }
                    None => Ok(fc),
                }
            }
            LayerOp::Dropout => {
                let a = &l.args["p"];
                let p = match ctx.required(&l.args, "p", "dropout")? {
                    Val::Float(p) => p,
                    Val::Int(p) => p as f64,
                    v => return Err(ctx.err(a.loc, format!("dropout p is {v}, expected a probability"))),
                };
                if !(0.0..1.0).contains(&p) {
                    return Err(ctx.err(a.loc, format!("dropout p is {p}, expected a probability in [0, 1)")));
                }
                self.add(name, Op::Dropout { p }, vec![input], place, false, l.loc)
            }
            LayerOp::Relu => self.add(name, Op::Relu, vec![input], place, false, l.loc),
            LayerOp::Softmax => self.add(name, Op::Softmax, vec![input], place, false, l.loc),
            LayerOp::Activation(a) => self.add(
                name,
                crate::ir::args::activation_op(a),
                vec![input],
                place,
                false,
                l.loc,
            ),
            LayerOp::Lrn => {
                let op = crate::ir::args::lrn(ctx, l)?;
                self.add(name, op, vec![input], place, false, l.loc)
            }
            LayerOp::GlobalPool => {
                let op = crate::ir::args::global_pool(ctx, l)?;
                self.add(name, op, vec![input], place, false, l.loc)
            }
            LayerOp::BatchNorm => {
                let op = crate::ir::args::batch_norm(ctx, l, self.conv.batch_norm)?;
                self.add(name, op, vec![input], place, false, l.loc)
            }
            LayerOp::ChannelMean => {
                let op = Op::GlobalPool {
                    kind: PoolKind::Avg,
                    keep_dims: true,
                };
                self.add(name, op, vec![input], place, false, l.loc)
            }
        }
    }
}

/// The node names of one conv layer named `name`.
struct UnitNames {
    conv: String,
    bn: String,
    act: String,
}

/// Names of a conv layer's conv, batch norm and activation (`act`, its word: `relu`) under
/// `layout`; `bn` is the batch norm's own name (`bn_name`) where the layer gives one, beside
/// the conv. Flat puts all three beside each other (`conv1`, `bn1`; or `conv1_bn`,
/// `conv1_relu`), so that no module holding parameters holds another module.
fn unit_names(layout: ConvUnit, name: &str, bn: Option<&str>, act: &str) -> UnitNames {
    match layout {
        ConvUnit::Nested => UnitNames {
            conv: format!("{name}.conv"),
            bn: format!("{name}.{}", bn.unwrap_or("bn")),
            act: format!("{name}.{act}"),
        },
        ConvUnit::Flat => {
            let (parent, last) = name.rsplit_once('.').unwrap_or(("", name));
            UnitNames {
                conv: name.to_string(),
                bn: join_path(parent, &bn.map_or_else(|| format!("{last}_bn"), str::to_string)),
                act: join_path(parent, &format!("{last}_{act}")),
            }
        }
    }
}
