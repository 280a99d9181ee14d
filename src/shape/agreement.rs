//! Where the spatial sizes of merged branches agree, as sets of input sizes.

use super::Dim;

/// Where branches' spatial sizes agree. Sets are kept as inclusive runs, never as lists of
/// single sizes: a stride of 2^32 makes a period of 2^32 residues, which once took 2 GiB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Agreement {
    Always,
    /// For v mod `modulus` in one of `runs` (inclusive, sorted, disjoint, within
    /// 0..modulus); empty for no v at all.
    Periodic {
        modulus: i64,
        runs: Vec<(i64, i64)>,
    },
    /// Only for v in `runs` (inclusive, sorted, disjoint), among the sizes scanned from the
    /// smallest valid input up to `scanned_to` (exclusive). `truncated`: the scan stopped at
    /// [`MAX_RUNS`] runs or its step budget, so later sizes may agree too.
    Only {
        runs: Vec<(i64, i64)>,
        scanned_to: i64,
        truncated: bool,
    },
}

/// The most runs an [`Agreement::Only`] collects.
pub const MAX_RUNS: usize = 64;

/// The work (pieces visited × forms evaluated) one scan of branches with different slopes
/// may do: far above any real network, low enough that hostile strides cannot hang it.
const SCAN_BUDGET: u64 = 1 << 22;

/// The branch sizes of one concatenation on one axis, reduced to what decides agreement.
/// Floor is monotone in the offset, so among forms of one divisor only the smallest and
/// the largest offset matter; constants must all be equal.
#[derive(Debug, Clone)]
pub struct BranchSizes {
    /// (divisor, smallest offset, largest offset), one entry per divisor.
    forms: Vec<(i64, i64, i64)>,
    /// The constant every constant branch has; None without constant branches.
    constant: Option<i64>,
    /// Two branches have different constant sizes: they never agree.
    never: bool,
    /// Every branch has the same form.
    same: bool,
}

impl BranchSizes {
    pub fn new(dims: &[Dim]) -> BranchSizes {
        let mut forms: Vec<(i64, i64, i64)> = Vec::new();
        let (mut constant, mut never) = (None, false);
        for d in dims {
            match *d {
                Dim::Const(c) => match constant {
                    None => constant = Some(c),
                    Some(k) if k != c => never = true,
                    Some(_) => {}
                },
                Dim::Floor { offset, divisor, .. } => match forms.iter_mut().find(|f| f.0 == divisor) {
                    Some(f) => {
                        f.1 = f.1.min(offset);
                        f.2 = f.2.max(offset);
                    }
                    None => forms.push((divisor, offset, offset)),
                },
            }
        }
        let same = dims.windows(2).all(|p| p[0] == p[1]);
        BranchSizes {
            forms,
            constant,
            never,
            same,
        }
    }

    /// The residue runs when every branch is a floor form of one divisor m: floor((v + a)/m)
    /// and floor((v + b)/m), a < b, are equal iff no multiple of m lies in (v + a, v + b],
    /// that is iff b - a < m and (v + b) mod m >= b - a; a cyclic interval of m - (b - a)
    /// residues starting at (b - a) - b.
    fn periodic(&self) -> Option<(i64, Vec<(i64, i64)>)> {
        let [(m, lo, hi)] = self.forms[..] else { return None };
        if self.constant.is_some() {
            return None;
        }
        let (m128, gap) = (i128::from(m), i128::from(hi) - i128::from(lo));
        if gap >= m128 {
            return Some((m, Vec::new()));
        }
        let start = (gap - i128::from(hi)).rem_euclid(m128);
        let last = start + (m128 - gap) - 1;
        // Every value fits i64: start < m and last - m < m.
        let runs = if last < m128 {
            vec![(start as i64, last as i64)]
        } else {
            vec![(0, (last - m128) as i64), (start as i64, m - 1)]
        };
        Some((m, runs))
    }

    /// Whether every branch has the same size at v.
    fn agree_at(&self, v: i64) -> bool {
        if self.never {
            return false;
        }
        let at = |a: i64, m: i64| (i128::from(v) + i128::from(a)).div_euclid(i128::from(m));
        let mut value = self.constant.map(i128::from);
        for &(m, lo, hi) in &self.forms {
            for x in [at(lo, m), at(hi, m)] {
                match value {
                    None => value = Some(x),
                    Some(y) if y != x => return false,
                    Some(_) => {}
                }
            }
        }
        true
    }

    /// The smallest v' > v at which some branch's size changes (i64::MAX if none does).
    fn next_change(&self, v: i64) -> i64 {
        let mut next = i128::from(i64::MAX);
        for &(m, lo, hi) in &self.forms {
            for a in [lo, hi] {
                let m = i128::from(m);
                let q = (i128::from(v) + i128::from(a)).div_euclid(m);
                next = next.min((q + 1) * m - i128::from(a));
            }
        }
        next.clamp(i128::from(v) + 1, i128::from(i64::MAX)) as i64
    }

