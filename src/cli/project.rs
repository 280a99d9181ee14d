//! The command line with the project file under it: a left-out SPEC comes from the nearest
//! `archcheck.toml`, and so do the options its flags leave out (a flag always wins; see
//! docs/project.md). Also `--version`, which says what this binary can do.

use std::ffi::OsString;
use std::path::Path;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, FromArgMatches};

use super::args::{BuildArgs, Cli, Command, DEFAULT_MAX_FILE_SIZE, EmitArgs, EmitTarget, ModelArgs, TrainArgs};
use super::{Failure, spec_failure};
use archcheck::project::{self, FILE_NAME, Project};
use archcheck::source::Source;
use archcheck::spec::SpecError;

/// What parsing the command line came to: a command to run, or a status to exit with
/// (help, version, a usage error: already printed).
#[allow(clippy::large_enum_variant)] // made once per process
pub enum Parsed {
    Run(Cli),
    Exit(u8),
}

/// Parses the process's arguments and merges the project file in.
pub fn parse() -> Parsed {
    // `emit SPEC --pytorch` is `emit pytorch SPEC` (args.rs).
    let args: Vec<OsString> = super::args::legacy_emit(std::env::args_os().collect());
    match try_parse(&args) {
        Ok(parsed) => parsed,
        Err(Failure::Unusable(message)) => {
            super::output::message(&message);
            Parsed::Exit(2)
        }
        Err(Failure::Exit { message, status }) => {
            super::output::message(&message);
            Parsed::Exit(status)
        }
        Err(Failure::ClosedPipe) => Parsed::Exit(0),
    }
}

fn try_parse(args: &[OsString]) -> Result<Parsed, Failure> {
    match clap_parse(args) {
        Ok(mut cli) => {
            if let Some(project) = wanted(&cli.command).then(find).transpose()?.flatten() {
                apply(&mut cli.command, &project, false);
            }
            Ok(Parsed::Run(cli))
        }
        Err(e) if missing_spec(&e) => {
            let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
            let project = find()?.ok_or_else(|| no_project(&cwd))?;
            let spec = project.spec.clone().ok_or_else(|| no_spec_in(&project))?;
            // Appended, so it lands after every subcommand name; `--` would end the flags.
            let mut with_spec = args.to_vec();
            let at = with_spec.iter().position(|a| a == "--").unwrap_or(with_spec.len());
            with_spec.insert(at, spec.into_os_string());
            match clap_parse(&with_spec) {
                Ok(mut cli) => {
                    apply(&mut cli.command, &project, true);
                    Ok(Parsed::Run(cli))
                }
                Err(e) => Ok(Parsed::Exit(print_clap(&e))),
            }
        }
        Err(e) => Ok(Parsed::Exit(print_clap(&e))),
    }
}

/// clap's parse, with `--version` telling what this build has (libtorch, CUDA).
fn clap_parse(args: &[OsString]) -> Result<Cli, clap::Error> {
    // clap's own messages (a bad flag) follow `--color` too, so it is read before parsing.
    let mut command = Cli::command().color(clap_color(args.iter().cloned()));
    if args.iter().skip(1).any(|a| a == "--version" || a == "-V") {
        // Once per process, at start-up: clap keeps a &'static str.
        command = command.version(&*Box::leak(version().into_boxed_str()));
    }
    let matches = command.try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches)
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

fn print_clap(e: &clap::Error) -> u8 {
    let _ = e.print();
    if e.use_stderr() { 2 } else { 0 }
}

/// Whether clap stopped only because the spec was left out.
fn missing_spec(e: &clap::Error) -> bool {
    e.kind() == ErrorKind::MissingRequiredArgument
        && matches!(e.get(ContextKind::InvalidArg), Some(ContextValue::Strings(missing))
            if !missing.is_empty() && missing.iter().all(|m| m.starts_with("<SPEC")))
}

/// Commands that read the file even when given a spec: its training options and the
/// model options of its own spec apply to them.
fn wanted(command: &Command) -> bool {
    matches!(command, Command::Build(_) | Command::Bench(_))
}

/// The nearest project file, read and checked.
fn find() -> Result<Option<Project>, Failure> {
    let cwd = std::env::current_dir().map_err(|e| Failure::error(format!("cannot read the current directory: {e}")))?;
    match project::find(&cwd) {
        None => Ok(None),
        Some(path) => {
            // Named from where the user stands: `archcheck.toml` at the project's root,
            // `../../archcheck.toml` two levels below it (the file is in an ancestor).
            let up = cwd.components().count().saturating_sub(path.components().count() - 1);
            let path = match path.file_name() {
                Some(name) => std::iter::repeat_n(Path::new(".."), up)
                    .collect::<std::path::PathBuf>()
                    .join(name),
                None => path,
            };
            let source = Source::read(&path, "the project file", DEFAULT_MAX_FILE_SIZE)
                .map_err(|e| spec_failure(&SpecError::read(&path, e), None))?;
            project::parse(&source, &path)
                .map(Some)
                .map_err(|e| spec_failure(&e, Some(&source)))
        }
    }
}

