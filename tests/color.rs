//! Colour in diagnostics: `--color always|never|auto`, `NO_COLOR`, `CLICOLOR_FORCE`, for our
//! messages and clap's alike. The painted text is a golden file (ESC shown as `␛`), so the
//! styling is as deterministic as the plain text.

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_archcheck");
const ESC: char = '\u{1b}';

fn archcheck(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("CLICOLOR_FORCE")
        .env_remove("NO_COLOR")
        .env_remove("GITHUB_ACTIONS");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run archcheck")
}

fn visible_escapes(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace(ESC, "␛")
}

#[test]
fn load_errors_in_colour() {
    let o = archcheck(
        &["derive", "--color", "always", "tests/bad/duplicate_yaml_keys.yaml"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    insta::assert_snapshot!("load_error_color", visible_escapes(&o.stderr));
}

#[test]
fn findings_in_colour() {
    let o = archcheck(&["derive", "--color", "always", "specs/googlenet_bn.yaml"], &[]);
    assert_eq!(o.status.code(), Some(1));
    let out = visible_escapes(&o.stdout);
    // The table stays plain; the diagnostics below it are painted.
    let first = out.find("␛").expect("painted diagnostics");
    let start = out[..first].rfind('\n').map_or(0, |i| i + 1);
    insta::assert_snapshot!("findings_color", &out[start..]);
}

/// Whether the stderr of a bad spec (and stdout's diagnostics) carry ANSI escapes.
fn painted(args: &[&str], env: &[(&str, &str)]) -> bool {
    let mut all = vec!["derive"];
    all.extend_from_slice(args);
    all.push("tests/bad/duplicate_yaml_keys.yaml");
    let o = archcheck(&all, env);
    assert_eq!(o.status.code(), Some(2));
    String::from_utf8_lossy(&o.stderr).contains(ESC)
}

#[test]
fn the_choice_follows_the_flag_then_the_environment() {
    // Output to a pipe: plain unless forced.
    assert!(!painted(&[], &[]));
    assert!(painted(&[], &[("CLICOLOR_FORCE", "1")]));
    assert!(!painted(&[], &[("CLICOLOR_FORCE", "0")]));
    assert!(!painted(&[], &[("NO_COLOR", "1")]));
    // An empty NO_COLOR is not set (no-color.org).
    assert!(painted(&[], &[("NO_COLOR", ""), ("CLICOLOR_FORCE", "1")]));
    // The flag beats both variables.
    assert!(!painted(&["--color", "never"], &[("CLICOLOR_FORCE", "1")]));
    assert!(painted(&["--color=always"], &[("NO_COLOR", "1")]));
    assert!(!painted(&["--color", "auto"], &[]));
    // Plain text is the golden plain text: no escape anywhere.
    let o = archcheck(&["derive", "--color", "never", "specs/googlenet_bn.yaml"], &[]);
    assert!(!String::from_utf8_lossy(&o.stdout).contains(ESC));
}

#[test]
fn clap_messages_follow_the_flag() {
    let bad = |color: &str| archcheck(&["--color", color, "derive", "--no-such-flag", "x.yaml"], &[]);
    let always = bad("always");
    assert_eq!(always.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&always.stderr).contains(ESC));
    let never = bad("never");
    assert_eq!(never.status.code(), Some(2));
    let err = String::from_utf8_lossy(&never.stderr);
    assert!(!err.contains(ESC) && err.contains("--no-such-flag"), "{err}");
    let bogus = archcheck(&["--color", "sometimes", "derive", "x.yaml"], &[]);
    assert_eq!(bogus.status.code(), Some(2));
}
