//! The project file (archcheck.toml): the repository's own parses and resolves to a spec,
//! variant and training size derive accepts; a left-out SPEC comes from the nearest file
//! upwards and derives exactly as the explicit command does; flags win over the file; a
//! missing or broken file is an exit-2 message naming the file and line. Also the refusals
//! that come before any libtorch work (an input size or batch derive rules out) and what
//! `--version` and a build without libtorch say.

use std::path::Path;
use std::process::{Command, Output};

use archcheck::data::DataSource;
use archcheck::derive::derive;
use archcheck::ir::LowerOptions;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

fn archcheck(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_archcheck"))
        .args(args)
        .current_dir(cwd)
        .env_remove("COLUMNS")
        .output()
        .expect("run archcheck")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}\n{}", text(o)))
}

/// A project directory holding a copy of the repository's GoogLeNet spec and `toml`.
fn project(toml: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("specs")).unwrap();
    std::fs::create_dir_all(tmp.path().join("sub/deeper")).unwrap();
    std::fs::copy(
        Path::new(REPO).join("specs/googlenet.yaml"),
        tmp.path().join("specs/googlenet.yaml"),
    )
    .unwrap();
    std::fs::write(tmp.path().join("archcheck.toml"), toml).unwrap();
    tmp
}

#[test]
fn the_shipped_project_file_resolves_to_a_run_derive_accepts() {
    let path = Path::new(REPO).join("archcheck.toml");
    let source = archcheck::source::Source::read(&path, "the project file", 1 << 20).unwrap();
    let p = archcheck::project::parse(&source, &path).unwrap_or_else(|e| panic!("{e}"));
    let spec_path = p.spec.clone().expect("the shipped file names a spec");
    assert_eq!(spec_path, Path::new(REPO).join("specs/googlenet_bn.yaml"));
    let text = std::fs::read_to_string(&spec_path).unwrap();
    let spec = archcheck::spec::load_str(&text, "googlenet_bn.yaml").unwrap_or_else(|e| panic!("{e}"));
    let variant = p.variant.clone().expect("the shipped file names a variant");
    assert!(
        spec.variants.contains_key(&variant),
        "{variant} is not a variant of the spec"
    );
    // BN-Inception on Fashion-MNIST (its 10 classes) at the file's size and batch.
    assert_eq!(spec.name, "googlenet_bn");
    assert_eq!(p.train.data, Some(DataSource::FashionMnist(None)));
    let input = p.train.input.expect("the shipped file sets the training size");
    let opts = LowerOptions {
        variant: Some(variant),
        ..LowerOptions::default()
    };
    let d = derive(std::sync::Arc::new(spec), &opts, 1).unwrap_or_else(|e| panic!("{e}"));
    let at = (input.0 as i64, input.1 as i64);
    assert_eq!(archcheck::fit::refuse_input(&d, at), None);
    let batch = p.train.batch.expect("the shipped file sets the batch");
    assert_eq!(archcheck::fit::refuse_training_batch(&d, at, batch), None);
    assert_eq!(p.train.out, Some(Path::new(REPO).join("runs/googlenet_bn-zjzstu")));
}

#[test]
fn a_left_out_spec_comes_from_the_nearest_file_upwards() {
    let tmp = project("spec = \"specs/googlenet.yaml\"\nvariant = \"torchvision\"\n");
    let explicit = archcheck(
        &[
            "derive",
            "specs/googlenet.yaml",
            "--variant",
            "torchvision",
            "--format",
            "json",
        ],
        tmp.path(),
    );
    let from_file = archcheck(&["derive", "--format", "json"], &tmp.path().join("sub/deeper"));
    assert_eq!(from_file.status.code(), Some(0), "{}", text(&from_file));
    let (a, mut b) = (json(&explicit), json(&from_file));
    assert_eq!(b["variant"], "torchvision");
    // Paths in the file are relative to it: named from the directory the command ran in.
    assert_eq!(b["spec"]["file"], "../../specs/googlenet.yaml");
    for x in b["diagnostics"].as_array_mut().unwrap() {
        x["file"] = "specs/googlenet.yaml".into();
    }
    for key in ["layers", "totals", "constraints", "diagnostics"] {
        assert_eq!(a[key], b[key], "{key}");
    }
    // A flag wins over the file.
    let flag = archcheck(&["derive", "--variant", "zjzstu", "--format", "json"], tmp.path());
    assert_eq!(json(&flag)["variant"], "zjzstu", "{}", text(&flag));
    // check too.
    let check = archcheck(&["check"], tmp.path());
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("specs/googlenet.yaml --variant torchvision: 0 errors"),
        "{}",
        text(&check)
    );
}

