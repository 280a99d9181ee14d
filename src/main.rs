//! The `archcheck` command line. The only place that prints.
//!
//! Exit status: 0 no error-level finding; 1 the spec is inconsistent (an error finding, or
//! a warning under --strict, or a failed verification); 2 the input cannot be used (missing
//! file, YAML or cell syntax, unknown row type, invalid option...).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use archcheck::derive::{Derivation, derive};
use archcheck::ir::LowerOptions;
use archcheck::report;
use archcheck::spec::{self, SpecError};

#[derive(Parser)]
#[command(
    name = "archcheck",
    version,
    about = "Derive, check, build and train networks transcribed from paper tables"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
    Markdown,
}

#[derive(clap::Args, Clone)]
struct ModelArgs {
    /// The spec file (YAML).
    spec: PathBuf,
    /// A named variant of the spec (see the spec's `variants:`).
    #[arg(long)]
    variant: Option<String>,
    /// Reference input size, H or HxW (default: the spec's).
    #[arg(long, value_parser = parse_input)]
    input: Option<(u64, u64)>,
    /// Number of classes (default: the spec's).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    classes: Option<u64>,
    /// Leave out auxiliary heads.
    #[arg(long)]
    no_aux: bool,
}

impl ModelArgs {
    fn lower_options(&self) -> LowerOptions {
        LowerOptions {
            variant: self.variant.clone(),
            classes: self.classes,
            no_aux: self.no_aux,
            input: self.input,
            cell_overrides: Vec::new(),
        }
    }
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once
enum Command {
    /// Derive every layer's shape and cost and check the printed cells.
    Derive {
        #[command(flatten)]
        model: ModelArgs,
        /// Batch size for the activation-memory figures.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i64).range(1..))]
        batch: i64,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Treat warnings (rounded figures beyond the tolerance) as errors.
        #[arg(long)]
        strict: bool,
    },
    /// Check many specs at once (for CI): one line each, non-zero exit if any fails.
    Check {
        #[arg(required = true)]
        specs: Vec<PathBuf>,
        /// Check this variant of every spec.
        #[arg(long, conflicts_with = "all_variants")]
        variant: Option<String>,
        /// Check the table as printed and every variant of every spec.
        #[arg(long)]
        all_variants: bool,
        #[arg(long)]
        strict: bool,
    },
    /// Write the architecture as source for another framework.
    Emit {
        #[command(flatten)]
        model: ModelArgs,
        /// A self-contained PyTorch nn.Module file (parameter names match archcheck's).
        #[arg(long, required = true)]
        pytorch: bool,
        /// Output file (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Plot training metrics (metrics.jsonl of one or more runs) as SVG; several runs overlay.
    Plot {
        /// Run directories or metrics.jsonl files; label a run with LABEL=PATH.
        #[arg(required = true)]
        runs: Vec<String>,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Build the network in libtorch (needs the `torch` feature); --verify checks every
    /// layer's real output shape and the parameter count against derive.
    Build(BuildArgs),
    /// Training throughput and peak GPU memory of the libtorch model and of the emitted
    /// PyTorch module (same run, synthetic data), with derive's predicted memory.
    Bench(BenchArgs),
}

#[derive(clap::Args)]
struct BuildArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Run the model at the reference, the smallest valid and one more input size and
    /// compare every layer's output shape with derive's.
    #[arg(long)]
    verify: bool,
    /// Save the weights (parameters and running statistics) to FILE.safetensors.
    #[arg(long, value_name = "FILE.safetensors")]
    save_weights: Option<PathBuf>,
    /// Trace the eval-mode model at the reference input size and save it as TorchScript.
    #[arg(long, value_name = "FILE.pt")]
    torchscript: Option<PathBuf>,
    /// Device: auto, cpu, cuda or cuda:N (default: cpu to build, auto with --train;
    /// --verify always runs on the CPU).
    #[arg(long)]
    device: Option<String>,
    #[command(flatten)]
    train: TrainArgs,
}

/// `build --train`: every option but --train itself needs --train. Options left out take
/// the checkpoint's value with --resume, else the default shown.
#[derive(clap::Args)]
#[command(next_help_heading = "Training (--train)")]
struct TrainArgs {
    /// Train the network (see the options below).
    #[arg(long)]
    train: bool,
    /// synthetic, fashion-mnist, fashion-mnist:DIR or imagefolder:DIR [default: fashion-mnist]
    #[arg(long, requires = "train", value_parser = archcheck::data::parse_data_arg)]
    data: Option<archcheck::data::DataSource>,
    /// Epochs [default: 10].
    #[arg(long, requires = "train", value_parser = clap::value_parser!(u64).range(1..))]
    epochs: Option<u64>,
    /// Batch size [default: 128].
    #[arg(long, requires = "train", value_parser = clap::value_parser!(u64).range(1..))]
    batch: Option<u64>,
    /// sgd (with momentum) or adam [default: sgd].
    #[arg(long, requires = "train", value_parser = ["sgd", "adam"])]
    optimizer: Option<String>,
    /// Learning rate [default: 0.05 for sgd, 0.001 for adam].
    #[arg(long, requires = "train")]
    lr: Option<f64>,
    /// SGD momentum [default: 0.9].
    #[arg(long, requires = "train")]
    momentum: Option<f64>,
    /// L2 weight decay [default: 5e-4 for sgd, 0 for adam].
    #[arg(long, requires = "train")]
    weight_decay: Option<f64>,
    /// step (×0.96 every 8 epochs) or cosine [default: cosine].
    #[arg(long, requires = "train", value_parser = ["step", "cosine"])]
    schedule: Option<String>,
    /// Linear learning-rate warm-up, in epochs (fractions allowed) [default: 0].
    #[arg(long, requires = "train")]
    warmup: Option<f64>,
    /// Weight of each auxiliary head's loss [default: 0.3].
    #[arg(long, requires = "train")]
    aux_weight: Option<f64>,
    /// bf16 autocast (--no-amp: off) [default: on for CUDA, off for the CPU].
    #[arg(long, requires = "train", overrides_with = "no_amp")]
    amp: bool,
    #[arg(long, requires = "train", overrides_with = "amp", hide = true)]
    no_amp: bool,
    /// Channels-last memory layout (--no-channels-last: off) [default: on for CUDA, off for
    /// the CPU].
    #[arg(long, requires = "train", overrides_with = "no_channels_last")]
    channels_last: bool,
    #[arg(long, requires = "train", overrides_with = "channels_last", hide = true)]
    no_channels_last: bool,
    /// Run directory: metrics.jsonl, metrics.svg, checkpoints, final.safetensors
    /// [default: runs/SPEC-VARIANT].
    #[arg(long, requires = "train")]
    out: Option<PathBuf>,
    /// Continue the run in --out from its last checkpoint.
    #[arg(long, requires = "train")]
    resume: bool,
    /// Stop after K optimizer steps in total (checkpointed; --resume continues).
    #[arg(long, requires = "train", value_name = "K")]
    max_steps: Option<u64>,
    /// Seed of weights, data order, augmentation and dropout [default: from the clock].
    #[arg(long, requires = "train")]
    seed: Option<u64>,
    /// Also write a checkpoint every N steps (always at the end of each epoch).
    #[arg(long, requires = "train", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    checkpoint_every: Option<u64>,
}

#[cfg(feature = "torch")]
fn flag_pair(on: bool, off: bool) -> Option<bool> {
    if on {
        Some(true)
    } else if off {
        Some(false)
    } else {
        None
    }
}

#[derive(clap::Args)]
struct BenchArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Batch size.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..))]
    batch: u64,
    /// Timed training steps per side.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    steps: u64,
    /// Untimed steps before (cuDNN autotuning).
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// bf16 autocast (--no-amp: off) [default: on for CUDA].
    #[arg(long, overrides_with = "no_amp")]
    amp: bool,
    #[arg(long, overrides_with = "amp", hide = true)]
    no_amp: bool,
    /// Channels-last layout (--no-channels-last: off) [default: on for CUDA].
    #[arg(long, overrides_with = "no_channels_last")]
    channels_last: bool,
    #[arg(long, overrides_with = "channels_last", hide = true)]
    no_channels_last: bool,
    /// auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Python with torch for the PyTorch side [default: $ARCHCHECK_PYTHON, else python3].
    #[arg(long)]
    python: Option<String>,
    /// Skip the PyTorch side.
    #[arg(long, conflicts_with = "python")]
    no_pytorch: bool,
    /// SGD learning rate of both sides.
    #[arg(long, default_value_t = 0.01)]
    lr: f64,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
}

