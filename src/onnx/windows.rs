//! Where a conv's or pool's windows go, in ONNX terms, following `ir/plan.rs`: the
//! op's own padding, `SAME_UPPER` for TF SAME, or an explicit `Pad` (and `Slice`) to the
//! windows' extent with the average's divisor corrected; adaptive pools at the fixed size.

use super::builder::{Builder, int, ints, pair, string};
use super::proto::AttributeProto;
use crate::ir::{AxisPad, Plan, Scheme, pool_at, pool_scheme};
use crate::ir::{NodeId, Pool, PoolKind};

/// How a conv or pool's windows are placed, in ONNX terms.
pub(super) enum Windows {
    /// The op's own symmetric padding (H, W), in ceil mode or not.
    Pads { pad: (i64, i64), ceil: bool },
    /// TF SAME: ONNX's SAME_UPPER.
    SameUpper,
    /// An explicit `Pad` (and `Slice`) to the windows' extent, then the op without padding.
    Explicit { h: AxisPad, w: AxisPad },
}

impl Builder<'_, '_> {
    pub(super) fn conv_windows(scheme: Scheme) -> Windows {
        match scheme {
            Scheme::Native { pad, ceil_mode } => Windows::Pads { pad, ceil: ceil_mode },
            Scheme::Symmetric { pad } | Scheme::CaffeFromInput { pad } => Windows::Pads { pad, ceil: false },
            Scheme::SameFromInput => Windows::SameUpper,
        }
    }

    fn pool_windows(&self, id: NodeId, p: &Pool) -> Windows {
        match pool_scheme(p) {
            Scheme::CaffeFromInput { .. } => {
                // Only in a fixed-size export (see fixed_size_reason): the plan at the reference.
                let (hx, wx) = self.input_hw(id);
                match pool_at(p, hx, wx) {
                    Plan::Native { pad, ceil_mode } => Windows::Pads { pad, ceil: ceil_mode },
                    Plan::Padded { h, w } => Windows::Explicit { h, w },
                }
            }
            other => Self::conv_windows(other),
        }
    }

    /// The attributes placing the windows, and the value the op reads (padded explicitly
    /// first where the plan says so).
    pub(super) fn place_windows(
        &mut self,
        id: NodeId,
        x: String,
        windows: &Windows,
        pad_value: f32,
    ) -> (String, Vec<AttributeProto>) {
        let name = self.g.nodes[id].name.clone();
        match *windows {
            Windows::Pads { pad, ceil } => {
                let mut a = vec![ints("pads", &[pad.0, pad.1, pad.0, pad.1])];
                if ceil {
                    a.push(int("ceil_mode", 1));
                }
                (x, a)
            }
            Windows::SameUpper => (x, vec![string("auto_pad", "SAME_UPPER")]),
            Windows::Explicit { h, w } => {
                let (hx, wx) = self.input_hw(id);
                let pads = self.int64s(
                    format!("{name}/pads"),
                    &[0, 0, h.before, w.before, 0, 0, h.after(hx), w.after(wx)],
                );
                let value = self.floats(format!("{name}/pad_value"), vec![], &[pad_value]);
                let padded = self.fresh(format!("{name}/padded"));
                self.push(
                    "Pad",
                    &padded.clone(),
                    vec![x, pads, value],
                    &padded,
                    vec![string("mode", "constant")],
                );
                let full = (h.before + hx + h.after(hx), w.before + wx + w.after(wx));
                if full == (h.extent, w.extent) {
                    return (padded, Vec::new());
                }
                let starts = self.int64s(format!("{name}/starts"), &[0, 0]);
                let ends = self.int64s(format!("{name}/ends"), &[h.extent, w.extent]);
                let axes = self.int64s(format!("{name}/axes"), &[2, 3]);
                let cut = self.fresh(format!("{name}/cut"));
                self.push(
                    "Slice",
                    &cut.clone(),
                    vec![padded, starts, ends, axes],
                    &cut,
                    Vec::new(),
                );
                (cut, Vec::new())
            }
        }
    }

