//! `archcheck derive`: one spec, every layer's shape and cost, the findings.

use super::args::{Format, ModelArgs};
use super::{Failure, Output, ended, load, verdict};
use archcheck::report;

pub fn run(model: &ModelArgs, batch: i64, format: Format, strict: bool) -> Result<u8, Failure> {
    let loaded = load(&model.spec, model.limits)?;
    let d = loaded.derive(&model.lower_options(), batch, model.limits)?;
    let status = verdict(&d, strict);
    let mut out = Output::stdout();
    let written = match format {
        Format::Table => out.write(&report::diagnostics::painted(super::output::paint(true), || {
            report::table::render(&d, &loaded.source)
        })),
        Format::Json => report::json::write(&d, i32::from(status), out.stream())
            .map_err(|e| out.failed(e.into()))
            .and_then(|()| out.line("")),
        Format::Markdown => out.write(&report::markdown::render(&d)),
    };
    // The process ends soon: skip freeing a graph that may hold 100,000 nodes.
    std::mem::forget(d);
    ended(written.and_then(|()| out.finish()), status)
}
