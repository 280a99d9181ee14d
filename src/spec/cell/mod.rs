//! The cell grammar: the text of one table cell, parsed with nom.
//!
//! Each column of an architecture table has its own production:
//!
//! | column          | parser              | accepts                                   |
//! |-----------------|---------------------|-------------------------------------------|
//! | type            | [`parse_row_type`]  | `convolution*`, `inception (3a)`, `dropout (40%)` |
//! | patch size/stride | [`parse_patch`]   | `7×7/2`, `3x3/1`, `1×7`, `stride 2`       |
//! | output size     | [`parse_size`]      | `112×112×64`, `28 x 28 x 576`             |
//! | counts, depth   | [`parse_count`]     | `64`, `0`                                 |
//! | counts with symbols | [`parse_count_cell`] | `64`, or a symbol the column declares: `k` |
//! | pool proj       | [`parse_pool_proj`] | `avg + 32`, `max + pass through`          |
//! | params, ops     | [`parse_quantity`]  | `2.7K`, `1072K`, `1.5G`, `900`            |
//! | params, ops, totals | [`parse_figure`] | `14,208`, `3.8×10^9`, `0.39B`, `300 million` |
//! | input           | [`parse_printed_size`] | `224² × 3`, `299×299×3`, `224 × 224`   |
//! | filter          | [`parse_filter`]    | `3 × 3 × 3 × 32`, `3 × 3 × 32 dw`, `1024 × 1000` |
//!
//! The type production also reads `5× Conv dw / s2`, `MBConv6, k3x3`, `Conv1x1 & Pooling & FC`
//! and free text in parentheses (`type_ext`); figures, printed sizes and filter shapes live in
//! `figure` and `printed`.
//!
//! Dimension separators may be `×` (U+00D7), `x` or `X`, with optional spaces around them;
//! displays always use `×`. Leading and trailing whitespace is ignored, and the whole cell must
//! be consumed. Every value's `Display` prints the canonical text, which parses back to the same
//! value.
//!
//! Errors are [`CellError`]s: a *character* offset into the cell text (so the caller can add it
//! to the cell's column) plus what was expected and what was found. No input makes a parser
//! panic.

use std::fmt;

mod figure;
#[cfg(test)]
mod paper_props;
mod printed;
mod symbol;
mod type_ext;

pub use figure::{MAX_POWER, Tolerance, parse_figure, parse_unit, power_of, unit_in_header, unit_text, with_unit};
pub use printed::{Filter, PrintedSize, parse_filter, parse_printed_size};
pub use symbol::{CountCell, is_symbol, parse_count_cell};
mod layers;
pub use layers::{LayerCell, LayerItem, parse_layers, parse_size_hw};

use nom::{
    IResult, Parser,
    branch::alt,
    bytes::complete::{tag_no_case, take_while, take_while1},
    character::complete::{char, digit1, one_of, satisfy},
    combinator::{cut, map, opt, recognize, value},
    error::{ErrorKind, ParseError},
    multi::many0,
    sequence::preceded,
};

/// Largest kernel size, stride, output dimension, count, projection width or percentage
/// integer part accepted: 2^40.
pub const MAX_NUMBER: u64 = 1 << 40;

/// Most significant digits (integer and fraction together, leading zeros not counted) in a
/// [`Quantity`], so that its mantissa always fits a `u64`.
pub const MAX_SIGNIFICANT_DIGITS: usize = 19;

/// Most digits after the decimal point in a [`Quantity`].
pub const MAX_DECIMALS: u32 = 18;

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/// A row's type cell: `convolution`, `convolution*`, `max pool`, `inception (3a)`,
/// `dropout (40%)`.
///
/// `words` keeps the case as written, with every run of whitespace normalised to one space.
/// Valid when `words` starts with a letter and holds words of letters, digits, `-` and `_`
/// separated by single spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowType {
    pub words: String,
    /// A footnote star right after the words (`convolution*`).
    pub starred: bool,
    /// The parenthesised argument, `(3a)` or `(40%)`.
    pub arg: Option<TypeArg>,
    /// A repeat count printed before the words: `5× Conv dw`, `3×Inception`.
    pub repeat: Option<u64>,
    /// A kernel printed after a comma: `MBConv6, k3x3`.
    pub kernel: Option<(u64, u64)>,
    /// A stride printed after a slash: `Conv dw / s2`.
    pub stride: Option<u64>,
}

/// The parenthesised argument of a row type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeArg {
    /// `3a`, `5b`, `stem-1`: letters, digits, `-` and `_` (non-empty).
    Label(String),
    /// `40%` is 4000 hundredths, `12.5%` is 1250 (at most 2 decimals are accepted).
    Percent { hundredths: u64 },
    /// Free text that is neither: `(224 × 224 RGB image)`, `(As in figure 4)`; trimmed, no
    /// parentheses inside.
    Text(String),
}

/// A patch size/stride cell: `7×7/2` (kernel and stride), `1×1` (kernel only), `stride 2`
/// (stride only). Valid when at least one part is present and every number is in
/// `1..=MAX_NUMBER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patch {
    /// (height, width) of the kernel.
    pub kernel: Option<(u64, u64)>,
    pub stride: Option<u64>,
}

/// An output size cell, printed H×W×C: `112×112×64`. Every dimension is in `1..=MAX_NUMBER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub h: u64,
    pub w: u64,
    pub c: u64,
}

/// The pooling of an Inception module's pool-projection branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    Max,
    Avg,
}

/// A pool projection cell: `avg + 32`, `max + pass through`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolProj {
    pub pool: PoolKind,
    /// Width of the 1×1 projection after the pooling, in `1..=MAX_NUMBER`; `None` means the
    /// pooled input passes through unprojected.
    pub proj: Option<u64>,
}

