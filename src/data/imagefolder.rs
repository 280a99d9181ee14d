//! A folder of images sorted into one subdirectory per class, the layout most small image
//! data sets ship in (and torchvision's `ImageFolder` reads).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use image::imageops::FilterType;

use super::{DataError, Dataset, Split, io_err};

/// File extensions read as images (case-insensitive); other files are ignored.
pub const IMAGE_EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

/// Loads `DIR/train/<class>/*` and `DIR/test/<class>/*`, or, when neither `train` nor `test`
/// exists, `DIR/<class>/*` split 80/20 per class by a hash of the file name (so the split is
/// stable across machines and does not move when other files are added).
///
/// Classes are the sorted subdirectory names (hidden ones skipped) and must be the same in
/// train and test. Images are decoded by content, converted to RGB and resized to
/// `size`×`size` with a triangle (bilinear) filter, so `channels` is always 3.
pub fn load_image_folder(dir: &Path, size: usize) -> Result<Split, DataError> {
    let layout = |path: &Path, detail: String| DataError::Layout {
        path: path.to_path_buf(),
        detail,
    };
    if size == 0 {
        return Err(layout(dir, "image size must be at least 1".into()));
    }
    let (train_dir, test_dir) = (dir.join("train"), dir.join("test"));
    let (train_items, test_items, classes) = match (train_dir.is_dir(), test_dir.is_dir()) {
        (true, true) => {
            let classes = list_classes(&train_dir)?;
            let test_classes = list_classes(&test_dir)?;
            if classes != test_classes {
                return Err(layout(dir, class_difference(&classes, &test_classes)));
            }
            let (mut train, mut test) = (Vec::new(), Vec::new());
            for (label, class) in classes.iter().enumerate() {
                let files = list_images(&train_dir.join(class))?;
                if files.is_empty() {
                    return Err(no_images(&train_dir.join(class)));
                }
                train.extend(files.into_iter().map(|f| (f, label as u16)));
                test.extend(
                    list_images(&test_dir.join(class))?
                        .into_iter()
                        .map(|f| (f, label as u16)),
                );
            }
            (train, test, classes)
        }
        (true, false) | (false, true) => {
            return Err(layout(
                dir,
                "has only one of train/ and test/; expected both or neither".into(),
            ));
        }
        (false, false) => {
            let classes = list_classes(dir)?;
            let (mut train, mut test) = (Vec::new(), Vec::new());
            for (label, class) in classes.iter().enumerate() {
                let files = list_images(&dir.join(class))?;
                if files.is_empty() {
                    return Err(no_images(&dir.join(class)));
                }
                let (tr, te) = hash_split(files);
                train.extend(tr.into_iter().map(|f| (f, label as u16)));
                test.extend(te.into_iter().map(|f| (f, label as u16)));
            }
            (train, test, classes)
        }
    };
    if classes.len() > u16::MAX as usize {
        return Err(layout(
            dir,
            format!("{} classes, at most {} supported", classes.len(), u16::MAX),
        ));
    }
    Ok(Split {
        train: decode_all(&train_items, size, &classes)?,
        test: decode_all(&test_items, size, &classes)?,
    })
}

fn no_images(dir: &Path) -> DataError {
    DataError::Layout {
        path: dir.to_path_buf(),
        detail: "class directory has no .jpg, .jpeg or .png files".into(),
    }
}

fn class_difference(train: &[String], test: &[String]) -> String {
    let (a, b): (BTreeSet<_>, BTreeSet<_>) = (train.iter().collect(), test.iter().collect());
    let only = |x: &BTreeSet<&String>, y: &BTreeSet<&String>| {
        let v: Vec<_> = x.difference(y).map(|s| s.as_str()).collect();
        if v.is_empty() { "none".to_string() } else { v.join(", ") }
    };
    format!(
        "train/ and test/ have different classes: only in train/: {}; only in test/: {}",
        only(&a, &b),
        only(&b, &a)
    )
}

/// Sorted names of the non-hidden subdirectories of `dir`; at least one.
fn list_classes(dir: &Path) -> Result<Vec<String>, DataError> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') && entry.path().is_dir() {
            names.push(name);
        }
    }
    if names.is_empty() {
        return Err(DataError::Layout {
            path: dir.to_path_buf(),
            detail: "no class subdirectories".into(),
        });
    }
    names.sort();
    Ok(names)
}

/// Image files directly in `dir`, sorted by name.
fn list_images(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let path = entry.map_err(io_err(dir))?.path();
        let is_image = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)));
        if is_image && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// FNV-1a: tiny, stable across platforms and Rust versions (unlike `DefaultHasher`).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Splits one class's files into (train, test): the round(n/5) files with the smallest name
/// hash go to test. Both halves come back sorted by name.
fn hash_split(mut files: Vec<PathBuf>) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let key = |p: &PathBuf| p.file_name().map(|n| n.as_encoded_bytes().to_vec()).unwrap_or_default();
    files.sort_by_cached_key(|p| (fnv1a(&key(p)), key(p)));
    let n_test = (files.len() + 2) / 5; // round(n / 5): 20% held out
    let mut train = files.split_off(n_test);
    let mut test = files;
    train.sort();
    test.sort();
    (train, test)
}

/// Decodes one file to `size`×`size` RGB, laid out C×H×W.
fn decode(path: &Path, size: usize) -> Result<Vec<u8>, DataError> {
    let bad = |detail: String| DataError::Decode {
        path: path.to_path_buf(),
        detail,
    };
    let img = image::ImageReader::open(path)
        .map_err(io_err(path))?
        .with_guessed_format()
        .map_err(io_err(path))?
        .decode()
        .map_err(|e| bad(e.to_string()))?;
    let side = u32::try_from(size).map_err(|_| bad(format!("size {size} is too large")))?;
    let rgb = image::imageops::resize(&img.to_rgb8(), side, side, FilterType::Triangle);
    let plane = size * size;
    let mut chw = vec![0u8; 3 * plane];
    for (i, px) in rgb.pixels().enumerate() {
        for c in 0..3 {
            chw[c * plane + i] = px.0[c];
        }
    }
    Ok(chw)
}

/// Decodes every file on a few threads (decoding dominates load time), keeping file order.
fn decode_all(items: &[(PathBuf, u16)], size: usize, classes: &[String]) -> Result<Dataset, DataError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let chunk = items.len().div_ceil(threads).max(1);
    let parts: Vec<Result<Vec<u8>, DataError>> = std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    let mut out = Vec::with_capacity(part.len() * 3 * size * size);
                    for (path, _) in part {
                        out.extend(decode(path, size)?);
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("image decoding thread panicked"))
            .collect()
    });
    let mut images = Vec::with_capacity(items.len() * 3 * size * size);
    for part in parts {
        images.extend(part?);
    }
    Ok(Dataset {
        images,
        labels: items.iter().map(|(_, l)| *l).collect(),
        n: items.len(),
        channels: 3,
        height: size,
        width: size,
        classes: classes.len(),
        class_names: classes.to_vec(),
    })
}
