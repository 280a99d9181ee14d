//! Printed quantities kept as printed: `2.7K`, `1072K`, `1.5G`, `900` (mantissa, decimals,
//! magnitude), their value and the interval their last digit stands for.

use std::fmt;

use nom::{
    Parser,
    branch::alt,
    character::complete::{char, digit1, one_of},
    combinator::{cut, opt, value},
    sequence::preceded,
};

use super::{CellError, MAX_DECIMALS, MAX_SIGNIFICANT_DIGITS, PErr, Res, expect, failure, run_cell, show_digits, ws};

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

/// Parses a printed quantity: `2.7K`, `112K`, `34M`, `1.5G`, `900`.
pub fn parse_quantity(s: &str) -> Result<Quantity, CellError> {
    run_cell(s, quantity, "a suffix K, M or G, or end of cell")
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
    let (rest, (mantissa, decimals)) = mantissa(i, whole, after_int)?;
    let (rest, suffix) = opt(preceded(ws, suffix)).parse(rest)?;
    let suffix = suffix.unwrap_or(Suffix::None);
    Ok((
        rest,
        Quantity {
            mantissa,
            decimals,
            suffix,
        },
    ))
}

/// The decimals after a number's integer digits `whole` (which end at `after_int`; the
/// number starts at `start`), and the mantissa they make with them: at most
/// [`MAX_DECIMALS`] decimals and [`MAX_SIGNIFICANT_DIGITS`] significant digits.
pub(super) fn mantissa<'a>(start: &'a str, whole: &str, after_int: &'a str) -> Res<'a, (u64, u32)> {
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
        let found = Some(show_digits(&start[..start.len() - rest.len()]));
        return Err(failure(start, expected, found));
    }
    let mantissa = significant.parse::<u64>().unwrap_or(0);
    Ok((rest, (mantissa, frac.len() as u32)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::cell::tests::rejects_each;

    fn q(mantissa: u64, decimals: u32, suffix: Suffix) -> Quantity {
        Quantity {
            mantissa,
            decimals,
            suffix,
        }
    }

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
        rejects_each(
            parse_quantity,
            &[
                ("", 0, "a number", "end of cell"),
                ("   ", 3, "a number", "end of cell"),
                ("K", 0, "a number", "'K'"),
                (".5K", 0, "a number", "'.'"),
                ("1.2.3K", 3, "a suffix K, M or G, or end of cell", "'.'"),
                ("12Q", 2, "a suffix K, M or G, or end of cell", "'Q'"),
                ("12 Q", 3, "a suffix K, M or G, or end of cell", "'Q'"),
                ("1.K", 2, "a digit after '.'", "'K'"),
                ("1.", 2, "a digit after '.'", "end of cell"),
                ("2.7KK", 4, "end of cell", "'K'"),
                ("-3K", 0, "a number", "'-'"),
                ("007", 0, "a number without leading zeros", "007"),
                (
                    "99999999999999999999999",
                    0,
                    "at most 19 significant digits",
                    "99999999999999999999999",
                ),
                ("0.0000000000000000001", 2, "at most 18 decimals", "19"),
            ],
        );
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
