//! Per op, the ONNX nodes that compute one graph node (one `match` arm per op: a new op
//! fails to compile until it is exported), and the activations opset 17 lacks.

use super::OnnxError;
use super::builder::{Builder, float, int, ints, pair};
use crate::ir::conv_scheme;
use crate::ir::{Activation, Conv, NodeId, Op, PoolKind};

impl Builder<'_, '_> {
    /// A product of the inputs, left to right (ONNX's Mul takes two).
    fn product(&mut self, name: &str, inputs: Vec<String>) {
        let mut acc = inputs[0].clone();
        for (i, x) in inputs.iter().enumerate().skip(1) {
            let out = if i + 1 == inputs.len() {
                name.to_string()
            } else {
                self.fresh(format!("{name}/product{i}"))
            };
            self.push("Mul", &out.clone(), vec![acc, x.clone()], &out, Vec::new());
            acc = out;
        }
    }

    /// An activation in opset 17's ops (GELU, exact, as x·(1 + erf(x/√2))/2; SiLU as x·σ(x)).
    fn activation(&mut self, name: &str, a: Activation, x: String) {
        let helper = |b: &mut Self, suffix: &str| b.fresh(format!("{name}/{suffix}"));
        match a {
            Activation::Relu => self.push("Relu", name, vec![x], name, Vec::new()),
            Activation::Sigmoid => self.push("Sigmoid", name, vec![x], name, Vec::new()),
            Activation::HardSwish => self.push("HardSwish", name, vec![x], name, Vec::new()),
            // relu6(x + 3)/6 = max(0, min(1, x/6 + 1/2)).
            Activation::HardSigmoid => self.push(
                "HardSigmoid",
                name,
                vec![x],
                name,
                vec![float("alpha", 1.0 / 6.0), float("beta", 0.5)],
            ),
            Activation::Relu6 => {
                let lo = self.floats(format!("{name}/min"), vec![], &[0.0]);
                let hi = self.floats(format!("{name}/max"), vec![], &[6.0]);
                self.push("Clip", name, vec![x, lo, hi], name, Vec::new());
            }
            Activation::Silu => {
                let s = helper(self, "sigmoid");
                self.push("Sigmoid", &s.clone(), vec![x.clone()], &s, Vec::new());
                self.push("Mul", name, vec![x, s], name, Vec::new());
            }
            Activation::Gelu => {
                let root2 = self.floats(format!("{name}/sqrt2"), vec![], &[std::f32::consts::SQRT_2]);
                let one = self.floats(format!("{name}/one"), vec![], &[1.0]);
                let half = self.floats(format!("{name}/half"), vec![], &[0.5]);
                let (scaled, erf, plus, halved) = (
                    helper(self, "scaled"),
                    helper(self, "erf"),
                    helper(self, "plus_one"),
                    helper(self, "halved"),
                );
                self.push("Div", &scaled.clone(), vec![x.clone(), root2], &scaled, Vec::new());
                self.push("Erf", &erf.clone(), vec![scaled], &erf, Vec::new());
                self.push("Add", &plus.clone(), vec![erf, one], &plus, Vec::new());
                self.push("Mul", &halved.clone(), vec![x, half], &halved, Vec::new());
                self.push("Mul", name, vec![halved, plus], name, Vec::new());
            }
        }
    }

