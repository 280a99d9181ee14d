//! Composed templates: a template (or a branch) is a list of steps, and a step is a layer, a
//! reference to another template with arguments, a group of parallel branches merged by
//! `concat`, `add` or `mul`, or a repetition of steps.
//!
//! ```yaml
//! steps:
//!   - conv: {out: "{var.width}", kernel: 3}            # a layer
//!   - basic: {width: 64, stride: 2}                  # a template, with its vars set
//!   - group:                                         # parallel branches, merged
//!       merge: add
//!       branches:
//!         - [conv: {...}, conv: {...}]               # a branch: a list of steps
//!         - {name: downsample, if: "{…}", steps: [...]}
//!         - identity                                 # the input itself
//!   - repeat: {count: "{model.repeat}", index: i, steps: [...]}
//!   - repeat: {count: 6, index: i, instance: "denselayer{var.i + 1}", steps: [...]}
//! ```

use serde_yaml::Value;

use super::reader::{Reader, check_name};
use super::template::{ArgDecl, Args, Expr, LayerDecl, LayerOp};
use super::yaml::Seg;
use super::{Loc, SpecError};

/// How a group joins its branches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// Along channels.
    Concat,
    /// Elementwise (residuals): every branch has the same shape.
    Add,
    /// Elementwise, the later branches broadcast (a C×1×1 gate).
    Mul,
}

impl Merge {
    pub fn word(self) -> &'static str {
        match self {
            Merge::Concat => "concat",
            Merge::Add => "add",
            Merge::Mul => "mul",
        }
    }
}

/// A use of another template: its vars set from arguments evaluated where it is used.
#[derive(Debug, Clone, PartialEq)]
pub struct Use {
    pub template: String,
    pub args: Args,
    pub name: Option<String>,
    pub cond: Option<Expr>,
    pub loc: Loc,
}

/// One branch of a group; no steps is the identity (the group's input itself).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupBranch {
    /// A path component of the branch's layers; none adds none.
    pub name: Option<String>,
    pub cond: Option<Expr>,
    pub steps: Vec<Step>,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub merge: Merge,
    pub branches: Vec<GroupBranch>,
    pub name: Option<String>,
    /// The merge node's own name (`branch3x3`: torchvision's variable for InceptionE's inner
    /// concatenation), so that two unnamed groups in one scope do not both name it `concat`.
    pub merge_name: Option<String>,
    pub cond: Option<Expr>,
    pub loc: Loc,
}

/// A repeat instance's path component: literal text around one expression
/// (`denselayer{var.i + 1}`), which must give a whole number ≥ 0.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceName {
    pub prefix: String,
    pub expr: Expr,
    pub suffix: String,
}

/// Steps repeated `count` times; instance k (from 0) is named `k` under the scope (or as
/// `instance` gives), and its index is the var `index` names.
#[derive(Debug, Clone, PartialEq)]
pub struct Repeat {
    pub count: ArgDecl,
    pub index: Option<String>,
    /// Boxed: most repeats have none, and a step stays small.
    pub instance: Option<Box<InstanceName>>,
    pub name: Option<String>,
    pub steps: Vec<Step>,
    pub cond: Option<Expr>,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Layer(LayerDecl),
    Use(Use),
    Group(Group),
    Repeat(Repeat),
}

impl Step {
    pub fn loc(&self) -> Loc {
        match self {
            Step::Layer(l) => l.loc,
            Step::Use(u) => u.loc,
            Step::Group(g) => g.loc,
            Step::Repeat(r) => r.loc,
        }
    }
}

fn key<'v>(r: &Reader<'_>, m: &'v serde_yaml::Mapping, loc: Loc) -> Result<(&'v str, &'v Value), SpecError> {
    let (k, v) = m.iter().next().expect("one entry");
    match k {
        Value::String(k) => Ok((k.as_str(), v)),
        _ => Err(r.err(loc, "expected a layer, group, repeat or template name as the key")),
    }
}

fn join(p: &[Seg], s: impl Into<Seg>) -> Vec<Seg> {
    let mut p = p.to_vec();
    p.push(s.into());
    p
}

