//! Shape rules per primitive op, on symbolic spatial sizes, and the input constraints they
//! imply.

pub mod dim;

pub use dim::{Axis, Dim, Overflow, Window, WindowRounding};

use crate::ir::{Op, Pad};

/// The shape of one image's activation (the batch N stays symbolic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    /// C×H×W.
    Map { c: i64, h: Dim, w: Dim },
    /// A feature vector.
    Flat { features: i64 },
}

impl Shape {
    pub fn channels(&self) -> i64 {
        match *self {
            Shape::Map { c, .. } => c,
            Shape::Flat { features } => features,
        }
    }

    /// Elements per image at input size (h, w).
    pub fn elements(&self, h: i64, w: i64) -> i64 {
        match *self {
            Shape::Map { c, h: dh, w: dw } => c.saturating_mul(dh.eval(h).max(0)).saturating_mul(dw.eval(w).max(0)),
            Shape::Flat { features } => features,
        }
    }

    /// The dims at input size (h, w): [C, H, W] or [F].
    pub fn at(&self, h: i64, w: i64) -> Vec<i64> {
        match *self {
            Shape::Map { c, h: dh, w: dw } => vec![c, dh.eval(h), dw.eval(w)],
            Shape::Flat { features } => vec![features],
        }
    }

    /// `576×floor(H/16)×floor(W/16)`; a form with a top-level sum is parenthesised:
    /// `1024×(ceil(H/32) - 6)×(ceil(W/32) - 6)`.
    pub fn symbolic(&self) -> String {
        match self {
            Shape::Map { c, h, w } => format!("{c}×{}×{}", paren(&h.to_string()), paren(&w.to_string())),
            Shape::Flat { features } => format!("{features}"),
        }
    }
}

/// Parenthesises a form with a top-level + or -, so that `×` binds as read.
pub fn paren(s: &str) -> String {
    let mut depth = 0;
    for ch in s.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            '+' | '-' if depth == 0 => return format!("({s})"),
            _ => {}
        }
    }
    s.to_string()
}

/// What an op requires of its input size for the op to be valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// The input's `axis` must be at least `min` (from a window that must fit).
    AtLeast { axis: Axis, min: i64 },
    /// The input's `axis` must lie in [lo, hi] (a flatten feeding fixed-size layers).
    Between { axis: Axis, lo: i64, hi: i64 },
}

impl Requirement {
    pub fn axis(&self) -> Axis {
        match *self {
            Requirement::AtLeast { axis, .. } | Requirement::Between { axis, .. } => axis,
        }
    }

    /// The smallest size it allows.
    pub fn lowest(&self) -> i64 {
        match *self {
            Requirement::AtLeast { min, .. } => min,
            Requirement::Between { lo, .. } => lo,
        }
    }

    /// Whether input size `v` on its axis satisfies it.
    pub fn holds(&self, v: i64) -> bool {
        match *self {
            Requirement::AtLeast { min, .. } => v >= min,
            Requirement::Between { lo, hi, .. } => (lo..=hi).contains(&v),
        }
    }
}

/// An op cannot be applied to its input, whatever the input size.
#[derive(Debug, Clone, PartialEq)]
pub enum ShapeError {
    Overflow,
    Message(String),
}

impl From<Overflow> for ShapeError {
    fn from(_: Overflow) -> Self {
        ShapeError::Overflow
    }
}

fn msg(s: impl Into<String>) -> ShapeError {
    ShapeError::Message(s.into())
}

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

