//! Artifact flow: a step or handoff may only consume an artifact that an earlier step
//! produces (earlier in its phase, or in a phase it runs after), or that is provided.

use super::defs::Defs;
use super::refs::{CONTEXT_BUILTINS, Ns};
use super::steps::{Body, StepLint};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::Program;
use crate::model::step::{ArtifactRef, Step, StepKind};
use crate::source::Span;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

/// What is available at a point of a run. Nested lists of steps see what came before
/// them and add to it; instead of a copy per list, what a list adds is logged and rolled
/// back after it (a large workflow has a hundred thousand nested lists).
#[derive(Clone, Default)]
struct Avail<'a> {
    names: HashSet<&'a str>,
    paths: HashSet<&'a str>,
    /// Every insertion, in order, for [`Avail::rollback`].
    log: Vec<Added<'a>>,
}

/// One insertion into [`Avail`].
#[derive(Clone, Copy)]
enum Added<'a> {
    Name(&'a str),
    Path(&'a str),
}

impl<'a> Avail<'a> {
    fn add(&mut self, a: Added<'a>) {
        let new = match a {
            Added::Name(n) => self.names.insert(n),
            Added::Path(p) => self.paths.insert(p),
        };
        if new {
            self.log.push(a);
        }
    }

    fn merge(&mut self, other: &Avail<'a>) {
        for n in &other.names {
            self.add(Added::Name(n));
        }
        for p in &other.paths {
            self.add(Added::Path(p));
        }
    }

    /// The point to roll back to.
    fn mark(&self) -> usize {
        self.log.len()
    }

    /// Removes what was added since `mark`, handing it to `keep`.
    fn rollback(&mut self, mark: usize, keep: &mut Vec<Added<'a>>) {
        for a in self.log.drain(mark..) {
            match a {
                Added::Name(n) => self.names.remove(n),
                Added::Path(p) => self.paths.remove(p),
            };
            keep.push(a);
        }
    }
}

/// Who needs an artifact, for the message (made only when one is missing).
#[derive(Clone, Copy)]
enum By<'a> {
    Agent(&'a str),
    Handoff(&'a str, &'a str),
}

impl std::fmt::Display for By<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            By::Agent(a) => write!(f, "agent `{a}`"),
            By::Handoff(from, to) => write!(f, "the handoff {from} -> {to}"),
        }
    }
}

struct Flow<'a, 'd> {
    /// Declared path of each named artifact.
    paths: HashMap<&'a str, &'a str>,
    /// Where each artifact is produced, for the "produced only later" label.
    producers: HashMap<&'a str, Span>,
    defs: &'d Defs<'a>,
    diags: &'d mut Vec<Diagnostic>,
    /// While inside a branch of `parallel`: what the other branches produce.
    siblings: Vec<HashSet<&'a str>>,
}

