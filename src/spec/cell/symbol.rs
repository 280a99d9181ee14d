//! Count cells that print a symbol instead of a number: MobileNetV2's Table 2 prints the
//! last line's channels as `k`, the class count. A column accepts the symbols it declares
//! (`c: {kind: count, symbols: {k: classes}}`); any other word is an error at the cell.

use std::fmt;

use nom::{Parser, bytes::complete::take_while};

use super::{CellError, END, Res, error, failure, number, parse_count, run_cell};

/// A count cell: a number, or one of its column's symbols.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CountCell {
    Number(u64),
    Symbol(String),
}

impl fmt::Display for CountCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CountCell::Number(n) => write!(f, "{n}"),
            CountCell::Symbol(s) => f.write_str(s),
        }
    }
}

/// A symbol's characters after its first (a letter): letters, digits, `_` and primes (`k′`).
fn symbol_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '′' || c == '\''
}

/// Whether `s` is a symbol as a column may declare one: a letter, then letters, digits, `_`
/// or primes (`k`, `k′`, `C_out`).
pub fn is_symbol(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(char::is_alphabetic) && chars.all(symbol_char)
}

/// Parses a count cell whose column declares `symbols`: `64`, `0`, or one of the symbols
/// (`k`). Without symbols it is [`parse_count`], with its messages.
pub fn parse_count_cell(s: &str, symbols: &[&str]) -> Result<CountCell, CellError> {
    if symbols.is_empty() {
        return parse_count(s).map(CountCell::Number);
    }
    let expected = match symbols {
        [one] => format!("a whole number or the column's symbol {one}"),
        many => format!("a whole number or one of the column's symbols {}", many.join(", ")),
    };
    run_cell(s, |i| count_or_symbol(i, symbols, &expected), END)
}

fn count_or_symbol<'a>(i: &'a str, symbols: &[&str], expected: &str) -> Res<'a, CountCell> {
    if i.starts_with(|c: char| c.is_ascii_digit()) {
        let (rest, n) = number(i, expected)?;
        return Ok((rest, CountCell::Number(n)));
    }
    if !i.starts_with(char::is_alphabetic) {
        return Err(error(i, expected));
    }
    let (rest, word) = take_while(symbol_char).parse(i)?;
    if symbols.contains(&word) {
        Ok((rest, CountCell::Symbol(word.to_string())))
    } else {
        Err(failure(i, expected, Some(crate::quote::quote(word))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejects(r: Result<CountCell, CellError>, offset: usize, expected: &str, found: &str) {
        let e = r.unwrap_err();
        assert_eq!(
            (e.offset, e.expected.as_str(), e.found.as_str()),
            (offset, expected, found)
        );
    }

    #[test]
    fn accepts_numbers_and_the_declared_symbols() {
        let k = &["k"];
        assert_eq!(parse_count_cell("k", k), Ok(CountCell::Symbol("k".into())));
        assert_eq!(parse_count_cell(" k ", k), Ok(CountCell::Symbol("k".into())));
        assert_eq!(parse_count_cell("1280", k), Ok(CountCell::Number(1280)));
        assert_eq!(parse_count_cell("0", k), Ok(CountCell::Number(0)));
        assert_eq!(parse_count_cell("k′", &["k", "k′"]), Ok(CountCell::Symbol("k′".into())));
        assert_eq!(parse_count_cell("64", &[]), Ok(CountCell::Number(64)));
        // The display reads back.
        for text in ["k", "1280"] {
            let v = parse_count_cell(text, k).unwrap();
            assert_eq!(parse_count_cell(&v.to_string(), k), Ok(v));
        }
    }

    #[test]
    fn rejects_undeclared_words_and_what_follows_a_symbol() {
        let k = &["k"];
        let one = "a whole number or the column's symbol k";
        rejects(parse_count_cell("K", k), 0, one, "'K'");
        rejects(parse_count_cell("classes", k), 0, one, "'classes'");
        rejects(parse_count_cell("k2", k), 0, one, "'k2'");
        rejects(parse_count_cell("-k", k), 0, one, "'-'");
        rejects(parse_count_cell("", k), 0, one, "end of cell");
        rejects(parse_count_cell("k k", k), 2, "end of cell", "'k'");
        rejects(parse_count_cell("k+1", k), 1, "end of cell", "'+'");
        rejects(parse_count_cell("64k", k), 2, "end of cell", "'k'");
        rejects(
            parse_count_cell("t", &["k", "k′"]),
            0,
            "a whole number or one of the column's symbols k, k′",
            "'t'",
        );
        // Without symbols, a word is refused as before.
        rejects(parse_count_cell("k", &[]), 0, "a whole number", "'k'");
    }

    #[test]
    fn symbols_are_words() {
        for ok in ["k", "k′", "C_out", "n2", "classes"] {
            assert!(is_symbol(ok), "{ok}");
        }
        for bad in ["", "2k", "_k", "k k", "k-1", "{k}", "k.x"] {
            assert!(!is_symbol(bad), "{bad}");
        }
    }
}
