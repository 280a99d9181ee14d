//! What the terminal can show: its width and whether it takes UTF-8. Decided here, once,
//! from the flags, the environment and the streams; the report only receives the answer.

use std::io::IsTerminal;

use super::args::{Depth, ViewArgs};
use archcheck::report::table::{self, View};

/// The table's layout: `--width`, else `$COLUMNS`, else the width of the terminal on
/// standard output, error or input (a pager reading a pipe still has a terminal behind it);
/// none of them: as wide as the content, so a file or a test gets the same bytes anywhere.
pub fn view(a: &ViewArgs) -> View {
    let width = a
        .width
        .map(usize::from)
        .or_else(columns)
        .or_else(|| terminal_size::terminal_size().map(|(w, _)| usize::from(w.0)));
    View {
        width,
        depth: match a.depth {
            Depth::Rows => table::Depth::Rows,
            Depth::Branches => table::Depth::Branches,
            Depth::Layers => table::Depth::Layers,
        },
        ascii: a.ascii || (std::io::stdout().is_terminal() && !utf8_locale()),
    }
}

/// `$COLUMNS` when it is a positive number (shells set it; scripts and tests may too).
fn columns() -> Option<usize> {
    std::env::var("COLUMNS")
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|&w: &usize| w > 0)
}

/// Whether the locale's character set is UTF-8, by the variables in the order C reads them
/// (the first one set wins); none set reads as the C locale, which is ASCII.
fn utf8_locale() -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .is_some_and(|s| {
            let s = s.to_ascii_lowercase();
            s.contains("utf-8") || s.contains("utf8")
        })
}
