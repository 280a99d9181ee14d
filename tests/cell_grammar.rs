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

// -------------------------------------------------------------------------------------------
// Cells as other papers print them (MobileNet v1/v2, EfficientNet, Inception-v3, VGG, ResNet,
// Transformer): /work tables transcribed in the issue, each production accepted and refused.
// -------------------------------------------------------------------------------------------

use archcheck::spec::cell::{
    Filter, PrintedSize, Suffix, Tolerance, TypeArg, parse_figure, parse_filter, parse_printed_size, parse_unit,
    unit_in_header, with_unit,
};

/// Asserts a rejection at character `offset`, expecting text containing `expected`, having
/// found exactly `found`.
fn refused<T: std::fmt::Debug>(r: Result<T, CellError>, offset: usize, expected: &str, found: &str) {
    let e = r.expect_err("should have been refused");
    assert!(
        e.offset == offset && e.expected.contains(expected) && e.found == found,
        "got {e:?} ({e}), wanted offset {offset}, expected ~{expected:?}, found {found:?}"
    );
}

#[test]
fn type_cells_carry_stride_repeat_kernel_and_width() {
    let t = cell(Some("Conv dw / s2"), parse_row_type).unwrap();
    assert_eq!((t.words.as_str(), t.stride, t.repeat), ("Conv dw", Some(2), None));
    let t = cell(Some("5× Conv dw / s1"), parse_row_type).unwrap();
    assert_eq!((t.words.as_str(), t.stride, t.repeat), ("Conv dw", Some(1), Some(5)));
    let t = cell(Some("3×Inception"), parse_row_type).unwrap();
    assert_eq!((t.words.as_str(), t.repeat), ("Inception", Some(3)));
    let t = cell(Some("conv3-64"), parse_row_type).unwrap();
    assert_eq!(t.words, "conv3-64");
    assert_eq!(
        (t.stem().as_deref(), t.carried_kernel(), t.width()),
        (Some("conv"), Some((3, 3)), Some(64))
    );
    let t = cell(Some("FC-4096"), parse_row_type).unwrap();
    assert_eq!(
        (t.stem().as_deref(), t.carried_kernel(), t.width()),
        (Some("FC"), None, Some(4096))
    );
    let t = cell(Some("MBConv6, k3x3"), parse_row_type).unwrap();
    assert_eq!(
        (t.words.as_str(), t.kernel, t.carried_kernel()),
        ("MBConv6", Some((3, 3)), Some((3, 3)))
    );
    let t = cell(Some("MBConv6, k5x5"), parse_row_type).unwrap();
    assert_eq!(t.carried_kernel(), Some((5, 5)));
    let t = cell(Some("Conv3x3"), parse_row_type).unwrap();
    assert_eq!((t.stem().as_deref(), t.carried_kernel()), (Some("Conv"), Some((3, 3))));
    let t = cell(Some("conv2d 1x1"), parse_row_type).unwrap();
    assert_eq!(
        (t.stem().as_deref(), t.carried_kernel()),
        (Some("conv2d"), Some((1, 1)))
    );
    let t = cell(Some("Conv1x1 & Pooling & FC"), parse_row_type).unwrap();
    assert_eq!((t.words.as_str(), t.stem()), ("Conv1x1 & Pooling & FC", None));
    let t = cell(Some("Conv1x1&Pooling  &FC"), parse_row_type).unwrap();
    assert_eq!(t.words, "Conv1x1 & Pooling & FC");
    // The words name the template first; their stem only where the words name none.
    let t = parse_row_type("conv3-64").unwrap();
    assert_eq!(t.template_key(|k| k == "conv"), "conv");
    assert_eq!(t.template_key(|k| k == "conv" || k == "conv3-64"), "conv3-64");
    assert_eq!(t.template_key(|_| false), "conv3-64");
}

#[test]
fn type_cells_take_free_text_in_parentheses() {
    let t = cell(Some("input (224 × 224 RGB image)"), parse_row_type).unwrap();
    assert_eq!(t.arg, Some(TypeArg::Text("224 × 224 RGB image".into())));
    let t = cell(Some("Dense Block (1)"), parse_row_type).unwrap();
    assert_eq!(t.arg, Some(TypeArg::Label("1".into())));
    let t = cell(Some("dropout (40%)"), parse_row_type).unwrap();
    assert_eq!(t.arg, Some(TypeArg::Percent { hundredths: 4000 }));
}

