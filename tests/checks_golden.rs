//! Checks that do not go quiet, on the specs of tests/checks/ (each says what it shows) and
//! on BN-Inception: golden output of `archcheck derive`, and the facts each must state.

use std::process::Command;

fn archcheck(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_archcheck"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run archcheck");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `derive ARGS` as a golden snapshot of its exit status and output; returns (status, stdout).
fn golden(name: &str, args: &[&str]) -> (i32, String) {
    let mut a = vec!["derive"];
    a.extend(args);
    let (code, out, err) = archcheck(&a);
    assert!(err.is_empty(), "{name}: stderr {err}");
    insta::assert_snapshot!(name, format!("exit {code}\n{out}"));
    (code, out)
}

/// The JSON rows' statuses by label.
fn statuses(args: &[&str]) -> Vec<(String, String)> {
    let mut a = vec!["derive"];
    a.extend(args);
    a.extend(["--format", "json"]);
    let (_, out, err) = archcheck(&a);
    assert!(err.is_empty(), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["label"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn another_input_still_checks_channels_depth_and_parameters() {
    let (code, out) = golden("other_input_at_40", &["tests/checks/other_input.yaml", "--input", "40"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("error[E101]: conv (row 3) outputs 16 channels, the table says 12"),
        "{out}"
    );
    assert!(
        out.contains("note[N303]: the derivation runs at 40×40, the table prints sizes for 32×32"),
        "{out}"
    );
    assert!(!out.contains("E102"), "{out}");
    let s = statuses(&["tests/checks/other_input.yaml", "--input", "40"]);
    assert_eq!(s[0].1, "ok: channels, depth, params");
    assert_eq!(s[1].1, "ok: channels");
    // Nothing printed that a check could compare: never "ok".
    assert_eq!(s[3].1, "—");
    // At the printed size every cell is compared and the status is a plain "ok".
    let s = statuses(&["tests/checks/other_input.yaml"]);
    assert_eq!(s[0].1, "ok");
    assert_eq!(s[3].1, "—");
}

#[test]
fn a_figure_against_zero_has_no_percentage() {
    let (code, out) = golden("zero_params", &["tests/checks/zero_params.yaml"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("warning[W201]: max pool has no parameters, the table says 1.2M"),
        "{out}"
    );
    let line = out.lines().find(|l| l.contains("W201")).unwrap();
    assert!(!line.contains('%'), "a percentage of nothing: {line}");
    assert!(out.contains("no relative difference from 0"), "{out}");
}

#[test]
fn an_inherited_mismatch_names_its_first_cause() {
    let (code, out) = golden("inherited", &["tests/checks/inherited.yaml"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        out.matches("error[").count(),
        1,
        "only the first cause is an error:\n{out}"
    );
    assert!(
        out.contains("error[E102]: conv (row 1) outputs 30×30, the table says 32×32"),
        "{out}"
    );
    assert!(
        out.contains("note[N304]: max pool prints 16×16×8 where it derives 15×15×8, which follows from conv (row 2)'s printed 32×32×8"),
        "{out}"
    );
    assert!(out.contains("the chain starts at conv (row 1), the error"), "{out}");
    // Its own arithmetic comes with it: 30 → 15 by the pool.
    assert!(out.contains("30×30 → 15×15 by max pool 2×2/2"), "{out}");
    let s = statuses(&["tests/checks/inherited.yaml"]);
    assert_eq!(s[2].1, "N304");
}

#[test]
fn a_stride_that_blocks_a_later_window_is_found_at_its_row() {
    let (code, out) = golden("blocked_stride", &["tests/checks/blocked_stride.yaml"]);
    assert_eq!(code, 1, "exit 1 (a finding), not 2 (unusable):\n{out}");
    assert!(
        out.contains("error[E105]: conv (row 2) prints stride 2, and with it a later window does not fit"),
        "{out}"
    );
    assert!(out.contains("--> tests/checks/blocked_stride.yaml:12:40"), "{out}");
    assert!(
        out.contains("reading 2: no stride in conv (row 2): it outputs 16×16, as printed"),
        "{out}"
    );
    let s = statuses(&["tests/checks/blocked_stride.yaml"]);
    assert_eq!(s[1].1, "E105");
    assert_eq!(s[3].1, "ok", "the derivation continues past the row");
}

#[test]
fn a_padding_the_printed_sizes_imply_and_a_later_window_needs_is_found_at_its_row() {
    let (code, out) = golden("unmarked_padding", &["tests/checks/unmarked_padding.yaml"]);
    assert_eq!(code, 1, "exit 1 (a finding), not 2 (unusable):\n{out}");
    assert!(
        out.contains("error[E109]: conv (row 2) is unpadded and outputs 14×14 where avg pool prints its input 16×16"),
        "{out}"
    );
    assert!(out.contains("--> tests/checks/unmarked_padding.yaml:15:50"), "{out}");
    assert!(
        out.contains("reading 2: conv (row 2) padded to keep the grid: it outputs 16×16, as printed"),
        "{out}"
    );
    // The rest is derived padded: the conv pads 1 and no E107 follows from it.
    assert!(out.contains("conv: conv 3×3/1 pad 1"), "{out}");
    assert!(!out.contains("E107"), "{out}");
    let s = statuses(&["tests/checks/unmarked_padding.yaml"]);
    assert_eq!(s[2].1, "E109");
}

#[test]
fn a_variant_sets_the_input_size_the_table_is_read_at() {
    let (code, out) = golden("variant_input_printed", &["tests/checks/variant_input.yaml"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("error[E102]: conv outputs 54×54, the table says 55×55"),
        "{out}"
    );
    let (code, out) = golden(
        "variant_input_at227",
        &["tests/checks/variant_input.yaml", "--variant", "at227"],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("reference 227×227"), "{out}");
    assert!(!out.contains("N303"), "the variant's size is the printed one:\n{out}");
}

#[test]
fn bn_inception_at_227_checks_what_does_not_depend_on_the_size() {
    let (code, out) = golden("googlenet_bn_at_227", &["specs/googlenet_bn.yaml", "--input", "227"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("error[E101]: inception (4c) outputs 608 channels, the table says 576"),
        "{out}"
    );
    assert!(
        out.contains("error[E103]: convolution is 2 weight layers deep, the table says 1"),
        "{out}"
    );
    assert!(out.contains("note[N303]"), "{out}");
    assert!(!out.contains("E105") && !out.contains("E102"), "{out}");
}

#[test]
fn unknown_names_get_a_suggestion() {
    let (code, _, err) = archcheck(&["derive", "specs/googlenet.yaml", "--variant", "torchvison"]);
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "unknown variant 'torchvison', the spec defines: torchvision, zjzstu; did you mean 'torchvision'?"
        ),
        "{err}"
    );
    let (code, _, err) = archcheck(&["derive", "specs/googlenet.yaml", "--variant", "resnet"]);
    assert_eq!(code, 2);
    assert!(!err.contains("did you mean"), "{err}");
}

#[test]
fn a_reading_advises_by_direction() {
    let (code, out) = golden("direction", &["tests/checks/direction.yaml"]);
    assert_eq!(code, 1, "{out}");
    let reading = out.lines().find(|l| l.contains("reading 1:")).unwrap();
    assert!(
        reading.contains("conv (row 3) then outputs 8×8 where the table prints the larger 16×16, so a stride before it is one too many"),
        "{reading}"
    );
    assert!(
        !reading.contains("downsampling"),
        "a size already too small needs no downsampling: {reading}"
    );
    // The BN-Inception readings, where the size is too large, keep their advice.
    let (_, bn, _) = archcheck(&["derive", "specs/googlenet_bn.yaml"]);
    assert!(
        bn.contains("inception (4a) then outputs 28×28 where the table prints 14×14, so a downsampling step"),
        "{bn}"
    );
}
