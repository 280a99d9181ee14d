//! `archcheck plot`: training curves of one or more runs as SVG.

use std::path::{Path, PathBuf};

use super::args::InputLimits;
use super::{Failure, output};

/// `LABEL=PATH` or `PATH`: an argument that names an existing file or directory is a path,
/// whatever it holds (`runs/lr=0.1`); otherwise the text before the first `=` is a label.
fn label_and_path(arg: &str) -> (String, PathBuf) {
    let whole = PathBuf::from(arg);
    if let (false, Some((label, path))) = (whole.exists(), arg.split_once('=')) {
        return (label.to_string(), PathBuf::from(path));
    }
    let label = whole
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| arg.to_string());
    (label, whole)
}

pub fn run(runs: &[String], out: &Path, limits: InputLimits) -> Result<u8, Failure> {
    let mut loaded = Vec::new();
    let mut inputs = Vec::new();
    for r in runs {
        let (label, path) = label_and_path(r);
        let file = if path.is_dir() {
            path.join("metrics.jsonl")
        } else {
            path
        };
        let metrics = archcheck::metrics::read_jsonl_within(&file, limits.max_file_size).map_err(Failure::error)?;
        loaded.push((label, metrics));
        inputs.push(file);
    }
    let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    // Refused before plotting: the plot would replace one of the runs it reads.
    output::refuse_overwriting_input(out, &inputs)?;
    let plotted = match loaded.as_slice() {
        [(label, m)] => archcheck::metrics::plot_run(m, label, out),
        _ => archcheck::metrics::plot_overlay(&loaded, out),
    };
    plotted.map_err(Failure::error)?;
    output::message(&format!("wrote {}\n", out.display()));
    Ok(0)
}