    /// The first v' > v at which the branches could agree, when they disagree at v: every
    /// size is nondecreasing in v, so each branch smaller than the largest one at v must
    /// first grow to it (floor((v' + a)/m) >= max at v' = max·m - a). None when a constant
    /// branch is smaller than the largest: it never grows, so they never agree again. This
    /// leap, not one size at a time, is what bounds the scan of branches of very different
    /// slopes (slope 1 against 1/2^40 changes size at every v).
    fn catch_up(&self, v: i64) -> Option<i64> {
        let at = |a: i64, m: i64| (i128::from(v) + i128::from(a)).div_euclid(i128::from(m));
        let mut largest = self.constant.map(i128::from).unwrap_or(i128::MIN);
        for &(m, lo, hi) in &self.forms {
            largest = largest.max(at(lo, m)).max(at(hi, m));
        }
        if self.never || self.constant.is_some_and(|c| i128::from(c) < largest) {
            return None;
        }
        let mut next = i128::from(v) + 1;
        for &(m, lo, hi) in &self.forms {
            for a in [lo, hi] {
                if at(a, m) < largest {
                    next = next.max(largest * i128::from(m) - i128::from(a));
                }
            }
        }
        Some(next.min(i128::from(i64::MAX)) as i64)
    }

    /// For which v from `from` on the branches agree.
    pub fn agreement(&self, from: i64) -> Agreement {
        if self.same {
            return Agreement::Always;
        }
        if let Some((modulus, runs)) = self.periodic() {
            return Agreement::Periodic { modulus, runs };
        }
        // Different slopes: they meet on a bounded stretch only. Walk it piece by piece
        // (between two changes of any branch's size nothing changes), not size by size.
        let start = from.max(1);
        let widest = self.forms.iter().map(|f| f.0).max().unwrap_or(1);
        let end = start.saturating_add(widest.saturating_mul(64).max(64));
        let steps_allowed = (SCAN_BUDGET / (2 * self.forms.len() as u64 + 1)).max(1024);
        let (mut runs, mut v, mut steps, mut truncated) = (Vec::<(i64, i64)>::new(), start, 0u64, false);
        while v < end {
            if steps == steps_allowed {
                truncated = true;
                break;
            }
            steps += 1;
            if !self.agree_at(v) {
                match self.catch_up(v) {
                    Some(next) => v = next.min(end),
                    None => v = end,
                }
                continue;
            }
            let next = self.next_change(v).min(end);
            {
                let count = runs.len();
                match runs.last_mut() {
                    Some(last) if last.1 == v - 1 => last.1 = next - 1,
                    _ if count == MAX_RUNS => {
                        truncated = true;
                        break;
                    }
                    _ => runs.push((v, next - 1)),
                }
            }
            v = next;
        }
        Agreement::Only {
            runs,
            scanned_to: v,
            truncated,
        }
    }

    /// The smallest v' in [v, end) at which the branches agree, if one is found within
    /// `budget` steps (each step takes one from it).
    pub fn next_agreeing(&self, v: i64, end: i64, budget: &mut u64) -> Option<i64> {
        if self.same {
            return (v < end).then_some(v);
        }
        if let Some((m, runs)) = self.periodic() {
            let r = v.rem_euclid(m);
            let best = runs
                .iter()
                .map(|&(a, b)| {
                    let ahead = if r < a {
                        i128::from(a - r)
                    } else if r <= b {
                        0
                    } else {
                        i128::from(m) - i128::from(r) + i128::from(a)
                    };
                    i128::from(v) + ahead
                })
                .min()?;
            return (best < i128::from(end)).then_some(best as i64);
        }
        let mut v = v;
        while v < end && *budget > 0 {
            *budget -= 1;
            if self.agree_at(v) {
                return Some(v);
            }
            v = self.catch_up(v)?;
        }
        None
    }
}

/// For which input sizes all `dims` (on one axis) are equal, from `from` on.
pub fn agreement(dims: &[Dim], from: i64) -> Agreement {
    BranchSizes::new(dims).agreement(from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::{Axis, Window, WindowRounding};

    #[test]
    fn stride_two_conv_and_padded_ceil_pool_disagree_on_even_sizes() {
        // conv 3×3/2 pad 1 vs max pool 3×3/2 pad 1 ceil, fed the same floor((H+3)/4)... here H.
        let h = Dim::input(Axis::H);
        let conv = h
            .window(&Window {
                kernel: 3,
                stride: 2,
                pad: 1,
                rounding: WindowRounding::Floor,
            })
            .unwrap();
        let pool = h
            .window(&Window {
                kernel: 3,
                stride: 2,
                pad: 1,
                rounding: WindowRounding::CeilPytorch,
            })
            .unwrap();
        match agreement(&[conv, pool], 1) {
            Agreement::Periodic { modulus: 2, runs } => assert_eq!(runs, vec![(1, 1)]),
            other => panic!("{other:?}"),
        }
        let pool0 = h
            .window(&Window {
                kernel: 3,
                stride: 2,
                pad: 0,
                rounding: WindowRounding::CeilPytorch,
            })
            .unwrap();
        // Without padding the ceil pool gives floor(H/2), the conv floor((H + 1)/2): even H only.
        assert_eq!(
            agreement(&[conv, pool0], 3),
            Agreement::Periodic {
                modulus: 2,
                runs: vec![(0, 0)]
            }
        );
        assert_eq!(agreement(&[conv, conv], 3), Agreement::Always);
    }
}
