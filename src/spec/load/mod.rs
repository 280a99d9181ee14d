//! From a spec file's text to a validated [`Spec`]: every cell parsed with its column's
//! grammar, every template reference resolved, every problem reported at its line and column.

mod cells;
mod figures;
mod header;
mod input_size;
mod rows;
mod templates;
mod variants;

use std::sync::Arc;

use indexmap::IndexMap;
use serde_yaml::Value;

use super::cell::{self, CellError, TypeArg};
use super::file::{
    AuxHeadFile, ConventionsFile, LineageCallFile, RowOverrideFile, SpecFile, TemplateFile, VariantFile,
};
use super::reader::{Reader, check_name, check_path};
use super::steps::Step;
use super::template::{Arg, Branch, Expr, LayerDecl, LayerOp, Lit, Template, TemplateBody, Term};
use super::yaml::{self, Seg};
use super::{
    AuxHead, BatchNorm, Cell, Column, ColumnKind, Conventions, Input, Lineage, Loc, Row, RowOverride, Spec, SpecError,
    Value as CellValue, Variant,
};
use crate::diag::code;
use crate::source::Source;

/// Reads and validates the spec at `path`.
pub fn load_file(path: &std::path::Path) -> Result<Spec, SpecError> {
    load_source(Arc::new(read_source(path, crate::source::DEFAULT_MAX_BYTES)?))
}

/// Reads a spec file once, bounded (see [`crate::source`]); [`load_source`] keeps the text
/// in the spec for rendering.
pub fn read_source(path: &std::path::Path, max_bytes: u64) -> Result<Source, SpecError> {
    Source::read(path, "the spec", max_bytes).map_err(|e| SpecError::read(path, e))
}

/// Validates a spec given as text; `file` names it in messages.
pub fn load_str(text: &str, file: &str) -> Result<Spec, SpecError> {
    load_source(Arc::new(Source::new(file, text.to_string())))
}

/// Validates the spec read as `source`, which the spec keeps ([`Spec::source`]); the
/// source's name names it in messages.
pub fn load_source(source: Arc<Source>) -> Result<Spec, SpecError> {
    let file = source.name.as_str();
    // A byte-order mark (editors on Windows write one) is not part of the first key; the
    // mark is zero-width, so columns counted without it are the ones an editor shows.
    let text = source.text.strip_prefix('\u{feff}').unwrap_or(&source.text);
    refuse_unprintable(text, file)?;
    let (marks, typed) = parse_twice(text);
    let marks = marks.map_err(|e| yaml_error(text, file, e))?;
    let typed = typed.ok_or_else(|| {
        SpecError::new(file, Loc::default(), "the YAML parser stopped unexpectedly").coded(code::YAML)
    })?;
    let raw: SpecFile = typed.map_err(|e| skeleton_error(text, file, &e))?;
    let r = Reader {
        file,
        marks: &marks,
        source: text,
    };
    Loader { r }.spec(raw, source.clone())
}

/// A control character YAML does not allow, at its place.
fn refuse_unprintable(text: &str, file: &str) -> Result<(), SpecError> {
    match yaml::first_unprintable(text) {
        None => Ok(()),
        Some((loc, c)) => Err(SpecError::new(
            file,
            loc,
            format!(
                "the file holds the control character {}, which YAML does not allow (write it as an escape in double quotes)",
                crate::quote::quote(&c)
            ),
        )
        .coded(code::YAML)),
    }
}

type Parsed = (
    Result<yaml::Marks, yaml::YamlError>,
    Option<Result<SpecFile, serde_yaml::Error>>,
);

/// The positions of every node and the typed skeleton, from two parsers; `None` for the
/// skeleton where it was not parsed.
fn parse_twice(text: &str) -> Parsed {
    // On two cores the parsers run side by side. Only without anchors, though: marks() is
    // what bounds alias expansion, so a file with aliases must pass it before serde_yaml
    // expands anything.
    // An anchor is '&' followed by its name; "Ioffe & Szegedy" is not one.
    let has_anchor = text
        .as_bytes()
        .windows(2)
        .any(|w| w[0] == b'&' && !w[1].is_ascii_whitespace());
    if has_anchor {
        let marks = yaml::marks(text);
        let typed = if marks.is_ok() {
            Some(serde_yaml::from_str::<SpecFile>(text))
        } else {
            None
        };
        (marks, typed)
    } else {
        std::thread::scope(|scope| {
            let typed = scope.spawn(|| serde_yaml::from_str::<SpecFile>(text));
            let marks = yaml::marks(text);
            (marks, typed.join().ok())
        })
    }
}

