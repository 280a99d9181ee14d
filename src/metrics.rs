//! Per-epoch training metrics: appended as JSON lines while training runs (so a crash loses
//! at most the current epoch and `tail -f` shows progress), read back, and plotted as SVG.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::ops::Range;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::{Deserialize, Deserializer, Serialize};

/// One line of a metrics file. Accuracies are fractions in 0..=1.
///
/// JSON has no NaN: serde_json writes a non-finite float as `null`, so every float field
/// reads `null` back as NaN. A diverged run (loss NaN) therefore still round-trips.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct EpochMetrics {
    pub epoch: usize,
    /// Optimizer steps taken so far, over all epochs.
    pub step: u64,
    #[serde(deserialize_with = "f64_or_nan")]
    pub train_loss: f64,
    #[serde(deserialize_with = "f64_or_nan")]
    pub train_acc: f64,
    #[serde(deserialize_with = "f64_or_nan")]
    pub test_loss: f64,
    #[serde(deserialize_with = "f64_or_nan")]
    pub test_acc: f64,
    #[serde(deserialize_with = "f64_or_nan")]
    pub lr: f64,
    #[serde(deserialize_with = "f64_or_nan")]
    pub images_per_sec: f64,
    #[serde(deserialize_with = "f64_or_nan")]
    pub elapsed_s: f64,
}

fn f64_or_nan<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Appends `m` as one JSON line, then flushes and fsyncs so the line survives a crash or a
/// killed training job.
pub fn append_jsonl(path: &Path, m: &EpochMetrics) -> io::Result<()> {
    let mut line = serde_json::to_string(m).map_err(io::Error::other)?;
    line.push('\n');
    let mut f = OpenOptions::new().create(true).append(true).open(path)?;
    f.write_all(line.as_bytes())?;
    f.flush()?;
    f.sync_all()
}

/// The largest epoch number a metrics file may hold: far beyond any run, and small enough
/// that the epoch axis's tick arithmetic (in usize) cannot overflow.
pub const MAX_EPOCH: usize = 1_000_000_000;

/// Why metrics could not be read or plotted; each message names the file (and line).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricsError {
    /// The file could not be read (missing, not a regular file, over the size limit).
    #[error("{path}: {cause}")]
    Read { path: String, cause: String },
    /// A line that is not a metrics record.
    #[error("{path}:{line}: {cause}")]
    Record { path: String, line: usize, cause: String },
    #[error("{path}:{line}: epoch {epoch} is beyond the largest plausible epoch, {MAX_EPOCH}")]
    Epoch { path: String, line: usize, epoch: usize },
    #[error("{0}: no metrics to plot")]
    Empty(String),
    #[error("{0}: plots are written as svg only, name the file *.svg")]
    NotSvg(String),
    /// plotters refused to draw (its own words).
    #[error("{0}")]
    Draw(String),
    #[error("{path}: {cause}")]
    Write { path: String, cause: String },
}

/// Reads every non-blank line of a metrics file; an error names `file:line`.
pub fn read_jsonl(path: &Path) -> Result<Vec<EpochMetrics>, MetricsError> {
    read_jsonl_within(path, crate::source::DEFAULT_MAX_BYTES)
}

/// [`read_jsonl`] of a file of at most `max_bytes` (read once, regular files only).
pub fn read_jsonl_within(path: &Path, max_bytes: u64) -> Result<Vec<EpochMetrics>, MetricsError> {
    let name = || path.display().to_string();
    let source = crate::source::Source::read(path, "the metrics file", max_bytes).map_err(|e| MetricsError::Read {
        path: name(),
        cause: e.with_flag_hint(),
    })?;
    source
        .text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let m: EpochMetrics = serde_json::from_str(l).map_err(|e| MetricsError::Record {
                path: name(),
                line: i + 1,
                cause: e.to_string(),
            })?;
            if m.epoch > MAX_EPOCH {
                return Err(MetricsError::Epoch {
                    path: name(),
                    line: i + 1,
                    epoch: m.epoch,
                });
            }
            Ok(m)
        })
        .collect()
}

