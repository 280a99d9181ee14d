//! The ONNX graph under construction: fresh value names, nodes, constants, the nodes'
//! parameters as initializers, and graph inputs and outputs with their dynamic axes.

use std::collections::HashSet;

use super::OnnxError;
use super::parameters::node_parameters;
use super::proto::*;
use super::weights::Values;
use crate::ir::{Graph, NodeId};
use crate::shape::{Dim, Shape};

pub(super) struct Builder<'g, 'v> {
    pub(super) g: &'g Graph,
    /// H and W fixed at the reference (see `fixed_size_reason`).
    pub(super) fixed: bool,
    pub(super) values: Values<'v>,
    pub(super) graph: GraphProto,
    /// Value and initializer names taken (every node's name first).
    pub(super) used: HashSet<String>,
    pub(super) parameters: i64,
}

/// An attribute of type `r#type` with no value set yet.
fn attribute(name: &str, r#type: i32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type,
        ..Default::default()
    }
}

pub(super) fn int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        i: Some(i),
        ..attribute(name, attribute_type::INT)
    }
}

pub(super) fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        ints: v.to_vec(),
        ..attribute(name, attribute_type::INTS)
    }
}

pub(super) fn float(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        f: Some(f),
        ..attribute(name, attribute_type::FLOAT)
    }
}

pub(super) fn string(name: &str, s: &str) -> AttributeProto {
    AttributeProto {
        s: Some(s.as_bytes().to_vec()),
        ..attribute(name, attribute_type::STRING)
    }
}

pub(super) fn pair(p: (i64, i64)) -> [i64; 2] {
    [p.0, p.1]
}

impl Builder<'_, '_> {
    /// A name no value or initializer has yet: `base`, else `base#2`, `base#3`, ...
    pub(super) fn fresh(&mut self, base: String) -> String {
        let mut name = base.clone();
        let mut k = 2;
        while !self.used.insert(name.clone()) {
            name = format!("{base}#{k}");
            k += 1;
        }
        name
    }

    pub(super) fn push(
        &mut self,
        op: &str,
        name: &str,
        inputs: Vec<String>,
        output: &str,
        attribute: Vec<AttributeProto>,
    ) {
        self.graph.node.push(NodeProto {
            input: inputs,
            output: vec![output.into()],
            name: name.into(),
            op_type: op.into(),
            attribute,
        });
    }

    pub(super) fn constant(&mut self, base: String, dims: Vec<i64>, data_type: i32, raw_data: Vec<u8>) -> String {
        let name = self.fresh(base);
        self.graph.initializer.push(TensorProto {
            dims,
            data_type,
            name: name.clone(),
            raw_data,
        });
        name
    }

    pub(super) fn int64s(&mut self, base: String, v: &[i64]) -> String {
        let raw = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.constant(base, vec![v.len() as i64], data_type::INT64, raw)
    }

    pub(super) fn floats(&mut self, base: String, dims: Vec<i64>, v: &[f32]) -> String {
        let raw = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.constant(base, dims, data_type::FLOAT, raw)
    }

    /// The node's parameters as initializers, named as the graph names them.
    pub(super) fn parameters_of(&mut self, id: NodeId) -> Result<Vec<String>, OnnxError> {
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
    pub(super) fn value_info(&self, name: &str, shape: &Shape) -> ValueInfoProto {
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
    pub(super) fn input_hw(&self, id: NodeId) -> (i64, i64) {
        match self.g.input_shape(id) {
            Shape::Map { h, w, .. } => (h.eval(self.g.reference.0), w.eval(self.g.reference.1)),
            Shape::Flat { .. } => (1, 1),
        }
    }
}
