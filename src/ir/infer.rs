//! The shape rule of every op: its output shape, on symbolic spatial sizes, and what it
//! requires of the input size.

use super::{Conv, Op, Pad, Pool};
use crate::shape::dim::dilated_kernel;
use crate::shape::{
    Axis, Dim, Requirement, Shape, ShapeError, Window, WindowRounding, apply_windows, require_nonempty,
};

/// The window along each axis of a conv or pool on `input`.
fn windows(kernel: (i64, i64), stride: (i64, i64), pad: Pad, rounding: WindowRounding) -> (Window, Window) {
    let (ph, pw, r) = match pad {
        Pad::Explicit(ph, pw) => (ph, pw, rounding),
        Pad::Same => (0, 0, WindowRounding::Same),
    };
    (
        Window {
            kernel: kernel.0,
            stride: stride.0,
            pad: ph,
            rounding: r,
        },
        Window {
            kernel: kernel.1,
            stride: stride.1,
            pad: pw,
            rounding: r,
        },
    )
}

/// The output shape of `op` on `inputs`, and what it requires of the input size. `reference`
/// is the reference input size, used to fix the size a flatten produces.
pub fn infer(op: &Op, inputs: &[Shape], reference: (i64, i64)) -> Result<(Shape, Vec<Requirement>), ShapeError> {
    let mut reqs = Vec::new();
    let first = inputs.first();
    let out = match op {
        Op::Input { channels } => Shape::Map {
            c: *channels,
            h: Dim::input(Axis::H),
            w: Dim::input(Axis::W),
        },
        Op::Conv(conv) => conv_shape(conv, first.expect("conv has an input"), &mut reqs)?,
        Op::Pool(p) => pool_shape(p, first.expect("pool has an input"), &mut reqs)?,
        Op::AdaptiveAvgPool { size } => {
            let (c, h, w) = map(first.expect("pool has an input"))?;
            require_nonempty(h, w, &mut reqs)?;
            Shape::Map {
                c,
                h: Dim::Const(size.0),
                w: Dim::Const(size.1),
            }
        }
        Op::BatchNorm { .. } | Op::Relu | Op::Dropout { .. } | Op::Softmax | Op::Activation(_) => {
            *first.expect("unary op has an input")
        }
        Op::Lrn { .. } => {
            let (c, h, w) = map(first.expect("lrn has an input"))?;
            Shape::Map { c, h, w }
        }
        Op::GlobalPool { keep_dims, .. } => {
            global_pool_shape(*keep_dims, first.expect("pool has an input"), &mut reqs)?
        }
        Op::Concat => concat_shape(inputs)?,
        Op::Add => add_shape(first.expect("add has inputs"), &inputs[1..])?,
        Op::Mul => mul_shape(first.expect("mul has inputs"), &inputs[1..])?,
        Op::Flatten => flatten_shape(first.expect("flatten has an input"), reference, &mut reqs)?,
        Op::Linear { out, .. } => match *first.expect("linear has an input") {
            Shape::Flat { .. } => Shape::Flat { features: *out },
            Shape::Map { c, .. } => {
                return Err(ShapeError::message(format!(
                    "linear needs a vector; its input is a {c}-channel map (add flatten)"
                )));
            }
        },
    };
    Ok((out, reqs))
}

/// The C, H and W of a map; a vector is refused.
fn map(s: &Shape) -> Result<(i64, Dim, Dim), ShapeError> {
    match *s {
        Shape::Map { c, h, w } => Ok((c, h, w)),
        Shape::Flat { features } => Err(ShapeError::message(format!(
            "expected a C×H×W map, found a vector of {features} features"
        ))),
    }
}

fn conv_shape(conv: &Conv, input: &Shape, reqs: &mut Vec<Requirement>) -> Result<Shape, ShapeError> {
    let (c, h, w) = map(input)?;
    if conv.groups < 1 || c % conv.groups != 0 || conv.out % conv.groups != 0 {
        return Err(ShapeError::message(format!(
            "groups {} must divide the input channels {c} and the output channels {}",
            conv.groups, conv.out
        )));
    }
    if let Pad::Explicit(ph, pw) = conv.pad
        && (ph < 0 || pw < 0)
    {
        return Err(ShapeError::message("padding must not be negative"));
    }
    if conv.dilation.0 < 1 || conv.dilation.1 < 1 {
        return Err(ShapeError::message("dilation must be positive"));
    }
    let kernel = (
        dilated_kernel(conv.kernel.0, conv.dilation.0).ok_or(ShapeError::Overflow)?,
        dilated_kernel(conv.kernel.1, conv.dilation.1).ok_or(ShapeError::Overflow)?,
    );
    apply_windows(
        h,
        w,
        windows(kernel, conv.stride, conv.pad, WindowRounding::Floor),
        conv.out,
        reqs,
    )
}

