//! Writing the model out: its weights as safetensors (names are the node names, e.g.
//! `inception_3a.1x1.conv.weight`, `conv1.bn.running_mean`) and the eval-mode network as
//! TorchScript, traced at one input size, for `torch.jit.load`.

use std::path::Path;

use tch::{CModule, Kind, Tensor, nn};

use super::model::Model;

/// One tensor listed in a safetensors header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<i64>,
}

/// Saves every variable of `vs` (parameters and batch-norm running statistics) as
/// safetensors. The file name must end in `.safetensors`.
pub fn save_weights(vs: &nn::VarStore, path: &Path) -> Result<(), String> {
    if path.extension().and_then(|e| e.to_str()) != Some("safetensors") {
        return Err(format!("{}: the weights file must end in .safetensors", path.display()));
    }
    vs.save(path)
        .map_err(|e| format!("{}: cannot save the weights: {e}", path.display()))
}

/// The tensors listed in a safetensors file's header (read without libtorch), by name.
pub fn read_safetensors_header(path: &Path) -> Result<Vec<TensorInfo>, String> {
    use std::io::Read;
    let err = |m: String| format!("{}: {m}", path.display());
    let mut f = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len)
        .map_err(|e| err(format!("no safetensors header ({e})")))?;
    let n = u64::from_le_bytes(len);
    let file_len = f.metadata().map_err(|e| err(e.to_string()))?.len();
    if n > file_len.saturating_sub(8) || n > 100 << 20 {
        return Err(err(format!("header length {n} exceeds the file")));
    }
    let mut header = vec![0u8; n as usize];
    f.read_exact(&mut header).map_err(|e| err(e.to_string()))?;
    let json: serde_json::Value =
        serde_json::from_slice(&header).map_err(|e| err(format!("header is not JSON: {e}")))?;
    let obj = json
        .as_object()
        .ok_or_else(|| err("header is not a JSON object".into()))?;
    let mut out = Vec::new();
    for (name, v) in obj {
        if name == "__metadata__" {
            continue;
        }
        let dtype = v
            .get("dtype")
            .and_then(|d| d.as_str())
            .ok_or_else(|| err(format!("{name} has no dtype")))?
            .to_string();
        let shape = v
            .get("shape")
            .and_then(|s| s.as_array())
            .ok_or_else(|| err(format!("{name} has no shape")))?
            .iter()
            .map(|d| {
                d.as_i64()
                    .ok_or_else(|| err(format!("{name} has a non-integer dimension")))
            })
            .collect::<Result<Vec<i64>, String>>()?;
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
pub fn torchscript(vs: &mut nn::VarStore, model: &Model, input: [i64; 4], path: &Path) -> Result<(), String> {
    let x = Tensor::randn(input, (Kind::Float, vs.device()));
    vs.freeze();
    let result = tch::no_grad(|| {
        let mut closure = |inputs: &[Tensor]| vec![model.forward(&inputs[0], false).0];
        let module = CModule::create_by_tracing("archcheck", "forward", &[x], &mut closure)
            .map_err(|e| format!("tracing the model failed: {e}"))?;
        // Saved while frozen: the traced constants share the variables' storage and flags,
        // and a constant pickled with requires_grad set does not load in Python.
        module
            .save(path)
            .map_err(|e| format!("{}: cannot save the TorchScript module: {e}", path.display()))
    });
    vs.unfreeze();
    result
}
