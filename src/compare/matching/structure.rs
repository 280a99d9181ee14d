//! Pairing by structure, for a checkpoint that names its tensors otherwise: modules in
//! graph order against modules in the file's order, aligned on identical (kind, shapes) and
//! paired by kind in the gaps between, as a diff aligns lines.

use super::{Comparison, Difference, Pairing};
use crate::compare::inventory::{Expected, ModuleKind, Role};
use crate::compare::weights::Found;

/// A module: the tensors sharing a name prefix (found) or a node (expected).
struct Module {
    kind: Option<ModuleKind>,
    tensors: Vec<(Role, usize)>,
}

fn expected_modules(expected: &[Expected]) -> Vec<Module> {
    let mut out: Vec<Module> = Vec::new();
    let mut node = None;
    for (i, e) in expected.iter().enumerate() {
        if node != Some(e.node) {
            node = Some(e.node);
            out.push(Module {
                kind: Some(e.role.module()),
                tensors: Vec::new(),
            });
        }
        if let Some(m) = out.last_mut() {
            m.tensors.push((e.role, i));
        }
    }
    out
}

fn prefix(name: &str) -> &str {
    name.rsplit_once('.').map_or("", |(p, _)| p)
}

fn leaf(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(_, l)| l)
}

/// The checkpoint's modules in first-appearance order, each kind read off its tensors.
fn found_modules(found: &[Found]) -> Vec<Module> {
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (i, f) in found.iter().enumerate() {
        let p = prefix(&f.name);
        let m = *index.entry(p).or_insert_with(|| {
            members.push(Vec::new());
            members.len() - 1
        });
        members[m].push(i);
    }
    members
        .into_iter()
        .map(|ids| {
            let has = |leafname: &str| ids.iter().any(|i| leaf(&found[*i].name) == leafname);
            let weight_rank = ids
                .iter()
                .find(|i| leaf(&found[**i].name) == "weight")
                .map(|i| found[*i].shape.len());
            let kind = if has("running_mean") || has("running_var") {
                Some(ModuleKind::Norm)
            } else {
                match weight_rank {
                    Some(4) => Some(ModuleKind::Conv),
                    Some(2) => Some(ModuleKind::Linear),
                    _ => None,
                }
            };
            let tensors = ids
                .into_iter()
                .map(|i| (role_of(kind, leaf(&found[i].name)), i))
                .filter_map(|(r, i)| r.map(|r| (r, i)))
                .collect();
            Module { kind, tensors }
        })
        .collect()
}

fn role_of(kind: Option<ModuleKind>, leaf: &str) -> Option<Role> {
    Some(match (kind?, leaf) {
        (ModuleKind::Conv, "weight") => Role::ConvWeight,
        (ModuleKind::Conv, "bias") => Role::ConvBias,
        (ModuleKind::Norm, "weight") => Role::NormWeight,
        (ModuleKind::Norm, "bias") => Role::NormBias,
        (ModuleKind::Norm, "running_mean") => Role::RunningMean,
        (ModuleKind::Norm, "running_var") => Role::RunningVar,
        (ModuleKind::Norm, "num_batches_tracked") => Role::BatchesTracked,
        (ModuleKind::Linear, "weight") => Role::LinearWeight,
        (ModuleKind::Linear, "bias") => Role::LinearBias,
        _ => return None,
    })
}

/// Two modules are the same when kind, roles and shapes agree (optional tensors aside).
fn same(e: &Module, f: &Module, expected: &[Expected], found: &[Found]) -> bool {
    if e.kind != f.kind {
        return false;
    }
    let required = |m: &Module| m.tensors.iter().filter(|(r, _)| !r.optional()).count();
    required(e) == required(f)
        && e.tensors.iter().filter(|(r, _)| !r.optional()).all(|(role, ei)| {
            f.tensors
                .iter()
                .any(|(fr, fi)| fr == role && found[*fi].shape == expected[*ei].shape)
        })
}

