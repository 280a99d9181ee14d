//! Printed figures beyond `2.7K`: digit groups (`14,208`, `1,248,424`), powers of ten
//! (`3.8×10^9`, `3.8 × 10⁹`), `B` for billions (`0.39B`), magnitude words (`300 million`),
//! and a column's unit (a `params ×10⁶` header makes `65` read 65×10^6).
//!
//! A figure is kept as printed (mantissa, decimals, magnitude), so its tolerance can follow
//! its digits: `3.8×10^9` is 3.8e9 ± 0.05e9. Powers are bounded by [`MAX_POWER`], so no
//! printed figure becomes infinite.

use nom::{
    Parser,
    branch::alt,
    bytes::complete::tag_no_case,
    character::complete::{char, digit1, one_of},
    combinator::{cut, opt, value},
    sequence::preceded,
};

use super::quantity::mantissa;
use super::{
    CellError, MAX_SIGNIFICANT_DIGITS, PErr, Quantity, Res, Suffix, error, expect, failure, run_cell, sep, show_digits,
    ws,
};

/// Largest power of ten a figure or a unit may print: 10^18 (the magnitude stays a `u64`).
pub const MAX_POWER: u32 = 18;

const AFTER: &str = "a magnitude (K, M, G, B, million, ×10^n) or end of cell";

/// Parses a printed figure: everything [`super::parse_quantity`] reads, and `14,208`,
/// `3.8×10^9`, `3.8 × 10⁹`, `0.39B`, `300 million`, `3.4 million`.
pub fn parse_figure(s: &str) -> Result<Quantity, CellError> {
    run_cell(s, figure, AFTER)
}

/// Parses a column's unit: `×10⁶`, `× 10^6`, `10^6`, `M`, `million`, `K`, `thousand`.
pub fn parse_unit(s: &str) -> Result<Suffix, CellError> {
    run_cell(s, unit, "end of unit")
}

/// The unit a column header prints after its name: `params ×10⁶` → 10^6, `FLOPs (×10^9)`
/// → 10^9; `None` when the header ends in no power of ten.
pub fn unit_in_header(header: &str) -> Option<Suffix> {
    let trimmed = header.trim_end();
    let inner = match trimmed.strip_suffix(')') {
        Some(t) => t.rsplit_once('(').map(|(_, u)| u)?,
        None => trimmed,
    };
    inner
        .char_indices()
        .filter(|(_, c)| matches!(c, '×' | 'x' | 'X'))
        .filter(|(at, _)| *at == 0 || inner[..*at].ends_with(char::is_whitespace))
        .find_map(|(at, _)| run_cell(&inner[at..], power, "end of header").ok())
}

/// A figure with the column's unit: `65` under `params ×10⁶` is 65M. A figure that prints its
/// own magnitude under a unit is refused (the error names both).
pub fn with_unit(q: Quantity, unit: Suffix) -> Result<Quantity, MagnitudeUnderUnit> {
    match q.suffix {
        Suffix::None => Ok(Quantity { suffix: unit, ..q }),
        own => Err(MagnitudeUnderUnit { unit, own }),
    }
}

/// A figure that prints its own magnitude in a column that has a unit: `65M` under
/// `params ×10⁶`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("expected {}, found {}", expected_under(self.unit), own_magnitude(self.own))]
pub struct MagnitudeUnderUnit {
    /// The column's unit.
    pub unit: Suffix,
    /// The magnitude the figure prints.
    pub own: Suffix,
}

/// As a cell error, at the start of the cell.
impl From<MagnitudeUnderUnit> for CellError {
    fn from(e: MagnitudeUnderUnit) -> Self {
        CellError {
            offset: 0,
            expected: expected_under(e.unit),
            found: own_magnitude(e.own),
        }
    }
}

fn expected_under(unit: Suffix) -> String {
    format!("a figure in units of {} (no magnitude of its own)", unit_text(unit))
}

fn own_magnitude(own: Suffix) -> String {
    format!("its own magnitude {}", unit_text(own))
}