/// Applies windows to a map, collecting the requirement that each window fits.
fn apply(h: Dim, w: Dim, wins: (Window, Window), out_c: i64, reqs: &mut Vec<Requirement>) -> Result<Shape, ShapeError> {
    let mut dims = [h, w];
    for (i, win) in [wins.0, wins.1].iter().enumerate() {
        let d = dims[i];
        let need = win.min_input();
        match d {
            Dim::Const(x) if x < need => {
                return Err(msg(format!(
                    "a {}×{}/{} window with padding {} needs an input of at least {need}, it gets {x}",
                    wins.0.kernel, wins.1.kernel, win.stride, win.pad
                )));
            }
            Dim::Const(_) => {}
            Dim::Floor { axis, .. } => {
                if let Some(min) = d.min_var_for(need)? {
                    reqs.push(Requirement::AtLeast { axis, min });
                }
            }
        }
        dims[i] = d.window(win)?;
    }
    Ok(Shape::Map {
        c: out_c,
        h: dims[0],
        w: dims[1],
    })
}

/// The output shape of `op` on `inputs`, and what it requires of the input size. `reference`
/// is the reference input size, used to fix the size a flatten produces.
pub fn infer(op: &Op, inputs: &[Shape], reference: (i64, i64)) -> Result<(Shape, Vec<Requirement>), ShapeError> {
    let mut reqs = Vec::new();
    let map = |s: &Shape| match *s {
        Shape::Map { c, h, w } => Ok((c, h, w)),
        Shape::Flat { features } => Err(msg(format!(
            "expected a C×H×W map, found a vector of {features} features"
        ))),
    };
    let first = inputs.first();
    let out = match op {
        Op::Input { channels } => Shape::Map {
            c: *channels,
            h: Dim::input(Axis::H),
            w: Dim::input(Axis::W),
        },
        Op::Conv(conv) => {
            let (c, h, w) = map(first.expect("conv has an input"))?;
            if conv.groups < 1 || c % conv.groups != 0 || conv.out % conv.groups != 0 {
                return Err(msg(format!(
                    "groups {} must divide the input channels {c} and the output channels {}",
                    conv.groups, conv.out
                )));
            }
            if let Pad::Explicit(ph, pw) = conv.pad
                && (ph < 0 || pw < 0)
            {
                return Err(msg("padding must not be negative"));
            }
            apply(
                h,
                w,
                windows(conv.kernel, conv.stride, conv.pad, WindowRounding::Floor),
                conv.out,
                &mut reqs,
            )?
        }
        Op::Pool(p) => {
            let (c, h, w) = map(first.expect("pool has an input"))?;
            if let Pad::Explicit(ph, pw) = p.pad
                && (ph < 0 || pw < 0 || ph.saturating_mul(2) > p.kernel.0 || pw.saturating_mul(2) > p.kernel.1)
            {
                return Err(msg(format!(
                    "pool padding {ph}×{pw} must be at most half the kernel {}×{} (PyTorch and Caffe both require it)",
                    p.kernel.0, p.kernel.1
                )));
            }
            let rounding = p.rounding;
            apply(h, w, windows(p.kernel, p.stride, p.pad, rounding), c, &mut reqs)?
        }
        Op::AdaptiveAvgPool { size } => {
            let (c, h, w) = map(first.expect("pool has an input"))?;
            for (d, axis) in [(h, Axis::H), (w, Axis::W)] {
                if let Some(min) = d.min_var_for(1)? {
                    reqs.push(Requirement::AtLeast { axis, min });
                }
            }
            Shape::Map {
                c,
                h: Dim::Const(size.0),
                w: Dim::Const(size.1),
            }
        }
        Op::BatchNorm { .. } | Op::Relu | Op::Dropout { .. } | Op::Softmax => *first.expect("unary op has an input"),
        Op::Concat => {
            let mut c_total: i64 = 0;
            let (_, h, w) = map(&inputs[0])?;
            for s in inputs {
                let (c, _, _) = map(s)?;
                c_total = c_total.checked_add(c).ok_or(ShapeError::Overflow)?;
            }
            // Disagreeing spatial sizes are reported by the caller, which knows the branches.
            Shape::Map { c: c_total, h, w }
        }
        Op::Flatten => match *first.expect("flatten has an input") {
            Shape::Flat { features } => Shape::Flat { features },
            Shape::Map { c, h, w } => {
                let mut features = c;
                for (d, v) in [(h, reference.0), (w, reference.1)] {
                    let at = d.eval(v);
                    if let (Some(axis), Some((lo, hi))) = (d.axis(), d.range_for(at)) {
                        reqs.push(Requirement::Between { axis, lo, hi });
                    }
                    features = features.checked_mul(at).ok_or(ShapeError::Overflow)?;
                }
                Shape::Flat { features }
            }
        },
        Op::Linear { out, .. } => match *first.expect("linear has an input") {
            Shape::Flat { .. } => Shape::Flat { features: *out },
            Shape::Map { c, .. } => {
                return Err(msg(format!(
                    "linear needs a vector; its input is a {c}-channel map (add flatten)"
                )));
            }
        },
    };
    Ok((out, reqs))
}

