//! The lexing shared by every production: whitespace, bounded numbers, dimension separators.

use nom::{
    Parser,
    bytes::complete::take_while,
    character::complete::{digit1, one_of},
    combinator::cut,
};

use super::{MAX_NUMBER, PErr, Res, error, failure, show_digits};

/// Optional whitespace: ``, ` `, `\t `.
pub(super) fn ws(i: &str) -> Res<'_, &str> {
    take_while(char::is_whitespace).parse(i)
}

/// A number: `0`, `64`, `1099511627776`. Decimal digits only, at most [`MAX_NUMBER`]; `what`
/// names what was expected when there is no digit.
pub(super) fn number<'a>(i: &'a str, what: &str) -> Res<'a, u64> {
    let (rest, digits) = digit1::<_, PErr>(i).map_err(|_| error(i, what))?;
    Ok((rest, at_most_max(i, digits)?))
}

/// The value of the decimal `digits` that start at `at`, refused above [`MAX_NUMBER`].
pub(super) fn at_most_max<'a>(at: &'a str, digits: &str) -> Result<u64, nom::Err<PErr<'a>>> {
    match digits.parse::<u64>() {
        Ok(n) if n <= MAX_NUMBER => Ok(n),
        _ => Err(failure(
            at,
            format!("a number at most {MAX_NUMBER}"),
            Some(show_digits(digits)),
        )),
    }
}

/// A positive number: `1`, `7`, `576`. Zero is rejected as "expected a positive number".
pub(super) fn positive<'a>(i: &'a str, what: &str) -> Res<'a, u64> {
    let (rest, n) = number(i, what)?;
    if n == 0 {
        let zero = &i[..i.len() - rest.len()];
        return Err(failure(i, "a positive number", Some(zero.to_string())));
    }
    Ok((rest, n))
}

/// A dimension separator: `×`, `x`, `X`.
pub(super) fn sep(i: &str) -> Res<'_, char> {
    one_of("×xX").parse(i)
}

/// A separator and the next dimension, spaces allowed around the separator: `×7`, ` x 7`.
/// Both parts are required; `missing` names what was expected when there is no separator.
pub(super) fn times_dim<'a>(i: &'a str, missing: &str) -> Res<'a, u64> {
    let (i, _) = ws(i)?;
    let (i, sep) = sep(i).map_err(|_| failure(i, missing, None))?;
    let (i, _) = ws(i)?;
    cut(|i| positive(i, &format!("a number after {sep}"))).parse(i)
}
