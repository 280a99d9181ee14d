//! Row templates: how a row type ("inception", "max pool") becomes layers, written in YAML
//! and bound to the table's column names.
//!
//! A template is a list of layers, or named branches of layers concatenated along channels.
//! A layer is a one-key mapping `op: {arg: value}`. An argument is a literal (`3`, `same`,
//! `[1, 7]`) or an expression in braces that reads the row: `{#3×3}`, `{patch.stride or 1}`,
//! `{Pool +proj.pool}`, `{var.pool_pad}`, `{classes}`. `or` takes the first term whose cell
//! is filled in.

use indexmap::IndexMap;

use super::Loc;

/// A literal argument value.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Int(i64),
    Float(f64),
    Bool(bool),
    Word(String),
    Pair(i64, i64),
}

impl std::fmt::Display for Lit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lit::Int(i) => write!(f, "{i}"),
            Lit::Float(x) => write!(f, "{x}"),
            Lit::Bool(b) => write!(f, "{b}"),
            Lit::Word(w) => write!(f, "{w}"),
            Lit::Pair(a, b) => write!(f, "[{a}, {b}]"),
        }
    }
}

/// One alternative of an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    Int(i64),
    Classes,
    Var(String),
    Column {
        column: String,
        field: Option<String>,
    },
    /// `in.channels`, `in.h`, `in.w`: the derived input of the step, at the reference size.
    In(String),
    /// `model`, `model.out`: the cell of the architecture column being built.
    Model(Option<String>),
}

/// `term or term or ...`, with its place in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// Every term the expression reads, in order (what the load-time check walks).
    pub terms: Vec<Term>,
    /// The alternatives of `or`, as trees.
    pub alts: Vec<super::expr::Node>,
    pub text: String,
    pub loc: Loc,
    /// Where the expression's text starts (term offsets count from here).
    pub start: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Lit(Lit),
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ArgDecl {
    pub value: Arg,
    pub loc: Loc,
}

/// The primitive-level layers a template can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerOp {
    /// Convolution followed by the variant's batch norm and ReLU.
    Conv,
    /// Depthwise convolution (depth multiplier) then 1×1, then batch norm and ReLU.
    SeparableConv,
    MaxPool,
    AvgPool,
    /// A pool whose kind comes from an argument (`kind: "{Pool +proj.pool}"`).
    Pool,
    GlobalAvgPool,
    AdaptiveAvgPool,
    Flatten,
    Linear,
    Dropout,
    Relu,
    Softmax,
    /// A standalone activation other than `relu` (`hardswish`, `silu`...).
    Activation(super::activation::Activation),
    /// Local response normalisation across channels, as PyTorch's `LocalResponseNorm`.
    Lrn,
    /// Global pooling over H×W to a vector (or, with `keep_dims`, to C×1×1).
    GlobalPool,
    /// The mean over H×W kept as C×1×1 (squeeze-and-excitation's squeeze).
    ChannelMean,
    /// A batch norm of its own, not a conv's (pre-activation: BN-ReLU-Conv).
    BatchNorm,
}

impl LayerOp {
    pub(super) fn parse(s: &str) -> Option<LayerOp> {
        Some(match s {
            "conv" => LayerOp::Conv,
            "separable_conv" => LayerOp::SeparableConv,
            "max_pool" => LayerOp::MaxPool,
            "avg_pool" => LayerOp::AvgPool,
            "pool" => LayerOp::Pool,
            "global_avg_pool" => LayerOp::GlobalAvgPool,
            "adaptive_avg_pool" => LayerOp::AdaptiveAvgPool,
            "flatten" => LayerOp::Flatten,
            "linear" => LayerOp::Linear,
            "dropout" => LayerOp::Dropout,
            "relu" => LayerOp::Relu,
            "softmax" => LayerOp::Softmax,
            "lrn" => LayerOp::Lrn,
            "global_pool" => LayerOp::GlobalPool,
            "channel_mean" => LayerOp::ChannelMean,
            "batch_norm" => LayerOp::BatchNorm,
            _ => LayerOp::Activation(super::activation::Activation::parse(s)?),
        })
    }

