//! The spec file's typed skeleton, as serde_yaml reads it. Unknown fields are errors, with
//! serde_yaml's line and column. Cells and layers stay untyped YAML values here: their
//! grammar is checked in `load` and `template`, where every message can name its place.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_yaml::Value;

use super::{CeilRule, ColumnKind, Padding, Rounding, TotalCounts};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    /// Format version of the spec file.
    #[serde(default)]
    pub archcheck: Option<u32>,
    pub name: String,
    #[serde(default)]
    pub title: String,
    pub input: InputFile,
    #[serde(default)]
    pub classes: Option<u64>,
    #[serde(default)]
    pub tolerance: Option<f64>,
    pub columns: IndexMap<String, ColumnFile>,
    #[serde(default)]
    pub conventions: ConventionsFile,
    #[serde(default)]
    pub vars: IndexMap<String, Value>,
    #[serde(default)]
    pub templates: IndexMap<String, TemplateFile>,
    pub rows: Vec<IndexMap<String, Value>>,
    /// The columns that are architectures, one built at a time.
    #[serde(default)]
    pub models: Vec<String>,
    #[serde(default)]
    pub head: Vec<Value>,
    #[serde(default)]
    pub aux_heads: IndexMap<String, AuxHeadFile>,
    #[serde(default)]
    pub variants: IndexMap<String, VariantFile>,
    /// Totals the paper prints, by the paper's name for them.
    #[serde(default)]
    pub totals: IndexMap<String, TotalFile>,
}

/// A column: its kind (`params`), or a mapping with options
/// (`{kind: params, unit: ×10^6, tolerance: 0.01}`).
#[derive(Debug)]
pub struct ColumnFile {
    pub kind: ColumnKind,
    pub options: ColumnOptions,
}

/// A column's options: a figure column's (params, ops), a count column's symbols.
#[derive(Debug, Default)]
pub struct ColumnOptions {
    /// A relative tolerance of the column's own.
    pub tolerance: Option<f64>,
    /// Figures must equal the derived count.
    pub exact: Option<bool>,
    /// The figures' unit: `×10^6`, `million`.
    pub unit: Option<String>,
    /// A count column's symbols and what each stands for: `{k: classes}`.
    pub symbols: IndexMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnMapping {
    kind: ColumnKind,
    tolerance: Option<f64>,
    exact: Option<bool>,
    unit: Option<String>,
    #[serde(default)]
    symbols: IndexMap<String, String>,
}

impl<'de> Deserialize<'de> for ColumnFile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = ColumnFile;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a column kind, or a mapping with kind and options")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ColumnFile, E> {
                let kind = ColumnKind::deserialize(serde::de::value::StrDeserializer::<E>::new(v))?;
                Ok(ColumnFile {
                    kind,
                    options: ColumnOptions::default(),
                })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<ColumnFile, A::Error> {
                let m = ColumnMapping::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(ColumnFile {
                    kind: m.kind,
                    options: ColumnOptions {
                        tolerance: m.tolerance,
                        exact: m.exact,
                        unit: m.unit,
                        symbols: m.symbols,
                    },
                })
            }
        }
        d.deserialize_any(Visit)
    }
}

/// A total the paper prints.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotalFile {
    /// parameters, multiply-adds or flops (two per multiply-add).
    pub counts: TotalCounts,
    /// The figure as printed, or a mapping model → figure.
    pub printed: Value,
    /// Where the paper prints it (`table 2`, `section 6.1`).
    #[serde(default, rename = "in")]
    pub printed_in: String,
    pub tolerance: Option<f64>,
    pub exact: Option<bool>,
    pub unit: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputFile {
    pub channels: u64,
    /// `224` or `224x224` (H×W).
    pub size: Value,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConventionsFile {
    pub padding: Option<Padding>,
    pub pool_rounding: Option<Rounding>,
    pub ceil_rule: Option<CeilRule>,
    pub conv_bias: Option<bool>,
    /// `false`, or a mapping {eps, momentum, scale}.
    pub batch_norm: Option<Value>,
    pub count_include_pad: Option<bool>,
    /// How a conv layer's conv, batch norm and ReLU are named.
    pub conv_unit: Option<super::ConvUnit>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateFile {
    /// For the reader of the spec; accepted (unknown keys are errors) and not used.
    #[serde(default)]
    #[allow(dead_code)]
    pub description: String,
    #[serde(default)]
    pub layers: Vec<Value>,
    /// Branches concatenated along channels, in this order.
    #[serde(default)]
    pub branches: IndexMap<String, BranchFile>,
    /// Composed steps (layers, template uses, groups, repeats).
    #[serde(default)]
    pub steps: Option<Value>,
    /// The template's vars and their defaults, set by a use.
    #[serde(default)]
    pub vars: IndexMap<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchFile {
    /// Present only when this expression names a non-empty, non-zero cell.
    #[serde(default, rename = "if")]
    pub cond: Option<String>,
    pub layers: Vec<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuxHeadFile {
    /// The row (as printed, or its derived name) whose output feeds the head.
    pub after: String,
    /// A node of that row, by its full name, that feeds the head instead of the row's
    /// output (Inception-v3's head reads Mixed_6e inside a row that ends with Mixed_7a).
    #[serde(default)]
    pub at: Option<String>,
    pub layers: Vec<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantFile {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub conventions: ConventionsFile,
    #[serde(default)]
    pub vars: IndexMap<String, Value>,
    #[serde(default)]
    pub templates: IndexMap<String, TemplateFile>,
    #[serde(default)]
    pub rows: IndexMap<String, RowOverrideFile>,
    #[serde(default)]
    pub head: Option<Vec<Value>>,
    #[serde(default)]
    pub aux_heads: Option<IndexMap<String, AuxHeadFile>>,
    /// The architecture columns this variant is for.
    #[serde(default)]
    pub models: Vec<String>,
    /// The input size the variant reads the table at (`{size: 227}`).
    #[serde(default)]
    pub input: Option<VariantInputFile>,
    /// The reference implementation the variant reproduces, for the lineage tests.
    #[serde(default)]
    pub lineage: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantInputFile {
    pub size: Value,
}

/// `{model: torchvision.models.googlenet, args: {aux_logits: true}}`; the bare model path
/// is read in `load` (a YAML string).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineageCallFile {
    pub model: String,
    #[serde(default)]
    pub args: IndexMap<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowOverrideFile {
    /// Corrected cells, in the table's own grammar.
    #[serde(default)]
    pub cells: IndexMap<String, Value>,
    #[serde(default)]
    pub vars: IndexMap<String, Value>,
    /// Build this row with another template.
    #[serde(default)]
    pub template: Option<String>,
    /// Layers inserted between this row and the next (e.g. a downsampling pool).
    #[serde(default)]
    pub insert_after: Vec<Value>,
    /// The path component of the row's layers instead of the row's name; "" for none.
    #[serde(default)]
    pub name: Option<String>,
    /// Number the row's layers as torch.nn.Sequential numbers its children.
    #[serde(default)]
    pub sequential: bool,
}
