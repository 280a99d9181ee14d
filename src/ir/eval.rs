//! Evaluates template expressions against one row's cells.

use indexmap::IndexMap;

use crate::spec::cell::{PoolKind, TypeArg};
use crate::spec::template::{Arg, ArgDecl, Expr, LayerDecl, Lit, Term};
use crate::spec::{Cell, Loc, SpecError, Value};

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
                    (Value::Type(t), Some("label")) => match &t.arg {
                        Some(TypeArg::Label(l)) => Some(Val::Word(l.clone())),
                        _ => None,
                    },
                    _ => None,
                }
            }
        }
    }

    /// The first term that has a value.
    pub fn expr(&self, e: &Expr) -> Option<Val> {
        e.terms.iter().find_map(|t| self.term(t))
    }

    /// An `if:`: true when the expression has a value other than 0.
    pub fn holds(&self, e: &Expr) -> bool {
        !matches!(self.expr(e), None | Some(Val::Int(0)) | Some(Val::Bool(false)))
    }

    pub fn arg(&self, a: &ArgDecl) -> Option<Val> {
        match &a.value {
            Arg::Lit(l) => Some(Val::from(l)),
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
    pub fn required(&self, args: &crate::spec::template::Args, name: &str, op: &str) -> Result<Val, SpecError> {
        let a = &args[name];
        self.arg(a).ok_or_else(|| {
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
            (Some(a), d) => match self.arg(a) {
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
        let v = match (self.arg(a), default) {
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