/// A rounded figure printed by the authors (`2.7K`, `1072K`, `1.5G`, `900`), kept exactly as
/// printed: `2.7K` is mantissa 27, 1 decimal, suffix K.
///
/// Valid when `decimals <= MAX_DECIMALS` and `mantissa` has at most `MAX_SIGNIFICANT_DIGITS`
/// digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    pub mantissa: u64,
    pub decimals: u32,
    pub suffix: Suffix,
}

/// The magnitude suffix of a [`Quantity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suffix {
    None,
    /// Thousands (`K`; `k` is accepted too).
    K,
    /// Millions.
    M,
    /// Billions (`G`; `B` and `billion` are read as `G`).
    G,
    /// `×10^n` for a power that has no letter (n ≤ [`MAX_POWER`], not 0, 3, 6 or 9).
    Pow(u32),
}

impl Suffix {
    /// 1, 10^3, 10^6 or 10^9.
    pub fn multiplier(self) -> u64 {
        match self {
            Suffix::None => 1,
            Suffix::K => 1_000,
            Suffix::M => 1_000_000,
            Suffix::G => 1_000_000_000,
            Suffix::Pow(n) => 10u64.saturating_pow(n),
        }
    }
}

impl Quantity {
    /// The nominal value: `2.7K` is 2700.0.
    pub fn value(&self) -> f64 {
        self.mantissa as f64 * self.suffix.multiplier() as f64 / self.place()
    }

    /// Half of the last printed digit's place, times the suffix: `2.7K` gives 50.0, `1072K`
    /// 500.0, `900` 0.5. The exact figure lies within `value() ± half_unit()`.
    pub fn half_unit(&self) -> f64 {
        0.5 * self.suffix.multiplier() as f64 / self.place()
    }

    /// 10^decimals.
    fn place(&self) -> f64 {
        10f64.powi(self.decimals.min(1000) as i32)
    }
}

// ---------------------------------------------------------------------------------------------
// Canonical display
// ---------------------------------------------------------------------------------------------

impl fmt::Display for RowType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(n) = self.repeat {
            write!(f, "{n}× ")?;
        }
        f.write_str(&self.words)?;
        if self.starred {
            f.write_str("*")?;
        }
        if let Some((h, w)) = self.kernel {
            write!(f, ", k{h}×{w}")?;
        }
        if let Some(s) = self.stride {
            write!(f, " / s{s}")?;
        }
        if let Some(arg) = &self.arg {
            write!(f, " ({arg})")?;
        }
        Ok(())
    }
}

impl fmt::Display for TypeArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeArg::Label(label) => f.write_str(label),
            TypeArg::Text(text) => f.write_str(text),
            TypeArg::Percent { hundredths } => {
                let (whole, frac) = (hundredths / 100, hundredths % 100);
                match frac {
                    0 => write!(f, "{whole}%"),
                    _ if frac % 10 == 0 => write!(f, "{whole}.{}%", frac / 10),
                    _ => write!(f, "{whole}.{frac:02}%"),
                }
            }
        }
    }
}

impl fmt::Display for Patch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.kernel, self.stride) {
            (Some((h, w)), Some(s)) => write!(f, "{h}×{w}/{s}"),
            (Some((h, w)), None) => write!(f, "{h}×{w}"),
            (None, Some(s)) => write!(f, "stride {s}"),
            (None, None) => Ok(()),
        }
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}×{}×{}", self.h, self.w, self.c)
    }
}

impl fmt::Display for PoolKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PoolKind::Max => "max",
            PoolKind::Avg => "avg",
        })
    }
}

impl fmt::Display for PoolProj {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.proj {
            Some(width) => write!(f, "{} + {width}", self.pool),
            None => write!(f, "{} + pass through", self.pool),
        }
    }
}

impl fmt::Display for Suffix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Suffix::None => "",
            Suffix::K => "K",
            Suffix::M => "M",
            Suffix::G => "G",
            Suffix::Pow(n) => return write!(f, "×10^{n}"),
        })
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.mantissa.to_string();
        let decimals = self.decimals as usize;
        if decimals == 0 {
            return write!(f, "{digits}{}", self.suffix);
        }
        // Pad so that there is at least one digit before the point: 5 with 2 decimals is 0.05.
        let padded = format!("{digits:0>width$}", width = decimals + 1);
        let (whole, frac) = padded.split_at(padded.len() - decimals);
        write!(f, "{whole}.{frac}{}", self.suffix)
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

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
struct PErr<'a> {
    at: &'a str,
    expected: String,
    found: Option<String>,
}

type Res<'a, T> = IResult<&'a str, T, PErr<'a>>;

impl<'a> PErr<'a> {
    fn new(at: &'a str, expected: impl Into<String>) -> Self {
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
fn error<'a>(at: &'a str, expected: impl Into<String>) -> nom::Err<PErr<'a>> {
    nom::Err::Error(PErr::new(at, expected))
}

/// An unrecoverable error at `at`, found `found` (the next character when `None`).
fn failure<'a>(at: &'a str, expected: impl Into<String>, found: Option<String>) -> nom::Err<PErr<'a>> {
    nom::Err::Failure(PErr {
        at,
        expected: expected.into(),
        found,
    })
}

