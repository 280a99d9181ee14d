//! `archcheck emit onnx`: the graph as an ONNX model (opset 17), written from Rust.
//!
//! - Names: a node's output value is the node's name; parameters are the graph's parameter
//!   names (`inception_3a.1x1.conv.weight`, `….bn.running_mean`), as in the tch model and
//!   the emitted PyTorch module, so their state_dicts are the model's initializers.
//! - The model is the inference graph: eval mode, auxiliary heads left out, dropout an
//!   `Identity`, batch norm with its running statistics.
//! - The batch is dynamic (`N`); H and W are too (`H`, `W`) unless something fixes them: a
//!   flatten of a map whose size follows the input (the domain's largest input), an adaptive
//!   pool to more than 1×1 (ONNX has no adaptive pool), or Caffe's extra ceil window, whose
//!   padding depends on the input. Then the input is the reference size.
//! - Padding follows `ir/plan.rs`, like the tch model and the PyTorch module: TF SAME
//!   is ONNX's `SAME_UPPER` (the odd cell after, padding left out of an average), a plan
//!   with explicit padding a `Pad` (cut to the windows' extent by a `Slice`) before the op,
//!   an average over part of its window a constant correction of the divisor.
//! - Every op of [`Op`] is mapped in one `match` ([`Builder::node`]): a new op fails to
//!   compile until it is exported. Opset 17 has no GELU: it is x·(1 + erf(x/√2))/2, SiLU
//!   x·σ(x), ReLU6 a Clip; an even-sized LRN is refused (ONNX centres its window otherwise).

mod proto;
pub mod weights;
mod windows;

use std::collections::HashSet;

use prost::Message as _;

use self::proto::*;
use self::weights::{Init, Source, Values, Wanted};
use crate::ir::Domain;
use crate::ir::{Scheme, conv_scheme, pool_scheme};
use crate::ir::{Activation, Graph, NodeId, Op, PoolKind};
use crate::shape::{Dim, Shape};

/// An ONNX model's initializers as (name, dims), in the file's order: what `compare` checks.
/// The whole model is decoded (node attributes and weights included) and then dropped.
pub fn initializers(bytes: &[u8]) -> Result<Vec<(String, Vec<i64>)>, prost::DecodeError> {
    let model = ModelProto::decode(bytes)?;
    Ok(model
        .graph
        .map(|g| g.initializer.into_iter().map(|t| (t.name, t.dims)).collect())
        .unwrap_or_default())
}

/// The opset written: the oldest with every op here in its current form (Softmax on one
/// axis since 13, BatchNormalization's inference form since 15).
pub const OPSET: i64 = 17;
/// The IR version of opset 17.
const IR_VERSION: i64 = 8;

#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// The network uses something ONNX cannot express as archcheck computes it.
    #[error("{0}")]
    Unsupported(String),
    /// The weights file is unusable.
    #[error("{0}")]
    Weights(String),
}

/// An exported model and what a user needs to know of it.
pub struct Exported {
    pub bytes: Vec<u8>,
    /// Why H and W are fixed to the reference, or `None` where they are dynamic.
    pub fixed_size: Option<String>,
    pub nodes: usize,
    /// Learned parameters (running statistics not counted).
    pub parameters: i64,
}

/// The parameters and buffers of node `id` (an exhaustive match: a new op says here what
/// it holds).
pub fn node_parameters(g: &Graph, id: NodeId) -> Vec<Wanted> {
    let n = &g.nodes[id];
    let cin = g.in_channels(id);
    let w = |suffix: &str, dims: Vec<i64>, init: Init| Wanted {
        name: format!("{}.{suffix}", n.name),
        dims,
        init,
        buffer: suffix.starts_with("running_"),
    };
    match &n.op {
        Op::Conv(c) => {
            let fan_in = cin / c.groups.max(1) * c.kernel.0 * c.kernel.1;
            let mut v = vec![w(
                "weight",
                vec![c.out, cin / c.groups.max(1), c.kernel.0, c.kernel.1],
                Init::FanIn(fan_in),
            )];
            if c.bias {
                v.push(w("bias", vec![c.out], Init::FanIn(fan_in)));
            }
            v
        }
        Op::BatchNorm { scale, .. } => {
            let mut v = Vec::new();
            if *scale {
                v.push(w("weight", vec![cin], Init::AroundOne));
            }
            v.push(w("bias", vec![cin], Init::Small));
            v.push(w("running_mean", vec![cin], Init::Small));
            v.push(w("running_var", vec![cin], Init::AroundOne));
            v
        }
        Op::Linear { out, bias } => {
            let mut v = vec![w("weight", vec![*out, cin], Init::FanIn(cin))];
            if *bias {
                v.push(w("bias", vec![*out], Init::FanIn(cin)));
            }
            v
        }
        Op::Input { .. }
        | Op::Relu
        | Op::Pool(_)
        | Op::AdaptiveAvgPool { .. }
        | Op::Concat
        | Op::Flatten
        | Op::Dropout { .. }
        | Op::Softmax
        | Op::Add
        | Op::Mul
        | Op::Activation(_)
        | Op::Lrn { .. }
        | Op::GlobalPool { .. } => Vec::new(),
    }
}

