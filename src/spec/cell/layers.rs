//! Cells that print layers, as the architecture columns of ResNet's Table 1 do:
//!
//! | cell | value |
//! |---|---|
//! | `7×7, 64, stride 2` | a conv: kernel, output channels, stride |
//! | `7 × 7 conv, stride 2`, `1 × 1 conv` | a conv whose width the text gives (DenseNet's Table 1) |
//! | `3×3 max pool, stride 2` | a windowed pool |
//! | `average pool`, `7 × 7 global average pool` | a global pool (its window printed or not) |
//! | `1000-d fc`, `1000D fully-connected` | a fully connected layer |
//! | `softmax` | a softmax |
//! | `[1×1, 64; 3×3, 64; 1×1, 256] ×3`, `[1 × 1 conv; 3 × 3 conv] × 6` | a block of convs repeated: the YAML spelling of a tall bracket, one printed line per `;`; the count as `×3`, `× 3` or `3×` before the bracket |
//! | `conv3-64`, `FC-4096`, `LRN`, `maxpool` | any other item: a type cell's form (`type_ext`), built by the template its words name |
//!
//! A cell is one of these or several separated by `, ` (`average pool, 1000-d fc, softmax`),
//! on one printed line or several separated by `<br>` (`conv3-64<br>LRN`, VGG's Table 1).
//! Also here: an output size without channels (`112×112`, `56 × 56`).

use std::fmt;

use nom::{
    Parser,
    branch::alt,
    bytes::complete::{tag_no_case, take_while1},
    character::complete::{char, satisfy},
    combinator::{cut, not, opt, value},
    sequence::preceded,
};

use super::pool_proj::pool_word;
use super::*;

/// One layer a cell prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerItem {
    /// A conv; `out` is `None` where the cell prints no width (`1 × 1 conv`).
    Conv {
        kernel: (u64, u64),
        out: Option<u64>,
        stride: Option<u64>,
    },
    /// A pool; without a window (`average pool`) or with `global` (`7 × 7 global average
    /// pool`) it is global.
    Pool {
        kind: PoolKind,
        kernel: Option<(u64, u64)>,
        stride: Option<u64>,
        global: bool,
    },
    Fc {
        out: u64,
    },
    Softmax,
    /// Bracketed lines repeated `repeat` times.
    Stack {
        lines: Vec<LayerItem>,
        repeat: u64,
    },
    /// Any other item, read as a type cell reads its text (`conv3-64`, `FC-4096`, `LRN`):
    /// its words pick the template, what they carry are its fields.
    Typed(RowType),
}

impl LayerItem {
    /// The name of the item's form, which names the template that builds it; a typed item's
    /// template is picked by its words, as a type cell's is ([`RowType::template_key`]).
    pub fn form(&self) -> &'static str {
        match self {
            LayerItem::Typed(_) => "layer",
            LayerItem::Conv { .. } => "conv",
            LayerItem::Pool {
                kind: PoolKind::Max,
                kernel: Some(_),
                global: false,
                ..
            } => "max pool",
            LayerItem::Pool {
                kind: PoolKind::Avg,
                kernel: Some(_),
                global: false,
                ..
            } => "average pool",
            LayerItem::Pool {
                kind: PoolKind::Max, ..
            } => "global max pool",
            LayerItem::Pool {
                kind: PoolKind::Avg, ..
            } => "global average pool",
            LayerItem::Fc { .. } => "fc",
            LayerItem::Softmax => "softmax",
            LayerItem::Stack { .. } => "blocks",
        }
    }

    /// The forms a cell can have, for messages.
    pub const FORMS: &'static str = "conv, max pool, average pool, global max pool, global average pool, fc, softmax, blocks, or a type cell's words";

    /// The template that builds the item: its form's name, or for a typed item its words
    /// (or their stem) as `exists` has them.
    pub fn template_key(&self, exists: impl Fn(&str) -> bool) -> std::borrow::Cow<'_, str> {
        match self {
            LayerItem::Typed(t) => t.template_key(exists),
            _ => std::borrow::Cow::Borrowed(self.form()),
        }
    }

    /// The fields a template can read of an item (`model.out`); `outN`, `kernelN` and
    /// `strideN` read line N (from 1) of a bracket; a typed item's `label` and `fraction`
    /// are its parenthesised argument (`(3a)`, `(40%)`).
    pub const FIELDS: &'static [&'static str] = &[
        "kernel", "out", "stride", "pool", "repeat", "lines", "label", "fraction",
    ];
}

