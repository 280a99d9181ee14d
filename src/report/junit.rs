//! `check --format junit`: JUnit XML, one `<testsuite>` per spec and one `<testcase>` per
//! spec as printed and per variant; an inconsistent table is a `<failure>`, an unusable spec
//! an `<error>`, warnings go to `<system-out>`.

use std::fmt::Write;

use super::check::{CheckResult, tally};
use super::diagnostics::render_concise;
use crate::diag::Severity;

/// Text for XML 1.0; a message's line breaks are kept (`<failure>` bodies are multi-line).
fn escape(s: &str) -> String {
    crate::fmt::xml_escape(s, crate::fmt::Breaks::Kept)
}

/// The whole run as one XML document.
pub fn render(results: &[CheckResult]) -> String {
    let (_, failed) = tally(results);
    let errors = results.iter().filter(|r| r.status >= 2).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"archcheck\" tests=\"{}\" failures=\"{}\" errors=\"{errors}\">",
        results.len(),
        failed - errors
    );
    // Results arrive grouped by spec; each spec is one suite.
    let mut i = 0;
    while i < results.len() {
        let file = &results[i].file;
        let n = results[i..].iter().take_while(|r| &r.file == file).count();
        let suite = &results[i..i + n];
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{n}\" failures=\"{}\" errors=\"{}\">",
            escape(file),
            suite.iter().filter(|r| r.status == 1).count(),
            suite.iter().filter(|r| r.status >= 2).count()
        );
        for r in suite {
            testcase(&mut out, r);
        }
        out.push_str("  </testsuite>\n");
        i += n;
    }
    out.push_str("</testsuites>\n");
    out
}

fn testcase(out: &mut String, r: &CheckResult) {
    let mut name = match &r.variant {
        Some(v) => format!("variant {v}"),
        None => "as printed".to_string(),
    };
    if let Some(m) = &r.model {
        name.push_str(&format!(", model {m}"));
    }
    let _ = writeln!(
        out,
        "    <testcase name=\"{}\" classname=\"{}\">",
        escape(&name),
        escape(&r.file)
    );
    let lines = |severity: Severity| -> String {
        r.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .map(|d| render_concise(d, &r.file))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let errors = r.count(Severity::Error);
    match r.status {
        0 => {}
        1 => {
            let message = if errors > 0 {
                format!("{errors} error findings")
            } else {
                "warnings under --strict".to_string()
            };
            let body = [lines(Severity::Error), lines(Severity::Warning)]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("\n");
            let _ = writeln!(
                out,
                "      <failure message=\"{}\" type=\"inconsistent\">{}</failure>",
                escape(&message),
                escape(&body)
            );
        }
        _ => {
            let first = r.diagnostics.first();
            let message = first.map_or_else(|| "the spec cannot be used".to_string(), |d| d.message.clone());
            let code = first.map_or("unusable", |d| d.code);
            let _ = writeln!(
                out,
                "      <error message=\"{}\" type=\"{code}\">{}</error>",
                escape(&message),
                escape(&lines(Severity::Error))
            );
        }
    }
    let warnings = lines(Severity::Warning);
    if !warnings.is_empty() {
        let _ = writeln!(out, "      <system-out>{}</system-out>", escape(&warnings));
    }
    out.push_str("    </testcase>\n");
}