#[test]
fn type_cells_refuse_what_they_cannot_carry() {
    refused(parse_row_type("5× "), 3, "a layer type", "end of cell");
    refused(parse_row_type("3×3 conv"), 2, "a layer type", "'3'");
    refused(parse_row_type("Conv dw / s0"), 11, "a positive number", "0");
    refused(parse_row_type("Conv dw /"), 9, "a stride after '/'", "end of cell");
    refused(
        parse_row_type("MBConv6, k"),
        10,
        "a kernel size after 'k'",
        "end of cell",
    );
    refused(
        parse_row_type("MBConv6, k3x"),
        12,
        "a kernel width after ×",
        "end of cell",
    );
    refused(parse_row_type("max pool, 3×3"), 8, "end of cell", "','");
    refused(
        parse_row_type("Conv1x1 & "),
        10,
        "a layer type after '&'",
        "end of cell",
    );
    refused(parse_row_type("input (a (b))"), 9, "')'", "'('");
    refused(parse_row_type("input (a"), 8, "')'", "end of cell");
    refused(
        parse_row_type("input (a\tb)"),
        8,
        "free text of visible characters",
        "'\\t'",
    );
    refused(
        parse_row_type("input (a\u{202e}b)"),
        8,
        "free text of visible characters",
        "'\\u{202e}'",
    );
    refused(
        parse_row_type("99999999999999× conv"),
        0,
        "a repeat count",
        "99999999999999",
    );
}

#[test]
fn figures_as_papers_print_them() {
    let f = |s: &str| cell(Some(s), parse_figure).unwrap();
    assert_eq!(f("14,208").value(), 14_208.0);
    assert_eq!(f("1,248,424").value(), 1_248_424.0);
    assert_eq!(f("1,248,424").half_unit(), 0.5);
    // 3.8×10^9 means 3.8e9 ± 0.05e9: the tolerance follows the printed digits.
    assert_eq!((f("3.8×10^9").value(), f("3.8×10^9").half_unit()), (3.8e9, 0.05e9));
    assert_eq!(f("3.8 × 10⁹"), f("3.8×10^9"));
    assert_eq!(f("11.3×10^9").value(), 11.3e9);
    assert_eq!(f("86M").value(), 86e6);
    assert_eq!((f("0.39B").value(), f("0.39B").half_unit()), (0.39e9, 0.005e9));
    assert_eq!(f("300 million").value(), 300e6);
    assert_eq!(
        (f("3.4 million").value(), f("3.4 million").half_unit()),
        (3.4e6, 0.05e6)
    );
    assert_eq!(f("5.3M").value(), 5.3e6);
    assert_eq!(f("1.2×10^12").suffix, Suffix::Pow(12));
    assert_eq!(f("1.2×10^12").to_string(), "1.2×10^12");
    assert_eq!(f("2.7K"), parse_quantity("2.7K").unwrap());
    // `65` under a `params ×10⁶` header.
    let unit = unit_in_header("params ×10⁶").unwrap();
    assert_eq!(with_unit(f("65"), unit).unwrap().value(), 65e6);
    assert!(with_unit(f("65M"), unit).is_err());
}

#[test]
fn figures_refuse_bad_digits_and_unbounded_powers() {
    refused(parse_figure("3.8×10^999"), 4, "a power of ten at most 10^18", "10^999");
    refused(parse_figure("3.8×10^19"), 4, "a power of ten at most 10^18", "10^19");
    refused(parse_figure("14,20"), 3, "a group of three digits after ','", "20");
    refused(parse_figure("14,2080"), 3, "a group of three digits after ','", "2080");
    refused(parse_figure("1234,567"), 0, "at most three digits before a ','", "1234");
    refused(parse_figure("3.8×"), 4, "10^n after ×", "end of cell");
    refused(parse_figure("3.8×10"), 6, "'^' and a power after 10", "end of cell");
    refused(
        parse_figure("2.7T"),
        3,
        "a magnitude (K, M, G, B, million, ×10^n)",
        "'T'",
    );
    // Every plain quantity is a figure.
    for plain in ["2.7K", "1072K", "1.5 G", "900", "0.5M", "3k"] {
        assert_eq!(parse_figure(plain), parse_quantity(plain), "{plain}");
    }
    refused(parse_figure("5 Mx"), 2, "end of cell", "'M'");
    refused(parse_figure("million"), 0, "a number", "'m'");
}

#[test]
fn units_and_headers() {
    assert_eq!(parse_unit("×10⁶"), Ok(Suffix::M));
    assert_eq!(parse_unit("× 10^7"), Ok(Suffix::Pow(7)));
    assert_eq!(parse_unit("10^9"), Ok(Suffix::G));
    assert_eq!(parse_unit("million"), Ok(Suffix::M));
    refused(parse_unit("×10^19"), 1, "a power of ten at most 10^18", "10^19");
    refused(parse_unit("furlongs"), 0, "a unit such as ×10^6", "'f'");
    assert_eq!(unit_in_header("params ×10⁶"), Some(Suffix::M));
    assert_eq!(unit_in_header("FLOPs (×10^9)"), Some(Suffix::G));
    assert_eq!(unit_in_header("params"), None);
    assert_eq!(unit_in_header("max x"), None);
}

