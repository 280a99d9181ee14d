//! Activation shapes on symbolic spatial sizes, the windows that shrink them, and the input
//! constraints those windows imply. Nothing here knows the ops: their shape rules are
//! `ir::infer`'s, built from these pieces.

mod agreement;
pub mod dim;

pub use agreement::{Agreement, BranchSizes, MAX_RUNS, agreement};
pub use dim::{Axis, Dim, Overflow, Window, WindowRounding};

/// The shape of one image's activation (the batch N stays symbolic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    /// C×H×W.
    Map { c: i64, h: Dim, w: Dim },
    /// A feature vector.
    Flat { features: i64 },
}

impl Shape {
    pub fn channels(&self) -> i64 {
        match *self {
            Shape::Map { c, .. } => c,
            Shape::Flat { features } => features,
        }
    }

    /// Elements per image at input size (h, w).
    pub fn elements(&self, h: i64, w: i64) -> i64 {
        match *self {
            Shape::Map { c, h: dh, w: dw } => c.saturating_mul(dh.eval(h).max(0)).saturating_mul(dw.eval(w).max(0)),
            Shape::Flat { features } => features,
        }
    }

    /// The dims at input size (h, w): [C, H, W] or [F].
    pub fn at(&self, h: i64, w: i64) -> Vec<i64> {
        match *self {
            Shape::Map { c, h: dh, w: dw } => vec![c, dh.eval(h), dw.eval(w)],
            Shape::Flat { features } => vec![features],
        }
    }

    /// `576×floor(H/16)×floor(W/16)`; a form with a top-level sum is parenthesised:
    /// `1024×(ceil(H/32) - 6)×(ceil(W/32) - 6)`.
    pub fn symbolic(&self) -> String {
        match self {
            Shape::Map { c, h, w } => format!("{c}×{}×{}", paren(&h.to_string()), paren(&w.to_string())),
            Shape::Flat { features } => format!("{features}"),
        }
    }
}

/// Parenthesises a form with a top-level + or -, so that `×` binds as read.
pub fn paren(s: &str) -> String {
    let mut depth = 0;
    for ch in s.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            '+' | '-' if depth == 0 => return format!("({s})"),
            _ => {}
        }
    }
    s.to_string()
}

/// What an op requires of its input size for the op to be valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// The input's `axis` must be at least `min` (from a window that must fit).
    AtLeast { axis: Axis, min: i64 },
    /// The input's `axis` must lie in [lo, hi] (a flatten feeding fixed-size layers).
    Between { axis: Axis, lo: i64, hi: i64 },
}

impl Requirement {
    pub fn axis(&self) -> Axis {
        match *self {
            Requirement::AtLeast { axis, .. } | Requirement::Between { axis, .. } => axis,
        }
    }

    /// The smallest size it allows.
    pub fn lowest(&self) -> i64 {
        match *self {
            Requirement::AtLeast { min, .. } => min,
            Requirement::Between { lo, .. } => lo,
        }
    }

    /// Whether input size `v` on its axis satisfies it.
    pub fn holds(&self, v: i64) -> bool {
        match *self {
            Requirement::AtLeast { min, .. } => v >= min,
            Requirement::Between { lo, hi, .. } => (lo..=hi).contains(&v),
        }
    }
}

/// An op cannot be applied to its input, whatever the input size.
#[derive(Debug, Clone, PartialEq)]
pub enum ShapeError {
    Overflow,
    Message(String),
}

impl From<Overflow> for ShapeError {
    fn from(_: Overflow) -> Self {
        ShapeError::Overflow
    }
}

impl ShapeError {
    pub fn message(s: impl Into<String>) -> ShapeError {
        ShapeError::Message(s.into())
    }
}

/// Applies windows to a map, collecting the requirement that each window fits.
pub fn apply_windows(
    h: Dim,
    w: Dim,
    wins: (Window, Window),
    out_c: i64,
    reqs: &mut Vec<Requirement>,
) -> Result<Shape, ShapeError> {
    let mut dims = [h, w];
    for (i, win) in [wins.0, wins.1].iter().enumerate() {
        let d = dims[i];
        let need = win.min_input();
        match d {
            Dim::Const(x) if x < need => {
                return Err(ShapeError::message(format!(
                    "a {}×{}/{} window with padding {} needs an input of at least {need}, it gets {x}",
                    wins.0.kernel, wins.1.kernel, win.stride, win.pad
                )));
            }
            Dim::Const(_) => {}
            Dim::Floor { axis, .. } => {
                if let Some(min) = d.min_var_for(need)? {
                    reqs.push(Requirement::AtLeast { axis, min });
                }
            }
        }
        dims[i] = d.window(win)?;
    }
    Ok(Shape::Map {
        c: out_c,
        h: dims[0],
        w: dims[1],
    })
}

/// The requirement that a map's H and W are not empty (a pool over the whole map).
pub fn require_nonempty(h: Dim, w: Dim, reqs: &mut Vec<Requirement>) -> Result<(), ShapeError> {
    for (d, axis) in [(h, Axis::H), (w, Axis::W)] {
        if let Some(min) = d.min_var_for(1)? {
            reqs.push(Requirement::AtLeast { axis, min });
        }
    }
    Ok(())
}
