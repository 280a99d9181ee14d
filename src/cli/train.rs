//! `archcheck build --train`: the options, the run, its summary.

use std::path::PathBuf;

use super::args::{BuildArgs, flag_pair};
use super::console::{Console, gib};
use super::{Failure, Loaded, ended, train_failure};
use archcheck::torch::train;

pub fn run(a: &BuildArgs, loaded: Loaded) -> Result<u8, Failure> {
    let req = request(a);
    let model = train::ModelRequest {
        spec: a.model.spec.clone(),
        loaded: loaded.spec,
        options: a.model.lower_options(),
    };
    let source = model.loaded.source.clone();
    let mut console = Console::new();
    let result = train::run(&model, &req, &mut console);
    if let Some(bar) = console.bar.take() {
        bar.abandon();
    }
    let s = result.map_err(|e| train_failure(&e, &source))?;
    summarize(&mut console, &s);
    ended(console.failed.map_or(Ok(()), Err), 0)
}

/// Where a run goes without `--out`: `runs/<spec stem>[-<variant>]`.
fn default_out(a: &BuildArgs) -> PathBuf {
    let stem = a
        .model
        .spec
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    PathBuf::from("runs").join(match &a.model.variant {
        Some(v) => format!("{stem}-{v}"),
        None => stem,
    })
}

/// The training options as the command line (and project file) give them.
fn request(a: &BuildArgs) -> train::TrainRequest {
    let t = &a.train;
    train::TrainRequest {
        data: t.data.clone(),
        epochs: t.epochs.map(|x| x as usize),
        batch: t.batch.map(|x| x as usize),
        optimizer: t
            .optimizer
            .as_deref()
            .map(|s| s.parse().expect("clap checked the value")),
        lr: t.lr,
        momentum: t.momentum,
        weight_decay: t.weight_decay,
        schedule: t
            .schedule
            .as_deref()
            .map(|s| s.parse().expect("clap checked the value")),
        warmup: t.warmup,
        aux_weight: t.aux_weight,
        amp: flag_pair(t.amp, t.no_amp),
        channels_last: flag_pair(t.channels_last, t.no_channels_last),
        seed: t.seed,
        device: a.device.clone().unwrap_or_else(|| "auto".into()),
        out: t.out.clone().unwrap_or_else(|| default_out(a)),
        resume: t.resume,
        max_steps: t.max_steps,
        checkpoint_every: t.checkpoint_every,
    }
}

/// The run's outcome: steps and speed, accuracy, GPU memory, where the files are.
fn summarize(console: &mut Console, s: &train::TrainSummary) {
    let ending = if s.stopped_early {
        "stopped (--max-steps)"
    } else {
        "done"
    };
    let elapsed = console.started.elapsed().as_secs_f64();
    console.say(format!(
        "{ending} after {} ({} complete); {elapsed:.0} s this session ({:.0} s in all), {:.0} training images/s",
        super::plural(s.steps as usize, "step"),
        super::plural(s.metrics.len(), "epoch"),
        s.elapsed_s,
        s.images_per_sec
    ));
    console.say(match s.best {
        Some((acc, epoch)) => format!(
            "best test accuracy {:.2}% at epoch {epoch}; last {:.2}%",
            100.0 * acc,
            100.0 * s.last_test_accuracy
        ),
        None => format!("test accuracy {:.2}%", 100.0 * s.last_test_accuracy),
    });
    if let Some(peak) = s.peak_gpu_bytes {
        console.say(format!(
            "peak GPU memory {} (derive predicts {} of fp32 activations per batch)",
            gib(peak as f64),
            gib(s.predicted_training_bytes as f64)
        ));
    }
    console.say(format!(
        "weights {}; metrics {}, {}",
        s.final_weights.display(),
        s.out.join("metrics.jsonl").display(),
        s.out.join("metrics.svg").display()
    ));
}
