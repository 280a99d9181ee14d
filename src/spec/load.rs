//! From a spec file's text to a validated [`Spec`]: every cell parsed with its column's
//! grammar, every template reference resolved, every problem reported at its line and column.

use indexmap::IndexMap;
use serde_yaml::Value;

use super::cell::{self, CellError, TypeArg};
use super::file::{AuxHeadFile, ConventionsFile, SpecFile, TemplateFile, VariantFile};
use super::template::{Arg, Branch, Expr, LayerDecl, Lit, Reader, Template, TemplateBody, Term, check_name};
use super::yaml::{self, Seg};
use super::{
    AuxHead, BatchNorm, Cell, Column, ColumnKind, Conventions, Input, Loc, Row, RowOverride, Spec, SpecError,
    Value as CellValue, Variant,
};

/// Reads and validates the spec at `path`.
pub fn load_file(path: &std::path::Path) -> Result<Spec, SpecError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| SpecError {
        file: file.clone(),
        loc: Loc::default(),
        message: format!("cannot read the spec: {}", e.to_string().to_lowercase()),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let before = std::str::from_utf8(good).unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().unwrap_or_default().chars().count() + 1;
        let byte = e.as_bytes()[good.len()];
        SpecError {
            file: file.clone(),
            loc: Loc { line, col },
            message: format!("expected UTF-8 text, found the byte 0x{byte:02x}"),
        }
    })?;
    load_str(&text, &file)
}

