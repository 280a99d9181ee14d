//! The `archcheck` command line: parse, run one command, exit with its status. The commands
//! live in `cli/`, one file each.
//!
//! Exit status: 0 no error-level finding; 1 the spec is inconsistent (an error finding, or
//! a warning under --strict, or a failed verification); 2 the input cannot be used (missing
//! file, YAML or cell syntax, unknown row type, invalid option, an output that cannot be
//! written...). A closed pipe on standard output ends the output quietly and keeps the
//! status reached (docs/diagnostics.md).

mod cli;

use std::process::ExitCode;

use cli::args::Command;
use cli::{Failure, output};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn run(command: &Command) -> Result<u8, Failure> {
    match command {
        Command::Derive {
            model,
            batch,
            format,
            strict,
            view,
        } => cli::derive::run(model, *batch, *format, *strict, view),
        Command::Check {
            specs,
            format,
            limits,
            variant,
            all_variants,
            model,
            all_models,
            strict,
        } => cli::check::run(&cli::check::Request {
            specs,
            format: cli::check::format_or_default(*format),
            variant,
            all_variants: *all_variants,
            model,
            all_models: *all_models,
            strict: *strict,
            limits: *limits,
        }),
        Command::Emit(a) => cli::emit::dispatch(a),
        Command::Diagram {
            model,
            format,
            depth,
            output,
        } => cli::diagram::run(model, *format, *depth, output.as_deref()),
        Command::Compare { model, weights } => cli::compare::run(model, weights),
        Command::Plot { runs, output, limits } => cli::plot::run(runs, output, *limits),
        #[cfg(feature = "torch")]
        Command::Build(a) => cli::build::run(a),
        #[cfg(feature = "torch")]
        Command::Bench(a) => cli::bench::run(a),
        #[cfg(not(feature = "torch"))]
        Command::Build(a) => {
            cli::refuse_unfit(
                &a.model,
                a.train.train.then(|| a.train.batch.unwrap_or(cli::DEFAULT_TRAIN_BATCH)),
            )?;
            cli::without_torch()
        }
        #[cfg(not(feature = "torch"))]
        Command::Bench(a) => {
            cli::refuse_unfit(&a.model, Some(a.batch))?;
            cli::without_torch()
        }
    }
}

fn main() -> ExitCode {
    let cli = match cli::project::parse() {
        cli::project::Parsed::Run(c) => c,
        cli::project::Parsed::Exit(code) => return ExitCode::from(code),
    };
    output::set_color(cli.color);
    let status = match run(&cli.command) {
        Ok(status) => status,
        Err(Failure::ClosedPipe) => 0,
        Err(Failure::Unusable(message)) => {
            output::message(&message);
            2
        }
        Err(Failure::Exit { message, status }) => {
            output::message(&message);
            status
        }
    };
    ExitCode::from(status)
}
