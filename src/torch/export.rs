//! Writing the model out: its weights as safetensors (names are the node names, e.g.
//! `inception_3a.1x1.conv.weight`, `conv1.bn.running_mean`) and the eval-mode network as
//! TorchScript, traced at one input size, for `torch.jit.load`.

use std::path::{Path, PathBuf};

use tch::{CModule, Kind, TchError, Tensor, nn};

use super::model::Model;

/// One tensor listed in a safetensors header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<i64>,
}

/// Why a file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{}: the weights file must end in .safetensors", .0.display())]
    NotSafetensors(PathBuf),
    #[error("{}: cannot save the weights: {source}", path.display())]
    SaveWeights { path: PathBuf, source: TchError },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: no safetensors header ({source})", path.display())]
    NoHeader { path: PathBuf, source: std::io::Error },
    #[error("{}: header length {length} exceeds the file", path.display())]
    HeaderLength { path: PathBuf, length: u64 },
    #[error("{}: header is not JSON: {source}", path.display())]
    HeaderJson { path: PathBuf, source: serde_json::Error },
    #[error("{}: header is not a JSON object", path.display())]
    HeaderNotObject { path: PathBuf },
    /// A tensor entry of the header lacks something: `problem` says what.
    #[error("{}: {name} {problem}", path.display())]
    HeaderEntry {
        path: PathBuf,
        name: String,
        problem: &'static str,
    },
    #[error("tracing the model failed: {0}")]
    Trace(TchError),
    #[error("{}: cannot save the TorchScript module: {source}", path.display())]
    SaveModule { path: PathBuf, source: TchError },
}

/// Saves every variable of `vs` (parameters and batch-norm running statistics) as
/// safetensors. The file name must end in `.safetensors`.
pub fn write_weights(vs: &nn::VarStore, path: &Path) -> Result<(), ExportError> {
    if path.extension().and_then(|e| e.to_str()) != Some("safetensors") {
        return Err(ExportError::NotSafetensors(path.to_path_buf()));
    }
    vs.save(path).map_err(|source| ExportError::SaveWeights {
        path: path.to_path_buf(),
        source,
    })
}

/// Saves the weights (parameters and running statistics) to a `.safetensors` file.
pub fn save_weights(vs: &nn::VarStore, path: &Path) -> Result<(), ExportError> {
    write_weights(vs, path)
}

/// The tensors listed in a safetensors file's header (read without libtorch), by name.
pub fn read_safetensors_header(path: &Path) -> Result<Vec<TensorInfo>, ExportError> {
    use std::io::Read;
    let at = || path.to_path_buf();
    let io = |source| ExportError::Io { path: at(), source };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len)
        .map_err(|source| ExportError::NoHeader { path: at(), source })?;
    let n = u64::from_le_bytes(len);
    let file_len = f.metadata().map_err(io)?.len();
    if n > file_len.saturating_sub(8) || n > 100 << 20 {
        return Err(ExportError::HeaderLength { path: at(), length: n });
    }
    let mut header = vec![0u8; n as usize];
    f.read_exact(&mut header).map_err(io)?;
    let json: serde_json::Value =
        serde_json::from_slice(&header).map_err(|source| ExportError::HeaderJson { path: at(), source })?;
    let obj = json
        .as_object()
        .ok_or_else(|| ExportError::HeaderNotObject { path: at() })?;
    let mut out = Vec::new();
    for (name, v) in obj {
        if name == "__metadata__" {
            continue;
        }
        let lacks = |problem| ExportError::HeaderEntry {
            path: at(),
            name: name.clone(),
            problem,
        };
        let dtype = v
            .get("dtype")
            .and_then(|d| d.as_str())
            .ok_or_else(|| lacks("has no dtype"))?
            .to_string();
        let shape = v
            .get("shape")
            .and_then(|s| s.as_array())
            .ok_or_else(|| lacks("has no shape"))?
            .iter()
            .map(|d| d.as_i64().ok_or_else(|| lacks("has a non-integer dimension")))
            .collect::<Result<Vec<i64>, ExportError>>()?;
        out.push(TensorInfo {
            name: name.clone(),
            dtype,
            shape,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Traces the eval-mode forward (main logits only) on an input of `input` dims (N×C×H×W)
/// and saves it as TorchScript. SAME paddings and emulated pool roundings are traced as
/// constants, so the module is meant for inputs of that size. The variables are frozen
/// while tracing and saving (a traced constant cannot require grad) and unfrozen afterwards.
pub fn torchscript(vs: &mut nn::VarStore, model: &Model, input: [i64; 4], path: &Path) -> Result<(), ExportError> {
    let x = Tensor::randn(input, (Kind::Float, vs.device()));
    vs.freeze();
    let result = tch::no_grad(|| {
        let mut closure = |inputs: &[Tensor]| vec![model.forward(&inputs[0], false).0];
        let module =
            CModule::create_by_tracing("archcheck", "forward", &[x], &mut closure).map_err(ExportError::Trace)?;
        // Saved while frozen: the traced constants share the variables' storage and flags,
        // and a constant pickled with requires_grad set does not load in Python.
        module.save(path).map_err(|source| ExportError::SaveModule {
            path: path.to_path_buf(),
            source,
        })
    });
    vs.unfreeze();
    result
}
