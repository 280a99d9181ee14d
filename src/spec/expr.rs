//! The template expression grammar (nom), beside the cell grammar: `{alt or alt ...}`, where
//! `or` takes the first alternative that has a value, and an alternative is a small integer
//! expression over terms:
//!
//! ```text
//! alt   := "if " logic " then " alt " else " alt | logic
//! logic := cmp (" || " cmp | " && " cmp)*      (left to right)
//! cmp   := sum ((" == " | " != " | " <= " | " >= " | " < " | " > ") sum)?
//! sum   := prod ((" + " | " - ") prod)*
//! prod  := term ((" * " | " / " | " % ") term)*
//! term  := integer | classes | var.NAME | in.FIELD | model[.FIELD] | column[.FIELD]
//! ```
//!
//! Operators are spaced (` * `), because column names hold `/`, `-` and `#` (`patch
//! size/stride`, `18-layer`). There are no parentheses: every expression a template needs
//! so far reads left to right. Each error names the term it is about by its offset, so a
//! message points at the term, not at the whole expression.

use nom::branch::alt;
use nom::bytes::complete::tag;
use nom::character::complete::{anychar, char, digit1};
use nom::combinator::{all_consuming, map, not, opt, recognize, rest, verify};
use nom::multi::{many0, many1};
use nom::sequence::{pair, preceded};
use nom::{IResult, Parser};

use super::template::Term;

/// What a production wanted where an expression does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A column, `var.NAME`, `classes` or a number (found an empty term).
    Term,
    /// An integer: the term starts like a number but is not one that fits 64 bits.
    Integer,
    /// A variable's name after `var.`.
    VarName,
    /// ` then ` after the condition of `if`.
    Then,
    /// ` else ` after the value of `if … then`.
    Else,
    /// At most [`MAX_OPERATORS`] operators and `if`s in one alternative.
    Shorter,
}

/// The most operators (and `if`s) one alternative may hold: far more than a template needs,
/// and what keeps the tree shallow enough to evaluate without deep recursion.
pub const MAX_OPERATORS: usize = 64;

/// An expression that does not parse: what was expected, at which term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub expected: Expect,
    /// The offending term as written (trimmed).
    pub found: String,
    /// Its offset in the expression's text, in characters.
    pub offset: usize,
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "&&",
            BinOp::Or => "||",
        }
    }
}

/// One alternative, as a tree. `at` is the character offset of the term (or, for an
/// operator, of its right operand) in the expression's text, for messages.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Term {
        term: Term,
        at: usize,
    },
    Bin {
        op: BinOp,
        lhs: Box<Node>,
        rhs: Box<Node>,
        at: usize,
    },
    If {
        cond: Box<Node>,
        then: Box<Node>,
        otherwise: Box<Node>,
    },
}

/// A parsed expression: its alternatives, and every term it reads (for the load-time check).
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub alts: Vec<Node>,
    pub terms: Vec<Term>,
}

/// One alternative's text: everything up to the next ` or `.
fn alt_text(i: &str) -> IResult<&str, &str> {
    recognize(many0(preceded(not(tag(" or ")), anychar))).parse(i)
}

fn integer(i: &str) -> IResult<&str, &str> {
    recognize(pair(opt(char('-')), digit1)).parse(i)
}

fn name(i: &str) -> IResult<&str, &str> {
    verify(rest, |s: &str| !s.is_empty()).parse(i)
}

/// A column, optionally with `.field`: `output size.channels`.
fn column(i: &str) -> IResult<&str, Term> {
    map(rest, |s: &str| match s.split_once('.') {
        Some((c, f)) => Term::Column {
            column: c.trim().to_string(),
            field: Some(f.trim().to_string()),
        },
        None => Term::Column {
            column: s.to_string(),
            field: None,
        },
    })
    .parse(i)
}