/// The YAML reader's error as a spec error.
fn yaml_error(text: &str, file: &str, e: yaml::YamlError) -> SpecError {
    // yaml-rust2 refuses a tab after a key's ':' and points past it; YAML allows one, so
    // say what to change, at the tab.
    let tab_before = e.loc.col > 1
        && text
            .split('\n')
            .nth(e.loc.line.saturating_sub(1))
            .and_then(|l| l.chars().nth(e.loc.col - 2))
            == Some('\t');
    if e.message.contains("':' must be followed by a valid YAML whitespace") && tab_before {
        return SpecError::new(
            file,
            Loc {
                line: e.loc.line,
                col: e.loc.col - 1,
            },
            "a tab separates ':' from its value, and the YAML reader takes only spaces there: write a space",
        )
        .coded(code::YAML);
    }
    let mut error = SpecError::new(file, e.loc, e.message).coded(e.code);
    if let Some((loc, what)) = e.related {
        error = error.related(loc, what);
    }
    error
}

/// serde's error on the typed skeleton, in the user's words.
fn skeleton_error(text: &str, file: &str, e: &serde_yaml::Error) -> SpecError {
    let loc = e
        .location()
        .map(|l| Loc {
            line: l.line(),
            col: l.column(),
        })
        .unwrap_or_default();
    let message = skeleton_message(text, loc, e.to_string());
    // serde says `unknown field `x`, expected one of ...`: its own kind of error.
    let kind = if message.starts_with("unknown field") || message.contains(": unknown field") {
        code::UNKNOWN_FIELD
    } else {
        code::STRUCTURE
    };
    SpecError::new(file, loc, message).coded(kind)
}

/// serde's message without its position, with numbers as the file writes them and the
/// skeleton's Rust types as the kinds of value they stand for.
fn skeleton_message(text: &str, loc: Loc, mut message: String) -> String {
    if let Some(i) = message.find(" at line ") {
        message.truncate(i);
    }
    // Integers beyond 64 bits reach serde as 128-bit ones and are rejected as a type.
    if let Some(i) = message
        .find("invalid type: integer `")
        .filter(|_| message.contains("128, expected"))
    {
        let n: String = message[i..]
            .chars()
            .skip_while(|c| *c != '`')
            .skip(1)
            .take_while(|c| *c != '`')
            .collect();
        message = format!("{}expected a number of at most 64 bits, found {n}", &message[..i]);
    }
    // serde quotes YAML's reading of a number (`16.0` for 1.6e1): quote the file's text.
    if let Some(i) = message.find("floating point `").or_else(|| message.find("integer `"))
        && let Some(written) = yaml::plain_scalar_at(text, loc)
    {
        let open = i + message[i..].find('`').unwrap_or(0) + 1;
        if let Some(len) = message[open..].find('`') {
            message.replace_range(open..open + len, written);
        }
    }
    // The skeleton's types are ours, not the user's: `expected struct InputFile`, `u64`.
    if let Some(i) = message.find("expected struct ") {
        message = format!("{}expected a mapping", &message[..i]);
    }
    for (rust, words) in [
        ("expected u64", "expected a whole number"),
        ("expected u32", "expected a whole number"),
        ("expected f64", "expected a number"),
    ] {
        if message.ends_with(rust) {
            message = format!("{}{words}", &message[..message.len() - rust.len()]);
        }
    }
    message
}

use input_size::check_positive;
pub use input_size::{InputSizeError, parse_hw};

/// The spec format versions this build reads (`archcheck: N`; absent reads as the latest).
pub const SUPPORTED_VERSIONS: &[u32] = &[1];

struct Loader<'a> {
    r: Reader<'a>,
}

fn path<S: Into<Seg> + Clone>(segs: &[S]) -> Vec<Seg> {
    segs.iter().cloned().map(Into::into).collect()
}

fn join(mut p: Vec<Seg>, s: impl Into<Seg>) -> Vec<Seg> {
    p.push(s.into());
    p
}

