//! Count and depth cells: `64`, `0` (0 marks an absent branch).

use super::{CellError, END, Res, number, run_cell};

/// Parses a count or depth cell: `64`, `0` (0 marks an absent branch).
pub fn parse_count(s: &str) -> Result<u64, CellError> {
    run_cell(s, count, END)
}

/// A count or depth: `0`, `64`, `384`.
fn count(i: &str) -> Res<'_, u64> {
    number(i, "a whole number")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::cell::MAX_NUMBER;
    use crate::spec::cell::tests::{rejects, rejects_each};

    #[test]
    fn accepts() {
        assert_eq!(parse_count("64"), Ok(64));
        assert_eq!(parse_count("0"), Ok(0));
        assert_eq!(parse_count(" 384 "), Ok(384));
        assert_eq!(parse_count("1099511627776"), Ok(MAX_NUMBER));
    }

    #[test]
    fn rejects_bad_cells() {
        rejects_each(
            parse_count,
            &[
                ("", 0, "a whole number", "end of cell"),
                ("   ", 3, "a whole number", "end of cell"),
                ("-3", 0, "a whole number", "'-'"),
                ("6 4", 2, "end of cell", "'4'"),
                ("64K", 2, "end of cell", "'K'"),
                ("1.5", 1, "end of cell", "'.'"),
                ("1099511627777", 0, "a number at most 1099511627776", "1099511627777"),
                (
                    "99999999999999999999999",
                    0,
                    "a number at most 1099511627776",
                    "99999999999999999999999",
                ),
            ],
        );
        rejects(
            parse_count(&"9".repeat(100)),
            0,
            "a number at most",
            "99999999999999999999… (100 digits)",
        );
    }
}