/// `in.channels`: a derived fact of the step's input.
fn input_fact(i: &str) -> IResult<&str, Term> {
    map(preceded(tag("in."), name), |f: &str| Term::In(f.trim().to_string())).parse(i)
}

/// `model` or `model.out`: the cell of the architecture column being built.
fn model(i: &str) -> IResult<&str, Term> {
    let bare = map(all_consuming(tag("model")), |_| Term::Model(None));
    let field = map(preceded(tag("model."), name), |f: &str| {
        Term::Model(Some(f.trim().to_string()))
    });
    alt((bare, field)).parse(i)
}

/// One trimmed, non-empty term.
fn term(t: &str) -> Result<Term, Expect> {
    if let Ok((_, digits)) = all_consuming(integer).parse(t) {
        return digits.parse().map(Term::Int).map_err(|_| Expect::Integer);
    }
    if t.starts_with('-') || t.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(Expect::Integer);
    }
    if let Some(v) = t.strip_prefix("var.") {
        return all_consuming(name)
            .parse(v)
            .map(|(_, n)| Term::Var(n.to_string()))
            .map_err(|_| Expect::VarName);
    }
    let classes = map(all_consuming(tag("classes")), |_| Term::Classes);
    alt((classes, input_fact, model, column))
        .parse(t)
        .map(|(_, term)| term)
        .map_err(|_| Expect::Term)
}

/// Every operator, in the order [`operator`] tries them: a symbol before any shorter one it
/// starts with (`<=` before `<`).
const OPERATORS: [BinOp; 13] = [
    BinOp::Eq,
    BinOp::Ne,
    BinOp::Le,
    BinOp::Ge,
    BinOp::Lt,
    BinOp::Gt,
    BinOp::Add,
    BinOp::Sub,
    BinOp::Mul,
    BinOp::Div,
    BinOp::Rem,
    BinOp::And,
    BinOp::Or,
];

/// An operator token at the start of `i`, spaces included: ` * `.
fn operator(i: &str) -> IResult<&str, BinOp> {
    let spaced = |op: &BinOp| {
        let rest = i.strip_prefix(' ')?.strip_prefix(op.symbol())?.strip_prefix(' ')?;
        Some((rest, *op))
    };
    OPERATORS
        .iter()
        .find_map(spaced)
        .ok_or_else(|| nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Tag)))
}

/// A term's text: up to the next operator, ` then ` or ` else `.
fn term_text(i: &str) -> IResult<&str, &str> {
    let stop = alt((
        map(operator, |_| ()),
        map(tag(" then "), |_| ()),
        map(tag(" else "), |_| ()),
    ));
    recognize(many1(preceded(not(stop), anychar))).parse(i)
}

/// The parser of one alternative; `base` is the byte offset of its text in the whole
/// expression, `full` the whole text (to count characters for offsets).
struct AltParser<'a> {
    full: &'a str,
    base: usize,
    len: usize,
    /// Operators and `if`s read so far.
    operators: std::cell::Cell<usize>,
}

type Res<'a, T> = Result<(&'a str, T), ExprError>;

impl<'a> AltParser<'a> {
    /// Character offset of the remaining input `rest` within the whole text.
    fn offset(&self, rest: &str) -> usize {
        let byte = self.base + (self.len - rest.len());
        self.full[..byte].chars().count()
    }

    /// Counts one operator or `if` at `rest`; refuses one past [`MAX_OPERATORS`].
    fn count(&self, rest: &str) -> Result<(), ExprError> {
        self.operators.set(self.operators.get() + 1);
        if self.operators.get() > MAX_OPERATORS {
            return Err(self.fail(Expect::Shorter, "", rest));
        }
        Ok(())
    }

    fn fail(&self, expected: Expect, found: &str, rest: &str) -> ExprError {
        ExprError {
            expected,
            found: found.trim().to_string(),
            offset: self.offset(rest),
        }
    }

