//! The bad-input catalogue: every spec under tests/bad/ is unusable in one specific way, and
//! `archcheck derive` must say so and exit 2 without panicking. Each fixture carries its
//! expectation in a comment line
//!
//! ```text
//! # expect: <line>:<col> <message substring>
//! ```
//!
//! (its first line, by convention): the error must name `<fixture path>:<line>:<col>` and
//! contain the substring. Bad command-line flags are tested below the fixtures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_archcheck");

/// Runs the real binary from the repository root (so that fixture paths are relative).
fn archcheck(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .output()
        .expect("run archcheck")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// What went wrong with a run that must be refused as unusable input, if anything.
fn unusable_problems(o: &Output) -> Vec<String> {
    let err = stderr(o);
    let mut problems = Vec::new();
    if o.status.code() != Some(2) {
        problems.push(format!("exit status {:?}, expected 2", o.status.code()));
    }
    for bad in ["panicked", "RUST_BACKTRACE", "overflow"] {
        // "overflows 64 bits" is our own message; "attempt to ... with overflow" is a panic.
        if bad == "overflow" {
            if err.contains("with overflow") {
                problems.push("stderr reports an arithmetic overflow panic".into());
            }
        } else if err.contains(bad) {
            problems.push(format!("stderr contains {bad:?}"));
        }
    }
    problems
}

struct Expect {
    line: usize,
    col: usize,
    message: String,
}

/// The `# expect: L:C message` comment of a fixture.
fn expectation(path: &Path) -> Result<Expect, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let text = String::from_utf8_lossy(&bytes);
    let spec = text
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("# expect:"))
        .ok_or("no '# expect: L:C message' comment")?
        .trim();
    let (at, message) = spec.split_once(' ').ok_or("expected '# expect: L:C message'")?;
    let (line, col) = at.split_once(':').ok_or("expected L:C")?;
    let num = |s: &str| {
        s.parse::<usize>()
            .map_err(|_| format!("'{s}' in '{at}' is not a number"))
    };
    let e = Expect {
        line: num(line)?,
        col: num(col)?,
        message: message.trim().to_string(),
    };
    if e.line == 0 || e.col == 0 || e.message.is_empty() {
        return Err("expected a 1-based L:C and a message".into());
    }
    Ok(e)
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/bad")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_bad_fixture_is_refused_at_its_place() {
    let all = fixtures();
    assert!(all.len() >= 40, "only {} fixtures under tests/bad", all.len());
    let mut failures = Vec::new();
    for path in &all {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let rel = format!("tests/bad/{name}");
        let expect = match expectation(path) {
            Ok(e) => e,
            Err(e) => {
                failures.push(format!("{rel}: {e}"));
                continue;
            }
        };
        let out = archcheck(&["derive", &rel]);
        let err = stderr(&out);
        let mut problems = unusable_problems(&out);
        let at = format!("{rel}:{}:{}", expect.line, expect.col);
        if !err.contains(&at) {
            problems.push(format!("stderr does not name {at}"));
        }
        if !err.contains(&expect.message) {
            problems.push(format!("stderr does not contain {:?}", expect.message));
        }
        if !out.stdout.is_empty() {
            problems.push("printed a report on stdout".into());
        }
        if !problems.is_empty() {
            failures.push(format!("{rel}: {}\n--- stderr ---\n{err}", problems.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[test]
fn check_refuses_every_bad_fixture_without_panicking() {
    let all: Vec<String> = fixtures()
        .iter()
        .map(|p| format!("tests/bad/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    let mut args = vec!["check", "--all-variants"];
    args.extend(all.iter().map(String::as_str));
    let out = archcheck(&args);
    assert_eq!(unusable_problems(&out), Vec::<String>::new(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("0 passed, {} failed", all.len())), "{stdout}");
}

/// The catalogue is not vacuous: the good specs are usable (exit 0 or 1).
#[test]
fn good_specs_are_usable() {
    for spec in ["specs/googlenet_bn.yaml", "specs/googlenet.yaml"] {
        let out = archcheck(&["derive", spec]);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{spec}: {:?}\n{}",
            out.status.code(),
            stderr(&out)
        );
    }
}

/// A flag that clap or the loader refuses: exit 2, the offending text named.
fn refused(args: &[&str], needle: &str) {
    let out = archcheck(args);
    let err = stderr(&out);
    assert_eq!(unusable_problems(&out), Vec::<String>::new(), "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: stderr lacks {needle:?}:\n{err}");
}

#[test]
fn unknown_variant_is_refused() {
    refused(
        &["derive", "specs/googlenet_bn.yaml", "--variant", "nope"],
        "unknown variant 'nope', the spec defines: caffe, slim, zjzstu",
    );
    refused(
        &["derive", "tests/bad/../../specs/googlenet.yaml", "--variant", "nope"],
        "unknown variant 'nope'",
    );
    let out = archcheck(&["check", "--variant", "nope", "specs/googlenet_bn.yaml"]);
    assert_eq!(unusable_problems(&out), Vec::<String>::new(), "{}", stderr(&out));
    assert!(stderr(&out).contains("unknown variant 'nope'"), "{}", stderr(&out));
}

#[test]
fn bad_input_size_flags_are_refused() {
    refused(&["derive", "specs/googlenet_bn.yaml", "--input", "0"], "'0'");
    refused(
        &["derive", "specs/googlenet_bn.yaml", "--input", "0x224"],
        "expected a positive input size",
    );
    refused(
        &["derive", "specs/googlenet_bn.yaml", "--input", "12x"],
        "expected an input size as H or HxW, found '12x'",
    );
    refused(&["derive", "specs/googlenet_bn.yaml", "--input", "x12"], "found 'x12'");
    refused(&["derive", "specs/googlenet_bn.yaml", "--input", "-224"], "'-2'");
    refused(
        &[
            "derive",
            "specs/googlenet_bn.yaml",
            "--input",
            "99999999999999999999999",
        ],
        "too large",
    );
    refused(
        &["derive", "specs/googlenet_bn.yaml", "--input", "4294967296"],
        "larger than",
    );
}

#[test]
fn input_too_small_for_the_network_is_refused() {
    // Valid flag, but a 7×7 pool no longer fits: exit 2 with the row named.
    refused(
        &["derive", "specs/googlenet_bn.yaml", "--input", "32"],
        "specs/googlenet_bn.yaml:",
    );
}

#[test]
fn bad_batch_and_classes_flags_are_refused() {
    refused(&["derive", "specs/googlenet_bn.yaml", "--batch", "0"], "--batch");
    refused(&["derive", "specs/googlenet_bn.yaml", "--batch", "-3"], "'-3'");
    refused(&["derive", "specs/googlenet_bn.yaml", "--batch", "many"], "--batch");
    refused(&["derive", "specs/googlenet_bn.yaml", "--classes", "0"], "--classes");
}

#[test]
fn a_batch_whose_memory_overflows_is_refused() {
    refused(
        &["derive", "specs/googlenet_bn.yaml", "--batch", "9223372036854775807"],
        "overflows 64 bits",
    );
}

#[test]
fn missing_file_is_refused_by_name() {
    refused(
        &["derive", "tests/bad/no_such_spec.yaml"],
        "tests/bad/no_such_spec.yaml",
    );
    refused(&["derive", "tests/bad/no_such_spec.yaml"], "cannot read the spec");
    refused(&["derive", "tests/bad"], "cannot read the spec");
    let out = archcheck(&["check", "tests/bad/no_such_spec.yaml"]);
    assert_eq!(unusable_problems(&out), Vec::<String>::new(), "{}", stderr(&out));
    assert!(stderr(&out).contains("tests/bad/no_such_spec.yaml"));
}

#[test]
fn json_format_still_exits_2_on_bad_input() {
    let out = archcheck(&["derive", "--format", "json", "tests/bad/yaml_syntax.yaml"]);
    assert_eq!(unusable_problems(&out), Vec::<String>::new(), "{}", stderr(&out));
}
