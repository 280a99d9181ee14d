//! From a spec (and a variant) to the graph: each row's template is expanded with the row's
//! cells, conv layers become conv → batch norm → ReLU as the conventions say, and every node
//! gets its symbolic shape as it is added.

mod bounds;
mod heads;
mod layer;
mod layers;
mod models;
mod node;
mod rows;
mod sequential;
mod steps;

pub use rows::row_output_from;
use rows::template_of;

use indexmap::IndexMap;

use super::eval::Ctx;
use super::{ConcatMismatch, Constraint, Graph, Node, NodeId, Op, Place};
use crate::spec::Lit;
use crate::spec::{Cell, Conventions, Loc, Spec, SpecError, Template, Variant};

/// Choices made on the command line.
#[derive(Debug, Clone, Default)]
pub struct LowerOptions {
    pub variant: Option<String>,
    pub classes: Option<u64>,
    /// Leave out auxiliary heads.
    pub no_aux: bool,
    /// Override the reference input size.
    pub input: Option<(u64, u64)>,
    /// Replace cells of rows (row, column, new cell or None to empty it): used to explore
    /// another reading of an ambiguous cell.
    pub cell_overrides: Vec<(usize, String, Option<Cell>)>,
    /// Rows read with their stride-1 windows padded to keep the grid (`half`), whatever the
    /// templates say: the other reading of a table that leaves a padding unmarked.
    pub padded_rows: Vec<usize>,
    /// The architecture column to build, in a table of architectures (default: the
    /// variant's, or the first).
    pub model: Option<String>,
}

/// Bounds on what a spec may make the library build. A separate argument rather than a
/// field of [`LowerOptions`], so that callers that spell out every option keep compiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most nodes the lowered graph may have. The graph grows as rows × template
    /// layers, and aliases let a few kilobytes of YAML ask for millions of layers; the
    /// default is ten times the 10,000-row benchmark's ~100,000 nodes.
    pub max_nodes: usize,
}

impl Limits {
    pub const DEFAULT_MAX_NODES: usize = 1_000_000;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_nodes: Self::DEFAULT_MAX_NODES,
        }
    }
}

struct Builder<'a> {
    spec: &'a Spec,
    /// The most nodes the graph may get, and the row being lowered (to name it when the
    /// limit is reached) with the node count before it.
    max_nodes: usize,
    row: Option<(usize, usize)>,
    /// Per template name, the most nodes one row built with it can add.
    row_bounds: std::collections::HashMap<&'a str, usize>,
    conv: Conventions,
    nodes: Vec<Node>,
    constraints: Vec<Constraint>,
    mismatches: Vec<ConcatMismatch>,
    reference: (i64, i64),
    variant: Option<&'a Variant>,
    templates: &'a IndexMap<String, Template>,
    /// [`LowerOptions::padded_rows`].
    padded_rows: &'a [usize],
    /// Every node, by name, to refuse a second layer of the same name: the table holds ids
    /// and compares against `nodes[id].name`, so no name is copied to be a key.
    names: hashbrown::HashTable<NodeId>,
    /// Steps visited and template uses open (see `steps.rs`).
    visits: usize,
    depth: usize,
    /// Rows numbered as `torch.nn.Sequential` (`sequential: true`).
    numbering: sequential::Numbering,
}

/// A count from the spec or the command line as the graph's i64, refused where it does not
/// fit (it was clamped to i64::MAX before, silently).
fn to_i64(x: u64, file: &str, loc: Loc, what: &str) -> Result<i64, SpecError> {
    i64::try_from(x).map_err(|_| {
        SpecError::new(
            file,
            loc,
            format!("{what} is {x}, expected at most {} (63 bits)", i64::MAX),
        )
        .coded(crate::diag::code::LIMIT)
    })
}

impl Builder<'_> {
    /// A layer that cannot apply (E009).
    fn err(&self, loc: Loc, m: impl Into<String>) -> SpecError {
        SpecError::new(self.spec.file.clone(), loc, m).coded(crate::diag::code::LAYER)
    }
}

/// `scope.local`, or either alone where the other is empty.
fn join_path(scope: &str, local: &str) -> String {
    match (scope.is_empty(), local.is_empty()) {
        (true, _) => local.to_string(),
        (_, true) => scope.to_string(),
        _ => format!("{scope}.{local}"),
    }
}

/// Builds the graph of `spec` under the options' variant, within the default [`Limits`].
pub fn lower(spec: &Spec, opts: &LowerOptions) -> Result<Graph, SpecError> {
    lower_within(spec, opts, &Limits::default())
}

/// The options' class count, refused where it does not fit the graph's integers.
fn classes_of(spec: &Spec, opts: &LowerOptions) -> Result<i64, SpecError> {
    match opts.classes {
        Some(k) => to_i64(k, &spec.file, Loc::default(), "--classes"),
        None => to_i64(spec.classes, &spec.file, Loc::default(), "classes"),
    }
}

