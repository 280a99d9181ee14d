//! The `archcheck` binary on the two specs: golden output, exit status, the findings the
//! BN-Inception table must produce, and the published parameter counts.

use std::process::Command;

fn archcheck(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_archcheck"))
        .args(args)
        // The table's width comes from COLUMNS when set; the snapshots are as wide as their content.
        .env_remove("COLUMNS")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run archcheck");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(args: &[&str]) -> (i32, serde_json::Value) {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    let (code, out, err) = archcheck(&a);
    assert!(err.is_empty(), "stderr: {err}");
    (code, serde_json::from_str(&out).expect("valid json"))
}

#[test]
fn verbatim_bn_inception_table_is_inconsistent() {
    let (code, out, _) = archcheck(&["derive", "specs/googlenet_bn.yaml"]);
    assert_eq!(code, 1, "{out}");
    // 4c, 4d and 4e: derived 608, 608, 1056 against the printed 576, 576, 1024.
    assert!(
        out.contains("error[E101]: inception (4c) outputs 608 channels, the table says 576"),
        "{out}"
    );
    assert!(
        out.contains("error[E101]: inception (4d) outputs 608 channels, the table says 576"),
        "{out}"
    );
    // 4e's printed 1024 follows from 4d's printed 576 (192 + 256 + 576): a note naming 4d,
    // which carries the error.
    assert!(
        out.contains("note[N304]: inception (4e) prints 14×14×1024 where it derives 7×7×1056, which follows from inception (4d)'s printed 14×14×576"),
        "{out}"
    );
    assert!(!out.contains("error[E101]: inception (4e)"), "{out}");
    assert!(
        out.contains("160 (1x1) + 160 (3x3) + 160 (double_3x3) + 128 (pool_proj) = 608"),
        "{out}"
    );
    // The 3c and 4e stride: both readings, with what each implies downstream.
    assert!(
        out.contains(
            "error[E105]: inception (3c) prints stride 2 and an output of 28×28; with the stride it outputs 14×14"
        ),
        "{out}"
    );
    assert!(
        out.contains("inception (4a) then outputs 14×14, which matches its printed 14×14"),
        "{out}"
    );
    assert!(
        out.contains("inception (4a) then outputs 28×28 where the table prints 14×14, so a downsampling step"),
        "{out}"
    );
    assert!(out.contains("error[E105]: inception (4e) prints stride 2"), "{out}");
    // Each points at the printed cell.
    assert!(out.contains("--> specs/googlenet_bn.yaml:77:41"), "{out}");
}

#[test]
fn json_has_the_documented_fields() {
    let (code, v) = json(&["derive", "specs/googlenet_bn.yaml"]);
    assert_eq!(code, 1);
    assert_eq!(v["schema"], "archcheck.derive/1");
    assert_eq!(v["summary"]["exit_code"], 1);
    let layers = v["layers"].as_array().unwrap();
    assert!(
        layers
            .iter()
            .all(|l| l["name"].is_string() && l["shape"].is_array() && l["params"].is_i64() && l["macs"].is_i64())
    );
    let conv = layers
        .iter()
        .find(|l| l["name"] == "inception_4c.double_3x3.conv2")
        .expect("named layer");
    assert_eq!(conv["shape"], serde_json::json!([160, 14, 14]));
    assert!(v["totals"]["params"].is_i64() && v["totals"]["macs"].is_i64());
    assert_eq!(v["constraints"]["min_input"], serde_json::json!([193, 193]));
    let d = v["diagnostics"].as_array().unwrap();
    let e = d
        .iter()
        .find(|d| d["code"] == "E101" && d["row"] == "inception (4c)")
        .expect("4c finding");
    assert_eq!(e["severity"], "error");
    assert_eq!(e["column"], "output size");
    assert_eq!(e["stated"], "14×14×576");
    assert_eq!(e["derived"], "14×14×608");
    assert_eq!((e["line"].as_i64(), e["col"].as_i64()), (Some(77), Some(41)));
    let amb = d
        .iter()
        .find(|d| d["code"] == "E105" && d["row"] == "inception (3c)")
        .expect("3c finding");
    assert_eq!(amb["readings"].as_array().unwrap().len(), 2);
}

#[test]
fn every_variant_derives_clean() {
    for (spec, variants) in [
        ("specs/googlenet_bn.yaml", &["caffe", "slim", "zjzstu"][..]),
        ("specs/googlenet.yaml", &["torchvision", "zjzstu"][..]),
    ] {
        for v in variants {
            let (code, out, err) = archcheck(&["derive", spec, "--variant", v]);
            assert_eq!(code, 0, "{spec} --variant {v}\n{out}\n{err}");
            assert!(out.contains("0 errors"), "{out}");
        }
    }
}

fn total_params(args: &[&str]) -> i64 {
    let (_, v) = json(args);
    v["totals"]["params"].as_i64().unwrap()
}

