//! The graph a loss trains: its main output the logits.

use super::{Graph, Op, Output};

/// Makes the main output the logits: a trailing softmax is skipped (the loss applies
/// log-softmax itself). `build --train` trains this graph, and `emit --train-script`
/// writes the module of it.
pub fn logits_graph(mut g: Graph) -> Graph {
    let main = g.main_output();
    if matches!(g.nodes[main].op, Op::Softmax)
        && let Some(&input) = g.nodes[main].inputs.first()
    {
        match g.outputs.iter_mut().find(|o| !o.aux) {
            Some(o) => o.node = input,
            None => g.outputs.push(Output {
                name: "logits".into(),
                node: input,
                aux: false,
            }),
        }
    }
    g
}