    fn atom(&self, i: &'a str) -> Res<'a, Node> {
        let (after, raw) = term_text(i).unwrap_or((i, ""));
        let lead = raw.len() - raw.trim_start().len();
        let t = raw.trim();
        let at = self.offset(&i[lead..]);
        let parsed = if t.is_empty() { Err(Expect::Term) } else { term(t) };
        match parsed {
            Ok(term) => Ok((after, Node::Term { term, at })),
            Err(expected) => Err(ExprError {
                expected,
                found: t.to_string(),
                offset: at,
            }),
        }
    }

    /// One precedence level: `next (op next)*` for the operators `ops`, left to right.
    fn level(
        &self,
        i: &'a str,
        ops: &[BinOp],
        next: &dyn Fn(&Self, &'a str) -> Res<'a, Node>,
        once: bool,
    ) -> Res<'a, Node> {
        let (mut rest, mut lhs) = next(self, i)?;
        loop {
            match operator(rest) {
                Ok((after, op)) if ops.contains(&op) => {
                    self.count(after)?;
                    let at = self.offset(after);
                    let (r, rhs) = next(self, after)?;
                    lhs = Node::Bin {
                        op,
                        lhs: Box::new(lhs),
                        rhs: Box::new(rhs),
                        at,
                    };
                    rest = r;
                    if once {
                        return Ok((rest, lhs));
                    }
                }
                _ => return Ok((rest, lhs)),
            }
        }
    }

    fn prod(&self, i: &'a str) -> Res<'a, Node> {
        self.level(i, &[BinOp::Mul, BinOp::Div, BinOp::Rem], &|p, i| p.atom(i), false)
    }

    fn sum(&self, i: &'a str) -> Res<'a, Node> {
        self.level(i, &[BinOp::Add, BinOp::Sub], &|p, i| p.prod(i), false)
    }

    fn cmp(&self, i: &'a str) -> Res<'a, Node> {
        use BinOp::*;
        self.level(i, &[Eq, Ne, Lt, Le, Gt, Ge], &|p, i| p.sum(i), true)
    }

    fn logic(&self, i: &'a str) -> Res<'a, Node> {
        self.level(i, &[BinOp::And, BinOp::Or], &|p, i| p.cmp(i), false)
    }

    fn alternative(&self, i: &'a str) -> Res<'a, Node> {
        let Some(c) = i.strip_prefix("if ") else {
            return self.logic(i);
        };
        self.count(i)?;
        let (rest, cond) = self.logic(c)?;
        let Ok((rest, _)) = tag::<_, _, nom::error::Error<&str>>(" then ").parse(rest) else {
            return Err(self.fail(Expect::Then, rest, rest));
        };
        let (rest, then) = self.alternative_until_else(rest)?;
        let Ok((rest, _)) = tag::<_, _, nom::error::Error<&str>>(" else ").parse(rest) else {
            return Err(self.fail(Expect::Else, rest, rest));
        };
        let (rest, otherwise) = self.alternative(rest)?;
        Ok((
            rest,
            Node::If {
                cond: Box::new(cond),
                then: Box::new(then),
                otherwise: Box::new(otherwise),
            },
        ))
    }

    /// The `then` value: a plain expression (a nested `if` goes after `else`).
    fn alternative_until_else(&self, i: &'a str) -> Res<'a, Node> {
        self.logic(i)
    }
}

fn collect_terms(n: &Node, out: &mut Vec<Term>) {
    match n {
        Node::Term { term, .. } => out.push(term.clone()),
        Node::Bin { lhs, rhs, .. } => {
            collect_terms(lhs, out);
            collect_terms(rhs, out);
        }
        Node::If { cond, then, otherwise } => {
            collect_terms(cond, out);
            collect_terms(then, out);
            collect_terms(otherwise, out);
        }
    }
}

/// Parses an expression's text, braces included or not.
pub fn parse_expr(text: &str) -> Result<Parsed, ExprError> {
    let lead = text.len() - text.trim_start().len();
    let trimmed = text.trim();
    let (inner, mut at) = match trimmed.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        Some(inner) => (inner, lead + 1),
        None => (trimmed, lead),
    };
    let mut alts = Vec::new();
    let mut terms = Vec::new();
    let mut input = inner;
    loop {
        let (after, raw) = alt_text(input).expect("alt_text accepts any input");
        let lead = raw.len() - raw.trim_start().len();
        let body = raw.trim();
        let p = AltParser {
            full: text,
            base: at + lead,
            len: body.len(),
            operators: std::cell::Cell::new(0),
        };
        // An operator with nothing after it (`{a * }`): trimming took the space that makes
        // it one.
        let dangling = OPERATORS
            .iter()
            .map(|op| op.symbol())
            .any(|op| body.len() > op.len() && body.ends_with(&format!(" {op}")));
        if dangling {
            return Err(ExprError {
                expected: Expect::Term,
                found: String::new(),
                offset: text[..at + lead + body.len()].chars().count(),
            });
        }
        let node = if body.is_empty() {
            return Err(ExprError {
                expected: Expect::Term,
                found: String::new(),
                offset: text[..at + lead].chars().count(),
            });
        } else {
            let (rest, node) = p.alternative(body)?;
            if !rest.is_empty() {
                // Only an operator or keyword can stop a term early; what is left is a
                // dangling one (`a +`, `if a then b`).
                return Err(p.fail(Expect::Term, rest, rest));
            }
            node
        };
        collect_terms(&node, &mut terms);
        alts.push(node);
        match after.strip_prefix(" or ") {
            Some(next) => {
                at += raw.len() + 4;
                input = next;
            }
            None => return Ok(Parsed { alts, terms }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The terms of an expression, in order (every alternative's).
    fn parse(text: &str) -> Result<Vec<Term>, ExprError> {
        parse_expr(text).map(|p| p.terms)
    }

    fn col(c: &str, f: Option<&str>) -> Term {
        Term::Column {
            column: c.into(),
            field: f.map(Into::into),
        }
    }

    fn fails(text: &str) -> (Expect, String, usize) {
        let e = parse(text).unwrap_err();
        (e.expected, e.found, e.offset)
    }

    #[test]
    fn integer_terms() {
        assert_eq!(parse("{7}"), Ok(vec![Term::Int(7)]));
        assert_eq!(parse("{-3}"), Ok(vec![Term::Int(-3)]));
        assert_eq!(fails("{7x}"), (Expect::Integer, "7x".into(), 1));
        assert_eq!(
            fails("{99999999999999999999}"),
            (Expect::Integer, "99999999999999999999".into(), 1)
        );
        assert_eq!(fails("{-}"), (Expect::Integer, "-".into(), 1));
    }

    #[test]
    fn classes_and_vars() {
        assert_eq!(parse("{classes}"), Ok(vec![Term::Classes]));
        assert_eq!(parse("{var.width}"), Ok(vec![Term::Var("width".into())]));
        assert_eq!(fails("{var.}"), (Expect::VarName, "var.".into(), 1));
        // Not the keyword: a column that happens to start with it.
        assert_eq!(parse("{classes x}"), Ok(vec![col("classes x", None)]));
    }

    #[test]
    fn columns_with_fields() {
        assert_eq!(parse("{#3×3 reduce}"), Ok(vec![col("#3×3 reduce", None)]));
        assert_eq!(
            parse("{output size.channels}"),
            Ok(vec![col("output size", Some("channels"))])
        );
        assert_eq!(parse("pool_proj"), Ok(vec![col("pool_proj", None)]));
        // '/' and '-' without spaces belong to the name.
        assert_eq!(
            parse("{patch size/stride.kernel}"),
            Ok(vec![col("patch size/stride", Some("kernel"))])
        );
        // A name that starts like a number is read as one (templates read architecture
        // columns as `model`).
        assert_eq!(fails("{18-layer}"), (Expect::Integer, "18-layer".into(), 1));
    }

    #[test]
    fn alternatives() {
        assert_eq!(
            parse("{#3×3 or output size.channels or 7}"),
            Ok(vec![
                col("#3×3", None),
                col("output size", Some("channels")),
                Term::Int(7)
            ])
        );
        // "or" inside a name is not a separator; only " or " is.
        assert_eq!(
            parse("{colour or floor}"),
            Ok(vec![col("colour", None), col("floor", None)])
        );
    }

    #[test]
    fn input_facts_and_the_model_cell() {
        assert_eq!(parse("{in.channels}"), Ok(vec![Term::In("channels".into())]));
        assert_eq!(parse("{model}"), Ok(vec![Term::Model(None)]));
        assert_eq!(parse("{model.out}"), Ok(vec![Term::Model(Some("out".into()))]));
        // A column that only starts with the word.
        assert_eq!(parse("{models}"), Ok(vec![col("models", None)]));
    }

    #[test]
    fn arithmetic_reads_left_to_right_with_precedence() {
        let p = parse_expr("{in.channels * 4 + 1}").unwrap();
        let Node::Bin {
            op: BinOp::Add, lhs, ..
        } = &p.alts[0]
        else {
            panic!("{:?}", p.alts[0])
        };
        assert!(matches!(**lhs, Node::Bin { op: BinOp::Mul, .. }));
        assert_eq!(p.terms, vec![Term::In("channels".into()), Term::Int(4), Term::Int(1)]);
        let p = parse_expr("{var.stride != 1 || in.channels != var.out}").unwrap();
        assert!(matches!(p.alts[0], Node::Bin { op: BinOp::Or, .. }));
    }

    #[test]
    fn conditionals() {
        let p = parse_expr("{if var.i == 0 then var.stride else 1}").unwrap();
        assert!(matches!(p.alts[0], Node::If { .. }));
        assert_eq!(p.terms.len(), 4);
        // Nested after else.
        assert!(parse_expr("{if a then 1 else if b then 2 else 3}").is_ok());
        assert_eq!(fails("{if a 1 else 2}"), (Expect::Then, "else 2".into(), 7));
        assert_eq!(fails("{if a then 1}"), (Expect::Else, "".into(), 12));
    }

    #[test]
    fn errors_point_at_their_term() {
        // Offsets count characters: '×' is one.
        assert_eq!(fails("{#3×3 or  or 7}"), (Expect::Term, "".into(), 9));
        assert_eq!(fails("{a or }"), (Expect::Term, "".into(), 6));
        assert_eq!(fails("{a or 1.5}"), (Expect::Integer, "1.5".into(), 6));
        assert_eq!(fails("  {a or b or 12abc}"), (Expect::Integer, "12abc".into(), 13));
        assert_eq!(fails("{}"), (Expect::Term, "".into(), 1));
        assert_eq!(fails("{a * 2x}"), (Expect::Integer, "2x".into(), 5));
        assert_eq!(fails("{a +  * 2}"), (Expect::Term, "".into(), 5));
        assert_eq!(fails("{a * }"), (Expect::Term, "".into(), 4));
        // Bounded: a long chain is refused, not evaluated by deep recursion.
        let long = format!("{{{}}}", vec!["1"; MAX_OPERATORS + 2].join(" + "));
        assert_eq!(fails(&long).0, Expect::Shorter);
        assert!(parse(&format!("{{{}}}", vec!["1"; MAX_OPERATORS + 1].join(" + "))).is_ok());
        let nested = format!("{{{}1}}", "if a then 1 else ".repeat(MAX_OPERATORS + 1));
        assert_eq!(fails(&nested).0, Expect::Shorter);
        assert_eq!(fails("{a or b -}"), (Expect::Term, "".into(), 9));
    }
}