/// A cell of layers: one item or several, as printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerCell {
    pub items: Vec<LayerItem>,
    /// The items that start a printed line after the first (`<br>` before them).
    pub line_starts: Vec<usize>,
}

impl fmt::Display for LayerItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stride = |f: &mut fmt::Formatter<'_>, s: &Option<u64>| match s {
            Some(s) => write!(f, ", stride {s}"),
            None => Ok(()),
        };
        match self {
            LayerItem::Conv { kernel, out, stride: s } => {
                match out {
                    Some(out) => write!(f, "{}×{}, {out}", kernel.0, kernel.1)?,
                    None => write!(f, "{}×{} conv", kernel.0, kernel.1)?,
                }
                stride(f, s)
            }
            LayerItem::Pool {
                kind,
                kernel,
                stride: s,
                global,
            } => {
                // A pool without a window is global whatever it prints; one with a window
                // says so.
                let kind = match (kind, *global && kernel.is_some()) {
                    (PoolKind::Max, false) => "max",
                    (PoolKind::Avg, false) => "average",
                    (PoolKind::Max, true) => "global max",
                    (PoolKind::Avg, true) => "global average",
                };
                match kernel {
                    Some(k) => write!(f, "{}×{} {kind} pool", k.0, k.1)?,
                    None => write!(f, "{kind} pool")?,
                }
                stride(f, s)
            }
            LayerItem::Fc { out } => write!(f, "{out}-d fc"),
            LayerItem::Softmax => f.write_str("softmax"),
            LayerItem::Stack { lines, repeat } => {
                f.write_str("[")?;
                for (i, l) in lines.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{l}")?;
                }
                write!(f, "] ×{repeat}")
            }
            LayerItem::Typed(t) => write!(f, "{t}"),
        }
    }
}

impl fmt::Display for LayerCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, it) in self.items.iter().enumerate() {
            if self.line_starts.contains(&i) {
                f.write_str(LINE_BREAK)?;
            } else if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{it}")?;
        }
        Ok(())
    }
}

/// What separates two lines printed inside one cell: the transcription's `<br>`.
pub const LINE_BREAK: &str = "<br>";

/// Parses a cell of layers: `7×7, 64, stride 2`, `3×3 max pool, stride 2`,
/// `[3×3, 64; 3×3, 64] ×2`, `average pool, 1000-d fc, softmax`, `conv3-64<br>LRN`.
pub fn parse_layers(s: &str) -> Result<LayerCell, CellError> {
    run_cell(s, layer_cell, "', ' or '<br>' and another layer, or end of cell")
}

/// Parses an output size without channels: `112×112`, `56 × 56`.
pub fn parse_size_hw(s: &str) -> Result<(u64, u64), CellError> {
    run_cell(s, size_hw, END)
}

fn size_hw(i: &str) -> Res<'_, (u64, u64)> {
    let (i, h) = positive(i, "an output height")?;
    let (i, w) = times_dim(i, "× and the output width")?;
    Ok((i, (h, w)))
}

/// `, stride 2` after a conv or pool.
fn stride_suffix(i: &str) -> Res<'_, Option<u64>> {
    let (after, _) = match (ws, char(','), ws, tag_no_case("stride")).parse(i) {
        Ok(r) => r,
        Err(_) => return Ok((i, None)),
    };
    let (after, _) = ws(after)?;
    let (after, s) = cut(|i| positive(i, "a stride")).parse(after)?;
    Ok((after, Some(s)))
}