/// Structural pairing, in passes from the surest to the least sure:
/// 1. modules whose (kind, shapes) occur once on each side pair with each other;
/// 2. the other identical modules pair, preferring a partner in the same printed row (the
///    row a checkpoint module's name neighbours were paired into) and then the next one in
///    file order;
/// 3. what is left pairs by kind alone, the same way: their shapes differ;
/// 4. the rest is missing or unexpected.
pub(super) fn pair_by_structure(expected: &[Expected], found: &[Found]) -> Comparison {
    let em = expected_modules(expected);
    let fm = found_modules(found);
    let mut pairs = Pairs {
        to_found: vec![None; em.len()],
        to_expected: vec![None; fm.len()],
    };
    let bounded = em.len().saturating_mul(fm.len()) <= MAX_PAIRING_WORK;
    if bounded {
        pair_unique(&em, &fm, expected, found, &mut pairs);
        pair_by_guesses(&em, &fm, expected, found, &mut pairs);
    } else {
        pair_in_order(&em, &fm, &mut pairs.to_found, &mut pairs.to_expected);
    }
    uncross(&em, &fm, expected, found, &mut pairs);
    structure_differences(&em, &fm, expected, found, &pairs, bounded)
}

/// Which checkpoint module each expected module is paired with, and back.
struct Pairs {
    to_found: Vec<Option<usize>>,
    to_expected: Vec<Option<usize>>,
}

impl Pairs {
    fn join(&mut self, i: usize, j: usize) {
        self.to_found[i] = Some(j);
        self.to_expected[j] = Some(i);
    }
}

/// The printed row (unit) an expected module belongs to.
fn unit(e: &Module, expected: &[Expected]) -> usize {
    e.tensors.first().map_or(usize::MAX, |(_, i)| expected[*i].unit)
}

/// Pass 1: modules identical to exactly one module on the other side, and it to them.
fn pair_unique(em: &[Module], fm: &[Module], expected: &[Expected], found: &[Found], pairs: &mut Pairs) {
    for (i, e) in em.iter().enumerate() {
        let mut partners = fm.iter().enumerate().filter(|(_, f)| same(e, f, expected, found));
        if let (Some((j, _)), None) = (partners.next(), partners.next())
            && em.iter().filter(|x| same(x, &fm[j], expected, found)).count() == 1
        {
            pairs.join(i, j);
        }
    }
}

/// Passes 2 and 3: identical modules, then modules of the same kind: within the guessed
/// row first, repeated while that pairs more (each pairing sharpens the guesses of its name
/// neighbours; a few rounds at most), then anywhere.
fn pair_by_guesses(em: &[Module], fm: &[Module], expected: &[Expected], found: &[Found], pairs: &mut Pairs) {
    let expected_words: Vec<Vec<String>> = em
        .iter()
        .map(|e| words(e.tensors.first().map_or("", |(_, i)| prefix(&expected[*i].name))))
        .collect();
    let found_words: Vec<Vec<String>> = fm.iter().map(|f| words(module_path(f, found))).collect();
    let sides = Sides {
        em,
        fm,
        expected,
        found,
        expected_words: &expected_words,
        found_words: &found_words,
    };
    for exact in [true, false] {
        for anywhere in [false, true] {
            for _round in 0..MAX_GUESS_ROUNDS {
                let paired = guess_round(&sides, pairs, exact, anywhere);
                if !paired || anywhere {
                    break;
                }
            }
        }
    }
}

/// Both sides' modules and their names as words, for [`guess_round`].
struct Sides<'a> {
    em: &'a [Module],
    fm: &'a [Module],
    expected: &'a [Expected],
    found: &'a [Found],
    expected_words: &'a [Vec<String>],
    found_words: &'a [Vec<String>],
}

