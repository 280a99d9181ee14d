//! Metrics JSONL round trip and SVG plots (asserted on the text of the SVG).

use std::path::Path;

use archcheck::metrics::{EpochMetrics, append_jsonl, plot_overlay, plot_run, read_jsonl};

fn epoch(epoch: usize, scale: f64) -> EpochMetrics {
    let e = epoch as f64;
    EpochMetrics {
        epoch,
        step: epoch as u64 * 469,
        train_loss: 2.3 * scale / e,
        train_acc: 1.0 - 0.5 / e,
        test_loss: 2.4 * scale / e,
        test_acc: 0.95 - 0.5 / e,
        lr: 0.1,
        images_per_sec: 12345.5,
        elapsed_s: 10.25 * e,
    }
}

#[test]
fn jsonl_round_trips_including_nan() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("metrics.jsonl");
    let mut ms: Vec<EpochMetrics> = (1..=3).map(|e| epoch(e, 1.0)).collect();
    for m in &ms {
        append_jsonl(&p, m).unwrap();
    }
    assert_eq!(read_jsonl(&p).unwrap(), ms);
    let text = std::fs::read_to_string(&p).unwrap();
    assert_eq!(text.lines().count(), 3);
    assert!(
        text.starts_with("{\"epoch\":1,\"step\":469,\"train_loss\":2.3,"),
        "{text}"
    );

    ms[0].train_loss = f64::NAN; // a diverged run must still be readable
    append_jsonl(&p, &ms[0]).unwrap();
    let back = read_jsonl(&p).unwrap();
    assert_eq!(back.len(), 4);
    assert!(back[3].train_loss.is_nan());
    assert_eq!(back[3].test_loss, ms[0].test_loss);
}

#[test]
fn bad_line_is_named_by_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.jsonl");
    append_jsonl(&p, &epoch(1, 1.0)).unwrap();
    let mut text = std::fs::read_to_string(&p).unwrap();
    text.push_str("\n{\"epoch\": 2, \"step\": oops}\n");
    std::fs::write(&p, text).unwrap();
    let msg = read_jsonl(&p).unwrap_err().to_string();
    assert!(msg.starts_with(&format!("{}:3: ", p.display())), "{msg}");

    std::fs::write(&p, "{\"epoch\": 2}\n").unwrap();
    let msg = read_jsonl(&p).unwrap_err().to_string();
    assert!(
        msg.starts_with(&format!("{}:1: missing field `step`", p.display())),
        "{msg}"
    );

    let absent = dir.path().join("absent.jsonl");
    assert!(
        read_jsonl(&absent)
            .unwrap_err()
            .to_string()
            .starts_with(&absent.display().to_string())
    );
}

/// The trimmed contents of every `<text>` element of an SVG file.
fn svg_texts(p: &Path) -> Vec<String> {
    let s = std::fs::read_to_string(p).unwrap();
    assert!(
        s.starts_with("<svg") && s.trim_end().ends_with("</svg>"),
        "{}",
        &s[..s.len().min(200)]
    );
    s.split("<text")
        .skip(1)
        .map(|t| {
            t[t.find('>').unwrap() + 1..t.find("</text>").unwrap()]
                .trim()
                .to_string()
        })
        .collect()
}

fn assert_has_texts(p: &Path, wanted: &[&str]) {
    let texts = svg_texts(p);
    for w in wanted {
        assert!(texts.iter().any(|t| t == w), "no <text>{w}</text> in {texts:?}");
    }
}

#[test]
fn run_plot_has_title_panels_legend_and_axis_titles() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("run.svg");
    let ms: Vec<EpochMetrics> = (1..=12).map(|e| epoch(e, 1.0)).collect();
    plot_run(&ms, "GoogLeNet on Fashion-MNIST", &p).unwrap();
    let wanted = [
        "GoogLeNet on Fashion-MNIST",
        "train loss",
        "test loss",
        "train accuracy",
        "test accuracy",
    ];
    assert_has_texts(&p, &wanted);
    assert_has_texts(&p, &["epoch", "loss", "accuracy", "12"]);
}

