//! Fashion-MNIST-shaped IDX files (gzip) for tests that train: a few images per split, each
//! class a bright band at its own rows, so that a few steps can learn it.

use std::io::Write;
use std::path::Path;

/// Writes Fashion-MNIST-shaped IDX files (gzip) with `n` images per split.
pub fn write_idx(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let gz = |name: &str, bytes: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(
            std::fs::File::create(dir.join(name)).unwrap(),
            flate2::Compression::fast(),
        );
        e.write_all(bytes).unwrap();
        e.finish().unwrap();
    };
    for (img, lab) in [
        ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
        ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    ] {
        let mut b = vec![0, 0, 8, 3];
        for d in [n as u32, 28, 28] {
            b.extend_from_slice(&d.to_be_bytes());
        }
        for i in 0..n {
            let label = (i % 10) as u8;
            b.extend((0..784).map(|p| {
                if (p / 28) as u8 / 3 == label {
                    200
                } else {
                    (p % 7) as u8
                }
            }));
        }
        gz(img, &b);
        let mut l = vec![0, 0, 8, 1];
        l.extend_from_slice(&(n as u32).to_be_bytes());
        l.extend((0..n).map(|i| (i % 10) as u8));
        gz(lab, &l);
    }
}
