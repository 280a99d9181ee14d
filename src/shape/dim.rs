//! Spatial sizes as closed forms of the input size.
//!
//! Every convolution and pooling window maps a size X to floor((X + a) / s) for integers a
//! and s > 0, whatever the rounding: floor rounding, ceil rounding (with PyTorch's or
//! Caffe's rule for a last window that starts in the padding) and TF's SAME all take this
//! form. Forms of this kind compose exactly, since floor((floor((v + c)/m) + a)/s) =
//! floor((v + c + a·m)/(m·s)) for integer v, so a whole chain of layers reduces to one
//! floor((H + c)/m). That is the canonical form kept here.

use serde::Serialize;

/// Which input dimension a size depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Axis {
    H,
    W,
}

impl std::fmt::Display for Axis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Axis::H => "H",
            Axis::W => "W",
        })
    }
}

/// A spatial size: a constant, or floor((v + offset) / divisor) of the input's H or W.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dim {
    Const(i64),
    Floor { axis: Axis, offset: i64, divisor: i64 },
}

/// Arithmetic on the closed forms overflowed 64 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow;

/// How a window's output count is rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum WindowRounding {
    Floor,
    /// Ceil, dropping a last window that starts in the padding (PyTorch always).
    CeilPytorch,
    /// Ceil, dropping such a window only when there is padding (Caffe).
    CeilCaffe,
    /// TF's SAME: ceil(X / stride), padding chosen to fit.
    Same,
}

/// The extent a dilated kernel covers: d·(k − 1) + 1 taps apart by d. A window of that
/// kernel gives the dilated conv's size, in every closed form and rounding here (PyTorch's
/// and TF's formulas use exactly this extent); None where it overflows.
pub fn dilated_kernel(kernel: i64, dilation: i64) -> Option<i64> {
    dilation.checked_mul(kernel.checked_sub(1)?)?.checked_add(1)
}

/// One window along one axis: kernel, stride, padding on each side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub kernel: i64,
    pub stride: i64,
    pub pad: i64,
    pub rounding: WindowRounding,
}

impl Window {
    /// The offset a with out = floor((X + a) / stride).
    pub fn offset(&self) -> Result<i64, Overflow> {
        let (k, s, p) = (self.kernel, self.stride, self.pad);
        let sum = |xs: &[i64]| xs.iter().try_fold(0i64, |acc, x| acc.checked_add(*x)).ok_or(Overflow);
        let two_p = p.checked_mul(2).ok_or(Overflow)?;
        let two_s = s.checked_mul(2).ok_or(Overflow)?;
        Ok(match self.rounding {
            // floor((X + 2p - k)/s) + 1
            WindowRounding::Floor => sum(&[two_p, -k, s])?,
            WindowRounding::Same => s - 1,
            // ceil((X + 2p - k)/s) + 1, less one where the last window starts at or past
            // X + p; worked out, that is floor((X + p + s - 1)/s) whenever p > k - s.
            WindowRounding::CeilPytorch | WindowRounding::CeilCaffe => {
                let plain = sum(&[two_p, -k, two_s, -1])?;
                let corrected = sum(&[p, s, -1])?;
                let applies = p > k - s && (self.rounding == WindowRounding::CeilPytorch || p > 0);
                if applies { plain.min(corrected) } else { plain }
            }
        })
    }

    /// The smallest input size for which the window yields at least one output: X with
    /// floor((X + a)/s) >= 1. For floor rounding that is X + 2p >= k; a ceil-rounded pool
    /// accepts a smaller input, as PyTorch and Caffe do (one partial window).
    pub fn min_input(&self) -> i64 {
        match self.offset() {
            Ok(a) => self.stride.saturating_sub(a).max(1),
            Err(_) => i64::MAX,
        }
    }

    /// The output size for a concrete input, computed the way the frameworks do it
    /// (used as the reference for the closed form).
    pub fn apply_numeric(&self, x: i64) -> i64 {
        let (k, s, p) = (self.kernel, self.stride, self.pad);
        match self.rounding {
            WindowRounding::Floor => (x + 2 * p - k).div_euclid(s) + 1,
            WindowRounding::Same => (x + s - 1).div_euclid(s),
            WindowRounding::CeilPytorch | WindowRounding::CeilCaffe => {
                let mut out = -((-(x + 2 * p - k)).div_euclid(s)) + 1;
                let rule_applies = self.rounding == WindowRounding::CeilPytorch || p > 0;
                if rule_applies && (out - 1) * s >= x + p {
                    out -= 1;
                }
                out
            }
        }
    }
}

impl Dim {
    pub fn input(axis: Axis) -> Dim {
        Dim::Floor {
            axis,
            offset: 0,
            divisor: 1,
        }
    }

