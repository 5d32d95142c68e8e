//! Every use of a name in a program, with what kind of definition it must resolve to and
//! which construct it sits in. Name resolution, reachability and unused-definition
//! warnings all read this one list.

// Definitions, entries and phases are numbered in u32: there are fewer of them than
// bytes in the workflow, whose files are at most 64 MiB each (load::MAX_FILE_BYTES).
#![allow(clippy::cast_possible_truncation)]

use super::defs::Defs;
use super::steps::{Body, StepLint};
use crate::diagnostic::Diagnostic;
use crate::ir::{ProcKind, Program};
use crate::model::step::{ArtifactRef, CallKind, Name, Step, StepKind};
use crate::model::{ActionKind, Actions, Gate, HealthProbe, Story};
use crate::source::Span;
use compact_str::CompactString;

/// What a name must resolve to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Ns {
    /// An agent (or an agent variable / group where allowed).
    Agent,
    /// A phase.
    Phase,
    /// A story.
    Story,
    /// An epic.
    Epic,
    /// A procedure of any kind, or of one kind.
    Procedure(Option<ProcKind>),
    /// A check.
    Check,
    /// An environment.
    Environment,
    /// An incident level.
    Level,
    /// A monitor.
    Monitor,
    /// An artifact.
    Artifact,
    /// A health check of the monitor with this index.
    Health(u32),
}

impl Ns {
    /// What it is called in messages.
    pub(super) fn noun(self) -> &'static str {
        match self {
            Ns::Agent => "agent",
            Ns::Phase => "phase",
            Ns::Story => "story",
            Ns::Epic => "epic",
            Ns::Procedure(Some(ProcKind::Heal)) => "healing procedure",
            Ns::Procedure(Some(ProcKind::Emergency)) => "emergency protocol",
            Ns::Procedure(_) => "procedure",
            Ns::Check => "check",
            Ns::Environment => "environment",
            Ns::Level => "incident level",
            Ns::Monitor => "monitor",
            Ns::Artifact => "artifact",
            Ns::Health(_) => "health check",
        }
    }
}

/// The construct a reference is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Owner {
    /// The workflow entry.
    Workflow,
    /// Phase by index.
    Phase(u32),
    /// Procedure by index.
    Procedure(u32),
    /// Monitor by index.
    Monitor(u32),
    /// Check by index.
    Check(u32),
    /// Environment by index (its gate and `after`).
    Environment(u32),
    /// Story by index (its `after` and epic).
    Story(u32),
    /// Anything else (incident levels).
    Other,
}

/// One use of a name.
#[derive(Debug, Clone)]
pub(super) struct Ref<'a> {
    /// What it must resolve to.
    pub ns: Ns,
    /// The name as written.
    pub name: &'a Name,
    /// Where it is written.
    pub owner: Owner,
    /// Agent groups (`responders`, `all_available`, ...) are allowed here.
    pub groups: bool,
    /// A copy of the name, copied while it is in the cache, for name resolution: a large
    /// program's references are far apart, and following `name` to each would miss it.
    pub key: CompactString,
}

/// One `after` of a story, in the order written.
#[derive(Debug, Clone, Copy)]
pub(super) struct After {
    /// The story that waits: its position among the program's stories.
    pub from: u32,
    /// The story it waits for.
    pub to: AfterTo,
    /// Where the `after` names it.
    pub at: Span,
}

/// What an [`After`] names.
#[derive(Debug, Clone, Copy)]
pub(super) enum AfterTo {
    /// A story defined before it, found while the stories were collected: its position
    /// in [`Defs::entries`].
    Entry(u32),
    /// A story not defined yet at that point: reference `i` of the list, left to name
    /// resolution.
    Ref(u32),
}

/// Agent groups that stand for several agents at run time.
pub(super) const AGENT_GROUPS: &[&str] = &[
    "all_available",
    "responders",
    "all_stakeholders",
    "affected_agents",
];

/// Names a task's `context` may use besides artifacts.
pub(super) const CONTEXT_BUILTINS: &[&str] = &["story", "dependencies", "qa_feedback", "incident"];