#[test]
fn published_parameter_counts() {
    // The seed's published figure for zjZSTU's GoogLeNet_BN, 1000 classes, auxiliary heads.
    assert_eq!(
        total_params(&["derive", "specs/googlenet_bn.yaml", "--variant", "zjzstu"]),
        17_683_640
    );
    // torchvision's googlenet(aux_logits=True).
    assert_eq!(
        total_params(&["derive", "specs/googlenet.yaml", "--variant", "torchvision"]),
        13_004_888
    );
    // ... and with aux_logits=False.
    assert_eq!(
        total_params(&["derive", "specs/googlenet.yaml", "--variant", "torchvision", "--no-aux"]),
        6_624_904
    );
}

#[test]
fn classes_and_input_options() {
    let (_, v) = json(&[
        "derive",
        "specs/googlenet_bn.yaml",
        "--variant",
        "caffe",
        "--classes",
        "10",
        "--input",
        "256",
    ]);
    assert_eq!(v["input"]["reference"], serde_json::json!([256, 256]));
    let fc = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "fc")
        .unwrap();
    assert_eq!(fc["shape"], serde_json::json!([10]));
    // caffe: a fixed 7×7/1 final pool on the 8×8 map of a 256 input leaves 2×2, so fc sees 4096.
    assert_eq!(fc["params"], 1024 * 4 * 10 + 10);
    let (code, _, err) = archcheck(&[
        "derive",
        "specs/googlenet_bn.yaml",
        "--variant",
        "caffe",
        "--input",
        "160",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("gets a 5×5 input at the reference size 160×160; it needs H ≥ 199"),
        "{err}"
    );
}

#[test]
fn check_many_specs_for_ci() {
    let (code, out, _) = archcheck(&[
        "check",
        "specs/googlenet.yaml",
        "specs/googlenet_bn.yaml",
        "--variant",
        "zjzstu",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 passed, 0 failed"), "{out}");
    let (code, out, _) = archcheck(&["check", "specs/googlenet.yaml", "specs/googlenet_bn.yaml"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL specs/googlenet_bn.yaml"), "{out}");
    let (code, out, _) = archcheck(&["check", "specs/googlenet.yaml", "--strict"]);
    assert_eq!(code, 1, "warnings fail under --strict: {out}");
}

#[test]
fn golden_table_and_json() {
    for (name, args) in [
        ("googlenet_bn_table", &["derive", "specs/googlenet_bn.yaml"][..]),
        (
            "googlenet_bn_zjzstu_table",
            &["derive", "specs/googlenet_bn.yaml", "--variant", "zjzstu"][..],
        ),
        ("googlenet_table", &["derive", "specs/googlenet.yaml"][..]),
        // The table fitted to a terminal: every column at 200, the symbolic shape left out
        // at 120, the MACs too and the layer names shortened at 80.
        (
            "googlenet_bn_table_200",
            &["derive", "specs/googlenet_bn.yaml", "--width", "200"][..],
        ),
        (
            "googlenet_bn_table_120",
            &["derive", "specs/googlenet_bn.yaml", "--width", "120"][..],
        ),
        (
            "googlenet_bn_table_80",
            &["derive", "specs/googlenet_bn.yaml", "--width", "80"][..],
        ),
        (
            "googlenet_bn_caffe_branches_ascii_80",
            &[
                "derive",
                "specs/googlenet_bn.yaml",
                "--variant",
                "caffe",
                "--depth",
                "branches",
                "--ascii",
                "--width",
                "80",
            ][..],
        ),
        (
            "googlenet_zjzstu_rows_120",
            &[
                "derive",
                "specs/googlenet.yaml",
                "--variant",
                "zjzstu",
                "--depth",
                "rows",
                "--width",
                "120",
            ][..],
        ),
        (
            "googlenet_bn_json",
            &["derive", "specs/googlenet_bn.yaml", "--format", "json"][..],
        ),
        (
            "googlenet_torchvision_json",
            &[
                "derive",
                "specs/googlenet.yaml",
                "--variant",
                "torchvision",
                "--format",
                "json",
            ][..],
        ),
        (
            "googlenet_bn_caffe_markdown",
            &[
                "derive",
                "specs/googlenet_bn.yaml",
                "--variant",
                "caffe",
                "--format",
                "markdown",
            ][..],
        ),
    ] {
        let (_, out, _) = archcheck(args);
        insta::assert_snapshot!(name, out);
    }
}

/// The width comes from `--width`, else `$COLUMNS`: the same bytes either way; no table line
/// passes it; `--help` wraps to it too.
#[test]
fn the_width_comes_from_the_flag_or_columns() {
    let run = |args: &[&str], columns: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_archcheck"));
        c.args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("COLUMNS");
        if let Some(w) = columns {
            c.env("COLUMNS", w);
        }
        let out = c.output().expect("run archcheck");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let flag = run(&["derive", "specs/googlenet_bn.yaml", "--width", "100"], None);
    let env = run(&["derive", "specs/googlenet_bn.yaml"], Some("100"));
    assert_eq!(flag, env);
    let table: Vec<&str> = flag.lines().filter(|l| l.starts_with(['┌', '│', '╞', '└'])).collect();
    assert!(table.len() > 100, "{flag}");
    assert!(table.iter().all(|l| l.chars().count() <= 100), "{flag}");
    let help = run(&["derive", "--help"], Some("60"));
    assert!(help.lines().all(|l| l.chars().count() <= 60), "{help}");
    assert!(help.contains("--width"), "{help}");
}
