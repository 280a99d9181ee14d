//! A comparison as diagnostics in derive's format: each difference at the spec row that
//! builds the tensor, naming the checkpoint's tensor and the derived one.

use super::inventory::Expected;
use super::matching::{Comparison, Difference, Pairing};
use super::weights::Found;
use crate::diag::{Diagnostic, Severity, code};
use crate::ir::{Graph, NodeId, Place};
use crate::spec::{Loc, Spec};

/// Unexpected modules listed one by one; the rest are counted.
const MAX_LISTED: usize = 100;

/// `512×256×3×3`; a scalar is `scalar`.
pub fn dims(shape: &[i64]) -> String {
    if shape.is_empty() {
        return "a scalar".to_string();
    }
    shape.iter().map(i64::to_string).collect::<Vec<_>>().join("×")
}

/// Where a node sits, as the table prints it: `inception (4c)`, `the head`.
pub fn place(spec: &Spec, g: &Graph, node: NodeId) -> String {
    match &g.nodes[node].place {
        Place::Row { row, .. } => spec
            .rows
            .get(*row)
            .map_or_else(|| "a row".to_string(), |r| r.label.clone()),
        Place::After { row } => spec.rows.get(*row).map_or_else(
            || "a layer a variant inserts".to_string(),
            |r| format!("after {}", r.label),
        ),
        Place::Head => "the head".to_string(),
        Place::Aux { head } => format!("auxiliary head {head}"),
        Place::Input => "the input".to_string(),
    }
}

/// The printed row that builds a node (its type cell), or the layer itself for a head.
fn row_loc(spec: &Spec, g: &Graph, node: NodeId) -> Loc {
    match &g.nodes[node].place {
        Place::Row { row, .. } | Place::After { row } => spec.rows.get(*row).map_or(g.nodes[node].loc, |r| r.loc),
        _ => g.nodes[node].loc,
    }
}

/// The findings of comparison `c`, in this order: shapes (E501), missing tensors (E502),
/// unexpected ones (E503), and the note that tensors were paired by structure (N504).
/// `anchor` locates what has no row of its own (the variant, or the spec's first line).
pub fn diagnostics(
    spec: &Spec,
    g: &Graph,
    expected: &[Expected],
    found: &[Found],
    c: &Comparison,
    anchor: Loc,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for d in &c.differences {
        if let Difference::Shape { expected: e, found: f } = *d {
            out.push(wrong_shape(spec, g, &expected[e], &found[f]));
        }
    }
    missing(spec, g, expected, c, &mut out);
    unexpected(spec, g, expected, found, c, anchor, &mut out);
    if c.pairing == Pairing::ByStructure && !c.matched.is_empty() {
        out.push(Diagnostic::new(
            Severity::Note,
            code::WEIGHT_BY_STRUCTURE,
            anchor,
            format!(
                "the checkpoint names its tensors otherwise ({} is the derived {}); they were paired by structure",
                found[c.matched[0].1].name, expected[c.matched[0].0].name
            ),
        ));
    }
    out
}

/// E501: the checkpoint's tensor `got` has another shape than the derived `exp`.
fn wrong_shape(spec: &Spec, g: &Graph, exp: &Expected, got: &Found) -> Diagnostic {
    let node = &g.nodes[exp.node];
    let theirs = if got.name == exp.name {
        String::new()
    } else {
        format!(" (its {})", exp.name)
    };
    let mut x = Diagnostic::new(
        Severity::Error,
        code::WEIGHT_SHAPE,
        row_loc(spec, g, exp.node),
        format!(
            "{} is {}, the table derives {}{theirs}: {}, {}",
            got.name,
            dims(&got.shape),
            dims(&exp.shape),
            place(spec, g, exp.node),
            node.op.description()
        ),
    )
    .related(node.loc, format!("{} comes from this layer", node.name));
    if is_permutation(&got.shape, &exp.shape) {
        x = x.help("the same dimensions in another order: a transposed layout (TF's HWIO, a linear layer stored in×out) needs permuting before loading");
    }
    x
}

