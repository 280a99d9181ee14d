//! `build --train` on every spec family (feature `torch`, CPU): for each spec in specs/, its
//! first variant that declares a lineage (else the spec as printed) trains two optimizer
//! steps on a tiny Fashion-MNIST-shaped data set (16 images per split, written by the test,
//! resized and widened to the network's input as any data set is) and writes finite losses
//! and its final weights. The input is the smallest valid size of at least 32×32, so that a
//! CPU run stays short; the lineage proofs (tests/lineage.rs) cover the reference size.
#![cfg(feature = "torch")]

use std::path::{Path, PathBuf};
use std::process::Command;

use archcheck::derive::derive;
use archcheck::ir::LowerOptions;
use archcheck::spec::load_file;

/// Every spec with the variant trained for it.
fn families() -> Vec<(PathBuf, Option<String>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let spec = load_file(&f).unwrap_or_else(|e| panic!("{e}"));
            let variant = spec
                .variants
                .iter()
                .find(|(_, v)| v.lineage.is_some())
                .map(|(n, _)| n.clone());
            (f, variant)
        })
        .collect()
}

mod common;

#[test]
fn every_family_trains_a_few_steps_on_the_cpu() {
    let runs = tempfile::tempdir().unwrap();
    let data = runs.path().join("data");
    common::idx::write_idx(&data, 16);
    let data_arg = format!("fashion-mnist:{}", data.display());
    for (file, variant) in families() {
        let spec = load_file(&file).unwrap();
        let opts = LowerOptions {
            variant: variant.clone(),
            ..Default::default()
        };
        let d = derive(spec, &opts, 1).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let (h, w) = archcheck::ir::min_input(&d.graph);
        let size = format!("{}x{}", h.max(32), w.max(32));
        let label = format!("{} {}", file.display(), variant.as_deref().unwrap_or("(as printed)"));
        let out = runs.path().join(file.file_stem().unwrap());
        let mut args = vec![
            "build".to_string(),
            file.display().to_string(),
            "--train".into(),
            "--data".into(),
            data_arg.clone(),
            "--device".into(),
            "cpu".into(),
            "--input".into(),
            size.clone(),
            "--batch".into(),
            "4".into(),
            "--max-steps".into(),
            "2".into(),
            "--seed".into(),
            "3".into(),
            "--out".into(),
            out.display().to_string(),
        ];
        if let Some(v) = &variant {
            args.extend(["--variant".into(), v.clone()]);
        }
        let o = Command::new(env!("CARGO_BIN_EXE_archcheck"))
            .args(&args)
            .env("OMP_NUM_THREADS", "2")
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{label} at {size}:\n{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let metrics = archcheck::metrics::read_jsonl(&out.join("metrics.jsonl")).unwrap();
        assert!(!metrics.is_empty(), "{label}: no metrics written");
        for m in &metrics {
            assert!(m.train_loss.is_finite(), "{label}: train loss {}", m.train_loss);
        }
        assert!(out.join("final.safetensors").exists(), "{label}: no final weights");
        eprintln!(
            "{label} at {size}: {} metrics lines, last train loss {}",
            metrics.len(),
            metrics.last().unwrap().train_loss
        );
    }
}