#[test]
fn without_a_file_the_error_names_the_file_to_create() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [&["derive"][..], &["build", "--train"][..], &["check"][..]] {
        let o = archcheck(args, tmp.path());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        let e = stderr(&o);
        assert!(e.starts_with("error: no SPEC given, and no archcheck.toml in "), "{e}");
        assert!(e.contains("spec = \"specs/my_model.yaml\""), "{e}");
        assert!(e.contains("docs/project.md"), "{e}");
    }
    std::fs::write(tmp.path().join("archcheck.toml"), "[train]\nepochs = 2\n").unwrap();
    let o = archcheck(&["derive"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(stderr(&o).contains("archcheck.toml names none"), "{}", text(&o));
}

#[test]
fn a_broken_file_is_refused_with_its_line_and_column() {
    for (toml, at, message) in [
        (
            "spec = \"specs/googlenet.yaml\"\nvaraint = \"x\"\n",
            "archcheck.toml:2:1",
            "unknown field",
        ),
        (
            "spec = \"specs/googlenet.yaml\"\n[train]\nepochs = 0\n",
            "archcheck.toml:3:10",
            "epochs is 0, expected",
        ),
        (
            "spec = \"specs/googlenet.yaml\"\n[train]\noptimizer = \"lion\"\n",
            "archcheck.toml:3:13",
            "optimizer is 'lion', expected one of sgd, adam",
        ),
        (
            "spec = \"specs/googlenet.yaml\"\n[train]\ninput = 2.5\n",
            "archcheck.toml:3:9",
            "input is a float",
        ),
        (
            "spec = \"specs/googlenet.yaml\"\n[train]\ndata = \"mnist\"\n",
            "archcheck.toml:3:8",
            "unknown data source",
        ),
        ("spec = [1\n", "archcheck.toml:1:", ""),
    ] {
        let tmp = project(toml);
        let o = archcheck(&["build", "--train"], tmp.path());
        assert_eq!(o.status.code(), Some(2), "{toml}: {}", text(&o));
        let e = stderr(&o);
        assert!(e.contains(&format!("--> {at}")), "{toml}: {e}");
        assert!(e.contains(message), "{toml}: {e}");
        assert!(!e.contains("panicked"), "{e}");
    }
}

/// The Caffe lineage's fixed 7×7 final pool: derive finds it valid only from 223 to 230.
#[test]
fn an_input_derive_rules_out_is_refused_before_training() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = Path::new(REPO).join("specs/googlenet_bn.yaml");
    let spec = spec.to_str().unwrap();
    for args in [
        &[
            "build",
            spec,
            "--train",
            "--input",
            "64",
            "--variant",
            "caffe",
            "--data",
            "synthetic",
            "--out",
            "run",
        ][..],
        &["bench", spec, "--input", "64", "--variant", "caffe", "--no-pytorch"][..],
        &["build", spec, "--verify", "--input", "64", "--variant", "caffe"][..],
    ] {
        let o = archcheck(args, tmp.path());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        let e = stderr(&o);
        assert!(
            e.starts_with(
                "error: input 64×64 cannot be used with googlenet_bn (variant caffe): it is valid from 223×223 to 230×230"
            ),
            "{e}"
        );
        assert!(
            e.contains("avg_pool_1.pool (avg pool 7×7/1 ceil, in avg pool) needs H ≥ 199"),
            "{e}"
        );
        assert!(
            !tmp.path().join("run").exists(),
            "nothing is written before the refusal"
        );
    }
    // Inside the range but where inception (4e)'s branches disagree (233 mod 32 = 9).
    let o = archcheck(
        &[
            "build",
            spec,
            "--train",
            "--input",
            "227x233",
            "--variant",
            "caffe",
            "--out",
            "run",
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        stderr(&o).contains("inception (4e): its branches differ in size at W = 233"),
        "{}",
        text(&o)
    );
    // A batch of one leaves a batch norm at 1×1 a single value per channel in training.
    let o = archcheck(
        &[
            "build",
            spec,
            "--train",
            "--input",
            "32",
            "--variant",
            "zjzstu",
            "--batch",
            "1",
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(stderr(&o).starts_with("error: batch 1 cannot train googlenet_bn (variant zjzstu) at 32×32: batch norm "));
}

#[test]
fn version_says_whether_libtorch_is_built_in() {
    let o = archcheck(&["--version"], Path::new(REPO));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = String::from_utf8_lossy(&o.stdout);
    assert!(
        v.starts_with(&format!("archcheck {} ", env!("CARGO_PKG_VERSION"))),
        "{v}"
    );
    if cfg!(feature = "torch") {
        assert!(v.contains("with libtorch 2.11.0"), "{v}");
        assert!(v.contains("CUDA usable") || v.contains("CUDA not usable"), "{v}");
    } else {
        assert!(v.contains("without libtorch"), "{v}");
    }
}

#[cfg(not(feature = "torch"))]
#[test]
fn without_libtorch_build_says_what_the_set_up_costs_and_builds() {
    let o = archcheck(&["build", "specs/googlenet_bn.yaml", "--train"], Path::new(REPO));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let e = stderr(&o);
    assert!(e.starts_with("error: this archcheck is built without libtorch"), "{e}");
    for needle in [
        "bash scripts/setup-torch.sh",
        "torch==2.11.0",
        "GB on disk",
        "target/release/archcheck",
        "/usr/share/datasets/fashion-mnist",
    ] {
        assert!(e.contains(needle), "{needle}: {e}");
    }
}
