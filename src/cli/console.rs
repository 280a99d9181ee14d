//! The terminal side of training: a progress bar per epoch (stderr, only on a terminal)
//! and one line per epoch on stdout.

use super::{Failure, Output, output};
use archcheck::report;
use archcheck::torch::train;

/// Prints a run as it goes. A failed write stops the printing, not the training (the run
/// directory holds everything); the failure is reported when the run ends.
pub struct Console {
    pub bar: Option<indicatif::ProgressBar>,
    pub started: std::time::Instant,
    out: Output,
    pub failed: Option<Failure>,
}

impl Console {
    pub fn new() -> Console {
        Console {
            bar: None,
            started: std::time::Instant::now(),
            out: Output::stdout(),
            failed: None,
        }
    }

    /// One line on standard output.
    pub fn say(&mut self, text: String) {
        if self.failed.is_none()
            && let Err(e) = self.out.line(&text).and_then(|()| self.out.flush())
        {
            self.failed = Some(e);
        }
    }
}

impl train::Observer for Console {
    fn start(&mut self, i: &train::RunInfo) {
        let c = &i.config;
        let variant = i.spec.variant.as_deref().map(|v| format!(" ({v})")).unwrap_or_default();
        let mut extras = Vec::new();
        if c.amp {
            extras.push("bf16 autocast");
        }
        if c.channels_last {
            extras.push("channels-last");
        }
        let extras = if extras.is_empty() {
            String::new()
        } else {
            format!(", {}", extras.join(", "))
        };
        self.say(format!(
            "training {}{variant} at {}×{}, {} classes, {} parameters, on {}{extras}",
            i.spec.name,
            i.spec.input.0,
            i.spec.input.1,
            i.spec.classes,
            report::thousands(i.parameters),
            c.device
        ));
        let opt = match c.optimizer {
            train::OptimizerKind::Sgd => format!("sgd lr {} momentum {}", c.lr, c.momentum),
            train::OptimizerKind::Adam => format!("adam lr {}", c.lr),
        };
        self.say(format!(
            "  data {}: {} train / {} test images; batch {}, {} per epoch, {}",
            c.data,
            report::thousands(i.train_images as i64),
            report::thousands(i.test_images as i64),
            c.batch,
            super::plural(i.steps_per_epoch as usize, "step"),
            super::plural(c.epochs, "epoch")
        ));
        let warmup = if c.warmup_epochs == 1.0 {
            "1 epoch".to_string()
        } else {
            format!("{} epochs", c.warmup_epochs)
        };
        self.say(format!(
            "  {opt}, weight decay {}, {} schedule, warm-up {warmup}, aux loss weight {}, seed {}",
            c.weight_decay,
            c.schedule.name(),
            c.aux_weight,
            c.seed
        ));
        self.say(format!(
            "  derive predicts {} of activations kept for backward per batch (fp32)",
            gib(i.predicted_training_bytes as f64)
        ));
        if let Some((epoch, step)) = i.resumed_from {
            self.say(format!(
                "  resuming at step {step} (epoch {} of {})",
                epoch + 1,
                c.epochs
            ));
        }
        self.say(format!("  run directory: {}", i.out.display()));
    }

    fn epoch_start(&mut self, epoch: usize, epochs: usize, first: u64, steps: u64) {
        let bar =
            indicatif::ProgressBar::with_draw_target(Some(steps), indicatif::ProgressDrawTarget::stderr_with_hz(4));
        bar.set_style(
            indicatif::ProgressStyle::with_template("{prefix} [{bar:28}] {pos}/{len} {msg} ETA {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(format!("epoch {}/{epochs}", epoch + 1));
        bar.set_position(first);
        bar.reset_eta();
        self.bar = Some(bar);
    }

    fn progress(&mut self, p: &train::Progress) {
        if let Some(bar) = &self.bar {
            bar.set_position(p.step_in_epoch);
            let stats = match (p.loss, p.accuracy) {
                (Some(l), Some(a)) => format!("loss {l:.4} acc {:.2}% ", 100.0 * a),
                _ => String::new(),
            };
            bar.set_message(format!("{stats}{:.0} img/s lr {:.3e}", p.images_per_sec, p.lr));
        }
    }

    fn evaluating(&mut self, _epoch: usize) {
        if let Some(bar) = &self.bar {
            bar.set_message("evaluating on the test set");
        }
    }

    fn epoch_end(&mut self, m: &archcheck::metrics::EpochMetrics, best: bool) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.say(format!(
            "epoch {:>3}: train loss {:.4} acc {:.2}% | test loss {:.4} acc {:.2}%{} | {:.0} img/s | lr {:.3e} | {:.0} s",
            m.epoch,
            m.train_loss,
            100.0 * m.train_acc,
            m.test_loss,
            100.0 * m.test_acc,
            if best { " (best)" } else { "" },
            m.images_per_sec,
            m.lr,
            m.elapsed_s
        ));
    }

    fn note(&mut self, message: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| output::message(&format!("note: {message}\n"))),
            None => output::message(&format!("note: {message}\n")),
        }
    }
}

/// Gibibytes with two decimals.
pub fn gib(bytes: f64) -> String {
    format!("{:.2} GiB", bytes / (1u64 << 30) as f64)
}
