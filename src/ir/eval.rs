//! Evaluates template expressions against one row's cells.

use indexmap::IndexMap;

use crate::spec::cell::{LayerItem, PoolKind, TypeArg};
use crate::spec::{Arg, ArgDecl, Expr, LayerDecl, Lit, Term};
use crate::spec::{BinOp, ExprNode as Node};
use crate::spec::{Cell, Loc, SpecError, Symbol, Value};

/// A value an argument takes once evaluated.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Int(i64),
    Float(f64),
    Bool(bool),
    Word(String),
    Pair(i64, i64),
}

impl From<&Lit> for Val {
    fn from(l: &Lit) -> Val {
        match l {
            Lit::Int(i) => Val::Int(*i),
            Lit::Float(x) => Val::Float(*x),
            Lit::Bool(b) => Val::Bool(*b),
            Lit::Word(w) => Val::Word(w.clone()),
            Lit::Pair(a, b) => Val::Pair(*a, *b),
        }
    }
}

impl std::fmt::Display for Val {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Val::Int(i) => write!(f, "{i}"),
            Val::Float(x) => write!(f, "{x}"),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Word(w) => f.write_str(&crate::quote::quote(w)),
            Val::Pair(a, b) => write!(f, "{a}×{b}"),
        }
    }
}

/// What an expression can read: the row's cells, the vars in force, the class count.
pub struct Ctx<'a> {
    pub file: &'a str,
    pub cells: &'a IndexMap<String, Cell>,
    pub vars: &'a IndexMap<String, Lit>,
    pub classes: i64,
    /// How the row is named in messages: `inception (3c)`, `head`.
    pub what: String,
    /// The step's input at the reference size (channels, H, W), set before each step is
    /// evaluated (`{in.channels}`).
    pub input: std::cell::Cell<(i64, i64, i64)>,
    /// The architecture column being built (`{model}`), and the item of its cell that the
    /// row's template builds, where the cell prints layers.
    pub model: Option<&'a str>,
    pub item: Option<&'a LayerItem>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        file: &'a str,
        cells: &'a IndexMap<String, Cell>,
        vars: &'a IndexMap<String, Lit>,
        classes: i64,
        what: String,
    ) -> Ctx<'a> {
        Ctx {
            file,
            cells,
            vars,
            classes,
            what,
            input: std::cell::Cell::new((0, 0, 0)),
            model: None,
            item: None,
        }
    }

    /// The same row with other vars (a template's use, a repeat's instance).
    pub fn with_vars<'b>(&'b self, vars: &'b IndexMap<String, Lit>) -> Ctx<'b> {
        Ctx {
            file: self.file,
            cells: self.cells,
            vars,
            classes: self.classes,
            what: self.what.clone(),
            input: self.input.clone(),
            model: self.model,
            item: self.item,
        }
    }
}

