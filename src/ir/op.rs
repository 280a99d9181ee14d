//! The primitive ops the graph is made of, their parameter counts, and their short names.
//! Each op's shape rule is in `infer.rs`; its `# Shape` line here says it in brief.

use std::fmt;

use super::{Activation, PoolKind};
use crate::shape::WindowRounding;

/// Padding of a conv or pool: the same on both sides of each axis, or TF's SAME.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pad {
    Explicit(i64, i64),
    Same,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv {
    pub out: i64,
    pub kernel: (i64, i64),
    pub stride: (i64, i64),
    pub pad: Pad,
    pub groups: i64,
    pub bias: bool,
    /// Spacing of the kernel's taps (1: a plain conv).
    pub dilation: (i64, i64),
}

impl Conv {
    /// The extent the kernel covers on each axis, d·(k − 1) + 1 (saturating; the shape
    /// rule refuses a conv where it overflows).
    pub fn window_kernel(&self) -> (i64, i64) {
        let eff = |k: i64, d: i64| crate::shape::dim::dilated_kernel(k, d).unwrap_or(i64::MAX);
        (eff(self.kernel.0, self.dilation.0), eff(self.kernel.1, self.dilation.1))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    pub kind: PoolKind,
    pub kernel: (i64, i64),
    pub stride: (i64, i64),
    pub pad: Pad,
    /// Floor, or ceil under PyTorch's or Caffe's rule (ignored with SAME padding).
    pub rounding: WindowRounding,
    pub count_include_pad: bool,
}

/// A primitive op. Shapes are written as PyTorch's, the batch N first; H and W are closed
/// forms of the input size (see `shape::dim`).
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// The network's input.
    ///
    /// # Shape
    /// `() -> (N, channels, H, W)`, H and W the input size.
    Input { channels: i64 },
    /// # Shape
    /// `(N, C, H, W) -> (N, out, floor((H + 2p - d(k - 1) - 1)/s) + 1, …)` per axis; with
    /// SAME padding `ceil(H/s)`. `groups` divides C and `out`; the window must fit.
    Conv(Conv),
    /// # Shape
    /// `(N, C, H, W) -> (N, C, H, W)`, or `(N, F) -> (N, F)`.
    BatchNorm { eps: f64, momentum: f64, scale: bool },
    /// # Shape
    /// `(N, C, H, W) -> (N, C, H, W)`, or `(N, F) -> (N, F)`.
    Relu,
    /// # Shape
    /// `(N, C, H, W) -> (N, C, floor((H + 2p - k)/s) + 1, …)` per axis; with ceil rounding
    /// `ceil((H + 2p - k)/s) + 1`, less a last window that starts in the right padding (PyTorch's
    /// or Caffe's rule); with SAME padding `ceil(H/s)`. p is at most k/2; the window must fit.
    Pool(Pool),
    /// # Shape
    /// `(N, C, H, W) -> (N, C, size.0, size.1)`, H, W ≥ 1.
    AdaptiveAvgPool { size: (i64, i64) },
    /// # Shape
    /// `(N, C1, H, W), (N, C2, H, W), … -> (N, C1 + C2 + …, H, W)`; where the branches'
    /// H or W differ for some input sizes, lowering records where they agree.
    Concat,
    /// Elementwise sum of same-shaped inputs (a residual connection).
    ///
    /// # Shape
    /// `(N, C, H, W), (N, C, H, W), … -> (N, C, H, W)`; H and W as for [`Op::Concat`].
    Add,
    /// Elementwise product of a map and a C×1×1 gate broadcast over H×W (squeeze-and-excitation).
    ///
    /// # Shape
    /// `(N, C, H, W), (N, C, 1, 1) -> (N, C, H, W)`, or two maps of the same shape.
    Mul,
    /// # Shape
    /// `(N, C, H, W) -> (N, C·H·W)`, H and W taken at the reference input size (so the input
    /// size must give those); `(N, F) -> (N, F)`.
    Flatten,
    /// # Shape
    /// `(N, F) -> (N, out)`; a map is refused (lowering flattens it first).
    Linear { out: i64, bias: bool },
    /// # Shape
    /// `(N, C, H, W) -> (N, C, H, W)`, or `(N, F) -> (N, F)`.
    Dropout { p: f64 },
    /// # Shape
    /// `(N, C, H, W) -> (N, C, H, W)`, or `(N, F) -> (N, F)`.
    Softmax,
    /// An activation other than ReLU (which keeps its own op, [`Op::Relu`]).
    ///
    /// # Shape
    /// `(N, C, H, W) -> (N, C, H, W)`, or `(N, F) -> (N, F)`.
    Activation(Activation),
    /// PyTorch's `LocalResponseNorm`: x / (k + alpha/size · Σ x²)^beta over `size` channels.
    ///
    /// # Shape
    /// `(N, C, H, W) -> (N, C, H, W)`.
    Lrn { size: i64, alpha: f64, beta: f64, k: f64 },
    /// Max or mean over H×W: a vector of C, or C×1×1 with `keep_dims`.
    ///
    /// # Shape
    /// `(N, C, H, W) -> (N, C)`, or `(N, C, 1, 1)` with `keep_dims`; H, W ≥ 1.
    GlobalPool { kind: PoolKind, keep_dims: bool },
}