/// The options' variant; an unknown one is refused, naming those the spec defines.
fn variant_of<'s>(spec: &'s Spec, opts: &LowerOptions) -> Result<Option<&'s Variant>, SpecError> {
    let Some(v) = &opts.variant else { return Ok(None) };
    spec.variants.get(v).map(Some).ok_or_else(|| {
        SpecError::new(
            spec.file.clone(),
            Loc::default(),
            format!(
                "unknown variant {v}, the spec defines: {}{}",
                if spec.variants.is_empty() {
                    "none".to_string()
                } else {
                    spec.variants.keys().cloned().collect::<Vec<_>>().join(", ")
                },
                crate::suggest::did_you_mean(v, spec.variants.keys().map(String::as_str)),
                v = crate::quote::quote(v)
            ),
        )
        .coded(crate::diag::code::UNKNOWN_NAME)
    })
}

/// The reference input size (H, W): `--input`, else the size the variant or the spec prints.
fn reference_of(spec: &Spec, opts: &LowerOptions) -> Result<(i64, i64), SpecError> {
    let printed = spec.printed_input(opts.variant.as_deref());
    let (h, w) = opts.input.unwrap_or((printed.height, printed.width));
    let (loc, what) = match opts.input {
        Some(_) => (Loc::default(), "--input"),
        None => (printed.loc, "the input size"),
    };
    Ok((to_i64(h, &spec.file, loc, what)?, to_i64(w, &spec.file, loc, what)?))
}

/// The spec's vars, with the variant's over them.
fn vars_of(spec: &Spec, variant: Option<&Variant>) -> IndexMap<String, Lit> {
    let mut vars = spec.vars.clone();
    if let Some(v) = variant {
        vars.extend(v.vars.clone());
    }
    vars
}

/// What every expression context of one lowering shares: the file, the class count and
/// the architecture column built.
struct Shared<'s> {
    file: &'s str,
    classes: i64,
    model: Option<&'s str>,
}

impl<'s> Shared<'s> {
    /// The context of a row's (or a head's) `cells` and `vars`, named `what` in messages.
    fn ctx<'c>(&self, cells: &'c IndexMap<String, Cell>, vars: &'c IndexMap<String, Lit>, what: String) -> Ctx<'c>
    where
        's: 'c,
    {
        let mut ctx = Ctx::new(self.file, cells, vars, self.classes, what);
        ctx.model = self.model;
        ctx
    }
}

impl<'a> Builder<'a> {
    /// An empty builder for `spec` under `variant` at the reference size `reference`.
    fn new(
        spec: &'a Spec,
        variant: Option<&'a Variant>,
        opts: &'a LowerOptions,
        reference: (i64, i64),
        max_nodes: usize,
    ) -> Builder<'a> {
        Builder {
            spec,
            max_nodes,
            row: None,
            row_bounds: std::collections::HashMap::new(),
            conv: variant.map(|v| v.conventions).unwrap_or(spec.conventions),
            nodes: Vec::new(),
            constraints: Vec::new(),
            mismatches: Vec::new(),
            reference,
            variant,
            templates: variant.map(|v| &v.templates).unwrap_or(&spec.templates),
            padded_rows: &opts.padded_rows,
            names: hashbrown::HashTable::new(),
            visits: 0,
            depth: 0,
            numbering: Default::default(),
        }
    }

    /// Reserves room for the nodes of `rows` rows. Growing the node list by doubling copies
    /// every node and touches twice the memory; a long table is allocation-bound, so reserve
    /// generously up front. Capacity that is never written costs only address space (its
    /// pages are never touched), so over-estimating the nodes per row is cheap. The name
    /// table gets the same estimate: growing it would rehash every name so far (twice on a
    /// 10,000-row table), and it holds only ids.
    fn reserve(&mut self, rows: usize) {
        let estimate = rows
            .saturating_mul(16)
            .saturating_add(64)
            .min(self.max_nodes.saturating_add(1));
        self.nodes.reserve(estimate);
        self.names = hashbrown::HashTable::with_capacity(estimate);
    }
}

/// Builds the graph of `spec` under the options' variant; refuses a graph over `limits`.
pub fn lower_within(spec: &Spec, opts: &LowerOptions, limits: &Limits) -> Result<Graph, SpecError> {
    let variant = variant_of(spec, opts)?;
    let classes = classes_of(spec, opts)?;
    // A variant may read the table at another input size; --input overrides both.
    let reference = reference_of(spec, opts)?;
    let input_channels = to_i64(
        spec.input.channels,
        &spec.file,
        spec.input.loc,
        "the input channel count",
    )?;
    let mut b = Builder::new(spec, variant, opts, reference, limits.max_nodes);
    let model = models::model_of(spec, variant, opts)?;
    b.reserve(spec.rows.len());
    let input = b.add(
        "input".into(),
        Op::Input {
            channels: input_channels,
        },
        vec![],
        &Place::Input,
        false,
        spec.input.loc,
    )?;
    let vars = vars_of(spec, variant);
    let shared = Shared {
        file: &spec.file,
        classes,
        model: model.as_deref(),
    };
    let built = b.rows(&shared, &vars, opts, input)?;
    b.row = None;
    let outputs = b.heads(&shared, &vars, built.end, built.aux_roots)?;
    Ok(Graph {
        nodes: b.nodes,
        rows: built.spans,
        outputs,
        reference: b.reference,
        input_channels,
        classes,
        variant: opts.variant.clone(),
        model,
        corrections: built.corrections,
        constraints: b.constraints,
        concat_mismatches: b.mismatches,
        changed_cells: built.changed_cells,
    })
}