    pub const NAMES: &'static str = "conv, separable_conv, max_pool, avg_pool, pool, global_avg_pool, adaptive_avg_pool, flatten, linear, dropout, relu, relu6, hardswish, hardsigmoid, silu, swish, gelu, sigmoid, softmax, lrn, global_pool, channel_mean, batch_norm";

    /// (required, optional) arguments besides `name` and `if`.
    pub(super) fn args(self) -> (&'static [&'static str], &'static [&'static str]) {
        const POOL: &[&str] = &["stride", "pad", "rounding", "count_include_pad"];
        match self {
            LayerOp::Conv => (
                &["out", "kernel"],
                &[
                    "stride", "pad", "dilation", "groups", "bias", "bn", "relu", "act", "bn_name",
                ],
            ),
            LayerOp::SeparableConv => (
                &["out", "kernel", "multiplier"],
                &["stride", "pad", "dilation", "bias", "bn", "relu", "act"],
            ),
            LayerOp::MaxPool | LayerOp::AvgPool => (&["kernel"], POOL),
            LayerOp::Pool => (&["kind", "kernel"], POOL),
            LayerOp::AdaptiveAvgPool => (&["size"], &[]),
            LayerOp::Linear => (&["out"], &["bias", "act"]),
            LayerOp::Lrn => (&["size"], &["alpha", "beta", "k"]),
            LayerOp::GlobalPool => (&[], &["kind", "keep_dims"]),
            LayerOp::Dropout => (&["p"], &[]),
            LayerOp::BatchNorm => (&[], &["eps", "momentum", "scale"]),
            LayerOp::GlobalAvgPool
            | LayerOp::Flatten
            | LayerOp::Relu
            | LayerOp::Softmax
            | LayerOp::Activation(_)
            | LayerOp::ChannelMean => (&[], &[]),
        }
    }

    /// Whether the layer is a weight layer, counted by the table's depth column.
    pub fn is_weight_layer(self) -> bool {
        matches!(self, LayerOp::Conv | LayerOp::SeparableConv | LayerOp::Linear)
    }

    /// The default name stem of a layer of this kind inside a row or branch.
    pub fn stem(self) -> &'static str {
        match self {
            LayerOp::Conv | LayerOp::SeparableConv => "conv",
            LayerOp::MaxPool
            | LayerOp::AvgPool
            | LayerOp::Pool
            | LayerOp::GlobalAvgPool
            | LayerOp::AdaptiveAvgPool
            | LayerOp::GlobalPool
            | LayerOp::ChannelMean => "pool",
            LayerOp::Flatten => "flatten",
            LayerOp::Linear => "fc",
            LayerOp::Dropout => "dropout",
            LayerOp::Relu => "relu",
            LayerOp::Softmax => "softmax",
            LayerOp::Activation(a) => a.word(),
            LayerOp::Lrn => "lrn",
            LayerOp::BatchNorm => "bn",
        }
    }
}

/// A layer's arguments by name. Hashed with foldhash rather than SipHash: lowering looks
/// up several of them for every layer of every row, and a spec file is the user's own, so
/// hash flooding is no concern.
pub type Args = IndexMap<String, ArgDecl, foldhash::fast::FixedState>;

/// One layer of a template, head or insertion.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerDecl {
    pub op: LayerOp,
    pub args: Args,
    pub name: Option<String>,
    pub cond: Option<Expr>,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    pub name: String,
    pub cond: Option<Expr>,
    pub layers: Vec<LayerDecl>,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TemplateBody {
    Layers(Vec<LayerDecl>),
    Branches(Vec<Branch>),
    /// Composed: layers, template uses, groups and repeats (`spec/steps.rs`).
    Steps(Vec<super::steps::Step>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub name: String,
    pub body: TemplateBody,
    /// The template's own vars with their defaults; a use sets them (`basic: {width: 64}`).
    pub vars: IndexMap<String, Lit>,
    pub loc: Loc,
}