impl<'a> Flow<'a, '_> {
    fn has(&self, avail: &Avail<'a>, r: &ArtifactRef) -> bool {
        match r {
            ArtifactRef::Named(n) => {
                avail.names.contains(n.name.as_str())
                    || self
                        .paths
                        .get(n.name.as_str())
                        .is_some_and(|p| avail.paths.contains(p))
                    || self.defs.get(Ns::Artifact, &n.name).is_none()
            }
            ArtifactRef::Path(t) => {
                avail.paths.contains(t.value.as_str())
                    || self
                        .paths
                        .iter()
                        .any(|(n, p)| *p == t.value && avail.names.contains(n))
            }
        }
    }

    fn need(&mut self, avail: &Avail<'a>, r: &ArtifactRef, by: By) {
        if self.has(avail, r) {
            return;
        }
        let (label, span) = match r {
            ArtifactRef::Named(n) => (n.name.as_str(), n.span),
            ArtifactRef::Path(t) => (t.value.as_str(), t.span),
        };
        let by_sibling = self.siblings.iter().any(|s| s.contains(label));
        let mut diag = if by_sibling {
            Diagnostic::error(
                Code::ArtifactNotProduced,
                format!("{by} needs `{label}`, which another branch of the same `parallel` produces at the same time"),
            )
            .at(span, "not produced yet when this branch starts")
            .help("produce it before the `parallel` block, or move this step after it")
        } else {
            Diagnostic::error(Code::ArtifactNotProduced, format!("{by} needs `{label}` but no earlier step produces it"))
                .at(span, "not produced yet")
                .help("produce it in an earlier step or phase, or declare it as input: `artifact name = \"path\" provided`")
        };
        if let Some(at) = self.producers.get(label) {
            let text = if by_sibling {
                "produced here, in parallel"
            } else {
                "produced only here, later or elsewhere"
            };
            diag = diag.also(*at, text);
        }
        self.diags.push(diag);
    }

    fn steps(&mut self, steps: &'a [Step], avail: &mut Avail<'a>) {
        for s in steps {
            self.step(s, avail);
        }
    }

    fn step(&mut self, s: &'a Step, avail: &mut Avail<'a>) {
        match &s.kind {
            StepKind::Task(t) => {
                let by = By::Agent(&t.agent.name);
                for n in &t.needs {
                    self.need(avail, n, by);
                }
                for c in &t.context {
                    if !CONTEXT_BUILTINS.contains(&c.name.as_str()) {
                        self.need(avail, &ArtifactRef::Named(c.clone()), by);
                    }
                }
                for p in &t.produces {
                    if let Some(n) = &p.name {
                        avail.add(Added::Name(&n.name));
                        if let Some(path) = self.paths.get(n.name.as_str()) {
                            avail.add(Added::Path(path));
                        }
                    }
                    if let Some(path) = &p.path {
                        avail.add(Added::Path(&path.value));
                    }
                }
            }
            StepKind::Handoff(h) => {
                let by = By::Handoff(&h.from.name, &h.to.name);
                for a in &h.artifacts {
                    self.need(avail, a, by);
                }
            }
            StepKind::Parallel { branches, .. } => {
                let outputs: Vec<HashSet<&'a str>> = branches
                    .iter()
                    .map(|b| {
                        let mut out = HashMap::default();
                        producers(std::slice::from_ref(b), &mut out);
                        out.into_keys().collect()
                    })
                    .collect();
                let mut added = Vec::new();
                for (i, b) in branches.iter().enumerate() {
                    let others = outputs
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != i)
                        .flat_map(|(_, o)| o.iter().copied())
                        .collect();
                    self.siblings.push(others);
                    let mark = avail.mark();
                    self.step(b, avail);
                    avail.rollback(mark, &mut added);
                    self.siblings.pop();
                }
                for a in added {
                    avail.add(a);
                }
            }
            _ => {
                // Branches, loops and handlers: each nested list sees what came before;
                // what any of them produces counts as produced afterwards.
                let mut added = Vec::new();
                s.for_each_child(|child| {
                    let mark = avail.mark();
                    self.steps(child, avail);
                    avail.rollback(mark, &mut added);
                });
                for a in added {
                    avail.add(a);
                }
            }
        }
    }
}

fn producers<'a>(steps: &'a [Step], out: &mut HashMap<&'a str, Span>) {
    crate::model::step::walk(steps, &mut |s| {
        if let StepKind::Task(t) = &s.kind {
            for p in &t.produces {
                if let Some(n) = &p.name {
                    out.entry(&n.name).or_insert(p.span);
                }
                if let Some(path) = &p.path {
                    out.entry(&path.value).or_insert(p.span);
                }
            }
        }
    });
}

/// Where each artifact is first produced, and the path of each artifact first produced
/// with one, in every body; and which procedures hold a task or a handoff, the only steps
/// that need artifacts (gathered in the shared walk, [`super::steps`]).
#[derive(Default)]
pub(super) struct Producers<'a> {
    at: HashMap<&'a str, Span>,
    paths: HashMap<&'a str, &'a str>,
    /// The procedure being walked.
    procedure: Option<u32>,
    /// Procedures with a task or a handoff, in order (a healing procedure has neither, and
    /// a large workflow has thousands of them: the flow skips them).
    consumers: Vec<u32>,
}

impl<'a> StepLint<'a> for Producers<'a> {
    fn enter(&mut self, body: Body) {
        self.procedure = match body {
            Body::Procedure(i) => Some(i),
            _ => None,
        };
    }

    fn step(&mut self, s: &'a Step, _diags: &mut Vec<Diagnostic>) {
        if let (Some(i), StepKind::Task(_) | StepKind::Handoff(_)) = (self.procedure, &s.kind)
            && self.consumers.last() != Some(&i)
        {
            self.consumers.push(i);
        }
        let StepKind::Task(t) = &s.kind else { return };
        for prod in &t.produces {
            if let Some(n) = &prod.name {
                self.at.entry(&n.name).or_insert(prod.span);
            }
            if let Some(path) = &prod.path {
                self.at.entry(&path.value).or_insert(prod.span);
            }
            if let (Some(n), Some(path)) = (&prod.name, &prod.path) {
                self.paths.entry(&n.name).or_insert(&path.value);
            }
        }
    }
}