fn pool_shape(p: &Pool, input: &Shape, reqs: &mut Vec<Requirement>) -> Result<Shape, ShapeError> {
    let (c, h, w) = map(input)?;
    if let Pad::Explicit(ph, pw) = p.pad
        && (ph < 0 || pw < 0 || ph.saturating_mul(2) > p.kernel.0 || pw.saturating_mul(2) > p.kernel.1)
    {
        return Err(ShapeError::message(format!(
            "pool padding {ph}×{pw} must be at most half the kernel {}×{} (PyTorch and Caffe both require it)",
            p.kernel.0, p.kernel.1
        )));
    }
    apply_windows(h, w, windows(p.kernel, p.stride, p.pad, p.rounding), c, reqs)
}

fn global_pool_shape(keep_dims: bool, input: &Shape, reqs: &mut Vec<Requirement>) -> Result<Shape, ShapeError> {
    let (c, h, w) = map(input)?;
    require_nonempty(h, w, reqs)?;
    Ok(if keep_dims {
        Shape::Map {
            c,
            h: Dim::Const(1),
            w: Dim::Const(1),
        }
    } else {
        Shape::Flat { features: c }
    })
}

fn concat_shape(inputs: &[Shape]) -> Result<Shape, ShapeError> {
    let mut c_total: i64 = 0;
    let (_, h, w) = map(&inputs[0])?;
    for s in inputs {
        let (c, _, _) = map(s)?;
        c_total = c_total.checked_add(c).ok_or(ShapeError::Overflow)?;
    }
    // Disagreeing spatial sizes are reported by the caller, which knows the branches.
    Ok(Shape::Map { c: c_total, h, w })
}

fn add_shape(first: &Shape, rest: &[Shape]) -> Result<Shape, ShapeError> {
    let (c, h, w) = map(first)?;
    for s in rest {
        let (ci, _, _) = map(s)?;
        if ci != c {
            return Err(ShapeError::message(format!(
                "adds a {ci}-channel map to a {c}-channel one; expected the same channels"
            )));
        }
    }
    // Disagreeing spatial sizes are reported by the caller, as for a concatenation.
    Ok(Shape::Map { c, h, w })
}

fn mul_shape(first: &Shape, rest: &[Shape]) -> Result<Shape, ShapeError> {
    let (c, h, w) = map(first)?;
    for s in rest {
        let (ci, hi, wi) = map(s)?;
        let gate = hi == Dim::Const(1) && wi == Dim::Const(1);
        if ci != c || !(gate || (hi == h && wi == w)) {
            return Err(ShapeError::message(format!(
                "multiplies a {c}×{}×{} map by a {ci}×{}×{} one; expected a {c}×1×1 gate or the same shape",
                h, w, hi, wi
            )));
        }
    }
    Ok(Shape::Map { c, h, w })
}

fn flatten_shape(input: &Shape, reference: (i64, i64), reqs: &mut Vec<Requirement>) -> Result<Shape, ShapeError> {
    match *input {
        Shape::Flat { features } => Ok(Shape::Flat { features }),
        Shape::Map { c, h, w } => {
            let mut features = c;
            for (d, v) in [(h, reference.0), (w, reference.1)] {
                // An earlier window that does not fit at the reference leaves no map; its
                // own requirement refuses the reference (derive reports it there, or
                // reads the table another way). The count is then the one of a 1×1 map,
                // and the sizes that give it are the ones the flatten accepts.
                let at = d.eval(v).max(1);
                if let (Some(axis), Some((lo, hi))) = (d.axis(), d.range_for(at)) {
                    reqs.push(Requirement::Between { axis, lo, hi });
                }
                features = features.checked_mul(at).ok_or(ShapeError::Overflow)?;
            }
            Ok(Shape::Flat { features })
        }
    }
}
