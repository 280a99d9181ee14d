//! How a conv or pool is computed by a framework whose own ops know only symmetric padding
//! and PyTorch's rounding: the one plan both the tch model (`torch::model`) and the PyTorch
//! emitter (`emit`) follow, so they compute what derive derives.
//!
//! Sizes come from [`Window::apply_numeric`], the numeric reference of derive's closed forms.
//! Per op and input size, a [`Plan`]: the framework's op with its own padding and ceil mode,
//! or explicit padding to an exact extent, then the op without padding. For generated code,
//! which fixes what it can when it is written, a [`Scheme`]: what the plans are at every
//! input size.
//!
//! - TF SAME (convs and pools): total padding max((ceil(x/s) - 1)·s + k - x, 0) per axis,
//!   the smaller half before. At stride 1 with an odd kernel that is (k-1)/2 on both sides
//!   for every input.
//! - Caffe's ceil rule keeps, on an axis without padding, a last window that starts past
//!   the input, which PyTorch drops. It can differ from PyTorch's only where kernel <
//!   stride; at the sizes where it does, the pool is padded to Caffe's extent.
//! - A padding libtorch refuses (more than half a pool's kernel; the shape rules reject it
//!   already) is padded explicitly too.

use crate::ir::{Conv, Pad, Pool};
use crate::shape::{Window, WindowRounding};

/// How one axis is padded explicitly before a padding-free window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AxisPad {
    /// Cells added before the input.
    pub before: i64,
    /// The extent the windows cover, (out - 1)·stride + kernel, measured from the first
    /// padded cell: the padded axis is cut or extended to exactly this.
    pub extent: i64,
    /// The counted cells (for an avg pool's divisor), in padded coordinates.
    pub counted: (i64, i64),
}

impl AxisPad {
    /// Cells added after an input of `x` cells (none where the extent cuts into it).
    ///
    /// # Shapes
    /// `x` is the axis's input size; before + x + after >= extent.
    pub fn after(&self, x: i64) -> i64 {
        (self.extent - self.before - x).max(0)
    }
}

/// How a conv or pool runs at one input size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// The framework's op with padding `pad` (H, W) on both sides and this ceil mode.
    Native { pad: (i64, i64), ceil_mode: bool },
    /// Explicit padding (H, then W), the map cut or extended to the windows' extent, then the
    /// op without padding in floor mode.
    Padded { h: AxisPad, w: AxisPad },
}

/// What a conv's or pool's plans are over every input size, for code that is written once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `Plan::Native` with these arguments at every input size.
    Native { pad: (i64, i64), ceil_mode: bool },
    /// `Plan::Padded` with `pad` (H, W) cells on both sides at every input size and no cut
    /// (TF SAME at stride 1 with odd kernels): the op's own padding computes the same where
    /// it is left out of an avg pool's count.
    Symmetric { pad: (i64, i64) },
    /// TF SAME whose padding depends on the input size: `Plan::Padded` by [`same_axis`].
    SameFromInput,
    /// Ceil mode under Caffe's rule where it can keep a window past the input:
    /// `Plan::Native { pad, ceil_mode: true }`, extended at the sizes where Caffe's count is
    /// larger ([`caffe_extra_windows`]).
    CaffeFromInput { pad: (i64, i64) },
}

/// TF SAME along one axis of size `x`.
///
/// # Shapes
/// out = ceil(x/s), extent (out - 1)·s + k, total padding max(extent - x, 0) split with the
/// smaller half before; the counted cells are the input's.
pub fn same_axis(x: i64, k: i64, s: i64) -> AxisPad {
    let out = window(k, s, 0, WindowRounding::Same).apply_numeric(x);
    let extent = (out - 1) * s + k;
    let total = (extent - x).max(0);
    let before = total / 2;
    AxisPad {
        before,
        extent,
        counted: (before, before + x),
    }
}

/// A window with explicit padding `p` and output `out` along an axis of size `x`.
///
/// # Shapes
/// extent (out - 1)·s + k from `p` cells before the input; counted: the padding and the
/// input with `count_include_pad`, the input alone without (never a ceil window's
/// overhang past the padding, as PyTorch and Caffe count).
pub fn explicit_axis(x: i64, k: i64, s: i64, p: i64, out: i64, count_include_pad: bool) -> AxisPad {
    let extent = (out - 1) * s + k;
    let counted = if count_include_pad { (0, x + 2 * p) } else { (p, p + x) };
    AxisPad {
        before: p,
        extent,
        counted,
    }
}

fn window(kernel: i64, stride: i64, pad: i64, rounding: WindowRounding) -> Window {
    Window {
        kernel,
        stride,
        pad,
        rounding,
    }
}

