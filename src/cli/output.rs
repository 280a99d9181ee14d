//! The one way archcheck writes: reports to standard output or a file, messages to standard
//! error. Every write is checked, so a closed pipe or a full disk ends the command with a
//! documented status instead of a panic (docs/diagnostics.md, "Exit status").

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use archcheck::report::diagnostics::Paint;

use super::args::ColorChoice;

/// `--color`, set once by `main` after parsing.
static COLOR: OnceLock<ColorChoice> = OnceLock::new();

pub fn set_color(choice: ColorChoice) {
    let _ = COLOR.set(choice);
}

/// Whether text for standard output (`stdout`) or standard error is painted: `--color
/// always|never` decides; under `auto`, CLICOLOR_FORCE (set, not `0`) turns colour on, then
/// NO_COLOR (set, not empty) off, then a terminal that is not `TERM=dumb` on. clap's own
/// messages follow the same variables.
pub fn paint(stdout: bool) -> Paint {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let terminal = if stdout {
        std::io::stdout().is_terminal()
    } else {
        std::io::stderr().is_terminal()
    };
    let color = match COLOR.get().copied().unwrap_or(ColorChoice::Auto) {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if var("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
                true
            } else if var("NO_COLOR").is_some() {
                false
            } else {
                terminal && var("TERM").is_none_or(|t| t != "dumb")
            }
        }
    };
    if color { Paint::Color } else { Paint::Plain }
}

/// Why a command stopped before its verdict; `main` turns it into the exit status.
#[derive(Debug)]
pub enum Failure {
    /// The reader of standard output went away (`| head`): stop writing, quietly; the
    /// command keeps the verdict it reached (see [`super::ended`]).
    ClosedPipe,
    /// The input cannot be used; the message is already rendered. Exit 2.
    Unusable(String),
    /// A message for standard error with its exit status (training's and bench's own).
    #[cfg_attr(not(feature = "torch"), allow(dead_code))]
    Exit { message: String, status: u8 },
}

impl Failure {
    pub fn unusable(message: impl Into<String>) -> Failure {
        Failure::Unusable(message.into())
    }

    /// An `error: ...` line, exit 2.
    pub fn error(message: impl std::fmt::Display) -> Failure {
        Failure::Unusable(format!("error: {message}\n"))
    }
}

/// A write error on `target`, in the words of the error's kind.
fn write_failure(target: &str, e: std::io::Error) -> Failure {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return Failure::ClosedPipe;
    }
    let cause = e.to_string();
    let cause = cause.split(" (os error").next().unwrap_or(&cause).to_lowercase();
    Failure::error(format!("cannot write {target}: {cause}"))
}

/// A report's destination: standard output, or a file written next to its final name and
/// renamed into place once complete, so a failed write never leaves half a file.
pub struct Output {
    target: String,
    writer: Box<dyn Write>,
    pending: Option<PendingFile>,
}

/// A file being written under a temporary name; removed if never finished.
struct PendingFile {
    temp: PathBuf,
    path: PathBuf,
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        // After the rename the temporary name is gone and this does nothing.
        let _ = std::fs::remove_file(&self.temp);
    }
}

impl Output {
    /// Standard output, buffered: a 23 MB JSON report is a million lines, and `Stdout`
    /// alone writes each line with its own system call.
    pub fn stdout() -> Output {
        Output {
            target: "to standard output".into(),
            writer: Box::new(std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock())),
            pending: None,
        }
    }

    /// A file at `path`, refused when it is one of `inputs` (the command would destroy
    /// what it reads).
    pub fn file(path: &Path, inputs: &[&Path]) -> Result<Output, Failure> {
        refuse_overwriting_input(path, inputs)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = path.with_file_name(format!(".{name}.archcheck-{}.tmp", std::process::id()));
        let target = path.display().to_string();
        let file = std::fs::File::create(&temp).map_err(|e| write_failure(&target, e))?;
        Ok(Output {
            target,
            writer: Box::new(std::io::BufWriter::new(file)),
            pending: Some(PendingFile {
                temp,
                path: path.to_path_buf(),
            }),
        })
    }

    /// Standard output, or the file `path` when one is given.
    pub fn to(path: Option<&Path>, inputs: &[&Path]) -> Result<Output, Failure> {
        match path {
            None => Ok(Output::stdout()),
            Some(p) => Output::file(p, inputs),
        }
    }

    pub fn write(&mut self, text: &str) -> Result<(), Failure> {
        self.writer
            .write_all(text.as_bytes())
            .map_err(|e| write_failure(&self.target, e))
    }

    pub fn line(&mut self, text: &str) -> Result<(), Failure> {
        self.write(text)?;
        self.write("\n")
    }

    /// Writes out what is buffered (a console line that should show now).
    pub fn flush(&mut self) -> Result<(), Failure> {
        self.writer.flush().map_err(|e| write_failure(&self.target, e))
    }

    /// The writer, for code that streams (the JSON report); see [`Output::failed`].
    pub fn stream(&mut self) -> &mut dyn Write {
        &mut self.writer
    }

    /// The failure of a streamed write, named after this output.
    pub fn failed(&self, e: std::io::Error) -> Failure {
        write_failure(&self.target, e)
    }

    /// Flushes, and puts a file in place (synced first, so a crash leaves the old file or
    /// the whole new one).
    pub fn finish(mut self) -> Result<(), Failure> {
        let flushed = self.writer.flush();
        let done = flushed.and_then(|()| match &self.pending {
            None => Ok(()),
            Some(p) => std::fs::File::open(&p.temp)
                .and_then(|f| f.sync_all())
                .and_then(|()| std::fs::rename(&p.temp, &p.path)),
        });
        done.map_err(|e| write_failure(&self.target, e))
    }
}

/// Whether two paths name the same existing file (hard links and `./x` vs `x` included).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Refuses an output path that names one of the command's inputs.
pub fn refuse_overwriting_input(path: &Path, inputs: &[&Path]) -> Result<(), Failure> {
    match inputs.iter().find(|i| same_file(path, i)) {
        Some(i) => Err(Failure::error(format!(
            "{} is an input of this command ({}); expected a different output file",
            path.display(),
            i.display()
        ))),
        None => Ok(()),
    }
}

/// A message on standard error. Failing to write it (stderr closed) is not worth a panic.
pub fn message(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
