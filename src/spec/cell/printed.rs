//! Sizes and filter shapes as papers print them.
//!
//! - a printed size: `224² × 3`, `112²×32`, `7²`, `299×299×3`, `224 × 224` (an input size:
//!   H×W with or without channels, the square written with a superscript `²` or `^2`);
//! - a filter shape: `3 × 3 × 3 × 32` (k×k×Cin×Cout), `3 × 3 × 32 dw` (depthwise over 32
//!   channels), `5×5×48` (k×k×Cin per group), `1024 × 1000` (a fully connected in×out),
//!   `Pool 7 × 7` (a pooling window).

use std::fmt;

use nom::{
    Parser,
    bytes::complete::tag_no_case,
    character::complete::char,
    combinator::{cut, opt},
    sequence::preceded,
};

use super::{CellError, END, PErr, Res, positive, run_cell, sep, ws};

/// A printed size: H×W, optionally ×C; `square` when printed `H²`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrintedSize {
    pub h: u64,
    pub w: u64,
    pub c: Option<u64>,
    /// Printed as `224²` rather than `224×224`.
    pub square: bool,
}

/// A printed filter (weight) shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// `kh×kw×cin[×cout]`, `cin` per group; `depthwise` when printed `dw` (one filter per
    /// input channel).
    Conv {
        kernel: (u64, u64),
        inputs: u64,
        outputs: Option<u64>,
        depthwise: bool,
    },
    /// `in×out` of a fully connected layer.
    Linear { inputs: u64, outputs: u64 },
    /// `Pool kh×kw`.
    Pool { kernel: (u64, u64) },
}

impl fmt::Display for PrintedSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.square {
            write!(f, "{}²", self.h)?;
        } else {
            write!(f, "{}×{}", self.h, self.w)?;
        }
        if let Some(c) = self.c {
            write!(f, "×{c}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Filter::Conv {
                kernel: (h, w),
                inputs,
                outputs,
                depthwise,
            } => {
                write!(f, "{h}×{w}×{inputs}")?;
                if let Some(o) = outputs {
                    write!(f, "×{o}")?;
                }
                if depthwise {
                    f.write_str(" dw")?;
                }
                Ok(())
            }
            Filter::Linear { inputs, outputs } => write!(f, "{inputs}×{outputs}"),
            Filter::Pool { kernel: (h, w) } => write!(f, "Pool {h}×{w}"),
        }
    }
}

/// Parses a printed size: `224² × 3`, `112²×32`, `299×299×3`, `224 × 224`, `7²`.
pub fn parse_printed_size(s: &str) -> Result<PrintedSize, CellError> {
    run_cell(s, printed_size, END)
}

/// Parses a filter shape: `3 × 3 × 3 × 32`, `3 × 3 × 32 dw`, `5×5×48`, `1024 × 1000`, `Pool 7 × 7`.
pub fn parse_filter(s: &str) -> Result<Filter, CellError> {
    run_cell(s, filter, END)
}

/// A separator and the next dimension: `×7`, ` x 7`; recoverable when there is no separator.
fn then_dim<'a>(i: &'a str, what: &str) -> Res<'a, u64> {
    let (i, _) = (ws, sep, ws).parse(i)?;
    cut(|i| positive(i, what)).parse(i)
}

/// `²` or `^2`.
fn squared(i: &str) -> Res<'_, ()> {
    let (i, _) = nom::branch::alt((char('²').map(|_| ()), (char('^'), ws, char('2')).map(|_| ()))).parse(i)?;
    Ok((i, ()))
}

fn printed_size(i: &str) -> Res<'_, PrintedSize> {
    let (i, h) = positive(i, "a size like 224² × 3 or 28×28×256")?;
    if let Ok((i, _)) = squared(i) {
        let (i, c) = opt(|i| then_dim(i, "a channel count after ×")).parse(i)?;
        return Ok((
            i,
            PrintedSize {
                h,
                w: h,
                c,
                square: true,
            },
        ));
    }
    let (i, w) = match then_dim(i, "a width after ×") {
        Err(nom::Err::Error(_)) => return Err(super::failure(i, "× and the width, or ²", None)),
        other => other?,
    };
    let (i, c) = opt(|i| then_dim(i, "a channel count after ×")).parse(i)?;
    Ok((i, PrintedSize { h, w, c, square: false }))
}

fn pool_filter(i: &str) -> Res<'_, Filter> {
    let (i, _) = (tag_no_case("pool"), ws).parse(i)?;
    let (i, h) = cut(|i| positive(i, "a pooling window after 'Pool'")).parse(i)?;
    let (i, w) = match then_dim(i, "a window width after ×") {
        Err(nom::Err::Error(_)) => return Err(super::failure(i, "× and the window width", None)),
        other => other?,
    };
    Ok((i, Filter::Pool { kernel: (h, w) }))
}

fn filter(i: &str) -> Res<'_, Filter> {
    if let Ok(found) = pool_filter(i) {
        return Ok(found);
    }
    if tag_no_case::<_, _, PErr>("pool").parse(i).is_ok() {
        return pool_filter(i);
    }
    let (i, a) = positive(i, "a filter shape like 3 × 3 × 32 × 64")?;
    let (i, b) = match then_dim(i, "a number after ×") {
        Err(nom::Err::Error(_)) => return Err(super::failure(i, "× and the next dimension", None)),
        other => other?,
    };
    let (i, c) = opt(|i| then_dim(i, "the input channels after ×")).parse(i)?;
    let Some(c) = c else {
        return Ok((i, Filter::Linear { inputs: a, outputs: b }));
    };
    let (i, d) = opt(|i| then_dim(i, "the output channels after ×")).parse(i)?;
    let (i, dw) = if d.is_none() {
        opt(preceded(ws, tag_no_case("dw"))).parse(i)?
    } else {
        (i, None)
    };
    Ok((
        i,
        Filter::Conv {
            kernel: (a, b),
            inputs: c,
            outputs: d,
            depthwise: dw.is_some(),
        },
    ))
}
