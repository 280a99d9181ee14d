//! IDX files (the MNIST / Fashion-MNIST format): a big-endian magic number whose low bytes
//! give element type and rank, then one big-endian `u32` per dimension, then the data.
//!
//! Gzip is detected by its magic bytes rather than by extension, because mirrors and
//! distro packages disagree on whether the files are stored compressed.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use super::{DataError, Dataset, Split};

/// Where `apt-get install dataset-fashion-mnist` puts the files.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist/";

/// Fashion-MNIST class names, indexed by label.
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Images of one IDX3 file, N×H×W row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxImages {
    pub n: usize,
    pub height: usize,
    pub width: usize,
    pub pixels: Vec<u8>,
}

/// The largest IDX file read or decompressed: Fashion-MNIST's largest is 47 MB; a bound keeps
/// a gzip bomb or `/dev/zero` from eating memory.
pub const MAX_IDX_BYTES: u64 = 1 << 30;

/// The file contents, decompressed when they start with the gzip magic; `true` if they did.
fn read_maybe_gz(path: &Path) -> Result<(Vec<u8>, bool), DataError> {
    read_maybe_gz_within(path, MAX_IDX_BYTES)
}

fn read_maybe_gz_within(path: &Path, max_bytes: u64) -> Result<(Vec<u8>, bool), DataError> {
    let raw = crate::source::read_bounded(path, "the data file", max_bytes).map_err(|source| DataError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok((raw, false));
    }
    let mut out = Vec::with_capacity(raw.len() * 2);
    let read = GzDecoder::new(&raw[..])
        .take(max_bytes + 1)
        .read_to_end(&mut out)
        .map_err(|e| DataError::BadGzip {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
    if read as u64 > max_bytes {
        return Err(DataError::TooLarge {
            path: path.to_path_buf(),
            limit: max_bytes,
        });
    }
    Ok((out, true))
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Reads the file and checks its magic and header length; returns (data, was gzip).
fn read_header(path: &Path, magic: u32, what: &'static str, header_len: usize) -> Result<(Vec<u8>, bool), DataError> {
    let (data, gz) = read_maybe_gz(path)?;
    let found = (data.len() >= 4).then(|| be_u32(&data));
    if found != Some(magic) {
        let named_gz = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"));
        if named_gz && !gz {
            let found = match data.len() {
                0 => "nothing (empty file)".to_string(),
                _ => data
                    .iter()
                    .take(4)
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            };
            return Err(DataError::NotGzip {
                path: path.to_path_buf(),
                found,
            });
        }
        if let Some(found) = found {
            return Err(DataError::WrongMagic {
                path: path.to_path_buf(),
                found,
                expected: magic,
                what,
            });
        }
    }
    if data.len() < header_len {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            detail: format!("{what} header needs {header_len} bytes, file has {}", data.len()),
        });
    }
    Ok((data, gz))
}

/// Checks that exactly `need` bytes follow the header.
fn check_len(
    path: &Path,
    data: &[u8],
    header: usize,
    need: usize,
    gz: bool,
    declared: String,
) -> Result<(), DataError> {
    let have = data.len() - header;
    let after = if gz { " after decompression" } else { "" };
    if have < need {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            detail: format!("header says {declared} ({need} bytes), file has {have}{after}"),
        });
    }
    if have > need {
        return Err(DataError::Format {
            path: path.to_path_buf(),
            detail: format!("{} bytes after the {declared} the header declares", have - need),
        });
    }
    Ok(())
}

/// Reads an IDX3 unsigned-byte image file (magic 0x00000803), gzip or plain.
pub fn read_idx_images(path: &Path) -> Result<IdxImages, DataError> {
    let (data, gz) = read_header(path, IMAGES_MAGIC, "idx3 unsigned bytes", 16)?;
    let [n, height, width] = [4, 8, 12].map(|o| be_u32(&data[o..]) as usize);
    let declared = format!("{n} images of {height}×{width}");
    let need = n
        .checked_mul(height)
        .and_then(|v| v.checked_mul(width))
        .ok_or_else(|| DataError::Format {
            path: path.to_path_buf(),
            detail: format!("header dimensions {declared} overflow"),
        })?;
    check_len(path, &data, 16, need, gz, declared)?;
    let mut pixels = data;
    pixels.drain(..16);
    Ok(IdxImages {
        n,
        height,
        width,
        pixels,
    })
}

