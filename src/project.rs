//! The project file, `archcheck.toml`: the spec, variant, data and training options a
//! command uses where its command line leaves them out (docs/project.md). Found from a
//! directory upwards, as cargo finds Cargo.toml; paths in it are relative to its directory.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::data::DataSource;
use crate::source::Source;
use crate::spec::{Loc, SpecError};

pub const FILE_NAME: &str = "archcheck.toml";

/// The file as written.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct Raw {
    spec: Option<String>,
    variant: Option<String>,
    classes: Option<Spanned<i64>>,
    no_aux: Option<bool>,
    #[serde(default)]
    train: RawTrain,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct RawTrain {
    data: Option<Spanned<String>>,
    input: Option<Spanned<toml::Value>>,
    epochs: Option<Spanned<i64>>,
    batch: Option<Spanned<i64>>,
    optimizer: Option<Spanned<String>>,
    lr: Option<f64>,
    momentum: Option<f64>,
    weight_decay: Option<f64>,
    schedule: Option<Spanned<String>>,
    warmup: Option<f64>,
    aux_weight: Option<f64>,
    amp: Option<bool>,
    channels_last: Option<bool>,
    seed: Option<Spanned<i64>>,
    out: Option<String>,
    checkpoint_every: Option<Spanned<i64>>,
    max_steps: Option<Spanned<i64>>,
    device: Option<String>,
}

/// The file, checked, with its paths resolved against its directory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Project {
    /// Where the file is.
    pub path: PathBuf,
    /// The spec a command uses when given none.
    pub spec: Option<PathBuf>,
    /// The model options; they apply only to [`Project::spec`].
    pub variant: Option<String>,
    pub classes: Option<u64>,
    pub no_aux: Option<bool>,
    pub train: Train,
}

/// `[train]`: the options of `archcheck build --train`, each one a flag's default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Train {
    pub data: Option<DataSource>,
    pub input: Option<(u64, u64)>,
    pub epochs: Option<u64>,
    pub batch: Option<u64>,
    pub optimizer: Option<String>,
    pub lr: Option<f64>,
    pub momentum: Option<f64>,
    pub weight_decay: Option<f64>,
    pub schedule: Option<String>,
    pub warmup: Option<f64>,
    pub aux_weight: Option<f64>,
    pub amp: Option<bool>,
    pub channels_last: Option<bool>,
    pub seed: Option<u64>,
    pub out: Option<PathBuf>,
    pub checkpoint_every: Option<u64>,
    pub max_steps: Option<u64>,
    pub device: Option<String>,
}

/// The nearest `archcheck.toml` in `start` or a directory above it.
pub fn find(start: &Path) -> Option<PathBuf> {
    start.ancestors().map(|d| d.join(FILE_NAME)).find(|p| p.is_file())
}

/// Checks the project file's text; `path` locates it (its directory anchors the paths).
pub fn parse(source: &Source, path: &Path) -> Result<Project, SpecError> {
    let check = Checker {
        source,
        dir: path.parent().unwrap_or(Path::new(".")),
    };
    let raw: Raw = toml::from_str(&source.text).map_err(|e| {
        let message = e.message().trim().to_string();
        let message = message.strip_suffix('.').unwrap_or(&message).replace('`', "'");
        check.error(e.span(), message.to_lowercase_first())
    })?;
    let t = &raw.train;
    // Checked in this order: the first problem found is the one reported.
    let data = check.data(&t.data)?;
    let input = check.input(&t.input)?;
    let classes = check.count(&raw.classes, "classes", 1)?;
    Ok(Project {
        path: path.to_path_buf(),
        spec: raw.spec.as_deref().map(|p| check.within(p)),
        variant: raw.variant.clone(),
        classes,
        no_aux: raw.no_aux,
        train: check.train(t, data, input)?,
    })
}

/// Checks values of the file, each error at its value.
struct Checker<'a> {
    source: &'a Source,
    /// The file's directory, which its paths are relative to.
    dir: &'a Path,
}