    /// Exports node `id`: its ops, initializers, and for the input the graph input.
    pub(super) fn node(&mut self, id: NodeId) -> Result<(), OnnxError> {
        let g = self.g;
        let n = &g.nodes[id];
        let name = n.name.clone();
        let inputs: Vec<String> = n.inputs.iter().map(|i| g.nodes[*i].name.clone()).collect();
        let x = inputs.first().cloned().unwrap_or_default();
        match &n.op {
            Op::Input { .. } => {
                let input = self.value_info(&name, &n.shape);
                self.graph.input.push(input);
            }
            Op::Conv(c) => self.conv(id, c, x)?,
            Op::BatchNorm { eps, scale, .. } => self.batch_norm(id, *eps, *scale, x)?,
            Op::Relu => self.push("Relu", &name, vec![x], &name, Vec::new()),
            Op::Pool(p) => self.pool(id, p, x),
            Op::AdaptiveAvgPool { size: (1, 1) } => self.push("GlobalAveragePool", &name, vec![x], &name, Vec::new()),
            Op::AdaptiveAvgPool { size } => self.adaptive_avg_pool(id, *size, x),
            Op::Concat => self.push("Concat", &name, inputs, &name, vec![int("axis", 1)]),
            Op::Flatten => self.push("Flatten", &name, vec![x], &name, vec![int("axis", 1)]),
            Op::Linear { .. } => {
                let mut args = vec![x];
                args.extend(self.parameters_of(id)?);
                self.push("Gemm", &name, args, &name, vec![int("transB", 1)]);
            }
            // Inference: dropout passes its input through.
            Op::Dropout { .. } => self.push("Identity", &name, vec![x], &name, Vec::new()),
            Op::Softmax => self.push("Softmax", &name, vec![x], &name, vec![int("axis", 1)]),
            // A sum of two is Add; more, Sum (both broadcast as PyTorch's + does).
            Op::Add if inputs.len() == 2 => self.push("Add", &name, inputs, &name, Vec::new()),
            Op::Add => self.push("Sum", &name, inputs, &name, Vec::new()),
            Op::Mul => self.product(&name, inputs),
            Op::Activation(a) => self.activation(&name, *a, x),
            Op::Lrn { size, alpha, beta, k } => self.lrn(&name, *size, (*alpha, *beta, *k), x)?,
            Op::GlobalPool { kind, keep_dims } => self.global_pool(&name, *kind, *keep_dims, x),
        }
        Ok(())
    }

    /// A conv, its windows placed as the plan says (padded explicitly first where needed).
    fn conv(&mut self, id: NodeId, c: &Conv, x: String) -> Result<(), OnnxError> {
        let name = self.g.nodes[id].name.clone();
        let windows = Self::conv_windows(conv_scheme(c));
        let (x, mut attrs) = self.place_windows(id, x, &windows, 0.0);
        let mut args = vec![x];
        args.extend(self.parameters_of(id)?);
        attrs.extend([
            ints("kernel_shape", &pair(c.kernel)),
            ints("strides", &pair(c.stride)),
            ints("dilations", &pair(c.dilation)),
            int("group", c.groups),
        ]);
        self.push("Conv", &name, args, &name, attrs);
        Ok(())
    }

    /// Inference batch norm with the running statistics.
    fn batch_norm(&mut self, id: NodeId, eps: f64, scale: bool, x: String) -> Result<(), OnnxError> {
        let name = self.g.nodes[id].name.clone();
        let params = self.parameters_of(id)?;
        let mut args = vec![x];
        if !scale {
            // No learned scale (TF-slim): gamma fixed at 1, not a parameter.
            let c = self.g.in_channels(id);
            args.push(self.floats(format!("{name}/unit_scale"), vec![c], &vec![1.0; c as usize]));
        }
        args.extend(params);
        self.push(
            "BatchNormalization",
            &name,
            args,
            &name,
            vec![float("epsilon", eps as f32)],
        );
        Ok(())
    }

    /// Local response norm over `size` channels; `(alpha, beta, k)` as PyTorch names them.
    fn lrn(&mut self, name: &str, size: i64, (alpha, beta, k): (f64, f64, f64), x: String) -> Result<(), OnnxError> {
        // PyTorch pads size/2 channels before and (size-1)/2 after, ONNX (size-1)/2
        // before and size/2 after: the same window for odd sizes only.
        if size % 2 == 0 {
            return Err(OnnxError::Unsupported(format!(
                "{name}: local response norm over {size} channels: ONNX's LRN centres an even window differently from PyTorch's; expected an odd size"
            )));
        }
        let attrs = vec![
            int("size", size),
            float("alpha", alpha as f32),
            float("beta", beta as f32),
            float("bias", k as f32),
        ];
        self.push("LRN", name, vec![x], name, attrs);
        Ok(())
    }

    /// A pool over all of H and W, flattened to a vector unless `keep_dims`.
    fn global_pool(&mut self, name: &str, kind: PoolKind, keep_dims: bool, x: String) {
        let op = match kind {
            PoolKind::Max => "GlobalMaxPool",
            PoolKind::Avg => "GlobalAveragePool",
        };
        if keep_dims {
            self.push(op, name, vec![x], name, Vec::new());
        } else {
            let pooled = self.fresh(format!("{name}/pooled"));
            self.push(op, &pooled.clone(), vec![x], &pooled, Vec::new());
            self.push("Flatten", name, vec![pooled], name, vec![int("axis", 1)]);
        }
    }
}
