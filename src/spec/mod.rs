//! The spec as written: a paper's table cell for cell, its row templates and its variants,
//! every piece with the place in the file it came from. Nothing here is derived.

pub mod activation;
pub mod cell;
pub mod expr;
pub mod file;
pub mod load;
pub mod steps;
pub mod template;
pub mod yaml;

use indexmap::IndexMap;

pub use cell::{Patch, PoolKind, PoolProj, Quantity, RowType, Size};
pub use load::{load_file, load_str, read_source};
pub use template::{Expr, LayerDecl, Template, TemplateBody};

/// A 1-based line and column in the spec file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Loc {
    pub line: usize,
    pub col: usize,
}

/// A spec that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecError {
    pub file: String,
    pub loc: Loc,
    /// A lowercase fact: what was found and what was expected.
    pub message: String,
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.loc.line, self.loc.col, self.message)
    }
}
impl std::error::Error for SpecError {}

impl SpecError {
    /// A spec file that could not be read, at the position of the fault where it has one.
    pub fn read(path: &std::path::Path, e: crate::source::ReadError) -> SpecError {
        let (line, col) = e.position().unwrap_or_default();
        SpecError {
            file: path.display().to_string(),
            loc: Loc { line, col },
            message: e.with_flag_hint(),
        }
    }
}

/// What a column of the table holds, which decides the grammar of its cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// The row type ("inception (3a)"): picks the template.
    Type,
    /// Kernel and stride ("7×7/2", "stride 2").
    Patch,
    /// Printed output size H×W×C: checked.
    Output,
    /// Printed depth (weight layers on the deepest path): checked.
    Depth,
    /// A filter count used by the template.
    Count,
    /// A pooling branch ("avg + 32", "max + pass through").
    PoolProj,
    /// A printed parameter count ("1072K"): checked.
    Params,
    /// A printed multiply-add count ("54M"): checked.
    Ops,
    /// The row's printed name ("conv3_x", or blank): names the row, picks no template
    /// (a table of architecture columns builds each row from its model cell).
    Name,
    /// Layers as printed ("7×7, 64, stride 2", "[3×3, 64; 3×3, 64] ×2"): each item is built
    /// by the template named after its form.
    Layers,
    /// A printed output size without channels ("56×56"): checked, H×W only.
    Spatial,
}

impl ColumnKind {
    /// Whether the column is compared with the derivation rather than used to build it.
    pub fn is_checked(self) -> bool {
        matches!(
            self,
            ColumnKind::Depth | ColumnKind::Params | ColumnKind::Ops | ColumnKind::Spatial
        )
    }
}

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
    pub loc: Loc,
}

/// A parsed cell value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Type(RowType),
    Patch(Patch),
    Size(Size),
    Count(u64),
    PoolProj(PoolProj),
    Quantity(Quantity),
    Layers(cell::LayerCell),
    /// H×W without channels.
    SizeHw {
        h: u64,
        w: u64,
    },
}

/// One cell as printed, parsed, with its place.
#[derive(Debug, Clone)]
pub struct Cell {
    pub text: String,
    pub value: Value,
    pub loc: Loc,
}

/// One printed row of the table.
#[derive(Debug, Clone)]
pub struct Row {
    /// Identifier derived from the type cell: `inception_3c`, `convolution_1`.
    pub name: String,
    /// The type cell as printed: `inception (3c)`; where several rows print the same type
    /// cell, with the row's position: `convolution (row 3)`.
    pub label: String,
    pub row_type: RowType,
    pub cells: IndexMap<String, Cell>,
    /// Vars for this row only, from the paper's text (`vars: {first_stride: 2}`: "downsampling
    /// by conv3_1"); a variant's row vars go over them.
    pub vars: IndexMap<String, template::Lit>,
    pub loc: Loc,
}

impl Row {
    pub fn cell(&self, column: &str) -> Option<&Cell> {
        self.cells.get(column)
    }
}

/// Rounding of a pooling window count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    Floor,
    Ceil,
}

/// How a ceil-rounded pool treats a last window that starts in the padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CeilRule {
    /// PyTorch drops such a window whenever ceil mode is on.
    Pytorch,
    /// Caffe drops it only when the pool has padding.
    Caffe,
}

