//! Row templates: how a row type ("inception", "max pool") becomes layers, written in YAML
//! and bound to the table's column names.
//!
//! A template is a list of layers, or named branches of layers concatenated along channels.
//! A layer is a one-key mapping `op: {arg: value}`. An argument is a literal (`3`, `same`,
//! `[1, 7]`) or an expression in braces that reads the row: `{#3×3}`, `{patch.stride or 1}`,
//! `{Pool +proj.pool}`, `{var.pool_pad}`, `{classes}`. `or` takes the first term whose cell
//! is filled in.

use indexmap::IndexMap;
use serde_yaml::Value;

use super::expr::Expect;
use super::yaml::{Marks, Seg};
use super::{Loc, SpecError};

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
    fn parse(s: &str) -> Option<LayerOp> {
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
    fn args(self) -> (&'static [&'static str], &'static [&'static str]) {
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

/// Reads YAML values with their positions, reporting errors against one file.
pub struct Reader<'a> {
    pub file: &'a str,
    pub marks: &'a Marks,
    /// The file's text, to quote a scalar as written rather than as YAML reads it.
    pub source: &'a str,
}

impl Reader<'_> {
    /// An error at `loc` (E008, an invalid value, unless chained with `.coded(...)`).
    pub fn err(&self, loc: Loc, message: impl Into<String>) -> SpecError {
        SpecError::new(self.file, loc, message)
    }

    pub fn at(&self, path: &[Seg]) -> Loc {
        self.marks.value(path)
    }

    /// A literal from a YAML value.
    pub fn lit(&self, v: &Value, path: &[Seg]) -> Result<Lit, SpecError> {
        let loc = self.at(path);
        match v {
            Value::Bool(b) => Ok(Lit::Bool(*b)),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Ok(Lit::Int(i))
                } else if let Some(x) = n.as_f64().filter(|x| x.is_finite()) {
                    Ok(Lit::Float(x))
                } else {
                    Err(self.err(loc, format!("expected a number that fits in 64 bits, found {n}")))
                }
            }
            Value::String(s) => Ok(Lit::Word(s.clone())),
            Value::Sequence(items) => match items.as_slice() {
                [Value::Number(a), Value::Number(b)] => match (a.as_i64(), b.as_i64()) {
                    (Some(a), Some(b)) => Ok(Lit::Pair(a, b)),
                    _ => Err(self.err(loc, "expected a pair of integers [h, w]")),
                },
                _ => Err(self.err(
                    loc,
                    format!("expected a pair of integers [h, w], found a list of {}", items.len()),
                )),
            },
            Value::Null => Err(self.err(loc, "expected a value, found nothing")),
            Value::Mapping(_) => Err(self.err(loc, "expected a value, found a mapping")),
            Value::Tagged(_) => Err(self.err(loc, "expected a value, found a tagged value")),
        }
    }

    /// The expression written at `path` (the text inside braces, or a bare column name
    /// for `if:`); an error points at the term it is about.
    pub fn expr(&self, text: &str, path: &[Seg]) -> Result<Expr, SpecError> {
        self.expr_within(text, path, 0)
    }

    /// The expression that starts `shift` characters into the text at `path` (one part of
    /// a pattern such as `denselayer{var.i + 1}`); positions count from there.
    pub fn expr_within(&self, text: &str, path: &[Seg], shift: usize) -> Result<Expr, SpecError> {
        let loc = self.at(path);
        let text_start = self.marks.text(path);
        let start = Loc {
            line: text_start.line,
            col: text_start.col + shift,
        };
        let parsed = super::expr::parse_expr(text).map_err(|e| {
            let at = Loc {
                line: start.line,
                col: start.col + e.offset,
            };
            let quoted = crate::quote::quote(text);
            let message = match e.expected {
                Expect::Term if e.found.is_empty() => {
                    format!("expected a column, var.NAME, classes or a number in {quoted}, found an empty term")
                }
                Expect::Term => format!(
                    "expected a column, var.NAME, classes or a number in {quoted}, found {}",
                    crate::quote::quote(&e.found)
                ),
                Expect::Integer => {
                    format!(
                        "expected an integer, found {} in {quoted}",
                        crate::quote::quote(&e.found)
                    )
                }
                Expect::VarName => format!("expected a variable's name after 'var.' in {quoted}"),
                Expect::Shorter => format!(
                    "expected at most {} operators in one alternative of {quoted}",
                    super::expr::MAX_OPERATORS
                ),
                Expect::Then | Expect::Else => format!(
                    "expected {} in {quoted}, found {}",
                    if e.expected == Expect::Then {
                        "' then ' after the condition of 'if'"
                    } else {
                        "' else ' after 'if … then …'"
                    },
                    if e.found.is_empty() {
                        "the end of the expression".to_string()
                    } else {
                        crate::quote::quote(&e.found)
                    }
                ),
            };
            self.err(at, message).coded(crate::diag::code::EXPRESSION)
        })?;
        Ok(Expr {
            terms: parsed.terms,
            alts: parsed.alts,
            text: text.to_string(),
            loc,
            start,
        })
    }

    /// An argument: `{...}` is an expression, anything else a literal.
    pub fn arg(&self, v: &Value, path: &[Seg]) -> Result<ArgDecl, SpecError> {
        let loc = self.at(path);
        let value = match v {
            Value::String(s) if s.trim_start().starts_with('{') => {
                if !s.trim_end().ends_with('}') {
                    return Err(self.err(
                        loc,
                        format!("expected '}}' closing the expression {s}", s = crate::quote::quote(&s)),
                    ));
                }
                Arg::Expr(self.expr(s, path)?)
            }
            _ => Arg::Lit(self.lit(v, path)?),
        };
        Ok(ArgDecl { value, loc })
    }

    /// One layer: `op: {args}` or a bare `op`.
    pub fn layer(&self, v: &Value, path: &[Seg]) -> Result<LayerDecl, SpecError> {
        let loc = self.at(path);
        let (op_name, args) = match v {
            Value::String(s) => (s.clone(), None),
            Value::Mapping(m) if m.len() == 1 => {
                let (k, a) = m.iter().next().expect("one entry");
                let Value::String(k) = k else {
                    return Err(self.err(loc, "expected a layer name such as conv or max_pool as the key"));
                };
                (k.clone(), Some(a))
            }
            Value::Mapping(m) => {
                return Err(self.err(
                    loc,
                    format!(
                        "expected one layer per list item (op: {{args}}), found {} keys",
                        m.len()
                    ),
                ));
            }
            _ => return Err(self.err(loc, "expected a layer (op: {args})")),
        };
        let op = LayerOp::parse(&op_name).ok_or_else(|| {
            self.err(
                loc,
                format!(
                    "unknown layer {op_name}, expected one of {}",
                    LayerOp::NAMES,
                    op_name = crate::quote::quote(&op_name)
                ),
            )
            .coded(crate::diag::code::UNKNOWN_NAME)
        })?;
        let mut decl = LayerDecl {
            op,
            args: IndexMap::default(),
            name: None,
            cond: None,
            loc,
        };
        let mut p = path.to_vec();
        p.push(Seg::Key(op_name.clone()));
        let (required, optional) = op.args();
        match args {
            None | Some(Value::Null) => {}
            Some(Value::Mapping(m)) => {
                for (k, a) in m {
                    let Value::String(k) = k else {
                        return Err(self.err(self.at(&p), "expected argument names as text"));
                    };
                    let mut ap = p.clone();
                    ap.push(Seg::Key(k.clone()));
                    let aloc = self.marks.key(&ap);
                    match k.as_str() {
                        // Empty: the layer sits at its scope's own path (torchvision's
                        // `inception3a.branch1` is one conv unit); a number is a position
                        // (`branch2.0`).
                        "name" => match a {
                            Value::String(s) if s.is_empty() => decl.name = Some(String::new()),
                            Value::String(s) => decl.name = Some(check_name(self, s, self.at(&ap))?),
                            Value::Number(n) if n.is_u64() => decl.name = Some(n.to_string()),
                            _ => return Err(self.err(self.at(&ap), "expected a layer name as text")),
                        },
                        "if" => match a {
                            Value::String(s) => decl.cond = Some(self.expr(s, &ap)?),
                            _ => return Err(self.err(self.at(&ap), "expected a column name for 'if'")),
                        },
                        _ if required.contains(&k.as_str()) || optional.contains(&k.as_str()) => {
                            decl.args.insert(k.clone(), self.arg(a, &ap)?);
                        }
                        _ => {
                            let mut all: Vec<&str> = required.iter().chain(optional).copied().collect();
                            all.extend(["name", "if"]);
                            return Err(self
                                .err(
                                    aloc,
                                    format!(
                                        "unknown argument {k} of {op_name}, expected one of {}",
                                        all.join(", "),
                                        k = crate::quote::quote(&k)
                                    ),
                                )
                                .coded(crate::diag::code::UNKNOWN_NAME));
                        }
                    }
                }
            }
            Some(_) => return Err(self.err(self.at(&p), format!("expected the arguments of {op_name} as a mapping"))),
        }
        for r in required {
            if !decl.args.contains_key(*r) {
                return Err(self.err(
                    loc,
                    format!("{op_name} needs the argument {r}", r = crate::quote::quote(&r)),
                ));
            }
        }
        Ok(decl)
    }

    pub fn layers(&self, vs: &[Value], path: &[Seg]) -> Result<Vec<LayerDecl>, SpecError> {
        vs.iter()
            .enumerate()
            .map(|(i, v)| {
                let mut p = path.to_vec();
                p.push(Seg::Index(i));
                self.layer(v, &p)
            })
            .collect()
    }
}

