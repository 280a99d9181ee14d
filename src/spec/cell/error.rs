//! Why a cell did not parse: [`CellError`] (a character offset, what was expected, what was
//! found), the nom error behind it, and running a production over a whole cell.

use std::fmt;

use nom::{
    IResult, Parser,
    error::{ErrorKind, ParseError},
};

/// Why a cell did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    /// Character (not byte) offset in the cell text where the problem starts.
    pub offset: usize,
    /// What the grammar wanted there: `a number after ×`.
    pub expected: String,
    /// What was there: `end of cell`, `'q'`, `0`.
    pub found: String,
}

impl fmt::Display for CellError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}, found {}", self.expected, self.found)
    }
}

impl std::error::Error for CellError {}

/// The nom error: the remaining input where the problem starts (always a suffix of the cell),
/// what was expected there and, when it is not simply the next character, what was found.
#[derive(Debug)]
pub(super) struct PErr<'a> {
    pub(super) at: &'a str,
    pub(super) expected: String,
    pub(super) found: Option<String>,
}

pub(super) type Res<'a, T> = IResult<&'a str, T, PErr<'a>>;

impl<'a> PErr<'a> {
    pub(super) fn new(at: &'a str, expected: impl Into<String>) -> Self {
        PErr {
            at,
            expected: expected.into(),
            found: None,
        }
    }

    fn into_cell_error(self, cell: &str) -> CellError {
        let byte = cell.len().saturating_sub(self.at.len());
        let offset = cell.get(..byte).map_or(0, |before| before.chars().count());
        let found = self.found.unwrap_or_else(|| match self.at.chars().next() {
            None => "end of cell".to_string(),
            Some(c) => format!("{c:?}"),
        });
        CellError {
            offset,
            expected: self.expected,
            found,
        }
    }
}

impl<'a> ParseError<&'a str> for PErr<'a> {
    fn from_error_kind(input: &'a str, kind: ErrorKind) -> Self {
        // Every primitive is relabelled by `expect` or the productions; this is a fallback.
        PErr::new(input, kind.description().to_lowercase())
    }

    fn append(_: &'a str, _: ErrorKind, other: Self) -> Self {
        other
    }
}

/// A recoverable error (alternatives may still be tried) at `at`.
pub(super) fn error<'a>(at: &'a str, expected: impl Into<String>) -> nom::Err<PErr<'a>> {
    nom::Err::Error(PErr::new(at, expected))
}

/// An unrecoverable error at `at`, found `found` (the next character when `None`).
pub(super) fn failure<'a>(at: &'a str, expected: impl Into<String>, found: Option<String>) -> nom::Err<PErr<'a>> {
    nom::Err::Failure(PErr {
        at,
        expected: expected.into(),
        found,
    })
}

/// Runs `p`, relabelling a recoverable error with what was expected at the start of its input.
pub(super) fn expect<'a, O, P>(what: &'static str, mut p: P) -> impl FnMut(&'a str) -> Res<'a, O>
where
    P: Parser<&'a str, Output = O, Error = PErr<'a>>,
{
    move |i| match p.parse(i) {
        Err(nom::Err::Error(_)) => Err(error(i, what)),
        other => other,
    }
}

/// A run of digits as shown in an error, shortened when very long.
pub(super) fn show_digits(digits: &str) -> String {
    if digits.len() > 24 {
        format!("{}… ({} digits)", &digits[..20], digits.len())
    } else {
        digits.to_string()
    }
}

/// Parses a whole cell with `p`: surrounding whitespace is skipped, and anything left over
/// after `p` is reported as "expected {after}".
pub(super) fn run_cell<'a, T>(
    cell: &'a str,
    mut p: impl Parser<&'a str, Output = T, Error = PErr<'a>>,
    after: &str,
) -> Result<T, CellError> {
    let result = match p.parse(cell.trim_start()) {
        Ok((rest, v)) => {
            let rest = rest.trim_start();
            if rest.is_empty() {
                Ok(v)
            } else {
                Err(PErr::new(rest, after))
            }
        }
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(e),
        Err(nom::Err::Incomplete(_)) => Err(PErr::new("", "more input")),
    };
    result.map_err(|e| e.into_cell_error(cell))
}

pub(super) const END: &str = "end of cell";
