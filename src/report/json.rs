//! The JSON report. Schema `archcheck.derive/1`, documented in docs/json.md; fields are only
//! ever added within a schema version.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{Value, json};

use super::{layer_lines, place_label, printed_output};
use crate::derive::Derivation;
use crate::ir::Place;
use crate::shape::Shape;

pub const SCHEMA: &str = "archcheck.derive/1";

#[derive(Serialize)]
struct Layer<'a> {
    name: &'a str,
    op: OpText<'a>,
    place: PlaceLabel<'a>,
    row: Option<&'a str>,
    branch: Option<&'a str>,
    /// The output without the batch, at the reference input: [C, H, W] or [F].
    shape: ShapeAt,
    symbolic: &'a str,
    params: i64,
    buffers: i64,
    macs: i64,
    /// Node names folded into this layer (conv, its batch norm and ReLU).
    nodes: NodeNames<'a>,
}

/// A shape at the reference input, written as `Shape::at` gives it ([C, H, W] or [F])
/// without a `Vec` per layer.
struct ShapeAt(Shape, (i64, i64));

impl Serialize for ShapeAt {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (rh, rw) = self.1;
        match self.0 {
            Shape::Map { c, h, w } => [c, h.eval(rh), w.eval(rw)].as_slice().serialize(s),
            Shape::Flat { features } => [features].as_slice().serialize(s),
        }
    }
}

/// An op's description (`Op::describe`), written in place.
struct OpText<'a>(&'a crate::ir::Op);

impl Serialize for OpText<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0.description())
    }
}

/// A layer's place label, written straight into the output: the same text as
/// `place_label`, without a `String` per layer.
struct PlaceLabel<'a>(&'a Derivation, crate::ir::NodeId);

impl Serialize for PlaceLabel<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (d, id) = (self.0, self.1);
        match &d.graph.nodes[id].place {
            Place::Row { row, branch: None } => s.serialize_str(&d.spec.rows[*row].label),
            Place::Head => s.serialize_str("head"),
            Place::Input => s.serialize_str("input"),
            _ => s.serialize_str(&place_label(d, id)),
        }
    }
}

/// The names of the nodes folded into a layer, borrowed from the graph.
struct NodeNames<'a>(&'a crate::ir::Graph, &'a [crate::ir::NodeId]);

impl Serialize for NodeNames<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.1.iter().map(|i| &self.0.nodes[*i].name))
    }
}

#[derive(Serialize)]
struct Report<'a> {
    schema: &'static str,
    spec: Value,
    variant: &'a Option<String>,
    /// The architecture column built, in a table of architectures.
    #[serde(skip_serializing_if = "Option::is_none")]
    model: &'a Option<String>,
    input: Value,
    classes: i64,
    conventions: Value,
    outputs: Vec<Value>,
    layers: Layers<'a>,
    rows: Rows<'a>,
    totals: Value,
    constraints: Value,
    diagnostics: Vec<Value>,
    summary: Value,
}

/// The JSON value of a derivation; `exit_code` is what the CLI will return.
pub fn value(d: &Derivation, exit_code: i32) -> Value {
    serde_json::to_value(report(d, exit_code)).expect("report serializes")
}

/// Writes the report as pretty JSON, streaming the (possibly long) layer list.
pub fn write(d: &Derivation, exit_code: i32, w: impl std::io::Write) -> serde_json::Result<()> {
    serde_json::to_writer_pretty(w, &report(d, exit_code))
}

fn report(d: &Derivation, exit_code: i32) -> Report<'_> {
    let g = &d.graph;
    let (rh, rw) = g.reference;
    let layers = Layers(d, layer_lines(d, 1, g.nodes.len()));
    let rows = Rows(d);
    let concat: Vec<Value> = d
        .domain
        .conditions
        .iter()
        .map(|(node, condition)| json!({"node": g.nodes[*node].name, "condition": condition}))
        .collect();
    let diagnostics: Vec<Value> = d
        .diagnostics
        .iter()
        .map(|x| {
            let mut v = serde_json::to_value(x).expect("diagnostics serialize");
            v["file"] = json!(d.spec.file);
            v
        })
        .collect();
    let t = &d.totals;
    Report {
        schema: SCHEMA,
        spec: json!({"file": d.spec.file, "name": d.spec.name, "title": d.spec.title}),
        variant: &g.variant,
        model: &g.model,
        input: json!({"channels": g.input_channels, "reference": [rh, rw], "batch": t.batch, "symbolic": format!("N×{}×H×W", g.input_channels)}),
        classes: g.classes,
        conventions: json!({"macs": "1 MAC = 2 FLOPs; convolutions and linear layers only, no bias (FlopCounterMode's FLOPs / 2); per image at the reference input", "memory": "fp32 activations for the batch"}),
        outputs: g.outputs.iter().map(|o| json!({"name": o.name, "node": g.nodes[o.node].name, "aux": o.aux, "shape": g.nodes[o.node].shape.at(rh, rw)})).collect(),
        layers,
        rows,
        totals: json!({
            "params": t.params, "aux_params": t.aux_params, "buffers": t.buffers, "macs": t.macs, "flops": t.macs.saturating_mul(2),
            "forward_bytes": t.forward_bytes, "training_bytes": t.training_bytes,
        }),
        constraints: json!({
            "min_input": [d.domain.min.0, d.domain.min.1],
            "max_input": match d.domain.max { (Some(h), Some(w)) => json!([h, w]), _ => Value::Null },
            "concat": concat,
        }),
        diagnostics,
        summary: json!({"errors": d.errors(), "warnings": d.warnings(), "notes": d.diagnostics.len() - d.errors() - d.warnings(), "exit_code": exit_code}),
    }
}

