//! NHWC (channels-last) memory layout without a memory-format API: permute → contiguous →
//! permute back.

use tch::{Tensor, nn};

/// The same 4-d tensor (same shape and values) with channels-last (NHWC) strides: permute
/// to NHWC, make contiguous, permute back. Differentiable. Tensors that are not 4-d come
/// back as a shallow clone; an already channels-last tensor is not copied.
pub fn to_channels_last(t: &Tensor) -> Tensor {
    if t.dim() != 4 {
        return t.shallow_clone();
    }
    t.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}

/// Whether a 4-d tensor has dense channels-last strides (dims of size 1 are not checked,
/// their stride is meaningless). `false` for other ranks.
pub fn is_channels_last(t: &Tensor) -> bool {
    if t.dim() != 4 {
        return false;
    }
    let (size, stride) = (t.size(), t.stride());
    let (c, h, w) = (size[1], size[2], size[3]);
    let expected = [h * w * c, 1, w * c, c];
    (0..4).all(|i| size[i] == 1 || stride[i] == expected[i])
}

/// Converts every 4-d variable of `vs` (conv weights) to channels-last in place
/// (`set_data` under `no_grad`, so the variables stay the same leaves the optimizer holds).
/// Returns how many were converted. Call after moving the store to its device and before
/// building the optimizer; the layout survives optimizer steps.
pub fn set_module_channels_last(vs: &nn::VarStore) -> usize {
    tch::no_grad(|| {
        let mut n = 0;
        for (_name, mut v) in vs.variables() {
            if v.dim() == 4 && !is_channels_last(&v) {
                let cl = to_channels_last(&v);
                v.set_data(&cl);
                n += 1;
            }
        }
        n
    })
}
