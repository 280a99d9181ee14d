//! Row type cells as papers print them, beyond a plain word list: a repeat count before the
//! words (`5× Conv dw`, `3×Inception`), compound types (`Conv1x1 & Pooling & FC`), a kernel
//! after a comma (`MBConv6, k3x3`), a stride after a slash (`Conv dw / s2`), free text in
//! parentheses (`input (224 × 224 RGB image)`), and the kernel or width a word itself
//! carries (`conv3-64`, `FC-4096`, `Conv1x1`, `conv2d 1x1`).
//!
//! The carried numbers are fields templates read (`{type.repeat}`, `{type.stride}`,
//! `{type.kernel}`, `{type.width}`); the words still name the template, and where no template
//! has the full words, the words without what they carry do (`conv3-64` → `conv`).

use std::borrow::Cow;

use nom::{
    Parser,
    bytes::complete::take_while1,
    character::complete::{char, digit1, one_of},
    combinator::{cut, opt},
    sequence::preceded,
};

use super::row_type::{self, label, percent};
use super::{CellError, END, MAX_NUMBER, PErr, Res, RowType, TypeArg, expect, failure, positive, run_cell, sep, ws};

/// Words joined by `&`: `Conv1x1 & Pooling & FC` (normalised to single spaces around `&`).
/// After a repeat count the words are required.
fn compound_words(i: &str, required: bool) -> Res<'_, String> {
    let (mut i, mut words) = match row_type::words(i) {
        Err(nom::Err::Error(e)) if required => return Err(nom::Err::Failure(e)),
        other => other?,
    };
    loop {
        let Ok((after, _)) = (ws, char::<_, PErr>('&'), ws).parse(i) else {
            return Ok((i, words));
        };
        let (rest, more) = match row_type::words(after) {
            Ok(ok) => ok,
            Err(_) => return Err(failure(after, "a layer type after '&'", None)),
        };
        words.push_str(" & ");
        words.push_str(&more);
        i = rest;
    }
}

/// A repeat count before the words: `5× `, `3×`, `2 x `. Fails recoverably unless a
/// separator follows the digits, so that `3a` is still read (and refused) as words.
fn repeat_prefix(i: &str) -> Res<'_, u64> {
    let (after, digits) = digit1(i)?;
    let (after, _) = (ws, sep, ws).parse(after)?;
    match digits.parse::<u64>() {
        Ok(n) if (1..=MAX_NUMBER).contains(&n) => Ok((after, n)),
        _ => Err(failure(
            i,
            format!("a repeat count in 1..={MAX_NUMBER}"),
            Some(super::show_digits(digits)),
        )),
    }
}

/// A kernel after a comma: `, k3x3`, `,k5×5`, `, k3` (square). Fails recoverably before the
/// `k`, so that `max pool, 3×3` is refused at its comma.
fn kernel_tail(i: &str) -> Res<'_, (u64, u64)> {
    let (i, _) = (ws, char(','), ws, one_of("kK")).parse(i)?;
    let (i, h) = cut(|i| positive(i, "a kernel size after 'k'")).parse(i)?;
    let (i, w) = opt(preceded((ws, sep, ws), cut(|i| positive(i, "a kernel width after ×")))).parse(i)?;
    Ok((i, (h, w.unwrap_or(h))))
}

/// A stride after a slash: `/ s2`, `/s1`, `/ 2`.
fn stride_tail(i: &str) -> Res<'_, u64> {
    let (i, _) = (ws, char('/'), ws).parse(i)?;
    let (i, _) = opt(one_of("sS")).parse(i)?;
    cut(|i| positive(i, "a stride after '/'")).parse(i)
}

/// Free text up to the closing parenthesis: `224 × 224 RGB image)`; spaces, but no control
/// or invisible characters.
fn free_text(i: &str) -> Res<'_, TypeArg> {
    const WHAT: &str = "a label or a percentage, or free text";
    let (rest, text) = take_while1(|c| c != '(' && c != ')')(i).map_err(|_: nom::Err<PErr>| failure(i, WHAT, None))?;
    // Printed words: no control or invisible characters (a tab, a bidi override, a NUL).
    if let Some((at, _)) = text.char_indices().find(|(_, c)| crate::quote::is_invisible(*c)) {
        return Err(failure(&i[at..], "free text of visible characters", None));
    }
    let text = text.trim();
    if text.is_empty() {
        return Err(failure(rest, WHAT, None));
    }
    Ok((rest, TypeArg::Text(text.to_string())))
}

/// A parenthesised argument: a percentage `(40%)`, a label `(3a)`, or free text
/// `(As in figure 4)`.
fn printed_arg(i: &str) -> Res<'_, TypeArg> {
    let (i, _) = (char('('), ws).parse(i)?;
    // A malformed percentage (`12.5)`) is an error, not text.
    match percent(i) {
        Ok((rest, arg)) => {
            let (rest, _) = (ws, cut(expect("')'", char(')')))).parse(rest)?;
            return Ok((rest, arg));
        }
        Err(nom::Err::Error(_)) => {}
        Err(e) => return Err(e),
    }
    if let Ok((rest, arg)) = (label, ws, char::<_, PErr>(')')).map(|(arg, _, _)| arg).parse(i) {
        return Ok((rest, arg));
    }
    let (rest, arg) = free_text(i)?;
    let (rest, _) = cut(expect("')'", char(')'))).parse(rest)?;
    Ok((rest, arg))
}

/// Parses a row type cell: `convolution`, `convolution*`, `max pool`, `inception (3a)`,
/// `dropout (40%)`.
pub fn parse_row_type(s: &str) -> Result<RowType, CellError> {
    run_cell(s, row_type_printed, END)
}

