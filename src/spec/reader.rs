//! Reads the spec's YAML values with their positions: literals, expressions, arguments,
//! layers and names, every error at the place of the value it is about.

use indexmap::IndexMap;
use serde_yaml::Value;

use super::expr::Expect;
use super::template::{Arg, ArgDecl, Expr, LayerDecl, LayerOp, Lit};
use super::yaml::{Marks, Seg};
use super::{Loc, SpecError};

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
        let (op_name, args) = self.layer_entry(v, loc)?;
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
        match args {
            None | Some(Value::Null) => {}
            Some(Value::Mapping(m)) => {
                for (k, a) in m {
                    let Value::String(k) = k else {
                        return Err(self.err(self.at(&p), "expected argument names as text"));
                    };
                    self.layer_arg(&mut decl, &op_name, k, a, &p)?;
                }
            }
            Some(_) => return Err(self.err(self.at(&p), format!("expected the arguments of {op_name} as a mapping"))),
        }
        for r in op.args().0 {
            if !decl.args.contains_key(*r) {
                return Err(self.err(
                    loc,
                    format!("{op_name} needs the argument {r}", r = crate::quote::quote(&r)),
                ));
            }
        }
        Ok(decl)
    }

    /// A layer item's op name and its arguments, if written.
    fn layer_entry<'v>(&self, v: &'v Value, loc: Loc) -> Result<(String, Option<&'v Value>), SpecError> {
        match v {
            Value::String(s) => Ok((s.clone(), None)),
            Value::Mapping(m) if m.len() == 1 => {
                let (k, a) = m.iter().next().expect("one entry");
                let Value::String(k) = k else {
                    return Err(self.err(loc, "expected a layer name such as conv or max_pool as the key"));
                };
                Ok((k.clone(), Some(a)))
            }
            Value::Mapping(m) => Err(self.err(
                loc,
                format!(
                    "expected one layer per list item (op: {{args}}), found {} keys",
                    m.len()
                ),
            )),
            _ => Err(self.err(loc, "expected a layer (op: {args})")),
        }
    }

    /// The argument `k: a` of the layer `decl` (`op_name`, at `p`): its name, its
    /// condition, or one of the op's arguments.
    fn layer_arg(&self, decl: &mut LayerDecl, op_name: &str, k: &str, a: &Value, p: &[Seg]) -> Result<(), SpecError> {
        let (required, optional) = decl.op.args();
        let mut ap = p.to_vec();
        ap.push(Seg::Key(k.to_string()));
        match k {
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
            _ if required.contains(&k) || optional.contains(&k) => {
                decl.args.insert(k.to_string(), self.arg(a, &ap)?);
            }
            _ => {
                let mut all: Vec<&str> = required.iter().chain(optional).copied().collect();
                all.extend(["name", "if"]);
                return Err(self
                    .err(
                        self.marks.key(&ap),
                        format!(
                            "unknown argument {k} of {op_name}, expected one of {}",
                            all.join(", "),
                            k = crate::quote::quote(&k)
                        ),
                    )
                    .coded(crate::diag::code::UNKNOWN_NAME));
            }
        }
        Ok(())
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
    use crate::spec::template::{Arg, LayerOp, Term};

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
