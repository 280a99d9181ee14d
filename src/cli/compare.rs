//! `archcheck compare SPEC WEIGHTS`: a checkpoint against the derived network, each
//! difference at its spec row. Exit 0 when every tensor agrees, 1 when one differs, is
//! missing or is unexpected, 2 when the spec or the checkpoint cannot be read.

use std::path::Path;

use super::args::ModelArgs;
use super::{Failure, Output, ended, load, plural};
use archcheck::compare::{self, Pairing};
use archcheck::diag::Severity;
use archcheck::report::diagnostics::render;
use archcheck::spec::Loc;

pub fn run(model: &ModelArgs, weights: &Path) -> Result<u8, Failure> {
    let loaded = load(&model.spec, model.limits)?;
    let d = loaded.derive(&model.lower_options(), 1, model.limits)?;
    let found = compare::read(weights).map_err(|e| Failure::unusable(format!("error: {e}\n")))?;
    let expected = compare::expected(&d.graph);
    let comparison = compare::pair(&expected, &found);
    let anchor = model
        .variant
        .as_ref()
        .and_then(|v| d.spec.variants.get(v))
        .map_or(Loc { line: 1, col: 1 }, |v| v.loc);
    let findings = compare::diagnostics(&d.spec, &d.graph, &expected, &found, &comparison, anchor);
    let errors = findings.iter().filter(|x| x.severity == Severity::Error).count();
    let mut out = Output::stdout();
    let pairing = match comparison.pairing {
        Pairing::ByName => "by name",
        Pairing::ByStructure => "by structure",
    };
    let what = match &model.variant {
        Some(v) => format!("{} --variant {v}", model.spec.display()),
        None => model.spec.display().to_string(),
    };
    let mut text = format!(
        "{} against {what}\n{} derived, {} in the checkpoint, paired {pairing}: {} agree\n",
        weights.display(),
        plural(expected.len(), "tensor"),
        plural(found.len(), "tensor"),
        comparison.matched.len()
    );
    for x in &findings {
        text.push('\n');
        text.push_str(&render(x, &d.spec.file, &d.spec.source));
    }
    text.push_str(&format!(
        "\n{}, {}\n",
        plural(errors, "difference"),
        if errors == 0 {
            "the checkpoint matches the table"
        } else {
            "the checkpoint does not match the table"
        }
    ));
    let status = u8::from(errors > 0);
    ended(out.write(&text).and_then(|()| out.finish()), status)
}
