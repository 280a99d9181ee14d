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

use clap::{CommandFactory, FromArgMatches};

use cli::args::{Cli, Command};
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
        } => cli::derive::run(model, *batch, *format, *strict),
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
        Command::Emit { model, output, .. } => cli::emit::run(model, output),
        Command::Compare { model, weights } => cli::compare::run(model, weights),
        Command::Plot { runs, output, limits } => cli::plot::run(runs, output, *limits),
        #[cfg(feature = "torch")]
        Command::Build(a) => cli::build::run(a),
        #[cfg(feature = "torch")]
        Command::Bench(a) => cli::bench::run(a),
        #[cfg(not(feature = "torch"))]
        Command::Build(_) | Command::Bench(_) => cli::without_torch(),
    }
}

/// The `--color` of the command line, for clap's messages (which precede parsing): the last
/// one given, `auto` (clap's own rules: NO_COLOR, CLICOLOR_FORCE, a terminal) without one.
fn clap_color(args: impl Iterator<Item = std::ffi::OsString>) -> clap::ColorChoice {
    let args: Vec<String> = args.map(|a| a.to_string_lossy().into_owned()).collect();
    let mut choice = clap::ColorChoice::Auto;
    for (i, a) in args.iter().enumerate() {
        let value = match a.strip_prefix("--color") {
            Some(v) if v.starts_with('=') => Some(&v[1..]),
            Some("") => args.get(i + 1).map(String::as_str),
            _ => None,
        };
        match value {
            Some("always") => choice = clap::ColorChoice::Always,
            Some("never") => choice = clap::ColorChoice::Never,
            Some("auto") => choice = clap::ColorChoice::Auto,
            _ => {}
        }
    }
    choice
}

fn main() -> ExitCode {
    // clap's own messages (a bad flag) follow `--color` too, so it is read before parsing.
    let parsed = Cli::command()
        .color(clap_color(std::env::args_os()))
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
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
