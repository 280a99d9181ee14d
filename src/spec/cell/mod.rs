//! The cell grammar: the text of one table cell, parsed with nom.
//!
//! Each column of an architecture table has its own production:
//!
//! | column          | parser              | accepts                                   |
//! |-----------------|---------------------|-------------------------------------------|
//! | type            | [`parse_row_type`]  | `convolution*`, `inception (3a)`, `dropout (40%)` |
//! | patch size/stride | [`parse_patch`]   | `7×7/2`, `3x3/1`, `1×7`, `stride 2`       |
//! | output size     | [`parse_size`]      | `112×112×64`, `28 x 28 x 576`             |
//! | counts, depth   | [`parse_count`]     | `64`, `0`                                 |
//! | counts with symbols | [`parse_count_cell`] | `64`, or a symbol the column declares: `k` |
//! | pool proj       | [`parse_pool_proj`] | `avg + 32`, `max + pass through`          |
//! | params, ops     | [`parse_quantity`]  | `2.7K`, `1072K`, `1.5G`, `900`            |
//! | params, ops, totals | [`parse_figure`] | `14,208`, `3.8×10^9`, `0.39B`, `300 million` |
//! | input           | [`parse_printed_size`] | `224² × 3`, `299×299×3`, `224 × 224`   |
//! | filter          | [`parse_filter`]    | `3 × 3 × 3 × 32`, `3 × 3 × 32 dw`, `1024 × 1000` |
//!
//! The type production also reads `5× Conv dw / s2`, `MBConv6, k3x3`, `Conv1x1 & Pooling & FC`
//! and free text in parentheses (`type_ext`); figures, printed sizes and filter shapes live in
//! `figure` and `printed`.
//!
//! Dimension separators may be `×` (U+00D7), `x` or `X`, with optional spaces around them;
//! displays always use `×`. Leading and trailing whitespace is ignored, and the whole cell must
//! be consumed. Every value's `Display` prints the canonical text, which parses back to the same
//! value.
//!
//! Errors are [`CellError`]s: a *character* offset into the cell text (so the caller can add it
//! to the cell's column) plus what was expected and what was found. No input makes a parser
//! panic.

mod count;
mod error;
mod figure;
mod layers;
mod lex;
#[cfg(test)]
mod paper_props;
mod patch;
mod pool_proj;
mod printed;
mod quantity;
mod row_type;
mod size;
mod symbol;
mod type_ext;

pub use count::parse_count;
pub use error::CellError;
pub use figure::{
    MAX_POWER, MagnitudeUnderUnit, Tolerance, parse_figure, parse_unit, power_of, unit_in_header, unit_text, with_unit,
};
pub use layers::{LayerCell, LayerItem, parse_layers, parse_size_hw};
pub use patch::{Patch, parse_patch};
pub use pool_proj::{PoolKind, PoolProj, parse_pool_proj};
pub use printed::{Filter, PrintedSize, parse_filter, parse_printed_size};
pub use quantity::{Quantity, Suffix, parse_quantity};
pub use row_type::{RowType, TypeArg};
pub use size::{Size, parse_size};
pub use symbol::{CountCell, is_symbol, parse_count_cell};
pub use type_ext::parse_row_type;

// The shared pieces every production file reaches as `super::…`.
use error::{END, PErr, Res, error, expect, failure, run_cell, show_digits};
use lex::{at_most_max, number, positive, sep, times_dim, ws};

/// Largest kernel size, stride, output dimension, count, projection width or percentage
/// integer part accepted: 2^40.
pub const MAX_NUMBER: u64 = 1 << 40;

/// Most significant digits (integer and fraction together, leading zeros not counted) in a
/// [`Quantity`], so that its mantissa always fits a `u64`.
pub const MAX_SIGNIFICANT_DIGITS: usize = 19;

