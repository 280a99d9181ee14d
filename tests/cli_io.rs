//! How the binary reads and writes: a spec is read once from a file or standard input,
//! never from a device or a FIFO and never beyond the size limit; a closed pipe or a full
//! disk ends the output with a documented status, never a panic; no command writes over
//! one of its inputs.

use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};

const SPEC: &str = "specs/googlenet_bn.yaml";

fn archcheck() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_archcheck"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn run(args: &[&str]) -> Output {
    archcheck().args(args).output().expect("run archcheck")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs with `input` on standard input.
fn run_with_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = archcheck()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn archcheck");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("writer");
    out
}

fn no_panic(o: &Output) {
    let err = stderr(o);
    assert!(!err.contains("panicked"), "panicked: {err}");
    assert_ne!(o.status.code(), Some(101), "{err}");
    assert!(o.status.code().is_some(), "killed by a signal: {err}");
}

fn spec_text() -> Vec<u8> {
    std::fs::read(format!("{}/{SPEC}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn a_spec_from_standard_input_reads_as_the_file_does() {
    let from_file = run(&["derive", SPEC, "--format", "json"]);
    for name in ["-", "/dev/stdin"] {
        let piped = run_with_stdin(&["derive", name, "--format", "json"], &spec_text());
        no_panic(&piped);
        assert_eq!(
            piped.status.code(),
            from_file.status.code(),
            "{name}: {}",
            stderr(&piped)
        );
        let a: serde_json::Value = serde_json::from_slice(&from_file.stdout).unwrap();
        let b: serde_json::Value = serde_json::from_slice(&piped.stdout).unwrap();
        assert_eq!(a["totals"], b["totals"], "{name}");
        // The same findings at the same places; only the file's name differs.
        let places = |v: &serde_json::Value| -> Vec<(String, String, String)> {
            let list = v["diagnostics"].as_array().expect("diagnostics").iter();
            list.map(|d| (d["message"].to_string(), d["line"].to_string(), d["col"].to_string()))
                .collect()
        };
        assert_eq!(places(&a), places(&b), "{name}");
        assert!(!places(&a).is_empty());
    }
}

#[test]
fn errors_in_a_piped_spec_quote_its_text() {
    let text = String::from_utf8(spec_text())
        .unwrap()
        .replacen("depth: 3", "depth: three", 1);
    let o = run_with_stdin(&["derive", "-"], text.as_bytes());
    no_panic(&o);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("--> <stdin>:"), "{err}");
    assert!(err.contains("depth: three"), "the source line is quoted: {err}");
}

#[test]
fn devices_directories_and_fifos_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("spec.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let fifo = fifo.to_string_lossy().into_owned();
    let dir_name = dir.path().to_string_lossy().into_owned();
    for (path, kind) in [
        ("/dev/zero", "a character device"),
        (dir_name.as_str(), "a directory"),
        (fifo.as_str(), "a named pipe (FIFO)"),
    ] {
        let started = std::time::Instant::now();
        let o = run(&["derive", path]);
        no_panic(&o);
        assert_eq!(o.status.code(), Some(2), "{path}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("cannot read the spec: it is {kind}")),
            "{path}: {}",
            stderr(&o)
        );
        assert!(started.elapsed().as_secs() < 10, "{path} took {:?}", started.elapsed());
    }
}

#[test]
fn the_size_limit_holds_for_files_and_standard_input() {
    let limit = (spec_text().len() - 1).to_string();
    let o = run(&["derive", SPEC, "--max-file-size", &limit]);
    no_panic(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("larger than the limit"), "{}", stderr(&o));
    // An endless input stops one byte past the limit.
    let o = run_with_stdin(&["derive", "-", "--max-file-size", "1K"], &vec![b'#'; 1 << 20]);
    no_panic(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("larger than the limit of 1024 bytes"),
        "{}",
        stderr(&o)
    );
    let at_limit = spec_text().len().to_string();
    assert_eq!(
        run(&["derive", SPEC, "--max-file-size", &at_limit]).status.code(),
        Some(1)
    );
}

/// Runs with standard output a pipe whose reader is gone before the first write.
fn run_into_closed_pipe(args: &[&str]) -> Output {
    let mut child = archcheck()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn archcheck");
    drop(child.stdout.take());
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let status = child.wait().unwrap();
    Output {
        status,
        stdout: Vec::new(),
        stderr: err.into_bytes(),
    }
}

#[test]
fn a_closed_pipe_ends_quietly_with_the_verdict() {
    for format in ["table", "json", "markdown"] {
        let o = run_into_closed_pipe(&["derive", SPEC, "--format", format]);
        no_panic(&o);
        assert_eq!(o.status.code(), Some(1), "{format}: {}", stderr(&o));
        assert_eq!(stderr(&o), "", "{format}");
    }
    let o = run_into_closed_pipe(&["check", SPEC, "specs/googlenet.yaml", "--all-variants"]);
    no_panic(&o);
    assert_eq!(stderr(&o), "");
    let o = run_into_closed_pipe(&["emit", "specs/googlenet.yaml", "--pytorch"]);
    no_panic(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn a_full_disk_is_an_error_with_exit_2() {
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full")
    };
    for args in [
        &["derive", SPEC][..],
        &["derive", SPEC, "--format", "json"],
        &["derive", SPEC, "--format", "markdown"],
        &["check", SPEC],
        &["emit", "specs/googlenet.yaml", "--pytorch"],
    ] {
        let o = archcheck().args(args).stdout(full()).output().unwrap();
        no_panic(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("error: cannot write to standard output: no space left on device"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn no_command_writes_over_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(&spec, spec_text()).unwrap();
    let spec_name = spec.to_string_lossy().into_owned();
    // The same file by another name, too.
    let other_name = format!("{}/./spec.yaml", dir.path().display());
    for target in [&spec_name, &other_name] {
        let o = run(&["emit", &spec_name, "--pytorch", "-o", target]);
        no_panic(&o);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("is an input of this command"), "{}", stderr(&o));
        assert_eq!(std::fs::read(&spec).unwrap(), spec_text(), "the spec is unchanged");
    }
    let module = dir.path().join("module.py");
    let o = run(&["emit", &spec_name, "--pytorch", "-o", &module.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&module).unwrap().contains("class "));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn emit_refuses_what_derive_refuses() {
    let dir = tempfile::tempdir().unwrap();
    // A 7×7 window at a 4×4 input: derive exits 2, and so must emit.
    let text = String::from_utf8(spec_text()).unwrap();
    let small = dir.path().join("small.yaml");
    std::fs::write(&small, &text).unwrap();
    let small = small.to_string_lossy().into_owned();
    let derive = run(&["derive", &small, "--input", "4"]);
    assert_eq!(derive.status.code(), Some(2), "{}", stderr(&derive));
    let emit = run(&["emit", &small, "--pytorch", "--input", "4"]);
    no_panic(&emit);
    assert_eq!(emit.status.code(), Some(2), "{}", stderr(&emit));
    assert!(emit.stdout.is_empty(), "no module is written");
    let first_line = |o: &Output| stderr(o).lines().next().unwrap_or_default().to_string();
    assert_eq!(first_line(&emit), first_line(&derive));
}

#[test]
fn emit_warns_about_error_findings() {
    let o = run(&["emit", SPEC, "--pytorch"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        // 4e's 1024 follows from 4d's printed 576 (N304, a note): five errors.
        stderr(&o).contains("warning: derive finds 5 errors in the table"),
        "{}",
        stderr(&o)
    );
    // Each error finding on its own line, as `check` names them.
    let err = stderr(&o);
    let findings: Vec<&str> = err.lines().filter(|l| l.starts_with("  ")).map(str::trim).collect();
    assert_eq!(findings.len(), 6, "{err}");
    for f in &findings {
        assert!(f.starts_with(&format!("{SPEC}:")) && f.contains(": error[E"), "{f}");
    }
    let o = run(&["emit", "specs/googlenet.yaml", "--pytorch"]);
    assert_eq!(stderr(&o), "");
}

#[test]
fn the_graph_size_limit_is_a_flag() {
    let o = run(&["derive", SPEC, "--max-nodes", "50"]);
    no_panic(&o);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("over the limit of 50 (raise it with --max-nodes)"),
        "{}",
        stderr(&o)
    );
    let o = run(&["check", SPEC, "--max-nodes", "50"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(run(&["derive", SPEC, "--max-nodes", "100000"]).status.code(), Some(1));
}