/// Names become parameter paths (`inception_4c.double_3x3.conv2.weight`): no dots, no
/// spaces, not empty.
pub fn check_name(r: &Reader<'_>, s: &str, loc: Loc) -> Result<String, SpecError> {
    if s.is_empty() {
        return Err(r.err(loc, "expected a name, found an empty one"));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(r.err(
            loc,
            format!(
                "name {s} contains {c}; names use letters, digits, '_' and '-' (a '.' would split the parameter path)",
                s = crate::quote::quote(&s),
                c = crate::quote::quote(&c)
            ),
        ));
    }
    Ok(s.to_string())
}

/// A path of names (`inception3a`, `layer1.0`), or empty for the top level: each
/// component as [`check_name`] accepts it.
pub fn check_path(r: &Reader<'_>, s: &str, loc: Loc) -> Result<String, SpecError> {
    if !s.is_empty() {
        for part in s.split('.') {
            check_name(r, part, loc)?;
        }
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader_for(text: &str) -> (Marks, Value) {
        (
            super::super::yaml::marks(text).unwrap(),
            serde_yaml::from_str(text).unwrap(),
        )
    }

    #[test]
    fn parses_expressions_with_or() {
        let (m, _) = reader_for("a: 1");
        let r = Reader {
            file: "t.yaml",
            marks: &m,
            source: "",
        };
        let e = r.expr("{#3×3 or output size.channels or 7}", &[]).unwrap();
        assert_eq!(
            e.terms,
            vec![
                Term::Column {
                    column: "#3×3".into(),
                    field: None
                },
                Term::Column {
                    column: "output size".into(),
                    field: Some("channels".into())
                },
                Term::Int(7)
            ]
        );
        assert!(r.expr("{a or }", &[]).is_err());
    }

    #[test]
    fn parses_layers_and_rejects_unknown_args() {
        let (m, v) = reader_for(
            "l:\n  - conv: {out: '{#1×1}', kernel: 1, name: c1}\n  - flatten\n  - max_pool: {kernel: 3, size: 2}\n",
        );
        let r = Reader {
            file: "t.yaml",
            marks: &m,
            source: "",
        };
        let items = v.get("l").unwrap().as_sequence().unwrap();
        let l0 = r.layer(&items[0], &["l".into(), 0usize.into()]).unwrap();
        assert_eq!(l0.op, LayerOp::Conv);
        assert_eq!(l0.name.as_deref(), Some("c1"));
        assert!(matches!(l0.args["out"].value, Arg::Expr(_)));
        assert_eq!(
            r.layer(&items[1], &["l".into(), 1usize.into()]).unwrap().op,
            LayerOp::Flatten
        );
        let e = r.layer(&items[2], &["l".into(), 2usize.into()]).unwrap_err();
        assert!(
            e.message.contains("unknown argument 'size' of max_pool"),
            "{}",
            e.message
        );
        assert_eq!(e.loc.line, 4);
    }

    #[test]
    fn rejects_dotted_names() {
        let (m, _) = reader_for("a: 1");
        let r = Reader {
            file: "t.yaml",
            marks: &m,
            source: "",
        };
        assert!(
            check_name(&r, "a.b", Loc::default())
                .unwrap_err()
                .message
                .contains("'.'")
        );
        assert!(check_name(&r, "double_3x3", Loc::default()).is_ok());
    }
}
