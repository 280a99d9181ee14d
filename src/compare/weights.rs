//! A checkpoint's tensors as names and shapes, read without loading their data:
//! safetensors (the header only, bounded), an ONNX model's initializers, and through
//! libtorch (feature `torch`) a PyTorch `.pt`/`.pth` state_dict.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use safetensors::tensor::Metadata;

/// One tensor of the checkpoint, in the file's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub name: String,
    pub shape: Vec<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path} is not a safetensors file: {why}")]
    Safetensors { path: String, why: String },
    #[error("{path} is not an ONNX model: {why}")]
    Onnx { path: String, why: String },
    #[error("{path}: unknown weights format '{extension}', expected .safetensors, .onnx, .pt or .pth")]
    Format { path: String, extension: String },
    #[error("{path} is a PyTorch checkpoint; reading it needs the libtorch build (cargo build --features torch)")]
    NeedsTorch { path: String },
    #[error("{path}: libtorch cannot read it as a state_dict: {why}")]
    Torch { path: String, why: String },
}

/// The largest safetensors header read (the format's own limit is 100 MB).
pub const MAX_HEADER_BYTES: u64 = 100_000_000;

/// The tensors of the checkpoint at `path`, by its extension.
pub fn read(path: &Path) -> Result<Vec<Found>, WeightsError> {
    let shown = path.display().to_string();
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "safetensors" => read_safetensors(path),
        "onnx" => read_onnx(path),
        "pt" | "pth" | "bin" => read_pytorch(path),
        other => Err(WeightsError::Format {
            path: shown,
            extension: other.to_string(),
        }),
    }
}

/// The safetensors header: 8 bytes of little-endian length, then that much JSON naming
/// every tensor's dtype, shape and byte range. The data is never read; the ranges are
/// checked against the file's length.
pub fn read_safetensors(path: &Path) -> Result<Vec<Found>, WeightsError> {
    let shown = path.display().to_string();
    let io = |source| WeightsError::Io {
        path: shown.clone(),
        source,
    };
    let bad = |why: String| WeightsError::Safetensors {
        path: shown.clone(),
        why,
    };
    let mut file = File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(bad("it is not a regular file".into()));
    }
    let len = meta.len();
    let mut head = [0u8; 8];
    file.read_exact(&mut head)
        .map_err(|_| bad(format!("{len} bytes, shorter than the 8-byte header length")))?;
    let n = u64::from_le_bytes(head);
    if n > MAX_HEADER_BYTES {
        return Err(bad(format!(
            "header length {n}, over the limit of {MAX_HEADER_BYTES} bytes"
        )));
    }
    if n.saturating_add(8) > len {
        return Err(bad(format!(
            "header length {n} runs past the end of the {len}-byte file"
        )));
    }
    let mut header = vec![0u8; n as usize];
    file.read_exact(&mut header).map_err(io)?;
    let metadata: Metadata =
        serde_json::from_slice(&header).map_err(|e| bad(format!("its header is not valid: {e}")))?;
    let data_len = len - 8 - n;
    let mut tensors: Vec<(usize, Found)> = Vec::new();
    for (name, info) in metadata.tensors() {
        let (start, end) = info.data_offsets;
        let elements = info.shape.iter().try_fold(1usize, |a, d| a.checked_mul(*d));
        let bytes = elements.and_then(|e| e.checked_mul(info.dtype.size()));
        if end < start || bytes != Some(end - start) || end as u64 > data_len {
            return Err(bad(format!(
                "tensor '{}' claims bytes {start}..{end}, which do not fit its shape {:?} or the {data_len} bytes of data",
                crate::quote::escape(&name),
                info.shape
            )));
        }
        let shape = info
            .shape
            .iter()
            .map(|d| i64::try_from(*d).map_err(|_| bad(format!("tensor '{}' has a dimension over 2^63", name))))
            .collect::<Result<Vec<i64>, _>>()?;
        tensors.push((start, Found { name, shape }));
    }
    // The file's order (by offset): writers store tensors in state_dict order or by name.
    tensors.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
    Ok(tensors.into_iter().map(|(_, f)| f).collect())
}

/// The largest ONNX model read (protobuf's own limit is 2 GiB; larger models keep their
/// weights as external data, which this does not need).
pub const MAX_ONNX_BYTES: u64 = 2 << 30;

/// An ONNX model's initializers (the weights an exporter kept: one that drops unused
/// parameters, as torch.onnx does, shows what the forward pass really uses).
fn read_onnx(path: &Path) -> Result<Vec<Found>, WeightsError> {
    let shown = path.display().to_string();
    let io = |source| WeightsError::Io {
        path: shown.clone(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() || meta.len() > MAX_ONNX_BYTES {
        return Err(WeightsError::Onnx {
            path: shown.clone(),
            why: format!(
                "expected a regular file of at most {MAX_ONNX_BYTES} bytes ({} bytes)",
                meta.len()
            ),
        });
    }
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|f| f.take(MAX_ONNX_BYTES).read_to_end(&mut bytes))
        .map_err(io)?;
    let tensors = crate::onnx::initializers(&bytes).map_err(|e| WeightsError::Onnx {
        path: shown.clone(),
        why: e.to_string(),
    })?;
    Ok(tensors.into_iter().map(|(name, shape)| Found { name, shape }).collect())
}

#[cfg(feature = "torch")]
fn read_pytorch(path: &Path) -> Result<Vec<Found>, WeightsError> {
    // libtorch's unpickler reads a plain dict of tensors; the OrderedDict that
    // `state_dict()` returns comes back as None, hence the hint.
    let tensors = tch::Tensor::loadz_multi(path).map_err(|e| WeightsError::Torch {
        path: path.display().to_string(),
        why: format!("{e}; save it as a plain dict (torch.save(dict(model.state_dict()), F)) or as safetensors"),
    })?;
    Ok(tensors
        .into_iter()
        .map(|(name, t)| Found { name, shape: t.size() })
        .collect())
}

#[cfg(not(feature = "torch"))]
fn read_pytorch(path: &Path) -> Result<Vec<Found>, WeightsError> {
    Err(WeightsError::NeedsTorch {
        path: path.display().to_string(),
    })
}
