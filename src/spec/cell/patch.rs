//! Patch size/stride cells: `7×7/2`, `3x3/1`, `1×7`, `stride 2`.

use std::fmt;

use nom::{
    Parser,
    branch::alt,
    bytes::complete::tag_no_case,
    character::complete::char,
    combinator::{cut, map, opt},
    sequence::preceded,
};

use super::{CellError, END, Res, expect, positive, run_cell, times_dim, ws};

/// A patch size/stride cell: `7×7/2` (kernel and stride), `1×1` (kernel only), `stride 2`
/// (stride only). Valid when at least one part is present and every number is in
/// `1..=MAX_NUMBER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patch {
    /// (height, width) of the kernel.
    pub kernel: Option<(u64, u64)>,
    pub stride: Option<u64>,
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

/// Parses a patch size/stride cell: `7×7/2`, `3x3/1`, `1×7`, `stride 2`.
pub fn parse_patch(s: &str) -> Result<Patch, CellError> {
    run_cell(s, patch, END)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::cell::MAX_NUMBER;
    use crate::spec::cell::tests::rejects_each;

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
        rejects_each(
            parse_patch,
            &[
                ("", 0, "a kernel size like 3×3 or 'stride'", "end of cell"),
                ("   ", 3, "a kernel size", "end of cell"),
                ("7x", 2, "a number after x", "end of cell"),
                ("7×", 2, "a number after ×", "end of cell"),
                ("x7", 0, "a kernel size like 3×3 or 'stride'", "'x'"),
                ("7", 1, "× and the kernel width", "end of cell"),
                ("7 7", 2, "× and the kernel width", "'7'"),
                ("stride -2", 7, "a positive number", "'-'"),
                ("stride 0", 7, "a positive number", "0"),
                ("stride", 6, "a positive number", "end of cell"),
                ("strides 2", 6, "a positive number", "'s'"),
                ("7×7/", 4, "a stride after /", "end of cell"),
                ("7×7/0", 4, "a positive number", "0"),
                ("7×7/-1", 4, "a stride after /", "'-'"),
                ("3×3/2/2", 5, "end of cell", "'/'"),
                ("0×3", 0, "a positive number", "0"),
                ("3×00", 2, "a positive number", "00"),
                ("7×7 q", 4, "end of cell", "'q'"),
                ("1099511627777×1", 0, "a number at most 1099511627776", "1099511627777"),
                (
                    "99999999999999999999999",
                    0,
                    "a number at most 1099511627776",
                    "99999999999999999999999",
                ),
                ("３×3", 0, "a kernel size", "'３'"),
            ],
        );
    }

    #[test]
    fn displays_canonically() {
        let shown = |s: &str| parse_patch(s).unwrap().to_string();
        assert_eq!(shown("7x7/2"), "7×7/2");
        assert_eq!(shown(" 1 X 7 "), "1×7");
        assert_eq!(shown("Stride2"), "stride 2");
    }
}
