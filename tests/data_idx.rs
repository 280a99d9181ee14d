//! IDX reading and Fashion-MNIST loading: small files generated in a temp dir, each kind of
//! corruption asserted on its message, and the real data set (required unless core-only).

use std::io::Write;
use std::path::{Path, PathBuf};

use archcheck::data::{
    DataError, FASHION_MNIST_CLASSES, load_fashion_mnist, load_idx_dataset, read_idx_images, read_idx_labels,
};
use flate2::{Compression, write::GzEncoder};

mod common;

fn idx3(magic: u32, n: u32, h: u32, w: u32, pixels: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [magic, n, h, w] {
        b.extend(v.to_be_bytes());
    }
    b.extend(pixels);
    b
}

fn idx1(n: u32, labels: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(0x801u32.to_be_bytes());
    b.extend(n.to_be_bytes());
    b.extend(labels);
    b
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn err_text(e: DataError) -> String {
    e.to_string()
}

#[test]
fn reads_gzip_and_plain_files_by_content_not_extension() {
    let dir = tempfile::tempdir().unwrap();
    let pixels: Vec<u8> = (0..12).collect();
    let images = idx3(0x803, 3, 2, 2, &pixels);
    // gzip content under a plain name, plain content under a .gz name: both read.
    let a = write(dir.path(), "images-idx3-ubyte", &gz(&images));
    let b = write(dir.path(), "images-idx3-ubyte.gz", &images);
    for p in [a, b] {
        let img = read_idx_images(&p).unwrap();
        assert_eq!((img.n, img.height, img.width), (3, 2, 2));
        assert_eq!(img.pixels, pixels);
    }
    let labels = write(dir.path(), "labels.gz", &gz(&idx1(3, &[2, 0, 1])));
    assert_eq!(read_idx_labels(&labels).unwrap(), vec![2, 0, 1]);
}

#[test]
fn pairs_images_with_labels() {
    let dir = tempfile::tempdir().unwrap();
    let imgs = write(dir.path(), "i", &idx3(0x803, 2, 1, 3, &[1, 2, 3, 4, 5, 6]));
    let labs = write(dir.path(), "l", &idx1(2, &[1, 0]));
    let d = load_idx_dataset(&imgs, &labs, &["a", "b"]).unwrap();
    assert_eq!((d.n, d.channels, d.height, d.width, d.classes), (2, 1, 1, 3, 2));
    assert_eq!(d.labels, vec![1, 0]);
    assert_eq!(d.image(1), &[4, 5, 6]);
    assert_eq!(d.class_names, vec!["a", "b"]);
    assert_eq!(d.class_counts(), vec![1, 1]);
    assert_eq!(d.labels_i64(), vec![1i64, 0]);
}

#[test]
fn wrong_magic_names_file_found_and_expected() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "train-images-idx3-ubyte.gz",
        &gz(&idx3(0x802, 1, 1, 1, &[0])),
    );
    let msg = err_text(read_idx_images(&p).unwrap_err());
    assert_eq!(
        msg,
        format!(
            "{}: wrong magic number 0x00000802, expected 0x00000803 (idx3 unsigned bytes)",
            p.display()
        )
    );
    let p = write(dir.path(), "labels", &idx3(0x803, 1, 1, 1, &[0]));
    let msg = err_text(read_idx_labels(&p).unwrap_err());
    assert!(
        msg.contains("wrong magic number 0x00000803, expected 0x00000801 (idx1 unsigned bytes)"),
        "{msg}"
    );
}

#[test]
fn truncated_images_say_declared_and_actual_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "imgs", &idx3(0x803, 3, 4, 4, &[0; 10]));
    let msg = err_text(read_idx_images(&p).unwrap_err());
    assert_eq!(
        msg,
        format!(
            "{}: truncated: header says 3 images of 4×4 (48 bytes), file has 10",
            p.display()
        )
    );
    let p = write(dir.path(), "imgs.gz", &gz(&idx3(0x803, 3, 4, 4, &[0; 10])));
    let msg = err_text(read_idx_images(&p).unwrap_err());
    assert!(msg.ends_with("file has 10 after decompression"), "{msg}");
    let p = write(dir.path(), "short-header", &0x803u32.to_be_bytes());
    let msg = err_text(read_idx_images(&p).unwrap_err());
    assert!(
        msg.contains("truncated: idx3 unsigned bytes header needs 16 bytes, file has 4"),
        "{msg}"
    );
    let p = write(dir.path(), "labels", &idx1(5, &[0, 1]));
    let msg = err_text(read_idx_labels(&p).unwrap_err());
    assert!(
        msg.contains("truncated: header says 5 labels (5 bytes), file has 2"),
        "{msg}"
    );
}

#[test]
fn trailing_bytes_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "imgs", &idx3(0x803, 1, 2, 2, &[0; 7]));
    let msg = err_text(read_idx_images(&p).unwrap_err());
    assert!(
        msg.contains("3 bytes after the 1 images of 2×2 the header declares"),
        "{msg}"
    );
}