/// Most digits after the decimal point in a [`Quantity`].
pub const MAX_DECIMALS: u32 = 18;

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    /// Asserts that `result` failed at character `offset`, expecting something that contains
    /// `expected`, having found exactly `found`.
    pub(super) fn rejects<T: fmt::Debug>(result: Result<T, CellError>, offset: usize, expected: &str, found: &str) {
        if let Some(why) = complaint(result, offset, expected, found) {
            panic!("{why}");
        }
    }

    /// [`rejects`] for each case of `parse`: (cell, offset, expected, found).
    pub(super) fn rejects_each<T: fmt::Debug>(
        parse: impl Fn(&str) -> Result<T, CellError>,
        cases: &[(&str, usize, &str, &str)],
    ) {
        for &(cell, offset, expected, found) in cases {
            if let Some(why) = complaint(parse(cell), offset, expected, found) {
                panic!("{cell:?}: {why}");
            }
        }
    }

    /// What is wrong with `result` as the rejection [`rejects`] wants, if anything.
    fn complaint<T: fmt::Debug>(
        result: Result<T, CellError>,
        offset: usize,
        expected: &str,
        found: &str,
    ) -> Option<String> {
        let e = match result {
            Ok(v) => return Some(format!("should have been rejected, parsed as {v:?}")),
            Err(e) => e,
        };
        if e.offset == offset && e.expected.contains(expected) && e.found == found {
            return None;
        }
        Some(format!(
            "got {e:?} ({e}), wanted offset {offset}, expected ~{expected:?}, found {found:?}"
        ))
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn dim() -> impl Strategy<Value = u64> {
            prop_oneof![1..=1024u64, 1..=MAX_NUMBER]
        }

        fn patch() -> impl Strategy<Value = Patch> {
            prop_oneof![
                (dim(), dim()).prop_map(|(h, w)| Patch {
                    kernel: Some((h, w)),
                    stride: None
                }),
                (dim(), dim(), dim()).prop_map(|(h, w, s)| Patch {
                    kernel: Some((h, w)),
                    stride: Some(s)
                }),
                dim().prop_map(|s| Patch {
                    kernel: None,
                    stride: Some(s)
                }),
            ]
        }

        fn size() -> impl Strategy<Value = Size> {
            (dim(), dim(), dim()).prop_map(|(h, w, c)| Size { h, w, c })
        }

        fn pool_proj() -> impl Strategy<Value = PoolProj> {
            let pool = prop_oneof![Just(PoolKind::Max), Just(PoolKind::Avg)];
            (pool, proptest::option::of(dim())).prop_map(|(pool, proj)| PoolProj { pool, proj })
        }

        fn quantity() -> impl Strategy<Value = Quantity> {
            let suffix = prop_oneof![Just(Suffix::None), Just(Suffix::K), Just(Suffix::M), Just(Suffix::G)];
            let mantissa = prop_oneof![0..10_000u64, 0..10_000_000_000_000_000_000u64];
            (mantissa, 0..=MAX_DECIMALS, suffix).prop_map(|(mantissa, decimals, suffix)| Quantity {
                mantissa,
                decimals,
                suffix,
            })
        }

        fn type_arg() -> impl Strategy<Value = TypeArg> {
            prop_oneof![
                "[A-Za-z0-9_-]{1,6}".prop_map(TypeArg::Label),
                (0..=MAX_NUMBER * 100 + 99).prop_map(|hundredths| TypeArg::Percent { hundredths }),
                (0..=10_000u64).prop_map(|hundredths| TypeArg::Percent { hundredths }),
            ]
        }

        fn row_type() -> impl Strategy<Value = RowType> {
            let words = (
                "[A-Za-z][A-Za-z0-9_-]{0,8}",
                proptest::collection::vec("[A-Za-z0-9_-]{1,6}", 0..3),
            )
                .prop_map(|(first, more)| std::iter::once(first).chain(more).collect::<Vec<_>>().join(" "));
            (words, any::<bool>(), proptest::option::of(type_arg())).prop_map(|(words, starred, arg)| RowType {
                words,
                starred,
                arg,
                repeat: None,
                kernel: None,
                stride: None,
            })
        }

        /// Strings made of the grammar's own characters, more likely to get deep into a parser
        /// than arbitrary strings.
        fn cellish() -> impl Strategy<Value = String> {
            "[0-9xX×/ .%()*+KMGkpastrideghouvm\t-]{0,16}"
        }

        fn parse_all(s: &str) {
            let _ = parse_row_type(s);
            let _ = parse_patch(s);
            let _ = parse_size(s);
            let _ = parse_count(s);
            let _ = parse_pool_proj(s);
            let _ = parse_quantity(s);
        }

        proptest! {
            #[test]
            fn patch_round_trips(p in patch()) {
                prop_assert_eq!(parse_patch(&p.to_string()), Ok(p));
            }

            #[test]
            fn size_round_trips(s in size()) {
                prop_assert_eq!(parse_size(&s.to_string()), Ok(s));
            }

            #[test]
            fn pool_proj_round_trips(p in pool_proj()) {
                prop_assert_eq!(parse_pool_proj(&p.to_string()), Ok(p));
            }

            #[test]
            fn quantity_round_trips(q in quantity()) {
                prop_assert_eq!(parse_quantity(&q.to_string()), Ok(q));
            }

            #[test]
            fn row_type_round_trips(r in row_type()) {
                prop_assert_eq!(parse_row_type(&r.to_string()), Ok(r));
            }

            #[test]
            fn lowercase_x_size_is_the_same_size(s in size()) {
                let Size { h, w, c } = s;
                prop_assert_eq!(parse_size(&format!("{h}x{w}x{c}")), parse_size(&format!("{h}×{w}×{c}")));
                prop_assert_eq!(parse_size(&format!("{h}x{w}x{c}")), Ok(s));
            }

            #[test]
            fn arbitrary_strings_never_panic(s in any::<String>()) {
                parse_all(&s);
            }

            #[test]
            fn grammar_like_strings_never_panic(s in cellish()) {
                parse_all(&s);
            }

            #[test]
            fn error_offsets_lie_within_the_cell(s in cellish()) {
                let chars = s.chars().count();
                for e in [
                    parse_row_type(&s).err(),
                    parse_patch(&s).err(),
                    parse_size(&s).err(),
                    parse_count(&s).err(),
                    parse_pool_proj(&s).err(),
                    parse_quantity(&s).err(),
                ].into_iter().flatten() {
                    prop_assert!(e.offset <= chars, "{:?} in {:?}", e, s);
                }
            }
        }
    }
}