/// Validates a spec given as text; `file` names it in messages.
pub fn load_str(text: &str, file: &str) -> Result<Spec, SpecError> {
    // A byte-order mark (editors on Windows write one) is not part of the first key; the
    // mark is zero-width, so columns counted without it are the ones an editor shows.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some((loc, c)) = yaml::first_unprintable(text) {
        return Err(SpecError {
            file: file.into(),
            loc,
            message: format!(
                "the file holds the control character {}, which YAML does not allow (write it as an escape in double quotes)",
                crate::quote::quote(&c)
            ),
        });
    }
    // Positions and the typed skeleton come from two parsers; on two cores they run side by
    // side. Only without anchors, though: marks() is what bounds alias expansion, so a file
    // with aliases must pass it before serde_yaml expands anything.
    // An anchor is '&' followed by its name; "Ioffe & Szegedy" is not one.
    let has_anchor = text
        .as_bytes()
        .windows(2)
        .any(|w| w[0] == b'&' && !w[1].is_ascii_whitespace());
    let (marks, typed) = if has_anchor {
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
    };
    let marks = marks.map_err(|e| {
        // yaml-rust2 refuses a tab after a key's ':' and points past it; YAML allows one, so
        // say what to change, at the tab.
        let tab_before = e.loc.col > 1
            && text
                .split('\n')
                .nth(e.loc.line.saturating_sub(1))
                .and_then(|l| l.chars().nth(e.loc.col - 2))
                == Some('\t');
        if e.message.contains("':' must be followed by a valid YAML whitespace") && tab_before {
            return SpecError {
                file: file.into(),
                loc: Loc {
                    line: e.loc.line,
                    col: e.loc.col - 1,
                },
                message:
                    "a tab separates ':' from its value, and the YAML reader takes only spaces there: write a space"
                        .into(),
            };
        }
        SpecError {
            file: file.into(),
            loc: e.loc,
            message: e.message,
        }
    })?;
    let typed = typed.ok_or_else(|| SpecError {
        file: file.into(),
        loc: Loc::default(),
        message: "the YAML parser stopped unexpectedly".into(),
    })?;
    let raw: SpecFile = typed.map_err(|e| {
        let loc = e
            .location()
            .map(|l| Loc {
                line: l.line(),
                col: l.column(),
            })
            .unwrap_or_default();
        let mut message = e.to_string();
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
        SpecError {
            file: file.into(),
            loc,
            message,
        }
    })?;
    let r = Reader {
        file,
        marks: &marks,
        source: text,
    };
    Loader { r }.spec(raw)
}

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

    fn spec(&self, raw: SpecFile) -> Result<Spec, SpecError> {
        if let Some(v) = raw.archcheck.filter(|v| !SUPPORTED_VERSIONS.contains(v)) {
            let supported: Vec<String> = SUPPORTED_VERSIONS.iter().map(u32::to_string).collect();
            return Err(self.err(
                self.r.at(&path(&["archcheck"])),
                format!(
                    "unknown format version {v}, this archcheck reads version {}",
                    supported.join(", ")
                ),
            ));
        }
        let input = self.input(&raw)?;
        let columns = self.columns(&raw)?;
        let conventions = self.conventions(Conventions::default(), &raw.conventions, &path(&["conventions"]))?;
        let vars = self.vars(&raw.vars, &path(&["vars"]), None)?;
        let mut spec = Spec {
            file: self.r.file.to_string(),
            name: raw.name.clone(),
            title: raw.title.clone(),
            input,
            classes: raw.classes.unwrap_or(1000),
            tolerance: raw.tolerance.unwrap_or(0.05),
            columns,
            conventions,
            vars,
            templates: IndexMap::new(),
            rows: Vec::new(),
            head: Vec::new(),
            aux_heads: Vec::new(),
            variants: IndexMap::new(),
        };
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
        spec.templates = self.templates(&raw.templates, &path(&["templates"]), &spec)?;
        spec.rows = self.rows(&raw.rows, &spec)?;
        for (i, row) in spec.rows.iter().enumerate() {
            let key = row.row_type.words.clone();
            if !spec.templates.contains_key(&key) {
                let p = path(&[Seg::from("rows"), Seg::from(i)]);
                let known: Vec<&str> = spec.templates.keys().map(|s| s.as_str()).collect();
                return Err(self.err(
                    row.cell_loc_of_type(&spec).unwrap_or(self.r.at(&p)),
                    format!(
                        "unknown row type {key}, the spec's templates are: {}",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        },
                        key = crate::quote::quote(&key)
                    ),
                ));
            }
        }
        spec.head = self.r.layers(&raw.head, &path(&["head"]))?;
        self.check_layers(&spec.head, &spec, None)?;
        spec.aux_heads = self.aux_heads(&raw.aux_heads, &path(&["aux_heads"]), &spec)?;
        for (name, v) in &raw.variants {
            let p = path(&[Seg::from("variants"), Seg::from(name.as_str())]);
            check_name(&self.r, name, self.r.marks.key(&p))?;
            let variant = self.variant(name, v, &p, &spec)?;
            spec.variants.insert(name.clone(), variant);
        }
        Ok(spec)
    }

    fn input(&self, raw: &SpecFile) -> Result<Input, SpecError> {
        let p = path(&["input", "size"]);
        let loc = self.r.at(&p);
        let (h, w) = match &raw.input.size {
            Value::Number(n) => match n.as_u64() {
                Some(s) => (s, s),
                None => return Err(self.err(loc, format!("expected a positive input size, found {n}"))),
            },
            Value::String(s) => parse_hw(s).map_err(|m| self.err(loc, m))?,
            _ => return Err(self.err(loc, "expected the input size as 224 or 224x224")),
        };
        check_positive(h, w).map_err(|m| self.err(loc, m))?;
        if raw.input.channels == 0 {
            return Err(self.err(
                self.r.at(&path(&["input", "channels"])),
                "expected a positive channel count, found 0",
            ));
        }
        if i64::try_from(raw.input.channels).is_err() {
            return Err(self.err(
                self.r.at(&path(&["input", "channels"])),
                format!("expected at most {} channels, found {}", i64::MAX, raw.input.channels),
            ));
        }
        Ok(Input {
            channels: raw.input.channels,
            height: h,
            width: w,
            loc,
        })
    }

    fn columns(&self, raw: &SpecFile) -> Result<IndexMap<String, Column>, SpecError> {
        let mut out = IndexMap::new();
        for (name, kind) in &raw.columns {
            let loc = self
                .r
                .marks
                .key(&path(&[Seg::from("columns"), Seg::from(name.as_str())]));
            if name.contains('.') {
                return Err(self.err(
                    loc,
                    format!(
                        "column name {name} contains '.', which templates use to select a field",
                        name = crate::quote::quote(&name)
                    ),
                ));
            }
            if name.trim().is_empty() || name.contains(['{', '}']) || name.contains(" or ") {
                return Err(self.err(
                    loc,
                    format!(
                        "column name {name} cannot be referenced from a template",
                        name = crate::quote::quote(&name)
                    ),
                ));
            }
            out.insert(
                name.clone(),
                Column {
                    name: name.clone(),
                    kind: *kind,
                    loc,
                },
            );
        }
        let types = out.values().filter(|c| c.kind == ColumnKind::Type).count();
        if types != 1 {
            // At the second type column, or at the columns when there is none.
            let loc = out
                .values()
                .filter(|c| c.kind == ColumnKind::Type)
                .nth(1)
                .map_or(self.r.at(&path(&["columns"])), |c| c.loc);
            return Err(self.err(loc, format!("expected exactly one column of kind type, found {types}")));
        }
        Ok(out)
    }

    fn conventions(&self, mut c: Conventions, raw: &ConventionsFile, p: &[Seg]) -> Result<Conventions, SpecError> {
        if let Some(x) = raw.padding {
            c.padding = x;
        }
        if let Some(x) = raw.pool_rounding {
            c.pool_rounding = x;
        }
        if let Some(x) = raw.ceil_rule {
            c.ceil_rule = x;
        }
        if let Some(x) = raw.conv_bias {
            c.conv_bias = x;
        }
        if let Some(x) = raw.count_include_pad {
            c.count_include_pad = x;
        }
        if let Some(bn) = &raw.batch_norm {
            let bp = join(p.to_vec(), "batch_norm");
            c.batch_norm = match bn {
                Value::Bool(false) | Value::Null => None,
                Value::Bool(true) => Some(BatchNorm {
                    eps: 1e-5,
                    momentum: 0.1,
                    scale: true,
                }),
                Value::Mapping(_) => {
                    let b: BatchNorm = serde_yaml::from_value(bn.clone())
                        .map_err(|e| self.err(self.r.at(&bp), format!("batch_norm: {e}")))?;
                    if !(b.eps > 0.0 && b.eps.is_finite() && (0.0..=1.0).contains(&b.momentum)) {
                        return Err(self.err(
                            self.r.at(&bp),
                            format!(
                                "batch_norm needs eps > 0 and momentum in [0, 1], found eps {} and momentum {}",
                                b.eps, b.momentum
                            ),
                        ));
                    }
                    Some(b)
                }
                other => {
                    let found = match other {
                        Value::Number(n) => n.to_string(),
                        Value::String(s) => crate::quote::quote(s),
                        Value::Sequence(_) => "a list".to_string(),
                        _ => "a tagged value".to_string(),
                    };
                    return Err(self.err(
                        self.r.at(&bp),
                        format!("expected batch_norm: false or {{eps, momentum, scale}}, found {found}"),
                    ));
                }
            };
        }
        Ok(c)
    }

    /// Variables; with `declared`, each must override one the spec declares.
    fn vars(
        &self,
        raw: &IndexMap<String, Value>,
        p: &[Seg],
        declared: Option<&IndexMap<String, Lit>>,
    ) -> Result<IndexMap<String, Lit>, SpecError> {
        let mut out = IndexMap::new();
        for (k, v) in raw {
            let vp = join(p.to_vec(), k.as_str());
            if let Some(d) = declared
                && !d.contains_key(k)
            {
                let known: Vec<&str> = d.keys().map(|s| s.as_str()).collect();
                return Err(self.err(
                    self.r.marks.key(&vp),
                    format!(
                        "unknown var {k}, the spec declares: {}",
                        known.join(", "),
                        k = crate::quote::quote(&k)
                    ),
                ));
            }
            out.insert(k.clone(), self.r.lit(v, &vp)?);
        }
        Ok(out)
    }

    fn templates(
        &self,
        raw: &IndexMap<String, TemplateFile>,
        p: &[Seg],
        spec: &Spec,
    ) -> Result<IndexMap<String, Template>, SpecError> {
        let mut out = IndexMap::new();
        for (name, t) in raw {
            let tp = join(p.to_vec(), name.as_str());
            let loc = self.r.marks.key(&tp);
            let body = match (t.layers.is_empty(), t.branches.is_empty()) {
                (false, true) => TemplateBody::Layers(self.r.layers(&t.layers, &join(tp.clone(), "layers"))?),
                (true, false) => {
                    let mut branches = Vec::new();
                    for (bname, b) in &t.branches {
                        let bp = join(join(tp.clone(), "branches"), bname.as_str());
                        let bloc = self.r.marks.key(&bp);
                        check_name(&self.r, bname, bloc)?;
                        let cond = match &b.cond {
                            Some(c) => Some(self.r.expr(c, self.r.at(&join(bp.clone(), "if")))?),
                            None => None,
                        };
                        let layers = self.r.layers(&b.layers, &join(bp, "layers"))?;
                        branches.push(Branch {
                            name: bname.clone(),
                            cond,
                            layers,
                            loc: bloc,
                        });
                    }
                    TemplateBody::Branches(branches)
                }
                (true, true) => {
                    return Err(self.err(
                        loc,
                        format!(
                            "template {name} has neither layers nor branches",
                            name = crate::quote::quote(&name)
                        ),
                    ));
                }
                (false, false) => {
                    return Err(self.err(
                        loc,
                        format!(
                            "template {name} has both layers and branches; use one",
                            name = crate::quote::quote(&name)
                        ),
                    ));
                }
            };
            let template = Template {
                name: name.clone(),
                body,
                loc,
            };
            self.check_template(&template, spec)?;
            out.insert(name.clone(), template);
        }
        Ok(out)
    }

    fn check_template(&self, t: &Template, spec: &Spec) -> Result<(), SpecError> {
        match &t.body {
            TemplateBody::Layers(ls) => self.check_layers(ls, spec, None),
            TemplateBody::Branches(bs) => {
                for b in bs {
                    if let Some(c) = &b.cond {
                        self.check_expr(c, spec, None)?;
                    }
                    self.check_layers(&b.layers, spec, None)?;
                }
                Ok(())
            }
        }
    }

    fn check_layers(
        &self,
        ls: &[LayerDecl],
        spec: &Spec,
        extra_vars: Option<&IndexMap<String, Lit>>,
    ) -> Result<(), SpecError> {
        for l in ls {
            if let Some(c) = &l.cond {
                self.check_expr(c, spec, extra_vars)?;
            }
            for a in l.args.values() {
                if let Arg::Expr(e) = &a.value {
                    self.check_expr(e, spec, extra_vars)?;
                }
            }
        }
        Ok(())
    }

    /// Every term names an existing column and field, or a declared var.
    fn check_expr(&self, e: &Expr, spec: &Spec, extra_vars: Option<&IndexMap<String, Lit>>) -> Result<(), SpecError> {
        for t in &e.terms {
            match t {
                Term::Int(_) | Term::Classes => {}
                Term::Var(v) => {
                    if !spec.vars.contains_key(v) && !extra_vars.is_some_and(|x| x.contains_key(v)) {
                        let known: Vec<&str> = spec.vars.keys().map(|s| s.as_str()).collect();
                        return Err(self.err(
                            e.loc,
                            format!(
                                "{} names var {v}, which the spec does not declare (vars: {})",
                                crate::quote::quote(&e.text),
                                known.join(", "),
                                v = crate::quote::quote(&v)
                            ),
                        ));
                    }
                }
                Term::Column { column, field } => {
                    let Some(col) = spec.columns.get(column) else {
                        let known: Vec<&str> = spec.columns.keys().map(|s| s.as_str()).collect();
                        return Err(self.err(
                            e.loc,
                            format!(
                                "{} names column {column}, the table has no such column; its columns are: {}",
                                crate::quote::quote(&e.text),
                                known.join(", "),
                                column = crate::quote::quote(&column)
                            ),
                        ));
                    };
                    let fields: &[&str] = match col.kind {
                        ColumnKind::Type => &["fraction", "label"],
                        ColumnKind::Patch => &["kernel", "stride"],
                        ColumnKind::Output => &["h", "w", "channels"],
                        ColumnKind::Count => &[],
                        ColumnKind::PoolProj => &["pool", "proj"],
                        ColumnKind::Depth | ColumnKind::Params | ColumnKind::Ops => {
                            return Err(self.err(e.loc, format!("{} reads column {column}, which is checked against the derivation and cannot shape it", crate::quote::quote(&e.text), column = crate::quote::quote(&column))));
                        }
                    };
                    match field {
                        None if col.kind == ColumnKind::Count => {}
                        None => {
                            return Err(self.err(
                                e.loc,
                                format!(
                                    "{}: column {column} needs a field, one of: {}",
                                    crate::quote::quote(&e.text),
                                    fields.join(", "),
                                    column = crate::quote::quote(&column)
                                ),
                            ));
                        }
                        Some(f) if !fields.contains(&f.as_str()) => {
                            let expected = if fields.is_empty() {
                                "no field".to_string()
                            } else {
                                fields.join(", ")
                            };
                            return Err(self.err(
                                e.loc,
                                format!(
                                    "{}: column {column} has no field {f}, expected {expected}",
                                    crate::quote::quote(&e.text),
                                    column = crate::quote::quote(&column),
                                    f = crate::quote::quote(&f)
                                ),
                            ));
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// Parses one cell with its column's grammar; `loc` is the cell's position and `start`
    /// that of its text's first character (after an opening quote).
    fn cell(&self, col: &Column, v: &Value, loc: Loc, start: Loc) -> Result<Option<Cell>, SpecError> {
        let text = match cell_text(v) {
            None => return Ok(None),
            Some(Err(found)) => {
                return Err(self.err(
                    loc,
                    format!(
                        "column {} expects a cell as text or a number, found {found}",
                        crate::quote::quote(&col.name)
                    ),
                ));
            }
            Some(Ok(t)) => t,
        };
        let parse = |text: &str| -> Result<CellValue, CellError> {
            Ok(match col.kind {
                ColumnKind::Type => CellValue::Type(cell::parse_row_type(text)?),
                ColumnKind::Patch => CellValue::Patch(cell::parse_patch(text)?),
                ColumnKind::Output => CellValue::Size(cell::parse_size(text)?),
                ColumnKind::Depth | ColumnKind::Count => CellValue::Count(cell::parse_count(text)?),
                ColumnKind::PoolProj => CellValue::PoolProj(cell::parse_pool_proj(text)?),
                ColumnKind::Params | ColumnKind::Ops => CellValue::Quantity(cell::parse_quantity(text)?),
            })
        };
        let value = parse(&text).map_err(|e| {
            let message = |e: &CellError, quoted: &str| {
                format!(
                    "column {}: {e} in {}",
                    crate::quote::quote(&col.name),
                    crate::quote::quote(quoted)
                )
            };
            let at = |offset: usize| Loc {
                line: start.line,
                col: start.col + offset,
            };
            // A number is read by YAML (1.6e1 becomes 16.0): the message quotes the file's
            // text, and the error is the one that text gives, at its own offset.
            let written = match v {
                Value::Number(_) => yaml::plain_scalar_at(self.r.source, start).filter(|w| *w != text),
                _ => None,
            };
            match written {
                None => self.err(yaml::source_loc(self.r.source, start, e.offset), message(&e, &text)),
                Some(w) => match parse(w) {
                    Err(we) => self.err(at(we.offset), message(&we, w)),
                    Ok(_) => self.err(at(0), message(&e, w)),
                },
            }
        })?;
        Ok(Some(Cell { text, value, loc }))
    }

    fn rows(&self, raw: &[IndexMap<String, Value>], spec: &Spec) -> Result<Vec<Row>, SpecError> {
        let type_col = spec.column_of(ColumnKind::Type).expect("checked").name.clone();
        let mut rows: Vec<Row> = Vec::new();
        let mut ordinals: IndexMap<String, usize> = IndexMap::new();
        let mut names: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        if raw.is_empty() {
            return Err(self.err(self.r.at(&path(&["rows"])), "expected at least one row"));
        }
        for (i, map) in raw.iter().enumerate() {
            let rp = path(&[Seg::from("rows"), Seg::from(i)]);
            // The row's path is hashed once; each cell's position is then found from it.
            let rp_key = yaml::key_of(&rp);
            let mut cells = IndexMap::new();
            for (k, v) in map {
                let Some(col) = spec.columns.get(k) else {
                    let known: Vec<&str> = spec.columns.keys().map(|s| s.as_str()).collect();
                    let cp = join(rp.clone(), k.as_str());
                    return Err(self.err(
                        self.r.marks.key(&cp),
                        format!(
                            "unknown column {k}, the table's columns are: {}",
                            known.join(", "),
                            k = crate::quote::quote(&k)
                        ),
                    ));
                };
                let (loc, start) = self.r.marks.child_value_and_text(&rp, rp_key, k);
                if let Some(c) = self.cell(col, v, loc, start)? {
                    cells.insert(k.clone(), c);
                }
            }
            let Some(type_cell) = cells.get(&type_col) else {
                return Err(self.err(
                    self.r.at(&rp),
                    format!(
                        "row {} has no {type_col} cell",
                        i + 1,
                        type_col = crate::quote::quote(&type_col)
                    ),
                ));
            };
            let CellValue::Type(rt) = &type_cell.value else {
                unreachable!("type column parses to a type")
            };
            let stem: String = sanitize(&rt.words);
            let name = match &rt.arg {
                Some(TypeArg::Label(l)) => format!("{stem}_{}", sanitize(l)),
                _ => {
                    let n = ordinals.entry(stem.clone()).or_insert(0);
                    *n += 1;
                    format!("{stem}_{n}")
                }
            };
            if let Some(prev) = names.get(&name) {
                return Err(self.err(
                    type_cell.loc,
                    format!(
                        "duplicate row name {name}: row at line {} has the same type and label",
                        rows[*prev].loc.line,
                        name = crate::quote::quote(&name)
                    ),
                ));
            }
            names.insert(name.clone(), rows.len());
            rows.push(Row {
                name,
                label: type_cell.text.trim().to_string(),
                row_type: rt.clone(),
                cells,
                loc: self.r.at(&rp),
            });
        }
        // A label printed on several rows ("convolution", "max pool") is told apart by its
        // position in the table wherever it is shown.
        let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for r in &rows {
            *counts.entry(r.label.clone()).or_insert(0) += 1;
        }
        for (i, r) in rows.iter_mut().enumerate() {
            if counts[&r.label] > 1 {
                r.label = format!("{} (row {})", r.label, i + 1);
            }
        }
        Ok(rows)
    }

    /// A row named in a variant or aux head: its printed type cell or its derived name.
    fn find_row(&self, spec: &Spec, key: &str, loc: Loc) -> Result<usize, SpecError> {
        let by_name = spec.rows.iter().position(|r| r.name == key);
        let type_col = spec
            .column_of(ColumnKind::Type)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let printed = |r: &Row| {
            r.cells
                .get(&type_col)
                .map(|c| c.text.trim().to_string())
                .unwrap_or_default()
        };
        let by_label: Vec<usize> = spec
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.label == key || printed(r) == key)
            .map(|(i, _)| i)
            .collect();
        match (by_name, by_label.as_slice()) {
            (Some(i), _) => Ok(i),
            (None, [i]) => Ok(*i),
            (None, []) => Err(self.err(
                loc,
                format!(
                    "no row is named {key}; rows are named by their type cell (e.g. {}) or as {}",
                    crate::quote::quote(&spec.rows[0].label),
                    crate::quote::quote(&spec.rows[0].name),
                    key = crate::quote::quote(&key)
                ),
            )),
            (None, many) => {
                let names: Vec<&str> = many.iter().map(|i| spec.rows[*i].name.as_str()).collect();
                Err(self.err(
                    loc,
                    format!(
                        "{key} names {} rows; use one of: {}",
                        many.len(),
                        names.join(", "),
                        key = crate::quote::quote(&key)
                    ),
                ))
            }
        }
    }

    fn aux_heads(
        &self,
        raw: &IndexMap<String, AuxHeadFile>,
        p: &[Seg],
        spec: &Spec,
    ) -> Result<Vec<AuxHead>, SpecError> {
        let mut out = Vec::new();
        for (name, h) in raw {
            let hp = join(p.to_vec(), name.as_str());
            let loc = self.r.marks.key(&hp);
            check_name(&self.r, name, loc)?;
            let after = self.find_row(spec, &h.after, self.r.at(&join(hp.clone(), "after")))?;
            let layers = self.r.layers(&h.layers, &join(hp, "layers"))?;
            self.check_layers(&layers, spec, None)?;
            out.push(AuxHead {
                name: name.clone(),
                after,
                layers,
                loc,
            });
        }
        Ok(out)
    }

    fn variant(&self, name: &str, v: &VariantFile, p: &[Seg], spec: &Spec) -> Result<Variant, SpecError> {
        let conventions = self.conventions(spec.conventions, &v.conventions, &join(p.to_vec(), "conventions"))?;
        let vars = self.vars(&v.vars, &join(p.to_vec(), "vars"), Some(&spec.vars))?;
        let mut templates = self.templates(&v.templates, &join(p.to_vec(), "templates"), spec)?;
        for (k, t) in &spec.templates {
            if !templates.contains_key(k) {
                templates.insert(k.clone(), t.clone());
            }
        }
        let mut rows = IndexMap::new();
        for (key, o) in &v.rows {
            let op = join(join(p.to_vec(), "rows"), key.as_str());
            let oloc = self.r.marks.key(&op);
            let idx = self.find_row(spec, key, oloc)?;
            let mut cells = IndexMap::new();
            for (c, val) in &o.cells {
                let cp = join(join(op.clone(), "cells"), c.as_str());
                let Some(col) = spec.columns.get(c) else {
                    return Err(self.err(
                        self.r.marks.key(&cp),
                        format!(
                            "unknown column {c} in the correction of {key}",
                            c = crate::quote::quote(&c),
                            key = crate::quote::quote(&key)
                        ),
                    ));
                };
                if col.kind == ColumnKind::Type {
                    return Err(self.err(
                        self.r.marks.key(&cp),
                        "the type cell cannot be corrected; use template: to build the row differently",
                    ));
                }
                let cell = match self.cell(col, val, self.r.at(&cp), self.r.marks.text(&cp))? {
                    Some(cell) => cell,
                    // An emptied cell: keep an empty marker by storing the text only.
                    None => Cell {
                        text: String::new(),
                        value: CellValue::Count(0),
                        loc: self.r.at(&cp),
                    },
                };
                cells.insert(c.clone(), cell);
            }
            let row_vars = self.vars(&o.vars, &join(op.clone(), "vars"), Some(&spec.vars))?;
            if let Some(t) = &o.template
                && !templates.contains_key(t)
            {
                let known: Vec<&str> = templates.keys().map(|s| s.as_str()).collect();
                return Err(self.err(
                    self.r.at(&join(op.clone(), "template")),
                    format!(
                        "unknown template {t}, the variant's templates are: {}",
                        known.join(", "),
                        t = crate::quote::quote(&t)
                    ),
                ));
            }
            let insert_after = self.r.layers(&o.insert_after, &join(op.clone(), "insert_after"))?;
            self.check_layers(&insert_after, spec, None)?;
            rows.insert(
                idx,
                RowOverride {
                    cells,
                    vars: row_vars,
                    template: o.template.clone(),
                    insert_after,
                    loc: oloc,
                },
            );
        }
        let head = match &v.head {
            Some(h) => {
                let ls = self.r.layers(h, &join(p.to_vec(), "head"))?;
                self.check_layers(&ls, spec, None)?;
                Some(ls)
            }
            None => None,
        };
        let aux_heads = match &v.aux_heads {
            Some(a) => self.aux_heads(a, &join(p.to_vec(), "aux_heads"), spec)?,
            None => spec.aux_heads.clone(),
        };
        Ok(Variant {
            name: name.to_string(),
            description: v.description.clone(),
            conventions,
            vars,
            templates,
            rows,
            head,
            aux_heads,
            loc: self.r.marks.key(p),
        })
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

/// `224`, `224x224`, `224×192`.
pub fn parse_hw(s: &str) -> Result<(u64, u64), String> {
    let t = s.trim();
    let parts: Vec<&str> = t.split(['x', 'X', '×']).map(str::trim).collect();
    let num = |p: &str| -> Result<u64, String> {
        if p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "expected an input size as H or HxW, found {s}",
                s = crate::quote::quote(&s)
            ));
        }
        p.parse::<u64>()
            .map_err(|_| format!("input size {p} is too large", p = crate::quote::quote(&p)))
    };
    let (h, w) = match parts.as_slice() {
        [h] => (num(h)?, num(h)?),
        [h, w] => (num(h)?, num(w)?),
        _ => {
            return Err(format!(
                "expected an input size as H or HxW, found {s}",
                s = crate::quote::quote(&s)
            ));
        }
    };
    check_positive(h, w)?;
    Ok((h, w))
}

fn check_positive(h: u64, w: u64) -> Result<(), String> {
    if h == 0 || w == 0 {
        return Err(format!("expected a positive input size, found {h}x{w}"));
    }
    if h > 1 << 30 || w > 1 << 30 {
        return Err(format!("input size {h}x{w} is larger than {}", 1u64 << 30));
    }
    Ok(())
}
