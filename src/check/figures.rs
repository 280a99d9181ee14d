//! The tolerance a printed figure is read with, and the arithmetic a figure finding shows.

use crate::spec::cell::{Quantity, Tolerance};
use crate::spec::{Column, Spec};

/// A figure's tolerance: its column's own (or a total's), else the spec's `tolerance:` beside
/// the printed digits, else the printed digits alone.
pub fn tolerance(own: Option<Tolerance>, spec: &Spec) -> Tolerance {
    match own {
        Some(t) => t,
        None if spec.tolerance > 0.0 => Tolerance::DigitsOr(spec.tolerance),
        None => Tolerance::Digits,
    }
}

/// The tolerance of a column's figures.
pub fn column_tolerance(column: Option<&Column>, spec: &Spec) -> Tolerance {
    tolerance(column.and_then(|c| c.tolerance), spec)
}

/// `printed 3.8×10^9 = 3800000000 ± 50000000 (from the printed digits), derived 3,600,000,000`.
pub fn arithmetic(printed: &str, q: &Quantity, derived: i64, tolerance: Tolerance) -> String {
    let value = q.value();
    let interval = match tolerance {
        Tolerance::Digits => format!("± {} (half the last printed digit)", number(q.half_unit())),
        Tolerance::DigitsOr(t) => format!("± {} (the printed digits) or {:.1}%", number(q.half_unit()), t * 100.0),
        Tolerance::Relative(t) => format!("within {:.1}% (the column's tolerance)", t * 100.0),
        Tolerance::Exact => "exactly (an exact figure)".to_string(),
    };
    let rel = if derived == 0 {
        "; no relative difference from 0".to_string()
    } else {
        format!(
            "; relative difference {:.2}%",
            (value - derived as f64).abs() / derived as f64 * 100.0
        )
    };
    format!(
        "printed {} = {} {interval}, derived {}{rel}",
        printed.trim(),
        number(value),
        crate::fmt::thousands(derived)
    )
}

/// A figure's value with digit groups where it is whole: 3,800,000,000; 0.5.
fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 9e18 {
        crate::fmt::thousands(x as i64)
    } else {
        x.to_string()
    }
}