impl Reader<'_> {
    /// A list of steps.
    pub fn steps(&self, v: &Value, path: &[Seg]) -> Result<Vec<Step>, SpecError> {
        match v {
            Value::Sequence(items) => items
                .iter()
                .enumerate()
                .map(|(i, s)| self.step(s, &join(path, i)))
                .collect(),
            Value::Null => Ok(Vec::new()),
            _ => Err(self.err(self.at(path), "expected a list of steps")),
        }
    }

    fn step(&self, v: &Value, path: &[Seg]) -> Result<Step, SpecError> {
        let loc = self.at(path);
        let (word, body) = match v {
            Value::String(s) => (s.as_str(), &Value::Null),
            Value::Mapping(m) if m.len() == 1 => key(self, m, loc)?,
            Value::Mapping(m) => {
                return Err(self.err(
                    loc,
                    format!("expected one step per list item (op: {{args}}), found {} keys", m.len()),
                ));
            }
            _ => return Err(self.err(loc, "expected a step: a layer, group, repeat or template")),
        };
        if LayerOp::NAMES.split(", ").any(|n| n == word) {
            return self.layer(v, path).map(Step::Layer);
        }
        let bp = join(path, word);
        match word {
            "group" => self.group(body, &bp, loc).map(Step::Group),
            "repeat" => self.repeat(body, &bp, loc).map(Step::Repeat),
            "identity" => Err(self.err(loc, "identity is a branch of a group, not a step")),
            _ => self.use_step(word, body, &bp, loc).map(Step::Use),
        }
    }

    /// The `name` and `if` of a group, repeat or use; other keys go to `other`.
    fn common(
        &self,
        m: &serde_yaml::Mapping,
        path: &[Seg],
        mut other: impl FnMut(&str, &Value, &[Seg]) -> Result<bool, SpecError>,
        what: &str,
        keys: &str,
    ) -> Result<(Option<String>, Option<Expr>), SpecError> {
        let (mut name, mut cond) = (None, None);
        for (k, v) in m {
            let Value::String(k) = k else {
                return Err(self.err(self.at(path), "expected argument names as text"));
            };
            let kp = join(path, k.as_str());
            match (k.as_str(), v) {
                ("name", Value::String(s)) => name = Some(check_name(self, s, self.at(&kp))?),
                ("name", _) => return Err(self.err(self.at(&kp), "expected a name as text")),
                ("if", Value::String(s)) => cond = Some(self.expr(s, &kp)?),
                ("if", _) => return Err(self.err(self.at(&kp), "expected an expression for 'if'")),
                _ => {
                    if !other(k, v, &kp)? {
                        return Err(self.err(
                            self.marks.key(&kp),
                            format!(
                                "unknown key {} of {what}, expected one of {keys}",
                                crate::quote::quote(k)
                            ),
                        ));
                    }
                }
            }
        }
        Ok((name, cond))
    }

    fn mapping<'v>(&self, v: &'v Value, path: &[Seg], what: &str) -> Result<&'v serde_yaml::Mapping, SpecError> {
        match v {
            Value::Mapping(m) => Ok(m),
            _ => Err(self.err(self.at(path), format!("expected the keys of {what} as a mapping"))),
        }
    }

    fn group(&self, v: &Value, path: &[Seg], loc: Loc) -> Result<Group, SpecError> {
        let m = self.mapping(v, path, "a group")?;
        let mut merge = None;
        let mut branches = None;
        let mut merge_name = None;
        let (name, cond) = self.common(
            m,
            path,
            |k, v, kp| {
                match k {
                    "merge" => {
                        merge = Some(match v.as_str() {
                            Some("concat") => Merge::Concat,
                            Some("add") => Merge::Add,
                            Some("mul") => Merge::Mul,
                            _ => {
                                return Err(self.err(
                                    self.at(kp),
                                    format!(
                                        "merge is {}, expected concat, add or mul",
                                        crate::quote::quote(&yaml_text(v))
                                    ),
                                ));
                            }
                        })
                    }
                    "branches" => branches = Some(self.branches(v, kp)?),
                    "merge_name" => match v {
                        Value::String(s) => merge_name = Some(check_name(self, s, self.at(kp))?),
                        _ => return Err(self.err(self.at(kp), "expected the merge's name as text")),
                    },
                    _ => return Ok(false),
                }
                Ok(true)
            },
            "a group",
            "merge, branches, merge_name, name, if",
        )?;
        let merge = merge.ok_or_else(|| self.err(loc, "a group needs 'merge: concat | add | mul'"))?;
        let branches = branches.ok_or_else(|| self.err(loc, "a group needs 'branches'"))?;
        if branches.is_empty() {
            return Err(self.err(loc, "a group needs at least one branch"));
        }
        Ok(Group {
            merge,
            branches,
            name,
            merge_name,
            cond,
            loc,
        })
    }

    fn branches(&self, v: &Value, path: &[Seg]) -> Result<Vec<GroupBranch>, SpecError> {
        let Value::Sequence(items) = v else {
            return Err(self.err(self.at(path), "expected a list of branches"));
        };
        let mut out = Vec::new();
        for (i, b) in items.iter().enumerate() {
            let bp = join(path, i);
            let loc = self.at(&bp);
            out.push(match b {
                Value::String(s) if s == "identity" => GroupBranch {
                    name: None,
                    cond: None,
                    steps: Vec::new(),
                    loc,
                },
                Value::Sequence(_) => GroupBranch {
                    name: None,
                    cond: None,
                    steps: self.steps(b, &bp)?,
                    loc,
                },
                Value::Mapping(m) if m.len() == 1 && m.contains_key("identity") => {
                    let ip = join(&bp, "identity");
                    let im = match &m["identity"] {
                        Value::Null => serde_yaml::Mapping::new(),
                        other => self.mapping(other, &ip, "identity")?.clone(),
                    };
                    let (name, cond) = self.common(&im, &ip, |_, _, _| Ok(false), "identity", "name, if")?;
                    GroupBranch {
                        name,
                        cond,
                        steps: Vec::new(),
                        loc,
                    }
                }
                Value::Mapping(m) => {
                    let mut steps = Vec::new();
                    let (name, cond) = self.common(
                        m,
                        &bp,
                        |k, v, kp| {
                            if k == "steps" {
                                steps = self.steps(v, kp)?;
                                return Ok(true);
                            }
                            Ok(false)
                        },
                        "a branch",
                        "steps, name, if",
                    )?;
                    GroupBranch { name, cond, steps, loc }
                }
                _ => {
                    return Err(self.err(
                        loc,
                        "expected a branch: a list of steps, identity, or {name, if, steps}",
                    ));
                }
            });
        }
        Ok(out)
    }

    fn repeat(&self, v: &Value, path: &[Seg], loc: Loc) -> Result<Repeat, SpecError> {
        let m = self.mapping(v, path, "a repeat")?;
        let (mut count, mut index, mut steps, mut instance) = (None, None, None, None);
        let (name, cond) = self.common(
            m,
            path,
            |k, v, kp| {
                match k {
                    "count" => count = Some(self.arg(v, kp)?),
                    "index" => match v {
                        Value::String(s) => index = Some(check_name(self, s, self.at(kp))?),
                        _ => return Err(self.err(self.at(kp), "expected the index's var name as text")),
                    },
                    "steps" => steps = Some(self.steps(v, kp)?),
                    "instance" => match v {
                        Value::String(s) => instance = Some(Box::new(self.instance_name(s, kp)?)),
                        _ => {
                            return Err(self.err(
                                self.at(kp),
                                "expected the instances' name as text, such as \"denselayer{var.i + 1}\"",
                            ));
                        }
                    },
                    _ => return Ok(false),
                }
                Ok(true)
            },
            "a repeat",
            "count, index, instance, steps, name, if",
        )?;
        let count = count.ok_or_else(|| self.err(loc, "a repeat needs 'count'"))?;
        let steps = steps.ok_or_else(|| self.err(loc, "a repeat needs 'steps'"))?;
        Ok(Repeat {
            count,
            index,
            instance,
            name,
            steps,
            cond,
            loc,
        })
    }

    /// `denselayer{var.i + 1}`: the literal parts as names are checked, the expression by
    /// the expression parser; every error at its own character.
    fn instance_name(&self, s: &str, path: &[Seg]) -> Result<InstanceName, SpecError> {
        let start = self.marks.text(path);
        let at = |byte: usize| Loc {
            line: start.line,
            col: start.col + s[..byte].chars().count(),
        };
        let quoted = crate::quote::quote(s);
        let Some(open) = s.find('{') else {
            return Err(self.err(
                start,
                format!(
                    "instance name {quoted} has no {{expression}}, expected one such as \"denselayer{{var.i + 1}}\""
                ),
            ));
        };
        let Some(close) = s[open..].find('}').map(|c| open + c) else {
            return Err(self.err(at(open), format!("expected '}}' closing the expression in {quoted}")));
        };
        if let Some(second) = s[close + 1..].find(['{', '}']).map(|c| close + 1 + c) {
            return Err(self.err(
                at(second),
                format!("instance name {quoted} has a second brace, expected one {{expression}}"),
            ));
        }
        for (byte, c) in s[..open]
            .char_indices()
            .chain(s[close + 1..].char_indices().map(|(b, c)| (close + 1 + b, c)))
        {
            if !(c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                return Err(self.err(
                    at(byte),
                    format!(
                        "instance name {quoted} contains {}; names use letters, digits, '_' and '-' (a '.' would split the parameter path)",
                        crate::quote::quote(&c.to_string())
                    ),
                ));
            }
        }
        let mut expr = self.expr_within(&s[open..=close], path, s[..open].chars().count())?;
        expr.loc = at(open);
        Ok(InstanceName {
            prefix: s[..open].to_string(),
            expr,
            suffix: s[close + 1..].to_string(),
        })
    }

    fn use_step(&self, template: &str, v: &Value, path: &[Seg], loc: Loc) -> Result<Use, SpecError> {
        let mut args = Args::default();
        let (name, cond) = match v {
            Value::Null => (None, None),
            Value::Mapping(m) => self.common(
                m,
                path,
                |k, v, kp| {
                    args.insert(k.to_string(), self.arg(v, kp)?);
                    Ok(true)
                },
                "a template use",
                "",
            )?,
            _ => {
                return Err(self.err(
                    self.at(path),
                    format!(
                        "expected the vars of template {} as a mapping",
                        crate::quote::quote(template)
                    ),
                ));
            }
        };
        Ok(Use {
            template: template.to_string(),
            args,
            name,
            cond,
            loc,
        })
    }
}

/// A scalar as text, for messages.
fn yaml_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        _ => "a collection".into(),
    }
}