fn parse_input(s: &str) -> Result<(u64, u64), String> {
    spec::load::parse_hw(s)
}

fn load(path: &Path) -> Result<(spec::Spec, String), (SpecError, Option<String>)> {
    let text = std::fs::read_to_string(path).ok();
    match spec::load_file(path) {
        Ok(s) => Ok((s, text.unwrap_or_default())),
        Err(e) => Err((e, text)),
    }
}

fn exit_code(d: &Derivation, strict: bool) -> u8 {
    if d.errors() > 0 || (strict && d.warnings() > 0) {
        1
    } else {
        0
    }
}

fn run_derive(model: &ModelArgs, batch: i64, format: Format, strict: bool) -> u8 {
    let (spec, text) = match load(&model.spec) {
        Ok(x) => x,
        Err((e, text)) => {
            eprint!("{}", report::diagnostics::render_error(&e, text.as_deref()));
            return 2;
        }
    };
    let d = match derive(spec, &model.lower_options(), batch) {
        Ok(d) => d,
        Err(e) => {
            eprint!("{}", report::diagnostics::render_error(&e, Some(&text)));
            return 2;
        }
    };
    let code = exit_code(&d, strict);
    match format {
        Format::Table => print!("{}", report::table::render(&d, &text)),
        Format::Json => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let written = report::json::write(&d, i32::from(code), &mut out).is_ok()
                && writeln!(out).and_then(|_| out.flush()).is_ok();
            if !written {
                return 2;
            }
        }
        Format::Markdown => print!("{}", report::markdown::render(&d)),
    }
    // The process ends here: skip freeing a graph that may hold 100,000 nodes.
    std::mem::forget(d);
    code
}

