//! One template layer → its nodes: a conv unit (conv, batch norm, activation; a separable
//! conv's depthwise and pointwise convs), a pool, a linear (flattening a map first), and the
//! one-node layers; with the arguments they read under the conventions.

use super::{Builder, join_path};
use crate::ir::args;
use crate::ir::eval::{Ctx, Val};
use crate::ir::{Conv, NodeId, Op, Pad, Place, Pool, PoolKind};
use crate::shape::{Shape, WindowRounding};
use crate::spec::{CeilRule, ConvUnit, Padding, Rounding, SpecError};
use crate::spec::{LayerDecl, LayerOp};

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
        let op = match l.op {
            LayerOp::Conv | LayerOp::SeparableConv => return self.conv_layer(ctx, l, input, name, place),
            LayerOp::Linear => return self.linear_layer(ctx, l, input, name, place),
            LayerOp::MaxPool | LayerOp::AvgPool | LayerOp::Pool => Op::Pool(self.pool(ctx, l)?),
            LayerOp::GlobalAvgPool => Op::AdaptiveAvgPool { size: (1, 1) },
            LayerOp::AdaptiveAvgPool => Op::AdaptiveAvgPool {
                size: ctx.pair(l, "size", "adaptive_avg_pool", None)?,
            },
            LayerOp::Flatten => Op::Flatten,
            LayerOp::Dropout => Op::Dropout { p: dropout_p(ctx, l)? },
            LayerOp::Relu => Op::Relu,
            LayerOp::Softmax => Op::Softmax,
            LayerOp::Activation(a) => args::activation_op(a),
            LayerOp::Lrn => args::lrn(ctx, l)?,
            LayerOp::GlobalPool => args::global_pool(ctx, l)?,
            LayerOp::BatchNorm => args::batch_norm(ctx, l, self.conv.batch_norm)?,
            LayerOp::ChannelMean => Op::GlobalPool {
                kind: PoolKind::Avg,
                keep_dims: true,
            },
        };
        self.add(name, op, vec![input], place, false, l.loc)
    }

    /// A conv layer: its conv (or a separable conv's depthwise and pointwise convs), then
    /// the batch norm and activation the layer and the conventions ask for.
    fn conv_layer(
        &mut self,
        ctx: &Ctx<'_>,
        l: &LayerDecl,
        input: NodeId,
        name: String,
        place: &Place,
    ) -> Result<NodeId, SpecError> {
        let op_name = l.op.stem();
        let out = ctx.positive(l, "out", "conv", None)?;
        let kernel = ctx.pair(l, "kernel", "conv", None)?;
        let stride = ctx.pair(l, "stride", "conv", Some((1, 1)))?;
        // Padding by the extent the dilated kernel covers (`half` keeps the size).
        let args::Dilation { dilation, extent } = args::dilation(ctx, l, op_name, kernel)?;
        let conv_pad = match self.conv.padding {
            Padding::Same => Pad::Same,
            Padding::Half => Pad::Explicit((extent.0 - 1) / 2, (extent.1 - 1) / 2),
        };
        let pad = self.pad(ctx, l, extent, stride, conv_pad)?;
        let bias = self.flag(ctx, l, "bias", self.conv.conv_bias)?;
        let bn = self.flag(ctx, l, "bn", self.conv.batch_norm.is_some())?;
        let act = args::activation(ctx, l, op_name, Some(crate::ir::Activation::Relu))?;
        let bn_name = bn_name(ctx, l)?;
        let act_word = act.map_or("relu", |a| a.word());
        let separable = l.op == LayerOp::SeparableConv;
        // The depthwise and pointwise convs already sit under the layer's name.
        let layout = if separable {
            ConvUnit::Nested
        } else {
            self.conv.conv_unit
        };
        let unit = unit_names(layout, &name, bn_name.as_deref(), act_word);
        let conv = Conv {
            out,
            kernel,
            stride,
            pad,
            groups: 1,
            bias,
            dilation,
        };
        let (cur, conv_node) = if separable {
            (self.separable_convs(ctx, l, input, &name, place, conv)?, None)
        } else {
            let groups = ctx.positive(l, "groups", "conv", Some(1))?;
            let id = self.add(
                unit.conv,
                Op::Conv(Conv { groups, ..conv }),
                vec![input],
                place,
                true,
                l.loc,
            )?;
            (id, Some(id))
        };
        self.conv_unit_tail(
            l,
            cur,
            conv_node,
            bn.then_some(unit.bn),
            act.map(|a| (a, unit.act)),
            place,
        )
    }

    /// A separable conv's depthwise conv (the input's channels times `multiplier`, grouped
    /// by them, no bias) and pointwise 1×1 conv, from the layer's `conv` as read; returns
    /// the pointwise one.
    fn separable_convs(
        &mut self,
        ctx: &Ctx<'_>,
        l: &LayerDecl,
        input: NodeId,
        name: &str,
        place: &Place,
        conv: Conv,
    ) -> Result<NodeId, SpecError> {
        let mult = ctx.positive(l, "multiplier", "separable_conv", None)?;
        let cin = self.nodes[input].shape.channels();
        let dw_out = cin
            .checked_mul(mult)
            .ok_or_else(|| self.err(l.loc, "depth multiplier overflows"))?;
        let dw = Conv {
            out: dw_out,
            groups: cin,
            bias: false,
            ..conv
        };
        let cur = self.add(
            format!("{name}.depthwise"),
            Op::Conv(dw),
            vec![input],
            place,
            false,
            l.loc,
        )?;
        let pw = Conv {
            out: conv.out,
            kernel: (1, 1),
            stride: (1, 1),
            pad: Pad::Explicit(0, 0),
            groups: 1,
            bias: conv.bias,
            dilation: (1, 1),
        };
        self.add(format!("{name}.pointwise"), Op::Conv(pw), vec![cur], place, true, l.loc)
    }

    /// The batch norm (named `bn`) and activation (`act`) after a conv layer's conv `cur`,
    /// each shown as part of `conv_node`'s layer.
    fn conv_unit_tail(
        &mut self,
        l: &LayerDecl,
        mut cur: NodeId,
        conv_node: Option<NodeId>,
        bn: Option<String>,
        act: Option<(crate::ir::Activation, String)>,
        place: &Place,
    ) -> Result<NodeId, SpecError> {
        if let Some(bn_node) = bn {
            let b = self.conv.batch_norm.unwrap_or(crate::spec::BatchNorm {
                eps: 1e-5,
                momentum: 0.1,
                scale: true,
            });
            let op = Op::BatchNorm {
                eps: b.eps,
                momentum: b.momentum,
                scale: b.scale,
            };
            cur = self.add(bn_node, op, vec![cur], place, false, l.loc)?;
            self.nodes[cur].unit_of = conv_node;
        }
        if let Some((a, act_node)) = act {
            cur = self.add(act_node, args::activation_op(a), vec![cur], place, false, l.loc)?;
            self.nodes[cur].unit_of = conv_node;
        }
        Ok(cur)
    }

    /// A max, average or `kind:` pool layer's window, padding and rounding.
    fn pool(&self, ctx: &Ctx<'_>, l: &LayerDecl) -> Result<Pool, SpecError> {
        let op_name = l.op.stem();
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
        Ok(Pool {
            kind,
            kernel,
            stride,
            pad,
            rounding,
            count_include_pad,
        })
    }

    /// A linear layer, flattening a map first as the papers' tables imply, and its activation.
    fn linear_layer(
        &mut self,
        ctx: &Ctx<'_>,
        l: &LayerDecl,
        input: NodeId,
        name: String,
        place: &Place,
    ) -> Result<NodeId, SpecError> {
        let out = ctx.positive(l, "out", "linear", None)?;
        let bias = self.flag(ctx, l, "bias", true)?;
        let act = args::activation(ctx, l, "linear", None)?;
        let mut cur = input;
        if matches!(self.nodes[cur].shape, Shape::Map { .. }) {
            cur = self.add(format!("{name}_flatten"), Op::Flatten, vec![cur], place, false, l.loc)?;
        }
        let fc = self.add(name.clone(), Op::Linear { out, bias }, vec![cur], place, true, l.loc)?;
        match act {
            Some(a) => {
                let op = args::activation_op(a);
                self.add(format!("{name}.{}", a.word()), op, vec![fc], place, false, l.loc)
            }
            None => Ok(fc),
        }
    }
}

