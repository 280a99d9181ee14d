//! `archcheck check` in its CI formats (docs/ci.md): each is read back by an independent
//! reader and compared with the JSON format's results: SARIF against the official 2.1.0
//! schema (tests/schemas/, validated by the `boon` crate), GitHub workflow commands by the
//! runner's escaping rules, JUnit by Python's own XML parser. Exit statuses per format.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_archcheck");

/// Consistent (warnings only): exit 0.
const OK: &str = "specs/googlenet.yaml";
/// Error findings: exit 1.
const INCONSISTENT: &str = "specs/googlenet_bn.yaml";
/// A cell that does not parse: exit 2.
const UNUSABLE: &str = "tests/bad/cell_kernel_zero.yaml";

fn archcheck(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("GITHUB_ACTIONS")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("NO_COLOR");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run archcheck")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("UTF-8 output")
}

fn check(format: &str, specs: &[&str]) -> Output {
    let mut args = vec!["check", "--all-variants", "--format", format];
    args.extend_from_slice(specs);
    archcheck(&args, &[])
}

/// The JSON format's document for `specs`, the reference the other formats are held to.
fn json_of(specs: &[&str]) -> Value {
    let o = check("json", specs);
    serde_json::from_str(&stdout(&o)).expect("one JSON document")
}

#[test]
fn every_format_exits_with_the_worst_status() {
    for format in ["text", "json", "github", "sarif", "junit"] {
        for (specs, status) in [
            (vec![OK], 0),
            (vec![OK, INCONSISTENT], 1),
            (vec![INCONSISTENT, UNUSABLE, OK], 2),
        ] {
            let o = check(format, &specs);
            assert_eq!(o.status.code(), Some(status), "{format} {specs:?}: {}", stdout(&o));
        }
    }
    // --strict makes warnings fail, in every format.
    for format in ["text", "json", "github", "sarif", "junit"] {
        let o = archcheck(&["check", "--strict", "--format", format, OK], &[]);
        assert_eq!(o.status.code(), Some(1), "{format}");
    }
}

#[test]
fn json_carries_load_errors_with_exit_2() {
    let v = json_of(&[OK, UNUSABLE]);
    assert_eq!(v["summary"]["exit_code"], 2);
    let results = v["results"].as_array().unwrap();
    let bad = results
        .iter()
        .find(|r| r["spec"] == UNUSABLE)
        .expect("the unusable spec");
    assert_eq!(bad["status"], "unusable");
    assert_eq!(bad["exit_code"], 2);
    let d = &bad["diagnostics"][0];
    assert_eq!(d["code"], "E005");
    assert_eq!(d["severity"], "error");
    // The fixture's own expectation comment names the place and the message.
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(UNUSABLE)).unwrap();
    let expect = text.lines().next().unwrap().strip_prefix("# expect: ").unwrap();
    let (at, message) = expect.split_once(' ').unwrap();
    assert_eq!(format!("{}:{}", d["line"], d["col"]), at);
    assert!(d["message"].as_str().unwrap().contains(message), "{d}");
    // Warnings are listed too (the consistent spec has four, W201/W202).
    let ok = results
        .iter()
        .find(|r| r["spec"] == OK && r["variant"].is_null())
        .unwrap();
    assert_eq!(ok["status"], "ok");
    let warnings = ok["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "warning");
    assert_eq!(warnings.count() as u64, ok["warnings"].as_u64().unwrap());
    assert!(ok["warnings"].as_u64().unwrap() > 0);
}

/// A workflow command's value with the runner's escapes undone.
fn unescape(s: &str) -> String {
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

/// `::error file=F,line=L,col=C,title=T::message` → (command, properties, message).
fn parse_command(line: &str) -> (String, Vec<(String, String)>, String) {
    let rest = line.strip_prefix("::").expect("a workflow command");
    let (head, message) = rest.split_once("::").expect("'::' before the message");
    let (command, props) = head.split_once(' ').unwrap_or((head, ""));
    let props = props
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').expect("key=value");
            (k.to_string(), unescape(v))
        })
        .collect();
    (command.to_string(), props, unescape(message))
}

