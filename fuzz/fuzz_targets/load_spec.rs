//! Any bytes as a spec file, through what `archcheck derive` does with it: loading, deriving
//! the table as printed and every variant, and rendering the result (table, JSON, markdown)
//! or the error. Nothing may panic, overflow or hang, and every error must name a place
//! in the file (a 1-based line and column within the text).
#![no_main]

use archcheck::derive::derive_within;

use archcheck::ir::{Limits, LowerOptions};
use archcheck::report;
use archcheck::spec::SpecError;
use libfuzzer_sys::fuzz_target;

/// Smaller graphs than the command line's default: the instrumented build runs some 20×
/// slower, and a spec at the default limits (a million nodes, four million visited steps)
/// would read as a hang; the bounds themselves are what is fuzzed.
const LIMITS: Limits = Limits { max_nodes: 50_000 };

/// Lines as YAML counts them: `\n`, `\r\n` and a lone `\r` each end one.
fn yaml_lines(text: &str) -> usize {
    text.replace("\r\n", "\n")
        .chars()
        .filter(|c| *c == '\n' || *c == '\r')
        .count()
        + 1
}

fn located(e: &SpecError, text: &str) {
    let lines = yaml_lines(text);
    assert!(
        e.loc.line >= 1 && e.loc.col >= 1 && e.loc.line <= lines + 1,
        "error without a place in the file ({} lines): {e}",
        lines
    );
    let _ = report::diagnostics::render_error(e, Some(&archcheck::source::Source::new("fuzz.yaml", text.to_string())));
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let spec = match archcheck::spec::load_str(text, "fuzz.yaml") {
        Ok(s) => s,
        Err(e) => return located(&e, text),
    };
    let variants: Vec<Option<String>> = std::iter::once(None)
        .chain(spec.variants.keys().cloned().map(Some))
        .collect();
    for variant in variants {
        let opts = LowerOptions {
            variant,
            ..LowerOptions::default()
        };
        match derive_within(spec.clone(), &opts, 1, &LIMITS) {
            Ok(d) => {
                let _ = report::table::render(&d, &d.spec.source);
                let _ = report::json::value(&d, 0).to_string();
                let _ = report::markdown::render(&d);
            }
            Err(e) => located(&e, text),
        }
    }
});