/// `3×3 max pool`, `7×7 global average pool`, `3×3, 64` or `1×1 conv` after the kernel: a
/// pool or a conv.
fn windowed(i: &str) -> Res<'_, LayerItem> {
    let (i, h) = positive(i, "a kernel size, a pool, fc, softmax or '['")?;
    let (i, w) = times_dim(i, "× and the kernel width")?;
    let kernel = (h, w);
    // A pool: the kind and `pool` after the window, `global` before the kind if printed.
    let global = preceded(
        take_while1(char::is_whitespace),
        (tag_no_case::<_, _, PErr>("global"), take_while1(char::is_whitespace)),
    )
    .parse(i);
    let pool = match global {
        Ok((after, _)) => {
            let (after, kind) = cut(expect("a pool kind, 'max' or 'average'", pool_word)).parse(after)?;
            Some((after, (true, kind)))
        }
        Err(_) => preceded(take_while1(char::is_whitespace), pool_word)
            .parse(i)
            .ok()
            .map(|(after, kind)| (after, (false, kind))),
    };
    if let Some((after, (global, kind))) = pool {
        let (after, _) = (ws, cut(expect("'pool'", tag_no_case("pool")))).parse(after)?;
        let (after, stride) = stride_suffix(after)?;
        return Ok((
            after,
            LayerItem::Pool {
                kind,
                kernel: Some(kernel),
                stride,
                global,
            },
        ));
    }
    // A conv whose width the cell leaves to the text: `1 × 1 conv`.
    if let Ok((after, _)) = preceded(take_while1(char::is_whitespace), tag_no_case::<_, _, PErr>("conv")).parse(i)
        && !after.starts_with(|c: char| c.is_alphanumeric())
    {
        let (after, stride) = stride_suffix(after)?;
        return Ok((
            after,
            LayerItem::Conv {
                kernel,
                out: None,
                stride,
            },
        ));
    }
    let (i, _) = (
        ws,
        cut(expect("',' and the output channels, 'conv' or a pool kind", char(','))),
    )
        .parse(i)?;
    let (i, _) = ws(i)?;
    let (i, out) = cut(|i| positive(i, "the output channels")).parse(i)?;
    let (i, stride) = stride_suffix(i)?;
    Ok((
        i,
        LayerItem::Conv {
            kernel,
            out: Some(out),
            stride,
        },
    ))
}

/// `average pool`, `global average pool`: a global pool.
fn global_pool(i: &str) -> Res<'_, LayerItem> {
    let (i, _) = opt((tag_no_case("global"), take_while1(char::is_whitespace))).parse(i)?;
    let (i, kind) = pool_word(i)?;
    // Not committed after `max `: `max & pool` or `average pooling` may be a layer type
    // (the last alternative); the word must end at `pool`.
    let (i, _) = (
        take_while1(char::is_whitespace),
        expect("'pool'", tag_no_case("pool")),
        not(satisfy(char::is_alphanumeric)),
    )
        .parse(i)?;
    Ok((
        i,
        LayerItem::Pool {
            kind,
            kernel: None,
            stride: None,
            global: true,
        },
    ))
}

/// `1000-d fc`, `1000D fully-connected` (also `fully connected`).
fn fc(i: &str) -> Res<'_, LayerItem> {
    let (i, out) = positive(i, "a width")?;
    let (i, _) = alt((tag_no_case("-d"), tag_no_case("d"))).parse(i)?;
    let name = alt((
        tag_no_case("fc"),
        tag_no_case("fully-connected"),
        tag_no_case("fully connected"),
    ));
    let (i, _) = (ws, cut(expect("'fc' or 'fully-connected'", name))).parse(i)?;
    Ok((i, LayerItem::Fc { out }))
}

fn softmax(i: &str) -> Res<'_, LayerItem> {
    value(LayerItem::Softmax, tag_no_case("softmax")).parse(i)
}

/// A count before or after a bracket: `×3`, `× 6`, `3×`.
fn times_after(i: &str) -> Res<'_, u64> {
    let (i, _) = ws(i)?;
    let (i, _) = sep(i).map_err(|_| failure(i, "× and the number of blocks after ']'", None))?;
    let (i, _) = ws(i)?;
    cut(|i| positive(i, "the number of blocks after ×")).parse(i)
}