    /// The size at input size `v` of this dim's axis.
    pub fn eval(&self, v: i64) -> i64 {
        match *self {
            Dim::Const(c) => c,
            // In i128: v + offset can pass i64::MAX for absurd paddings; the size saturates
            // there (and the counts, saturating too, report the overflow).
            Dim::Floor { offset, divisor, .. } => {
                let x = (i128::from(v) + i128::from(offset)).div_euclid(i128::from(divisor));
                i64::try_from(x).unwrap_or(if x < 0 { i64::MIN } else { i64::MAX })
            }
        }
    }

    pub fn axis(&self) -> Option<Axis> {
        match self {
            Dim::Const(_) => None,
            Dim::Floor { axis, .. } => Some(*axis),
        }
    }

    /// floor((self + a) / s).
    pub fn shift_div(&self, a: i64, s: i64) -> Result<Dim, Overflow> {
        debug_assert!(s > 0);
        Ok(match *self {
            Dim::Const(c) => Dim::Const(c.checked_add(a).ok_or(Overflow)?.div_euclid(s)),
            Dim::Floor { axis, offset, divisor } => Dim::Floor {
                axis,
                offset: offset
                    .checked_add(a.checked_mul(divisor).ok_or(Overflow)?)
                    .ok_or(Overflow)?,
                divisor: divisor.checked_mul(s).ok_or(Overflow)?,
            },
        })
    }

    /// The size after `w`.
    pub fn window(&self, w: &Window) -> Result<Dim, Overflow> {
        self.shift_div(w.offset()?, w.stride)
    }

    /// The smallest v with self(v) >= t: Ok(None) when any v will do, Err(()) when none will.
    pub fn min_var_for(&self, t: i64) -> Result<Option<i64>, Overflow> {
        match *self {
            Dim::Const(c) => Ok(if c >= t { None } else { Some(i64::MAX) }),
            // floor((v + c)/m) >= t  <=>  v >= t·m - c
            Dim::Floor { offset, divisor, .. } => Ok(Some(
                t.checked_mul(divisor)
                    .and_then(|x| x.checked_sub(offset))
                    .ok_or(Overflow)?,
            )),
        }
    }

    /// The inclusive range of v for which self(v) == value (None for a constant).
    pub fn range_for(&self, value: i64) -> Option<(i64, i64)> {
        match *self {
            Dim::Const(_) => None,
            Dim::Floor { offset, divisor, .. } => {
                let lo = value.checked_mul(divisor)?.checked_sub(offset)?;
                Some((lo, lo.checked_add(divisor - 1)?))
            }
        }
    }
}