/// Whether a pool is TF SAME: SAME padding, or SAME rounding (which ignores the padding).
///
/// # Shapes
/// A SAME pool outputs ceil(x/s) per axis, whatever its explicit padding says.
pub fn pool_is_same(p: &Pool) -> bool {
    p.pad == Pad::Same || p.rounding == WindowRounding::Same
}

/// (k-1)/2 per axis where SAME pads that on both sides for every input (stride 1, odd
/// kernels).
///
/// # Shapes
/// kernel (kh, kw), stride (sh, sw) → Some(((kh-1)/2, (kw-1)/2)) when sh = sw = 1 and kh, kw
/// odd.
pub fn same_symmetric_pad(kernel: (i64, i64), stride: (i64, i64)) -> Option<(i64, i64)> {
    (stride == (1, 1) && kernel.0 % 2 == 1 && kernel.1 % 2 == 1).then_some(((kernel.0 - 1) / 2, (kernel.1 - 1) / 2))
}

/// A conv at input size (hx, wx): its own padding, or SAME padded explicitly.
///
/// # Shapes
/// Explicit (ph, pw): native, out = floor((x + 2p - k)/s) + 1. SAME: padded by
/// [`same_axis`], out = ceil(x/s).
pub fn conv_at(c: &Conv, hx: i64, wx: i64) -> Plan {
    match c.pad {
        Pad::Explicit(ph, pw) => Plan::Native {
            pad: (ph, pw),
            ceil_mode: false,
        },
        // A dilated kernel pads by the extent it covers, as TF computes SAME.
        Pad::Same => Plan::Padded {
            h: same_axis(hx, c.window_kernel().0, c.stride.0),
            w: same_axis(wx, c.window_kernel().1, c.stride.1),
        },
    }
}

/// A conv's plans over every input size.
///
/// # Shapes
/// Explicit padding: native for every input; SAME: symmetric (k-1)/2 at stride 1 with odd
/// kernels, otherwise from the input.
pub fn conv_scheme(c: &Conv) -> Scheme {
    match c.pad {
        Pad::Explicit(ph, pw) => Scheme::Native {
            pad: (ph, pw),
            ceil_mode: false,
        },
        Pad::Same => match same_symmetric_pad(c.window_kernel(), c.stride) {
            Some(pad) => Scheme::Symmetric { pad },
            None => Scheme::SameFromInput,
        },
    }
}

/// The pool's output (H, W) at input (hx, wx) under `rounding`, with its explicit padding.
fn pool_out(p: &Pool, (ph, pw): (i64, i64), rounding: WindowRounding, hx: i64, wx: i64) -> (i64, i64) {
    (
        window(p.kernel.0, p.stride.0, ph, rounding).apply_numeric(hx),
        window(p.kernel.1, p.stride.1, pw, rounding).apply_numeric(wx),
    )
}

/// A pool at input size (hx, wx): libtorch's own op where it computes the convention's
/// windows, explicit padding otherwise.
///
/// # Shapes
/// Floor and PyTorch ceil: native. Caffe ceil: native where Caffe's count equals
/// PyTorch's, else padded to Caffe's extent. SAME: padded by [`same_axis`]. A padding over
/// half the kernel: padded to the convention's count.
pub fn pool_at(p: &Pool, hx: i64, wx: i64) -> Plan {
    let same = || Plan::Padded {
        h: same_axis(hx, p.kernel.0, p.stride.0),
        w: same_axis(wx, p.kernel.1, p.stride.1),
    };
    let pad = match p.pad {
        _ if pool_is_same(p) => return same(),
        Pad::Explicit(ph, pw) => (ph, pw),
        Pad::Same => unreachable!("SAME handled above"),
    };
    // libtorch refuses padding over half the kernel.
    let native_ok = 2 * pad.0 <= p.kernel.0 && 2 * pad.1 <= p.kernel.1;
    let ceil_mode = match p.rounding {
        WindowRounding::Floor => Some(false),
        WindowRounding::CeilPytorch => Some(true),
        WindowRounding::CeilCaffe
            if pool_out(p, pad, WindowRounding::CeilCaffe, hx, wx)
                == pool_out(p, pad, WindowRounding::CeilPytorch, hx, wx) =>
        {
            Some(true)
        }
        WindowRounding::CeilCaffe => None,
        WindowRounding::Same => unreachable!("SAME handled above"),
    };
    match ceil_mode {
        Some(ceil_mode) if native_ok => Plan::Native { pad, ceil_mode },
        _ => {
            let (oh, ow) = pool_out(p, pad, p.rounding, hx, wx);
            Plan::Padded {
                h: explicit_axis(hx, p.kernel.0, p.stride.0, pad.0, oh, p.count_include_pad),
                w: explicit_axis(wx, p.kernel.1, p.stride.1, pad.1, ow, p.count_include_pad),
            }
        }
    }
}

