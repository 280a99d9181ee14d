//! An input size as written (`224`, `224x224`, `224×192`): in a spec's `input:`, a project
//! file and `--input`.

/// The largest input side accepted: beyond it a derivation's counts overflow long before
/// any real network.
const MAX_SIDE: u64 = 1 << 30;

/// Why a written input size is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputSizeError {
    #[error("expected an input size as H or HxW, found {}", crate::quote::quote(found))]
    Form { found: String },
    #[error("input size {} is too large", crate::quote::quote(side))]
    TooLarge { side: String },
    #[error("expected a positive input size, found {h}x{w}")]
    NotPositive { h: u64, w: u64 },
    #[error("input size {h}x{w} is larger than {MAX_SIDE}")]
    Larger { h: u64, w: u64 },
}

/// `224`, `224x224`, `224×192`.
pub fn parse_hw(s: &str) -> Result<(u64, u64), InputSizeError> {
    let t = s.trim();
    let parts: Vec<&str> = t.split(['x', 'X', '×']).map(str::trim).collect();
    let form = || InputSizeError::Form { found: s.to_string() };
    let num = |p: &str| -> Result<u64, InputSizeError> {
        if p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()) {
            return Err(form());
        }
        p.parse::<u64>()
            .map_err(|_| InputSizeError::TooLarge { side: p.to_string() })
    };
    let (h, w) = match parts.as_slice() {
        [h] => (num(h)?, num(h)?),
        [h, w] => (num(h)?, num(w)?),
        _ => return Err(form()),
    };
    check_positive(h, w)?;
    Ok((h, w))
}

pub(super) fn check_positive(h: u64, w: u64) -> Result<(), InputSizeError> {
    if h == 0 || w == 0 {
        return Err(InputSizeError::NotPositive { h, w });
    }
    if h > MAX_SIDE || w > MAX_SIDE {
        return Err(InputSizeError::Larger { h, w });
    }
    Ok(())
}