fn run_check(specs: &[PathBuf], variant: &Option<String>, all: bool, strict: bool) -> u8 {
    let mut worst = 0u8;
    let (mut passed, mut failed) = (0, 0);
    for path in specs {
        let (spec, text) = match load(path) {
            Ok(x) => x,
            Err((e, text)) => {
                println!("FAIL {} (unusable)", path.display());
                eprint!("{}", report::diagnostics::render_error(&e, text.as_deref()));
                worst = worst.max(2);
                failed += 1;
                continue;
            }
        };
        let variants: Vec<Option<String>> = if all {
            std::iter::once(None)
                .chain(spec.variants.keys().cloned().map(Some))
                .collect()
        } else {
            vec![variant.clone()]
        };
        for v in variants {
            let name = match &v {
                Some(v) => format!("{} --variant {v}", path.display()),
                None => path.display().to_string(),
            };
            let opts = LowerOptions {
                variant: v.clone(),
                ..LowerOptions::default()
            };
            match derive(spec.clone(), &opts, 1) {
                Ok(d) => {
                    let code = exit_code(&d, strict);
                    let verdict = if code == 0 { "ok  " } else { "FAIL" };
                    println!(
                        "{verdict} {name}: {} errors, {} warnings, {} parameters",
                        d.errors(),
                        d.warnings(),
                        report::thousands(d.totals.params)
                    );
                    for x in d.diagnostics.iter().filter(|x| {
                        x.severity == archcheck::diag::Severity::Error
                            || (strict && x.severity == archcheck::diag::Severity::Warning)
                    }) {
                        println!(
                            "     {}:{}:{}: {}[{}] {}",
                            d.spec.file, x.line, x.col, x.severity, x.code, x.message
                        );
                    }
                    if code == 0 {
                        passed += 1
                    } else {
                        failed += 1
                    }
                    worst = worst.max(code);
                }
                Err(e) => {
                    println!("FAIL {name} (unusable)");
                    eprint!("{}", report::diagnostics::render_error(&e, Some(&text)));
                    worst = worst.max(2);
                    failed += 1;
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    worst
}

fn run_emit(model: &ModelArgs, output: &Option<PathBuf>) -> u8 {
    let (spec, text) = match load(&model.spec) {
        Ok(x) => x,
        Err((e, text)) => {
            eprint!("{}", report::diagnostics::render_error(&e, text.as_deref()));
            return 2;
        }
    };
    let graph = match archcheck::ir::lower(&spec, &model.lower_options()) {
        Ok(g) => g,
        Err(e) => {
            eprint!("{}", report::diagnostics::render_error(&e, Some(&text)));
            return 2;
        }
    };
    let class = archcheck::emit::class_name(&spec.name, model.variant.as_deref());
    let title = format!(
        "{} ({}), generated by archcheck from {}",
        spec.title,
        model.variant.as_deref().unwrap_or("the table as printed"),
        spec.file
    );
    let source = archcheck::emit::pytorch_module(&graph, &class, &title);
    match output {
        None => print!("{source}"),
        Some(path) => {
            if let Err(e) = std::fs::write(path, source) {
                eprintln!("error: cannot write {}: {e}", path.display());
                return 2;
            }
            eprintln!("wrote {} (class {class})", path.display());
        }
    }
    0
}

fn run_plot(runs: &[String], output: &Path) -> u8 {
    let mut loaded = Vec::new();
    for r in runs {
        let (label, path) = match r.split_once('=') {
            Some((l, p)) => (l.to_string(), PathBuf::from(p)),
            None => {
                let p = PathBuf::from(r);
                let label = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| r.clone());
                (label, p)
            }
        };
        let file = if path.is_dir() {
            path.join("metrics.jsonl")
        } else {
            path
        };
        match archcheck::metrics::read_jsonl(&file) {
            Ok(m) => loaded.push((label, m)),
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    }
    let result = if loaded.len() == 1 {
        let (label, m) = &loaded[0];
        archcheck::metrics::plot_run(m, label, output)
    } else {
        archcheck::metrics::plot_overlay(&loaded, output)
    };
    match result {
        Ok(()) => {
            eprintln!("wrote {}", output.display());
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

#[cfg(not(feature = "torch"))]
fn run_build(_: &BuildArgs) -> u8 {
    eprintln!("archcheck was built without libtorch; run scripts/setup-torch.sh (builds with --features torch)");
    2
}

#[cfg(feature = "torch")]
fn run_build(a: &BuildArgs) -> u8 {
    use archcheck::torch::{export, model, verify};
    archcheck::torch::init();
    if a.train.train {
        return run_train(a);
    }
    let device = match archcheck::torch::device_from_str(a.device.as_deref().unwrap_or("cpu")) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let (spec, text) = match load(&a.model.spec) {
        Ok(x) => x,
        Err((e, text)) => {
            eprint!("{}", report::diagnostics::render_error(&e, text.as_deref()));
            return 2;
        }
    };
    let d = match derive(spec, &a.model.lower_options(), 1) {
        Ok(d) => d,
        Err(e) => {
            eprint!("{}", report::diagnostics::render_error(&e, Some(&text)));
            return 2;
        }
    };
    let mut vs = tch::nn::VarStore::new(device);
    let net = match model::Model::new(&vs.root(), &d.graph) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {}: {e}", d.spec.file);
            return 2;
        }
    };
    println!("{}", model::summary(&net, &vs, &d.spec.name));
    if d.errors() > 0 {
        println!(
            "note: derive finds {} errors in the table (see archcheck derive); the network is built as lowered",
            d.errors()
        );
    }
    let mut code = 0;
    if a.verify {
        match verify::verify_default(&d.graph, 2) {
            Ok(r) => {
                print!("{}", verify::render(&r));
                for x in &r.diagnostics {
                    print!("\n{}", report::diagnostics::render(x, &d.spec.file, &text));
                }
                println!("\n{}", r.summary());
                code = if r.ok() { 0 } else { 1 };
            }
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    }
    if let Some(p) = &a.save_weights {
        match export::save_weights(&vs, p) {
            Ok(()) => println!("saved weights to {}", p.display()),
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    }
    if let Some(p) = &a.torchscript {
        let (h, w) = d.graph.reference;
        match export::torchscript(&mut vs, &net, [1, d.graph.input_channels, h, w], p) {
            Ok(()) => println!(
                "saved TorchScript (traced at 1×{}×{h}×{w}) to {}",
                d.graph.input_channels,
                p.display()
            ),
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    }
    code
}

#[cfg(not(feature = "torch"))]
fn run_bench(_: &BenchArgs) -> u8 {
    eprintln!("archcheck was built without libtorch; run scripts/setup-torch.sh (builds with --features torch)");
    2
}

#[cfg(feature = "torch")]
fn gib(bytes: f64) -> String {
    format!("{:.2} GiB", bytes / (1u64 << 30) as f64)
}

/// The terminal side of training: a progress bar per epoch (stderr, only on a terminal)
/// and one line per epoch on stdout.
#[cfg(feature = "torch")]
struct Console {
    bar: Option<indicatif::ProgressBar>,
    started: std::time::Instant,
}

#[cfg(feature = "torch")]
impl archcheck::torch::train::Observer for Console {
    fn start(&mut self, i: &archcheck::torch::train::RunInfo) {
        let c = &i.config;
        let variant = i.spec.variant.as_deref().map(|v| format!(" ({v})")).unwrap_or_default();
        let mut extras = Vec::new();
        if c.amp {
            extras.push("bf16 autocast");
        }
        if c.channels_last {
            extras.push("channels-last");
        }
        let extras = if extras.is_empty() {
            String::new()
        } else {
            format!(", {}", extras.join(", "))
        };
        println!(
            "training {}{variant} at {}×{}, {} classes, {} parameters, on {}{extras}",
            i.spec.name,
            i.spec.input.0,
            i.spec.input.1,
            i.spec.classes,
            report::thousands(i.parameters),
            c.device
        );
        let opt = match c.optimizer {
            archcheck::torch::train::OptimizerKind::Sgd => format!("sgd lr {} momentum {}", c.lr, c.momentum),
            archcheck::torch::train::OptimizerKind::Adam => format!("adam lr {}", c.lr),
        };
        println!(
            "  data {}: {} train / {} test images; batch {}, {} steps per epoch, {} epochs",
            c.data, i.train_images, i.test_images, c.batch, i.steps_per_epoch, c.epochs
        );
        println!(
            "  {opt}, weight decay {}, {} schedule, warm-up {} epochs, aux loss weight {}, seed {}",
            c.weight_decay,
            c.schedule.name(),
            c.warmup_epochs,
            c.aux_weight,
            c.seed
        );
        println!(
            "  derive predicts {} of activations kept for backward per batch (fp32)",
            gib(i.predicted_training_bytes as f64)
        );
        if let Some((epoch, step)) = i.resumed_from {
            println!("  resuming at step {step} (epoch {} of {})", epoch + 1, c.epochs);
        }
        println!("  run directory: {}", i.out.display());
    }

    fn epoch_start(&mut self, epoch: usize, epochs: usize, first: u64, steps: u64) {
        let bar =
            indicatif::ProgressBar::with_draw_target(Some(steps), indicatif::ProgressDrawTarget::stderr_with_hz(4));
        bar.set_style(
            indicatif::ProgressStyle::with_template("{prefix} [{bar:28}] {pos}/{len} {msg} ETA {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(format!("epoch {}/{epochs}", epoch + 1));
        bar.set_position(first);
        bar.reset_eta();
        self.bar = Some(bar);
    }

    fn progress(&mut self, p: &archcheck::torch::train::Progress) {
        if let Some(bar) = &self.bar {
            bar.set_position(p.step_in_epoch);
            let stats = match (p.loss, p.accuracy) {
                (Some(l), Some(a)) => format!("loss {l:.4} acc {:.2}% ", 100.0 * a),
                _ => String::new(),
            };
            bar.set_message(format!("{stats}{:.0} img/s lr {:.3e}", p.images_per_sec, p.lr));
        }
    }

    fn evaluating(&mut self, _epoch: usize) {
        if let Some(bar) = &self.bar {
            bar.set_message("evaluating on the test set");
        }
    }

    fn epoch_end(&mut self, m: &archcheck::metrics::EpochMetrics, best: bool) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        println!(
            "epoch {:>3}: train loss {:.4} acc {:.2}% | test loss {:.4} acc {:.2}%{} | {:.0} img/s | lr {:.3e} | {:.0} s",
            m.epoch,
            m.train_loss,
            100.0 * m.train_acc,
            m.test_loss,
            100.0 * m.test_acc,
            if best { " (best)" } else { "" },
            m.images_per_sec,
            m.lr,
            m.elapsed_s
        );
    }

    fn note(&mut self, message: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("note: {message}")),
            None => eprintln!("note: {message}"),
        }
    }
}

#[cfg(feature = "torch")]
fn run_train(a: &BuildArgs) -> u8 {
    use archcheck::torch::train;
    let t = &a.train;
    let out = t.out.clone().unwrap_or_else(|| {
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
    });
    let req = train::TrainRequest {
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
        out,
        resume: t.resume,
        max_steps: t.max_steps,
        checkpoint_every: t.checkpoint_every,
    };
    let model = train::ModelRequest {
        spec: a.model.spec.clone(),
        options: a.model.lower_options(),
    };
    let mut console = Console {
        bar: None,
        started: std::time::Instant::now(),
    };
    let result = train::run(&model, &req, &mut console);
    if let Some(bar) = console.bar.take() {
        bar.abandon();
    }
    match result {
        Ok(s) => {
            let epochs = s.metrics.len();
            println!(
                "{} after {} steps ({} epochs complete); {:.0} s this session ({:.0} s in all), {:.0} training images/s",
                if s.stopped_early {
                    "stopped (--max-steps)"
                } else {
                    "done"
                },
                s.steps,
                epochs,
                console.started.elapsed().as_secs_f64(),
                s.elapsed_s,
                s.images_per_sec
            );
            match s.best {
                Some((acc, epoch)) => println!(
                    "best test accuracy {:.2}% at epoch {epoch}; last {:.2}%",
                    100.0 * acc,
                    100.0 * s.last_test_accuracy
                ),
                None => println!("test accuracy {:.2}%", 100.0 * s.last_test_accuracy),
            }
            if let Some(peak) = s.peak_gpu_bytes {
                println!(
                    "peak GPU memory {} (derive predicts {} of fp32 activations per batch)",
                    gib(peak as f64),
                    gib(s.predicted_training_bytes as f64)
                );
            }
            println!(
                "weights {}; metrics {}, {}",
                s.final_weights.display(),
                s.out.join("metrics.jsonl").display(),
                s.out.join("metrics.svg").display()
            );
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

#[cfg(feature = "torch")]
fn run_bench(a: &BenchArgs) -> u8 {
    use archcheck::torch::bench;
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
        options: a.model.lower_options(),
    };
    let r = match bench::run(&model, &req) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return e.exit_code();
        }
    };
    let side_json = |s: &bench::BenchSide| serde_json::json!({"images_per_sec": s.images_per_sec, "step_ms": s.step_ms, "peak_bytes": s.peak_bytes, "parameters": s.parameters});
    if a.json {
        let pytorch = match &r.pytorch {
            None => serde_json::Value::Null,
            Some(Ok(p)) => {
                let mut v = side_json(p);
                v["torch"] = serde_json::json!(p.torch);
                v
            }
            Some(Err(e)) => serde_json::json!({"error": e}),
        };
        let v = serde_json::json!({
            "spec": r.spec, "variant": r.variant, "device": r.device, "batch": r.batch,
            "input": [r.input.0, r.input.1], "classes": r.classes, "amp": r.amp,
            "channels_last": r.channels_last, "steps": r.steps, "warmup": r.warmup,
            "archcheck": side_json(&r.tch), "pytorch": pytorch, "ratio": r.ratio(),
            "predicted_training_bytes": r.predicted_training_bytes,
            "derived_parameters": r.derived_parameters,
        });
        println!("{v}");
    } else {
        let variant = r.variant.as_deref().map(|v| format!(" ({v})")).unwrap_or_default();
        let mut mode = vec![if r.amp { "bf16 autocast" } else { "fp32" }];
        if r.channels_last {
            mode.push("channels-last");
        }
        println!(
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
        );
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
        println!("{table}");
        if let Some(ratio) = r.ratio() {
            println!("archcheck / PyTorch images/s: {ratio:.3}");
        }
        println!(
            "derive: {} parameters; activation memory kept for backward at batch {}: {} (fp32 prediction)",
            report::thousands(r.derived_parameters),
            r.batch,
            gib(r.predicted_training_bytes as f64)
        );
    }
    match &r.pytorch {
        Some(Err(_)) => 1,
        _ => 0,
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let code = match &cli.command {
        Command::Derive {
            model,
            batch,
            format,
            strict,
        } => run_derive(model, *batch, *format, *strict),
        Command::Check {
            specs,
            variant,
            all_variants,
            strict,
        } => run_check(specs, variant, *all_variants, *strict),
        Command::Emit { model, output, .. } => run_emit(model, output),
        Command::Plot { runs, output } => run_plot(runs, output),
        Command::Build(a) => run_build(a),
        Command::Bench(a) => run_bench(a),
    };
    ExitCode::from(code)
}