impl Checker<'_> {
    fn error(&self, span: Option<Range<usize>>, message: String) -> SpecError {
        let (line, col) = span.map_or((0, 0), |s| self.source.line_col(s.start));
        SpecError::new(self.source.name.clone(), Loc { line, col }, message)
    }

    fn within(&self, p: &str) -> PathBuf {
        self.dir.join(p)
    }

    /// A whole number of at least `least`.
    fn count(&self, v: &Option<Spanned<i64>>, key: &str, least: i64) -> Result<Option<u64>, SpecError> {
        match v {
            Some(v) if *v.get_ref() < least => Err(self.error(
                Some(v.span()),
                format!("{key} is {}, expected a whole number of at least {least}", v.get_ref()),
            )),
            Some(v) => Ok(Some(*v.get_ref() as u64)),
            None => Ok(None),
        }
    }

    /// One of the `allowed` words.
    fn choice(&self, v: &Option<Spanned<String>>, key: &str, allowed: &[&str]) -> Result<Option<String>, SpecError> {
        match v {
            Some(v) if !allowed.contains(&v.get_ref().as_str()) => Err(self.error(
                Some(v.span()),
                format!(
                    "{key} is {}, expected one of {}",
                    crate::quote::quote(v.get_ref()),
                    allowed.join(", ")
                ),
            )),
            Some(v) => Ok(Some(v.get_ref().clone())),
            None => Ok(None),
        }
    }

    /// `data`, as `--data` takes it, a directory anchored at the file's.
    fn data(&self, d: &Option<Spanned<String>>) -> Result<Option<DataSource>, SpecError> {
        match d {
            Some(d) => Ok(Some(
                crate::data::parse_data_arg(d.get_ref())
                    .map(|source| anchor_data(source, self.dir))
                    .map_err(|e| self.error(Some(d.span()), e.to_string()))?,
            )),
            None => Ok(None),
        }
    }

    /// `input`: a number (square) or a string `"HxW"`.
    fn input(&self, v: &Option<Spanned<toml::Value>>) -> Result<Option<(u64, u64)>, SpecError> {
        let Some(v) = v else { return Ok(None) };
        Ok(Some(match v.get_ref() {
            toml::Value::Integer(n) if *n >= 1 => (*n as u64, *n as u64),
            toml::Value::String(s) => {
                crate::spec::parse_hw(s).map_err(|e| self.error(Some(v.span()), e.to_string()))?
            }
            other => {
                let found = match other {
                    toml::Value::Integer(n) => n.to_string(),
                    _ => format!("a {}", other.type_str()),
                };
                return Err(self.error(
                    Some(v.span()),
                    format!("input is {found}, expected a size such as 96 or \"96x96\""),
                ));
            }
        }))
    }

    /// `[train]`, its `data` and `input` checked already.
    fn train(&self, t: &RawTrain, data: Option<DataSource>, input: Option<(u64, u64)>) -> Result<Train, SpecError> {
        Ok(Train {
            data,
            input,
            epochs: self.count(&t.epochs, "epochs", 1)?,
            batch: self.count(&t.batch, "batch", 1)?,
            optimizer: self.choice(&t.optimizer, "optimizer", &["sgd", "adam"])?,
            lr: t.lr,
            momentum: t.momentum,
            weight_decay: t.weight_decay,
            schedule: self.choice(&t.schedule, "schedule", &["step", "cosine"])?,
            warmup: t.warmup,
            aux_weight: t.aux_weight,
            amp: t.amp,
            channels_last: t.channels_last,
            seed: self.count(&t.seed, "seed", 0)?,
            out: t.out.as_deref().map(|p| self.within(p)),
            checkpoint_every: self.count(&t.checkpoint_every, "checkpoint_every", 1)?,
            max_steps: self.count(&t.max_steps, "max_steps", 1)?,
            device: t.device.clone(),
        })
    }
}

/// A data directory written in the file is relative to the file's directory.
fn anchor_data(source: DataSource, dir: &Path) -> DataSource {
    match source {
        DataSource::FashionMnist(Some(d)) => DataSource::FashionMnist(Some(dir.join(d))),
        DataSource::ImageFolder(d) => DataSource::ImageFolder(dir.join(d)),
        other => other,
    }
}

trait LowercaseFirst {
    fn to_lowercase_first(&self) -> String;
}

impl LowercaseFirst for str {
    /// Messages are lowercase facts; the TOML parser's start with a capital.
    fn to_lowercase_first(&self) -> String {
        let mut c = self.chars();
        match c.next() {
            Some(first) => first.to_lowercase().chain(c).collect(),
            None => String::new(),
        }
    }
}
