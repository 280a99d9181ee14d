//! `check --format github`: GitHub Actions workflow commands, one per error and warning
//! (`::error file=F,line=L,col=C,title=E101::message`), which the runner turns into
//! annotations on the spec's lines; a plain status line per spec and variant between them.

use super::check::{CheckResult, tally};
use crate::diag::Severity;

/// A workflow command's message: `%`, CR and LF escaped, as the runner reads them back.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A property value: also `:` and `,`, which end a property.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn command(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "notice",
    }
}

/// The whole run as workflow commands and status lines.
pub fn render(results: &[CheckResult]) -> String {
    let mut out = String::new();
    for r in results {
        out.push_str(&format!("{} {}\n", r.verdict(), r.name()));
        for d in r.listed() {
            let mut props = vec![format!("file={}", escape_property(&r.file))];
            if d.line > 0 {
                props.push(format!("line={}", d.line));
                props.push(format!("col={}", d.col));
            }
            let title = match (&r.variant, &r.model) {
                (Some(v), Some(m)) => format!("{} (variant {v}, model {m})", d.code),
                (Some(v), None) => format!("{} (variant {v})", d.code),
                (None, Some(m)) => format!("{} (model {m})", d.code),
                (None, None) => d.code.to_string(),
            };
            props.push(format!("title={}", escape_property(&title)));
            out.push_str(&format!(
                "::{} {}::{}\n",
                command(d.severity),
                props.join(","),
                escape_data(&d.message)
            ));
        }
    }
    let (passed, failed) = tally(results);
    out.push_str(&format!("{passed} passed, {failed} failed\n"));
    out
}
