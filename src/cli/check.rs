//! `archcheck check`: many specs and variants, one line each (CI shape assertions).

use std::path::{Path, PathBuf};

use super::args::InputLimits;
use super::{Failure, Output, ended, load, output, plural, verdict};
use archcheck::derive::derive_within;
use archcheck::diag::Severity;
use archcheck::ir::LowerOptions;
use archcheck::report;
use archcheck::report::diagnostics::{render_concise, render_error};

pub struct Request<'a> {
    pub specs: &'a [PathBuf],
    pub variant: &'a Option<String>,
    pub all_variants: bool,
    pub model: &'a Option<String>,
    pub all_models: bool,
    pub strict: bool,
    pub limits: InputLimits,
}

pub fn run(r: &Request<'_>) -> Result<u8, Failure> {
    let mut out = Output::stdout();
    let mut tally = Tally::default();
    let written = r
        .specs
        .iter()
        .try_for_each(|path| check_spec(r, path, &mut out, &mut tally));
    let written = written.and_then(|()| out.line(&format!("{} passed, {} failed", tally.passed, tally.failed)));
    ended(written.and_then(|()| out.finish()), tally.worst)
}

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    worst: u8,
}

impl Tally {
    fn count(&mut self, status: u8) {
        if status == 0 {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        self.worst = self.worst.max(status);
    }
}

/// One spec: the table as printed, or the chosen variant, or all of them.
fn check_spec(r: &Request<'_>, path: &Path, out: &mut Output, tally: &mut Tally) -> Result<(), Failure> {
    let loaded = match load(path, r.limits) {
        Ok(l) => l,
        Err(Failure::Unusable(message)) => {
            out.line(&format!("FAIL {} (unusable)", path.display()))?;
            out.flush()?;
            output::message(&message);
            tally.count(2);
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let variants: Vec<Option<String>> = if r.all_variants {
        std::iter::once(None)
            .chain(loaded.spec.variants.keys().cloned().map(Some))
            .collect()
    } else {
        vec![r.variant.clone()]
    };
    let runs: Vec<(Option<String>, Option<String>)> = variants
        .into_iter()
        .flat_map(|v| {
            let models: Vec<Option<String>> = if r.all_models && !loaded.spec.models.is_empty() {
                // The models a variant is for, or every one.
                let targets = v
                    .as_ref()
                    .and_then(|v| loaded.spec.variants.get(v))
                    .map(|v| v.models.clone())
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| loaded.spec.models.clone());
                targets.into_iter().map(Some).collect()
            } else {
                vec![r.model.clone()]
            };
            models.into_iter().map(move |m| (v.clone(), m))
        })
        .collect();
    for (v, m) in runs {
        let mut name = match &v {
            Some(v) => format!("{} --variant {v}", path.display()),
            None => path.display().to_string(),
        };
        if let Some(m) = &m {
            name.push_str(&format!(" --model {m}"));
        }
        let opts = LowerOptions {
            variant: v.clone(),
            model: m,
            ..LowerOptions::default()
        };
        match derive_within(loaded.spec.clone(), &opts, 1, &r.limits.graph()) {
            Ok(d) => {
                let status = verdict(&d, r.strict);
                let word = if status == 0 { "ok  " } else { "FAIL" };
                out.line(&format!(
                    "{word} {name}: {}, {}, {} parameters",
                    plural(d.errors(), "error"),
                    plural(d.warnings(), "warning"),
                    report::thousands(d.totals.params)
                ))?;
                let shown = |s: Severity| s == Severity::Error || (r.strict && s == Severity::Warning);
                for x in d.diagnostics.iter().filter(|x| shown(x.severity)) {
                    out.line(&format!("     {}", render_concise(x, &d.spec.file)))?;
                }
                tally.count(status);
            }
            Err(e) => {
                out.line(&format!("FAIL {name} (unusable)"))?;
                out.flush()?;
                output::message(&render_error(&e, Some(&loaded.source)));
                tally.count(2);
            }
        }
    }
    Ok(())
}
