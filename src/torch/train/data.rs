//! The input pipeline, on the training device, in batches.
//!
//! A split is uploaded once as a `u8` tensor (Fashion-MNIST's 60,000 images are 47 MB);
//! each batch is then a few whole-batch kernels: `index_select` of the batch's images,
//! conversion to float, bilinear resize to the model's input (`upsample_bilinear2d`),
//! normalisation, random crop (zero padding after normalisation, i.e. mean-valued, then a
//! per-image offset taken with two `gather`s), random horizontal flip (`where`), and grey
//! expanded to the model's channels. The CPU only supplies, once per epoch, the order of
//! the images and each position's crop offsets and flip, from a generator seeded with
//! (seed, epoch): so the augmentation is reproducible and resumable without saving any
//! generator state, and the GPU never waits for the CPU.

use tch::{Device, Kind, TchError, Tensor};

use crate::data::Dataset;

/// SplitMix64, as the synthetic data set uses: small, fast, the same everywhere.
#[derive(Clone, Debug)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (n > 0), without modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }
}

/// A seed for stream `what` of (seed, index): independent generators per epoch and step.
pub fn derive_seed(seed: u64, what: u64, index: u64) -> u64 {
    let mut g = SplitMix64(seed ^ what.wrapping_mul(0xa076_1d64_78bd_642f));
    let a = g.next_u64();
    SplitMix64(a ^ index.wrapping_mul(0xe703_7ed1_a0b4_28db)).next_u64()
}

pub const STREAM_ORDER: u64 = 1;
pub const STREAM_DROPOUT: u64 = 2;
pub const STREAM_INIT: u64 = 3;

/// Per-channel mean and standard deviation of a split's pixels, in 0..=1 units.
pub fn channel_stats(d: &Dataset) -> (Vec<f64>, Vec<f64>) {
    let plane = d.height * d.width;
    let mut sum = vec![0u64; d.channels];
    let mut sq = vec![0u64; d.channels];
    for img in d.images.chunks_exact(d.image_len().max(1)) {
        for (c, p) in img.chunks_exact(plane.max(1)).enumerate() {
            let (mut s, mut q) = (0u64, 0u64);
            for &x in p {
                s += u64::from(x);
                q += u64::from(x) * u64::from(x);
            }
            sum[c] += s;
            sq[c] += q;
        }
    }
    let n = (d.n * plane).max(1) as f64;
    let mean: Vec<f64> = sum.iter().map(|&s| s as f64 / n / 255.0).collect();
    let std = sq
        .iter()
        .zip(&mean)
        .map(|(&q, &m)| {
            let var = q as f64 / n / (255.0 * 255.0) - m * m;
            // A constant channel (synthetic corner cases) must not divide by zero.
            var.max(0.0).sqrt().max(1e-3)
        })
        .collect();
    (mean, std)
}

/// FNV-1a, 64 bits: fingerprints of data, spec text and checkpoint files.
#[derive(Clone, Copy, Debug)]
pub struct Fnv64(pub u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv64 {
    pub fn update(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }

    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }

    pub fn of(bytes: &[u8]) -> String {
        let mut h = Fnv64::default();
        h.update(bytes);
        h.hex()
    }
}

/// A fingerprint of a split: shape, classes, pixels and labels.
pub fn fingerprint(d: &Dataset) -> String {
    let mut h = Fnv64::default();
    for x in [d.n, d.channels, d.height, d.width, d.classes] {
        h.update(&(x as u64).to_le_bytes());
    }
    h.update(&d.images);
    for l in &d.labels {
        h.update(&l.to_le_bytes());
    }
    h.hex()
}

/// One split on the device.
#[derive(Debug)]
pub struct DeviceSplit {
    /// `n × c × h × w`, u8.
    pub images: Tensor,
    /// `n`, i64.
    pub labels: Tensor,
    pub n: usize,
}

impl DeviceSplit {
    pub fn upload(d: &Dataset, device: Device) -> Result<DeviceSplit, TchError> {
        let shape = [d.n as i64, d.channels as i64, d.height as i64, d.width as i64];
        let images = Tensor::f_from_slice(&d.images)?.f_view(shape)?.f_to_device(device)?;
        let labels = Tensor::f_from_slice(&d.labels_i64())?.f_to_device(device)?;
        Ok(DeviceSplit { images, labels, n: d.n })
    }
}

/// The data's channels cannot feed the model's input.
#[derive(Debug, thiserror::Error)]
#[error("the data has {data} channels but the model takes {model}; only grey images are expanded")]
pub struct ChannelMismatch {
    pub data: i64,
    pub model: i64,
}

/// How batches are made: source and target geometry, normalisation, crop padding.
#[derive(Debug)]
pub struct Pipeline {
    /// Model input, height and width.
    pub out_hw: (i64, i64),
    /// Model input channels (a grey source is expanded to them).
    pub out_channels: i64,
    pub src_channels: i64,
    /// Padding (at model resolution) of the random crop; 0 switches cropping off.
    pub crop_pad: i64,
    /// `1 / (255·std)` and `mean / std`, shaped 1×C×1×1, on the device.
    scale: Tensor,
    shift: Tensor,
    channels_last: bool,
}

/// Per-epoch random choices, on the device, indexed by position in the epoch.
#[derive(Debug)]
pub struct EpochPlan {
    /// Image index of each position.
    pub order: Tensor,
    /// Crop offsets (rows, columns) in 0..=2·pad, and flips.
    pub dy: Tensor,
    pub dx: Tensor,
    pub flip: Tensor,
}