    /// An adaptive average pool at the (fixed) reference size: equal windows where the
    /// output divides the input, else PyTorch's windows (floor(i·in/out) to
    /// ceil((i+1)·in/out)) as two averaging matrices, rows then columns.
    pub(super) fn adaptive_avg_pool(&mut self, id: NodeId, size: (i64, i64), x: String) {
        let name = self.g.nodes[id].name.clone();
        let (hx, wx) = self.input_hw(id);
        if hx % size.0 == 0 && wx % size.1 == 0 {
            let stride = [hx / size.0, wx / size.1];
            let attrs = vec![ints("kernel_shape", &stride), ints("strides", &stride)];
            self.push("AveragePool", &name, vec![x], &name, attrs);
            return;
        }
        let rows = averaging_matrix(hx, size.0, false);
        let rows = self.floats(format!("{name}/row_windows"), vec![size.0, hx], &rows);
        let cols = averaging_matrix(wx, size.1, true);
        let cols = self.floats(format!("{name}/column_windows"), vec![wx, size.1], &cols);
        let mid = self.fresh(format!("{name}/rows"));
        self.push("MatMul", &mid.clone(), vec![rows, x], &mid, Vec::new());
        self.push("MatMul", &name, vec![mid, cols], &name, Vec::new());
    }

    pub(super) fn pool(&mut self, id: NodeId, p: &Pool, x: String) {
        let name = self.g.nodes[id].name.clone();
        let windows = self.pool_windows(id, p);
        let pad_value = match p.kind {
            // Never the maximum of a window holding an input cell, and what Caffe gives its
            // window past the end (as the tch model pads).
            PoolKind::Max => f32::MIN,
            PoolKind::Avg => 0.0,
        };
        let (x, mut attrs) = self.place_windows(id, x, &windows, pad_value);
        attrs.extend([ints("kernel_shape", &pair(p.kernel)), ints("strides", &pair(p.stride))]);
        match (p.kind, &windows) {
            (PoolKind::Max, _) => self.push("MaxPool", &name, vec![x], &name, attrs),
            (PoolKind::Avg, Windows::Explicit { h, w }) => {
                // The op divides by the whole window; the plan counts only `counted` cells.
                let raw = self.fresh(format!("{name}/sum"));
                self.push("AveragePool", &raw.clone(), vec![x], &raw, attrs);
                let factor = divisor_correction(p, *h, *w);
                let dims = vec![1, 1, factor.0 as i64, factor.1 as i64];
                let f = self.floats(format!("{name}/divisor"), dims, &factor.2);
                self.push("Mul", &name, vec![raw, f], &name, Vec::new());
            }
            (PoolKind::Avg, windows) => {
                // SAME leaves the padding out of the count whatever the convention says.
                let counted = p.count_include_pad
                    && !matches!(windows, Windows::SameUpper)
                    && !matches!(pool_scheme(p), Scheme::Symmetric { .. });
                attrs.push(int("count_include_pad", i64::from(counted)));
                self.push("AveragePool", &name, vec![x], &name, attrs);
            }
        }
    }
}

/// PyTorch's adaptive windows from `input` cells to `output`, as an out×in matrix of
/// 1/window size (in×out where `transposed`).
fn averaging_matrix(input: i64, output: i64, transposed: bool) -> Vec<f32> {
    let mut m = vec![0.0f32; (input * output) as usize];
    for o in 0..output {
        let start = o * input / output;
        let end = ((o + 1) * input + output - 1) / output;
        for i in start..end {
            let at = if transposed { i * output + o } else { o * input + i };
            m[at as usize] = 1.0 / (end - start) as f32;
        }
    }
    m
}

/// Per output cell, kernel area / counted cells (0 for a window over none): the factor that
/// turns an average over the whole window into the plan's average.
fn divisor_correction(p: &Pool, h: AxisPad, w: AxisPad) -> (usize, usize, Vec<f32>) {
    let per_axis = |a: AxisPad, k: i64, s: i64| -> Vec<i64> {
        let out = (a.extent - k) / s + 1;
        (0..out)
            .map(|o| {
                let (lo, hi) = (o * s, o * s + k);
                (hi.min(a.counted.1) - lo.max(a.counted.0)).max(0)
            })
            .collect()
    };
    let hs = per_axis(h, p.kernel.0, p.stride.0);
    let ws = per_axis(w, p.kernel.1, p.stride.1);
    let area = (p.kernel.0 * p.kernel.1) as f32;
    let mut v = Vec::with_capacity(hs.len() * ws.len());
    for a in &hs {
        for b in &ws {
            let count = a * b;
            v.push(if count == 0 { 0.0 } else { area / count as f32 });
        }
    }
    (hs.len(), ws.len(), v)
}
