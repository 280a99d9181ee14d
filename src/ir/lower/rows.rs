//! One row's environment under a variant (cells with corrections, vars, template), and a
//! row built alone from a concrete input (what the continuity check compares).

use std::borrow::Cow;

use indexmap::IndexMap;

use super::{Builder, Limits, LowerOptions, Shared, classes_of, vars_of};
use crate::ir::{Correction, Node, NodeId, Op, Place, RowSpan};
use crate::shape::Shape;
use crate::spec::Lit;
use crate::spec::{AuxHead, Cell, Spec, SpecError, Variant};

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
    variant: Option<&'a Variant>,
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

/// The path row `i`'s layers are named under: the variant's name for the row, or its own.
fn row_scope<'a>(spec: &'a Spec, variant: Option<&'a Variant>, i: usize) -> &'a str {
    let over = variant.and_then(|v| v.rows.get(&i));
    over.and_then(|o| o.name.as_deref()).unwrap_or(&spec.rows[i].name)
}

/// What the rows build: the last node, each row's span, the variant's corrections, the
/// cells of changed rows, and the node each auxiliary head reads.
pub(super) struct Rows<'a> {
    pub(super) end: NodeId,
    pub(super) spans: Vec<RowSpan>,
    pub(super) corrections: Vec<Correction>,
    pub(super) changed_cells: Vec<Option<IndexMap<String, Cell>>>,
    pub(super) aux_roots: Vec<(&'a AuxHead, NodeId)>,
}

impl<'a> Builder<'a> {
    /// Builds every row in order from `input`, each followed by the layers its variant
    /// inserts after it.
    pub(super) fn rows(
        &mut self,
        shared: &Shared<'_>,
        vars: &IndexMap<String, Lit>,
        opts: &LowerOptions,
        input: NodeId,
    ) -> Result<Rows<'a>, SpecError> {
        let spec = self.spec;
        let mut built = Rows {
            end: input,
            spans: Vec::new(),
            corrections: Vec::new(),
            changed_cells: Vec::with_capacity(spec.rows.len()),
            aux_roots: Vec::new(),
        };
        for i in 0..spec.rows.len() {
            let env = row_env(spec, self.variant, vars, opts, i);
            built.corrections.extend(env.corrections);
            let first = self.nodes.len();
            self.row = Some((i, first));
            let out = self.row_with_inserts(shared, &env.cells, &env.vars, env.template, i, &mut built)?;
            // Only a changed row keeps its own copy; `Graph::row_cells` reads the rest from the spec.
            built.changed_cells.push(match env.cells {
                Cow::Borrowed(_) => None,
                Cow::Owned(c) => Some(c),
            });
            if !opts.no_aux {
                self.aux_roots_in(i, out, first, &mut built.aux_roots)?;
            }
        }
        Ok(built)
    }

    /// Builds row `i` from `built.end` with template `tname`, records its span, and then
    /// the layers its variant inserts after it; returns the row's own output.
    fn row_with_inserts(
        &mut self,
        shared: &Shared<'_>,
        cells: &IndexMap<String, Cell>,
        vars: &IndexMap<String, Lit>,
        tname: &str,
        i: usize,
        built: &mut Rows<'_>,
    ) -> Result<NodeId, SpecError> {
        let (spec, variant) = (self.spec, self.variant);
        let row = &spec.rows[i];
        let ctx = shared.ctx(cells, vars, format!("row {}", crate::quote::quote(&row.label)));
        let first = self.nodes.len();
        let (out, built_with) = self.row_layers(&ctx, tname, i, built.end, row_scope(spec, variant, i))?;
        built.spans.push(RowSpan {
            row: i,
            input: built.end,
            output: out,
            first,
            end: self.nodes.len(),
            template: built_with,
        });
        built.end = out;
        if let Some(o) = variant.and_then(|v| v.rows.get(&i))
            && !o.insert_after.is_empty()
        {
            let ctx = shared.ctx(
                cells,
                vars,
                format!("the layers after {}", crate::quote::quote(&row.label)),
            );
            built.end = self.layers(
                &ctx,
                &o.insert_after,
                out,
                &format!("{}_after", row.name),
                &Place::After { row: i },
            )?;
        }
        Ok(out)
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
    let vars = vars_of(spec, variant);
    let classes = classes_of(spec, opts)?;
    let mut b = Builder::new(spec, variant, opts, (input.1, input.2), Limits::default().max_nodes);
    b.row = Some((i, 1));
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
    let shared = Shared {
        file: &spec.file,
        classes,
        model: model.as_deref(),
    };
    let ctx = shared.ctx(
        &env.cells,
        &env.vars,
        format!("row {}", crate::quote::quote(&spec.rows[i].label)),
    );
    let (out, _) = b.row_layers(&ctx, env.template, i, 0, row_scope(spec, variant, i))?;
    Ok(crate::ir::domain::chw(&b.nodes[out].shape, (input.1, input.2)))
}
