//! The values of an exported model's parameters: drawn from a seeded generator, or read
//! from a safetensors file whose tensor names are the graph's parameter names (what
//! `archcheck build --save-weights` and the emitted PyTorch module's `state_dict` write).

use std::collections::HashMap;

use safetensors::{Dtype, SafeTensors};

use super::OnnxError;

/// How a parameter is drawn when no file gives it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// Uniform in ±1/√fan_in (PyTorch's default bound for conv and linear biases).
    FanIn(i64),
    /// Uniform in [0.5, 1.5]: a batch norm's scale or running variance, kept away from 0.
    AroundOne,
    /// Uniform in ±0.1: a batch norm's shift or running mean.
    Small,
}

/// One parameter or buffer the model needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Wanted {
    pub name: String,
    pub dims: Vec<i64>,
    pub init: Init,
    /// A running statistic rather than a learned parameter.
    pub buffer: bool,
}

/// Where the values come from.
pub enum Source<'a> {
    Random {
        seed: u64,
    },
    /// The bytes of a safetensors file and the file's name (for messages).
    Safetensors {
        bytes: &'a [u8],
        file: &'a str,
    },
}

/// The values of every wanted tensor, little-endian f32 as ONNX stores them.
pub struct Values<'a> {
    source: Resolved<'a>,
}

enum Resolved<'a> {
    Random(SplitMix),
    File { tensors: SafeTensors<'a>, file: &'a str },
}

impl<'a> Values<'a> {
    /// Checks a file's tensors against `known` (every parameter name of the whole graph,
    /// auxiliary heads included, which the export leaves out): a tensor of another name is
    /// an error, except PyTorch's `num_batches_tracked` counters.
    pub fn new(source: Source<'a>, known: &[Wanted]) -> Result<Values<'a>, OnnxError> {
        let source = match source {
            Source::Random { seed } => Resolved::Random(SplitMix(seed)),
            Source::Safetensors { bytes, file } => {
                let tensors = SafeTensors::deserialize(bytes)
                    .map_err(|e| OnnxError::Weights(format!("{file}: not a safetensors file ({e:?})")))?;
                let known: HashMap<&str, ()> = known.iter().map(|w| (w.name.as_str(), ())).collect();
                let mut names: Vec<&String> = tensors.names();
                names.sort();
                if let Some(extra) = names
                    .into_iter()
                    .find(|n| !known.contains_key(n.as_str()) && !n.ends_with(".num_batches_tracked"))
                {
                    return Err(OnnxError::Weights(format!(
                        "{file}: tensor {} is no parameter of this network, expected the graph's parameter names",
                        crate::quote::quote(extra)
                    )));
                }
                Resolved::File { tensors, file }
            }
        };
        Ok(Values { source })
    }

    /// The values of `w`, in the order of its dims.
    pub fn get(&mut self, w: &Wanted) -> Result<Vec<u8>, OnnxError> {
        let count: i64 = w.dims.iter().product();
        match &mut self.source {
            Resolved::Random(rng) => {
                let (lo, hi) = match w.init {
                    Init::FanIn(fan_in) => {
                        let b = 1.0 / (fan_in.max(1) as f64).sqrt();
                        (-b, b)
                    }
                    Init::AroundOne => (0.5, 1.5),
                    Init::Small => (-0.1, 0.1),
                };
                let mut out = Vec::with_capacity(count as usize * 4);
                for _ in 0..count {
                    let v = lo + (hi - lo) * rng.unit();
                    out.extend_from_slice(&(v as f32).to_le_bytes());
                }
                Ok(out)
            }
            Resolved::File { tensors, file } => {
                let view = tensors.tensor(&w.name).map_err(|_| {
                    OnnxError::Weights(format!(
                        "{file}: no tensor {}, expected every parameter of the network",
                        crate::quote::quote(&w.name)
                    ))
                })?;
                let dims: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
                if dims != w.dims {
                    return Err(OnnxError::Weights(format!(
                        "{file}: tensor {} has shape {dims:?}, expected {:?}",
                        crate::quote::quote(&w.name),
                        w.dims
                    )));
                }
                if view.dtype() != Dtype::F32 {
                    return Err(OnnxError::Weights(format!(
                        "{file}: tensor {} is {:?}, expected F32",
                        crate::quote::quote(&w.name),
                        view.dtype()
                    )));
                }
                // safetensors stores little-endian, as ONNX's raw_data does.
                Ok(view.data().to_vec())
            }
        }
    }
}

/// SplitMix64: a small seeded generator, enough for test weights (no dependency).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}