/// Reports consumed artifacts that nothing produced before, following the phases in
/// `order` ([`Program::phase_order`]).
pub(super) fn check<'a>(
    p: &'a Program,
    order: &[usize],
    defs: &Defs<'a>,
    produced: Producers<'a>,
    diags: &mut Vec<Diagnostic>,
) {
    let mut paths: HashMap<&str, &str> = HashMap::default();
    let mut start = Avail::default();
    for a in &p.artifacts {
        paths.insert(&a.name.name, &a.path.value);
        if a.provided {
            start.names.insert(&a.name.name);
            start.paths.insert(&a.path.value);
        }
    }
    for (n, path) in produced.paths {
        paths.entry(n).or_insert(path);
    }
    let mut flow = Flow {
        siblings: Vec::new(),
        paths,
        producers: produced.at,
        defs,
        diags,
    };
    let index: HashMap<&str, usize> = p
        .phases
        .iter()
        .enumerate()
        .map(|(i, ph)| (ph.name.name.as_str(), i))
        .collect();
    // What is available after each phase is kept only until the last phase after it has
    // taken it, and moved into that one (a copy for the others): a chain of phases that
    // produce artifacts kept a growing set for every phase, quadratic.
    let mut waiting = vec![0u32; p.phases.len()];
    for ph in &p.phases {
        for a in &ph.after {
            if let Some(&j) = index.get(a.name.as_str()) {
                waiting[j] += 1;
            }
        }
    }
    // Only the phases still waited for have an entry (a few at a time along a chain).
    let mut out: HashMap<usize, Avail> = HashMap::default();
    let mut everything = start.clone();
    for &i in order {
        let ph = &p.phases[i];
        let mut before: Option<Avail> = None;
        for a in &ph.after {
            let Some(&j) = index.get(a.name.as_str()) else {
                continue;
            };
            waiting[j] -= 1;
            let last = waiting[j] == 0;
            match &mut before {
                // Every phase's set holds `start`: the first taken stands for it.
                None if last => before = out.remove(&j),
                None => before = out.get(&j).cloned(),
                Some(avail) => {
                    if let Some(prev) = out.get(&j) {
                        avail.merge(prev);
                    }
                    if last {
                        out.remove(&j);
                    }
                }
            }
        }
        let mut avail = before.unwrap_or_else(|| start.clone());
        let mark = avail.mark();
        flow.steps(&ph.body, &mut avail);
        // Everything is `start` and what each phase adds (what it has from the phases
        // before it, they added).
        for &a in &avail.log[mark..] {
            everything.add(a);
        }
        if waiting[i] > 0 {
            out.insert(i, avail);
        }
    }
    // Operations run after the product is built: they see everything the phases produce.
    let mut dropped = Vec::new();
    for &i in &produced.consumers {
        let pr = &p.procedures[i as usize];
        let mark = everything.mark();
        flow.steps(&pr.body, &mut everything);
        everything.rollback(mark, &mut dropped);
        dropped.clear();
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::Code;

    fn not_produced(src: &str) -> Vec<String> {
        crate::check_text("t.bmad", src)
            .diagnostics
            .into_iter()
            .filter(|d| d.code == Code::ArtifactNotProduced)
            .map(|d| d.message)
            .collect()
    }

    /// The flow skips procedures without a task or handoff; those with one are followed,
    /// after procedures that have none.
    #[test]
    fn a_procedure_after_a_heal_still_needs_its_artifacts() {
        let src = "import std.roles\nartifact report = \"docs/report.md\"\nartifact notes = \"docs/notes.md\"\nheal h {\n  agent self_healer\n  fix a {\n    sh \"true\"\n  }\n}\nprocedure q {\n  notify responders \"x\"\n  devops: look {\n    needs report\n  }\n}\nprocedure r {\n  handoff devops -> qa {\n    artifacts notes\n  }\n}\nmonitor m {\n  every 1m\n  pattern \"x\" => heal h\n  pattern \"y\" => call q\n  pattern \"z\" => call r\n}\n";
        assert_eq!(
            not_produced(src),
            [
                "agent `devops` needs `report` but no earlier step produces it",
                "the handoff devops -> qa needs `notes` but no earlier step produces it"
            ]
        );
    }
}