/// `×10^6` for a unit.
pub fn unit_text(unit: Suffix) -> String {
    format!("×10^{}", power_of(unit))
}

/// The power of ten of a magnitude: 0, 3, 6, 9 or the printed one.
pub fn power_of(s: Suffix) -> u32 {
    match s {
        Suffix::None => 0,
        Suffix::K => 3,
        Suffix::M => 6,
        Suffix::G => 9,
        Suffix::Pow(n) => n,
    }
}

/// The magnitude of 10^n, with a letter where there is one.
fn suffix_of_power(n: u32) -> Suffix {
    match n {
        0 => Suffix::None,
        3 => Suffix::K,
        6 => Suffix::M,
        9 => Suffix::G,
        n => Suffix::Pow(n),
    }
}

fn superscript_digit(c: char) -> Option<u32> {
    "⁰¹²³⁴⁵⁶⁷⁸⁹".chars().position(|s| s == c).map(|d| d as u32)
}

/// `10^9`, `10⁹`, `10 ^ 9`: the power, at most [`MAX_POWER`].
fn ten_to(i: &str) -> Res<'_, Suffix> {
    let (after, _) = char('1').and(char('0')).parse(i)?;
    let (rest, digits): (&str, String) = match preceded((ws, char::<_, PErr>('^'), ws), digit1).parse(after) {
        Ok((rest, d)) => (rest, d.to_string()),
        Err(_) => {
            let digits: String = after
                .chars()
                .map_while(superscript_digit)
                .map(|d| d.to_string())
                .collect();
            if digits.is_empty() {
                return Err(failure(after, "'^' and a power after 10", None));
            }
            let used: usize = after.chars().take(digits.len()).map(char::len_utf8).sum();
            (&after[used..], digits)
        }
    };
    match digits.parse::<u32>() {
        Ok(n) if n <= MAX_POWER => Ok((rest, suffix_of_power(n))),
        _ => Err(failure(
            i,
            format!("a power of ten at most 10^{MAX_POWER}"),
            Some(format!("10^{}", show_digits(&digits))),
        )),
    }
}

/// `×10^9`, `× 10⁹`, `x10^6`.
fn power(i: &str) -> Res<'_, Suffix> {
    let (i, _) = (sep, ws).parse(i)?;
    cut(expect("10^n after ×", ten_to)).parse(i)
}

/// `thousand`, `million(s)`, `billion`, `trillion`, any case, as a whole word.
fn magnitude_word(i: &str) -> Res<'_, Suffix> {
    let words = alt((
        value(Suffix::K, tag_no_case("thousand")),
        value(Suffix::M, tag_no_case("million")),
        value(Suffix::G, tag_no_case("billion")),
        value(Suffix::Pow(12), tag_no_case("trillion")),
    ));
    let (rest, s) = (words, opt(one_of("sS"))).map(|(s, _)| s).parse(i)?;
    whole_word(i, rest, s)
}

/// A magnitude letter as a whole word: `K`, `k`, `M`, `G`, `B` (billions).
fn magnitude_letter(i: &str) -> Res<'_, Suffix> {
    let mut letters = alt((
        value(Suffix::K, one_of("Kk")),
        value(Suffix::M, char('M')),
        value(Suffix::G, one_of("GB")),
    ));
    let (rest, s) = letters.parse(i)?;
    whole_word(i, rest, s)
}

/// Refuses a magnitude glued to more letters (`Mx`), recoverably.
fn whole_word<'a>(start: &'a str, rest: &'a str, s: Suffix) -> Res<'a, Suffix> {
    if rest.starts_with(char::is_alphabetic) {
        return Err(error(start, AFTER));
    }
    Ok((rest, s))
}

fn magnitude(i: &str) -> Res<'_, Suffix> {
    alt((magnitude_word, magnitude_letter, power)).parse(i)
}

fn unit(i: &str) -> Res<'_, Suffix> {
    expect("a unit such as ×10^6 or million", alt((magnitude, ten_to))).parse(i)
}

