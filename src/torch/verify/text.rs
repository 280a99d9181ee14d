//! The verification as text: the one-line summary and the layer-by-layer tables.

use crate::fmt::thousands;

use super::{LayerCheck, Report};

impl Report {
    /// `verified: 312 layers at 224×224, 193×193 and 256×256 agree with derive; ...`.
    pub fn summary(&self) -> String {
        let eval: Vec<String> = self.checks.iter().filter(|c| !c.train).map(|c| hw(c.size)).collect();
        let counts = if self.buffers.1 > 0 {
            format!(
                "{} parameters and {} buffers",
                thousands(self.params.1),
                thousands(self.buffers.1)
            )
        } else {
            format!("{} parameters", thousands(self.params.1))
        };
        if self.ok() {
            let train = self.checks.iter().find(|c| c.train).map(|c| {
                let aux = c.aux_outputs.map_or(0, |a| a.1);
                let heads = match aux {
                    0 => String::new(),
                    1 => ", with its auxiliary head".to_string(),
                    n => format!(", with its {n} auxiliary heads"),
                };
                format!(" (and in training mode at {}{heads})", hw(c.size))
            });
            return format!(
                "verified: {} layers at {} agree with derive{}; {counts} agree",
                self.layers(),
                and_list(&eval),
                train.unwrap_or_default()
            );
        }
        let mut parts = Vec::new();
        for c in &self.checks {
            let mode = if c.train { " in training mode" } else { "" };
            if c.mismatches() > 0 {
                parts.push(format!(
                    "{} of {} layers disagree at {}{mode}",
                    c.mismatches(),
                    c.layers.len() - 1,
                    hw(c.size)
                ));
            }
            if let Some(f) = &c.failure {
                parts.push(format!("libtorch refuses {} at {}{mode}", f.name, hw(c.size)));
            }
            if c.aux_outputs.is_some_and(|(a, b)| a != b) {
                parts.push(format!("the auxiliary outputs disagree at {}{mode}", hw(c.size)));
            }
        }
        if self.params.0 != self.params.1 {
            parts.push(format!(
                "the varstore holds {} parameters, derive counts {}",
                thousands(self.params.0),
                thousands(self.params.1)
            ));
        }
        if self.buffers.0 != self.buffers.1 {
            parts.push(format!(
                "the varstore holds {} buffers, derive counts {}",
                thousands(self.buffers.0),
                thousands(self.buffers.1)
            ));
        }
        if self.checks.is_empty() {
            parts.push("no input size was valid to check".into());
        }
        format!("verification failed: {}", parts.join("; "))
    }
}

/// The layer-by-layer agreement as text: a compact table per eval-mode size (layer, op,
/// derived, libtorch, ok), the training-mode check in one line (plus any disagreeing
/// rows), and the skipped sizes.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    for c in &r.checks {
        let layers = c.layers.len().saturating_sub(1);
        let mode = if c.train { "training mode" } else { "eval mode" };
        let verdict = if c.ok() {
            format!("{layers} layers agree")
        } else {
            format!("{} of {layers} layers disagree", c.mismatches())
        };
        s.push_str(&format!("\nat {} (batch {}, {mode}): {verdict}", hw(c.size), c.batch));
        if let Some((real, graph)) = c.aux_outputs {
            s.push_str(&format!(
                "; forward returns {real} auxiliary output{} (derive: {graph})",
                if real == 1 { "" } else { "s" }
            ));
        }
        s.push('\n');
        let rows: Vec<&LayerCheck> = if c.train {
            c.layers.iter().filter(|l| !l.ok).collect()
        } else {
            c.layers.iter().collect()
        };
        if rows.is_empty() {
            continue;
        }
        s.push_str(&layer_table(&rows));
        if let Some(f) = &c.failure {
            s.push_str(&format!("  {f}\n"));
        }
    }
    if !r.skipped.is_empty() {
        s.push('\n');
        for (size, why) in &r.skipped {
            s.push_str(&format!("skipped {}: {why}\n", hw(*size)));
        }
    }
    s
}

/// The rows as an aligned table under a header: layer, op, derived, libtorch, ok.
fn layer_table(rows: &[&LayerCheck]) -> String {
    let mut out = String::new();
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|l| {
            let real = l.real.as_deref().map(dims).unwrap_or_else(|| "—".into());
            [
                l.name.clone(),
                l.op.clone(),
                dims(&l.derived),
                real,
                if l.ok { "ok".into() } else { "NO".into() },
            ]
        })
        .collect();
    let head = ["layer", "op", "derived", "libtorch", "ok"].map(String::from);
    let width = |i: usize| {
        cells
            .iter()
            .chain(std::iter::once(&head))
            .map(|r| r[i].chars().count())
            .max()
            .unwrap_or(0)
    };
    let w = [width(0), width(1), width(2), width(3)];
    for row in std::iter::once(&head).chain(cells.iter()) {
        let pad = |t: &str, n: usize| format!("{t}{}", " ".repeat(n.saturating_sub(t.chars().count())));
        out.push_str(&format!(
            "  {}  {}  {}  {}  {}\n",
            pad(&row[0], w[0]),
            pad(&row[1], w[1]),
            pad(&row[2], w[2]),
            pad(&row[3], w[3]),
            row[4]
        ));
    }
    out
}

pub(super) fn hw(s: (i64, i64)) -> String {
    format!("{}×{}", s.0, s.1)
}

fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [a] => a.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

pub(super) fn dims(v: &[i64]) -> String {
    v.iter().map(i64::to_string).collect::<Vec<_>>().join("×")
}