/// E502: one finding per layer whose tensors the checkpoint lacks, in the order of the
/// differences, listing them.
fn missing(spec: &Spec, g: &Graph, expected: &[Expected], c: &Comparison, out: &mut Vec<Diagnostic>) {
    let mut missing_nodes: Vec<NodeId> = Vec::new();
    let mut missing: std::collections::HashMap<NodeId, Vec<&Expected>> = std::collections::HashMap::new();
    for d in &c.differences {
        if let Difference::Missing { expected: e } = *d {
            let node = expected[e].node;
            if missing_nodes.last() != Some(&node) {
                missing_nodes.push(node);
            }
            missing.entry(node).or_default().push(&expected[e]);
        }
    }
    for node in missing_nodes {
        let names = &missing[&node];
        let n = &g.nodes[node];
        let list = names
            .iter()
            .map(|e| format!("{} {}", e.role.suffix(), dims(&e.shape)))
            .collect::<Vec<_>>()
            .join(", ");
        out.push(
            Diagnostic::new(
                Severity::Error,
                code::WEIGHT_MISSING,
                row_loc(spec, g, node),
                format!(
                    "the weights have no {} {} ({list}): {}",
                    names[0].role.module().word(),
                    n.name,
                    place(spec, g, node)
                ),
            )
            .related(n.loc, format!("{} comes from this layer", n.name)),
        );
    }
}

/// E503: the tensors the table does not derive, grouped by their module prefix, at the row
/// they follow; past [`MAX_LISTED`] modules, one line says how many more.
fn unexpected(
    spec: &Spec,
    g: &Graph,
    expected: &[Expected],
    found: &[Found],
    c: &Comparison,
    anchor: Loc,
    out: &mut Vec<Diagnostic>,
) {
    let mut groups: Vec<(&str, Vec<usize>, Option<usize>)> = Vec::new();
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for d in &c.differences {
        if let Difference::Unexpected { found: f, after } = *d {
            let p = found[f]
                .name
                .rsplit_once('.')
                .map_or(found[f].name.as_str(), |(p, _)| p);
            let k = *index.entry(p).or_insert_with(|| {
                groups.push((p, Vec::new(), after));
                groups.len() - 1
            });
            groups[k].1.push(f);
        }
    }
    let hidden = groups.len().saturating_sub(MAX_LISTED);
    for (_, members, after) in groups.into_iter().take(MAX_LISTED) {
        let list = members
            .iter()
            .map(|f| format!("{} {}", found[*f].name, dims(&found[*f].shape)))
            .collect::<Vec<_>>()
            .join(", ");
        let (loc, whereabouts) = match after {
            Some(e) => {
                let node = expected[e].node;
                (
                    row_loc(spec, g, node),
                    format!(", after {} ({})", g.nodes[node].name, place(spec, g, node)),
                )
            }
            None => (anchor, String::new()),
        };
        out.push(Diagnostic::new(
            Severity::Error,
            code::WEIGHT_UNEXPECTED,
            loc,
            format!("the weights hold {list}, which the table does not derive{whereabouts}"),
        ));
    }
    if hidden > 0 {
        out.push(Diagnostic::new(
            Severity::Error,
            code::WEIGHT_UNEXPECTED,
            anchor,
            format!(
                "the weights hold {} more modules the table does not derive (the first {MAX_LISTED} are listed)",
                crate::fmt::thousands(hidden as i64)
            ),
        ));
    }
}

fn is_permutation(a: &[i64], b: &[i64]) -> bool {
    if a.len() != b.len() || a == b {
        return false;
    }
    let (mut x, mut y) = (a.to_vec(), b.to_vec());
    x.sort_unstable();
    y.sort_unstable();
    x == y
}