/// Reads an IDX1 unsigned-byte label file (magic 0x00000801), gzip or plain.
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>, DataError> {
    let (mut data, gz) = read_header(path, LABELS_MAGIC, "idx1 unsigned bytes", 8)?;
    let n = be_u32(&data[4..]) as usize;
    check_len(path, &data, 8, n, gz, format!("{n} labels"))?;
    data.drain(..8);
    Ok(data)
}

/// Pairs an IDX image file with its label file, checking counts and label range.
pub fn load_idx_dataset(images: &Path, labels: &Path, class_names: &[&str]) -> Result<Dataset, DataError> {
    let img = read_idx_images(images)?;
    let lab = read_idx_labels(labels)?;
    if img.n != lab.len() {
        return Err(DataError::CountMismatch {
            images_path: images.to_path_buf(),
            images: img.n,
            labels_path: labels.to_path_buf(),
            labels: lab.len(),
        });
    }
    let classes = class_names.len();
    if let Some((index, &label)) = lab.iter().enumerate().find(|(_, l)| **l as usize >= classes) {
        return Err(DataError::LabelOutOfRange {
            path: labels.to_path_buf(),
            label: label as usize,
            index,
            classes,
        });
    }
    Ok(Dataset {
        images: img.pixels,
        labels: lab.into_iter().map(u16::from).collect(),
        n: img.n,
        channels: 1,
        height: img.height,
        width: img.width,
        classes,
        class_names: class_names.iter().map(|s| s.to_string()).collect(),
    })
}

/// Loads Fashion-MNIST from `dir` (default [`FASHION_MNIST_DIR`]): 60000 train and 10000
/// test images, 1×28×28, 10 classes. Each file may be gzipped (`.gz`) or plain (no `.gz`).
pub fn load_fashion_mnist(dir: Option<&Path>) -> Result<Split, DataError> {
    let dir = dir.unwrap_or(Path::new(FASHION_MNIST_DIR));
    let stems = [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ];
    let mut found: Vec<PathBuf> = Vec::new();
    let mut missing = Vec::new();
    for stem in stems {
        let gz = dir.join(format!("{stem}.gz"));
        let plain = dir.join(stem);
        match (gz.is_file(), plain.is_file()) {
            (true, _) => found.push(gz),
            (false, true) => found.push(plain),
            (false, false) => missing.push(format!("{stem}.gz")),
        }
    }
    if !missing.is_empty() {
        return Err(DataError::MissingFiles {
            dir: dir.to_path_buf(),
            missing,
            expected: stems.iter().map(|s| format!("{s}.gz")).collect(),
        });
    }
    let train = load_idx_dataset(&found[0], &found[1], &FASHION_MNIST_CLASSES)?;
    let test = load_idx_dataset(&found[2], &found[3], &FASHION_MNIST_CLASSES)?;
    if (test.height, test.width) != (train.height, train.width) {
        return Err(DataError::Format {
            path: found[2].clone(),
            detail: format!(
                "images are {}×{}, expected {}×{} like {}",
                test.height,
                test.width,
                train.height,
                train.width,
                found[0].display()
            ),
        });
    }
    Ok(Split { train, test })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_gzip_bomb_and_a_device_stop_at_the_limit() {
        let dir = std::env::temp_dir().join(format!("archcheck-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bomb = dir.join("bomb.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![0u8; 1 << 20]).unwrap();
        std::fs::write(&bomb, gz.finish().unwrap()).unwrap();
        // 1 MiB of zeros compresses to about 1 KiB: the limit applies to what it inflates to.
        assert!(std::fs::metadata(&bomb).unwrap().len() < 4096);
        assert!(matches!(
            read_maybe_gz_within(&bomb, 1 << 16),
            Err(DataError::TooLarge { limit: 65536, .. })
        ));
        assert_eq!(read_maybe_gz_within(&bomb, 1 << 20).unwrap().0.len(), 1 << 20);
        assert!(matches!(
            read_maybe_gz_within(Path::new("/dev/zero"), 1 << 16),
            Err(DataError::Read { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