/// Runs `p`, relabelling a recoverable error with what was expected at the start of its input.
fn expect<'a, O, P>(what: &'static str, mut p: P) -> impl FnMut(&'a str) -> Res<'a, O>
where
    P: Parser<&'a str, Output = O, Error = PErr<'a>>,
{
    move |i| match p.parse(i) {
        Err(nom::Err::Error(_)) => Err(error(i, what)),
        other => other,
    }
}

/// A run of digits as shown in an error, shortened when very long.
fn show_digits(digits: &str) -> String {
    if digits.len() > 24 {
        format!("{}… ({} digits)", &digits[..20], digits.len())
    } else {
        digits.to_string()
    }
}

/// Parses a whole cell with `p`: surrounding whitespace is skipped, and anything left over
/// after `p` is reported as "expected {after}".
fn run_cell<'a, T>(
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

const END: &str = "end of cell";

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/// Parses a row type cell: `convolution`, `convolution*`, `max pool`, `inception (3a)`,
/// `dropout (40%)`.
pub fn parse_row_type(s: &str) -> Result<RowType, CellError> {
    run_cell(s, type_ext::row_type_printed, END)
}

/// Parses a patch size/stride cell: `7×7/2`, `3x3/1`, `1×7`, `stride 2`.
pub fn parse_patch(s: &str) -> Result<Patch, CellError> {
    run_cell(s, patch, END)
}

/// Parses an output size cell, H×W×C: `112×112×64`, `28 × 28 × 576`.
pub fn parse_size(s: &str) -> Result<Size, CellError> {
    run_cell(s, size, END)
}

/// Parses a count or depth cell: `64`, `0` (0 marks an absent branch).
pub fn parse_count(s: &str) -> Result<u64, CellError> {
    run_cell(s, count, END)
}

/// Parses a pool projection cell: `avg + 32`, `max + pass through`.
pub fn parse_pool_proj(s: &str) -> Result<PoolProj, CellError> {
    run_cell(s, pool_proj, END)
}

/// Parses a printed quantity: `2.7K`, `112K`, `34M`, `1.5G`, `900`.
pub fn parse_quantity(s: &str) -> Result<Quantity, CellError> {
    run_cell(s, quantity, "a suffix K, M or G, or end of cell")
}

// ---------------------------------------------------------------------------------------------
// Productions
// ---------------------------------------------------------------------------------------------

/// Optional whitespace: ``, ` `, `\t `.
fn ws(i: &str) -> Res<'_, &str> {
    take_while(char::is_whitespace).parse(i)
}

/// A number: `0`, `64`, `1099511627776`. Decimal digits only, at most [`MAX_NUMBER`]; `what`
/// names what was expected when there is no digit.
fn number<'a>(i: &'a str, what: &str) -> Res<'a, u64> {
    let (rest, digits) = digit1::<_, PErr>(i).map_err(|_| error(i, what))?;
    match digits.parse::<u64>() {
        Ok(n) if n <= MAX_NUMBER => Ok((rest, n)),
        _ => Err(failure(
            i,
            format!("a number at most {MAX_NUMBER}"),
            Some(show_digits(digits)),
        )),
    }
}

/// A positive number: `1`, `7`, `576`. Zero is rejected as "expected a positive number".
fn positive<'a>(i: &'a str, what: &str) -> Res<'a, u64> {
    let (rest, n) = number(i, what)?;
    if n == 0 {
        let zero = &i[..i.len() - rest.len()];
        return Err(failure(i, "a positive number", Some(zero.to_string())));
    }
    Ok((rest, n))
}

/// A dimension separator: `×`, `x`, `X`.
fn sep(i: &str) -> Res<'_, char> {
    one_of("×xX").parse(i)
}

/// A separator and the next dimension, spaces allowed around the separator: `×7`, ` x 7`.
/// Both parts are required; `missing` names what was expected when there is no separator.
fn times_dim<'a>(i: &'a str, missing: &str) -> Res<'a, u64> {
    let (i, _) = ws(i)?;
    let (i, sep) = sep(i).map_err(|_| failure(i, missing, None))?;
    let (i, _) = ws(i)?;
    cut(|i| positive(i, &format!("a number after {sep}"))).parse(i)
}

/// A character of a row type word or a label: a letter, a digit, `-` or `_`.
fn word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '_'
}

/// Row type words: `convolution`, `max pool`, `max   pool` (normalised to `max pool`),
/// `fully-connected`, `conv_2 3x3`. The first word starts with a letter.
fn words(i: &str) -> Res<'_, String> {
    let first = recognize((satisfy(char::is_alphabetic), take_while(word_char)));
    let more = many0(preceded(take_while1(char::is_whitespace), take_while1(word_char)));
    let (i, (first, more)) = expect("a layer type such as 'convolution'", (first, more)).parse(i)?;
    let mut words = first.to_string();
    for word in more {
        words.push(' ');
        words.push_str(word);
    }
    Ok((i, words))
}

/// A percentage: `40%`, `12.5%`, `0.25%` (at most 2 decimals). Without a decimal point and
/// without `%` it fails recoverably, so that `(3a)` can be read as a label.
fn percent(i: &str) -> Res<'_, TypeArg> {
    let (after_int, whole) = digit1(i)?;
    let (rest, frac) = match char::<_, PErr>('.').parse(after_int) {
        Ok((after_dot, _)) => {
            let (rest, frac) = cut(expect("a digit after '.'", digit1)).parse(after_dot)?;
            if frac.len() > 2 {
                return Err(failure(&after_dot[2..], "'%' after at most 2 decimals", None));
            }
            (cut(expect("'%'", char('%'))).parse(rest)?.0, frac)
        }
        Err(_) => (char('%').parse(after_int)?.0, ""),
    };
    let whole = match whole.parse::<u64>() {
        Ok(n) if n <= MAX_NUMBER => n,
        _ => {
            return Err(failure(
                i,
                format!("a number at most {MAX_NUMBER}"),
                Some(show_digits(whole)),
            ));
        }
    };
    // `frac` has at most 2 digits: "5" is 50 hundredths, "05" is 5.
    let frac = format!("{frac:0<2}").parse::<u64>().unwrap_or(0);
    Ok((
        rest,
        TypeArg::Percent {
            hundredths: whole * 100 + frac,
        },
    ))
}

/// A label: `3a`, `5b`, `stem-1`, `block_2`.
fn label(i: &str) -> Res<'_, TypeArg> {
    map(take_while1(word_char), |l: &str| TypeArg::Label(l.to_string())).parse(i)
}

/// Stride only: `stride 2`, `Stride 2`, `stride2`.
fn stride_only(i: &str) -> Res<'_, Patch> {
    let stride = cut(|i| positive(i, "a positive number"));
    map(preceded((tag_no_case("stride"), ws), stride), |s| Patch {
        kernel: None,
        stride: Some(s),
    })
    .parse(i)
}