#[test]
fn github_commands_parse_back_to_the_json_results() {
    let specs = [OK, INCONSISTENT, UNUSABLE];
    let reference = json_of(&specs);
    let mut expected = Vec::new();
    for r in reference["results"].as_array().unwrap() {
        for d in r["diagnostics"].as_array().unwrap() {
            if d["severity"] == "note" {
                continue;
            }
            let title = match r["variant"].as_str() {
                Some(v) => format!("{} (variant {v})", d["code"].as_str().unwrap()),
                None => d["code"].as_str().unwrap().to_string(),
            };
            expected.push((
                d["severity"].as_str().unwrap().to_string(),
                vec![
                    ("file".to_string(), r["spec"].as_str().unwrap().to_string()),
                    ("line".to_string(), d["line"].to_string()),
                    ("col".to_string(), d["col"].to_string()),
                    ("title".to_string(), title),
                ],
                d["message"].as_str().unwrap().to_string(),
            ));
        }
    }
    let o = check("github", &specs);
    let parsed: Vec<_> = stdout(&o)
        .lines()
        .filter(|l| l.starts_with("::"))
        .map(parse_command)
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(parsed, expected);
    // Inside GitHub Actions the format is chosen without the flag.
    let auto = archcheck(
        &["check", "--all-variants", OK, INCONSISTENT, UNUSABLE],
        &[("GITHUB_ACTIONS", "true")],
    );
    assert_eq!(stdout(&auto), stdout(&o));
    assert_eq!(auto.status.code(), Some(2));
}

#[test]
fn github_escapes_what_would_end_a_property_or_a_command() {
    let dir = tempfile::tempdir().unwrap();
    // A file name with ',' and ':' and '%', and a message that quotes them.
    let path = dir.path().join("a,b:c%d.yaml");
    std::fs::write(&path, "name: x\ninput: {channels: 3, size: 32}\nbogus: 1\n").unwrap();
    let o = archcheck(&["check", "--format", "github", path.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2));
    let out = stdout(&o);
    let line = out
        .lines()
        .find(|l| l.starts_with("::error"))
        .expect("an error command");
    let (command, props, message) = parse_command(line);
    assert_eq!(command, "error");
    assert_eq!(props[0], ("file".into(), path.display().to_string()));
    assert!(props.iter().any(|(k, v)| k == "title" && v == "E003"), "{line}");
    assert!(message.contains("unknown field"), "{message}");
}

fn sarif_validator() -> (boon::Schemas, boon::SchemaIndex) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sarif-2.1.0-rtm.5.json")).unwrap()).unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    compiler.add_resource("sarif-2.1.0-rtm.5.json", schema).unwrap();
    let index = compiler.compile("sarif-2.1.0-rtm.5.json", &mut schemas).unwrap();
    (schemas, index)
}