/// Collects every reference of a program: those in steps during the shared walk
/// ([`super::steps`]), the stories' in [`Collector::story`], the others in
/// [`Collector::new`] and [`Collector::finish`].
pub(super) struct Collector<'a> {
    p: &'a Program,
    refs: Vec<Ref<'a>>,
    owner: Owner,
    /// Every story's `after`, in order.
    afters: Vec<After>,
}

impl<'a> Collector<'a> {
    fn add(&mut self, ns: Ns, name: &'a Name) {
        self.push(ns, name, false);
    }

    fn push(&mut self, ns: Ns, name: &'a Name, groups: bool) {
        if !name.name.is_empty() {
            self.refs.push(Ref {
                ns,
                name,
                owner: self.owner,
                groups,
                key: name.name.clone(),
            });
        }
    }

    fn refs_in(&mut self, step: &'a Step) {
        match &step.kind {
            StepKind::Task(t) => {
                self.push(Ns::Agent, &t.agent, true);
                for n in &t.needs {
                    if let ArtifactRef::Named(n) = n {
                        self.add(Ns::Artifact, n);
                    }
                }
                for prod in &t.produces {
                    if let (Some(name), None) = (&prod.name, &prod.path) {
                        self.add(Ns::Artifact, name);
                    }
                }
                for c in &t.context {
                    if !CONTEXT_BUILTINS.contains(&c.name.as_str()) {
                        self.add(Ns::Artifact, c);
                    }
                }
            }
            StepKind::Handoff(h) => {
                self.add(Ns::Agent, &h.from);
                self.add(Ns::Agent, &h.to);
                for a in &h.artifacts {
                    if let ArtifactRef::Named(n) = a {
                        self.add(Ns::Artifact, n);
                    }
                }
            }
            StepKind::Check { checks, .. } => checks.iter().for_each(|c| self.add(Ns::Check, c)),
            StepKind::Call { target, kind } => {
                let ns = match kind {
                    CallKind::Heal => Ns::Procedure(Some(ProcKind::Heal)),
                    CallKind::Call => Ns::Procedure(None),
                };
                self.add(ns, target);
            }
            StepKind::Escalate { level } => self.add(Ns::Level, level),
            StepKind::Alert { to: Some(to), .. } => self.push(Ns::Agent, to, true),
            StepKind::Notify { to, .. } => to.iter().for_each(|a| self.push(Ns::Agent, a, true)),
            StepKind::Deploy { environment, by } => {
                self.add(Ns::Environment, environment);
                if let Some(by) = by {
                    self.add(Ns::Agent, by);
                }
            }
            StepKind::Rollback { environment } => self.add(Ns::Environment, environment),
            StepKind::Assign { arms, .. } => {
                for a in arms {
                    self.add(Ns::Agent, &a.agent);
                }
            }
            StepKind::Watch { monitor } => self.add(Ns::Monitor, monitor),
            _ => {}
        }
    }

    fn actions(&mut self, actions: &'a Actions) {
        for a in &actions.list {
            match &a.kind {
                ActionKind::Alert { to: Some(to), .. } => self.push(Ns::Agent, to, true),
                ActionKind::Alert { .. } => {}
                ActionKind::Scale { target } | ActionKind::Call { target } => {
                    self.add(Ns::Procedure(None), target);
                }
                ActionKind::Heal { target } => {
                    self.add(Ns::Procedure(Some(ProcKind::Heal)), target);
                }
                ActionKind::Emergency { target } => {
                    self.add(Ns::Procedure(Some(ProcKind::Emergency)), target);
                }
                ActionKind::Escalate { level } => self.add(Ns::Level, level),
            }
        }
    }
}