/// A field of a printed layer: `out`, `kernel`, `stride`, `pool`; of a bracket `repeat`,
/// `lines`, `out` (its last line's) and `outN`, `kernelN`, `strideN` (line N, from 1); of a
/// typed item what its words carry, and `label`, `fraction`.
fn item_field(item: &LayerItem, field: &str) -> Option<Val> {
    let pair = |k: (u64, u64)| Val::Pair(to_i64(k.0), to_i64(k.1));
    match (item, field) {
        (LayerItem::Conv { kernel, .. }, "kernel") => Some(pair(*kernel)),
        (LayerItem::Conv { out, .. }, "out") => out.map(|o| Val::Int(to_i64(o))),
        (LayerItem::Fc { out }, "out") => Some(Val::Int(to_i64(*out))),
        (LayerItem::Conv { stride, .. } | LayerItem::Pool { stride, .. }, "stride") => {
            stride.map(|s| Val::Int(to_i64(s)))
        }
        (LayerItem::Pool { kernel, .. }, "kernel") => kernel.map(pair),
        (LayerItem::Pool { kind, .. }, "pool") => Some(Val::Word(
            match kind {
                PoolKind::Max => "max",
                PoolKind::Avg => "avg",
            }
            .into(),
        )),
        (LayerItem::Stack { repeat, .. }, "repeat") => Some(Val::Int(to_i64(*repeat))),
        (LayerItem::Stack { lines, .. }, "lines") => Some(Val::Int(to_i64(lines.len() as u64))),
        (LayerItem::Stack { lines, .. }, "out") => lines.last().and_then(|l| item_field(l, "out")),
        // A typed item's carried fields, named as ResNet's items name them: `conv3-64` has
        // kernel 3×3 and out 64, `FC-4096` out 4096.
        (LayerItem::Typed(t), "kernel") => t.carried_kernel().map(pair),
        (LayerItem::Typed(t), "out") => t.width().map(|n| Val::Int(to_i64(n))),
        (LayerItem::Typed(t), "stride") => t.stride.map(|n| Val::Int(to_i64(n))),
        (LayerItem::Typed(t), "repeat") => t.repeat.map(|n| Val::Int(to_i64(n))),
        (LayerItem::Typed(t), "label") => match &t.arg {
            Some(TypeArg::Label(l)) => Some(Val::Word(l.clone())),
            _ => None,
        },
        (LayerItem::Typed(t), "fraction") => match &t.arg {
            Some(TypeArg::Percent { hundredths }) => Some(Val::Float(*hundredths as f64 / 10_000.0)),
            _ => None,
        },
        (LayerItem::Stack { lines, .. }, f) => {
            let digits = f.len() - f.trim_end_matches(|c: char| c.is_ascii_digit()).len();
            let (name, n) = f.split_at(f.len() - digits);
            let n: usize = n.parse().ok()?;
            lines.get(n.checked_sub(1)?).and_then(|l| item_field(l, name))
        }
        _ => None,
    }
}

/// What `if:` and `&&` take as true: a value other than 0 and false.
fn truthy(v: &Val) -> bool {
    !matches!(v, Val::Int(0) | Val::Bool(false))
}

fn to_i64(x: u64) -> i64 {
    i64::try_from(x).unwrap_or(i64::MAX)
}

