//! Any bytes as a table cell, through every column grammar (the figure, printed size and
//! filter productions included). Each parser returns a value or
//! an error, never panics; an error's offset lies within the cell; a value's canonical
//! display parses back to the same value (as src/spec/cell.rs promises).
#![no_main]

use archcheck::spec::cell::{self, CellError};
use libfuzzer_sys::fuzz_target;

fn check<T: std::fmt::Display + PartialEq + std::fmt::Debug>(
    s: &str,
    r: Result<T, CellError>,
    parse: fn(&str) -> Result<T, CellError>,
) {
    match r {
        Ok(v) => {
            let shown = v.to_string();
            let back = parse(&shown);
            assert_eq!(
                back.as_ref().ok(),
                Some(&v),
                "{s:?} displays as {shown:?}, which parses as {back:?}"
            );
        }
        Err(e) => {
            assert!(
                e.offset <= s.chars().count(),
                "offset {} past the end of {s:?}",
                e.offset
            );
            let _ = e.to_string();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    check(s, cell::parse_row_type(s), cell::parse_row_type);
    check(s, cell::parse_patch(s), cell::parse_patch);
    check(s, cell::parse_size(s), cell::parse_size);
    check(s, cell::parse_count(s), cell::parse_count);
    let with_symbols = |s: &str| cell::parse_count_cell(s, &["k", "k′"]);
    check(s, with_symbols(s), with_symbols);
    check(s, cell::parse_pool_proj(s), cell::parse_pool_proj);
    check(s, cell::parse_quantity(s), cell::parse_quantity);
    if let Ok(q) = cell::parse_quantity(s) {
        let _ = (q.value(), q.half_unit());
    }
    check(s, cell::parse_figure(s), cell::parse_figure);
    check(s, cell::parse_printed_size(s), cell::parse_printed_size);
    check(s, cell::parse_filter(s), cell::parse_filter);
    if let Ok(q) = cell::parse_figure(s) {
        // Bounded powers: a figure is always finite, and so is its tolerance.
        assert!(
            q.value().is_finite() && q.half_unit().is_finite(),
            "{s:?} reads as {q:?}"
        );
        let _ = q.admits(i64::MAX, cell::Tolerance::Exact);
    }
    if let Ok(t) = cell::parse_row_type(s) {
        let _ = (t.stem(), t.carried_kernel(), t.width());
    }
    if let Ok(u) = cell::parse_unit(s) {
        assert!(cell::power_of(u) <= cell::MAX_POWER);
    }
    let _ = cell::unit_in_header(s);
});