/// The nodes the main output needs (auxiliary heads left out), in graph order.
fn inference_nodes(g: &Graph) -> Vec<NodeId> {
    let mut keep = vec![false; g.nodes.len()];
    let mut stack = vec![g.main_output()];
    while let Some(n) = stack.pop() {
        if !std::mem::replace(&mut keep[n], true) {
            stack.extend(g.nodes[n].inputs.iter().copied());
        }
    }
    (0..g.nodes.len()).filter(|&n| keep[n]).collect()
}

/// Why the input size must be fixed, or `None` where H and W can stay dynamic.
fn fixed_size_reason(g: &Graph, domain: &Domain, nodes: &[NodeId]) -> Option<String> {
    if let (Some(h), _) | (_, Some(h)) = domain.max {
        return Some(format!("a flatten fixes the input size (at most {h} on an axis)"));
    }
    for &id in nodes {
        let n = &g.nodes[id];
        match &n.op {
            Op::AdaptiveAvgPool { size } if *size != (1, 1) => {
                return Some(format!(
                    "{}: ONNX has no adaptive pool to {}×{}",
                    n.name, size.0, size.1
                ));
            }
            Op::Pool(p) if matches!(pool_scheme(p), Scheme::CaffeFromInput { .. }) => {
                return Some(format!(
                    "{}: Caffe's extra ceil window depends on the input size",
                    n.name
                ));
            }
            _ => {}
        }
    }
    None
}

/// The graph as an ONNX model. `domain` decides whether H and W stay dynamic; `doc` goes
/// into the model's doc string.
pub fn export(g: &Graph, domain: &Domain, source: Source<'_>, doc: &str) -> Result<Exported, OnnxError> {
    let all: Vec<Wanted> = (0..g.nodes.len()).flat_map(|id| node_parameters(g, id)).collect();
    let values = Values::new(source, &all)?;
    let nodes = inference_nodes(g);
    let fixed_size = fixed_size_reason(g, domain, &nodes);
    let mut b = Builder {
        g,
        fixed: fixed_size.is_some(),
        values,
        graph: GraphProto {
            name: g.variant.clone().unwrap_or_else(|| "as printed".into()),
            ..Default::default()
        },
        used: g.nodes.iter().map(|n| n.name.clone()).collect(),
        parameters: 0,
    };
    for &id in &nodes {
        b.node(id)?;
    }
    let main = g.main_output();
    let output = b.value_info(&g.nodes[main].name, &g.nodes[main].shape);
    b.graph.output.push(output);
    let parameters = b.parameters;
    let model = ModelProto {
        ir_version: IR_VERSION,
        producer_name: "archcheck".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: doc.into(),
        graph: Some(b.graph),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
    };
    Ok(Exported {
        bytes: model.encode_to_vec(),
        fixed_size,
        nodes: nodes.len(),
        parameters,
    })
}

struct Builder<'g, 'v> {
    g: &'g Graph,
    fixed: bool,
    values: Values<'v>,
    graph: GraphProto,
    /// Value and initializer names taken (every node's name first).
    used: HashSet<String>,
    parameters: i64,
}

fn int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i: Some(i),
        r#type: attribute_type::INT,
        ..Default::default()
    }
}

fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: v.to_vec(),
        r#type: attribute_type::INTS,
        ..Default::default()
    }
}

fn float(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        f: Some(f),
        r#type: attribute_type::FLOAT,
        ..Default::default()
    }
}

fn string(name: &str, s: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        s: Some(s.as_bytes().to_vec()),
        r#type: attribute_type::STRING,
        ..Default::default()
    }
}

fn pair(p: (i64, i64)) -> [i64; 2] {
    [p.0, p.1]
}

impl Builder<'_, '_> {
    /// A name no value or initializer has yet: `base`, else `base#2`, `base#3`, ...
    fn fresh(&mut self, base: String) -> String {
        let mut name = base.clone();
        let mut k = 2;
        while !self.used.insert(name.clone()) {
            name = format!("{base}#{k}");
            k += 1;
        }
        name
    }

    fn push(&mut self, op: &str, name: &str, inputs: Vec<String>, output: &str, attribute: Vec<AttributeProto>) {
        self.graph.node.push(NodeProto {
            input: inputs,
            output: vec![output.into()],
            name: name.into(),
            op_type: op.into(),
            attribute,
        });
    }

    fn constant(&mut self, base: String, dims: Vec<i64>, data_type: i32, raw_data: Vec<u8>) -> String {
        let name = self.fresh(base);
        self.graph.initializer.push(TensorProto {
            dims,
            data_type,
            name: name.clone(),
            raw_data,
        });
        name
    }

