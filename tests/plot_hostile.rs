//! Plots of metrics files with extreme numbers: every one finishes (the axis range of
//! losses +1e308 and -1e308 overflowed to infinity and the plot spun forever) and writes an
//! SVG or refuses with a message.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use archcheck::metrics::{plot_overlay, plot_run, read_jsonl};

const BIN: &str = env!("CARGO_BIN_EXE_archcheck");

fn line(epoch: &str, train_loss: &str, train_acc: &str, test_loss: &str) -> String {
    format!(
        "{{\"epoch\":{epoch},\"step\":1,\"train_loss\":{train_loss},\"train_acc\":{train_acc},\"test_loss\":{test_loss},\"test_acc\":0.5,\"lr\":0.1,\"images_per_sec\":1.0,\"elapsed_s\":1.0}}\n"
    )
}

/// Metrics files a diverged or corrupted run can leave.
fn hostile_files() -> Vec<(&'static str, String)> {
    vec![
        (
            "opposite extremes",
            line("1", "1e308", "0.5", "-1e308") + &line("2", "-1e308", "0.6", "1e308"),
        ),
        (
            "one extreme",
            line("1", "1.7976931348623157e308", "0.5", "1.7976931348623157e308"),
        ),
        (
            "both ends of f64",
            line("1", "-1.7976931348623157e308", "0.5", "1.7976931348623157e308"),
        ),
        (
            "a tiny spread at a huge value",
            line("1", "1e300", "0.5", "1.0000000000000001e300"),
        ),
        ("negative huge only", line("1", "-1e308", "0.5", "-1e308")),
        (
            "accuracy out of range",
            line("1", "1.0", "1e308", "1.0") + &line("2", "1.0", "-1e308", "1.0"),
        ),
        ("subnormal", line("1", "5e-324", "0.5", "-5e-324")),
        (
            "epochs at both ends",
            line("0", "1.0", "0.5", "1.0") + &line("18446744073709551615", "2.0", "0.6", "2.0"),
        ),
        ("the last epoch only", line("18446744073709551615", "2.0", "0.6", "2.0")),
        ("nothing finite", line("1", "null", "null", "null")),
    ]
}

/// Runs `f` on a thread and fails if it takes longer than `limit` (the thread is left behind).
fn within<T: Send + 'static>(limit: Duration, what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(f()).ok());
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("{what}: still running after {limit:?}"))
}

fn write(dir: &Path, i: usize, text: &str) -> std::path::PathBuf {
    let p = dir.join(format!("run{i}"));
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("metrics.jsonl"), text).unwrap();
    p
}

#[test]
fn extreme_values_plot_in_bounded_time_through_the_library() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (what, text)) in hostile_files().into_iter().enumerate() {
        let run = write(dir.path(), i, &text);
        let file = run.join("metrics.jsonl");
        let ms = match read_jsonl(&file) {
            Ok(ms) => ms,
            Err(e) => {
                let e = e.to_string();
                // Only an epoch no run reaches is refused, at its file:line.
                assert!(what.contains("epoch"), "{what}: {e}");
                assert!(e.starts_with(&format!("{}:", file.display())), "{what}: {e}");
                assert!(e.contains("epoch 18446744073709551615 is beyond"), "{what}: {e}");
                continue;
            }
        };
        let out = dir.path().join(format!("plot{i}.svg"));
        let (ms2, out2) = (ms.clone(), out.clone());
        let r = within(Duration::from_secs(20), what, move || plot_run(&ms2, "hostile", &out2));
        match r {
            Ok(()) => {
                let svg = std::fs::read_to_string(&out).unwrap();
                assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{what}");
                assert!(svg.len() < 1 << 20, "{what}: {} bytes", svg.len());
                assert!(
                    !svg.contains("NaN") && !svg.contains("inf"),
                    "{what}: non-finite coordinates"
                );
            }
            Err(e) => {
                let e = e.to_string();
                assert!(
                    e.contains(&out.display().to_string()) || e.contains("metrics"),
                    "{what}: {e}"
                )
            }
        }
        let out3 = dir.path().join(format!("overlay{i}.svg"));
        let runs = vec![("a".to_string(), ms.clone()), ("b".to_string(), ms)];
        let r = within(Duration::from_secs(20), what, move || plot_overlay(&runs, &out3));
        assert!(r.is_ok(), "{what}: {r:?}");
    }
}

#[test]
fn extreme_values_plot_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let (_, text) = &hostile_files()[0];
    let run = write(dir.path(), 0, text);
    let out = dir.path().join("out.svg");
    let mut child = Command::new(BIN)
        .args(["plot", &run.display().to_string(), "-o", &out.display().to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(20) {
            child.kill().ok();
            child.wait().ok();
            panic!("archcheck plot still running after 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    assert!(std::fs::read_to_string(&out).unwrap().contains("train loss"));
}