/// One pass over the unpaired expected modules, each taking the best fitting checkpoint
/// module (identical where `exact`, else of its kind; in its guessed row unless
/// `anywhere`). Among candidates, a partner whose name agrees in more leading components
/// (`aux2.fc2` and `aux2.fc2`, `inception4c` and `inception_4c`) comes first. Whether it
/// paired any.
fn guess_round(s: &Sides<'_>, pairs: &mut Pairs, exact: bool, anywhere: bool) -> bool {
    let (em, fm, expected, found) = (s.em, s.fm, s.expected, s.found);
    let guesses = row_guesses(em, fm, &pairs.to_expected, expected, found);
    let mut paired = false;
    let mut previous: Option<usize> = None;
    for (i, e) in em.iter().enumerate() {
        if let Some(j) = pairs.to_found[i] {
            previous = Some(j);
            continue;
        }
        let row = unit(e, expected);
        let affinity = |j: usize| shared_words(&s.expected_words[i], &s.found_words[j]);
        let fits = |j: usize| {
            pairs.to_expected[j].is_none()
                && (anywhere || guesses[j] == Some(row) || (guesses[j].is_none() && affinity(j) > 0))
                && if exact {
                    same(e, &fm[j], expected, found)
                } else {
                    fm[j].kind == e.kind
                }
        };
        let after = previous.map_or(0, |p| p + 1);
        let pick = (0..fm.len())
            .filter(|j| fits(*j))
            .min_by_key(|j| (guesses[*j] != Some(row), usize::MAX - affinity(*j), *j < after, *j));
        if let Some(j) = pick {
            pairs.join(i, j);
            previous = Some(j);
            paired = true;
        }
    }
    paired
}

/// Identical modules of one row are interchangeable: where a mismatched pair crosses an
/// exact one (graph order against file order), swap partners so the mismatch lands where
/// the file's order puts it (a width typo in branch 1 is reported at branch 1).
fn uncross(em: &[Module], fm: &[Module], expected: &[Expected], found: &[Found], pairs: &mut Pairs) {
    for _round in 0..MAX_GUESS_ROUNDS {
        let mut swapped = false;
        for k in 0..em.len() {
            let Some(j) = pairs.to_found[k] else { continue };
            if same(&em[k], &fm[j], expected, found) {
                continue;
            }
            let crossing = (0..em.len()).find(|&i| {
                pairs.to_found[i].is_some_and(|l| {
                    unit(&em[i], expected) == unit(&em[k], expected)
                        && em[i].kind == em[k].kind
                        && (i < k) != (l < j)
                        && same(&em[i], &fm[l], expected, found)
                        && same(&em[k], &fm[l], expected, found)
                })
            });
            if let Some(i) = crossing
                && let Some(l) = pairs.to_found[i]
            {
                pairs.join(i, j);
                pairs.join(k, l);
                swapped = true;
            }
        }
        if !swapped {
            break;
        }
    }
}

/// The comparison of the paired modules: every expected module against its partner, then
/// each unpaired checkpoint module after its nearest paired name neighbour (where that
/// search is `bounded`), then the tensors of no recognised module.
fn structure_differences(
    em: &[Module],
    fm: &[Module],
    expected: &[Expected],
    found: &[Found],
    pairs: &Pairs,
    bounded: bool,
) -> Comparison {
    let mut c = Comparison {
        pairing: Pairing::ByStructure,
        matched: Vec::new(),
        differences: Vec::new(),
    };
    let mut last: Option<usize> = None;
    for (i, e) in em.iter().enumerate() {
        compare_modules(
            &mut c,
            Some(e),
            pairs.to_found[i].map(|j| &fm[j]),
            expected,
            found,
            &mut last,
        );
    }
    for (j, f) in fm.iter().enumerate() {
        if pairs.to_expected[j].is_none() {
            let after = if bounded && fm.len().saturating_mul(fm.len()) <= MAX_PAIRING_WORK {
                nearest_paired(fm, j, &pairs.to_expected, found).and_then(|k| em[k].tensors.last().map(|(_, e)| *e))
            } else {
                None
            };
            compare_modules(&mut c, None, Some(f), expected, found, &mut Some(after).flatten());
        }
    }
    // Tensors of no recognised module (an unknown kind) are unexpected.
    let known: std::collections::HashSet<usize> = fm.iter().flat_map(|m| m.tensors.iter().map(|(_, i)| *i)).collect();
    for f in (0..found.len()).filter(|f| !known.contains(f)) {
        c.differences.push(Difference::Unexpected { found: f, after: None });
    }
    c
}