impl Op {
    /// A short name for tables: `conv 3×3/2`, `max pool 3×3/2 ceil`.
    pub fn describe(&self) -> String {
        self.description().to_string()
    }

    /// `describe` as a `Display`, so that a long report can write it in place instead of
    /// allocating a string per layer.
    pub fn description(&self) -> Description<'_> {
        Description(self)
    }

    /// Weights and biases, given the input channels (or features); saturates at i64::MAX.
    pub fn params(&self, in_channels: i64) -> i64 {
        match self {
            Op::Conv(c) => c
                .kernel
                .0
                .saturating_mul(c.kernel.1)
                .saturating_mul(in_channels / c.groups.max(1))
                .saturating_mul(c.out)
                .saturating_add(if c.bias { c.out } else { 0 }),
            Op::BatchNorm { scale, .. } => in_channels.saturating_mul(if *scale { 2 } else { 1 }),
            Op::Linear { out, bias } => in_channels
                .saturating_mul(*out)
                .saturating_add(if *bias { *out } else { 0 }),
            _ => 0,
        }
    }

    /// Non-learned state (BN running mean and variance).
    pub fn buffers(&self, in_channels: i64) -> i64 {
        match self {
            Op::BatchNorm { .. } => in_channels.saturating_mul(2),
            _ => 0,
        }
    }
}

/// A kernel or window: `3×3`.
struct K((i64, i64));
impl fmt::Display for K {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}×{}", self.0.0, self.0.1)
    }
}
/// A stride: `2`, or `2×1` when the axes differ.
struct S((i64, i64));
impl fmt::Display for S {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.0 == self.0.1 {
            write!(f, "{}", self.0.0)
        } else {
            write!(f, "{}×{}", self.0.0, self.0.1)
        }
    }
}
/// Padding as a suffix: ` same`, ` pad 1`, ` pad 1×2`, or nothing for none.
struct P(Pad);
impl fmt::Display for P {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Pad::Same => f.write_str(" same"),
            Pad::Explicit(0, 0) => Ok(()),
            Pad::Explicit(a, b) if a == b => write!(f, " pad {a}"),
            Pad::Explicit(a, b) => write!(f, " pad {a}×{b}"),
        }
    }
}
/// Dilation as a suffix: ` dilation 2`, or nothing for a plain conv.
struct D((i64, i64));
impl fmt::Display for D {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == (1, 1) {
            Ok(())
        } else {
            write!(f, " dilation {}", S(self.0))
        }
    }
}

/// An op's short name for tables; see [`Op::describe`].
pub struct Description<'a>(&'a Op);

impl fmt::Display for Description<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Op::Input { channels } => write!(f, "input {channels}"),
            Op::Conv(c) if c.groups > 1 => write!(
                f,
                "conv {}/{} groups {}{}{}",
                K(c.kernel),
                S(c.stride),
                c.groups,
                P(c.pad),
                D(c.dilation)
            ),
            Op::Conv(c) => write!(f, "conv {}/{}{}{}", K(c.kernel), S(c.stride), P(c.pad), D(c.dilation)),
            Op::BatchNorm { .. } => f.write_str("batch norm"),
            Op::Relu => f.write_str("relu"),
            Op::Pool(p) => {
                let kind = match p.kind {
                    PoolKind::Max => "max",
                    PoolKind::Avg => "avg",
                };
                let r = match (p.pad, p.rounding) {
                    (Pad::Same, _) | (_, WindowRounding::Floor) | (_, WindowRounding::Same) => "",
                    _ => " ceil",
                };
                write!(f, "{kind} pool {}/{}{}{r}", K(p.kernel), S(p.stride), P(p.pad))
            }
            Op::AdaptiveAvgPool { size } => write!(f, "adaptive avg pool {}", K(*size)),
            Op::Concat => f.write_str("concat"),
            Op::Add => f.write_str("add"),
            Op::Mul => f.write_str("mul"),
            Op::Flatten => f.write_str("flatten"),
            Op::Linear { out, .. } => write!(f, "linear → {out}"),
            Op::Dropout { p } => write!(f, "dropout {p}"),
            Op::Softmax => f.write_str("softmax"),
            Op::Activation(a) => f.write_str(a.word()),
            Op::Lrn { size, alpha, beta, k } => write!(f, "lrn {size} alpha {alpha} beta {beta} k {k}"),
            Op::GlobalPool { kind, keep_dims } => {
                let to = if *keep_dims { "C×1×1" } else { "vector" };
                write!(f, "global {kind} pool → {to}")
            }
        }
    }
}
