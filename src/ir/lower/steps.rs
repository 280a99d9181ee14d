//! Composed templates → nodes: layers, template uses (a block inside a block), groups of
//! branches merged by concat, add or mul, and repeats with per-instance names (`layer1.0`).

use super::super::eval::{Ctx, Val};
use super::Builder;
use super::layers::LocalNames;
use crate::ir::{NodeId, Op, Place};
use crate::spec::{Group, InstanceName, Merge, Repeat, Step, Use};
use crate::spec::{LayerOp, Lit, TemplateBody};
use crate::spec::{Loc, SpecError, Template};

/// How deep template uses may nest: far beyond any network's blocks, and what stops a
/// template that uses itself.
const MAX_DEPTH: usize = 32;

/// A scope's path joined with one more component.
fn within(scope: &str, part: &str) -> String {
    if scope.is_empty() {
        part.to_string()
    } else {
        format!("{scope}.{part}")
    }
}

fn lit_of(v: Val) -> Lit {
    match v {
        Val::Int(i) => Lit::Int(i),
        Val::Float(x) => Lit::Float(x),
        Val::Bool(b) => Lit::Bool(b),
        Val::Word(w) => Lit::Word(w),
        Val::Pair(a, b) => Lit::Pair(a, b),
    }
}

impl Builder<'_> {
    /// Sets what `{in.*}` reads: the shape of `input` at the reference size.
    pub(super) fn set_input(&self, ctx: &Ctx<'_>, input: NodeId) {
        ctx.input
            .set(crate::ir::domain::chw(&self.nodes[input].shape, self.reference));
    }

    /// One more step visited; a budget, so that nested repeats of steps that add no node
    /// (every `if` false) cannot run for ever.
    fn visit(&mut self, loc: Loc) -> Result<(), SpecError> {
        self.visits += 1;
        if self.visits > self.max_nodes.saturating_mul(4).saturating_add(1 << 16) {
            return Err(self.err(
                loc,
                format!(
                    "the templates visit more than {} steps (repeats within repeats?); the graph is limited to {} nodes",
                    self.max_nodes.saturating_mul(4).saturating_add(1 << 16),
                    self.max_nodes
                ),
            ));
        }
        Ok(())
    }

    /// Lowers a template's body under `scope`.
    pub(super) fn body(
        &mut self,
        ctx: &Ctx<'_>,
        t: &Template,
        input: NodeId,
        scope: &str,
        place: &Place,
    ) -> Result<NodeId, SpecError> {
        match &t.body {
            TemplateBody::Steps(steps) => self.steps(ctx, steps, input, scope, place),
            TemplateBody::Layers(ls) => self.layers(ctx, ls, input, scope, place),
            TemplateBody::Branches(_) => {
                let row = match place {
                    Place::Row { row, .. } | Place::After { row } => *row,
                    _ => 0,
                };
                self.template(ctx, t, input, row, scope)
            }
        }
    }

    /// Lowers a list of steps; unnamed layers are numbered per kind by declared position,
    /// as in a list of layers.
    pub(super) fn steps(
        &mut self,
        ctx: &Ctx<'_>,
        steps: &[Step],
        input: NodeId,
        scope: &str,
        place: &Place,
    ) -> Result<NodeId, SpecError> {
        let mut names = LocalNames::new(steps.iter().filter_map(|s| match s {
            Step::Layer(l) => Some(l),
            _ => None,
        }));
        let mut cur = input;
        for s in steps {
            self.visit(s.loc())?;
            self.set_input(ctx, cur);
            let (cond, local) = match s {
                Step::Layer(l) => (&l.cond, Some(names.of(l))),
                Step::Use(u) => (&u.cond, None),
                Step::Group(g) => (&g.cond, None),
                Step::Repeat(r) => (&r.cond, None),
            };
            if let Some(c) = cond
                && !ctx.holds(c)?
            {
                continue;
            }
            cur = match s {
                Step::Layer(l) => self.layer(ctx, l, cur, within(scope, &local.unwrap_or_default()), place)?,
                Step::Use(u) => self.use_step(ctx, u, cur, scope, place)?,
                Step::Group(g) => self.group(ctx, g, cur, scope, place)?,
                Step::Repeat(r) => self.repeat(ctx, r, cur, scope, place)?,
            };
        }
        Ok(cur)
    }

    /// A template use: the template's body under the use's name, with its vars and the
    /// use's arguments over the context's.
    fn use_step(
        &mut self,
        ctx: &Ctx<'_>,
        u: &Use,
        input: NodeId,
        scope: &str,
        place: &Place,
    ) -> Result<NodeId, SpecError> {
        let Some(t) = self.templates.get(&u.template) else {
            return Err(self
                .err(u.loc, format!("unknown template {}", crate::quote::quote(&u.template)))
                .coded(crate::diag::code::UNKNOWN_NAME));
        };
        if self.depth >= MAX_DEPTH {
            return Err(self.err(
                u.loc,
                format!(
                    "{}: template uses nest deeper than {MAX_DEPTH} at {}; does a template use itself?",
                    ctx.what,
                    crate::quote::quote(&u.template)
                ),
            ));
        }
        let mut vars = ctx.vars.clone();
        for (k, v) in &t.vars {
            vars.insert(k.clone(), v.clone());
        }
        for (k, a) in &u.args {
            // An empty cell leaves the template's default.
            if let Some(v) = ctx.arg(a)? {
                vars.insert(k.clone(), lit_of(v));
            }
        }
        let inner = ctx.with_vars(&vars);
        let scope = match &u.name {
            Some(n) => within(scope, n),
            None => scope.to_string(),
        };
        self.depth += 1;
        let out = self.body(&inner, t, input, &scope, place);
        self.depth -= 1;
        out
    }

    /// A group: its present branches from `input`, merged by concat, add or mul.
    fn group(
        &mut self,
        ctx: &Ctx<'_>,
        g: &Group,
        input: NodeId,
        scope: &str,
        place: &Place,
    ) -> Result<NodeId, SpecError> {
        let scope = match &g.name {
            Some(n) => within(scope, n),
            None => scope.to_string(),
        };
        let mut ends = Vec::new();
        for b in &g.branches {
            self.set_input(ctx, input);
            if let Some(c) = &b.cond
                && !ctx.holds(c)?
            {
                continue;
            }
            let (bscope, bplace) = match (&b.name, place) {
                (Some(n), Place::Row { row, .. }) => (
                    within(&scope, n),
                    Place::Row {
                        row: *row,
                        branch: Some(n.as_str().into()),
                    },
                ),
                (Some(n), _) => (within(&scope, n), place.clone()),
                (None, _) => (scope.clone(), place.clone()),
            };
            ends.push(self.steps(ctx, &b.steps, input, &bscope, &bplace)?);
        }
        if ends.is_empty() {
            return Err(self.err(
                g.loc,
                format!(
                    "{}: every branch of the group is absent, expected at least one",
                    ctx.what
                ),
            ));
        }
        let op = match g.merge {
            Merge::Concat => Op::Concat,
            Merge::Add => Op::Add,
            Merge::Mul => Op::Mul,
        };
        let merge_name = g.merge_name.as_deref().unwrap_or(g.merge.word());
        self.add(within(&scope, merge_name), op, ends, place, false, g.loc)
    }

    /// A repeat: its steps `count` times in a row, each instance under its own name.
    fn repeat(
        &mut self,
        ctx: &Ctx<'_>,
        r: &Repeat,
        input: NodeId,
        scope: &str,
        place: &Place,
    ) -> Result<NodeId, SpecError> {
        let count = self.repeat_count(ctx, r)?;
        let scope = match &r.name {
            Some(n) => within(scope, n),
            None => scope.to_string(),
        };
        let mut cur = input;
        for k in 0..count {
            let mut vars;
            let inner = match &r.index {
                Some(i) => {
                    vars = ctx.vars.clone();
                    vars.insert(i.clone(), Lit::Int(k));
                    ctx.with_vars(&vars)
                }
                None => ctx.with_vars(ctx.vars),
            };
            let part = match &r.instance {
                None => k.to_string(),
                Some(n) => {
                    self.set_input(&inner, cur);
                    instance_name(&inner, n, k)?
                }
            };
            cur = self.steps(&inner, &r.steps, cur, &within(&scope, &part), place)?;
        }
        Ok(cur)
    }

    /// How many times a repeat runs: a whole number, at most the graph's node limit.
    fn repeat_count(&self, ctx: &Ctx<'_>, r: &Repeat) -> Result<i64, SpecError> {
        let count = match ctx.arg(&r.count)? {
            Some(Val::Int(n)) if n >= 0 => n,
            None => {
                return Err(ctx.err(
                    r.count.loc,
                    format!("{} leaves the repeat's count undefined: its cells are empty", ctx.what),
                ));
            }
            Some(v) => {
                return Err(ctx.err(
                    r.count.loc,
                    format!("{} gives the repeat count {v}, expected a whole number", ctx.what),
                ));
            }
        };
        if usize::try_from(count).map_or(true, |n| n > self.max_nodes) {
            return Err(ctx.err(
                r.count.loc,
                format!(
                    "{} repeats {count} times, more than the graph's limit of {} nodes (raise it with --max-nodes)",
                    ctx.what, self.max_nodes
                ),
            ));
        }
        Ok(count)
    }
}

