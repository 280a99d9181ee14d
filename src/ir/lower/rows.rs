//! One row's environment under a variant (cells with corrections, vars, template), and a
//! row built alone from a concrete input (what the continuity check compares).

use std::borrow::Cow;

use indexmap::IndexMap;

use super::super::eval::Ctx;
use super::{Builder, Limits, LowerOptions, classes_of};
use crate::ir::{Correction, Node, Op, Place};
use crate::shape::Shape;
use crate::spec::template::Lit;
use crate::spec::{Cell, Spec, SpecError};

/// What one row is built from under a variant: cells with corrections, vars, template.
/// Cells and vars are borrowed unless the row changes them: most rows of a long table have
/// no override, and copying every row's cell map and the vars was a large part of lowering.
pub(super) struct RowEnv<'a> {
    pub(super) cells: Cow<'a, IndexMap<String, Cell>>,
    pub(super) vars: Cow<'a, IndexMap<String, Lit>>,
    pub(super) template: &'a str,
    pub(super) corrections: Vec<Correction>,
}

/// The template that builds `row`: its type words, or their stem where only that names a
/// template (`conv3-64` → `conv`).
pub(super) fn template_of<'a>(
    row: &'a crate::spec::Row,
    templates: &'a IndexMap<String, crate::spec::Template>,
) -> &'a str {
    let key = row.row_type.template_key(|k| templates.contains_key(k));
    templates
        .get_key_value(key.as_ref())
        .map_or(row.row_type.words.as_str(), |(k, _)| k.as_str())
}

pub(super) fn row_env<'a>(
    spec: &'a Spec,
    variant: Option<&'a crate::spec::Variant>,
    vars: &'a IndexMap<String, Lit>,
    opts: &LowerOptions,
    i: usize,
) -> RowEnv<'a> {
    let row = &spec.rows[i];
    let over = variant.and_then(|v| v.rows.get(&i));
    let mut cells = Cow::Borrowed(&row.cells);
    let mut row_vars = Cow::Borrowed(vars);
    if !row.vars.is_empty() {
        row_vars.to_mut().extend(row.vars.clone());
    }
    let mut corrections = Vec::new();
    if let Some(o) = over {
        for (col, c) in &o.cells {
            let printed = row.cells.get(col).map(|p| p.text.clone()).unwrap_or_default();
            corrections.push(Correction {
                row: i,
                column: col.clone(),
                printed,
                corrected: c.text.clone(),
                loc: c.loc,
            });
            if c.text.is_empty() {
                cells.to_mut().shift_remove(col);
            } else {
                cells.to_mut().insert(col.clone(), c.clone());
            }
        }
        if !o.vars.is_empty() {
            row_vars.to_mut().extend(o.vars.clone());
        }
    }
    for (r, col, c) in &opts.cell_overrides {
        if *r == i {
            match c {
                Some(c) => {
                    cells.to_mut().insert(col.clone(), c.clone());
                }
                None => {
                    cells.to_mut().shift_remove(col);
                }
            }
        }
    }
    let template = over
        .and_then(|o| o.template.as_deref())
        .unwrap_or_else(|| template_of(row, &spec.templates));
    RowEnv {
        cells,
        vars: row_vars,
        template,
        corrections,
    }
}

/// The output (C, H, W) of row `i` alone, fed a concrete C×H×W input: what the row's printed
/// output should be if the previous row's printed output is right.
pub fn row_output_from(
    spec: &Spec,
    opts: &LowerOptions,
    i: usize,
    input: (i64, i64, i64),
) -> Result<(i64, i64, i64), SpecError> {
    let variant = opts.variant.as_ref().and_then(|v| spec.variants.get(v));
    let conventions = variant.map(|v| v.conventions).unwrap_or(spec.conventions);
    let templates = variant.map(|v| &v.templates).unwrap_or(&spec.templates);
    let mut vars: IndexMap<String, Lit> = spec.vars.clone();
    if let Some(v) = variant {
        vars.extend(v.vars.clone());
    }
    let classes = classes_of(spec, opts)?;
    let mut b = Builder {
        spec,
        max_nodes: Limits::default().max_nodes,
        row: Some((i, 1)),
        row_bounds: std::collections::HashMap::new(),
        conv: conventions,
        nodes: Vec::new(),
        constraints: Vec::new(),
        mismatches: Vec::new(),
        reference: (input.1, input.2),
        variant,
        templates,
        padded_rows: &opts.padded_rows,
        names: hashbrown::HashTable::new(),
        visits: 0,
        depth: 0,
        numbering: Default::default(),
    };
    let model = super::models::model_of(spec, variant, opts)?;
    b.nodes.push(Node {
        name: "input".into(),
        op: Op::Input { channels: input.0 },
        inputs: vec![],
        place: Place::Input,
        weight_layer: false,
        loc: spec.input.loc,
        shape: Shape::Map {
            c: input.0,
            h: crate::shape::Dim::Const(input.1),
            w: crate::shape::Dim::Const(input.2),
        },
        unit_of: None,
    });
    let env = row_env(spec, variant, &vars, opts, i);
    let mut ctx = Ctx::new(
        &spec.file,
        &env.cells,
        &env.vars,
        classes,
        format!("row {}", crate::quote::quote(&spec.rows[i].label)),
    );
    ctx.model = model.as_deref();
    let over = variant.and_then(|v| v.rows.get(&i));
    let scope = over.and_then(|o| o.name.as_deref()).unwrap_or(&spec.rows[i].name);
    let (out, _) = b.row_layers(&ctx, env.template, i, 0, scope)?;
    let s = b.nodes[out].shape.at(input.1, input.2);
    Ok(match s.as_slice() {
        [c, h, w] => (*c, *h, *w),
        [f] => (*f, 1, 1),
        _ => unreachable!("shapes are maps or vectors"),
    })
}