/// Each expected module takes the next checkpoint module of its kind, in order: linear
/// work, for checkpoints too large for the passes above.
fn pair_in_order(em: &[Module], fm: &[Module], to_found: &mut [Option<usize>], to_expected: &mut [Option<usize>]) {
    let mut next = 0;
    for (i, e) in em.iter().enumerate() {
        let Some(k) = fm[next.min(fm.len())..].iter().position(|f| f.kind == e.kind) else {
            continue;
        };
        let j = next + k;
        to_found[i] = Some(j);
        to_expected[j] = Some(i);
        next = j + 1;
    }
}

/// Most (expected × checkpoint) module pairs examined; beyond it the passes that compare
/// every pair are skipped and modules pair in file order, so work stays bounded.
const MAX_PAIRING_WORK: usize = 4_000_000;

fn module_path<'a>(m: &Module, found: &'a [Found]) -> &'a str {
    m.tensors.first().map_or("", |(_, i)| prefix(&found[*i].name))
}

/// Rounds of row guessing before pairing anywhere.
const MAX_GUESS_ROUNDS: usize = 8;

/// A dotted name's components, lowercase, letters and digits only.
fn words(path: &str) -> Vec<String> {
    path.split('.')
        .map(|w| {
            w.chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .collect()
        })
        .collect()
}

fn shared_words(a: &[String], b: &[String]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y && !x.is_empty()).count()
}

fn shared_components(a: &str, b: &str) -> usize {
    a.split('.').zip(b.split('.')).take_while(|(x, y)| x == y).count()
}

/// The paired checkpoint module whose name shares the most leading components with `j`'s.
fn nearest_paired(fm: &[Module], j: usize, to_expected: &[Option<usize>], found: &[Found]) -> Option<usize> {
    let path = module_path(&fm[j], found);
    (0..fm.len())
        .filter_map(|k| to_expected[k].map(|e| (k, e)))
        .map(|(k, e)| (shared_components(path, module_path(&fm[k], found)), e))
        .filter(|(n, _)| *n > 0)
        .max_by_key(|(n, _)| *n)
        .map(|(_, e)| e)
}

/// For each checkpoint module, the printed row its name neighbours were paired into.
fn row_guesses(
    em: &[Module],
    fm: &[Module],
    to_expected: &[Option<usize>],
    expected: &[Expected],
    found: &[Found],
) -> Vec<Option<usize>> {
    if em.len().saturating_mul(fm.len()) > MAX_PAIRING_WORK || fm.len().saturating_mul(fm.len()) > MAX_PAIRING_WORK {
        return vec![None; fm.len()];
    }
    (0..fm.len())
        .map(|j| {
            let e = match to_expected[j] {
                Some(e) => Some(e),
                None => nearest_paired(fm, j, to_expected, found),
            }?;
            em[e].tensors.first().map(|(_, i)| expected[*i].unit)
        })
        .collect()
}

/// The tensors of a paired (or unpaired) module, role by role.
fn compare_modules(
    c: &mut Comparison,
    e: Option<&Module>,
    f: Option<&Module>,
    expected: &[Expected],
    found: &[Found],
    last: &mut Option<usize>,
) {
    let mut used = vec![false; f.map_or(0, |f| f.tensors.len())];
    for (role, ei) in e.map_or(&[][..], |e| &e.tensors[..]) {
        let hit = f.and_then(|f| {
            f.tensors
                .iter()
                .enumerate()
                .find(|(k, (r, _))| r == role && !used[*k])
                .map(|(k, (_, fi))| (k, *fi))
        });
        match hit {
            Some((k, fi)) => {
                used[k] = true;
                if found[fi].shape == expected[*ei].shape {
                    c.matched.push((*ei, fi));
                } else {
                    c.differences.push(Difference::Shape {
                        expected: *ei,
                        found: fi,
                    });
                }
                *last = Some(*ei);
            }
            None if role.optional() => {}
            None => c.differences.push(Difference::Missing { expected: *ei }),
        }
    }
    if let Some(f) = f {
        for (k, (_, fi)) in f.tensors.iter().enumerate() {
            if !used[k] {
                c.differences.push(Difference::Unexpected {
                    found: *fi,
                    after: *last,
                });
            }
        }
    }
}
