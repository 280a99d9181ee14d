//! Output size cells, H×W×C: `112×112×64`, `28 x 28 x 576`.

use std::fmt;

use super::{CellError, END, Res, positive, run_cell, times_dim};

/// An output size cell, printed H×W×C: `112×112×64`. Every dimension is in `1..=MAX_NUMBER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub h: u64,
    pub w: u64,
    pub c: u64,
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}×{}×{}", self.h, self.w, self.c)
    }
}

/// Parses an output size cell, H×W×C: `112×112×64`, `28 × 28 × 576`.
pub fn parse_size(s: &str) -> Result<Size, CellError> {
    run_cell(s, size, END)
}

/// An output size: `112×112×64`, `28 x 28 x 576`, `1X1X1000`.
fn size(i: &str) -> Res<'_, Size> {
    let (i, h) = positive(i, "an output size like 28×28×256")?;
    let (i, w) = times_dim(i, "× and the width")?;
    let (i, c) = times_dim(i, "× and the channel count")?;
    Ok((i, Size { h, w, c }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::cell::tests::rejects_each;

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
        rejects_each(
            parse_size,
            &[
                ("", 0, "an output size", "end of cell"),
                ("28×0×3", 3, "a positive number", "0"),
                ("0×28×3", 0, "a positive number", "0"),
                ("28×28×0", 6, "a positive number", "0"),
                ("28×28", 5, "× and the channel count", "end of cell"),
                ("28", 2, "× and the width", "end of cell"),
                ("28×28×", 6, "a number after ×", "end of cell"),
                ("28×28×3×3", 7, "end of cell", "'×'"),
                ("28×-28×3", 3, "a number after ×", "'-'"),
                ("28×28 64", 6, "× and the channel count", "'6'"),
                ("28×28×2e3", 7, "end of cell", "'e'"),
            ],
        );
    }
}
