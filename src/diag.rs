//! Diagnostics: one finding about the table, with a stable code, the row and column as
//! printed, the printed and derived values, and the arithmetic that shows it.

use serde::Serialize;

use crate::source::Loc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// Stable codes; documented in docs/diagnostics.md. E0xx: the input cannot be used (exit 2);
/// E1xx-N3xx: findings about the table; E4xx: `build --verify`.
pub mod code {
    /// The spec cannot be read: missing, not a regular file, not UTF-8.
    pub const UNREADABLE: &str = "E001";
    /// The YAML is malformed: syntax, a duplicate key, a character YAML forbids.
    pub const YAML: &str = "E002";
    /// A field the format does not have.
    pub const UNKNOWN_FIELD: &str = "E003";
    /// A field of the wrong type, or a required field missing.
    pub const STRUCTURE: &str = "E004";
    /// A cell that does not parse with its column's grammar.
    pub const CELL: &str = "E005";
    /// A template expression (`{patch.stride or 1}`) that does not parse.
    pub const EXPRESSION: &str = "E006";
    /// A name that refers to nothing: row type, column, variant, variable, row, template.
    pub const UNKNOWN_NAME: &str = "E007";
    /// A value out of its range or inconsistent with the rest of the spec.
    pub const INVALID_VALUE: &str = "E008";
    /// A layer that cannot apply to its input (the derivation stops there).
    pub const LAYER: &str = "E009";
    /// An input limit passed: file size, graph nodes, nesting, alias expansion, 64 bits.
    pub const LIMIT: &str = "E010";
    /// The printed output channels differ from the derived ones.
    pub const CHANNELS: &str = "E101";
    /// The printed output H×W differs from the derived one.
    pub const SPATIAL: &str = "E102";
    /// The printed depth differs from the derived weight-layer depth.
    pub const DEPTH: &str = "E103";
    /// A row's printed output does not follow from the previous row's printed output.
    pub const DISCONTINUITY: &str = "E104";
    /// A stride that the table both prints and contradicts: two readings.
    pub const AMBIGUOUS_STRIDE: &str = "E105";
    /// Concatenated branches disagree in spatial size.
    pub const CONCAT: &str = "E106";
    /// A row's printed input size differs from what the previous row derives.
    pub const INPUT_SIZE: &str = "E107";
    /// A printed filter shape differs from the derived weight shape of the row's layer.
    pub const FILTER_SHAPE: &str = "E108";
    /// A row left unpadded where the printed sizes keep its grid, which makes a later window
    /// impossible: two readings.
    pub const UNMARKED_PADDING: &str = "E109";
    /// A total the paper prints (a total row, a figure in its text) beyond its tolerance.
    pub const TOTAL: &str = "W203";
    /// A printed parameter figure beyond the tolerance.
    pub const PARAMS: &str = "W201";
    /// A printed ops figure beyond the tolerance.
    pub const OPS: &str = "W202";
    /// `build --verify`: a layer's libtorch output shape differs from derive's.
    pub const TORCH_SHAPE: &str = "E401";
    /// `build --verify`: libtorch's parameter or buffer count differs from derive's.
    pub const TORCH_COUNT: &str = "E402";
    /// `compare`: a checkpoint tensor's shape differs from the derived one.
    pub const WEIGHT_SHAPE: &str = "E501";
    /// `compare`: a derived module has no tensors in the checkpoint.
    pub const WEIGHT_MISSING: &str = "E502";
    /// `compare`: the checkpoint holds tensors the table does not derive.
    pub const WEIGHT_UNEXPECTED: &str = "E503";
    /// `compare`: the checkpoint's names differ from the variant's; paired by structure.
    pub const WEIGHT_BY_STRUCTURE: &str = "N504";
    /// A variant corrects a printed cell.
    pub const CORRECTED: &str = "N301";
    /// Branches agree only for some input sizes (and do at the reference).
    pub const CONCAT_CONDITION: &str = "N302";
    /// The derivation runs at an input size other than the printed one: H×W cells and ops
    /// figures are not compared.
    pub const NOT_COMPARED: &str = "N303";
    /// A printed output that differs from the derived one only because the previous row's
    /// printed output does: the first row of the chain is the error.
    pub const INHERITED: &str = "N304";

