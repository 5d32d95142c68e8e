//! Artifact flow: a step or handoff may only consume an artifact that an earlier step
//! produces (earlier in its phase, or in a phase it runs after), or that is provided.

use super::defs::Defs;
use super::refs::{CONTEXT_BUILTINS, Ns};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::Program;
use crate::ir::step::{ArtifactRef, Step, StepKind};
use crate::source::Span;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

/// What is available at a point of a run.
#[derive(Clone, Default)]
struct Avail<'a> {
    names: HashSet<&'a str>,
    paths: HashSet<&'a str>,
}

impl<'a> Avail<'a> {
    fn merge(&mut self, other: &Avail<'a>) {
        self.names.extend(other.names.iter().copied());
        self.paths.extend(other.paths.iter().copied());
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

    fn need(&mut self, avail: &Avail<'a>, r: &ArtifactRef, by: &str) {
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
                let by = format!("agent `{}`", t.agent.name);
                for n in &t.needs {
                    self.need(avail, n, &by);
                }
                for c in &t.context {
                    if !CONTEXT_BUILTINS.contains(&c.name.as_str()) {
                        self.need(avail, &ArtifactRef::Named(c.clone()), &by);
                    }
                }
                for p in &t.produces {
                    if let Some(n) = &p.name {
                        avail.names.insert(&n.name);
                        if let Some(path) = self.paths.get(n.name.as_str()) {
                            avail.paths.insert(path);
                        }
                    }
                    if let Some(path) = &p.path {
                        avail.paths.insert(&path.value);
                    }
                }
            }
            StepKind::Handoff(h) => {
                let by = format!("the handoff {} -> {}", h.from.name, h.to.name);
                for a in &h.artifacts {
                    self.need(avail, a, &by);
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
                let start = avail.clone();
                for (i, b) in branches.iter().enumerate() {
                    let others = outputs
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != i)
                        .flat_map(|(_, o)| o.iter().copied())
                        .collect();
                    self.siblings.push(others);
                    let mut mine = start.clone();
                    self.step(b, &mut mine);
                    self.siblings.pop();
                    avail.merge(&mine);
                }
            }
            _ => {
                // Branches, loops and handlers: each nested list sees what came before;
                // what any of them produces counts as produced afterwards.
                let start = avail.clone();
                let mut lists = Vec::new();
                s.for_each_child(|child| lists.push(child));
                for child in lists {
                    let mut mine = start.clone();
                    self.steps(child, &mut mine);
                    avail.merge(&mine);
                }
            }
        }
    }
}

fn producers<'a>(steps: &'a [Step], out: &mut HashMap<&'a str, Span>) {
    crate::ir::step::walk(steps, &mut |s| {
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

/// Reports consumed artifacts that nothing produced before.
pub fn check<'a>(p: &'a Program, defs: &Defs<'a>, diags: &mut Vec<Diagnostic>) {
    let mut paths: HashMap<&str, &str> = HashMap::default();
    let mut start = Avail::default();
    for a in &p.artifacts {
        paths.insert(&a.name.name, &a.path.value);
        if a.provided {
            start.names.insert(&a.name.name);
            start.paths.insert(&a.path.value);
        }
    }
    let mut prods = HashMap::default();
    for body in p.bodies() {
        producers(body, &mut prods);
        crate::ir::step::walk(body, &mut |s| {
            if let StepKind::Task(t) = &s.kind {
                for prod in &t.produces {
                    if let (Some(n), Some(path)) = (&prod.name, &prod.path) {
                        paths.entry(&n.name).or_insert(&path.value);
                    }
                }
            }
        });
    }
    let mut flow = Flow {
        siblings: Vec::new(),
        paths,
        producers: prods,
        defs,
        diags,
    };
    let index: HashMap<&str, usize> = p
        .phases
        .iter()
        .enumerate()
        .map(|(i, ph)| (ph.name.name.as_str(), i))
        .collect();
    let mut out: Vec<Option<Avail>> = vec![None; p.phases.len()];
    let mut everything = start.clone();
    for i in p.phase_order() {
        let ph = &p.phases[i];
        let mut avail = start.clone();
        for a in &ph.after {
            if let Some(prev) = index.get(a.name.as_str()).and_then(|j| out[*j].as_ref()) {
                avail.merge(prev);
            }
        }
        flow.steps(&ph.body, &mut avail);
        everything.merge(&avail);
        out[i] = Some(avail);
    }
    // Operations run after the product is built: they see everything the phases produce.
    for pr in &p.procedures {
        let mut avail = everything.clone();
        flow.steps(&pr.body, &mut avail);
    }
}