#[test]
fn truncated_gzip_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let whole = gz(&idx3(0x803, 4, 8, 8, &[7; 256]));
    let p = write(dir.path(), "imgs.gz", &whole[..whole.len() / 2]);
    let msg = err_text(read_idx_images(&p).unwrap_err());
    assert!(
        msg.starts_with(&format!("{}: corrupt or truncated gzip data", p.display())),
        "{msg}"
    );
}

#[test]
fn gz_name_without_gzip_or_idx_content_is_not_a_gzip_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "train-labels-idx1-ubyte.gz", b"<html>404</html>");
    let msg = err_text(read_idx_labels(&p).unwrap_err());
    assert_eq!(
        msg,
        format!(
            "{}: not a gzip file: starts with 3c 68 74 6d, expected 1f 8b",
            p.display()
        )
    );
    let p = write(dir.path(), "empty.gz", b"");
    let msg = err_text(read_idx_labels(&p).unwrap_err());
    assert!(
        msg.contains("not a gzip file: starts with nothing (empty file)"),
        "{msg}"
    );
}

#[test]
fn label_out_of_range_names_label_index_and_classes() {
    let dir = tempfile::tempdir().unwrap();
    let imgs = write(dir.path(), "i", &idx3(0x803, 6, 1, 1, &[0; 6]));
    let labs = write(dir.path(), "l", &idx1(6, &[0, 1, 2, 3, 9, 12]));
    let msg = err_text(load_idx_dataset(&imgs, &labs, &FASHION_MNIST_CLASSES).unwrap_err());
    assert_eq!(
        msg,
        format!("{}: label 12 at index 5 is out of range for 10 classes", labs.display())
    );
}

#[test]
fn image_and_label_counts_must_agree() {
    let dir = tempfile::tempdir().unwrap();
    let imgs = write(dir.path(), "i", &idx3(0x803, 3, 1, 1, &[0; 3]));
    let labs = write(dir.path(), "l", &idx1(2, &[0, 1]));
    let msg = err_text(load_idx_dataset(&imgs, &labs, &["a", "b"]).unwrap_err());
    assert_eq!(
        msg,
        format!("{}: has 3 images but {} has 2 labels", imgs.display(), labs.display())
    );
}

fn fake_fashion_mnist(dir: &Path, gzip: bool, skip: Option<&str>) {
    let files = [
        ("train-images-idx3-ubyte", idx3(0x803, 4, 2, 2, &[9; 16])),
        ("train-labels-idx1-ubyte", idx1(4, &[0, 9, 3, 3])),
        ("t10k-images-idx3-ubyte", idx3(0x803, 2, 2, 2, &[1; 8])),
        ("t10k-labels-idx1-ubyte", idx1(2, &[5, 8])),
    ];
    for (name, bytes) in files {
        if Some(name) == skip {
            continue;
        }
        match gzip {
            true => write(dir, &format!("{name}.gz"), &gz(&bytes)),
            false => write(dir, name, &bytes),
        };
    }
}

#[test]
fn fashion_mnist_layout_gzip_or_plain() {
    for gzip in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        fake_fashion_mnist(dir.path(), gzip, None);
        let s = load_fashion_mnist(Some(dir.path())).unwrap();
        assert_eq!((s.train.n, s.test.n, s.train.height, s.test.width), (4, 2, 2, 2));
        assert_eq!(s.train.labels, vec![0, 9, 3, 3]);
        assert_eq!(s.test.class_names[8], "Bag");
        assert_eq!(s.train.class_names[0], "T-shirt/top");
    }
}

#[test]
fn missing_file_lists_expected_names_and_install_hint() {
    let dir = tempfile::tempdir().unwrap();
    fake_fashion_mnist(dir.path(), true, Some("t10k-labels-idx1-ubyte"));
    let msg = err_text(load_fashion_mnist(Some(dir.path())).unwrap_err());
    assert!(
        msg.starts_with(&format!("{}: missing t10k-labels-idx1-ubyte.gz;", dir.path().display())),
        "{msg}"
    );
    for name in [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
    ] {
        assert!(msg.contains(name), "{msg}");
    }
    assert!(msg.contains("apt-get install dataset-fashion-mnist"), "{msg}");
    let msg = err_text(load_fashion_mnist(Some(&dir.path().join("nowhere"))).unwrap_err());
    assert!(
        msg.contains("missing train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz"),
        "{msg}"
    );
}

/// The real data set: required (fails naming `apt-get install dataset-fashion-mnist`) except
/// in a core-only run, where it skips by name.
#[test]
fn real_fashion_mnist() {
    if common::requirements::fashion_mnist_or_skip().is_none() {
        return;
    }
    let s = load_fashion_mnist(None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((s.train.n, s.test.n), (60000, 10000));
    for d in [&s.train, &s.test] {
        assert_eq!((d.channels, d.height, d.width, d.classes), (1, 28, 28, 10));
        assert_eq!(d.images.len(), d.n * 28 * 28);
    }
    assert_eq!(s.train.class_counts(), vec![6000; 10]);
    assert_eq!(s.test.class_counts(), vec![1000; 10]);
    assert_eq!(s.train.class_names[9], "Ankle boot");
}