/// Whether Caffe's ceil rule can give some input more windows than PyTorch's on an axis: the
/// axis has no padding and a kernel smaller than the stride.
///
/// # Shapes
/// With padding, or with kernel >= stride, a window starting past the input end cannot
/// arise, so the counts agree for every input.
pub fn caffe_extra_windows(p: &Pool) -> bool {
    let Pad::Explicit(ph, pw) = p.pad else { return false };
    p.rounding == WindowRounding::CeilCaffe
        && ((ph == 0 && p.kernel.0 < p.stride.0) || (pw == 0 && p.kernel.1 < p.stride.1))
}

/// A pool's plans over every input size.
///
/// # Shapes
/// SAME: symmetric (k-1)/2 at stride 1 with odd kernels, otherwise from the input; Caffe
/// ceil with possible extra windows: from the input; otherwise native with the pool's
/// padding and ceil mode for every input.
pub fn pool_scheme(p: &Pool) -> Scheme {
    if pool_is_same(p) {
        return match same_symmetric_pad(p.kernel, p.stride) {
            Some(pad) => Scheme::Symmetric { pad },
            None => Scheme::SameFromInput,
        };
    }
    let Pad::Explicit(ph, pw) = p.pad else {
        unreachable!("SAME handled above")
    };
    if caffe_extra_windows(p) {
        Scheme::CaffeFromInput { pad: (ph, pw) }
    } else {
        Scheme::Native {
            pad: (ph, pw),
            ceil_mode: p.rounding != WindowRounding::Floor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::PoolKind;

    #[test]
    fn same_padding_splits_smaller_half_first() {
        // 224, k 7, s 2: out 112, extent 229, total 5 → 2 before, 3 after.
        let a = same_axis(224, 7, 2);
        assert_eq!((a.before, a.extent, a.after(224)), (2, 229, 3));
        // 1×1/2 on 5: out 3, extent 5, no padding.
        assert_eq!(same_axis(5, 1, 2).before, 0);
        // 3×3/2 on 4: out 2, extent 5: one cell after.
        let a = same_axis(4, 3, 2);
        assert_eq!((a.before, a.extent, a.counted, a.after(4)), (0, 5, (0, 4), 1));
    }

    #[test]
    fn caffe_extra_window_is_padded() {
        let p = Pool {
            kind: PoolKind::Max,
            kernel: (1, 1),
            stride: (2, 2),
            pad: Pad::Explicit(0, 0),
            rounding: WindowRounding::CeilCaffe,
            count_include_pad: true,
        };
        match pool_at(&p, 4, 5) {
            Plan::Padded { h, w } => {
                assert_eq!(h.extent, 5); // 3 windows: 0, 2, 4
                assert_eq!(w.extent, 5);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(pool_scheme(&p), Scheme::CaffeFromInput { pad: (0, 0) });
        let p3 = Pool { kernel: (3, 3), ..p };
        // 3×3/2 on 28, no padding: both rules give 14.
        assert_eq!(
            pool_at(&p3, 28, 28),
            Plan::Native {
                pad: (0, 0),
                ceil_mode: true
            }
        );
        assert_eq!(
            pool_scheme(&p3),
            Scheme::Native {
                pad: (0, 0),
                ceil_mode: true
            }
        );
    }

    /// Every pool and conv the shape rules accept, on small inputs.
    fn pools() -> Vec<Pool> {
        let mut out = Vec::new();
        for kind in [PoolKind::Max, PoolKind::Avg] {
            for k in 1..=5 {
                for s in 1..=4 {
                    for rounding in [
                        WindowRounding::Floor,
                        WindowRounding::CeilPytorch,
                        WindowRounding::CeilCaffe,
                        WindowRounding::Same,
                    ] {
                        let mut pads: Vec<Pad> = (0..=k / 2).map(|p| Pad::Explicit(p, 0)).collect();
                        pads.push(Pad::Same);
                        for pad in pads {
                            for count_include_pad in [false, true] {
                                out.push(Pool {
                                    kind,
                                    kernel: (k, 6 - k),
                                    stride: (s, 5 - s),
                                    pad,
                                    rounding,
                                    count_include_pad,
                                });
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// What a plan computes: the output size along each axis.
    fn plan_out(plan: Plan, kernel: (i64, i64), stride: (i64, i64), hx: i64, wx: i64) -> (i64, i64) {
        match plan {
            Plan::Native { pad, ceil_mode } => {
                let r = if ceil_mode {
                    WindowRounding::CeilPytorch
                } else {
                    WindowRounding::Floor
                };
                (
                    window(kernel.0, stride.0, pad.0, r).apply_numeric(hx),
                    window(kernel.1, stride.1, pad.1, r).apply_numeric(wx),
                )
            }
            Plan::Padded { h, w } => (
                (h.extent - kernel.0) / stride.0 + 1,
                (w.extent - kernel.1) / stride.1 + 1,
            ),
        }
    }

    /// The scheme says what every size's plan is, and every plan computes derive's size.
    #[test]
    fn schemes_agree_with_the_plans_at_every_size() {
        for p in pools() {
            let scheme = pool_scheme(&p);
            let (r, pad) = match p.pad {
                _ if pool_is_same(&p) => (WindowRounding::Same, (0, 0)),
                Pad::Explicit(a, b) => (p.rounding, (a, b)),
                Pad::Same => unreachable!(),
            };
            for hx in 1..=24 {
                for wx in [hx, hx + 3] {
                    let want = (
                        window(p.kernel.0, p.stride.0, pad.0, r).apply_numeric(hx),
                        window(p.kernel.1, p.stride.1, pad.1, r).apply_numeric(wx),
                    );
                    if want.0 < 1 || want.1 < 1 {
                        continue;
                    }
                    let plan = pool_at(&p, hx, wx);
                    assert_eq!(plan_out(plan, p.kernel, p.stride, hx, wx), want, "{p:?} at {hx}×{wx}");
                    match (scheme, plan) {
                        (Scheme::Native { pad, ceil_mode }, _) => {
                            assert_eq!(plan, Plan::Native { pad, ceil_mode }, "{p:?} at {hx}×{wx}")
                        }
                        (Scheme::Symmetric { pad }, Plan::Padded { h, w }) => {
                            assert_eq!((h.before, h.after(hx), h.extent), (pad.0, pad.0, hx + 2 * pad.0));
                            assert_eq!((w.before, w.after(wx), w.extent), (pad.1, pad.1, wx + 2 * pad.1));
                        }
                        (Scheme::SameFromInput, Plan::Padded { .. }) => {}
                        (Scheme::CaffeFromInput { pad }, Plan::Native { .. }) => {
                            assert_eq!(plan, Plan::Native { pad, ceil_mode: true })
                        }
                        (Scheme::CaffeFromInput { .. }, Plan::Padded { h, w }) => {
                            // Padded where Caffe keeps a window PyTorch drops.
                            let pytorch = plan_out(Plan::Native { pad, ceil_mode: true }, p.kernel, p.stride, hx, wx);
                            assert!(pytorch != want, "{p:?} at {hx}×{wx}: {h:?} {w:?}");
                        }
                        other => panic!("{p:?} at {hx}×{wx}: {other:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn conv_schemes_agree_with_the_plans() {
        for k in 1..=5 {
            for s in 1..=3 {
                for (pad, dilation) in [
                    (Pad::Same, (1, 1)),
                    (Pad::Same, (2, 3)),
                    (Pad::Explicit(0, 1), (1, 1)),
                    (Pad::Explicit(k, 0), (1, 2)),
                ] {
                    let c = Conv {
                        out: 1,
                        kernel: (k, 6 - k),
                        stride: (s, 4 - s),
                        pad,
                        groups: 1,
                        bias: false,
                        dilation,
                    };
                    for x in k.max(6 - k)..=20 {
                        let plan = conv_at(&c, x, x + 1);
                        match (conv_scheme(&c), plan) {
                            (Scheme::Native { pad, ceil_mode }, _) => {
                                assert_eq!(plan, Plan::Native { pad, ceil_mode })
                            }
                            (Scheme::Symmetric { pad }, Plan::Padded { h, w }) => {
                                assert_eq!((h.before, h.after(x)), (pad.0, pad.0));
                                assert_eq!((w.before, w.after(x + 1)), (pad.1, pad.1));
                            }
                            (Scheme::SameFromInput, Plan::Padded { h, w }) => {
                                // TF SAME covers the dilated kernel's extent d·(k - 1) + 1.
                                let (kh, kw) = (dilation.0 * (k - 1) + 1, dilation.1 * (5 - k) + 1);
                                assert_eq!(h.extent, ((x + s - 1) / s - 1) * s + kh);
                                assert_eq!(w.extent, ((x + 1 + 3 - s) / (4 - s) - 1) * (4 - s) + kw);
                            }
                            other => panic!("{c:?} at {x}: {other:?}"),
                        }
                    }
                }
            }
        }
    }
}