/// A kernel with an optional stride: `7×7/2`, `3x3/1`, `1 × 7 / 1`, `1×1`.
fn kernel_patch(i: &str) -> Res<'_, Patch> {
    let (i, h) = positive(i, "a kernel size")?;
    let (i, w) = times_dim(i, "× and the kernel width")?;
    let stride = cut(|i| positive(i, "a stride after /"));
    let (i, stride) = opt(preceded((ws, char('/'), ws), stride)).parse(i)?;
    Ok((
        i,
        Patch {
            kernel: Some((h, w)),
            stride,
        },
    ))
}

/// A patch cell: [`kernel_patch`] or [`stride_only`].
fn patch(i: &str) -> Res<'_, Patch> {
    expect("a kernel size like 3×3 or 'stride'", alt((stride_only, kernel_patch))).parse(i)
}

/// An output size: `112×112×64`, `28 x 28 x 576`, `1X1X1000`.
fn size(i: &str) -> Res<'_, Size> {
    let (i, h) = positive(i, "an output size like 28×28×256")?;
    let (i, w) = times_dim(i, "× and the width")?;
    let (i, c) = times_dim(i, "× and the channel count")?;
    Ok((i, Size { h, w, c }))
}

/// A count or depth: `0`, `64`, `384`.
fn count(i: &str) -> Res<'_, u64> {
    number(i, "a whole number")
}

/// A pool kind: `max`, `avg`, `average` (any case).
fn pool_kind(i: &str) -> Res<'_, PoolKind> {
    let kinds = alt((
        value(PoolKind::Avg, tag_no_case("average")),
        value(PoolKind::Avg, tag_no_case("avg")),
        value(PoolKind::Max, tag_no_case("max")),
    ));
    expect("'max' or 'avg'", kinds).parse(i)
}

/// Pass through: `pass through`, `pass-through`, `passthrough`, `Pass Through`.
fn pass_through(i: &str) -> Res<'_, ()> {
    let through = cut(expect("'through' after 'pass'", tag_no_case("through")));
    value((), (tag_no_case("pass"), ws, opt(char('-')), ws, through)).parse(i)
}

/// A projection: a positive width `32`, or [`pass_through`] (`None`).
fn projection(i: &str) -> Res<'_, Option<u64>> {
    const WHAT: &str = "a positive projection width or 'pass through'";
    let width = map(|i| number(i, WHAT), Some);
    let (rest, proj) = expect(WHAT, alt((value(None, pass_through), width))).parse(i)?;
    if proj == Some(0) {
        return Err(failure(i, WHAT, Some(i[..i.len() - rest.len()].to_string())));
    }
    Ok((rest, proj))
}

/// A pool projection: `avg + 32`, `max+128`, `max + pass through`, `average + 64`.
fn pool_proj(i: &str) -> Res<'_, PoolProj> {
    let (i, pool) = pool_kind(i)?;
    let (i, _) = (ws, cut(expect("'+'", char('+'))), ws).parse(i)?;
    let (i, proj) = projection(i).map_err(|e| match e {
        nom::Err::Error(e) => nom::Err::Failure(e),
        other => other,
    })?;
    Ok((i, PoolProj { pool, proj }))
}

/// A magnitude suffix: `K` (or `k`), `M`, `G`.
fn suffix(i: &str) -> Res<'_, Suffix> {
    alt((
        value(Suffix::K, one_of("Kk")),
        value(Suffix::M, char('M')),
        value(Suffix::G, char('G')),
    ))
    .parse(i)
}