fn no_project(cwd: &Path) -> Failure {
    Failure::error(format!(
        "no SPEC given, and no {FILE_NAME} in {} or a directory above it\n  \
         pass the spec (archcheck build specs/my_model.yaml --train), or create {FILE_NAME} with the line\n    \
         spec = \"specs/my_model.yaml\"\n  \
         (every key: docs/project.md)",
        cwd.display()
    ))
}

fn no_spec_in(p: &Project) -> Failure {
    Failure::error(format!(
        "no SPEC given, and {} names none; add a line such as spec = \"specs/my_model.yaml\" to it, or pass the spec",
        p.path.display()
    ))
}

/// Whether `a` and `b` name the same file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Fills what the flags left out from the file. `from_file`: the spec itself came from it.
fn apply(command: &mut Command, p: &Project, from_file: bool) {
    let own = |spec: &Path| from_file || p.spec.as_deref().is_some_and(|s| same_file(s, spec));
    match command {
        Command::Derive { model, .. }
        | Command::Compare { model, .. }
        | Command::Diagram { model, .. }
        | Command::Emit(EmitArgs {
            target: EmitTarget::Pytorch { model, .. } | EmitTarget::Onnx { model, .. },
        }) => {
            if own(&model.spec) {
                apply_model(model, p);
            }
        }
        Command::Bench(b) => {
            if own(&b.model.spec) {
                apply_model(&mut b.model, p);
            }
        }
        Command::Build(b) => {
            if own(&b.model.spec) {
                apply_model(&mut b.model, p);
            }
            if b.train.train {
                apply_train(b, p);
            }
        }
        Command::Check {
            variant, all_variants, ..
        } => {
            if from_file && !*all_variants && variant.is_none() {
                variant.clone_from(&p.variant);
            }
        }
        Command::Plot { .. } => {}
    }
}

fn apply_model(m: &mut ModelArgs, p: &Project) {
    if m.variant.is_none() {
        m.variant.clone_from(&p.variant);
    }
    m.classes = m.classes.or(p.classes);
    m.no_aux |= p.no_aux.unwrap_or(false);
}

fn apply_train(b: &mut BuildArgs, p: &Project) {
    let f = &p.train;
    b.model.input = b.model.input.or(f.input);
    if b.device.is_none() {
        b.device.clone_from(&f.device);
    }
    let t: &mut TrainArgs = &mut b.train;
    if t.data.is_none() {
        t.data.clone_from(&f.data);
    }
    t.epochs = t.epochs.or(f.epochs);
    t.batch = t.batch.or(f.batch);
    if t.optimizer.is_none() {
        t.optimizer.clone_from(&f.optimizer);
    }
    t.lr = t.lr.or(f.lr);
    t.momentum = t.momentum.or(f.momentum);
    t.weight_decay = t.weight_decay.or(f.weight_decay);
    if t.schedule.is_none() {
        t.schedule.clone_from(&f.schedule);
    }
    t.warmup = t.warmup.or(f.warmup);
    t.aux_weight = t.aux_weight.or(f.aux_weight);
    if !t.amp && !t.no_amp {
        (t.amp, t.no_amp) = (f.amp == Some(true), f.amp == Some(false));
    }
    if !t.channels_last && !t.no_channels_last {
        (t.channels_last, t.no_channels_last) = (f.channels_last == Some(true), f.channels_last == Some(false));
    }
    t.seed = t.seed.or(f.seed);
    if t.out.is_none() {
        t.out.clone_from(&f.out);
    }
    t.checkpoint_every = t.checkpoint_every.or(f.checkpoint_every);
    t.max_steps = t.max_steps.or(f.max_steps);
}

/// `archcheck --version`: the version, and whether libtorch and CUDA are there.
fn version() -> String {
    let v = env!("CARGO_PKG_VERSION");
    #[cfg(feature = "torch")]
    {
        let torch = archcheck::torch::runtime::libtorch_version().unwrap_or_else(|| "(version unknown)".into());
        let cuda = if archcheck::torch::runtime::cuda_available() {
            format!("CUDA usable ({} device(s))", tch::Cuda::device_count())
        } else {
            "CUDA not usable (no CUDA device visible): training runs on the CPU".into()
        };
        format!("{v} with libtorch {torch}; {cuda}")
    }
    #[cfg(not(feature = "torch"))]
    format!(
        "{v} without libtorch (derive, check, emit, plot; `archcheck build` says how to get build, --train and bench)"
    )
}
