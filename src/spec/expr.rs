//! The template expression grammar (nom), beside the cell grammar: `{term or term ...}`,
//! where a term is an integer, `classes`, `var.NAME`, or a column with an optional field
//! (`#3×3`, `output size.channels`). Each error names the term it is about by its offset,
//! so a message points at the term, not at the whole expression.

use nom::branch::alt;
use nom::bytes::complete::tag;
use nom::character::complete::{anychar, char, digit1};
use nom::combinator::{all_consuming, map, not, opt, recognize, rest, verify};
use nom::multi::many0;
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
}

/// An expression that does not parse: what was expected, at which term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub expected: Expect,
    /// The offending term as written (trimmed).
    pub found: String,
    /// Its offset in the expression's text, in characters.
    pub offset: usize,
}

/// One term's text: everything up to the next ` or `.
fn term_text(i: &str) -> IResult<&str, &str> {
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
    alt((classes, column))
        .parse(t)
        .map(|(_, term)| term)
        .map_err(|_| Expect::Term)
}

/// Parses an expression's text, braces included or not.
pub fn parse(text: &str) -> Result<Vec<Term>, ExprError> {
    let lead = text.len() - text.trim_start().len();
    let trimmed = text.trim();
    let (inner, mut at) = match trimmed.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        Some(inner) => (inner, lead + 1),
        None => (trimmed, lead),
    };
    let mut terms = Vec::new();
    let mut input = inner;
    loop {
        let (after, raw) = term_text(input).expect("term_text accepts any input");
        let t = raw.trim();
        let offset = text[..at + (raw.len() - raw.trim_start().len())].chars().count();
        let parsed = if t.is_empty() { Err(Expect::Term) } else { term(t) };
        terms.push(parsed.map_err(|expected| ExprError {
            expected,
            found: t.to_string(),
            offset,
        })?);
        match after.strip_prefix(" or ") {
            Some(next) => {
                at += raw.len() + 4;
                input = next;
            }
            None => return Ok(terms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn errors_point_at_their_term() {
        // Offsets count characters: '×' is one.
        assert_eq!(fails("{#3×3 or  or 7}"), (Expect::Term, "".into(), 9));
        assert_eq!(fails("{a or }"), (Expect::Term, "".into(), 6));
        assert_eq!(fails("{a or 1.5}"), (Expect::Integer, "1.5".into(), 6));
        assert_eq!(fails("  {a or b or 12abc}"), (Expect::Integer, "12abc".into(), 13));
        assert_eq!(fails("{}"), (Expect::Term, "".into(), 1));
    }
}