/// A quantity: `900`, `2.7K`, `1072K`, `0.5M`, `1.5 G`. No leading zeros in the integer part
/// (`0.5` is fine, `05` is not), at most [`MAX_DECIMALS`] decimals and
/// [`MAX_SIGNIFICANT_DIGITS`] significant digits.
fn quantity(i: &str) -> Res<'_, Quantity> {
    let (after_int, whole) = expect("a number", digit1).parse(i)?;
    if whole.len() > 1 && whole.starts_with('0') {
        let found = Some(show_digits(whole));
        return Err(failure(i, "a number without leading zeros", found));
    }
    let (rest, frac) = match char::<_, PErr>('.').parse(after_int) {
        Ok((after_dot, _)) => {
            let (rest, frac) = cut(expect("a digit after '.'", digit1)).parse(after_dot)?;
            if frac.len() > MAX_DECIMALS as usize {
                let found = Some(frac.len().to_string());
                return Err(failure(after_dot, format!("at most {MAX_DECIMALS} decimals"), found));
            }
            (rest, frac)
        }
        Err(_) => (after_int, ""),
    };
    let digits = format!("{whole}{frac}");
    let significant = digits.trim_start_matches('0');
    if significant.len() > MAX_SIGNIFICANT_DIGITS {
        let expected = format!("a number with at most {MAX_SIGNIFICANT_DIGITS} significant digits");
        let found = Some(show_digits(&i[..i.len() - rest.len()]));
        return Err(failure(i, expected, found));
    }
    let mantissa = significant.parse::<u64>().unwrap_or(0);
    let (rest, suffix) = opt(preceded(ws, suffix)).parse(rest)?;
    let suffix = suffix.unwrap_or(Suffix::None);
    Ok((
        rest,
        Quantity {
            mantissa,
            decimals: frac.len() as u32,
            suffix,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts that `result` failed at character `offset`, expecting something that contains
    /// `expected`, having found exactly `found`.
    fn rejects<T: fmt::Debug>(result: Result<T, CellError>, offset: usize, expected: &str, found: &str) {
        let e = result.expect_err("should have been rejected");
        assert!(
            e.offset == offset && e.expected.contains(expected) && e.found == found,
            "got {e:?} ({e}), wanted offset {offset}, expected ~{expected:?}, found {found:?}"
        );
    }

    fn rt(words: &str, starred: bool, arg: Option<TypeArg>) -> RowType {
        RowType {
            words: words.to_string(),
            starred,
            arg,
            repeat: None,
            kernel: None,
            stride: None,
        }
    }

    fn label(l: &str) -> Option<TypeArg> {
        Some(TypeArg::Label(l.to_string()))
    }

    fn pct(hundredths: u64) -> Option<TypeArg> {
        Some(TypeArg::Percent { hundredths })
    }

    fn q(mantissa: u64, decimals: u32, suffix: Suffix) -> Quantity {
        Quantity {
            mantissa,
            decimals,
            suffix,
        }
    }

    fn stride(s: u64) -> Patch {
        Patch {
            kernel: None,
            stride: Some(s),
        }
    }

    fn kernel(h: u64, w: u64, stride: Option<u64>) -> Patch {
        Patch {
            kernel: Some((h, w)),
            stride,
        }
    }

    mod row_type {
        use super::*;

        #[test]
        fn accepts() {
            assert_eq!(parse_row_type("convolution"), Ok(rt("convolution", false, None)));
            assert_eq!(parse_row_type("convolution*"), Ok(rt("convolution", true, None)));
            assert_eq!(parse_row_type("convolution *"), Ok(rt("convolution", true, None)));
            assert_eq!(parse_row_type("max pool"), Ok(rt("max pool", false, None)));
            assert_eq!(parse_row_type("  max \t pool "), Ok(rt("max pool", false, None)));
            assert_eq!(parse_row_type("avg pool"), Ok(rt("avg pool", false, None)));
            assert_eq!(
                parse_row_type("inception (3a)"),
                Ok(rt("inception", false, label("3a")))
            );
            assert_eq!(parse_row_type("Inception(5b)"), Ok(rt("Inception", false, label("5b"))));
            assert_eq!(
                parse_row_type("inception ( 4e )"),
                Ok(rt("inception", false, label("4e")))
            );
            assert_eq!(parse_row_type("dropout (40%)"), Ok(rt("dropout", false, pct(4000))));
            assert_eq!(parse_row_type("dropout (12.5%)"), Ok(rt("dropout", false, pct(1250))));
            assert_eq!(parse_row_type("dropout (0.05%)"), Ok(rt("dropout", false, pct(5))));
            assert_eq!(parse_row_type("linear"), Ok(rt("linear", false, None)));
            assert_eq!(parse_row_type("softmax"), Ok(rt("softmax", false, None)));
            assert_eq!(
                parse_row_type("fully-connected"),
                Ok(rt("fully-connected", false, None))
            );
            assert_eq!(parse_row_type("conv_2 3x3"), Ok(rt("conv_2 3x3", false, None)));
            assert_eq!(parse_row_type("block (40)"), Ok(rt("block", false, label("40"))));
            assert_eq!(
                parse_row_type("convolution* (stem-1)"),
                Ok(rt("convolution", true, label("stem-1")))
            );
        }

        #[test]
        fn rejects_bad_cells() {
            rejects(parse_row_type(""), 0, "a layer type", "end of cell");
            rejects(parse_row_type("   "), 3, "a layer type", "end of cell");
            rejects(parse_row_type("( 3a)"), 0, "a layer type", "'('");
            rejects(parse_row_type("3a"), 0, "a layer type", "'3'");
            rejects(parse_row_type("*"), 0, "a layer type", "'*'");
            rejects(parse_row_type("inception (3a"), 13, "')'", "end of cell");
            rejects(parse_row_type("inception ()"), 11, "a label or a percentage", "')'");
            rejects(
                parse_row_type("inception ("),
                11,
                "a label or a percentage",
                "end of cell",
            );
            rejects(parse_row_type("inception (3a) z"), 15, "end of cell", "'z'");
            // Free text in parentheses is a label too (`(3 a)`), but not parentheses in it.
            rejects(parse_row_type("inception (3 (a))"), 13, "')'", "'('");
            rejects(parse_row_type("convolution**"), 12, "end of cell", "'*'");
            rejects(parse_row_type("dropout (12.5)"), 13, "'%'", "')'");
            rejects(parse_row_type("dropout (12.%)"), 12, "a digit after '.'", "'%'");
            rejects(
                parse_row_type("dropout (12.345%)"),
                14,
                "'%' after at most 2 decimals",
                "'5'",
            );
            rejects(
                parse_row_type("dropout (99999999999999999999999%)"),
                9,
                "a number at most 1099511627776",
                "99999999999999999999999",
            );
            rejects(parse_row_type("max pool, 3×3"), 8, "end of cell", "','");
        }

        #[test]
        fn offsets_count_characters_not_bytes() {
            // 'é' and '×' are two bytes each.
            rejects(parse_row_type("pooléd ×"), 7, "end of cell", "'×'");
        }

        #[test]
        fn displays_canonically() {
            let shown = |s: &str| parse_row_type(s).unwrap().to_string();
            assert_eq!(shown(" max   pool "), "max pool");
            assert_eq!(shown("convolution *"), "convolution*");
            assert_eq!(shown("inception( 3a )"), "inception (3a)");
            assert_eq!(shown("dropout (12.50%)"), "dropout (12.5%)");
            assert_eq!(shown("dropout (0.05%)"), "dropout (0.05%)");
            assert_eq!(shown("dropout (40.0%)"), "dropout (40%)");
        }
    }

    mod patch {
        use super::*;

        #[test]
        fn accepts() {
            assert_eq!(parse_patch("7×7/2"), Ok(kernel(7, 7, Some(2))));
            assert_eq!(parse_patch("3x3/1"), Ok(kernel(3, 3, Some(1))));
            assert_eq!(parse_patch("3X3/2"), Ok(kernel(3, 3, Some(2))));
            assert_eq!(parse_patch("3×3/2"), Ok(kernel(3, 3, Some(2))));
            assert_eq!(parse_patch("1×1"), Ok(kernel(1, 1, None)));
            assert_eq!(parse_patch("7×7"), Ok(kernel(7, 7, None)));
            assert_eq!(parse_patch("1×7/1"), Ok(kernel(1, 7, Some(1))));
            assert_eq!(parse_patch(" 7 × 7 / 2 "), Ok(kernel(7, 7, Some(2))));
            assert_eq!(parse_patch("stride 2"), Ok(stride(2)));
            assert_eq!(parse_patch("Stride2"), Ok(stride(2)));
            assert_eq!(parse_patch("1099511627776×1"), Ok(kernel(MAX_NUMBER, 1, None)));
        }

        #[test]
        fn rejects_bad_cells() {
            rejects(parse_patch(""), 0, "a kernel size like 3×3 or 'stride'", "end of cell");
            rejects(parse_patch("   "), 3, "a kernel size", "end of cell");
            rejects(parse_patch("7x"), 2, "a number after x", "end of cell");
            rejects(parse_patch("7×"), 2, "a number after ×", "end of cell");
            rejects(parse_patch("x7"), 0, "a kernel size like 3×3 or 'stride'", "'x'");
            rejects(parse_patch("7"), 1, "× and the kernel width", "end of cell");
            rejects(parse_patch("7 7"), 2, "× and the kernel width", "'7'");
            rejects(parse_patch("stride -2"), 7, "a positive number", "'-'");
            rejects(parse_patch("stride 0"), 7, "a positive number", "0");
            rejects(parse_patch("stride"), 6, "a positive number", "end of cell");
            rejects(parse_patch("strides 2"), 6, "a positive number", "'s'");
            rejects(parse_patch("7×7/"), 4, "a stride after /", "end of cell");
            rejects(parse_patch("7×7/0"), 4, "a positive number", "0");
            rejects(parse_patch("7×7/-1"), 4, "a stride after /", "'-'");
            rejects(parse_patch("3×3/2/2"), 5, "end of cell", "'/'");
            rejects(parse_patch("0×3"), 0, "a positive number", "0");
            rejects(parse_patch("3×00"), 2, "a positive number", "00");
            rejects(parse_patch("7×7 q"), 4, "end of cell", "'q'");
            rejects(
                parse_patch("1099511627777×1"),
                0,
                "a number at most 1099511627776",
                "1099511627777",
            );
            rejects(
                parse_patch("99999999999999999999999"),
                0,
                "a number at most 1099511627776",
                "99999999999999999999999",
            );
            rejects(parse_patch("３×3"), 0, "a kernel size", "'３'");
        }

        #[test]
        fn displays_canonically() {
            let shown = |s: &str| parse_patch(s).unwrap().to_string();
            assert_eq!(shown("7x7/2"), "7×7/2");
            assert_eq!(shown(" 1 X 7 "), "1×7");
            assert_eq!(shown("Stride2"), "stride 2");
        }
    }

    mod size {
        use super::*;

        #[test]
        fn accepts() {
            assert_eq!(parse_size("112×112×64"), Ok(Size { h: 112, w: 112, c: 64 }));
            assert_eq!(parse_size("1×1×1000"), Ok(Size { h: 1, w: 1, c: 1000 }));
            assert_eq!(parse_size("28 × 28 × 576"), Ok(Size { h: 28, w: 28, c: 576 }));
            assert_eq!(parse_size("28x28X576"), Ok(Size { h: 28, w: 28, c: 576 }));
            assert_eq!(parse_size("\t7×7×1024  "), Ok(Size { h: 7, w: 7, c: 1024 }));
        }

        #[test]
        fn rejects_bad_cells() {
            rejects(parse_size(""), 0, "an output size", "end of cell");
            rejects(parse_size("28×0×3"), 3, "a positive number", "0");
            rejects(parse_size("0×28×3"), 0, "a positive number", "0");
            rejects(parse_size("28×28×0"), 6, "a positive number", "0");
            rejects(parse_size("28×28"), 5, "× and the channel count", "end of cell");
            rejects(parse_size("28"), 2, "× and the width", "end of cell");
            rejects(parse_size("28×28×"), 6, "a number after ×", "end of cell");
            rejects(parse_size("28×28×3×3"), 7, "end of cell", "'×'");
            rejects(parse_size("28×-28×3"), 3, "a number after ×", "'-'");
            rejects(parse_size("28×28 64"), 6, "× and the channel count", "'6'");
            rejects(parse_size("28×28×2e3"), 7, "end of cell", "'e'");
        }
    }

    mod count {
        use super::*;

        #[test]
        fn accepts() {
            assert_eq!(parse_count("64"), Ok(64));
            assert_eq!(parse_count("0"), Ok(0));
            assert_eq!(parse_count(" 384 "), Ok(384));
            assert_eq!(parse_count("1099511627776"), Ok(MAX_NUMBER));
        }

        #[test]
        fn rejects_bad_cells() {
            rejects(parse_count(""), 0, "a whole number", "end of cell");
            rejects(parse_count("   "), 3, "a whole number", "end of cell");
            rejects(parse_count("-3"), 0, "a whole number", "'-'");
            rejects(parse_count("6 4"), 2, "end of cell", "'4'");
            rejects(parse_count("64K"), 2, "end of cell", "'K'");
            rejects(parse_count("1.5"), 1, "end of cell", "'.'");
            rejects(
                parse_count("1099511627777"),
                0,
                "a number at most 1099511627776",
                "1099511627777",
            );
            rejects(
                parse_count("99999999999999999999999"),
                0,
                "a number at most 1099511627776",
                "99999999999999999999999",
            );
            rejects(
                parse_count(&"9".repeat(100)),
                0,
                "a number at most",
                "99999999999999999999… (100 digits)",
            );
        }
    }

    mod pool_proj {
        use super::*;

        fn pp(pool: PoolKind, proj: Option<u64>) -> PoolProj {
            PoolProj { pool, proj }
        }

        #[test]
        fn accepts() {
            assert_eq!(parse_pool_proj("avg + 32"), Ok(pp(PoolKind::Avg, Some(32))));
            assert_eq!(parse_pool_proj("max + 128"), Ok(pp(PoolKind::Max, Some(128))));
            assert_eq!(parse_pool_proj("max+128"), Ok(pp(PoolKind::Max, Some(128))));
            assert_eq!(parse_pool_proj("average + 64"), Ok(pp(PoolKind::Avg, Some(64))));
            assert_eq!(parse_pool_proj("Max + 64"), Ok(pp(PoolKind::Max, Some(64))));
            assert_eq!(parse_pool_proj("max + pass through"), Ok(pp(PoolKind::Max, None)));
            assert_eq!(parse_pool_proj("max + pass-through"), Ok(pp(PoolKind::Max, None)));
            assert_eq!(parse_pool_proj("max + pass - through"), Ok(pp(PoolKind::Max, None)));
            assert_eq!(parse_pool_proj("max + passthrough"), Ok(pp(PoolKind::Max, None)));
            assert_eq!(parse_pool_proj("avg + Pass Through "), Ok(pp(PoolKind::Avg, None)));
        }

        #[test]
        fn rejects_bad_cells() {
            const PROJ: &str = "a positive projection width or 'pass through'";
            rejects(parse_pool_proj(""), 0, "'max' or 'avg'", "end of cell");
            rejects(parse_pool_proj("min + 3"), 0, "'max' or 'avg'", "'m'");
            rejects(parse_pool_proj("avg +"), 5, PROJ, "end of cell");
            rejects(parse_pool_proj("avg + "), 6, PROJ, "end of cell");
            rejects(parse_pool_proj("avg + 0"), 6, PROJ, "0");
            rejects(parse_pool_proj("avg + -3"), 6, PROJ, "'-'");
            rejects(parse_pool_proj("avg + q"), 6, PROJ, "'q'");
            rejects(
                parse_pool_proj("max + pass"),
                10,
                "'through' after 'pass'",
                "end of cell",
            );
            rejects(parse_pool_proj("max + pass by"), 11, "'through' after 'pass'", "'b'");
            rejects(parse_pool_proj("max 32"), 4, "'+'", "'3'");
            rejects(parse_pool_proj("max"), 3, "'+'", "end of cell");
            rejects(parse_pool_proj("max + 32 + 3"), 9, "end of cell", "'+'");
            rejects(
                parse_pool_proj("max + 1099511627777"),
                6,
                "a number at most",
                "1099511627777",
            );
        }

        #[test]
        fn displays_canonically() {
            let shown = |s: &str| parse_pool_proj(s).unwrap().to_string();
            assert_eq!(shown("average+32"), "avg + 32");
            assert_eq!(shown("MAX + passthrough"), "max + pass through");
        }
    }

    mod quantity {
        use super::*;

        #[test]
        fn accepts() {
            assert_eq!(parse_quantity("2.7K"), Ok(q(27, 1, Suffix::K)));
            assert_eq!(parse_quantity("112K"), Ok(q(112, 0, Suffix::K)));
            assert_eq!(parse_quantity("1072K"), Ok(q(1072, 0, Suffix::K)));
            assert_eq!(parse_quantity("34M"), Ok(q(34, 0, Suffix::M)));
            assert_eq!(parse_quantity("1M"), Ok(q(1, 0, Suffix::M)));
            assert_eq!(parse_quantity("1.5G"), Ok(q(15, 1, Suffix::G)));
            assert_eq!(parse_quantity("360M"), Ok(q(360, 0, Suffix::M)));
            assert_eq!(parse_quantity("900"), Ok(q(900, 0, Suffix::None)));
            assert_eq!(parse_quantity("0"), Ok(q(0, 0, Suffix::None)));
            assert_eq!(parse_quantity("0.05M"), Ok(q(5, 2, Suffix::M)));
            assert_eq!(parse_quantity("2.7k"), Ok(q(27, 1, Suffix::K)));
            assert_eq!(parse_quantity(" 1.5 G "), Ok(q(15, 1, Suffix::G)));
            assert_eq!(parse_quantity("1.50M"), Ok(q(150, 2, Suffix::M)));
            assert_eq!(
                parse_quantity("9999999999999999999"),
                Ok(q(9_999_999_999_999_999_999, 0, Suffix::None))
            );
        }

        #[test]
        fn rejects_bad_cells() {
            rejects(parse_quantity(""), 0, "a number", "end of cell");
            rejects(parse_quantity("   "), 3, "a number", "end of cell");
            rejects(parse_quantity("K"), 0, "a number", "'K'");
            rejects(parse_quantity(".5K"), 0, "a number", "'.'");
            rejects(parse_quantity("1.2.3K"), 3, "a suffix K, M or G, or end of cell", "'.'");
            rejects(parse_quantity("12Q"), 2, "a suffix K, M or G, or end of cell", "'Q'");
            rejects(parse_quantity("12 Q"), 3, "a suffix K, M or G, or end of cell", "'Q'");
            rejects(parse_quantity("1.K"), 2, "a digit after '.'", "'K'");
            rejects(parse_quantity("1."), 2, "a digit after '.'", "end of cell");
            rejects(parse_quantity("2.7KK"), 4, "end of cell", "'K'");
            rejects(parse_quantity("-3K"), 0, "a number", "'-'");
            rejects(parse_quantity("007"), 0, "a number without leading zeros", "007");
            rejects(
                parse_quantity("99999999999999999999999"),
                0,
                "at most 19 significant digits",
                "99999999999999999999999",
            );
            rejects(parse_quantity("0.0000000000000000001"), 2, "at most 18 decimals", "19");
        }

        #[test]
        fn values_and_rounding_intervals() {
            let q = |s: &str| parse_quantity(s).unwrap();
            assert_eq!(q("2.7K").value(), 2700.0);
            assert_eq!(q("2.7K").half_unit(), 50.0);
            assert_eq!(q("1072K").value(), 1_072_000.0);
            assert_eq!(q("1072K").half_unit(), 500.0);
            assert_eq!(q("1.5G").value(), 1.5e9);
            assert_eq!(q("1.5G").half_unit(), 5e7);
            assert_eq!(q("900").value(), 900.0);
            assert_eq!(q("900").half_unit(), 0.5);
            assert_eq!(q("0.05M").value(), 50_000.0);
            assert_eq!(q("0.05M").half_unit(), 5_000.0);
        }

        #[test]
        fn displays_as_printed() {
            for text in [
                "2.7K", "112K", "1072K", "34M", "1M", "1.5G", "360M", "900", "0.05M", "1.50M", "0",
            ] {
                assert_eq!(parse_quantity(text).unwrap().to_string(), text);
            }
            assert_eq!(parse_quantity("2.7k").unwrap().to_string(), "2.7K");
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn dim() -> impl Strategy<Value = u64> {
            prop_oneof![1..=1024u64, 1..=MAX_NUMBER]
        }

        fn patch() -> impl Strategy<Value = Patch> {
            prop_oneof![
                (dim(), dim()).prop_map(|(h, w)| Patch {
                    kernel: Some((h, w)),
                    stride: None
                }),
                (dim(), dim(), dim()).prop_map(|(h, w, s)| Patch {
                    kernel: Some((h, w)),
                    stride: Some(s)
                }),
                dim().prop_map(|s| Patch {
                    kernel: None,
                    stride: Some(s)
                }),
            ]
        }

        fn size() -> impl Strategy<Value = Size> {
            (dim(), dim(), dim()).prop_map(|(h, w, c)| Size { h, w, c })
        }

        fn pool_proj() -> impl Strategy<Value = PoolProj> {
            let pool = prop_oneof![Just(PoolKind::Max), Just(PoolKind::Avg)];
            (pool, proptest::option::of(dim())).prop_map(|(pool, proj)| PoolProj { pool, proj })
        }

        fn quantity() -> impl Strategy<Value = Quantity> {
            let suffix = prop_oneof![Just(Suffix::None), Just(Suffix::K), Just(Suffix::M), Just(Suffix::G)];
            let mantissa = prop_oneof![0..10_000u64, 0..10_000_000_000_000_000_000u64];
            (mantissa, 0..=MAX_DECIMALS, suffix).prop_map(|(mantissa, decimals, suffix)| Quantity {
                mantissa,
                decimals,
                suffix,
            })
        }

        fn type_arg() -> impl Strategy<Value = TypeArg> {
            prop_oneof![
                "[A-Za-z0-9_-]{1,6}".prop_map(TypeArg::Label),
                (0..=MAX_NUMBER * 100 + 99).prop_map(|hundredths| TypeArg::Percent { hundredths }),
                (0..=10_000u64).prop_map(|hundredths| TypeArg::Percent { hundredths }),
            ]
        }

        fn row_type() -> impl Strategy<Value = RowType> {
            let words = (
                "[A-Za-z][A-Za-z0-9_-]{0,8}",
                proptest::collection::vec("[A-Za-z0-9_-]{1,6}", 0..3),
            )
                .prop_map(|(first, more)| std::iter::once(first).chain(more).collect::<Vec<_>>().join(" "));
            (words, any::<bool>(), proptest::option::of(type_arg())).prop_map(|(words, starred, arg)| RowType {
                words,
                starred,
                arg,
                repeat: None,
                kernel: None,
                stride: None,
            })
        }

        /// Strings made of the grammar's own characters, more likely to get deep into a parser
        /// than arbitrary strings.
        fn cellish() -> impl Strategy<Value = String> {
            "[0-9xX×/ .%()*+KMGkpastrideghouvm\t-]{0,16}"
        }

        fn parse_all(s: &str) {
            let _ = parse_row_type(s);
            let _ = parse_patch(s);
            let _ = parse_size(s);
            let _ = parse_count(s);
            let _ = parse_pool_proj(s);
            let _ = parse_quantity(s);
        }

        proptest! {
            #[test]
            fn patch_round_trips(p in patch()) {
                prop_assert_eq!(parse_patch(&p.to_string()), Ok(p));
            }

            #[test]
            fn size_round_trips(s in size()) {
                prop_assert_eq!(parse_size(&s.to_string()), Ok(s));
            }

            #[test]
            fn pool_proj_round_trips(p in pool_proj()) {
                prop_assert_eq!(parse_pool_proj(&p.to_string()), Ok(p));
            }

            #[test]
            fn quantity_round_trips(q in quantity()) {
                prop_assert_eq!(parse_quantity(&q.to_string()), Ok(q));
            }

            #[test]
            fn row_type_round_trips(r in row_type()) {
                prop_assert_eq!(parse_row_type(&r.to_string()), Ok(r));
            }

            #[test]
            fn lowercase_x_size_is_the_same_size(s in size()) {
                let Size { h, w, c } = s;
                prop_assert_eq!(parse_size(&format!("{h}x{w}x{c}")), parse_size(&format!("{h}×{w}×{c}")));
                prop_assert_eq!(parse_size(&format!("{h}x{w}x{c}")), Ok(s));
            }

            #[test]
            fn arbitrary_strings_never_panic(s in any::<String>()) {
                parse_all(&s);
            }

            #[test]
            fn grammar_like_strings_never_panic(s in cellish()) {
                parse_all(&s);
            }

            #[test]
            fn error_offsets_lie_within_the_cell(s in cellish()) {
                let chars = s.chars().count();
                for e in [
                    parse_row_type(&s).err(),
                    parse_patch(&s).err(),
                    parse_size(&s).err(),
                    parse_count(&s).err(),
                    parse_pool_proj(&s).err(),
                    parse_quantity(&s).err(),
                ].into_iter().flatten() {
                    prop_assert!(e.offset <= chars, "{:?} in {:?}", e, s);
                }
            }
        }
    }
}
