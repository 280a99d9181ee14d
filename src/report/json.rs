//! The JSON report. Schema `archcheck.derive/1`, documented in docs/json.md; fields are only
//! ever added within a schema version.

use serde::Serialize;
use serde_json::{json, Value};

use super::{layer_lines, place_label, printed_output, row_status};
use crate::check::describe_agreement;
use crate::derive::Derivation;
use crate::ir::Place;
use crate::shape::{agreement, Axis, Shape};

pub const SCHEMA: &str = "archcheck.derive/1";

#[derive(Serialize)]
struct Layer {
    name: String,
    op: String,
    place: String,
    row: Option<String>,
    branch: Option<String>,
    /// The output without the batch, at the reference input: [C, H, W] or [F].
    shape: Vec<i64>,
    symbolic: String,
    params: i64,
    buffers: i64,
    macs: i64,
    /// Node names folded into this layer (conv, its batch norm and ReLU).
    nodes: Vec<String>,
}

/// The JSON value of a derivation; `exit_code` is what the CLI will return.
pub fn value(d: &Derivation, exit_code: i32) -> Value {
    let g = &d.graph;
    let (rh, rw) = g.reference;
    let layers: Vec<Layer> = layer_lines(d, 1, g.nodes.len())
        .into_iter()
        .map(|l| {
            let n = &g.nodes[l.node];
            let (row, branch) = match &n.place {
                Place::Row { row, branch } => (Some(d.spec.rows[*row].label.clone()), branch.clone()),
                Place::After { row } => (Some(d.spec.rows[*row].label.clone()), None),
                _ => (None, None),
            };
            Layer {
                name: n.name.clone(),
                op: n.op.describe(),
                place: place_label(d, l.node),
                row,
                branch,
                shape: n.shape.at(rh, rw),
                symbolic: n.shape.symbolic(),
                params: l.params,
                buffers: l.nodes.iter().map(|i| d.per_node[*i].buffers).sum(),
                macs: l.macs,
                nodes: l.nodes.iter().map(|i| g.nodes[*i].name.clone()).collect(),
            }
        })
        .collect();
    let rows: Vec<Value> = g
        .rows
        .iter()
        .enumerate()
        .map(|(i, span)| {
            let rc = crate::count::row_cost(g, &d.per_node, i);
            let n = &g.nodes[span.output];
            json!({
                "label": d.spec.rows[i].label,
                "name": d.spec.rows[i].name,
                "template": span.template,
                "printed": g.row_cells[i].iter().map(|(k, c)| (k.clone(), Value::String(c.text.clone()))).collect::<serde_json::Map<_, _>>(),
                "printed_output": printed_output(d, i),
                "shape": n.shape.at(rh, rw),
                "symbolic": n.shape.symbolic(),
                "depth": crate::count::depth_between(g, span.input, span.output),
                "params": rc.params,
                "macs": rc.macs,
                "status": row_status(d, i),
            })
        })
        .collect();
    let concat: Vec<Value> = g
        .concat_mismatches
        .iter()
        .map(|m| {
            let dims: Vec<_> = m.branches.iter().filter_map(|b| match g.nodes[*b].shape { Shape::Map { h, .. } => Some(h), _ => None }).collect();
            json!({"node": g.nodes[m.node].name, "condition": describe_agreement(&agreement(&dims, d.min_input.0), Axis::H)})
        })
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
    json!({
        "schema": SCHEMA,
        "spec": {"file": d.spec.file, "name": d.spec.name, "title": d.spec.title},
        "variant": g.variant,
        "input": {"channels": g.input_channels, "reference": [rh, rw], "batch": t.batch, "symbolic": format!("N×{}×H×W", g.input_channels)},
        "classes": g.classes,
        "conventions": {"macs": "1 MAC = 2 FLOPs; convolutions and linear layers only; per image at the reference input", "memory": "fp32 activations for the batch"},
        "outputs": g.outputs.iter().map(|o| json!({"name": o.name, "node": g.nodes[o.node].name, "aux": o.aux, "shape": g.nodes[o.node].shape.at(rh, rw)})).collect::<Vec<_>>(),
        "layers": layers,
        "rows": rows,
        "totals": {
            "params": t.params, "aux_params": t.aux_params, "buffers": t.buffers, "macs": t.macs, "flops": t.macs.saturating_mul(2),
            "forward_bytes": t.forward_bytes, "training_bytes": t.training_bytes,
        },
        "constraints": {
            "min_input": [d.min_input.0, d.min_input.1],
            "max_input": match d.max_input { (Some(h), Some(w)) => json!([h, w]), _ => Value::Null },
            "concat": concat,
        },
        "diagnostics": diagnostics,
        "summary": {"errors": d.errors(), "warnings": d.warnings(), "notes": d.diagnostics.len() - d.errors() - d.warnings(), "exit_code": exit_code},
    })
}
