//! The cell grammar through the public API, on rows transcribed from GoogLeNet's Table 1
//! (Szegedy et al., 2014): type, patch size/stride, output size, depth, #1×1, #3×3 reduce,
//! #3×3, #5×5 reduce, #5×5, pool proj, params, ops. Empty cells are `None`.

use archcheck::spec::cell::{
    CellError, PoolKind, parse_count, parse_patch, parse_pool_proj, parse_quantity, parse_row_type, parse_size,
};

type Row = [Option<&'static str>; 12];

#[rustfmt::skip]
const GOOGLENET: &[Row] = &[
    [Some("convolution"), Some("7×7/2"), Some("112×112×64"), Some("1"), None, None, None, None, None, None, Some("2.7K"), Some("34M")],
    [Some("max pool"), Some("3×3/2"), Some("56×56×64"), Some("0"), None, None, None, None, None, None, None, None],
    [Some("convolution"), Some("3×3/1"), Some("56×56×192"), Some("2"), None, Some("64"), Some("192"), None, None, None, Some("112K"), Some("360M")],
    [Some("inception (3a)"), None, Some("28×28×256"), Some("2"), Some("64"), Some("96"), Some("128"), Some("16"), Some("32"), Some("32"), Some("159K"), Some("128M")],
    [Some("inception (5b)"), None, Some("7×7×1024"), Some("2"), Some("384"), Some("192"), Some("384"), Some("48"), Some("128"), Some("128"), Some("388K"), Some("71M")],
    [Some("avg pool"), Some("7×7/1"), Some("1×1×1024"), Some("0"), None, None, None, None, None, None, None, None],
    [Some("dropout (40%)"), None, Some("1×1×1024"), Some("0"), None, None, None, None, None, None, None, None],
    [Some("linear"), None, Some("1×1×1000"), Some("1"), None, None, None, None, None, None, Some("1000K"), Some("1M")],
    [Some("softmax"), None, Some("1×1×1000"), Some("0"), None, None, None, None, None, None, None, None],
];

/// Parses an optional cell and checks that its canonical display reads back the same.
fn cell<T: PartialEq + std::fmt::Debug + std::fmt::Display>(
    text: Option<&str>,
    parse: fn(&str) -> Result<T, CellError>,
) -> Option<T> {
    let value = parse(text?).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert_eq!(parse(&value.to_string()).as_ref(), Ok(&value), "display of {text:?}");
    Some(value)
}

#[test]
fn every_googlenet_cell_parses_and_reads_back() {
    for row in GOOGLENET {
        let kind = cell(row[0], parse_row_type).expect("every row has a type");
        cell(row[1], parse_patch);
        let size = cell(row[2], parse_size).expect("every row has an output size");
        assert!(size.h >= 1 && size.w >= 1 && size.c >= 1);
        for text in row[3..10].iter().flatten() {
            parse_count(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        }
        for quantity in &row[10..12] {
            cell(*quantity, parse_quantity);
        }
        assert!(!kind.words.is_empty());
    }
}

#[test]
fn quantities_carry_their_rounding_interval() {
    let params = parse_quantity("159K").unwrap();
    assert_eq!(params.value(), 159_000.0);
    assert_eq!(params.half_unit(), 500.0);
    // Inception (3a) on 192 input channels has 12,288 + 18,432 + 110,592 + 3,072 + 12,800
    // + 6,144 = 163,328 weights, outside 159K ± 0.5K: the kind of mismatch a check reports.
    let weights = 163_328.0;
    assert!((weights - params.value()).abs() > params.half_unit());
    assert!((159_499.0 - params.value()).abs() <= params.half_unit());
}

#[test]
fn pool_projection_cells() {
    let p = parse_pool_proj("max + pass through").unwrap();
    assert_eq!((p.pool, p.proj), (PoolKind::Max, None));
    assert_eq!(parse_pool_proj("avg+64").unwrap().to_string(), "avg + 64");
}

#[test]
fn errors_point_at_a_character_of_the_cell() {
    let e = parse_size("28 × 28").unwrap_err();
    assert_eq!(e.offset, 7);
    assert_eq!(e.to_string(), "expected × and the channel count, found end of cell");

    let e = parse_patch("7×7/0").unwrap_err();
    assert_eq!(
        (e.offset, e.to_string()),
        (4, "expected a positive number, found 0".to_string())
    );
}
