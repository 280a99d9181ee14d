//! `archcheck bench`: training throughput of the libtorch model and of the emitted PyTorch
//! module in the same run.

use super::args::{BenchArgs, flag_pair};
use super::console::gib;
use super::{Failure, Output, ended, train_failure};
use archcheck::report;
use archcheck::torch::bench;

pub fn run(a: &BenchArgs) -> Result<u8, Failure> {
    let loaded = super::refuse_unfit(&a.model, Some(a.batch))?;
    let req = bench::BenchRequest {
        batch: a.batch as usize,
        steps: a.steps as usize,
        warmup: a.warmup as usize,
        amp: flag_pair(a.amp, a.no_amp),
        channels_last: flag_pair(a.channels_last, a.no_channels_last),
        device: a.device.clone(),
        python: if a.no_pytorch {
            None
        } else {
            Some(a.python.clone().unwrap_or_else(bench::default_python))
        },
        lr: a.lr,
        ..bench::BenchRequest::default()
    };
    let model = archcheck::torch::train::ModelRequest {
        spec: a.model.spec.clone(),
        loaded: loaded.spec,
        options: a.model.lower_options(),
    };
    let r = bench::run(&model, &req).map_err(|e| match e {
        bench::BenchError::Train(e) => train_failure(&e, &model.loaded.source),
        e => Failure::Exit {
            message: format!("error: {e}\n"),
            status: e.exit_code(),
        },
    })?;
    let text = if a.json {
        json(&r).to_string()
    } else {
        text(&r).join("\n")
    };
    let status = if matches!(r.pytorch, Some(Err(_))) { 1 } else { 0 };
    let mut out = Output::stdout();
    ended(out.line(&text).and_then(|()| out.finish()), status)
}

/// The report as one JSON object.
fn json(r: &bench::BenchReport) -> serde_json::Value {
    let side_json = |s: &bench::BenchSide| serde_json::json!({"images_per_sec": s.images_per_sec, "step_ms": s.step_ms, "peak_bytes": s.peak_bytes, "parameters": s.parameters});
    let pytorch = match &r.pytorch {
        None => serde_json::Value::Null,
        Some(Ok(p)) => {
            let mut v = side_json(p);
            v["torch"] = serde_json::json!(p.torch);
            v
        }
        Some(Err(e)) => serde_json::json!({"error": e}),
    };
    serde_json::json!({
        "spec": r.spec, "variant": r.variant, "device": r.device, "batch": r.batch,
        "input": [r.input.0, r.input.1], "classes": r.classes, "amp": r.amp,
        "channels_last": r.channels_last, "steps": r.steps, "warmup": r.warmup,
        "archcheck": side_json(&r.tch), "pytorch": pytorch, "ratio": r.ratio(),
        "predicted_training_bytes": r.predicted_training_bytes,
        "derived_parameters": r.derived_parameters,
    })
}

/// The report as lines of text.
fn text(r: &bench::BenchReport) -> Vec<String> {
    let mut lines = Vec::new();
    let variant = r.variant.as_deref().map(|v| format!(" ({v})")).unwrap_or_default();
    let mut mode = vec![if r.amp { "bf16 autocast" } else { "fp32" }];
    if r.channels_last {
        mode.push("channels-last");
    }
    lines.push(format!(
        "bench {}{variant}: batch {}, {}×{}, {} classes, on {}, {}, SGD momentum; {} timed steps after {} warm-up",
        r.spec,
        r.batch,
        r.input.0,
        r.input.1,
        r.classes,
        r.device,
        mode.join(", "),
        r.steps,
        r.warmup
    ));
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::NOTHING);
    table.set_header(vec!["", "images/s", "ms/step", "peak memory", "parameters"]);
    let row = |name: String, s: &bench::BenchSide| {
        vec![
            name,
            format!("{:.0}", s.images_per_sec),
            format!("{:.1}", s.step_ms),
            s.peak_bytes.map_or("-".into(), |b| gib(b as f64)),
            report::thousands(s.parameters),
        ]
    };
    table.add_row(row("archcheck (tch)".into(), &r.tch));
    match &r.pytorch {
        Some(Ok(p)) => {
            table.add_row(row(format!("PyTorch {} eager", p.torch.as_deref().unwrap_or("")), p));
        }
        Some(Err(e)) => {
            table.add_row(vec!["PyTorch eager".to_string(), format!("failed: {e}")]);
        }
        None => {}
    }
    lines.push(table.to_string());
    if let Some(ratio) = r.ratio() {
        lines.push(format!("archcheck / PyTorch images/s: {ratio:.3}"));
    }
    lines.push(format!(
        "derive: {} parameters; activation memory kept for backward at batch {}: {} (fp32 prediction)",
        report::thousands(r.derived_parameters),
        r.batch,
        gib(r.predicted_training_bytes as f64)
    ));
    lines
}