impl Ctx<'_> {
    /// A layer argument that cannot be evaluated (E009).
    pub fn err(&self, loc: Loc, m: impl Into<String>) -> SpecError {
        SpecError::new(self.file, loc, m).coded(crate::diag::code::LAYER)
    }

    /// One term's value, or None where its cell is empty.
    fn term(&self, t: &Term) -> Option<Val> {
        match t {
            Term::In(f) => {
                let (c, h, w) = self.input.get();
                match f.as_str() {
                    "channels" => Some(Val::Int(c)),
                    "h" => Some(Val::Int(h)),
                    "w" => Some(Val::Int(w)),
                    _ => None,
                }
            }
            Term::Model(f) => match (self.item, f) {
                (Some(item), Some(f)) => item_field(item, f),
                (Some(_), None) => None,
                (None, _) => self.term(&Term::Column {
                    column: self.model?.to_string(),
                    field: f.clone(),
                }),
            },
            Term::Int(i) => Some(Val::Int(*i)),
            Term::Classes => Some(Val::Int(self.classes)),
            Term::Var(v) => self.vars.get(v).map(Val::from),
            Term::Column { column, field } => {
                let cell = self.cells.get(column)?;
                if cell.text.is_empty() {
                    return None;
                }
                match (&cell.value, field.as_deref()) {
                    (Value::Count(n), None) => Some(Val::Int(to_i64(*n))),
                    (Value::CountSymbol { means, .. }, None) => match means {
                        Symbol::Classes => Some(Val::Int(self.classes)),
                        Symbol::Var(v) => self.vars.get(v).map(Val::from),
                    },
                    (Value::Patch(p), Some("kernel")) => p.kernel.map(|(a, b)| Val::Pair(to_i64(a), to_i64(b))),
                    (Value::Patch(p), Some("stride")) => p.stride.map(|s| Val::Int(to_i64(s))),
                    (Value::Size(s), Some("h")) => Some(Val::Int(to_i64(s.h))),
                    (Value::Size(s), Some("w")) => Some(Val::Int(to_i64(s.w))),
                    (Value::Size(s), Some("channels")) => Some(Val::Int(to_i64(s.c))),
                    (Value::PoolProj(p), Some("pool")) => Some(Val::Word(match p.pool {
                        PoolKind::Max => "max".into(),
                        PoolKind::Avg => "avg".into(),
                    })),
                    (Value::PoolProj(p), Some("proj")) => p.proj.map(|x| Val::Int(to_i64(x))),
                    (Value::Type(t), Some("fraction")) => match &t.arg {
                        Some(TypeArg::Percent { hundredths }) => Some(Val::Float(*hundredths as f64 / 10_000.0)),
                        _ => None,
                    },
                    (Value::Type(t), Some("repeat")) => t.repeat.map(|n| Val::Int(to_i64(n))),
                    (Value::Type(t), Some("stride")) => t.stride.map(|n| Val::Int(to_i64(n))),
                    (Value::Type(t), Some("kernel")) => {
                        t.carried_kernel().map(|(a, b)| Val::Pair(to_i64(a), to_i64(b)))
                    }
                    (Value::Type(t), Some("width")) => t.width().map(|n| Val::Int(to_i64(n))),
                    (Value::Type(t), Some("label")) => match &t.arg {
                        Some(TypeArg::Label(l)) => Some(Val::Word(l.clone())),
                        _ => None,
                    },
                    _ => None,
                }
            }
        }
    }

    /// The first alternative that has a value.
    pub fn expr(&self, e: &Expr) -> Result<Option<Val>, SpecError> {
        for alt in &e.alts {
            if let Some(v) = self.node(alt, e)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    /// One alternative's value: None where a term it needs is empty. Arithmetic is on
    /// integers and checked; an overflow or a division by zero is an error at its operator.
    fn node(&self, n: &Node, e: &Expr) -> Result<Option<Val>, SpecError> {
        let (op, lhs, rhs, at) = match n {
            Node::Term { term, .. } => return Ok(self.term(term)),
            Node::If { cond, then, otherwise } => {
                return match self.node(cond, e)? {
                    None => Ok(None),
                    Some(c) if truthy(&c) => self.node(then, e),
                    Some(_) => self.node(otherwise, e),
                };
            }
            Node::Bin { op, lhs, rhs, at } => (*op, lhs, rhs, *at),
        };
        let (Some(a), Some(b)) = (self.node(lhs, e)?, self.node(rhs, e)?) else {
            return Ok(None);
        };
        let at_loc = Loc {
            line: e.start.line,
            col: e.start.col + at,
        };
        let fail = |m: String| {
            self.err(
                at_loc,
                format!("{}: {} in {}", self.what, m, crate::quote::quote(&e.text)),
            )
        };
        use BinOp::*;
        let v = match (op, &a, &b) {
            (And, _, _) => Val::Bool(truthy(&a) && truthy(&b)),
            (Or, _, _) => Val::Bool(truthy(&a) || truthy(&b)),
            (Eq, _, _) => Val::Bool(a == b),
            (Ne, _, _) => Val::Bool(a != b),
            (Lt | Le | Gt | Ge, Val::Int(x), Val::Int(y)) => Val::Bool(match op {
                Lt => x < y,
                Le => x <= y,
                Gt => x > y,
                _ => x >= y,
            }),
            (Add | Sub | Mul | Div | Rem, Val::Int(x), Val::Int(y)) => {
                let r = match op {
                    Add => x.checked_add(*y),
                    Sub => x.checked_sub(*y),
                    Mul => x.checked_mul(*y),
                    Div if *y == 0 => return Err(fail(format!("{x} / 0 divides by zero"))),
                    Rem if *y == 0 => return Err(fail(format!("{x} % 0 divides by zero"))),
                    Div => x.checked_div(*y),
                    _ => x.checked_rem(*y),
                };
                Val::Int(r.ok_or_else(|| fail(format!("{x} {} {y} overflows 64 bits", op.symbol())))?)
            }
            _ => {
                return Err(fail(format!(
                    "{} needs integers, found {a} {} {b}",
                    op.symbol(),
                    op.symbol()
                )));
            }
        };
        Ok(Some(v))
    }

    /// An `if:`: true when the expression has a value other than 0 or false.
    pub fn holds(&self, e: &Expr) -> Result<bool, SpecError> {
        Ok(self.expr(e)?.is_some_and(|v| truthy(&v)))
    }

    pub fn arg(&self, a: &ArgDecl) -> Result<Option<Val>, SpecError> {
        match &a.value {
            Arg::Lit(l) => Ok(Some(Val::from(l))),
            Arg::Expr(e) => self.expr(e),
        }
    }

    /// The text of an argument, for messages.
    fn arg_text(a: &ArgDecl) -> String {
        match &a.value {
            Arg::Lit(l) => l.to_string(),
            Arg::Expr(e) => e.text.clone(),
        }
    }

    /// An argument that must evaluate: missing cells are reported at the argument.
    pub fn required(&self, args: &crate::spec::Args, name: &str, op: &str) -> Result<Val, SpecError> {
        let a = &args[name];
        self.arg(a)?.ok_or_else(|| {
            self.err(
                a.loc,
                format!(
                    "{} leaves {op}'s {name} undefined: {} names only empty cells",
                    self.what,
                    crate::quote::quote(&Self::arg_text(a))
                ),
            )
        })
    }

    /// A positive integer argument of layer `l`.
    pub fn positive(&self, l: &LayerDecl, name: &str, op: &str, default: Option<i64>) -> Result<i64, SpecError> {
        let args = &l.args;
        let v = match (args.get(name), default) {
            (Some(a), d) => match self.arg(a)? {
                Some(v) => v,
                None => match d {
                    Some(d) => return Ok(d),
                    None => return Err(self.required(args, name, op).unwrap_err()),
                },
            },
            (None, Some(d)) => return Ok(d),
            (None, None) => {
                return Err(self.err(
                    l.loc,
                    format!("{op} needs the argument {name}", name = crate::quote::quote(&name)),
                ));
            }
        };
        let loc = args.get(name).map_or(l.loc, |a| a.loc);
        match v {
            Val::Int(i) if i >= 1 => Ok(i),
            other => Err(self.err(
                loc,
                format!(
                    "{} gives {op}'s {name} the value {other}, expected a positive integer",
                    self.what
                ),
            )),
        }
    }

    /// A kernel, stride or size of layer `l`: an integer or a pair.
    pub fn pair(
        &self,
        l: &LayerDecl,
        name: &str,
        op: &str,
        default: Option<(i64, i64)>,
    ) -> Result<(i64, i64), SpecError> {
        let args = &l.args;
        let Some(a) = args.get(name) else {
            return default.ok_or_else(|| {
                self.err(
                    l.loc,
                    format!("{op} needs the argument {name}", name = crate::quote::quote(&name)),
                )
            });
        };
        let v = match (self.arg(a)?, default) {
            (Some(v), _) => v,
            (None, Some(d)) => return Ok(d),
            (None, None) => return Err(self.required(args, name, op).unwrap_err()),
        };
        match v {
            Val::Int(i) if i >= 1 => Ok((i, i)),
            Val::Pair(x, y) if x >= 1 && y >= 1 => Ok((x, y)),
            other => Err(self.err(
                a.loc,
                format!(
                    "{} gives {op}'s {name} the value {other}, expected a positive integer or pair",
                    self.what
                ),
            )),
        }
    }
}
