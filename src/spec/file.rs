//! The spec file's typed skeleton, as serde_yaml reads it. Unknown fields are errors, with
//! serde_yaml's line and column. Cells and layers stay untyped YAML values here: their
//! grammar is checked in `load` and `template`, where every message can name its place.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_yaml::Value;

use super::{CeilRule, ColumnKind, Padding, Rounding};

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
    pub columns: IndexMap<String, ColumnKind>,
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
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateFile {
    #[serde(default)]
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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantInputFile {
    pub size: Value,
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
}