    fn int64s(&mut self, base: String, v: &[i64]) -> String {
        let raw = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.constant(base, vec![v.len() as i64], data_type::INT64, raw)
    }

    fn floats(&mut self, base: String, dims: Vec<i64>, v: &[f32]) -> String {
        let raw = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.constant(base, dims, data_type::FLOAT, raw)
    }

    /// The node's parameters as initializers, named as the graph names them.
    fn parameters_of(&mut self, id: NodeId) -> Result<Vec<String>, OnnxError> {
        let mut names = Vec::new();
        for w in node_parameters(self.g, id) {
            let raw = self.values.get(&w)?;
            if !w.buffer {
                self.parameters += w.dims.iter().product::<i64>();
            }
            self.used.insert(w.name.clone());
            self.graph.initializer.push(TensorProto {
                dims: w.dims.clone(),
                data_type: data_type::FLOAT,
                name: w.name.clone(),
                raw_data: raw,
            });
            names.push(w.name);
        }
        Ok(names)
    }

    /// A graph input or output: dynamic N, H and W named, or fixed at the reference.
    fn value_info(&self, name: &str, shape: &Shape) -> ValueInfoProto {
        let value = |v: i64| Dimension {
            value: Some(DimValue::Value(v)),
        };
        let param = |p: &str| Dimension {
            value: Some(DimValue::Param(p.into())),
        };
        let spatial = |d: Dim, axis: &str, reference: i64| match d {
            Dim::Const(v) => value(v),
            _ if self.fixed => value(d.eval(reference)),
            // Input H itself is a Floor with divisor 1, offset 0; others stay unnamed.
            Dim::Floor {
                offset: 0, divisor: 1, ..
            } => param(axis),
            Dim::Floor { .. } => Dimension { value: None },
        };
        let mut dim = vec![param("N")];
        match *shape {
            Shape::Map { c, h, w } => {
                dim.push(value(c));
                dim.push(spatial(h, "H", self.g.reference.0));
                dim.push(spatial(w, "W", self.g.reference.1));
            }
            Shape::Flat { features } => dim.push(value(features)),
        }
        ValueInfoProto {
            name: name.into(),
            r#type: Some(TypeProto {
                tensor_type: Some(TensorTypeProto {
                    elem_type: data_type::FLOAT,
                    shape: Some(TensorShapeProto { dim }),
                }),
            }),
        }
    }

    /// (H, W) of node `id`'s input at the reference size.
    fn input_hw(&self, id: NodeId) -> (i64, i64) {
        match self.g.input_shape(id) {
            Shape::Map { h, w, .. } => (h.eval(self.g.reference.0), w.eval(self.g.reference.1)),
            Shape::Flat { .. } => (1, 1),
        }
    }

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
    fn node(&mut self, id: NodeId) -> Result<(), OnnxError> {
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
            Op::Conv(c) => {
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
            }
            Op::BatchNorm { eps, scale, .. } => {
                let params = self.parameters_of(id)?;
                let mut args = vec![x];
                if !*scale {
                    // No learned scale (TF-slim): gamma fixed at 1, not a parameter.
                    let c = g.in_channels(id);
                    args.push(self.floats(format!("{name}/unit_scale"), vec![c], &vec![1.0; c as usize]));
                }
                args.extend(params);
                self.push(
                    "BatchNormalization",
                    &name,
                    args,
                    &name,
                    vec![float("epsilon", *eps as f32)],
                );
            }
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
            Op::Lrn { size, alpha, beta, k } => {
                // PyTorch pads size/2 channels before and (size-1)/2 after, ONNX (size-1)/2
                // before and size/2 after: the same window for odd sizes only.
                if size % 2 == 0 {
                    return Err(OnnxError::Unsupported(format!(
                        "{name}: local response norm over {size} channels: ONNX's LRN centres an even window differently from PyTorch's; expected an odd size"
                    )));
                }
                let attrs = vec![
                    int("size", *size),
                    float("alpha", *alpha as f32),
                    float("beta", *beta as f32),
                    float("bias", *k as f32),
                ];
                self.push("LRN", &name, vec![x], &name, attrs);
            }
            Op::GlobalPool { kind, keep_dims } => {
                let op = match kind {
                    PoolKind::Max => "GlobalMaxPool",
                    PoolKind::Avg => "GlobalAveragePool",
                };
                if *keep_dims {
                    self.push(op, &name, vec![x], &name, Vec::new());
                } else {
                    let pooled = self.fresh(format!("{name}/pooled"));
                    self.push(op, &pooled.clone(), vec![x], &pooled, Vec::new());
                    self.push("Flatten", &name, vec![pooled], &name, vec![int("axis", 1)]);
                }
            }
        }
        Ok(())
    }
}