impl<'a> StepLint<'a> for Collector<'a> {
    fn enter(&mut self, body: Body) {
        let p = self.p;
        match body {
            Body::Phase(i) => {
                self.owner = Owner::Phase(i);
                let phase = &p.phases[i as usize];
                phase.after.iter().for_each(|a| self.add(Ns::Phase, a));
            }
            Body::Procedure(i) => {
                self.owner = Owner::Procedure(i);
                let proc = &p.procedures[i as usize];
                if let Some(a) = &proc.agent {
                    self.add(Ns::Agent, a);
                }
                proc.team.iter().for_each(|a| self.add(Ns::Agent, a));
            }
            Body::Check(i) => self.owner = Owner::Check(i),
        }
    }

    fn step(&mut self, s: &'a Step, _diags: &mut Vec<Diagnostic>) {
        self.refs_in(s);
    }
}

impl<'a> Collector<'a> {
    /// A collector for `p`, holding the references that come before every body.
    pub(super) fn new(p: &'a Program) -> Collector<'a> {
        let mut c = Collector {
            p,
            refs: Vec::with_capacity(p.procedures.len() * 8 + 64),
            owner: Owner::Workflow,
            afters: Vec::with_capacity(p.stories.len() * 2),
        };
        if let Some(start) = p.workflow.as_ref().and_then(|w| w.start.as_ref()) {
            c.add(Ns::Phase, start);
        }
        c
    }

    /// The references of story `i`, defined in `defs` with the stories before it: its
    /// `after` and its epic. A name already defined is resolved here, while the story is
    /// in the processor's cache (a workflow can have a hundred thousand stories, each
    /// after the one before), and marked used; the others are left to name resolution.
    pub(super) fn story(&mut self, i: usize, s: &'a Story, defs: &Defs) {
        self.owner = Owner::Story(i as u32);
        for a in s.after.iter().filter(|a| !a.name.is_empty()) {
            let to = if let Some(e) = defs.resolve_entry(Ns::Story, &a.name) {
                AfterTo::Entry(e as u32)
            } else {
                self.add(Ns::Story, a);
                AfterTo::Ref(self.refs.len() as u32 - 1)
            };
            let from = i as u32;
            self.afters.push(After {
                from,
                to,
                at: a.span,
            });
        }
        if let Some(e) = &s.epic
            && defs.resolve_entry(Ns::Epic, &e.name).is_none()
        {
            self.add(Ns::Epic, e);
        }
    }

    /// Every reference of the program left to name resolution (those of the walk and the
    /// stories, then the others outside steps), and every story's `after`.
    pub(super) fn finish(mut self) -> (Vec<Ref<'a>>, Vec<After>) {
        let (p, c) = (self.p, &mut self);
        for (i, m) in p.monitors.iter().enumerate() {
            c.owner = Owner::Monitor(i as u32);
            if let Some(a) = &m.agent {
                c.add(Ns::Agent, a);
            }
            for h in &m.health {
                if let HealthProbe::Check { check } = &h.probe {
                    c.add(Ns::Check, check);
                }
                if let Some(a) = &h.actions {
                    c.actions(a);
                }
            }
            for r in &m.metrics {
                if let Some(of) = &r.of {
                    c.add(Ns::Health(i as u32), of);
                }
                c.actions(&r.actions);
            }
            for r in &m.patterns {
                // A standard severity word needs no level of that name.
                if let Some(s) = r
                    .severity
                    .as_ref()
                    .filter(|s| !crate::ir::vocab::SEVERITIES.contains(&s.name.as_str()))
                {
                    c.add(Ns::Level, s);
                }
                c.actions(&r.actions);
            }
            for r in &m.on_status {
                c.actions(&r.actions);
            }
        }
        for (i, env) in p.environments.iter().enumerate() {
            c.owner = Owner::Environment(i as u32);
            if let Some(a) = &env.after {
                c.add(Ns::Environment, a);
            }
            if let Some(Gate::Checks { checks }) = &env.gate {
                for x in checks {
                    c.add(Ns::Check, x);
                }
            }
        }
        c.owner = Owner::Other;
        for l in &p.incident_levels {
            l.agents.iter().for_each(|a| c.push(Ns::Agent, a, true));
        }
        (self.refs, self.afters)
    }
}