// The layer and row lists hold one entry per node or row: on a 10,000-row table that is
// 100,000 layers. They are serialized as they are built, one at a time, instead of being
// collected (as structs or `Value`s) first, which doubled the memory the report touched. The
// fields and their order are those of `Layer` and of the former `json!` row object, so the
// text is unchanged.

/// The displayed layers, serialized one by one.
struct Layers<'a>(&'a Derivation, Vec<super::LayerLine>);

impl Serialize for Layers<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (d, lines) = (self.0, &self.1);
        let g = &d.graph;
        let (rh, rw) = g.reference;
        let mut seq = s.serialize_seq(Some(lines.len()))?;
        // A long table repeats a few shapes over and over: format each symbolic form once.
        let mut symbolic: std::collections::HashMap<Shape, String> = std::collections::HashMap::new();
        for l in lines {
            let n = &g.nodes[l.node];
            let (row, branch) = match &n.place {
                Place::Row { row, branch } => (Some(d.spec.rows[*row].label.as_str()), branch.as_deref()),
                Place::After { row } => (Some(d.spec.rows[*row].label.as_str()), None),
                _ => (None, None),
            };
            seq.serialize_element(&Layer {
                name: &n.name,
                op: OpText(&n.op),
                place: PlaceLabel(d, l.node),
                row,
                branch,
                shape: ShapeAt(n.shape, (rh, rw)),
                symbolic: symbolic.entry(n.shape).or_insert_with(|| n.shape.symbolic()),
                params: l.params,
                buffers: l.nodes.iter().map(|i| d.per_node[*i].buffers).sum(),
                macs: l.macs,
                nodes: NodeNames(g, &l.nodes),
            })?;
        }
        seq.end()
    }
}

/// One row of the table, in the field order of the report.
#[derive(Serialize)]
struct Row<'a> {
    label: &'a str,
    name: &'a str,
    template: &'a str,
    printed: Printed<'a>,
    printed_output: Option<String>,
    shape: Vec<i64>,
    symbolic: String,
    depth: i64,
    params: i64,
    macs: i64,
    status: String,
    /// The printed cells the checks compared, and those another input size leaves out.
    compared: &'a [&'static str],
    not_compared: &'a [&'static str],
}

/// A row's printed cells: column → text.
struct Printed<'a>(&'a indexmap::IndexMap<String, crate::spec::Cell>);

impl Serialize for Printed<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, c) in self.0 {
            m.serialize_entry(k, &c.text)?;
        }
        m.end()
    }
}

/// The rows, serialized one by one.
struct Rows<'a>(&'a Derivation);

impl Serialize for Rows<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.0;
        let g = &d.graph;
        let (rh, rw) = g.reference;
        let mut seq = s.serialize_seq(Some(g.rows.len()))?;
        for (i, span) in g.rows.iter().enumerate() {
            let figures = &d.rows[i];
            let n = &g.nodes[span.output];
            seq.serialize_element(&Row {
                label: &d.spec.rows[i].label,
                name: &d.spec.rows[i].name,
                template: &span.template,
                printed: Printed(g.row_cells(&d.spec, i)),
                printed_output: printed_output(d, i),
                shape: n.shape.at(rh, rw),
                symbolic: n.shape.symbolic(),
                depth: figures.depth,
                params: figures.cost.params,
                macs: figures.cost.macs,
                status: figures.status.to_string(),
                compared: &figures.status.compared.compared,
                not_compared: &figures.status.compared.not_compared,
            })?;
        }
        seq.end()
    }
}

/// The document of a spec that cannot be used (exit 2): the schema, the file, its one load
/// error (code E0xx) as a diagnostic and the summary; the other fields need a derivation.
pub fn unusable(e: &crate::spec::SpecError) -> Value {
    let d = crate::diag::Diagnostic::from(e);
    json!({
        "schema": "archcheck.derive/1",
        "spec": {"file": e.file},
        "diagnostics": [super::check::diagnostic_json(&d, &e.file)],
        "summary": {"errors": 1, "warnings": 0, "notes": 0, "exit_code": 2},
    })
}
