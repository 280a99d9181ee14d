//! `archcheck derive`: one spec, every layer's shape and cost, the findings; in a CI format
//! (github, sarif, junit) the spec's one result as `check` would write it.

use super::args::{Format, ModelArgs, ViewArgs};
use super::{Failure, Loaded, Output, ended, load_spec, output, spec_failure, verdict};
use archcheck::derive::derive_within;
use archcheck::report;
use archcheck::report::check::CheckResult;
use archcheck::source::Source;
use archcheck::spec::SpecError;

pub fn run(model: &ModelArgs, batch: i64, format: Format, strict: bool, view: &ViewArgs) -> Result<u8, Failure> {
    let loaded: Loaded = match load_spec(&model.spec, model.limits) {
        Ok(l) => l,
        Err(e) => return unusable(format, &e.error, e.source.as_deref()),
    };
    let opts = model.lower_options();
    let d = match derive_within(loaded.spec.clone(), &opts, batch, &model.limits.graph()) {
        Ok(d) => d,
        Err(e) => return unusable(format, &e, Some(loaded.source())),
    };
    let status = verdict(&d, strict);
    let mut out = Output::stdout();
    let result = || CheckResult {
        file: d.spec.file.clone(),
        variant: opts.variant.clone(),
        model: opts.model.clone(),
        status,
        parameters: Some(d.totals.params),
        diagnostics: d.diagnostics.clone(),
    };
    let written = match format {
        Format::Table => out.write(&report::diagnostics::painted(output::paint(true), || {
            report::table::render_view(&d, &d.spec.source, &super::terminal::view(view))
        })),
        Format::Json => report::json::write(&d, i32::from(status), out.stream())
            .map_err(|e| out.failed(e.into()))
            .and_then(|()| out.line("")),
        Format::Markdown => out.write(&report::markdown::render(&d)),
        Format::Github | Format::Sarif | Format::Junit => out.write(&ci_document(format, &[result()])),
    };
    // The process ends soon: skip freeing a graph that may hold 100,000 nodes.
    std::mem::forget(d);
    ended(written.and_then(|()| out.finish()), status)
}

fn ci_document(format: Format, results: &[CheckResult]) -> String {
    match format {
        Format::Github => report::github::render(results),
        Format::Sarif => format!("{}\n", report::sarif::render(results)),
        _ => report::junit::render(results),
    }
}

/// A spec that cannot be used: exit 2 with the error on standard error; the machine formats
/// also write their document of it on standard output (docs/json.md, docs/ci.md).
fn unusable(format: Format, e: &SpecError, source: Option<&Source>) -> Result<u8, Failure> {
    let document = match format {
        Format::Table | Format::Markdown => None,
        Format::Json => Some(format!("{:#}\n", report::json::unusable(e))),
        Format::Github | Format::Sarif | Format::Junit => Some(ci_document(
            format,
            &[CheckResult {
                file: e.file.clone(),
                variant: None,
                model: None,
                status: 2,
                parameters: None,
                diagnostics: vec![e.into()],
            }],
        )),
    };
    if let Some(text) = document {
        let mut out = Output::stdout();
        match out.write(&text).and_then(|()| out.finish()) {
            Ok(()) | Err(Failure::ClosedPipe) => {}
            Err(f) => return Err(f),
        }
    }
    Err(spec_failure(e, source))
}