/// A cell value's text as printed: strings as they are, numbers as YAML wrote them.
fn cell_text(v: &Value) -> Option<Result<String, &'static str>> {
    match v {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        // The paper's dash is its blank.
        Value::String(s) if matches!(s.trim(), "-" | "–" | "—") => None,
        Value::String(s) => Some(Ok(s.clone())),
        Value::Number(n) => Some(Ok(n.to_string())),
        Value::Bool(_) => Some(Err("a boolean")),
        Value::Sequence(_) => Some(Err("a list")),
        Value::Mapping(_) => Some(Err("a mapping")),
        Value::Tagged(_) => Some(Err("a tagged value")),
    }
}

impl Loader<'_> {
    fn err(&self, loc: Loc, m: impl Into<String>) -> SpecError {
        self.r.err(loc, m)
    }

    /// A mapping's entries, each key text; `what` names the keys in the error ("column").
    fn named_entries(
        &self,
        m: &serde_yaml::Mapping,
        loc: Loc,
        what: &str,
    ) -> Result<IndexMap<String, Value>, SpecError> {
        let mut out = IndexMap::new();
        for (k, v) in m {
            let Value::String(k) = k else {
                return Err(self.err(loc, format!("expected {what} names as text")));
            };
            out.insert(k.clone(), v.clone());
        }
        Ok(out)
    }

    /// `unknown {what} 'name', {known_as}: a, b` (E0xx unknown name), with the closest
    /// known name where `suggest`.
    fn unknown_name(
        &self,
        loc: Loc,
        what: &str,
        name: &str,
        known_as: &str,
        known: &[&str],
        suggest: bool,
    ) -> SpecError {
        let hint = if suggest {
            crate::suggest::did_you_mean(name, known.iter().copied())
        } else {
            String::new()
        };
        self.err(
            loc,
            format!(
                "unknown {what} {}, {known_as}: {}{hint}",
                crate::quote::quote(&name),
                known.join(", ")
            ),
        )
        .coded(crate::diag::code::UNKNOWN_NAME)
    }

    fn spec(&self, raw: SpecFile, source: Arc<Source>) -> Result<Spec, SpecError> {
        self.check_version(raw.archcheck)?;
        let input = self.input(&raw)?;
        let columns = self.columns(&raw)?;
        let conventions = self.conventions(Conventions::default(), &raw.conventions, &path(&["conventions"]))?;
        let vars = self.vars(&raw.vars, &path(&["vars"]), None)?;
        let mut spec = Spec {
            file: self.r.file.to_string(),
            source,
            name: raw.name.clone(),
            title: raw.title.clone(),
            input,
            classes: raw.classes.unwrap_or(1000),
            // Without a spec-wide tolerance, a figure is as exact as its printed digits.
            tolerance: raw.tolerance.unwrap_or(0.0),
            columns,
            conventions,
            vars,
            templates: IndexMap::new(),
            rows: Vec::new(),
            head: Vec::new(),
            aux_heads: Vec::new(),
            variants: IndexMap::new(),
            totals: Vec::new(),
            models: Vec::new(),
        };
        spec.models = self.models(&raw.models, &path(&["models"]), &spec)?;
        self.check_classes_and_tolerance(&spec)?;
        spec.templates = self.templates(&raw.templates, &path(&["templates"]), &spec)?;
        self.check_uses(&spec.templates)?;
        spec.rows = self.rows(&raw.rows, &spec)?;
        self.check_row_types(&spec)?;
        spec.head = self.r.layers(&raw.head, &path(&["head"]))?;
        self.check_layers(&spec.head, &spec)?;
        spec.aux_heads = self.aux_heads(&raw.aux_heads, &path(&["aux_heads"]), &spec)?;
        for (name, v) in &raw.variants {
            let p = path(&[Seg::from("variants"), Seg::from(name.as_str())]);
            check_name(&self.r, name, self.r.marks.key(&p))?;
            let variant = self.variant(name, v, &p, &spec)?;
            spec.variants.insert(name.clone(), variant);
        }
        spec.totals = self.totals(&raw.totals, &spec.models)?;
        Ok(spec)
    }

    /// `archcheck: N`: a format version this build reads.
    fn check_version(&self, version: Option<u32>) -> Result<(), SpecError> {
        let Some(v) = version.filter(|v| !SUPPORTED_VERSIONS.contains(v)) else {
            return Ok(());
        };
        let supported: Vec<String> = SUPPORTED_VERSIONS.iter().map(u32::to_string).collect();
        Err(self.err(
            self.r.at(&path(&["archcheck"])),
            format!(
                "unknown format version {v}, this archcheck reads version {}",
                supported.join(", ")
            ),
        ))
    }

    /// `classes:` positive and within the graph's i64 counts; `tolerance:` non-negative.
    fn check_classes_and_tolerance(&self, spec: &Spec) -> Result<(), SpecError> {
        if spec.classes == 0 {
            return Err(self.err(
                self.r.at(&path(&["classes"])),
                "expected a positive number of classes, found 0",
            ));
        }
        // The graph counts in i64: a larger count would be clamped, silently.
        if i64::try_from(spec.classes).is_err() {
            return Err(self.err(
                self.r.at(&path(&["classes"])),
                format!("expected at most {} classes, found {}", i64::MAX, spec.classes),
            ));
        }
        if !(spec.tolerance.is_finite() && spec.tolerance >= 0.0) {
            return Err(self.err(
                self.r.at(&path(&["tolerance"])),
                format!("expected a non-negative relative tolerance, found {}", spec.tolerance),
            ));
        }
        Ok(())
    }

    /// Every row's type names a template (a table of architectures builds each row from its
    /// model cell instead).
    fn check_row_types(&self, spec: &Spec) -> Result<(), SpecError> {
        if spec.column_of(ColumnKind::Type).is_none() {
            return Ok(());
        }
        for (i, row) in spec.rows.iter().enumerate() {
            let key = row
                .row_type
                .template_key(|k| spec.templates.contains_key(k))
                .into_owned();
            if !spec.templates.contains_key(&key) {
                let p = path(&[Seg::from("rows"), Seg::from(i)]);
                let known: Vec<&str> = spec.templates.keys().map(|s| s.as_str()).collect();
                return Err(self
                    .err(
                        row.cell_loc_of_type(spec).unwrap_or(self.r.at(&p)),
                        format!(
                            "unknown row type {key}, the spec's templates are: {}{}",
                            if known.is_empty() {
                                "none".to_string()
                            } else {
                                known.join(", ")
                            },
                            crate::suggest::did_you_mean(&key, known.iter().copied()),
                            key = crate::quote::quote(&key)
                        ),
                    )
                    .coded(crate::diag::code::UNKNOWN_NAME));
            }
        }
        Ok(())
    }
}