    /// Every code with a short description (SARIF rules, docs/diagnostics.md).
    pub const ALL: &[(&str, &str)] = &[
        (UNREADABLE, "the spec cannot be read"),
        (YAML, "the YAML is malformed"),
        (UNKNOWN_FIELD, "a field the format does not have"),
        (STRUCTURE, "a field of the wrong type, or a required field missing"),
        (CELL, "a cell does not parse with its column's grammar"),
        (EXPRESSION, "a template expression does not parse"),
        (UNKNOWN_NAME, "a name that refers to nothing"),
        (INVALID_VALUE, "a value out of range or inconsistent with the spec"),
        (LAYER, "a layer cannot apply to its input"),
        (LIMIT, "an input limit passed"),
        (CHANNELS, "printed output channels differ from the derived ones"),
        (SPATIAL, "printed output size differs from the derived one"),
        (DEPTH, "printed depth differs from the derived depth"),
        (
            DISCONTINUITY,
            "a row's printed output does not follow from the previous row's",
        ),
        (AMBIGUOUS_STRIDE, "a printed stride that the printed size contradicts"),
        (CONCAT, "concatenated branches disagree in spatial size"),
        (PARAMS, "a printed parameter figure beyond the tolerance"),
        (OPS, "a printed ops figure beyond the tolerance"),
        (CORRECTED, "a variant corrects a printed cell"),
        (CONCAT_CONDITION, "branches agree only for some input sizes"),
        (NOT_COMPARED, "cells not compared at another input size"),
        (INHERITED, "a mismatch inherited from the previous row's printed output"),
        (TORCH_SHAPE, "a libtorch output shape differs from derive's"),
        (
            TORCH_COUNT,
            "libtorch's parameter or buffer count differs from derive's",
        ),
        (WEIGHT_SHAPE, "a checkpoint tensor's shape differs from the derived one"),
        (WEIGHT_MISSING, "a derived module has no tensors in the checkpoint"),
        (
            WEIGHT_UNEXPECTED,
            "the checkpoint holds tensors the table does not derive",
        ),
        (
            WEIGHT_BY_STRUCTURE,
            "checkpoint tensors paired by structure, not by name",
        ),
    ];

    /// The short description of `code`, if it is one of [`ALL`].
    pub fn describe(code: &str) -> Option<&'static str> {
        ALL.iter().find(|(c, _)| *c == code).map(|(_, d)| *d)
    }
}

/// One reading of an ambiguous cell and what it implies downstream.
#[derive(Debug, Clone, Serialize)]
pub struct Reading {
    pub reading: String,
    pub implies: String,
}

/// A secondary place that explains the finding (the producer of a value): a secondary label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Related {
    pub message: String,
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: &'static str,
    /// The row as printed, e.g. `inception (4c)`.
    pub row: Option<String>,
    pub column: Option<String>,
    pub stated: Option<String>,
    pub derived: Option<String>,
    /// A lowercase fact: "inception (4c) outputs 608 channels, the table says 576".
    pub message: String,
    /// The arithmetic that shows it: "160 + 160 + 160 + 128 = 608".
    pub arithmetic: Option<String>,
    pub readings: Vec<Reading>,
    pub help: Option<String>,
    pub related: Vec<Related>,
    pub line: usize,
    pub col: usize,
}

use crate::quote::visible;

impl Diagnostic {
    pub fn new(severity: Severity, code: &'static str, loc: Loc, message: String) -> Diagnostic {
        Diagnostic {
            severity,
            code,
            row: None,
            column: None,
            stated: None,
            derived: None,
            // Findings embed labels and cells bare; whatever they hold must not reach a
            // terminal as control sequences.
            message: visible(message),
            arithmetic: None,
            readings: Vec::new(),
            help: None,
            related: Vec::new(),
            line: loc.line,
            col: loc.col,
        }
    }

    pub fn at(mut self, row: &str, column: &str) -> Self {
        self.row = Some(row.to_string());
        self.column = Some(column.to_string());
        self
    }

    pub fn values(mut self, stated: impl Into<String>, derived: impl Into<String>) -> Self {
        self.stated = Some(visible(stated.into()));
        self.derived = Some(visible(derived.into()));
        self
    }

    pub fn arithmetic(mut self, a: impl Into<String>) -> Self {
        self.arithmetic = Some(visible(a.into()));
        self
    }

    pub fn help(mut self, h: impl Into<String>) -> Self {
        self.help = Some(visible(h.into()));
        self
    }

    pub fn related(mut self, loc: Loc, message: impl Into<String>) -> Self {
        self.related.push(Related {
            message: visible(message.into()),
            line: loc.line,
            col: loc.col,
        });
        self
    }
}

#[cfg(test)]
mod tests {
    /// docs/diagnostics.md names every code, and the codes are unique.
    #[test]
    fn every_code_is_documented_once() {
        let doc = include_str!("../docs/diagnostics.md");
        let mut seen = std::collections::HashSet::new();
        for (c, description) in super::code::ALL {
            assert!(seen.insert(*c), "{c} twice");
            assert!(!description.is_empty());
            assert!(doc.contains(c), "docs/diagnostics.md does not name {c}");
        }
    }
}