#[test]
fn tolerance_follows_the_digits_unless_set() {
    let q = parse_figure("3.8×10^9").unwrap();
    assert!(q.admits(3_849_999_999, Tolerance::Digits));
    assert!(!q.admits(3_860_000_000, Tolerance::Digits));
    assert!(q.admits(3_860_000_000, Tolerance::Relative(0.05)));
    assert!(!q.admits(3_800_000_001, Tolerance::Exact));
    assert!(q.admits(3_800_000_000, Tolerance::Exact));
    let exact = parse_figure("14,208").unwrap();
    assert!(exact.admits(14_208, Tolerance::Exact) && !exact.admits(14_209, Tolerance::Digits));
}

#[test]
fn printed_sizes_with_a_superscript_square() {
    let s = |t: &str| cell(Some(t), parse_printed_size).unwrap();
    let sq = |h, c| PrintedSize {
        h,
        w: h,
        c,
        square: true,
    };
    assert_eq!(s("224² × 3"), sq(224, Some(3)));
    assert_eq!(s("112²×32"), sq(112, Some(32)));
    assert_eq!(s("224^2 x 3"), sq(224, Some(3)));
    assert_eq!(s("7²"), sq(7, None));
    let plain = |h, w, c| PrintedSize { h, w, c, square: false };
    assert_eq!(s("299×299×3"), plain(299, 299, Some(3)));
    assert_eq!(s("1 × 1 × 1280"), plain(1, 1, Some(1280)));
    assert_eq!(s("224 × 224"), plain(224, 224, None));
    refused(parse_printed_size("224"), 3, "× and the width, or ²", "end of cell");
    refused(parse_printed_size("224²×"), 5, "a channel count after ×", "end of cell");
    refused(parse_printed_size("0²×3"), 0, "a positive number", "0");
    refused(parse_printed_size("224²×3×3"), 6, "end of cell", "'×'");
}

#[test]
fn filter_shapes() {
    let f = |t: &str| cell(Some(t), parse_filter).unwrap();
    let conv = |k, inputs, outputs, depthwise| Filter::Conv {
        kernel: (k, k),
        inputs,
        outputs,
        depthwise,
    };
    assert_eq!(f("3 × 3 × 3 × 32"), conv(3, 3, Some(32), false));
    assert_eq!(f("3 × 3 × 32 dw"), conv(3, 32, None, true));
    assert_eq!(f("5×5×48"), conv(5, 48, None, false));
    assert_eq!(f("1 × 1 × 32 × 64"), conv(1, 32, Some(64), false));
    assert_eq!(
        f("1024 × 1000"),
        Filter::Linear {
            inputs: 1024,
            outputs: 1000
        }
    );
    assert_eq!(f("Pool 7 × 7"), Filter::Pool { kernel: (7, 7) });
    refused(parse_filter("3×3×3×32 dw"), 9, "end of cell", "'d'");
    refused(parse_filter("3"), 1, "× and the next dimension", "end of cell");
    refused(parse_filter("Pool"), 4, "a pooling window after 'Pool'", "end of cell");
    refused(parse_filter("3×3×0"), 4, "a positive number", "0");
}

/// DenseNet's Table 1 (Huang et al. 2016): convs whose width the text gives, a windowed
/// global pool, `1000D fully-connected`; each cell reads back from its display.
#[test]
fn densenet_layer_cells() {
    use archcheck::spec::cell::{LayerItem, parse_layers};
    for (text, forms) in [
        ("7 × 7 conv, stride 2", &["conv"][..]),
        ("3 × 3 max pool, stride 2", &["max pool"]),
        ("[ 1 × 1 conv; 3 × 3 conv ] × 6", &["blocks"]),
        ("1 × 1 conv", &["conv"]),
        ("2 × 2 average pool, stride 2", &["average pool"]),
        ("7 × 7 global average pool", &["global average pool"]),
        ("1000D fully-connected, softmax", &["fc", "softmax"]),
    ] {
        let c = parse_layers(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(
            c.items.iter().map(LayerItem::form).collect::<Vec<_>>(),
            forms,
            "{text:?}"
        );
        assert_eq!(parse_layers(&c.to_string()).as_ref(), Ok(&c), "display of {text:?}");
    }
    let LayerItem::Conv { out, kernel, .. } = &parse_layers("1 × 1 conv").unwrap().items[0] else {
        panic!("a conv")
    };
    assert_eq!((*out, *kernel), (None, (1, 1)));
    for (bad, at) in [
        ("1 × 1 convolution", 6),
        ("7 × 7 global pool", 13),
        ("1000D fully", 6),
        ("[1 × 1 conv; 2 × 2 average pool] × 6", 31),
    ] {
        assert_eq!(parse_layers(bad).map_err(|e| e.offset), Err(at), "{bad:?}");
    }
}