/// `[1×1, 64; 3×3, 64; 1×1, 256] ×3`, or `3× [...]`.
fn stack(i: &str) -> Res<'_, LayerItem> {
    let (i, before) = opt((|i| positive(i, "a count"), ws, sep, ws)).parse(i)?;
    let (i, _) = char('[').parse(i)?;
    let mut lines = Vec::new();
    let mut i = i;
    loop {
        let (rest, _) = ws(i)?;
        let (rest, line) = cut(expect("a conv line such as '3×3, 64' or '1×1 conv'", windowed)).parse(rest)?;
        if !matches!(line, LayerItem::Conv { .. }) {
            return Err(failure(
                rest,
                "a conv line such as '3×3, 64' or '1×1 conv' in a bracket",
                Some(line.to_string()),
            ));
        }
        lines.push(line);
        let (rest, _) = ws(rest)?;
        if let Ok((rest, _)) = char::<_, PErr>(';').parse(rest) {
            i = rest;
            continue;
        }
        let (rest, _) = cut(expect("';' and another line, or ']'", char(']'))).parse(rest)?;
        i = rest;
        break;
    }
    let (i, repeat) = match before {
        Some((n, ..)) => (i, n),
        None => times_after(i)?,
    };
    Ok((i, LayerItem::Stack { lines, repeat }))
}

/// Any other item, as a type cell reads it: `conv3-64`, `FC-4096`, `LRN`, `soft-max`,
/// `input (224 × 224 RGB image)`. Tried last, so that ResNet's forms keep their meaning.
fn typed(i: &str) -> Res<'_, LayerItem> {
    let (i, t) = super::type_ext::row_type_printed(i)?;
    Ok((i, LayerItem::Typed(t)))
}

fn item(i: &str) -> Res<'_, LayerItem> {
    expect(
        "a layer: 'k×k, channels', 'k×k conv', 'k×k max pool', 'average pool', 'N-d fc', 'softmax', '[…] ×N' or a layer type such as 'conv3-64'",
        alt((stack, fc, windowed, global_pool, softmax, typed)),
    )(i)
}

/// Between two items: `, ` on one printed line, or `<br>` between lines.
fn item_separator(i: &str) -> Res<'_, bool> {
    alt((
        value(false, (ws, char(','), ws)),
        value(true, (ws, tag_no_case(LINE_BREAK), ws)),
    ))
    .parse(i)
}