/// The batch norm's own name, beside the conv (`bn1` beside `conv1`), where the layer gives one.
fn bn_name(ctx: &Ctx<'_>, l: &LayerDecl) -> Result<Option<String>, SpecError> {
    let Some(a) = l.args.get("bn_name") else {
        return Ok(None);
    };
    match ctx.arg(a)? {
        Some(Val::Word(w)) if !w.is_empty() && !w.contains('.') => Ok(Some(w)),
        Some(Val::Int(i)) if i >= 0 => Ok(Some(i.to_string())),
        v => Err(ctx.err(
            a.loc,
            format!(
                "bn_name is {}, expected a name without '.'",
                v.map_or("empty".to_string(), |v| v.to_string())
            ),
        )),
    }
}

/// A dropout layer's probability, in [0, 1).
fn dropout_p(ctx: &Ctx<'_>, l: &LayerDecl) -> Result<f64, SpecError> {
    let a = &l.args["p"];
    let p = match ctx.required(&l.args, "p", "dropout")? {
        Val::Float(p) => p,
        Val::Int(p) => p as f64,
        v => return Err(ctx.err(a.loc, format!("dropout p is {v}, expected a probability"))),
    };
    if !(0.0..1.0).contains(&p) {
        return Err(ctx.err(a.loc, format!("dropout p is {p}, expected a probability in [0, 1)")));
    }
    Ok(p)
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
