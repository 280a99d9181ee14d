//! Arguments of the activation, LRN, global-pool and dilated-conv layers, evaluated for
//! lowering: each helper reads one layer's arguments against the row and refuses a value
//! at the argument's place in the file.

use super::eval::{Ctx, Val};
use super::{Activation, Op, PoolKind};
use crate::spec::LayerDecl;
use crate::spec::SpecError;

/// The activation after a conv or linear: `act` (a word, `none` or `linear` for none) or the
/// older `relu: true/false`, never both; `default` where neither is given or the
/// expression names only empty cells.
pub fn activation(
    ctx: &Ctx<'_>,
    l: &LayerDecl,
    op: &str,
    default: Option<Activation>,
) -> Result<Option<Activation>, SpecError> {
    let (act, relu) = (l.args.get("act"), l.args.get("relu"));
    if let (Some(a), Some(_)) = (act, relu) {
        return Err(ctx.err(
            a.loc,
            format!(
                "{} gives {op} both act and relu, expected one of them (act: none is relu: false)",
                ctx.what
            ),
        ));
    }
    if let Some(r) = relu {
        return match ctx.arg(r)? {
            None => Ok(default),
            Some(Val::Bool(b)) => Ok(b.then_some(Activation::Relu)),
            Some(v) => Err(ctx.err(r.loc, format!("relu is {v}, expected true or false"))),
        };
    }
    let Some(a) = act else { return Ok(default) };
    match ctx.arg(a)? {
        None => Ok(default),
        Some(Val::Word(w)) if w == "none" || w == "linear" => Ok(None),
        Some(Val::Word(w)) if Activation::parse(&w).is_some() => Ok(Activation::parse(&w)),
        Some(v) => Err(ctx.err(
            a.loc,
            format!(
                "{} gives {op}'s act the value {v}, expected {}",
                ctx.what,
                Activation::ACT_WORDS
            ),
        )),
    }
}

/// The op of an activation: ReLU keeps its own op.
pub fn activation_op(a: Activation) -> Op {
    match a {
        Activation::Relu => Op::Relu,
        other => Op::Activation(other),
    }
}

/// A conv's dilation and the extent (H, W) its kernel then covers, d·(k − 1) + 1.
pub struct Dilation {
    pub dilation: (i64, i64),
    pub extent: (i64, i64),
}

/// A conv's `dilation` (1 by default) and the extent its kernel then covers.
pub fn dilation(ctx: &Ctx<'_>, l: &LayerDecl, op: &str, kernel: (i64, i64)) -> Result<Dilation, SpecError> {
    let d = ctx.pair(l, "dilation", op, Some((1, 1)))?;
    let eff = |k: i64, d: i64| crate::shape::dilated_kernel(k, d);
    match (eff(kernel.0, d.0), eff(kernel.1, d.1)) {
        (Some(h), Some(w)) => Ok(Dilation {
            dilation: d,
            extent: (h, w),
        }),
        _ => Err(ctx.err(
            l.args.get("dilation").map_or(l.loc, |a| a.loc),
            format!(
                "{} gives {op} the dilation {}, whose kernel extent d·(k - 1) + 1 overflows 64 bits",
                ctx.what,
                if d.0 == d.1 {
                    d.0.to_string()
                } else {
                    format!("{}×{}", d.0, d.1)
                }
            ),
        )),
    }
}

/// A real-valued argument, `default` where it is absent or names only empty cells, refused
/// where `ok` says so (`expected` names what it accepts).
fn real(
    ctx: &Ctx<'_>,
    l: &LayerDecl,
    name: &str,
    op: &str,
    default: f64,
    ok: impl Fn(f64) -> bool,
    expected: &str,
) -> Result<f64, SpecError> {
    let Some(a) = l.args.get(name) else { return Ok(default) };
    let v = match ctx.arg(a)? {
        None => return Ok(default),
        Some(Val::Float(x)) => Some(x),
        Some(Val::Int(i)) => Some(i as f64),
        Some(_) => None,
    };
    match v {
        Some(x) if x.is_finite() && ok(x) => Ok(x),
        _ => Err(ctx.err(
            a.loc,
            format!(
                "{} gives {op}'s {name} the value {}, expected {expected}",
                ctx.what,
                ctx.arg(a).ok().flatten().map(|v| v.to_string()).unwrap_or_default()
            ),
        )),
    }
}

/// `lrn: {size, alpha, beta, k}` with PyTorch's `LocalResponseNorm` defaults (alpha 1e-4,
/// beta 0.75, k 1).
pub fn lrn(ctx: &Ctx<'_>, l: &LayerDecl) -> Result<Op, SpecError> {
    let size = ctx.positive(l, "size", "lrn", None)?;
    let alpha = real(ctx, l, "alpha", "lrn", 1e-4, |x| x >= 0.0, "a number at least 0")?;
    let beta = real(ctx, l, "beta", "lrn", 0.75, |x| x >= 0.0, "a number at least 0")?;
    // k > 0 keeps the denominator away from 0 on a zero input.
    let k = real(ctx, l, "k", "lrn", 1.0, |x| x > 0.0, "a number above 0")?;
    Ok(Op::Lrn { size, alpha, beta, k })
}

/// `batch_norm: {eps, momentum, scale}`: each left out is the `batch_norm` convention's, or
/// PyTorch's default (eps 1e-5, momentum 0.1, a learned scale) where the spec has none.
pub fn batch_norm(ctx: &Ctx<'_>, l: &LayerDecl, convention: Option<crate::spec::BatchNorm>) -> Result<Op, SpecError> {
    let d = convention.unwrap_or(crate::spec::BatchNorm {
        eps: 1e-5,
        momentum: 0.1,
        scale: true,
    });
    let eps = real(ctx, l, "eps", "batch_norm", d.eps, |x| x > 0.0, "a number above 0")?;
    let momentum = real(
        ctx,
        l,
        "momentum",
        "batch_norm",
        d.momentum,
        |x| (0.0..=1.0).contains(&x),
        "a number in [0, 1]",
    )?;
    let scale = match l.args.get("scale").map(|a| ctx.arg(a).map(|v| (a, v))).transpose()? {
        None | Some((_, None)) => d.scale,
        Some((_, Some(Val::Bool(b)))) => b,
        Some((a, Some(v))) => return Err(ctx.err(a.loc, format!("batch_norm scale is {v}, expected true or false"))),
    };
    Ok(Op::BatchNorm { eps, momentum, scale })
}

/// `global_pool: {kind: avg|max, keep_dims: false}`: to a vector by default.
pub fn global_pool(ctx: &Ctx<'_>, l: &LayerDecl) -> Result<Op, SpecError> {
    let kind = match l.args.get("kind").map(|a| ctx.arg(a).map(|v| (a, v))).transpose()? {
        None | Some((_, None)) => PoolKind::Avg,
        Some((_, Some(Val::Word(w)))) if w == "avg" || w == "average" => PoolKind::Avg,
        Some((_, Some(Val::Word(w)))) if w == "max" => PoolKind::Max,
        Some((a, Some(v))) => return Err(ctx.err(a.loc, format!("global_pool kind is {v}, expected max or avg"))),
    };
    let keep_dims = match l
        .args
        .get("keep_dims")
        .map(|a| ctx.arg(a).map(|v| (a, v)))
        .transpose()?
    {
        None | Some((_, None)) => false,
        Some((_, Some(Val::Bool(b)))) => b,
        Some((a, Some(v))) => return Err(ctx.err(a.loc, format!("keep_dims is {v}, expected true or false"))),
    };
    Ok(Op::GlobalPool { kind, keep_dims })
}