/// Where branches' spatial sizes agree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Agreement {
    Always,
    /// For v ≡ r (mod modulus), r in residues.
    Periodic {
        modulus: i64,
        residues: Vec<i64>,
    },
    /// Only for these v (from the smallest valid input on), possibly none.
    Only(Vec<i64>),
}

/// For which input sizes all `dims` (on one axis) are equal, from `from` on.
pub fn agreement(dims: &[Dim], from: i64) -> Agreement {
    if dims.windows(2).all(|p| p[0] == p[1]) {
        return Agreement::Always;
    }
    let equal_at = |v: i64| dims.windows(2).all(|p| p[0].eval(v) == p[1].eval(v));
    let divisors: Vec<i64> = dims
        .iter()
        .filter_map(|d| {
            if let Dim::Floor { divisor, .. } = d {
                Some(*divisor)
            } else {
                None
            }
        })
        .collect();
    let all_floor_same = divisors.len() == dims.len() && divisors.windows(2).all(|p| p[0] == p[1]);
    if all_floor_same {
        let m = divisors[0];
        let residues: Vec<i64> = (0..m).filter(|r| equal_at(from + (r - from).rem_euclid(m))).collect();
        return Agreement::Periodic { modulus: m, residues };
    }
    // Different slopes: they meet on a bounded stretch only.
    let span: i64 = divisors
        .iter()
        .copied()
        .max()
        .unwrap_or(1)
        .saturating_mul(64)
        .clamp(64, 1 << 20);
    Agreement::Only(
        (from.max(1)..from.max(1).saturating_add(span))
            .filter(|v| equal_at(*v))
            .take(64)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stride_two_conv_and_padded_ceil_pool_disagree_on_even_sizes() {
        // conv 3×3/2 pad 1 vs max pool 3×3/2 pad 1 ceil, fed the same floor((H+3)/4)... here H.
        let h = Dim::input(Axis::H);
        let conv = h
            .window(&Window {
                kernel: 3,
                stride: 2,
                pad: 1,
                rounding: WindowRounding::Floor,
            })
            .unwrap();
        let pool = h
            .window(&Window {
                kernel: 3,
                stride: 2,
                pad: 1,
                rounding: WindowRounding::CeilPytorch,
            })
            .unwrap();
        match agreement(&[conv, pool], 1) {
            Agreement::Periodic { modulus: 2, residues } => assert_eq!(residues, vec![1]),
            other => panic!("{other:?}"),
        }
        let pool0 = h
            .window(&Window {
                kernel: 3,
                stride: 2,
                pad: 0,
                rounding: WindowRounding::CeilPytorch,
            })
            .unwrap();
        // Without padding the ceil pool gives floor(H/2), the conv floor((H + 1)/2): even H only.
        assert_eq!(
            agreement(&[conv, pool0], 3),
            Agreement::Periodic {
                modulus: 2,
                residues: vec![0]
            }
        );
        assert_eq!(agreement(&[conv, conv], 3), Agreement::Always);
    }
}
