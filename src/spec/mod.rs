//! The spec as written: a paper's table cell for cell, its row templates and its variants,
//! every piece with the place in the file it came from. Nothing here is derived.

mod activation;
pub mod cell;
mod expr;
mod file;
mod load;
mod reader;
mod steps;
mod template;
mod yaml;

use indexmap::IndexMap;

pub use activation::Activation;
pub use cell::{Filter, Patch, PoolKind, PoolProj, PrintedSize, Quantity, RowType, Size, Suffix, Tolerance};
pub use expr::{BinOp, Node as ExprNode};
pub use load::{InputSizeError, parse_hw};
pub use load::{load_file, load_source, load_str, read_source};
pub use steps::{Group, InstanceName, Merge, Repeat, Step, Use};
pub use template::{Arg, ArgDecl, Args, Expr, LayerDecl, LayerOp, Lit, Template, TemplateBody, Term};
pub use yaml::{Marks, marks};

pub use crate::source::Loc;

impl From<&SpecError> for crate::diag::Diagnostic {
    /// A load error as a diagnostic: severity error, its E0xx code, its place (line 0: none).
    fn from(e: &SpecError) -> crate::diag::Diagnostic {
        let mut d = crate::diag::Diagnostic::new(crate::diag::Severity::Error, e.code, e.loc, e.message.clone());
        if let Some(details) = &e.details {
            d.related = details.related.clone();
            d.help = details.help.as_ref().map(|h| crate::quote::visible(h.clone()));
        }
        d
    }
}

/// A spec that cannot be used, with where and why. It becomes a [`crate::diag::Diagnostic`]
/// (severity error, exit 2) at the CLI edge; `code` is its stable E0xx code
/// ([`crate::diag::code`], docs/diagnostics.md).
#[derive(Debug, Clone, PartialEq)]
pub struct SpecError {
    pub file: String,
    pub loc: Loc,
    /// A lowercase fact: what was found and what was expected.
    pub message: String,
    /// The kind of load error: [`crate::diag::code::INVALID_VALUE`] unless the site says.
    pub code: &'static str,
    /// Related places and help, where the error has them; boxed, so that a
    /// `Result<_, SpecError>` stays small.
    pub details: Option<Box<SpecErrorDetails>>,
}

/// What a few load errors add to their place and message.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpecErrorDetails {
    /// Other places that explain the error (the first of two duplicate keys), as
    /// secondary labels.
    pub related: Vec<crate::diag::Related>,
    pub help: Option<String>,
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.loc.line, self.loc.col, self.message)
    }
}
impl std::error::Error for SpecError {}

impl SpecError {
    /// An error at `loc` of `file`, of the generic kind (E008, an invalid value); chain
    /// [`SpecError::coded`] to give the kind.
    pub fn new(file: impl Into<String>, loc: Loc, message: impl Into<String>) -> SpecError {
        SpecError {
            file: file.into(),
            loc,
            message: message.into(),
            code: crate::diag::code::INVALID_VALUE,
            details: None,
        }
    }

    /// The same error with the stable code of its kind (`diag::code::CELL`, ...).
    pub fn coded(mut self, code: &'static str) -> SpecError {
        self.code = code;
        self
    }

    /// A secondary place that explains the error.
    pub fn related(mut self, loc: Loc, message: impl Into<String>) -> SpecError {
        let details = self.details.get_or_insert_with(Default::default);
        details.related.push(crate::diag::Related {
            message: crate::quote::visible(message.into()),
            line: loc.line,
            col: loc.col,
        });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> SpecError {
        self.details.get_or_insert_with(Default::default).help = Some(help.into());
        self
    }

    /// A spec file that could not be read, at the position of the fault where it has one.
    pub fn read(path: &std::path::Path, e: crate::source::ReadError) -> SpecError {
        let (line, col) = e.position().unwrap_or_default();
        let code = match e {
            crate::source::ReadError::TooLarge { .. } => crate::diag::code::LIMIT,
            _ => crate::diag::code::UNREADABLE,
        };
        SpecError::new(path.display().to_string(), Loc { line, col }, e.with_flag_hint()).coded(code)
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
    /// The row's printed input size ("224² × 3", "299×299×3", "224 × 224"): checked against
    /// what the previous row outputs.
    Input,
    /// A printed filter shape ("3 × 3 × 3 × 32", "3 × 3 × 32 dw", "1024 × 1000"): checked
    /// against the row's weight layer.
    Filter,
    /// Text kept as printed and never compared ("As in figure 4", "logits").
    Remarks,
    /// A patch where the cell is one ("3×3/2", "8 × 8"), else a remark kept as printed ("As in
    /// figure 4"): Inception-v3's "patch size/stride or remarks".
    PatchOrRemarks,
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
            ColumnKind::Depth
                | ColumnKind::Params
                | ColumnKind::Ops
                | ColumnKind::Spatial
                | ColumnKind::Input
                | ColumnKind::Filter
        )
    }

