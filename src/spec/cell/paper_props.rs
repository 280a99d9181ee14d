//! Properties of the productions for cells as other papers print them: every value's
//! canonical display parses back to the same value, and no text makes a parser panic or
//! report an offset past the cell.

use proptest::prelude::*;

use super::*;

fn dim() -> impl Strategy<Value = u64> {
    prop_oneof![1..=512u64, 1..=MAX_NUMBER]
}

fn printed_size() -> impl Strategy<Value = PrintedSize> {
    (dim(), dim(), proptest::option::of(dim()), any::<bool>()).prop_map(|(h, w, c, square)| PrintedSize {
        h,
        w: if square { h } else { w },
        c,
        square,
    })
}

fn filter() -> impl Strategy<Value = Filter> {
    prop_oneof![
        (dim(), dim(), dim(), proptest::option::of(dim()), any::<bool>()).prop_map(|(a, b, inputs, outputs, dw)| {
            Filter::Conv {
                kernel: (a, b),
                inputs,
                outputs: if dw { None } else { outputs },
                depthwise: dw,
            }
        }),
        (dim(), dim()).prop_map(|(inputs, outputs)| Filter::Linear { inputs, outputs }),
        (dim(), dim()).prop_map(|(a, b)| Filter::Pool { kernel: (a, b) }),
    ]
}

fn figure() -> impl Strategy<Value = Quantity> {
    let suffix = (0..=MAX_POWER).prop_map(|n| match n {
        0 => Suffix::None,
        3 => Suffix::K,
        6 => Suffix::M,
        9 => Suffix::G,
        n => Suffix::Pow(n),
    });
    let mantissa = prop_oneof![0..10_000u64, 0..10_000_000_000_000_000_000u64];
    (mantissa, 0..=MAX_DECIMALS, suffix).prop_map(|(mantissa, decimals, suffix)| Quantity {
        mantissa,
        decimals,
        suffix,
    })
}

fn row_type() -> impl Strategy<Value = RowType> {
    let word = "[A-Za-z][A-Za-z0-9_-]{0,6}";
    let words = proptest::collection::vec(word, 1..4).prop_map(|w| w.join(" & "));
    let arg = proptest::option::of(prop_oneof![
        "[A-Za-z0-9_-]{1,6}".prop_map(TypeArg::Label),
        (0..=10_000u64).prop_map(|hundredths| TypeArg::Percent { hundredths }),
        "[A-Za-z][A-Za-z0-9 ×,.]{0,10}[a-z]".prop_map(TypeArg::Text),
    ]);
    let kernel = proptest::option::of((dim(), dim()));
    (
        words,
        any::<bool>(),
        arg,
        proptest::option::of(dim()),
        kernel,
        proptest::option::of(dim()),
    )
        .prop_map(|(words, starred, arg, repeat, kernel, stride)| {
            // A free text that reads as a label is one.
            let arg = match arg {
                Some(TypeArg::Text(t)) if t.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_') => {
                    Some(TypeArg::Label(t))
                }
                other => other,
            };
            RowType {
                words,
                starred,
                arg,
                repeat,
                kernel,
                stride,
            }
        })
}

fn cellish() -> impl Strategy<Value = String> {
    "[0-9xX×/ .,%()*&²⁶⁹^+KMGBkmilonpsdwP-]{0,18}"
}

proptest! {
    #[test]
    fn printed_size_round_trips(s in printed_size()) {
        prop_assert_eq!(parse_printed_size(&s.to_string()), Ok(s));
    }

    #[test]
    fn filter_round_trips(f in filter()) {
        prop_assert_eq!(parse_filter(&f.to_string()), Ok(f));
    }

    #[test]
    fn figure_round_trips(q in figure()) {
        prop_assert_eq!(parse_figure(&q.to_string()), Ok(q));
        prop_assert!(q.value().is_finite());
    }

    #[test]
    fn printed_row_type_round_trips(r in row_type()) {
        prop_assert_eq!(parse_row_type(&r.to_string()), Ok(r));
    }

    #[test]
    fn paper_cells_never_panic_and_stay_in_the_cell(s in cellish()) {
        let chars = s.chars().count();
        for e in [
            parse_row_type(&s).err(),
            parse_figure(&s).err(),
            parse_printed_size(&s).err(),
            parse_filter(&s).err(),
            parse_unit(&s).err(),
        ].into_iter().flatten() {
            prop_assert!(e.offset <= chars, "{:?} in {:?}", e, s);
        }
        if let Ok(q) = parse_figure(&s) {
            prop_assert!(q.value().is_finite());
        }
        let _ = unit_in_header(&s);
    }
}