/// Instance `k`'s name from the repeat's `instance:` form (`prefix{expr}suffix`), its
/// expression a whole number.
fn instance_name(inner: &Ctx<'_>, n: &InstanceName, k: i64) -> Result<String, SpecError> {
    match inner.expr(&n.expr)? {
        Some(Val::Int(v)) if v >= 0 => Ok(format!("{}{v}{}", n.prefix, n.suffix)),
        v => Err(inner.err(
            n.expr.loc,
            format!(
                "{} gives instance {k}'s name expression {} {}, expected a whole number ≥ 0",
                inner.what,
                crate::quote::quote(&n.expr.text),
                v.map_or("no value (its cells are empty)".to_string(), |v| format!(
                    "the value {v}"
                ))
            ),
        )),
    }
}

/// The most nodes a list of steps can lower to, counting each repeat once (for the message
/// of a graph over its limit, which says "at least").
pub(super) fn steps_bound(steps: &[Step]) -> usize {
    steps
        .iter()
        .map(|s| match s {
            Step::Layer(l) => match l.op {
                LayerOp::Conv => 3,
                LayerOp::SeparableConv => 4,
                LayerOp::Linear => 2,
                _ => 1,
            },
            Step::Use(_) => 1,
            Step::Group(g) => g
                .branches
                .iter()
                .map(|b| steps_bound(&b.steps))
                .fold(1usize, usize::saturating_add),
            Step::Repeat(r) => steps_bound(&r.steps),
        })
        .fold(0usize, usize::saturating_add)
}
