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

use archcheck::derive::{derive, Derivation};
use archcheck::ir::LowerOptions;
use archcheck::report;
use archcheck::spec::{self, SpecError};

#[derive(Parser)]
#[command(name = "archcheck", version, about = "Derive, check, build and train networks transcribed from paper tables")]
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
        LowerOptions { variant: self.variant.clone(), classes: self.classes, no_aux: self.no_aux, input: self.input, cell_overrides: Vec::new() }
    }
}

#[derive(Subcommand)]
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
    /// Device to build on: auto, cpu, cuda or cuda:N (--verify always runs on the CPU).
    #[arg(long, default_value = "cpu")]
    device: String,
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
    if d.errors() > 0 || (strict && d.warnings() > 0) { 1 } else { 0 }
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
            if report::json::write(&d, i32::from(code), &mut out).and_then(|_| Ok(writeln!(out).and_then(|_| out.flush()))).is_err() {
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
            std::iter::once(None).chain(spec.variants.keys().cloned().map(Some)).collect()
        } else {
            vec![variant.clone()]
        };
        for v in variants {
            let name = match &v {
                Some(v) => format!("{} --variant {v}", path.display()),
                None => path.display().to_string(),
            };
            let opts = LowerOptions { variant: v.clone(), ..LowerOptions::default() };
            match derive(spec.clone(), &opts, 1) {
                Ok(d) => {
                    let code = exit_code(&d, strict);
                    let verdict = if code == 0 { "ok  " } else { "FAIL" };
                    println!("{verdict} {name}: {} errors, {} warnings, {} parameters", d.errors(), d.warnings(), report::thousands(d.totals.params));
                    for x in d.diagnostics.iter().filter(|x| x.severity == archcheck::diag::Severity::Error || (strict && x.severity == archcheck::diag::Severity::Warning)) {
                        println!("     {}:{}:{}: {}[{}] {}", d.spec.file, x.line, x.col, x.severity, x.code, x.message);
                    }
                    if code == 0 { passed += 1 } else { failed += 1 }
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
    let title = format!("{} ({}), generated by archcheck from {}", spec.title, model.variant.as_deref().unwrap_or("the table as printed"), spec.file);
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
                let label = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| r.clone());
                (label, p)
            }
        };
        let file = if path.is_dir() { path.join("metrics.jsonl") } else { path };
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
    let device = match archcheck::torch::device_from_str(&a.device) {
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
        println!("note: derive finds {} errors in the table (see archcheck derive); the network is built as lowered", d.errors());
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
            Ok(()) => println!("saved TorchScript (traced at 1×{}×{h}×{w}) to {}", d.graph.input_channels, p.display()),
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    }
    code
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
        Command::Derive { model, batch, format, strict } => run_derive(model, *batch, *format, *strict),
        Command::Check { specs, variant, all_variants, strict } => run_check(specs, variant, *all_variants, *strict),
        Command::Emit { model, output, .. } => run_emit(model, output),
        Command::Plot { runs, output } => run_plot(runs, output),
        Command::Build(a) => run_build(a),
    };
    ExitCode::from(code)
}