#[test]
fn overlay_plot_names_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("overlay.svg");
    let runs = vec![
        ("GoogLeNet".to_string(), (1..=10).map(|e| epoch(e, 1.0)).collect()),
        ("GoogLeNet_BN".to_string(), (1..=8).map(|e| epoch(e, 0.6)).collect()),
    ];
    plot_overlay(&runs, &p).unwrap();
    assert_has_texts(
        &p,
        &["GoogLeNet", "GoogLeNet_BN", "test accuracy", "train loss", "epoch"],
    );
}

#[test]
fn odd_inputs_plot_or_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let one = vec![epoch(1, 1.0)];
    plot_run(&one, "one epoch", &dir.path().join("one.svg")).unwrap();
    assert_has_texts(&dir.path().join("one.svg"), &["one epoch", "train loss"]);
    let mut gaps: Vec<EpochMetrics> = (0..5).map(|e| epoch(e + 1, 1.0)).collect();
    gaps[2].train_loss = f64::NAN;
    gaps.iter_mut().for_each(|m| m.test_acc = f64::NAN);
    plot_run(&gaps, "gaps", &dir.path().join("gaps.svg")).unwrap();
    // all-NaN test accuracy draws no curve and so gets no legend entry
    let texts = svg_texts(&dir.path().join("gaps.svg"));
    assert!(texts.contains(&"train accuracy".to_string()) && !texts.contains(&"test accuracy".to_string()));

    let png = dir.path().join("run.png");
    assert_eq!(
        plot_run(&one, "t", &png).unwrap_err().to_string(),
        format!("{}: plots are written as svg only, name the file *.svg", png.display())
    );
    let empty = dir.path().join("empty.svg");
    assert_eq!(
        plot_run(&[], "t", &empty).unwrap_err().to_string(),
        format!("{}: no metrics to plot", empty.display())
    );
    let bad_dir = dir.path().join("no/such/dir/x.svg");
    assert!(
        plot_overlay(&[("a".into(), one)], &bad_dir)
            .unwrap_err()
            .to_string()
            .starts_with(&bad_dir.display().to_string())
    );
}

#[test]
fn plot_takes_a_run_directory_with_an_equals_sign_as_a_path() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("lr=0.1");
    std::fs::create_dir(&run).unwrap();
    for e in 1..=3 {
        append_jsonl(&run.join("metrics.jsonl"), &epoch(e, 1.0)).unwrap();
    }
    let svg = dir.path().join("plot.svg");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_archcheck"))
        .args(["plot", &run.to_string_lossy(), "-o", &svg.to_string_lossy()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    // The run is labelled by its directory's name, not split at the '='.
    assert_has_texts(&svg, &["lr=0.1"]);
    // LABEL=PATH still labels a run.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_archcheck"))
        .args(["plot", &format!("fast={}", run.display()), "-o", &svg.to_string_lossy()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_has_texts(&svg, &["fast"]);
}

#[test]
fn plot_refuses_endless_and_oversized_metrics_files() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("plot.svg");
    let plot = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_archcheck"))
            .args(args)
            .output()
            .unwrap()
    };
    let o = plot(&["plot", "/dev/zero", "-o", &svg.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("it is a character device"));
    let run = dir.path().join("metrics.jsonl");
    append_jsonl(&run, &epoch(1, 1.0)).unwrap();
    let o = plot(&[
        "plot",
        &run.to_string_lossy(),
        "-o",
        &svg.to_string_lossy(),
        "--max-file-size",
        "10",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("larger than the limit of 10 bytes"));
    // And the plot would not replace the run it reads.
    let o = plot(&["plot", &run.to_string_lossy(), "-o", &run.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(read_jsonl(&run).unwrap(), vec![epoch(1, 1.0)]);
}
