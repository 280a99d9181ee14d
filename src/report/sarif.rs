//! `check --format sarif`: SARIF 2.1.0 (OASIS), the format code-scanning dashboards read.
//! One run; a rule per code that occurs; one result per diagnostic, at the spec's line and
//! column (columns count Unicode code points, SARIF's default), related places as
//! `relatedLocations`, the variant as a property. Checked against the official schema in
//! tests/ci_formats.rs.

use serde_json::{Value, json};

use super::check::{CheckResult, exit_code};
use crate::diag::{Diagnostic, Severity, code};

/// The schema the document names.
const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// A path as a relative URI reference: unreserved characters and `/` as they are, every
/// other byte percent-encoded (`<stdin>` becomes `%3Cstdin%3E`).
fn uri(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn location(file: &str, line: usize, col: usize) -> Value {
    let mut physical = json!({"artifactLocation": {"uri": uri(file)}});
    if line > 0 {
        physical["region"] = json!({"startLine": line, "startColumn": col.max(1)});
    }
    json!({ "physicalLocation": physical })
}

fn result(d: &Diagnostic, r: &CheckResult, rule_index: usize) -> Value {
    let mut v = json!({
        "ruleId": d.code,
        "ruleIndex": rule_index,
        "level": level(d.severity),
        "message": {"text": d.message},
        "locations": [location(&r.file, d.line, d.col)],
    });
    let related: Vec<Value> = d
        .related
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let mut l = location(&r.file, x.line, x.col);
            l["id"] = json!(i);
            l["message"] = json!({"text": x.message});
            l
        })
        .collect();
    if !related.is_empty() {
        v["relatedLocations"] = json!(related);
    }
    let mut props = serde_json::Map::new();
    if let Some(variant) = &r.variant {
        props.insert("variant".into(), json!(variant));
    }
    if let Some(model) = &r.model {
        props.insert("model".into(), json!(model));
    }
    if let Some(row) = &d.row {
        props.insert("row".into(), json!(row));
    }
    if let Some(column) = &d.column {
        props.insert("column".into(), json!(column));
    }
    if let Some(help) = &d.help {
        props.insert("help".into(), json!(help));
    }
    if !props.is_empty() {
        v["properties"] = Value::Object(props);
    }
    v
}

/// The whole run as one SARIF log.
pub fn render(results: &[CheckResult]) -> Value {
    let mut rules: Vec<&str> = Vec::new();
    for d in results.iter().flat_map(|r| &r.diagnostics) {
        if !rules.contains(&d.code) {
            rules.push(d.code);
        }
    }
    rules.sort_unstable();
    let rule_json: Vec<Value> = rules
        .iter()
        .map(|c| {
            let level = match c.as_bytes().first() {
                Some(b'W') => "warning",
                Some(b'N') => "note",
                _ => "error",
            };
            json!({
                "id": c,
                "shortDescription": {"text": code::describe(c).unwrap_or(c)},
                "defaultConfiguration": {"level": level},
            })
        })
        .collect();
    let rules = &rules;
    let sarif_results: Vec<Value> = results
        .iter()
        .flat_map(|r| {
            r.diagnostics.iter().map(move |d| {
                let index = rules.iter().position(|c| *c == d.code).unwrap_or(0);
                result(d, r, index)
            })
        })
        .collect();
    let status = exit_code(results);
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "archcheck",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rule_json,
            }},
            "invocations": [{"executionSuccessful": status < 2, "exitCode": status}],
            "results": sarif_results,
        }],
    })
}