/// Tableau 10: distinct, colour-blind-friendlier than plotters' primaries.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
const SIZE: (u32, u32) = (1200, 500);
const FONT: &str = "sans-serif";

/// One curve of a panel: label, colour, dashed or not, (epoch, value) points.
struct Line {
    name: String,
    color: RGBColor,
    dashed: bool,
    points: Vec<(usize, f64)>,
}

impl Line {
    fn new(name: &str, color: RGBColor, dashed: bool, ms: &[EpochMetrics], f: fn(&EpochMetrics) -> f64) -> Line {
        Line {
            name: name.to_string(),
            color,
            dashed,
            points: ms.iter().map(|m| (m.epoch, f(m))).collect(),
        }
    }
}

/// Plots one run as SVG: loss (train, test) and accuracy (train, test) against epoch.
/// Non-finite values leave gaps.
pub fn plot_run(metrics: &[EpochMetrics], title: &str, out: &Path) -> Result<(), MetricsError> {
    check_svg(out)?;
    if metrics.is_empty() {
        return Err(MetricsError::Empty(out.display().to_string()));
    }
    let (train, test) = (PALETTE[0], PALETTE[1]);
    let loss = [
        Line::new("train loss", train, false, metrics, |m| m.train_loss),
        Line::new("test loss", test, true, metrics, |m| m.test_loss),
    ];
    let acc = [
        Line::new("train accuracy", train, false, metrics, |m| m.train_acc),
        Line::new("test accuracy", test, true, metrics, |m| m.test_acc),
    ];
    render(out, Some(title), |left, right| {
        panel(left, "loss", "loss", &loss, SeriesLabelPosition::UpperRight)?;
        panel(right, "accuracy", "accuracy", &acc, SeriesLabelPosition::LowerRight)
    })
}

/// Overlays several runs as SVG, one colour per run: test accuracy and train loss against
/// epoch, e.g. to compare an architecture with and without batch norm.
pub fn plot_overlay(runs: &[(String, Vec<EpochMetrics>)], out: &Path) -> Result<(), MetricsError> {
    check_svg(out)?;
    if runs.iter().all(|(_, ms)| ms.is_empty()) {
        return Err(MetricsError::Empty(out.display().to_string()));
    }
    let color = |i: usize| PALETTE[i % PALETTE.len()];
    let acc: Vec<Line> = runs
        .iter()
        .enumerate()
        .map(|(i, (name, ms))| Line::new(name, color(i), false, ms, |m| m.test_acc))
        .collect();
    let loss: Vec<Line> = runs
        .iter()
        .enumerate()
        .map(|(i, (name, ms))| Line::new(name, color(i), false, ms, |m| m.train_loss))
        .collect();
    render(out, None, |left, right| {
        panel(
            left,
            "test accuracy",
            "test accuracy",
            &acc,
            SeriesLabelPosition::LowerRight,
        )?;
        panel(
            right,
            "train loss",
            "train loss",
            &loss,
            SeriesLabelPosition::UpperRight,
        )
    })
}

/// Only SVG: the crate is built without a bitmap backend or fonts (see Cargo.toml).
fn check_svg(out: &Path) -> Result<(), MetricsError> {
    match out.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("svg") => Ok(()),
        _ => Err(MetricsError::NotSvg(out.display().to_string())),
    }
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Renders a white page split into two panels (under `title` if any) and writes it to `out`.
fn render(
    out: &Path,
    title: Option<&str>,
    draw: impl FnOnce(&Area, &Area) -> Result<(), MetricsError>,
) -> Result<(), MetricsError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| MetricsError::Draw(e.to_string()))?;
        let body = match title {
            Some(t) => root
                .titled(t, (FONT, 24))
                .map_err(|e| MetricsError::Draw(e.to_string()))?,
            None => root.clone(),
        };
        let halves = body.split_evenly((1, 2));
        draw(&halves[0], &halves[1])?;
        root.present().map_err(|e| MetricsError::Draw(e.to_string()))?;
    }
    std::fs::write(out, svg).map_err(|e| MetricsError::Write {
        path: out.display().to_string(),
        cause: e.to_string(),
    })
}