impl Loader<'_> {
    /// `models: [...]`: existing columns, each once.
    fn models(&self, raw: &[String], p: &[Seg], spec: &Spec) -> Result<Vec<String>, SpecError> {
        let mut out: Vec<String> = Vec::new();
        for (i, m) in raw.iter().enumerate() {
            let loc = self.r.at(&join(p.to_vec(), i));
            let Some(col) = spec.columns.get(m) else {
                let known: Vec<&str> = spec.columns.keys().map(|s| s.as_str()).collect();
                return Err(self
                    .err(
                        loc,
                        format!(
                            "models names column {}, the table has no such column; its columns are: {}",
                            crate::quote::quote(m),
                            known.join(", ")
                        ),
                    )
                    .coded(crate::diag::code::UNKNOWN_NAME));
            };
            if col.kind.is_checked() || matches!(col.kind, ColumnKind::Type | ColumnKind::Name) {
                return Err(self.err(
                    loc,
                    format!(
                        "column {} cannot be an architecture: it is checked or names the row",
                        crate::quote::quote(m)
                    ),
                ));
            }
            if out.contains(m) {
                return Err(self.err(loc, format!("models names {} twice", crate::quote::quote(m))));
            }
            out.push(m.clone());
        }
        Ok(out)
    }
}

impl Row {
    fn cell_loc_of_type(&self, spec: &Spec) -> Option<Loc> {
        let col = spec.column_of(ColumnKind::Type)?;
        self.cells.get(&col.name).map(|c| c.loc)
    }
}

/// `max pool` → `max_pool`, `3a` → `3a`.
pub fn sanitize(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("row");
    }
    out
}