    /// What a cell of this kind is compared with, or `None` for a kind that builds the network
    /// (type, patch, count, pool projection) or is kept unchecked (remarks).
    pub fn compared_with(self) -> Option<&'static str> {
        match self {
            ColumnKind::Output => Some("the row's derived output size and channels"),
            ColumnKind::Spatial => Some("the row's derived output size (H×W)"),
            ColumnKind::Depth => Some("the weight layers on the row's deepest path"),
            ColumnKind::Params => Some("the row's derived parameters"),
            ColumnKind::Ops => Some("the row's derived multiply-adds at the reference input"),
            ColumnKind::Input => Some("the derived output of the previous row (the network input for the first)"),
            ColumnKind::Filter => Some("the weight shape of the row's convolution or linear layer"),
            ColumnKind::Type
            | ColumnKind::Patch
            | ColumnKind::PatchOrRemarks
            | ColumnKind::Count
            | ColumnKind::PoolProj
            | ColumnKind::Remarks
            | ColumnKind::Name
            | ColumnKind::Layers => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
    pub loc: Loc,
    /// A figure column's own tolerance (`tolerance:`, `exact: true`); `None` follows the spec.
    pub tolerance: Option<Tolerance>,
    /// A figure column's unit (`unit: ×10^6`, or read from a header like `params ×10⁶`).
    pub unit: Option<Suffix>,
    /// A count column's symbols (`symbols: {k: classes}`): cells that print one stand for
    /// what it names.
    pub symbols: IndexMap<String, Symbol>,
}

/// What a count column's symbol stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Symbol {
    /// The class count (`{classes}`: the spec's, or `--classes`).
    Classes,
    /// A var (`var.NAME`), read as `{var.NAME}` is where the cell is read.
    Var(String),
}

/// A parsed cell value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Type(RowType),
    Patch(Patch),
    Size(Size),
    Count(u64),
    /// A count cell printed as one of its column's symbols (`k`), and what it stands for.
    CountSymbol {
        symbol: String,
        means: Symbol,
    },
    PoolProj(PoolProj),
    Quantity(Quantity),
    /// An input size cell.
    Input(PrintedSize),
    Filter(Filter),
    /// A remarks cell, kept as printed.
    Text(String),
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

/// How a conv layer's conv, batch norm and ReLU are named, given the layer's name `X`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConvUnit {
    /// The conv at `X`, its batch norm and ReLU beside it: `X_bn` (or the name the layer's
    /// `bn` argument gives) and `X_relu` (torchvision's ResNet: `conv1`, `bn1`).
    #[default]
    Flat,
    /// `X` holds them: `X.conv`, `X.bn`, `X.relu` (torchvision's `BasicConv2d`).
    Nested,
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
    pub conv_unit: ConvUnit,
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
            conv_unit: ConvUnit::Flat,
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
    /// The path the row's layers are named under instead of the row's name (`layer1`,
    /// `inception3a`, dotted paths such as `layer1.0`); empty puts them at the top of the
    /// module (`conv1`, `fc`).
    pub name: Option<String>,
    /// The row's layers are numbered as `torch.nn.Sequential` numbers its children: each
    /// distinct first path component under the row's path takes the next index, counting on
    /// from earlier rows under the same path (torchvision's VGG `features.0`, `features.3`).
    pub sequential: bool,
    pub loc: Loc,
}

/// An auxiliary classifier branching off a row's output.
#[derive(Debug, Clone)]
pub struct AuxHead {
    pub name: String,
    pub after: usize,
    /// The node of row `after` (by its full name) that feeds the head; none: the row's output.
    pub at: Option<(String, Loc)>,
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
    /// The reference implementation the variant reproduces (tests/lineage.rs builds it).
    pub lineage: Option<Lineage>,
    pub loc: Loc,
    /// The input size the variant reads the table at, where it sets one: its printed sizes
    /// are then checked there.
    pub input: Option<Input>,
}

/// A reference implementation: a Python callable and its keyword arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Lineage {
    /// A dotted Python path: `torchvision.models.googlenet`.
    pub model: String,
    /// Keyword arguments, as JSON scalars.
    pub args: IndexMap<String, serde_json::Value>,
    pub loc: Loc,
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
    /// The text the spec was read from, read once: every renderer quotes its lines from here.
    pub source: std::sync::Arc<crate::source::Source>,
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
    /// What the paper prints about the whole network (a total row, a figure in its text).
    pub totals: Vec<PrintedTotal>,
    /// The columns that are architectures (ResNet's 18-layer … 152-layer), in order; one
    /// is built at a time (`--model`), the first by default.
    pub models: Vec<String>,
}

/// What a printed total counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TotalCounts {
    Parameters,
    MultiplyAdds,
    /// Two floating-point operations per multiply-add.
    Flops,
}

/// One printed figure of a total, for every model or for one.
#[derive(Debug, Clone)]
pub struct PrintedFigure {
    /// The model it is printed for (a key of a `printed:` mapping); `None` for every model.
    pub model: Option<String>,
    pub cell: Cell,
}

/// A total the paper prints: `300 million multiply-adds` in its text, a `FLOPs` row of its
/// table.
#[derive(Debug, Clone)]
pub struct PrintedTotal {
    /// The paper's own name for it: `FLOPs`, `parameters`.
    pub name: String,
    pub counts: TotalCounts,
    /// Where the paper prints it: `table 1, last row`, `section 6.1`.
    pub printed_in: String,
    pub figures: Vec<PrintedFigure>,
    pub tolerance: Option<Tolerance>,
    pub loc: Loc,
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