impl Pipeline {
    pub fn new(
        src_channels: usize,
        mean: &[f64],
        std: &[f64],
        out_hw: (i64, i64),
        out_channels: i64,
        device: Device,
        channels_last: bool,
    ) -> Result<Pipeline, ChannelMismatch> {
        let c = src_channels as i64;
        if c != out_channels && c != 1 {
            return Err(ChannelMismatch {
                data: c,
                model: out_channels,
            });
        }
        let scale: Vec<f32> = std.iter().map(|s| (1.0 / (255.0 * s)) as f32).collect();
        let shift: Vec<f32> = mean.iter().zip(std).map(|(m, s)| (m / s) as f32).collect();
        let t = |v: &[f32]| Tensor::from_slice(v).view([1, c, 1, 1]).to_device(device);
        let crop_pad = out_hw.0.min(out_hw.1) / 8;
        Ok(Pipeline {
            out_hw,
            out_channels,
            src_channels: c,
            crop_pad,
            scale: t(&scale),
            shift: t(&shift),
            channels_last,
        })
    }

    /// The shuffled order and augmentation of epoch `epoch` for `n` images.
    pub fn plan(&self, n: usize, seed: u64, epoch: u64, device: Device) -> Result<EpochPlan, TchError> {
        let mut rng = SplitMix64(derive_seed(seed, STREAM_ORDER, epoch));
        let mut order: Vec<i64> = (0..n as i64).collect();
        for i in (1..n).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            order.swap(i, j);
        }
        let span = 2 * self.crop_pad as u64 + 1;
        let mut dy = Vec::with_capacity(n);
        let mut dx = Vec::with_capacity(n);
        let mut flip = Vec::with_capacity(n);
        for _ in 0..n {
            dy.push(rng.below(span) as i64);
            dx.push(rng.below(span) as i64);
            flip.push(rng.below(2) == 1);
        }
        let up = |v: &[i64]| Tensor::f_from_slice(v)?.f_to_device(device);
        Ok(EpochPlan {
            order: up(&order)?,
            dy: up(&dy)?,
            dx: up(&dx)?,
            flip: Tensor::f_from_slice(&flip)?.f_to_device(device)?,
        })
    }

    /// Images `idx` of `split`, resized and normalised, no augmentation.
    fn prepare(&self, split: &DeviceSplit, idx: &Tensor) -> Result<Tensor, TchError> {
        let mut x = split.images.f_index_select(0, idx)?.f_to_kind(Kind::Float)?;
        let size = x.size();
        if (size[2], size[3]) != self.out_hw {
            x = x.f_upsample_bilinear2d([self.out_hw.0, self.out_hw.1], false, None, None)?;
        }
        x.f_mul(&self.scale)?.f_sub(&self.shift)
    }

    fn finish(&self, x: Tensor) -> Result<Tensor, TchError> {
        let size = x.size();
        let x = if self.src_channels != self.out_channels {
            x.f_expand([size[0], self.out_channels, size[2], size[3]], false)?
        } else {
            x
        };
        if self.channels_last {
            x.f_permute([0, 2, 3, 1])?.f_contiguous()?.f_permute([0, 3, 1, 2])
        } else {
            x.f_contiguous()
        }
    }

    /// The training batch at positions `start..start+len` of `plan`: images and labels.
    pub fn train_batch(
        &self,
        split: &DeviceSplit,
        plan: &EpochPlan,
        start: i64,
        len: i64,
    ) -> Result<(Tensor, Tensor), TchError> {
        let idx = plan.order.f_narrow(0, start, len)?;
        let labels = split.labels.f_index_select(0, &idx)?;
        let mut x = self.prepare(split, &idx)?;
        let (h, w) = self.out_hw;
        let p = self.crop_pad;
        let dev = x.device();
        if p > 0 {
            let c = x.size()[1];
            let padded = x.f_constant_pad_nd([p, p, p, p])?;
            let rows = plan
                .dy
                .f_narrow(0, start, len)?
                .f_view([len, 1])?
                .f_add(&Tensor::f_arange(h, (Kind::Int64, dev))?)?;
            let rows = rows.f_view([len, 1, h, 1])?.f_expand([len, c, h, w + 2 * p], false)?;
            let x1 = padded.f_gather(2, &rows, false)?;
            let cols = plan
                .dx
                .f_narrow(0, start, len)?
                .f_view([len, 1])?
                .f_add(&Tensor::f_arange(w, (Kind::Int64, dev))?)?;
            let cols = cols.f_view([len, 1, 1, w])?.f_expand([len, c, h, w], false)?;
            x = x1.f_gather(3, &cols, false)?;
        }
        let flip = plan.flip.f_narrow(0, start, len)?.f_view([len, 1, 1, 1])?;
        x = x.f_flip([3])?.f_where_self(&flip, &x)?;
        Ok((self.finish(x)?, labels))
    }

    /// Test images `start..start+len` in order, no augmentation.
    pub fn eval_batch(&self, split: &DeviceSplit, start: i64, len: i64) -> Result<(Tensor, Tensor), TchError> {
        let idx = Tensor::f_arange_start(start, start + len, (Kind::Int64, split.images.device()))?;
        let labels = split.labels.f_narrow(0, start, len)?;
        Ok((self.finish(self.prepare(split, &idx)?)?, labels))
    }
}
