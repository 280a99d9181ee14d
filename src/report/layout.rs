//! Fits the layer table in a width: leaves out the columns a narrow terminal can spare,
//! then shortens the layer names, then wraps what is left, so no line is wider than asked
//! and the box drawing stays whole.

use comfy_table::presets::{ASCII_FULL_CONDENSED, UTF8_FULL_CONDENSED};
use comfy_table::{CellAlignment, ContentArrangement, Table};

/// The table's columns, in order.
pub const COLUMNS: usize = 7;
const LAYER: usize = 0;
const SYMBOLIC: usize = 1;
const MACS: usize = 6;
/// Right-aligned: the counts.
const NUMERIC: [usize; 2] = [5, 6];
/// The columns a narrow table leaves out, first to last.
const SPARED: [usize; 2] = [SYMBOLIC, MACS];
/// The fewest characters a shortened layer name keeps.
const MIN_LAYER: usize = 12;

/// The table as text, at most `width` characters wide where a width is given; and the
/// names of the columns left out to fit.
pub fn render(
    header: &[String; COLUMNS],
    rows: &[[String; COLUMNS]],
    width: Option<usize>,
    ascii: bool,
) -> (String, Vec<String>) {
    let (shown, layer_width) = fit(header, rows, width);
    let table = draw(header, rows, &shown, layer_width, width, ascii);
    let left_out = (0..COLUMNS)
        .filter(|c| !shown.contains(c))
        .map(|c| header[c].clone())
        .collect();
    (table, left_out)
}

/// The columns shown in `width` (the spared ones left out, first to last, while the table
/// is too wide) and the characters the layer names keep.
fn fit(header: &[String; COLUMNS], rows: &[[String; COLUMNS]], width: Option<usize>) -> (Vec<usize>, usize) {
    let len = |s: &str| s.chars().count();
    let natural: Vec<usize> = (0..COLUMNS)
        .map(|c| {
            rows.iter()
                .map(|r| len(&r[c]))
                .chain([len(&header[c])])
                .max()
                .unwrap_or(0)
        })
        .collect();
    // Each column takes its content and a space either side, plus one border after it.
    let total = |shown: &[usize], widths: &[usize]| 1 + shown.iter().map(|&c| widths[c] + 3).sum::<usize>();
    let mut shown: Vec<usize> = (0..COLUMNS).collect();
    let Some(w) = width else {
        return (shown, natural[LAYER]);
    };
    // The printed rows' own labels (not indented) stay whole while a column can go.
    let row_labels = rows
        .iter()
        .filter(|r| !r[LAYER].starts_with(' '))
        .map(|r| len(&r[LAYER]))
        .max()
        .unwrap_or(0);
    for (i, spare) in SPARED.into_iter().enumerate() {
        let over = total(&shown, &natural).saturating_sub(w);
        // A few characters come off the nested layer names rather than a whole column.
        if over == 0 || (i > 0 && natural[LAYER].saturating_sub(over) >= row_labels) {
            break;
        }
        shown.retain(|&c| c != spare);
    }
    let over = total(&shown, &natural).saturating_sub(w);
    let layer_width = natural[LAYER].saturating_sub(over).max(MIN_LAYER.min(natural[LAYER]));
    (shown, layer_width)
}

/// The `shown` columns drawn as a table (comfy-table), the layer names cut to `layer_width`.
fn draw(
    header: &[String; COLUMNS],
    rows: &[[String; COLUMNS]],
    shown: &[usize],
    layer_width: usize,
    width: Option<usize>,
    ascii: bool,
) -> String {
    let mut table = Table::new();
    table.load_preset(if ascii {
        ASCII_FULL_CONDENSED
    } else {
        UTF8_FULL_CONDENSED
    });
    match width {
        // What is still too wide after the steps above wraps inside its cells.
        Some(w) => table
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(u16::try_from(w).unwrap_or(u16::MAX)),
        None => table.set_content_arrangement(ContentArrangement::Disabled),
    };
    let pick = |r: &[String; COLUMNS]| -> Vec<String> {
        shown
            .iter()
            .map(|&c| {
                if c == LAYER {
                    shorten(&r[c], layer_width)
                } else {
                    r[c].clone()
                }
            })
            .collect()
    };
    table.set_header(pick(header));
    for r in rows {
        table.add_row(pick(r));
    }
    for (i, c) in shown.iter().enumerate() {
        if NUMERIC.contains(c)
            && let Some(col) = table.column_mut(i)
        {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    table.to_string()
}

/// `s` in at most `n` characters, ending in `…` where it was cut.
fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: &str) -> [String; COLUMNS] {
        [
            label,
            "N×64×ceil(H/2)×ceil(W/2)",
            "112×112×64",
            "112×112×64",
            "ok",
            "9,536",
            "118,013,952",
        ]
        .map(String::from)
    }

    #[test]
    fn no_line_is_wider_than_asked() {
        let header = [
            "layer",
            "output (symbolic)",
            "at 224×224",
            "printed",
            "status",
            "params",
            "MACs",
        ]
        .map(String::from);
        let rows = vec![row("convolution"), row("    conv2: conv 3×3/1 same with a long name")];
        let (full, left_out) = render(&header, &rows, None, false);
        assert!(left_out.is_empty());
        let natural = full.lines().map(|l| l.chars().count()).max().unwrap();
        for w in [40, 60, 80, natural] {
            let (text, _) = render(&header, &rows, Some(w), false);
            for l in text.lines() {
                assert!(l.chars().count() <= w, "{w}: {l}");
            }
        }
        let (narrow, left_out) = render(&header, &rows, Some(70), false);
        assert_eq!(left_out, ["output (symbolic)", "MACs"], "{narrow}");
        assert!(
            narrow.contains("│     conv2: conv") && narrow.contains("… ┆"),
            "{narrow}"
        );
    }
}