/// A printed row type: `[N×] words [*] [, kK×K] [/ sN] [(arg)]`.
pub(super) fn row_type_printed(i: &str) -> Res<'_, RowType> {
    let (i, repeat) = opt(repeat_prefix).parse(i)?;
    let (i, words) = compound_words(i, repeat.is_some())?;
    let (i, star) = opt(preceded(ws, char('*'))).parse(i)?;
    let (i, kernel) = opt(kernel_tail).parse(i)?;
    let (i, stride) = opt(stride_tail).parse(i)?;
    let (i, arg) = opt(preceded(ws, printed_arg)).parse(i)?;
    Ok((
        i,
        RowType {
            words,
            starred: star.is_some(),
            arg,
            repeat,
            kernel,
            stride,
        },
    ))
}

/// What the last word carries: `conv3-64` (kernel 3, width 64), `FC-4096` (width 4096),
/// `Conv1x1` (kernel 1×1), `1x1` after other words (kernel 1×1).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Carried<'a> {
    stem: Cow<'a, str>,
    kernel: Option<(u64, u64)>,
    width: Option<u64>,
}

/// A positive number of at most [`MAX_NUMBER`], from a run of digits.
fn small(digits: &str) -> Option<u64> {
    digits.parse::<u64>().ok().filter(|n| (1..=MAX_NUMBER).contains(n))
}

/// `3x3` or `1X7` as a kernel.
fn kernel_word(word: &str) -> Option<(u64, u64)> {
    let (h, w) = word.split_once(['x', 'X'])?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(h) && digits(w)).then_some(())?;
    Some((small(h)?, small(w)?))
}

fn carried(words: &str) -> Option<Carried<'_>> {
    if words.contains(" & ") {
        return None;
    }
    let (before, last) = match words.rsplit_once(' ') {
        Some((before, last)) => (Some(before), last),
        None => (None, words),
    };
    if let (Some(before), Some(kernel)) = (before, kernel_word(last)) {
        return Some(Carried {
            stem: Cow::Borrowed(before),
            kernel: Some(kernel),
            width: None,
        });
    }
    // Letters, then what they carry.
    let letters = last.find(|c: char| !c.is_alphabetic() && c != '_')?;
    let (name, tail) = last.split_at(letters);
    if name.is_empty() {
        return None;
    }
    let stem = |name: &str| match before {
        Some(b) => Cow::Owned(format!("{b} {name}")),
        None => Cow::Owned(name.to_string()),
    };
    if let Some(width) = tail.strip_prefix('-') {
        return Some(Carried {
            stem: stem(name),
            kernel: None,
            width: Some(small(width)?),
        });
    }
    if let Some((k, width)) = tail.split_once('-') {
        let k = small(k).filter(|_| k.bytes().all(|b| b.is_ascii_digit()))?;
        return Some(Carried {
            stem: stem(name),
            kernel: Some((k, k)),
            width: Some(small(width).filter(|_| width.bytes().all(|b| b.is_ascii_digit()))?),
        });
    }
    let kernel = kernel_word(tail)?;
    Some(Carried {
        stem: stem(name),
        kernel: Some(kernel),
        width: None,
    })
}

impl RowType {
    /// The words without the kernel or width their last word carries (`conv3-64` → `conv`,
    /// `FC-4096` → `FC`, `Conv1x1` → `Conv`, `conv2d 1x1` → `conv2d`); `None` when they carry
    /// none.
    pub fn stem(&self) -> Option<Cow<'_, str>> {
        carried(&self.words).map(|c| c.stem)
    }

    /// The kernel printed after a comma (`, k3x3`), else the one the words carry.
    pub fn carried_kernel(&self) -> Option<(u64, u64)> {
        self.kernel.or_else(|| carried(&self.words).and_then(|c| c.kernel))
    }

    /// The width the words carry: `conv3-64` → 64, `FC-4096` → 4096.
    pub fn width(&self) -> Option<u64> {
        carried(&self.words).and_then(|c| c.width)
    }

    /// The template that builds the row: the words when `exists` has them, else their
    /// [`stem`](Self::stem) when it has that, else the words (reported as unknown).
    pub fn template_key(&self, exists: impl Fn(&str) -> bool) -> Cow<'_, str> {
        if exists(&self.words) {
            return Cow::Borrowed(&self.words);
        }
        match self.stem() {
            Some(stem) if exists(&stem) => stem,
            _ => Cow::Borrowed(&self.words),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::cell::tests::{rejects, rejects_each};

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
        rejects_each(
            parse_row_type,
            &[
                ("", 0, "a layer type", "end of cell"),
                ("   ", 3, "a layer type", "end of cell"),
                ("( 3a)", 0, "a layer type", "'('"),
                ("3a", 0, "a layer type", "'3'"),
                ("*", 0, "a layer type", "'*'"),
                ("inception (3a", 13, "')'", "end of cell"),
                ("inception ()", 11, "a label or a percentage", "')'"),
                ("inception (", 11, "a label or a percentage", "end of cell"),
                ("inception (3a) z", 15, "end of cell", "'z'"),
                // Free text in parentheses is a label too (`(3 a)`), but not parentheses in it.
                ("inception (3 (a))", 13, "')'", "'('"),
                ("convolution**", 12, "end of cell", "'*'"),
                ("dropout (12.5)", 13, "'%'", "')'"),
                ("dropout (12.%)", 12, "a digit after '.'", "'%'"),
                ("dropout (12.345%)", 14, "'%' after at most 2 decimals", "'5'"),
                (
                    "dropout (99999999999999999999999%)",
                    9,
                    "a number at most 1099511627776",
                    "99999999999999999999999",
                ),
                ("max pool, 3×3", 8, "end of cell", "','"),
            ],
        );
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
