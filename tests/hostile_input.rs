//! Hostile specs under tests/hostile/: inputs built to make derive allocate, loop or print
//! without bound. Each must finish within seconds, print a short report and exit with the
//! status its fixture names. A fixture carries its expectation in comment lines:
//!
//! ```text
//! # expect-exit: <status>
//! # expect: <substring of stdout or stderr>
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_archcheck");
/// Far above what any of these takes once bounded (a debug build, a loaded machine).
const TIME_LIMIT: Duration = Duration::from_secs(20);
/// A report of a one-row spec is a few kilobytes; the unbounded one was 16.6 MB.
const OUTPUT_LIMIT: usize = 64 * 1024;

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/hostile")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    v.sort();
    v
}

fn comment<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix(key))
        .map(str::trim)
}

/// Runs `archcheck derive` on `rel` with a hard deadline (the child is killed past it).
fn derive_with_deadline(rel: &str) -> Result<(Option<i32>, String, Duration), String> {
    let start = Instant::now();
    let mut child = Command::new(BIN)
        .args(["derive", rel])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    // Read both pipes on threads so that a large report cannot block the child.
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut out_pipe, &mut b).ok();
        b
    });
    let err_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut err_pipe, &mut b).ok();
        b
    });
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            let mut text = String::from_utf8_lossy(&out_t.join().unwrap_or_default()).into_owned();
            text.push_str(&String::from_utf8_lossy(&err_t.join().unwrap_or_default()));
            return Ok((status.code(), text, start.elapsed()));
        }
        if start.elapsed() > TIME_LIMIT {
            child.kill().ok();
            child.wait().ok();
            return Err(format!("still running after {TIME_LIMIT:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_hostile_fixture_finishes_fast_with_a_short_report() {
    let all = fixtures();
    assert!(!all.is_empty());
    let mut failures = Vec::new();
    for path in &all {
        let rel = format!("tests/hostile/{}", path.file_name().unwrap().to_string_lossy());
        let text = std::fs::read_to_string(path).expect("fixture");
        let exit: i32 = comment(&text, "# expect-exit:")
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{rel}: no '# expect-exit: N'"));
        let expect = comment(&text, "# expect:").unwrap_or_else(|| panic!("{rel}: no '# expect: text'"));
        match derive_with_deadline(&rel) {
            Err(e) => failures.push(format!("{rel}: {e}")),
            Ok((code, output, took)) => {
                let mut problems = Vec::new();
                if code != Some(exit) {
                    problems.push(format!("exit status {code:?}, expected {exit}"));
                }
                if output.len() > OUTPUT_LIMIT {
                    problems.push(format!(
                        "{} bytes of output, expected at most {OUTPUT_LIMIT}",
                        output.len()
                    ));
                }
                if !output.contains(expect) {
                    problems.push(format!("output lacks {expect:?}"));
                }
                if output.contains("panicked") {
                    problems.push("panicked".into());
                }
                if !problems.is_empty() {
                    let head: String = output.chars().take(3000).collect();
                    failures.push(format!("{rel} ({took:?}): {}\n{head}", problems.join("; ")));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn classes_beyond_63_bits_are_refused_by_derive_and_emit() {
    for cmd in [&["derive"][..], &["emit", "--pytorch"][..]] {
        let out = Command::new(BIN)
            .args(cmd)
            .args(["specs/googlenet_bn.yaml", "--classes", "18446744073709551615"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("run archcheck");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {err}");
        assert!(
            err.contains("--classes is 18446744073709551615, expected at most 9223372036854775807"),
            "{err}"
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains("9223372036854775807"));
    }
}

#[test]
fn a_five_megabyte_cell_is_not_quoted_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big_cell.yaml");
    let cell = "x".repeat(5 * 1024 * 1024);
    std::fs::write(
        &path,
        format!(
            "name: big\ninput: {{channels: 3, size: 32}}\ncolumns:\n  type: type\n  out: output\ntemplates:\n  conv: {{layers: [conv: {{out: 8, kernel: 3}}]}}\nrows:\n  - {{type: conv, out: \"{cell}\"}}\n"
        ),
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("derive")
        .arg(&path)
        .output()
        .expect("run archcheck");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", &err[..err.len().min(2000)]);
    assert!(err.len() < OUTPUT_LIMIT, "{} bytes of stderr", err.len());
    assert!(
        err.contains("…' (5,242,880 characters)"),
        "{}",
        &err[..err.len().min(2000)]
    );
}
