//! The results of `archcheck check` (many specs, each as printed and per variant), the one
//! model every output format reads (text, JSON, GitHub, SARIF, JUnit), and its JSON form.

use serde_json::{Value, json};

use crate::diag::{Diagnostic, Severity};

/// One spec checked as printed or under one variant, or one spec that cannot be used.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// The spec as named on the command line (or found under a directory).
    pub file: String,
    pub variant: Option<String>,
    /// The architecture column (`--model`, `--all-models`), where the spec has several.
    pub model: Option<String>,
    /// 0: consistent; 1: an error finding (or a warning under `--strict`); 2: unusable.
    pub status: u8,
    /// The derived parameter count, where the spec could be derived.
    pub parameters: Option<i64>,
    /// Every finding (errors, warnings, notes), or the one load error of an unusable spec.
    pub diagnostics: Vec<Diagnostic>,
}

impl CheckResult {
    /// `specs/x.yaml`, `specs/x.yaml --variant caffe`, `... --model 50-layer`.
    pub fn name(&self) -> String {
        let mut name = match &self.variant {
            Some(v) => format!("{} --variant {v}", self.file),
            None => self.file.clone(),
        };
        if let Some(m) = &self.model {
            name.push_str(&format!(" --model {m}"));
        }
        name
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics.iter().filter(|d| d.severity == severity).count()
    }

    /// `ok`, `fail` or `unusable`.
    pub fn verdict(&self) -> &'static str {
        match self.status {
            0 => "ok",
            1 => "fail",
            _ => "unusable",
        }
    }

    /// The diagnostics a CI annotation lists: errors and warnings (notes only inform).
    pub fn listed(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.severity != Severity::Note)
    }
}

/// The worst status of all results: the exit status of `check` in every format.
pub fn exit_code(results: &[CheckResult]) -> u8 {
    results.iter().map(|r| r.status).max().unwrap_or(0)
}

/// `(passed, failed)`: results with status 0, and the others.
pub fn tally(results: &[CheckResult]) -> (usize, usize) {
    let passed = results.iter().filter(|r| r.status == 0).count();
    (passed, results.len() - passed)
}

/// One diagnostic as JSON: its fields (docs/json.md) and the file it is about.
pub fn diagnostic_json(d: &Diagnostic, file: &str) -> Value {
    let mut v = serde_json::to_value(d).expect("diagnostics serialize");
    if let Value::Object(m) = &mut v {
        m.insert("file".into(), json!(file));
    }
    v
}

/// The whole run as one JSON document (docs/ci.md): every result with its diagnostics, and
/// the summary with the exit status.
pub fn json(results: &[CheckResult]) -> Value {
    let (passed, failed) = tally(results);
    let status = exit_code(results);
    let results: Vec<Value> = results
        .iter()
        .map(|r| {
            json!({
                "spec": r.file,
                "variant": r.variant,
                "model": r.model,
                "status": r.verdict(),
                "exit_code": r.status,
                "errors": r.count(Severity::Error),
                "warnings": r.count(Severity::Warning),
                "notes": r.count(Severity::Note),
                "parameters": r.parameters,
                "diagnostics": r.diagnostics.iter().map(|d| diagnostic_json(d, &r.file)).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "version": 1,
        "results": results,
        "summary": {"passed": passed, "failed": failed, "exit_code": status},
    })
}