/// Default padding of convolutions and pools that do not state theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Padding {
    /// TF's SAME: output = ceil(input / stride), padding split low/high as needed.
    Same,
    /// Convolutions pad (k-1)/2 on each side, pools pad 0.
    Half,
}

/// Batch normalisation after each convolution.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct BatchNorm {
    #[serde(default = "default_eps")]
    pub eps: f64,
    #[serde(default = "default_momentum")]
    pub momentum: f64,
    /// Learned scale (gamma); TF-slim leaves it out by default.
    #[serde(default = "yes")]
    pub scale: bool,
}
fn default_eps() -> f64 {
    1e-5
}
fn default_momentum() -> f64 {
    0.1
}
fn yes() -> bool {
    true
}

/// Global conventions a table leaves unsaid.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Conventions {
    pub padding: Padding,
    pub pool_rounding: Rounding,
    pub ceil_rule: CeilRule,
    pub conv_bias: bool,
    pub batch_norm: Option<BatchNorm>,
    /// Whether an average pool divides by the padded window (PyTorch's and Caffe's default).
    pub count_include_pad: bool,
}

impl Default for Conventions {
    fn default() -> Self {
        Conventions {
            padding: Padding::Half,
            pool_rounding: Rounding::Floor,
            ceil_rule: CeilRule::Pytorch,
            conv_bias: true,
            batch_norm: None,
            count_include_pad: true,
        }
    }
}

/// Per-row changes a variant makes.
#[derive(Debug, Clone, Default)]
pub struct RowOverride {
    /// Corrected cells; the printed ones are kept and the difference reported as a note.
    pub cells: IndexMap<String, Cell>,
    pub vars: IndexMap<String, template::Lit>,
    pub template: Option<String>,
    pub insert_after: Vec<LayerDecl>,
    /// The path component of the row's layers instead of the row's name (`layer1`); empty
    /// puts them at the top of the module (`conv1`, `fc`).
    pub name: Option<String>,
    pub loc: Loc,
}

/// An auxiliary classifier branching off a row's output.
#[derive(Debug, Clone)]
pub struct AuxHead {
    pub name: String,
    pub after: usize,
    pub layers: Vec<LayerDecl>,
    pub loc: Loc,
}

/// A named resolution of the table's ambiguities and errata.
#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    pub description: String,
    pub conventions: Conventions,
    pub vars: IndexMap<String, template::Lit>,
    pub templates: IndexMap<String, Template>,
    /// Keyed by row index.
    pub rows: IndexMap<usize, RowOverride>,
    pub head: Option<Vec<LayerDecl>>,
    pub aux_heads: Vec<AuxHead>,
    /// The architecture columns the variant is for (empty: every one).
    pub models: Vec<String>,
    pub loc: Loc,
    /// The input size the variant reads the table at, where it sets one: its printed sizes
    /// are then checked there.
    pub input: Option<Input>,
}

/// The reference input.
#[derive(Debug, Clone, Copy)]
pub struct Input {
    pub channels: u64,
    pub height: u64,
    pub width: u64,
    pub loc: Loc,
}

/// A whole spec file.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The file name as given, used in every message.
    pub file: String,
    pub name: String,
    pub title: String,
    pub input: Input,
    pub classes: u64,
    /// Relative difference beyond which a printed params/ops figure is flagged.
    pub tolerance: f64,
    pub columns: IndexMap<String, Column>,
    pub conventions: Conventions,
    pub vars: IndexMap<String, template::Lit>,
    pub templates: IndexMap<String, Template>,
    pub rows: Vec<Row>,
    pub head: Vec<LayerDecl>,
    pub aux_heads: Vec<AuxHead>,
    pub variants: IndexMap<String, Variant>,
    /// The columns that are architectures (ResNet's 18-layer … 152-layer), in order; one
    /// is built at a time (`--model`), the first by default.
    pub models: Vec<String>,
}

impl Spec {
    /// The column of `kind` (the first one, when there are several).
    /// The input the table's printed sizes are for under `variant`: the variant's, or the
    /// spec's.
    pub fn printed_input(&self, variant: Option<&str>) -> Input {
        variant
            .and_then(|v| self.variants.get(v))
            .and_then(|v| v.input)
            .unwrap_or(self.input)
    }

    pub fn column_of(&self, kind: ColumnKind) -> Option<&Column> {
        self.columns.values().find(|c| c.kind == kind)
    }
}