/// What follows a `,` that starts a digit group.
fn group_follows(rest: &str) -> Option<&str> {
    rest.strip_prefix(',')
        .filter(|a| a.starts_with(|c: char| c.is_ascii_digit()))
}

/// Digits with optional groups of three: `14,208`, `1,248,424`, `900`. No leading zeros.
fn grouped(i: &str) -> Res<'_, String> {
    let (mut rest, first) = expect("a number", digit1).parse(i)?;
    if first.len() > 1 && first.starts_with('0') {
        return Err(failure(i, "a number without leading zeros", Some(show_digits(first))));
    }
    let mut digits = first.to_string();
    if first == "0" && group_follows(rest).is_some() {
        return Err(failure(i, "a number without leading zeros", Some("0,".to_string())));
    }
    if first.len() > 3 && group_follows(rest).is_some() {
        return Err(failure(
            i,
            "at most three digits before a ','",
            Some(show_digits(first)),
        ));
    }
    while let Some(after) = group_follows(rest) {
        let (next, group) = digit1::<_, PErr>(after)?;
        if group.len() != 3 {
            return Err(failure(
                after,
                "a group of three digits after ','",
                Some(show_digits(group)),
            ));
        }
        digits.push_str(group);
        if digits.len() > 64 {
            return Err(failure(
                i,
                format!("a number with at most {MAX_SIGNIFICANT_DIGITS} significant digits"),
                Some(show_digits(&digits)),
            ));
        }
        rest = next;
    }
    Ok((rest, digits))
}

/// A printed figure: [`grouped`] digits, decimals, and a magnitude.
fn figure(i: &str) -> Res<'_, Quantity> {
    let (after_int, whole) = grouped(i)?;
    let (rest, (mantissa, decimals)) = mantissa(i, &whole, after_int)?;
    let (rest, suffix) = opt(preceded(ws, magnitude)).parse(rest)?;
    Ok((
        rest,
        Quantity {
            mantissa,
            decimals,
            suffix: suffix.unwrap_or(Suffix::None),
        },
    ))
}

/// How close a derived count must come to a printed figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tolerance {
    /// Within half the last printed digit: `3.8×10^9` admits 3.75e9..=3.85e9.
    Digits,
    /// Within the printed digits, or within this relative difference (a spec's `tolerance:`).
    DigitsOr(f64),
    /// Within this relative difference of the derived count (a column's `tolerance:`).
    Relative(f64),
    /// Equal to the printed value (an `exact` column).
    Exact,
}

impl Quantity {
    /// Whether `derived` is what this figure prints, under `tolerance`.
    pub fn admits(&self, derived: i64, tolerance: Tolerance) -> bool {
        let v = self.value();
        let d = derived as f64;
        let digits = (v - d).abs() <= self.half_unit() + 1e-9;
        let relative = |t: f64| {
            if derived == 0 {
                v == 0.0
            } else {
                (v - d).abs() / d.abs() <= t
            }
        };
        match tolerance {
            Tolerance::Digits => digits,
            Tolerance::DigitsOr(t) => digits || relative(t),
            Tolerance::Relative(t) => relative(t),
            Tolerance::Exact => self.equals(derived),
        }
    }

    /// Whether the printed value is exactly `n` (in integers: mantissa × 10^power equals
    /// n × 10^decimals).
    fn equals(&self, n: i64) -> bool {
        let Ok(n) = u128::try_from(n) else { return false };
        let scale = |power: u32| 10u128.checked_pow(power);
        let lhs = scale(power_of(self.suffix)).and_then(|p| p.checked_mul(self.mantissa as u128));
        let rhs = scale(self.decimals).and_then(|p| p.checked_mul(n));
        matches!((lhs, rhs), (Some(a), Some(b)) if a == b)
    }
}

impl std::fmt::Display for Tolerance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tolerance::Digits => f.write_str("the printed digits"),
            Tolerance::DigitsOr(t) => write!(f, "the printed digits or {:.1}%", t * 100.0),
            Tolerance::Relative(t) => write!(f, "{:.1}%", t * 100.0),
            Tolerance::Exact => f.write_str("exact"),
        }
    }
}
