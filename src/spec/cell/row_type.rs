//! The value of a row type cell (`convolution`, `convolution*`, `max pool`, `inception (3a)`,
//! `dropout (40%)`), its canonical display, and the words, labels and percentages it is
//! read from; the cell's production, [`super::parse_row_type`], is in `type_ext`.

use std::fmt;

use nom::{
    Parser,
    bytes::complete::{take_while, take_while1},
    character::complete::{char, digit1, satisfy},
    combinator::{cut, map, recognize},
    multi::many0,
    sequence::preceded,
};

use super::{PErr, Res, at_most_max, expect, failure};

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

/// A character of a row type word or a label: a letter, a digit, `-` or `_`.
pub(super) fn word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '_'
}

/// Row type words: `convolution`, `max pool`, `max   pool` (normalised to `max pool`),
/// `fully-connected`, `conv_2 3x3`. The first word starts with a letter.
pub(super) fn words(i: &str) -> Res<'_, String> {
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
pub(super) fn percent(i: &str) -> Res<'_, TypeArg> {
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
    let whole = at_most_max(i, whole)?;
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
pub(super) fn label(i: &str) -> Res<'_, TypeArg> {
    map(take_while1(word_char), |l: &str| TypeArg::Label(l.to_string())).parse(i)
}
