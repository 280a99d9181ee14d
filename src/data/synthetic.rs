//! Generated images that a tiny model can learn in a few steps, so training code can be
//! exercised anywhere, with no files, in seconds.
//!
//! Each class has a fixed pattern: a bright block at its own cell of a grid and a
//! class-specific brightness (linearly separable, so even a linear model's loss drops at
//! once) plus stripes at a class-specific angle and frequency (which convolutions pick up),
//! then per-image random stripe phase and pixel noise. Only the noise, phases and label order depend on the seed.

use std::f64::consts::PI;

use super::{Dataset, Split};

/// SplitMix64: a few lines, good enough statistics, identical output on every platform.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n > 0); the modulo bias is irrelevant at these sizes.
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Generates `n_train` + `n_test` images of `channels`×`size`×`size` in `classes` balanced
/// classes, named `class0`, `class1`, …; labels come in seeded random order. The same
/// arguments always give the same split.
///
/// Panics if `classes`, `channels` or `size` is 0, or `classes` exceeds 65536.
pub fn synthetic(n_train: usize, n_test: usize, classes: usize, channels: usize, size: usize, seed: u64) -> Split {
    assert!(
        (1..=1 << 16).contains(&classes),
        "synthetic: classes must be in 1..=65536, got {classes}"
    );
    assert!(channels >= 1, "synthetic: channels must be at least 1");
    assert!(size >= 1, "synthetic: size must be at least 1");
    let mut rng = SplitMix64(seed);
    let train_seed = rng.next_u64();
    let test_seed = rng.next_u64();
    let names: Vec<String> = (0..classes).map(|k| format!("class{k}")).collect();
    let make = |n, seed| generate(n, classes, channels, size, &names, &mut SplitMix64(seed));
    Split {
        train: make(n_train, train_seed),
        test: make(n_test, test_seed),
    }
}

fn generate(n: usize, classes: usize, channels: usize, size: usize, names: &[String], rng: &mut SplitMix64) -> Dataset {
    // Balanced labels, then a Fisher–Yates shuffle so unshuffled batches still mix classes.
    let mut labels: Vec<u16> = (0..n).map(|i| (i % classes) as u16).collect();
    for i in (1..n).rev() {
        labels.swap(i, rng.below(i + 1));
    }
    let grid = (classes as f64).sqrt().ceil() as usize;
    // Cell `i` of the grid spans `cell(i)..cell_end(i)`, at least one pixel even when
    // the image is smaller than the grid (neighbouring blobs then overlap).
    let cell = |i: usize| i * size / grid;
    let cell_end = |i: usize| cell(i + 1).max(cell(i) + 1);
    let mut images = Vec::with_capacity(n * channels * size * size);
    for &label in &labels {
        let k = label as usize;
        let (row, col) = (k / grid, k % grid);
        // Brightness rises with the class: the only cue left in images of a pixel or two.
        let base = 30.0 + 80.0 * k as f64 / (classes - 1).max(1) as f64;
        let angle = PI * k as f64 / classes as f64;
        let (dx, dy) = (angle.cos(), angle.sin());
        let freq = 2.0 * PI * (1.5 + (k % 3) as f64) / size as f64;
        let phase = rng.next_f64() * 2.0 * PI;
        for c in 0..channels {
            let channel_phase = phase + c as f64 * PI / 3.0;
            for y in 0..size {
                let in_rows = (cell(row)..cell_end(row)).contains(&y);
                for x in 0..size {
                    let t = freq * (x as f64 * dx + y as f64 * dy) + channel_phase;
                    let mut v = base + 20.0 * (1.0 + t.sin());
                    if in_rows && (cell(col)..cell_end(col)).contains(&x) {
                        v += 100.0;
                    }
                    v += (rng.next_f64() - 0.5) * 40.0;
                    images.push(v.round().clamp(0.0, 255.0) as u8);
                }
            }
        }
    }
    Dataset {
        images,
        labels,
        n,
        channels,
        height: size,
        width: size,
        classes,
        class_names: names.to_vec(),
    }
}
