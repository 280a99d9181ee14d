//! `archcheck derive`: one spec, every layer's shape and cost, the findings.

use super::args::{Format, ModelArgs, ViewArgs};
use super::{Failure, Output, ended, load, verdict};
use archcheck::report;

pub fn run(model: &ModelArgs, batch: i64, format: Format, strict: bool, view: &ViewArgs) -> Result<u8, Failure> {
    let loaded = load(&model.spec, model.limits)?;
    let d = loaded.derive(&model.lower_options(), batch, model.limits)?;
    let status = verdict(&d, strict);
    let mut out = Output::stdout();
    let written = match format {
        Format::Table => out.write(&report::table::render_view(
            &d,
            &loaded.source,
            &super::terminal::view(view),
        )),
        Format::Json => report::json::write(&d, i32::from(status), out.stream())
            .map_err(|e| out.failed(e.into()))
            .and_then(|()| out.line("")),
        Format::Markdown => out.write(&report::markdown::render(&d)),
    };
    // The process ends soon: skip freeing a graph that may hold 100,000 nodes.
    std::mem::forget(d);
    ended(written.and_then(|()| out.finish()), status)
}