fn layer_cell(i: &str) -> Res<'_, LayerCell> {
    let (mut i, first) = item(i)?;
    let mut items = vec![first];
    let mut line_starts = Vec::new();
    while let Ok((rest, new_line)) = item_separator(i) {
        let (rest, next) = cut(item).parse(rest)?;
        if new_line {
            line_starts.push(items.len());
        }
        items.push(next);
        i = rest;
    }
    Ok((i, LayerCell { items, line_starts }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(k: u64, out: u64, stride: Option<u64>) -> LayerItem {
        LayerItem::Conv {
            kernel: (k, k),
            out: Some(out),
            stride,
        }
    }

    fn pool(kind: PoolKind, kernel: Option<(u64, u64)>, stride: Option<u64>, global: bool) -> LayerItem {
        LayerItem::Pool {
            kind,
            kernel,
            stride,
            global,
        }
    }

    fn bare_conv(k: u64, stride: Option<u64>) -> LayerItem {
        LayerItem::Conv {
            kernel: (k, k),
            out: None,
            stride,
        }
    }

    #[test]
    fn accepts_the_resnet_cells() {
        assert_eq!(
            parse_layers("7×7, 64, stride 2").unwrap().items,
            vec![conv(7, 64, Some(2))]
        );
        assert_eq!(
            parse_layers("3×3 max pool, stride 2").unwrap().items,
            vec![pool(PoolKind::Max, Some((3, 3)), Some(2), false)]
        );
        assert_eq!(
            parse_layers("[1×1, 64; 3×3, 64; 1×1, 256] ×3").unwrap().items,
            vec![LayerItem::Stack {
                lines: vec![conv(1, 64, None), conv(3, 64, None), conv(1, 256, None)],
                repeat: 3
            }]
        );
        assert_eq!(
            parse_layers("[ 3x3, 64 ;3X3,64 ] × 6").unwrap().items,
            vec![LayerItem::Stack {
                lines: vec![conv(3, 64, None), conv(3, 64, None)],
                repeat: 6
            }]
        );
        assert_eq!(
            parse_layers("5× [3×3, 64]").unwrap().items,
            vec![LayerItem::Stack {
                lines: vec![conv(3, 64, None)],
                repeat: 5
            }]
        );
        assert_eq!(
            parse_layers("average pool, 1000-d fc, softmax").unwrap().items,
            vec![
                pool(PoolKind::Avg, None, None, true),
                LayerItem::Fc { out: 1000 },
                LayerItem::Softmax
            ]
        );
        assert_eq!(parse_size_hw("112×112"), Ok((112, 112)));
        assert_eq!(parse_size_hw(" 56 × 56 "), Ok((56, 56)));
    }

    #[test]
    fn accepts_the_densenet_cells() {
        assert_eq!(
            parse_layers("7 × 7 conv, stride 2").unwrap().items,
            vec![bare_conv(7, Some(2))]
        );
        assert_eq!(parse_layers("1 × 1 conv").unwrap().items, vec![bare_conv(1, None)]);
        assert_eq!(
            parse_layers("2 × 2 average pool, stride 2").unwrap().items,
            vec![pool(PoolKind::Avg, Some((2, 2)), Some(2), false)]
        );
        assert_eq!(
            parse_layers("[ 1 × 1 conv; 3 × 3 conv ] × 6").unwrap().items,
            vec![LayerItem::Stack {
                lines: vec![bare_conv(1, None), bare_conv(3, None)],
                repeat: 6
            }]
        );
        let global = parse_layers("7 × 7 global average pool").unwrap().items;
        assert_eq!(global, vec![pool(PoolKind::Avg, Some((7, 7)), None, true)]);
        assert_eq!(global[0].form(), "global average pool");
        assert_eq!(
            parse_layers("global max pool").unwrap().items[0].form(),
            "global max pool"
        );
        assert_eq!(
            parse_layers("1000D fully-connected, softmax").unwrap().items,
            vec![LayerItem::Fc { out: 1000 }, LayerItem::Softmax]
        );
        assert_eq!(
            parse_layers("10-d fully connected").unwrap().items,
            vec![LayerItem::Fc { out: 10 }]
        );
    }

    #[test]
    fn display_parses_back() {
        for s in [
            "7×7, 64, stride 2",
            "3×3 max pool, stride 2",
            "[1×1, 64; 3×3, 64; 1×1, 256] ×3",
            "average pool, 1000-d fc, softmax",
            "7×7 conv, stride 2",
            "[1×1 conv; 3×3 conv] ×6",
            "7×7 global average pool",
        ] {
            let c = parse_layers(s).unwrap();
            assert_eq!(c.to_string(), s);
            assert_eq!(parse_layers(&c.to_string()).unwrap(), c);
        }
    }

    /// Found by the cell_grammar fuzz target: `max&p` is a layer type, and so must its
    /// display `max & p` be, not a pool missing its word; `average pooling` too.
    #[test]
    fn a_pool_word_that_does_not_follow_is_a_layer_type() {
        for s in ["max&p", "max & p", "average pooling", "max\u{b}&\u{b}p"] {
            let c = parse_layers(s).unwrap_or_else(|e| panic!("{s:?}: {e:?}"));
            assert!(matches!(c.items[..], [LayerItem::Typed(_)]), "{s:?}: {c:?}");
            assert_eq!(parse_layers(&c.to_string()).unwrap(), c, "{s:?}");
        }
        assert!(matches!(
            parse_layers("max pool").unwrap().items[..],
            [LayerItem::Pool { global: true, .. }]
        ));
    }

    fn typed(s: &str) -> LayerItem {
        LayerItem::Typed(super::super::parse_row_type(s).unwrap())
    }

    #[test]
    fn accepts_type_cell_forms_on_several_printed_lines() {
        let c = parse_layers("conv3-64<br>LRN").unwrap();
        assert_eq!(c.items, vec![typed("conv3-64"), typed("LRN")]);
        assert_eq!(c.line_starts, vec![1]);
        let c = parse_layers("conv3-256 <BR> conv3-256<br>conv1-256").unwrap();
        assert_eq!(c.items.len(), 3);
        assert_eq!(c.line_starts, vec![1, 2]);
        assert_eq!(c.to_string(), "conv3-256<br>conv3-256<br>conv1-256");
        assert_eq!(
            parse_layers("input (224 × 224 RGB image)").unwrap().items,
            vec![typed("input (224 × 224 RGB image)")]
        );
        // ResNet's forms keep their meaning; a typed item mixes with them.
        let c = parse_layers("3×3, 64<br>FC-4096, soft-max").unwrap();
        assert_eq!(c.items, vec![conv(3, 64, None), typed("FC-4096"), typed("soft-max")]);
        assert_eq!(c.line_starts, vec![1]);
        assert_eq!(parse_layers("softmax").unwrap().items, vec![LayerItem::Softmax]);
        for s in [
            "conv3-64<br>LRN",
            "maxpool",
            "3×3, 64<br>FC-4096, soft-max",
            "Conv dw / s2<br>MBConv6, k3×3",
        ] {
            let c = parse_layers(s).unwrap();
            assert_eq!(parse_layers(&c.to_string()).unwrap(), c, "{s}");
        }
        let mut key = typed("conv3-64").template_key(|k| k == "conv").into_owned();
        assert_eq!(key, "conv");
        key = conv(3, 64, None).template_key(|_| true).into_owned();
        assert_eq!(key, "conv");
    }

    #[test]
    fn rejects_a_line_without_a_layer() {
        assert_eq!(fails("conv3-64<br>").0, 12);
        assert!(
            fails("conv3-64<br>").1.contains("a layer"),
            "{:?}",
            fails("conv3-64<br>")
        );
        assert_eq!(fails("conv3-64<br><br>LRN").0, 12);
        assert_eq!(fails("conv3-64 <br LRN").0, 9);
        assert!(fails("conv3-64 <br LRN").1.contains("'<br>'"));
        assert_eq!(fails("LRN (").0, 5);
        assert_eq!(fails("conv3-64, #").0, 10);
    }

    fn fails(s: &str) -> (usize, String) {
        let e = parse_layers(s).unwrap_err();
        (e.offset, e.expected)
    }

    #[test]
    fn rejects_with_the_place_and_what_was_expected() {
        assert_eq!(fails("7×7 64").0, 4);
        assert!(fails("7×7 64").1.contains("','"), "{:?}", fails("7×7 64"));
        assert_eq!(fails("[3×3, 64; 3×3, 64]").0, 18);
        assert!(fails("[3×3, 64; 3×3, 64]").1.contains("number of blocks"));
        assert_eq!(fails("[3×3, 64 3×3, 64] ×2").0, 9);
        assert_eq!(fails("[3×3 max pool] ×2").0, 13);
        assert_eq!(fails("3×3, 0").0, 5);
        assert_eq!(fails("3×3 max pool, stride 0").0, 21);
        assert_eq!(fails("average pool,").0, 13);
        // Words are a typed item now (`fully connected` names a template); a sign is not.
        assert_eq!(fails("#fc").0, 0);
        assert_eq!(fails("1000-d").0, 6);
        // DenseNet's forms, gone wrong.
        assert_eq!(fails("1 × 1 convolution").0, 6);
        assert_eq!(fails("1 × 1 conv, stride 0").0, 19);
        assert_eq!(fails("7 × 7 global pool").0, 13);
        assert_eq!(fails("7 × 7 global average").0, 20);
        assert!(fails("7 × 7 global average").1.contains("'pool'"));
        assert_eq!(fails("1000D fully").0, 6);
        assert!(fails("1000D fully").1.contains("fully-connected"));
        assert_eq!(fails("[1 × 1 conv; 3 × 3 max pool] × 6").0, 27);
        assert!(parse_size_hw("112").is_err());
        assert!(parse_size_hw("112×0").is_err());
        assert!(parse_size_hw("112×112×64").is_err());
    }
}
