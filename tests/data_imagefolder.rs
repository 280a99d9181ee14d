//! Image-folder loading on small PNG/JPEG files generated into a temp dir.

use std::path::Path;

use archcheck::data::load_image_folder;
use image::{GrayImage, Luma, Rgb, RgbImage};

fn solid(path: &Path, w: u32, h: u32, rgb: [u8; 3]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    RgbImage::from_pixel(w, h, Rgb(rgb)).save(path).unwrap();
}

#[test]
fn train_test_layout_decodes_resizes_and_labels_by_sorted_class() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    solid(&d.join("train/dog/b.png"), 10, 6, [0, 0, 255]);
    solid(&d.join("train/dog/a.jpg"), 8, 8, [0, 0, 255]);
    solid(&d.join("train/cat/x.PNG"), 3, 5, [255, 0, 0]);
    solid(&d.join("test/cat/y.jpeg"), 16, 16, [255, 0, 0]);
    solid(&d.join("test/dog/z.png"), 4, 4, [0, 0, 255]);
    std::fs::write(d.join("train/cat/notes.txt"), "not an image").unwrap();
    GrayImage::from_pixel(5, 5, Luma([200]))
        .save(d.join("test/dog/gray.png"))
        .unwrap();

    let s = load_image_folder(d, 4).unwrap();
    assert_eq!(s.train.class_names, vec!["cat", "dog"]);
    assert_eq!((s.train.n, s.test.n), (3, 3));
    assert_eq!(
        (s.train.channels, s.train.height, s.train.width, s.train.classes),
        (3, 4, 4, 2)
    );
    // class order, then file name order: cat/x, dog/a, dog/b
    assert_eq!(s.train.labels, vec![0, 1, 1]);
    assert_eq!(s.test.labels, vec![0, 1, 1]);
    let red = s.train.image(0);
    assert!(
        red[..16].iter().all(|&v| v == 255) && red[16..].iter().all(|&v| v == 0),
        "{red:?}"
    );
    // jpeg is lossy: near-blue, C×H×W so the last plane is blue
    let blue = s.train.image(1);
    assert!(
        blue[..32].iter().all(|&v| v < 20) && blue[32..].iter().all(|&v| v > 235),
        "{blue:?}"
    );
    // grayscale becomes three equal planes (test/dog/gray.png sorts before z.png)
    assert!(s.test.image(1).iter().all(|&v| v == 200));
}

#[test]
fn flat_layout_splits_80_20_deterministically() {
    let dir = tempfile::tempdir().unwrap();
    for class in ["a", "b"] {
        for i in 0..10 {
            solid(&dir.path().join(format!("{class}/img{i:02}.png")), 2, 2, [i * 20, 0, 0]);
        }
    }
    let s = load_image_folder(dir.path(), 2).unwrap();
    assert_eq!((s.train.n, s.test.n), (16, 4));
    assert_eq!(s.train.class_counts(), vec![8, 8]);
    assert_eq!(s.test.class_counts(), vec![2, 2]);
    assert_eq!(load_image_folder(dir.path(), 2).unwrap(), s);
    // no image is in both halves (each file has a distinct red value within its class)
    for k in 0..2u16 {
        let reds = |d: &archcheck::data::Dataset| -> Vec<u8> {
            (0..d.n).filter(|&i| d.labels[i] == k).map(|i| d.image(i)[0]).collect()
        };
        let (tr, te) = (reds(&s.train), reds(&s.test));
        assert!(te.iter().all(|v| !tr.contains(v)), "{tr:?} {te:?}");
    }
}

#[test]
fn differing_classes_are_named() {
    let dir = tempfile::tempdir().unwrap();
    solid(&dir.path().join("train/cat/a.png"), 2, 2, [0; 3]);
    solid(&dir.path().join("train/dog/a.png"), 2, 2, [0; 3]);
    solid(&dir.path().join("test/cat/a.png"), 2, 2, [0; 3]);
    solid(&dir.path().join("test/emu/a.png"), 2, 2, [0; 3]);
    let msg = load_image_folder(dir.path(), 2).unwrap_err().to_string();
    assert_eq!(
        msg,
        format!(
            "{}: train/ and test/ have different classes: only in train/: dog; only in test/: emu",
            dir.path().display()
        )
    );
}

#[test]
fn undecodable_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    solid(&dir.path().join("cat/good.png"), 2, 2, [0; 3]);
    let bad = dir.path().join("cat/bad.png");
    std::fs::write(&bad, b"\x89PNG\r\n\x1a\n broken").unwrap();
    let msg = load_image_folder(dir.path(), 2).unwrap_err().to_string();
    assert!(
        msg.starts_with(&format!("{}: cannot decode image", bad.display())),
        "{msg}"
    );
}

#[test]
fn layout_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let msg = load_image_folder(d, 8).unwrap_err().to_string();
    assert_eq!(msg, format!("{}: no class subdirectories", d.display()));

    std::fs::create_dir_all(d.join("cat")).unwrap();
    let msg = load_image_folder(d, 8).unwrap_err().to_string();
    assert!(
        msg.ends_with("cat: class directory has no .jpg, .jpeg or .png files"),
        "{msg}"
    );

    solid(&d.join("train/cat/a.png"), 2, 2, [0; 3]);
    let msg = load_image_folder(d, 8).unwrap_err().to_string();
    assert!(msg.contains("has only one of train/ and test/"), "{msg}");

    let msg = load_image_folder(&d.join("absent"), 8).unwrap_err().to_string();
    assert!(msg.starts_with(&d.join("absent").display().to_string()), "{msg}");

    let msg = load_image_folder(d, 0).unwrap_err().to_string();
    assert!(msg.ends_with("image size must be at least 1"), "{msg}");
}
