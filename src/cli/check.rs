//! `archcheck check`: many specs and variants, one result each (CI shape assertions), as
//! text or in a CI format (docs/ci.md). The exit status is the worst result's in every
//! format: 0 all consistent, 1 an inconsistent table, 2 an unusable spec.

use std::path::{Path, PathBuf};

use super::args::{CheckFormat, InputLimits};
use super::{Failure, Output, ended, load_spec, output, plural, verdict};
use archcheck::derive::derive_within;
use archcheck::diag::{Diagnostic, Severity, code};
use archcheck::ir::LowerOptions;
use archcheck::report;
use archcheck::report::check::CheckResult;
use archcheck::report::diagnostics::{render_concise, render_error_painted};
use archcheck::spec::{Loc, SpecError};

pub struct Request<'a> {
    pub specs: &'a [PathBuf],
    pub format: CheckFormat,
    pub variant: &'a Option<String>,
    pub all_variants: bool,
    pub model: &'a Option<String>,
    pub all_models: bool,
    pub strict: bool,
    pub limits: InputLimits,
}

/// `--format` as given, else `github` inside GitHub Actions (`GITHUB_ACTIONS=true`), else text.
pub fn format_or_default(format: Option<CheckFormat>) -> CheckFormat {
    format.unwrap_or_else(|| {
        if std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true") {
            CheckFormat::Github
        } else {
            CheckFormat::Text
        }
    })
}

pub fn run(r: &Request<'_>) -> Result<u8, Failure> {
    let mut out = Output::stdout();
    let mut results = Vec::new();
    let text = r.format == CheckFormat::Text;
    // Text streams: each result as it is reached. The other formats are one document.
    let written = spec_files(r.specs).into_iter().try_for_each(|spec| {
        let checked = match spec {
            Ok(path) => check_spec(r, &path),
            Err(result) => vec![Checked { result, message: None }],
        };
        for c in checked {
            if text {
                write_text(&c, r.strict, &mut out)?;
            }
            results.push(c.result);
        }
        Ok(())
    });
    let status = report::check::exit_code(&results);
    let written = written.and_then(|()| match r.format {
        CheckFormat::Text => {
            let (passed, failed) = report::check::tally(&results);
            out.line(&format!("{passed} passed, {failed} failed"))
        }
        CheckFormat::Json => out.line(&report::check::json(&results).to_string()),
        CheckFormat::Github => out.write(&report::github::render(&results)),
        CheckFormat::Sarif => out.line(&report::sarif::render(&results).to_string()),
        CheckFormat::Junit => out.write(&report::junit::render(&results)),
    });
    ended(written.and_then(|()| out.finish()), status)
}

/// The spec files to check, in order: files as given, directories searched (sorted, hidden
/// entries and symbolic links to directories skipped). A directory without specs is an
/// unusable result of its own.
fn spec_files(paths: &[PathBuf]) -> Vec<Result<PathBuf, CheckResult>> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push(Ok(path.clone()));
            continue;
        }
        let mut found = Vec::new();
        let mut failure = None;
        search(path, 0, &mut found, &mut failure);
        found.sort();
        if let Some(e) = failure {
            files.push(Err(unusable(&e, path)));
        } else if found.is_empty() {
            let e = SpecError::new(
                path.display().to_string(),
                Loc::default(),
                "the directory holds no spec (*.yaml, *.yml), expected at least one",
            )
            .coded(code::UNREADABLE);
            files.push(Err(unusable(&e, path)));
        }
        files.extend(found.into_iter().map(Ok));
    }
    files
}

/// Directories nest at most this deep below a searched one.
const MAX_SEARCH_DEPTH: usize = 32;

fn search(dir: &Path, depth: usize, found: &mut Vec<PathBuf>, failure: &mut Option<SpecError>) {
    let fail = |why: String| SpecError::new(dir.display().to_string(), Loc::default(), why).coded(code::UNREADABLE);
    if depth > MAX_SEARCH_DEPTH {
        failure.get_or_insert_with(|| fail(format!("directories nest deeper than {MAX_SEARCH_DEPTH} levels")));
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            failure.get_or_insert_with(|| fail(format!("cannot read the directory: {}", e.kind())));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        // file_type does not follow links: a link to a directory is not searched (no cycles).
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            search(&path, depth + 1, found, failure);
        } else if path.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            found.push(path);
        }
    }
}

/// An unusable spec as a result: its load error as the one diagnostic.
fn unusable(e: &SpecError, path: &Path) -> CheckResult {
    CheckResult {
        file: path.display().to_string(),
        variant: None,
        model: None,
        status: 2,
        parameters: None,
        diagnostics: vec![Diagnostic::from(e)],
    }
}

/// A result and, for an unusable spec, its error rendered for standard error.
struct Checked {
    result: CheckResult,
    message: Option<String>,
}

/// One spec: the table as printed, or the chosen variant, or all of them.
fn check_spec(r: &Request<'_>, path: &Path) -> Vec<Checked> {
    let paint = output::paint(false);
    let loaded = match load_spec(path, r.limits) {
        Ok(l) => l,
        Err(failed) => {
            let super::LoadFailure { error: e, source } = *failed;
            let result = CheckResult {
                file: e.file.clone(),
                ..unusable(&e, path)
            };
            let message = Some(render_error_painted(&e, source.as_deref(), paint));
            return vec![Checked { result, message }];
        }
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
    let mut checked = Vec::with_capacity(runs.len());
    for (v, m) in runs {
        let opts = LowerOptions {
            variant: v.clone(),
            model: m.clone(),
            ..LowerOptions::default()
        };
        checked.push(match derive_within(loaded.spec.clone(), &opts, 1, &r.limits.graph()) {
            Ok(d) => Checked {
                result: CheckResult {
                    file: d.spec.file.clone(),
                    variant: v,
                    model: m,
                    status: verdict(&d, r.strict),
                    parameters: Some(d.totals.params),
                    diagnostics: d.diagnostics.clone(),
                },
                message: None,
            },
            Err(e) => Checked {
                message: Some(render_error_painted(&e, Some(&loaded.spec.source), paint)),
                result: CheckResult {
                    variant: v,
                    model: m,
                    file: e.file.clone(),
                    ..unusable(&e, path)
                },
            },
        });
    }
    checked
}

/// One result as text: `ok  spec: 0 errors, ...`, its errors below, and an
/// unusable spec's error on standard error.
fn write_text(c: &Checked, strict: bool, out: &mut Output) -> Result<(), Failure> {
    let x = &c.result;
    if x.status >= 2 {
        out.line(&format!("FAIL {} (unusable)", x.name()))?;
        out.flush()?;
        let message = c.message.clone().unwrap_or_else(|| {
            // Found while searching directories: no source line to show.
            report::diagnostics::render_painted(&x.diagnostics[0], &x.file, None, output::paint(false))
        });
        output::message(&message);
        return Ok(());
    }
    let word = if x.status == 0 { "ok  " } else { "FAIL" };
    out.line(&format!(
        "{word} {}: {}, {}, {} parameters",
        x.name(),
        plural(x.count(Severity::Error), "error"),
        plural(x.count(Severity::Warning), "warning"),
        report::thousands(x.parameters.unwrap_or(0))
    ))?;
    // Text lists what fails the check (warnings under --strict); the CI formats list all.
    let shown = |s: Severity| s == Severity::Error || (strict && s == Severity::Warning);
    for d in x.diagnostics.iter().filter(|d| shown(d.severity)) {
        out.line(&format!("     {}", render_concise(d, &x.file)))?;
    }
    Ok(())
}
