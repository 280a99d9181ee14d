//! Out of memory: recognising libtorch's message, and a report of what was in use and
//! what batch would fit.

use tch::Device;

use crate::ir::Graph;
use crate::torch::runtime;

use super::error::{TrainError, first_line};

/// What is known when memory ran out, and what would fit.
#[derive(Debug, Clone)]
pub struct OomReport {
    pub device: String,
    pub batch: usize,
    pub input: (i64, i64),
    /// derive's estimate of the activation memory autograd keeps at this batch (fp32).
    pub predicted_training_bytes: i64,
    /// Memory the device had in use at its peak (CUDA), weights and optimizer included.
    pub peak_bytes: u64,
    /// Memory taken by weights, optimizer state and data before the first step.
    pub static_bytes: u64,
    /// The device's capacity as libtorch's message states it.
    pub capacity_bytes: Option<u64>,
    pub suggested_batch: Option<usize>,
    /// libtorch's message, first line.
    pub message: String,
}

fn gib(b: f64) -> String {
    format!("{:.2} GiB", b / (1u64 << 30) as f64)
}

impl std::fmt::Display for OomReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "out of memory on {} at batch {} ({}×{}): {}",
            self.device, self.batch, self.input.0, self.input.1, self.message
        )?;
        writeln!(
            f,
            "  derive predicts {} of activations kept for backward at batch {} (fp32; bf16 autocast keeps less)",
            gib(self.predicted_training_bytes as f64),
            self.batch
        )?;
        if self.peak_bytes > 0 {
            writeln!(
                f,
                "  measured: {} at the peak, {} of it weights, optimizer state and data",
                gib(self.peak_bytes as f64),
                gib(self.static_bytes as f64)
            )?;
        }
        if let Some(c) = self.capacity_bytes {
            writeln!(f, "  device capacity: {}", gib(c as f64))?;
        }
        match self.suggested_batch {
            Some(b) => write!(f, "  a batch of about {b} should fit: try --batch {b}"),
            None => write!(f, "  try a smaller --batch or --input"),
        }
    }
}

/// Whether a libtorch message reports exhausted memory.
pub fn is_oom(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("out of memory")
        || m.contains("not enough memory")
        || m.contains("can't allocate memory")
        || m.contains("cannot allocate memory")
}

/// Parses "... total capacity of 79.11 GiB ..." from a CUDA OOM message.
fn parse_capacity(message: &str) -> Option<u64> {
    let i = message.find("total capacity of ")? + "total capacity of ".len();
    let rest = &message[i..];
    let mut it = rest.split_whitespace();
    let num: f64 = it.next()?.parse().ok()?;
    let unit = it.next()?;
    let mult = match unit.trim_end_matches(['.', ',']) {
        "GiB" => (1u64 << 30) as f64,
        "MiB" => (1u64 << 20) as f64,
        "KiB" => 1024.0,
        "TiB" => (1u64 << 40) as f64,
        _ => return None,
    };
    Some((num * mult) as u64)
}

/// The OOM report for `batch`: the suggestion scales the batch by the memory left for
/// activations, measured (peak) and predicted (derive), taking the smaller.
pub fn oom_report(graph: &Graph, device: Device, batch: usize, message: &str, static_bytes: u64) -> OomReport {
    let predicted = crate::count::costs(graph, batch as i64).1.training_bytes;
    let peak = match device {
        Device::Cuda(i) => runtime::cuda_max_memory_allocated(i),
        _ => 0,
    };
    let capacity = parse_capacity(message);
    let suggested = capacity.and_then(|cap| {
        let usable = (cap as f64 * 0.9 - static_bytes as f64).max(0.0);
        // At least what was in use when it failed, per image.
        let measured_per_image = (peak.saturating_sub(static_bytes) as f64 / batch as f64).max(1.0);
        let predicted_per_image = (predicted as f64 / batch as f64).max(1.0);
        let per_image = measured_per_image.max(predicted_per_image * 0.5);
        let b = (usable / per_image).floor() as usize;
        let b = b.min(batch.saturating_sub(1));
        // A multiple of 8 where there is room for one.
        let b = if b >= 16 { b / 8 * 8 } else { b };
        (b >= 1).then_some(b)
    });
    OomReport {
        device: format!("{device:?}"),
        batch,
        input: graph.reference,
        predicted_training_bytes: predicted,
        peak_bytes: peak,
        static_bytes,
        capacity_bytes: capacity,
        suggested_batch: suggested,
        message: first_line(message),
    }
}

/// Where memory can run out: enough to write the [`OomReport`] for a failure there.
#[derive(Clone, Copy)]
pub struct OomContext<'a> {
    pub graph: &'a Graph,
    pub device: Device,
    pub batch: usize,
    /// Memory in use before the first step (0 while the data is being uploaded).
    pub static_bytes: u64,
}

impl OomContext<'_> {
    /// The report where libtorch's `message` says memory ran out.
    pub fn report(&self, message: &str) -> Option<Box<OomReport>> {
        is_oom(message).then(|| {
            Box::new(oom_report(
                self.graph,
                self.device,
                self.batch,
                message,
                self.static_bytes,
            ))
        })
    }

    /// [`TrainError::OutOfMemory`] where `message` says memory ran out, else `otherwise`.
    pub fn or(&self, message: &str, otherwise: impl FnOnce() -> TrainError) -> TrainError {
        match self.report(message) {
            Some(r) => TrainError::OutOfMemory(r),
            None => otherwise(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::ir::LowerOptions;

    const CUDA_OOM: &str = "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.19 GiB of which 1.05 GiB is free. Including non-PyTorch memory, this process has 78.13 GiB memory in use.";

    #[test]
    fn oom_messages_are_recognised() {
        assert!(is_oom(CUDA_OOM));
        assert!(is_oom(
            "[enforce fail at alloc_cpu.cpp:121] data. DefaultCPUAllocator: not enough memory: you tried to allocate 1099511627776 bytes."
        ));
        assert!(!is_oom(
            "Given input size: (1024x2x2). Calculated output size: (1024x-4x-4). Output size is too small"
        ));
        assert_eq!(parse_capacity(CUDA_OOM), Some((79.19 * (1u64 << 30) as f64) as u64));
        assert_eq!(parse_capacity("no capacity here"), None);
    }

    #[test]
    fn oom_report_suggests_a_smaller_batch() {
        let spec = crate::spec::load_file(Path::new("specs/googlenet_bn.yaml")).unwrap();
        let g = crate::ir::lower(
            &spec,
            &LowerOptions {
                variant: Some("caffe".into()),
                ..LowerOptions::default()
            },
        )
        .unwrap();
        let r = oom_report(&g, Device::Cpu, 4096, CUDA_OOM, 1 << 30);
        assert!(r.predicted_training_bytes > 0);
        // No CUDA peak on the CPU: the suggestion comes from derive's prediction alone.
        let b = r.suggested_batch.expect("a suggestion");
        assert!(b < 4096 && b.is_multiple_of(8), "{b}");
        let text = TrainError::OutOfMemory(Box::new(r)).to_string();
        assert!(text.contains("derive predicts") && text.contains("--batch"), "{text}");
    }
}