#[test]
fn sarif_validates_against_the_official_schema_and_matches_json() {
    let (schemas, index) = sarif_validator();
    // The validator is not vacuous: a log without its version is refused.
    let broken = serde_json::json!({"runs": []});
    assert!(schemas.validate(&broken, index).is_err());

    let specs = [OK, INCONSISTENT, UNUSABLE];
    let o = check("sarif", &specs);
    assert_eq!(o.status.code(), Some(2));
    let log: Value = serde_json::from_str(&stdout(&o)).unwrap();
    if let Err(e) = schemas.validate(&log, index) {
        panic!("SARIF does not validate: {e:#}");
    }
    let run = &log["runs"][0];
    assert_eq!(run["invocations"][0]["exitCode"], 2);
    let results = run["results"].as_array().unwrap();
    let reference = json_of(&specs);
    let all: Vec<&Value> = reference["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["diagnostics"].as_array().unwrap())
        .collect();
    assert_eq!(results.len(), all.len());
    for (s, d) in results.iter().zip(&all) {
        assert_eq!(s["ruleId"], d["code"]);
        assert_eq!(s["message"]["text"], d["message"]);
        let region = &s["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["startLine"], d["line"]);
        assert_eq!(region["startColumn"], d["col"]);
        let rule = &run["tool"]["driver"]["rules"][s["ruleIndex"].as_u64().unwrap() as usize];
        assert_eq!(rule["id"], s["ruleId"]);
    }
    // E105's printed stride is a related location.
    let e105 = results.iter().find(|r| r["ruleId"] == "E105").expect("an E105");
    assert!(
        e105["relatedLocations"][0]["message"]["text"]
            .as_str()
            .unwrap()
            .contains("stride")
    );

    // Standard input and an empty run validate too.
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(UNUSABLE)).unwrap();
    let mut c = Command::new(BIN);
    c.args(["check", "--format", "sarif", "-"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    let log: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(schemas.validate(&log, index).is_ok(), "{log}");
    assert_eq!(
        log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "%3Cstdin%3E"
    );
}

#[test]
fn junit_is_well_formed_xml_with_one_case_per_spec_and_variant() {
    let Some(py) = common::python::test_python_or_skip() else {
        return;
    };
    let specs = [OK, INCONSISTENT, UNUSABLE];
    let o = check("junit", &specs);
    assert_eq!(o.status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("junit.xml");
    std::fs::write(&xml, &o.stdout).unwrap();
    let script = r#"
import json, sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
cases = []
for suite in root.iter("testsuite"):
    for case in suite.iter("testcase"):
        kind = "error" if case.find("error") is not None else "failure" if case.find("failure") is not None else "ok"
        cases.append({"suite": suite.get("name"), "name": case.get("name"), "kind": kind})
print(json.dumps({"tag": root.tag, "tests": int(root.get("tests")), "failures": int(root.get("failures")),
                  "errors": int(root.get("errors")), "cases": cases}))
"#;
    let parsed = common::python::last_json_line(&common::python::run_script(&py, script, &[&xml], None));
    let reference = json_of(&specs);
    let results = reference["results"].as_array().unwrap();
    assert_eq!(parsed["tag"], "testsuites");
    assert_eq!(parsed["tests"].as_u64().unwrap() as usize, results.len());
    let cases = parsed["cases"].as_array().unwrap();
    assert_eq!(cases.len(), results.len());
    for (c, r) in cases.iter().zip(results) {
        assert_eq!(c["suite"], r["spec"]);
        let name = match r["variant"].as_str() {
            Some(v) => format!("variant {v}"),
            None => "as printed".into(),
        };
        assert_eq!(c["name"], name.as_str());
        let kind = match r["exit_code"].as_u64().unwrap() {
            0 => "ok",
            1 => "failure",
            _ => "error",
        };
        assert_eq!(c["kind"], kind, "{r}");
    }
    let count = |k: &str| cases.iter().filter(|c| c["kind"] == k).count() as u64;
    assert_eq!(parsed["failures"].as_u64().unwrap(), count("failure"));
    assert_eq!(parsed["errors"].as_u64().unwrap(), count("error"));
}

#[test]
fn directories_are_searched_for_specs() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(dir.path().join("nested/deeper")).unwrap();
    std::fs::create_dir_all(dir.path().join(".hidden")).unwrap();
    std::fs::copy(root.join(OK), dir.path().join("b.yaml")).unwrap();
    std::fs::copy(root.join(INCONSISTENT), dir.path().join("nested/deeper/a.yml")).unwrap();
    std::fs::copy(root.join(UNUSABLE), dir.path().join(".hidden/c.yaml")).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a spec").unwrap();
    let o = archcheck(&["check", "--format", "json", dir.path().to_str().unwrap()], &[]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let specs: Vec<String> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["spec"].as_str().unwrap().to_string())
        .collect();
    let d = dir.path().display();
    assert_eq!(specs, [format!("{d}/b.yaml"), format!("{d}/nested/deeper/a.yml")]);
    assert_eq!(o.status.code(), Some(1));

    // A directory without specs is unusable, in every format.
    let empty = tempfile::tempdir().unwrap();
    for format in ["text", "json", "github", "sarif", "junit"] {
        let o = archcheck(&["check", "--format", format, empty.path().to_str().unwrap()], &[]);
        assert_eq!(o.status.code(), Some(2), "{format}");
    }
    let o = archcheck(&["check", empty.path().to_str().unwrap()], &[]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("the directory holds no spec"));
}

#[test]
fn derive_writes_the_same_documents_for_one_spec() {
    let (schemas, index) = sarif_validator();
    for (spec, status) in [(OK, 0), (INCONSISTENT, 1), (UNUSABLE, 2)] {
        for format in ["json", "github", "sarif", "junit"] {
            let o = archcheck(&["derive", "--format", format, spec], &[]);
            assert_eq!(o.status.code(), Some(status), "derive --format {format} {spec}");
            assert!(!o.stdout.is_empty(), "derive --format {format} {spec}: no document");
        }
        let o = archcheck(&["derive", "--format", "sarif", spec], &[]);
        let log: Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert!(schemas.validate(&log, index).is_ok(), "{spec}: {log}");
        // The GitHub commands of derive are check's for the same spec.
        let derive = archcheck(&["derive", "--format", "github", spec], &[]);
        let check = archcheck(&["check", "--format", "github", spec], &[]);
        assert_eq!(stdout(&derive), stdout(&check));
    }
    // A load error is a JSON document too (exit 2), with its code and place.
    let o = archcheck(&["derive", "--format", "json", UNUSABLE], &[]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["summary"]["exit_code"], 2);
    assert_eq!(v["diagnostics"][0]["code"], "E005");
    assert_eq!(v["diagnostics"][0]["file"], UNUSABLE);
    assert!(String::from_utf8_lossy(&o.stderr).contains("error[E005]"));
}