/// Values beyond this magnitude are drawn in units of a power of ten, named on the axis:
/// on spans near f64::MAX (losses of +1e308 and -1e308) plotters' tick search overflowed
/// to infinity and never ended.
const UNIT_ABOVE: f64 = 1e12;

/// The power of ten the values of `lines` are drawn in: 0 for ordinary values.
fn unit_exponent(lines: &[Line]) -> i32 {
    let largest = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1.abs()))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    if largest > UNIT_ABOVE {
        largest.log10().floor() as i32
    } else {
        0
    }
}

/// Axis range covering the finite values. Accuracy axes end at 1 and start at a tenth at
/// least 0.05 below the lowest value, so late-epoch differences between runs stay visible.
/// Every bound is finite and the span is never too narrow to divide into ticks.
fn y_range(lines: &[Line], accuracy: bool) -> Range<f64> {
    let vals = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .filter(|v| v.is_finite());
    let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return 0.0..1.0;
    }
    if accuracy && lo >= 0.0 && hi <= 1.0 {
        return (((lo - 0.05) * 10.0).floor() / 10.0).clamp(0.0, 0.9)..1.0;
    }
    let lo = lo.min(0.0);
    // A span below a billionth of the values' size (or below 1e-100) has no room for ticks.
    let scale = lo.abs().max(hi.abs());
    let narrowest = (scale * 1e-9).max(1e-100);
    let hi = if hi - lo > narrowest {
        hi + (hi - lo) * 0.05
    } else {
        lo + (scale * 0.05).max(1.0)
    };
    lo..hi
}

/// Epoch axis covering every point, at least one epoch wide.
fn x_range(lines: &[Line]) -> Range<usize> {
    let epochs = lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
    let lo = epochs.clone().min().unwrap_or(0);
    let hi = epochs.max().unwrap_or(1);
    if hi > lo {
        lo..hi
    } else {
        lo.saturating_sub(1)..hi.saturating_add(1).max(lo.saturating_sub(1) + 1)
    }
}

/// Draws one chart with a legend; each line is split at non-finite values.
fn panel(
    area: &Area,
    caption: &str,
    y_desc: &str,
    lines: &[Line],
    legend: SeriesLabelPosition,
) -> Result<(), MetricsError> {
    let err = |e: DrawingAreaErrorKind<_>| MetricsError::Draw(format!("drawing `{caption}`: {e}"));
    let accuracy = y_desc.contains("accuracy");
    let exponent = unit_exponent(lines);
    let scaled: Vec<Line>;
    let (lines, y_desc) = if exponent == 0 {
        (lines, y_desc.to_string())
    } else {
        let unit = 10f64.powi(exponent);
        scaled = lines
            .iter()
            .map(|l| Line {
                name: l.name.clone(),
                color: l.color,
                dashed: l.dashed,
                points: l.points.iter().map(|&(e, v)| (e, v / unit)).collect(),
            })
            .collect();
        (&scaled[..], format!("{y_desc} (×1e{exponent})"))
    };
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d(x_range(lines), y_range(lines, accuracy))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y_desc.as_str())
        .x_labels(10)
        .y_labels(8)
        .axis_desc_style((FONT, 16))
        .label_style((FONT, 13))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    for line in lines {
        let style = line.color.stroke_width(2);
        let mut labelled = false;
        for seg in line.points.split(|p| !p.1.is_finite()).filter(|s| !s.is_empty()) {
            let pts = seg.iter().copied();
            let anno = if line.dashed {
                chart
                    .draw_series(DashedLineSeries::new(pts.clone(), 6, 4, style))
                    .map_err(err)?;
                chart
                    .draw_series(pts.map(|p| Circle::new(p, 3, line.color.filled())))
                    .map_err(err)?
            } else {
                chart
                    .draw_series(LineSeries::new(pts, style).point_size(3))
                    .map_err(err)?
            };
            if !labelled {
                // Legend swatch: a short solid line; train/test differ by colour as well.
                let color = line.color;
                anno.label(line.name.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
                labelled = true;
            }
        }
    }
    chart
        .configure_series_labels()
        .position(legend)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .draw()
        .map_err(err)
}
