//! The definitions of a program by namespace; reports names defined twice.

use super::refs::Ns;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::step::{Name, StepKind, walk};
use crate::ir::{ProcKind, Program};
use crate::source::Span;
use rustc_hash::FxHashMap as HashMap;
use std::cell::Cell;

/// One definition.
#[derive(Debug, Clone, Copy)]
pub struct Def {
    /// Where it is defined.
    pub span: Span,
    /// For procedures: what kind.
    pub kind: Option<ProcKind>,
}

/// A definition with its name and whether a reference resolved to it.
#[derive(Debug)]
pub struct Entry<'a> {
    /// Its namespace.
    pub ns: Ns,
    /// Its name as written.
    pub name: &'a Name,
    /// What it is.
    pub def: Def,
    /// Defined by an item of its own (not by `produces name = ...`).
    pub item: bool,
    /// Set by name resolution.
    pub used: Cell<bool>,
}

/// All definitions, by namespace and name.
#[derive(Debug, Default)]
pub struct Defs<'a> {
    map: HashMap<(Ns, &'a str), usize>,
    entries: Vec<Entry<'a>>,
    names: HashMap<Ns, Vec<&'a str>>,
}

/// Procedures of every kind share one namespace.
fn key(ns: Ns) -> Ns {
    match ns {
        Ns::Procedure(_) => Ns::Procedure(None),
        other => other,
    }
}

impl<'a> Defs<'a> {
    /// The definition of `name` in `ns`.
    pub fn get(&self, ns: Ns, name: &str) -> Option<Def> {
        self.map.get(&(key(ns), name)).map(|i| self.entries[*i].def)
    }

    /// The definition of `name` in `ns`, marked as used.
    pub fn resolve(&self, ns: Ns, name: &str) -> Option<Def> {
        let entry = &self.entries[*self.map.get(&(key(ns), name))?];
        entry.used.set(true);
        Some(entry.def)
    }

    /// Every definition, in definition order.
    pub fn entries(&self) -> &[Entry<'a>] {
        &self.entries
    }

    /// Every name defined in `ns`, in definition order.
    pub fn names(&self, ns: Ns) -> impl Iterator<Item = &'a str> + '_ {
        self.names.get(&key(ns)).into_iter().flatten().copied()
    }

    fn define(
        &mut self,
        ns: Ns,
        name: &'a Name,
        kind: Option<ProcKind>,
        item: bool,
        p: &Program,
        diags: &mut Vec<Diagnostic>,
    ) {
        if name.name.is_empty() {
            return;
        }
        let k = key(ns);
        if let Some(first) = self
            .map
            .get(&(k, name.name.as_str()))
            .map(|i| self.entries[*i].def)
        {
            // Point at the user's own definition: a stdlib one cannot be edited.
            let stdlib = p.in_stdlib(name.span) || p.in_stdlib(first.span);
            let (mine, other) = if p.in_stdlib(name.span) {
                (first.span, name.span)
            } else {
                (name.span, first.span)
            };
            let (other_text, help) = if stdlib {
                (
                    format!("the stdlib defines `{}` here", name.name),
                    if ns.noun() == "agent" {
                        format!(
                            "to change the stdlib's agent (its backend, limits, ...), write `override agent {}`; to add your own, give it another name",
                            name.name
                        )
                    } else {
                        format!("give your {} another name, or use the stdlib's", ns.noun())
                    },
                )
            } else {
                (
                    "first defined here".to_string(),
                    format!("rename one of them or remove the second {}", ns.noun()),
                )
            };
            diags.push(
                Diagnostic::error(
                    Code::Duplicate,
                    format!("{} `{}` is defined twice", ns.noun(), name.name),
                )
                .at(mine, "defined again here")
                .also(other, other_text)
                .help(help),
            );
            return;
        }
        self.map.insert((k, &name.name), self.entries.len());
        self.entries.push(Entry {
            ns: k,
            name,
            def: Def {
                span: name.span,
                kind,
            },
            item,
            used: Cell::new(false),
        });
        self.names.entry(k).or_default().push(&name.name);
    }
}

/// Collects every definition of `p`; duplicates are reported in `diags`.
pub fn collect<'a>(p: &'a Program, diags: &mut Vec<Diagnostic>) -> Defs<'a> {
    let total = p.agents.len()
        + p.phases.len()
        + p.stories.len()
        + p.epics.len()
        + p.procedures.len()
        + p.checks.len()
        + p.environments.len()
        + p.artifacts.len();
    let mut d = Defs {
        map: HashMap::with_capacity_and_hasher(total * 2, Default::default()),
        entries: Vec::with_capacity(total),
        names: HashMap::default(),
    };
    for a in &p.agents {
        d.define(Ns::Agent, &a.name, None, true, p, diags);
    }
    for ph in &p.phases {
        d.define(Ns::Phase, &ph.name, None, true, p, diags);
    }
    for s in &p.stories {
        d.define(Ns::Story, &s.id, None, true, p, diags);
    }
    for e in &p.epics {
        d.define(Ns::Epic, &e.id, None, true, p, diags);
    }
    for pr in &p.procedures {
        d.define(
            Ns::Procedure(Some(pr.kind)),
            &pr.name,
            Some(pr.kind),
            true,
            p,
            diags,
        );
    }
    for c in &p.checks {
        d.define(Ns::Check, &c.name, None, true, p, diags);
    }
    for e in &p.environments {
        d.define(Ns::Environment, &e.name, None, true, p, diags);
    }
    for l in &p.incident_levels {
        d.define(Ns::Level, &l.name, None, true, p, diags);
    }
    for m in &p.monitors {
        d.define(Ns::Monitor, &m.name, None, true, p, diags);
    }
    for (i, m) in p.monitors.iter().enumerate() {
        for h in &m.health {
            d.define(Ns::Health(i), &h.name, None, true, p, diags);
        }
    }
    artifacts(p, &mut d, diags);
    d
}

/// Artifacts are declared by `artifact` items and by `produces name = "path"`; the same
/// name may be produced again only with the same path.
fn artifacts<'a>(p: &'a Program, d: &mut Defs<'a>, diags: &mut Vec<Diagnostic>) {
    let mut paths: HashMap<&str, (&str, Span)> = HashMap::default();
    for a in &p.artifacts {
        d.define(Ns::Artifact, &a.name, None, true, p, diags);
        paths.insert(&a.name.name, (&a.path.value, a.name.span));
    }
    let mut on_steps =
        |steps: &'a [crate::ir::step::Step], d: &mut Defs<'a>, diags: &mut Vec<Diagnostic>| {
            walk(steps, &mut |s| {
                let StepKind::Task(t) = &s.kind else { return };
                for prod in &t.produces {
                    let (Some(name), Some(path)) = (&prod.name, &prod.path) else {
                        continue;
                    };
                    match paths.get(name.name.as_str()) {
                        Some((old, _)) if *old == path.value => {}
                        Some((old, first)) => diags.push(
                            Diagnostic::error(
                                Code::Duplicate,
                                format!(
                                    "artifact `{}` is defined twice with different paths",
                                    name.name
                                ),
                            )
                            .at(name.span, format!("here it is \"{}\"", path.value))
                            .also(*first, format!("first defined as \"{old}\""))
                            .help("give the second artifact its own name"),
                        ),
                        None => {
                            paths.insert(&name.name, (&path.value, name.span));
                            d.define(Ns::Artifact, name, None, false, p, diags);
                        }
                    }
                }
            });
        };
    for ph in &p.phases {
        on_steps(&ph.body, d, diags);
    }
    for pr in &p.procedures {
        on_steps(&pr.body, d, diags);
    }
}