impl std::fmt::Display for Dim {
    /// The simplest of the equivalent spellings: `H`, `H - 4`, `floor((H + 1)/2)`,
    /// `ceil(H/32)`, `floor((H - 1)/32) + 1`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (axis, c, m) = match *self {
            Dim::Const(c) => return write!(f, "{c}"),
            Dim::Floor { axis, offset, divisor } => (axis, offset, divisor),
        };
        let signed = |x: i64| {
            if x < 0 {
                format!(" - {}", -(x as i128))
            } else if x > 0 {
                format!(" + {x}")
            } else {
                String::new()
            }
        };
        if m == 1 {
            return write!(f, "{axis}{}", signed(c));
        }
        // floor((H + c)/m) = floor((H + r)/m) + q with 0 <= r < m.
        let q = c.div_euclid(m);
        let r = c.rem_euclid(m);
        let floor_form = |r: i64, q: i64| {
            let inner = if r == 0 {
                format!("floor({axis}/{m})")
            } else {
                format!("floor(({axis}{})/{m})", signed(r))
            };
            format!("{inner}{}", signed(q))
        };
        // ceil(H/m) = floor((H + m - 1)/m): the shorter spelling when r = m - 1.
        let ceil_r = r - m + 1;
        let ceil_form = || {
            let inner = if ceil_r == 0 {
                format!("ceil({axis}/{m})")
            } else {
                format!("ceil(({axis}{})/{m})", signed(ceil_r))
            };
            format!("{inner}{}", signed(q))
        };
        let text = if ceil_r == 0 { ceil_form() } else { floor_form(r, q) };
        f.write_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn w(kernel: i64, stride: i64, pad: i64, rounding: WindowRounding) -> Window {
        Window {
            kernel,
            stride,
            pad,
            rounding,
        }
    }

    #[test]
    fn bn_inception_stem_reduces_to_one_floor() {
        let h = Dim::input(Axis::H);
        let conv = w(7, 2, 3, WindowRounding::Floor);
        let pool = w(3, 2, 0, WindowRounding::CeilPytorch);
        let d = h.window(&conv).unwrap().window(&pool).unwrap();
        assert_eq!(d.eval(224), 56);
        // floor((H + 6 - 7)/2) + 1 = floor((H + 1)/2), then ceil((X - 3)/2) + 1 = floor(X/2).
        assert_eq!(
            d,
            Dim::Floor {
                axis: Axis::H,
                offset: 1,
                divisor: 4
            }
        );
        assert_eq!(d.to_string(), "floor((H + 1)/4)");
    }

    #[test]
    fn pytorch_and_caffe_ceil_differ_only_without_padding() {
        // A 1×1/2 pool on 4: PyTorch drops the window starting at 4, Caffe keeps it.
        assert_eq!(w(1, 2, 0, WindowRounding::CeilPytorch).apply_numeric(4), 2);
        assert_eq!(w(1, 2, 0, WindowRounding::CeilCaffe).apply_numeric(4), 3);
        // The notes' trap: 3×3/2 pad 1 ceil turns 28 into 15, a 3×3/2 pad 1 conv gives 14.
        assert_eq!(w(3, 2, 1, WindowRounding::CeilPytorch).apply_numeric(28), 15);
        assert_eq!(w(3, 2, 1, WindowRounding::Floor).apply_numeric(28), 14);
    }

    #[test]
    fn displays_simplest_form() {
        let f = |offset, divisor| {
            Dim::Floor {
                axis: Axis::H,
                offset,
                divisor,
            }
            .to_string()
        };
        assert_eq!(f(0, 1), "H");
        assert_eq!(f(-6, 1), "H - 6");
        assert_eq!(f(31, 32), "ceil(H/32)");
        assert_eq!(f(1, 2), "ceil(H/2)");
        assert_eq!(f(0, 4), "floor(H/4)");
        assert_eq!(f(-1, 32), "ceil(H/32) - 1");
        assert_eq!(f(2, 4), "floor((H + 2)/4)");
        assert_eq!(f(5, 4), "floor((H + 1)/4) + 1");
        assert_eq!(Dim::Const(1).to_string(), "1");
    }

    #[test]
    fn min_var_and_range() {
        let d = Dim::Floor {
            axis: Axis::H,
            offset: 3,
            divisor: 4,
        };
        assert_eq!(d.min_var_for(3).unwrap(), Some(9));
        assert_eq!(d.eval(9), 3);
        assert_eq!(d.eval(8), 2);
        assert_eq!(d.range_for(56), Some((221, 224)));
    }

    fn window() -> impl Strategy<Value = Window> {
        (1i64..8, 1i64..5, 0i64..4, 0usize..4).prop_map(|(k, s, p, r)| {
            let rounding = [
                WindowRounding::Floor,
                WindowRounding::CeilPytorch,
                WindowRounding::CeilCaffe,
                WindowRounding::Same,
            ][r];
            // PyTorch requires pad <= kernel/2.
            Window {
                kernel: k,
                stride: s,
                pad: p.min(k / 2),
                rounding,
            }
        })
    }

    proptest! {
        /// The closed form of a chain equals evaluating the chain layer by layer.
        #[test]
        fn closed_form_equals_numeric_chain(chain in prop::collection::vec(window(), 1..8), h in 1i64..600) {
            let mut d = Dim::input(Axis::H);
            let mut x = h;
            let mut valid = true;
            for win in &chain {
                if x < win.min_input() { valid = false; break; }
                d = d.window(win).unwrap();
                x = win.apply_numeric(x);
                prop_assert_eq!(d.eval(h), x, "after {:?}", win);
            }
            if valid { prop_assert!(x >= 1); }
        }

        /// min_var_for gives exactly the threshold.
        #[test]
        fn min_var_is_tight(offset in -50i64..50, divisor in 1i64..64, t in 1i64..20) {
            let d = Dim::Floor { axis: Axis::H, offset, divisor };
            let v = d.min_var_for(t).unwrap().unwrap();
            prop_assert!(d.eval(v) >= t);
            prop_assert!(d.eval(v - 1) < t);
        }

        /// Display and the value agree: the displayed form, evaluated, is the value.
        #[test]
        fn display_evaluates_to_value(offset in -100i64..100, divisor in 1i64..64, h in 0i64..500) {
            let d = Dim::Floor { axis: Axis::H, offset, divisor };
            prop_assert_eq!(eval_display(&d.to_string(), h), d.eval(h));
        }
    }

    /// Evaluates the printed form, independently of the structure that printed it.
    fn eval_display(s: &str, h: i64) -> i64 {
        let s = s.replace(' ', "");
        let (core, tail) = match s.rfind(')') {
            Some(i) => (&s[..=i], &s[i + 1..]),
            None => (s.as_str(), ""),
        };
        let tail_val: i64 = if tail.is_empty() { 0 } else { tail.parse().unwrap() };
        let val = if let Some(rest) = core.strip_prefix("floor(").or_else(|| core.strip_prefix("ceil(")) {
            let is_ceil = core.starts_with("ceil");
            let inner = &rest[..rest.len() - 1];
            let (num, den) = inner.rsplit_once('/').unwrap();
            let num = num.trim_start_matches('(').trim_end_matches(')');
            let n = h + if num == "H" {
                0
            } else {
                num[1..].parse::<i64>().unwrap()
            };
            let m: i64 = den.parse().unwrap();
            if is_ceil {
                -((-n).div_euclid(m))
            } else {
                n.div_euclid(m)
            }
        } else if core == "H" {
            h
        } else {
            h + core[1..].parse::<i64>().unwrap()
        };
        val + tail_val
    }
}
