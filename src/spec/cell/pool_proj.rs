//! Pool projection cells of Inception tables: `avg + 32`, `max + pass through`.

use std::fmt;

use nom::{
    Parser,
    branch::alt,
    bytes::complete::tag_no_case,
    character::complete::char,
    combinator::{cut, map, opt, value},
};

use super::{CellError, END, Res, expect, failure, number, run_cell, ws};

/// The pooling of an Inception module's pool-projection branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    Max,
    Avg,
}

/// A pool projection cell: `avg + 32`, `max + pass through`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolProj {
    pub pool: PoolKind,
    /// Width of the 1×1 projection after the pooling, in `1..=MAX_NUMBER`; `None` means the
    /// pooled input passes through unprojected.
    pub proj: Option<u64>,
}

impl fmt::Display for PoolKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PoolKind::Max => "max",
            PoolKind::Avg => "avg",
        })
    }
}

impl fmt::Display for PoolProj {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.proj {
            Some(width) => write!(f, "{} + {width}", self.pool),
            None => write!(f, "{} + pass through", self.pool),
        }
    }
}

/// Parses a pool projection cell: `avg + 32`, `max + pass through`.
pub fn parse_pool_proj(s: &str) -> Result<PoolProj, CellError> {
    run_cell(s, pool_proj, END)
}

/// A pool kind: `max`, `avg`, `average` (any case).
fn pool_kind(i: &str) -> Res<'_, PoolKind> {
    expect("'max' or 'avg'", pool_word).parse(i)
}

/// The word of a pool kind, `max`, `average` or `avg` (any case), failing recoverably (the
/// layers grammar tries it where other forms may follow).
pub(super) fn pool_word(i: &str) -> Res<'_, PoolKind> {
    alt((
        value(PoolKind::Max, tag_no_case("max")),
        value(PoolKind::Avg, tag_no_case("average")),
        value(PoolKind::Avg, tag_no_case("avg")),
    ))
    .parse(i)
}

/// Pass through: `pass through`, `pass-through`, `passthrough`, `Pass Through`.
fn pass_through(i: &str) -> Res<'_, ()> {
    let through = cut(expect("'through' after 'pass'", tag_no_case("through")));
    value((), (tag_no_case("pass"), ws, opt(char('-')), ws, through)).parse(i)
}

/// A projection: a positive width `32`, or [`pass_through`] (`None`).
fn projection(i: &str) -> Res<'_, Option<u64>> {
    const WHAT: &str = "a positive projection width or 'pass through'";
    let width = map(|i| number(i, WHAT), Some);
    let (rest, proj) = expect(WHAT, alt((value(None, pass_through), width))).parse(i)?;
    if proj == Some(0) {
        return Err(failure(i, WHAT, Some(i[..i.len() - rest.len()].to_string())));
    }
    Ok((rest, proj))
}

/// A pool projection: `avg + 32`, `max+128`, `max + pass through`, `average + 64`.
fn pool_proj(i: &str) -> Res<'_, PoolProj> {
    let (i, pool) = pool_kind(i)?;
    let (i, _) = (ws, cut(expect("'+'", char('+'))), ws).parse(i)?;
    let (i, proj) = projection(i).map_err(|e| match e {
        nom::Err::Error(e) => nom::Err::Failure(e),
        other => other,
    })?;
    Ok((i, PoolProj { pool, proj }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::cell::tests::rejects_each;

    fn pp(pool: PoolKind, proj: Option<u64>) -> PoolProj {
        PoolProj { pool, proj }
    }

    #[test]
    fn accepts() {
        assert_eq!(parse_pool_proj("avg + 32"), Ok(pp(PoolKind::Avg, Some(32))));
        assert_eq!(parse_pool_proj("max + 128"), Ok(pp(PoolKind::Max, Some(128))));
        assert_eq!(parse_pool_proj("max+128"), Ok(pp(PoolKind::Max, Some(128))));
        assert_eq!(parse_pool_proj("average + 64"), Ok(pp(PoolKind::Avg, Some(64))));
        assert_eq!(parse_pool_proj("Max + 64"), Ok(pp(PoolKind::Max, Some(64))));
        assert_eq!(parse_pool_proj("max + pass through"), Ok(pp(PoolKind::Max, None)));
        assert_eq!(parse_pool_proj("max + pass-through"), Ok(pp(PoolKind::Max, None)));
        assert_eq!(parse_pool_proj("max + pass - through"), Ok(pp(PoolKind::Max, None)));
        assert_eq!(parse_pool_proj("max + passthrough"), Ok(pp(PoolKind::Max, None)));
        assert_eq!(parse_pool_proj("avg + Pass Through "), Ok(pp(PoolKind::Avg, None)));
    }

    #[test]
    fn rejects_bad_cells() {
        const PROJ: &str = "a positive projection width or 'pass through'";
        rejects_each(
            parse_pool_proj,
            &[
                ("", 0, "'max' or 'avg'", "end of cell"),
                ("min + 3", 0, "'max' or 'avg'", "'m'"),
                ("avg +", 5, PROJ, "end of cell"),
                ("avg + ", 6, PROJ, "end of cell"),
                ("avg + 0", 6, PROJ, "0"),
                ("avg + -3", 6, PROJ, "'-'"),
                ("avg + q", 6, PROJ, "'q'"),
                ("max + pass", 10, "'through' after 'pass'", "end of cell"),
                ("max + pass by", 11, "'through' after 'pass'", "'b'"),
                ("max 32", 4, "'+'", "'3'"),
                ("max", 3, "'+'", "end of cell"),
                ("max + 32 + 3", 9, "end of cell", "'+'"),
                ("max + 1099511627777", 6, "a number at most", "1099511627777"),
            ],
        );
    }

    #[test]
    fn displays_canonically() {
        let shown = |s: &str| parse_pool_proj(s).unwrap().to_string();
        assert_eq!(shown("average+32"), "avg + 32");
        assert_eq!(shown("MAX + passthrough"), "max + pass through");
    }
}
