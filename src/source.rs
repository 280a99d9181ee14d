//! An input file's text, read once and kept: every later stage and every renderer works on
//! this copy, so a spec read from a pipe is as good as one read from disk.
//!
//! Reading is bounded: only regular files and standard input (`-`, `/dev/stdin`, or a
//! descriptor this process already holds, as `<(cat spec.yaml)` gives) are read, and never
//! more than a size limit, so `/dev/zero`, a FIFO nobody writes to or a device cannot make
//! archcheck hang or eat memory. Lines are indexed once, so resolving a position is a binary
//! search, not a scan of the file per message.

use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

/// A 1-based line and column in an input; line 0 is no place. Positions stay line:col from
/// the YAML markers to the renderer, which looks the line up in the [`Source`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Loc {
    pub line: usize,
    pub col: usize,
}

/// The default limit on an input file's size: far above any real table (the 10,000-row
/// benchmark spec is about 1 MiB), far below what would strain memory.
pub const DEFAULT_MAX_BYTES: u64 = 32 << 20;

/// Why an input could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {what}: {cause}")]
    Io { what: &'static str, cause: String },
    #[error("cannot read {what}: it is {kind}, expected a regular file or standard input ('-')")]
    NotAFile { what: &'static str, kind: &'static str },
    #[error("cannot read {what}: it is larger than the limit of {limit} bytes")]
    TooLarge { what: &'static str, limit: u64 },
    #[error("expected UTF-8 text, found the byte 0x{byte:02x}")]
    NotUtf8 { byte: u8, line: usize, col: usize },
}

impl ReadError {
    /// The message, with how to raise the limit where a flag can (`--max-file-size`).
    pub fn with_flag_hint(&self) -> String {
        match self {
            ReadError::TooLarge { .. } => format!("{self} (raise it with --max-file-size)"),
            _ => self.to_string(),
        }
    }

    /// The 1-based line and column the error is at, where it has one.
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            ReadError::NotUtf8 { line, col, .. } => Some((*line, *col)),
            _ => None,
        }
    }
}

/// The text of one input and where its lines start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Source {
    /// The name as given on the command line (`-` for standard input), used in messages.
    pub name: String,
    pub text: String,
    line_starts: Vec<usize>,
}

impl Source {
    pub fn new(name: impl Into<String>, text: String) -> Source {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Source {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// Reads `path` (`-` is standard input) as UTF-8 text of at most `max_bytes` bytes.
    /// `what` names the input in messages ("the spec", "the metrics file").
    pub fn read(path: &Path, what: &'static str, max_bytes: u64) -> Result<Source, ReadError> {
        let bytes = read_bounded(path, what, max_bytes)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let before = std::str::from_utf8(good).unwrap_or_default();
            ReadError::NotUtf8 {
                byte: e.as_bytes()[good.len()],
                line: before.matches('\n').count() + 1,
                col: before.rsplit('\n').next().unwrap_or_default().chars().count() + 1,
            }
        })?;
        let name = if path.as_os_str() == "-" {
            "<stdin>".to_string()
        } else {
            path.display().to_string()
        };
        Ok(Source::new(name, text))
    }

    /// Line `n` (1-based) without its line break, if the text has it.
    pub fn line(&self, n: usize) -> Option<&str> {
        let start = *self.line_starts.get(n.checked_sub(1)?)?;
        let end = self.line_starts.get(n).map_or(self.text.len(), |&next| next - 1);
        let line = &self.text[start..end];
        Some(line.strip_suffix('\r').unwrap_or(line))
    }

    /// The 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let col = self.text.get(start..offset).map_or(1, |s| s.chars().count() + 1);
        (line, col)
    }
}

/// Whether `path` names this process's standard input or a descriptor it already holds
/// (`/dev/stdin`, `/dev/fd/N`, `/proc/self/fd/N`): reading those cannot block on open.
fn is_held_descriptor(path: &Path) -> bool {
    let s = path.to_string_lossy();
    s == "/dev/stdin" || s.starts_with("/dev/fd/") || s.starts_with("/proc/self/fd/")
}

/// What a file that is not a regular file is, in words.
fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a named pipe (FIFO)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

fn io_error(what: &'static str, e: std::io::Error) -> ReadError {
    let cause = match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => {
            // std's text is "Permission denied (os error 13)": keep the words, lowercase.
            let s = e.to_string();
            let s = s.split(" (os error").next().unwrap_or(&s);
            s.to_lowercase()
        }
    };
    ReadError::Io { what, cause }
}

/// At most `max_bytes` of `path`: the read stops one byte past the limit, whatever the input.
/// Binary inputs (data sets, checkpoints) are read through this too.
pub fn read_bounded(path: &Path, what: &'static str, max_bytes: u64) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::new();
    let limit = max_bytes.saturating_add(1);
    if path.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(|e| io_error(what, e))?;
    } else {
        let meta = std::fs::metadata(path).map_err(|e| io_error(what, e))?;
        // A pipe this process already holds is read like standard input; anything else
        // that is not a regular file could block on open, never end, or be a device.
        let held_pipe = meta.file_type().is_fifo() && is_held_descriptor(path);
        if !meta.is_file() && !held_pipe {
            return Err(ReadError::NotAFile {
                what,
                kind: kind_of(&meta),
            });
        }
        if meta.is_file() && meta.len() > max_bytes {
            return Err(ReadError::TooLarge { what, limit: max_bytes });
        }
        let file = std::fs::File::open(path).map_err(|e| io_error(what, e))?;
        file.take(limit)
            .read_to_end(&mut bytes)
            .map_err(|e| io_error(what, e))?;
    }
    if bytes.len() as u64 > max_bytes {
        return Err(ReadError::TooLarge { what, limit: max_bytes });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_positions() {
        let s = Source::new("x", "ab\ncdé\r\n\nlast".to_string());
        assert_eq!(s.line(1), Some("ab"));
        assert_eq!(s.line(2), Some("cdé"));
        assert_eq!(s.line(3), Some(""));
        assert_eq!(s.line(4), Some("last"));
        assert_eq!(s.line(5), None);
        assert_eq!(s.line(0), None);
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(3), (2, 1));
        // 'é' is two bytes: the byte after it is column 4.
        assert_eq!(s.line_col(7), (2, 4));
        assert_eq!(s.line_col(s.text.len()), (4, 5));
    }

    #[test]
    fn refuses_devices_and_directories_and_caps_size() {
        let dir = std::env::temp_dir();
        assert!(matches!(
            Source::read(&dir, "the spec", 10),
            Err(ReadError::NotAFile {
                kind: "a directory",
                ..
            })
        ));
        assert!(matches!(
            Source::read(Path::new("/dev/zero"), "the spec", 10),
            Err(ReadError::NotAFile {
                kind: "a character device",
                ..
            })
        ));
        let f = dir.join(format!("archcheck-source-{}.yaml", std::process::id()));
        std::fs::write(&f, "x".repeat(11)).unwrap();
        assert!(matches!(
            Source::read(&f, "the spec", 10),
            Err(ReadError::TooLarge { limit: 10, .. })
        ));
        assert_eq!(Source::read(&f, "the spec", 11).unwrap().text.len(), 11);
        std::fs::write(&f, b"a: 1\nb: \xff\n").unwrap();
        assert_eq!(
            Source::read(&f, "the spec", 100),
            Err(ReadError::NotUtf8 {
                byte: 0xff,
                line: 2,
                col: 4
            })
        );
        std::fs::remove_file(&f).unwrap();
    }
}
