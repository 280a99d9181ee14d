//! The command line's types: every command, flag and default, as clap reads them.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use archcheck::ir::Limits;
use archcheck::ir::LowerOptions;

#[derive(Parser)]
#[command(
    name = "archcheck",
    version,
    about = "Derive, check, build and train networks transcribed from paper tables"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Colour in diagnostics: auto (a terminal, unless NO_COLOR is set; CLICOLOR_FORCE
    /// forces it), always or never.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// `check`'s output: text for people, or a format a CI system reads (docs/ci.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// One line per spec and variant, the findings below it.
    Text,
    /// One JSON document: every result, its diagnostics, the exit status.
    Json,
    /// GitHub Actions workflow commands (`::error file=...`): annotations on the diff.
    Github,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
    /// JUnit XML: one test case per spec and variant.
    Junit,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Markdown,
    /// GitHub Actions workflow commands, as `check --format github` (docs/ci.md).
    Github,
    /// SARIF 2.1.0, as `check --format sarif`.
    Sarif,
    /// JUnit XML, as `check --format junit`.
    Junit,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum DiagramFormat {
    Svg,
    Dot,
    Mermaid,
}

/// How the terminal table is laid out (`--format table`).
#[derive(clap::Args, Clone, Copy)]
pub struct ViewArgs {
    /// Fit the table in N columns [default: $COLUMNS, else the terminal's width, else as
    /// wide as the content].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(40..))]
    pub width: Option<u16>,
    /// rows: the printed rows only; branches: and each branch; layers: every layer.
    #[arg(long, value_enum, default_value_t = Depth::Layers)]
    pub depth: Depth,
    /// ASCII box drawing and `x` for `×` [default: on when standard output is a terminal
    /// whose locale is not UTF-8].
    #[arg(long)]
    pub ascii: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Depth {
    Rows,
    Branches,
    Layers,
}

#[derive(clap::Args, Clone)]
pub struct ModelArgs {
    /// The spec file (YAML).
    pub spec: PathBuf,
    /// A named variant of the spec (see the spec's `variants:`).
    #[arg(long)]
    pub variant: Option<String>,
    /// The architecture to build, in a table whose columns are architectures (the spec's
    /// `models:`; default: the variant's, or the first).
    #[arg(long)]
    pub model: Option<String>,
    /// Reference input size, H or HxW (default: the spec's).
    #[arg(long, value_parser = parse_input)]
    pub input: Option<(u64, u64)>,
    /// Number of classes (default: the spec's).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub classes: Option<u64>,
    /// Leave out auxiliary heads.
    #[arg(long)]
    pub no_aux: bool,
    #[command(flatten)]
    pub limits: InputLimits,
}

/// `--max-file-size`'s default, which also bounds the project file.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 32 << 20;

/// Bounds on what an input may cost (docs/diagnostics.md, "Hostile input").
#[derive(clap::Args, Clone, Copy)]
pub struct InputLimits {
    /// Largest input file read, in bytes (K, M, G suffixes: 1024-based).
    #[arg(long, value_name = "SIZE", default_value = "32M", value_parser = parse_size)] // DEFAULT_MAX_FILE_SIZE
    pub max_file_size: u64,
    /// Most layers (graph nodes) a spec may lower to.
    #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT_MAX_NODES)]
    pub max_nodes: usize,
}

impl InputLimits {
    pub fn graph(&self) -> Limits {
        Limits {
            max_nodes: self.max_nodes,
        }
    }
}

impl ModelArgs {
    pub fn lower_options(&self) -> LowerOptions {
        LowerOptions {
            variant: self.variant.clone(),
            classes: self.classes,
            no_aux: self.no_aux,
            input: self.input,
            cell_overrides: Vec::new(),
            padded_rows: Vec::new(),
            model: self.model.clone(),
        }
    }
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once
pub enum Command {
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
        #[command(flatten)]
        view: ViewArgs,
    },
    /// Check many specs at once (for CI): one line each, non-zero exit if any fails.
    Check {
        /// Spec files, or directories searched for *.yaml and *.yml.
        #[arg(required = true)]
        specs: Vec<PathBuf>,
        /// Output format [default: github when GITHUB_ACTIONS=true, else text].
        #[arg(long, value_enum)]
        format: Option<CheckFormat>,
        #[command(flatten)]
        limits: InputLimits,
        /// Check this variant of every spec.
        #[arg(long, conflicts_with = "all_variants")]
        variant: Option<String>,
        /// Check the table as printed and every variant of every spec.
        #[arg(long)]
        all_variants: bool,
        /// Check this architecture column of every spec (a table of architectures).
        #[arg(long, conflicts_with = "all_models")]
        model: Option<String>,
        /// Check every architecture column (with --all-variants: every model each variant is for).
        #[arg(long)]
        all_models: bool,
        #[arg(long)]
        strict: bool,
    },
    /// Write the network for another framework: `emit pytorch SPEC`, `emit onnx SPEC -o
    /// F.onnx` (`emit SPEC --pytorch` is `emit pytorch SPEC`).
    Emit(EmitArgs),
    /// Draw the network as the paper nests it (row → branch → layer), with every layer's
    /// shape, parameters and MACs, and the findings in colour.
    Diagram {
        #[command(flatten)]
        model: ModelArgs,
        /// svg, dot (Graphviz) or mermaid [default: from the -o extension (.dot/.gv,
        /// .mmd/.mermaid), else svg].
        #[arg(long, value_enum)]
        format: Option<DiagramFormat>,
        /// 1: one block per printed row (and head, auxiliary head); 2: rows opened into their
        /// branches and layers.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=2))]
        depth: u64,
        /// Output file (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Check a checkpoint (safetensors; a PyTorch .pt/.pth state_dict with the libtorch
    /// build) against the derived network: every tensor's name and shape.
    Compare {
        #[command(flatten)]
        model: ModelArgs,
        /// The weights file: .safetensors, or .pt/.pth (libtorch build).
        weights: PathBuf,
    },
    /// Plot training metrics (metrics.jsonl of one or more runs) as SVG; several runs overlay.
    Plot {
        /// Run directories or metrics.jsonl files; label a run with LABEL=PATH.
        #[arg(required = true)]
        runs: Vec<String>,
        #[arg(short, long)]
        output: PathBuf,
        #[command(flatten)]
        limits: InputLimits,
    },
    /// Build the network in libtorch (needs the `torch` feature); --verify checks every
    /// layer's real output shape and the parameter count against derive.
    Build(BuildArgs),
    /// Training throughput and peak GPU memory of the libtorch model and of the emitted
    /// PyTorch module (same run, synthetic data), with derive's predicted memory.
    Bench(BenchArgs),
}

#[derive(clap::Args)]
pub struct EmitArgs {
    #[command(subcommand)]
    pub target: EmitTarget,
}

/// `emit SPEC --pytorch ...`, the older spelling, as `emit pytorch SPEC ...` (clap cannot
/// put a subcommand beside a required positional argument, so it is rewritten before parsing).
pub fn legacy_emit(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let targets = ["pytorch", "onnx", "help", "-h", "--help"];
    let legacy = args.get(1).is_some_and(|a| a == "emit")
        && args.get(2).is_some_and(|a| !targets.iter().any(|t| a == t))
        && args.iter().skip(2).take_while(|a| *a != "--").any(|a| a == "--pytorch");
    if legacy {
        if let Some(i) = args.iter().skip(2).position(|a| a == "--pytorch") {
            args.remove(i + 2);
        }
        args.insert(2, "pytorch".into());
    }
    args
}

#[derive(Subcommand)]
pub enum EmitTarget {
    /// A self-contained PyTorch nn.Module file (parameter names match archcheck's).
    Pytorch {
        #[command(flatten)]
        model: ModelArgs,
        /// Output file (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Also write FILE_train.py beside -o FILE: a torchrun (DistributedDataParallel)
        /// training script for the module; the module then returns logits (no softmax).
        #[arg(long, requires = "output")]
        train_script: bool,
    },
    /// An ONNX model (opset 17): dynamic batch, dynamic H×W where the network allows it,
    /// parameters named as the graph names them; the inference graph (no auxiliary heads).
    Onnx {
        #[command(flatten)]
        model: ModelArgs,
        /// The weights, tensors named as the graph's parameters (`archcheck build
        /// --save-weights`, or a PyTorch state_dict saved as safetensors) [default: random].
        #[arg(long, value_name = "F.safetensors")]
        weights: Option<PathBuf>,
        /// Seed of the random weights (without --weights).
        #[arg(long, default_value_t = 0, conflicts_with = "weights")]
        seed: u64,
        /// The model file.
        #[arg(short, long, value_name = "FILE.onnx")]
        output: PathBuf,
    },
}

#[derive(clap::Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Run the model at the reference, the smallest valid and one more input size and
    /// compare every layer's output shape with derive's.
    #[arg(long)]
    pub verify: bool,
    /// Save the weights (parameters and running statistics) to FILE.safetensors.
    #[arg(long, value_name = "FILE.safetensors")]
    pub save_weights: Option<PathBuf>,
    /// Trace the eval-mode model at the reference input size and save it as TorchScript.
    #[arg(long, value_name = "FILE.pt")]
    pub torchscript: Option<PathBuf>,
    /// Device: auto, cpu, cuda or cuda:N (default: cpu to build, auto with --train;
    /// --verify always runs on the CPU).
    #[arg(long)]
    pub device: Option<String>,
    #[command(flatten)]
    pub train: TrainArgs,
}

/// `build --train`: every option but --train itself needs --train. Options left out take
/// the checkpoint's value with --resume, else the default shown.
#[derive(clap::Args)]
#[command(next_help_heading = "Training (--train)")]
pub struct TrainArgs {
    /// Train the network (see the options below).
    #[arg(long)]
    pub train: bool,
    /// synthetic, fashion-mnist, fashion-mnist:DIR or imagefolder:DIR [default: fashion-mnist]
    #[arg(long, requires = "train", value_parser = archcheck::data::parse_data_arg)]
    pub data: Option<archcheck::data::DataSource>,
    /// Epochs [default: 10].
    #[arg(long, requires = "train", value_parser = clap::value_parser!(u64).range(1..))]
    pub epochs: Option<u64>,
    /// Batch size [default: 128].
    #[arg(long, requires = "train", value_parser = clap::value_parser!(u64).range(1..))]
    pub batch: Option<u64>,
    /// sgd (with momentum) or adam [default: sgd].
    #[arg(long, requires = "train", value_parser = ["sgd", "adam"])]
    pub optimizer: Option<String>,
    /// Learning rate [default: 0.05 for sgd, 0.001 for adam].
    #[arg(long, requires = "train")]
    pub lr: Option<f64>,
    /// SGD momentum [default: 0.9].
    #[arg(long, requires = "train")]
    pub momentum: Option<f64>,
    /// L2 weight decay [default: 5e-4 for sgd, 0 for adam].
    #[arg(long, requires = "train")]
    pub weight_decay: Option<f64>,
    /// step (×0.96 every 8 epochs) or cosine [default: cosine].
    #[arg(long, requires = "train", value_parser = ["step", "cosine"])]
    pub schedule: Option<String>,
    /// Linear learning-rate warm-up, in epochs (fractions allowed) [default: 0].
    #[arg(long, requires = "train")]
    pub warmup: Option<f64>,
    /// Weight of each auxiliary head's loss [default: 0.3].
    #[arg(long, requires = "train")]
    pub aux_weight: Option<f64>,
    /// bf16 autocast (--no-amp: off) [default: on for CUDA, off for the CPU].
    #[arg(long, requires = "train", overrides_with = "no_amp")]
    pub amp: bool,
    #[arg(long, requires = "train", overrides_with = "amp", hide = true)]
    pub no_amp: bool,
    /// Channels-last memory layout (--no-channels-last: off) [default: on for CUDA, off for
    /// the CPU].
    #[arg(long, requires = "train", overrides_with = "no_channels_last")]
    pub channels_last: bool,
    #[arg(long, requires = "train", overrides_with = "channels_last", hide = true)]
    pub no_channels_last: bool,
    /// Run directory: metrics.jsonl, metrics.svg, checkpoints, final.safetensors
    /// [default: runs/SPEC-VARIANT].
    #[arg(long, requires = "train")]
    pub out: Option<PathBuf>,
    /// Continue the run in --out from its last checkpoint.
    #[arg(long, requires = "train")]
    pub resume: bool,
    /// Stop after K optimizer steps in total (checkpointed; --resume continues).
    #[arg(long, requires = "train", value_name = "K")]
    pub max_steps: Option<u64>,
    /// Seed of weights, data order, augmentation and dropout [default: from the clock].
    #[arg(long, requires = "train")]
    pub seed: Option<u64>,
    /// Also write a checkpoint every N steps (always at the end of each epoch).
    #[arg(long, requires = "train", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_every: Option<u64>,
}

#[cfg(feature = "torch")]
pub fn flag_pair(on: bool, off: bool) -> Option<bool> {
    if on {
        Some(true)
    } else if off {
        Some(false)
    } else {
        None
    }
}

#[derive(clap::Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Batch size.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch: u64,
    /// Timed training steps per side.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    pub steps: u64,
    /// Untimed steps before (cuDNN autotuning).
    #[arg(long, default_value_t = 5)]
    pub warmup: u64,
    /// bf16 autocast (--no-amp: off) [default: on for CUDA].
    #[arg(long, overrides_with = "no_amp")]
    pub amp: bool,
    #[arg(long, overrides_with = "amp", hide = true)]
    pub no_amp: bool,
    /// Channels-last layout (--no-channels-last: off) [default: on for CUDA].
    #[arg(long, overrides_with = "no_channels_last")]
    pub channels_last: bool,
    #[arg(long, overrides_with = "channels_last", hide = true)]
    pub no_channels_last: bool,
    /// auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Python with torch for the PyTorch side [default: $ARCHCHECK_PYTHON, else python3].
    #[arg(long)]
    pub python: Option<String>,
    /// Skip the PyTorch side.
    #[arg(long, conflicts_with = "python")]
    pub no_pytorch: bool,
    /// SGD learning rate of both sides.
    #[arg(long, default_value_t = 0.01)]
    pub lr: f64,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

fn parse_input(s: &str) -> Result<(u64, u64), String> {
    archcheck::spec::parse_hw(s).map_err(|e| e.to_string())
}

/// A byte count: digits with an optional K, M or G (powers of 1024).
fn parse_size(s: &str) -> Result<u64, String> {
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, ""),
    };
    let shift = match unit {
        "" => 0,
        "K" | "k" => 10,
        "M" | "m" => 20,
        "G" | "g" => 30,
        _ => return Err(format!("expected a size such as 32M or 1048576, found '{s}'")),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("expected a size such as 32M or 1048576, found '{s}'"))?;
    n.checked_mul(1 << shift)
        .filter(|&b| b > 0)
        .ok_or_else(|| format!("expected a size between 1 byte and 2^64 - 1 bytes, found '{s}'"))
}
