//! The definitions of a program by namespace; reports names defined twice.

// Definitions, entries and phases are numbered in u32: there are fewer of them than
// bytes in the workflow, whose files are at most 64 MiB each (load::MAX_FILE_BYTES).
#![allow(clippy::cast_possible_truncation)]

use super::refs::Ns;
use super::steps::{Body, StepLint};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{ProcKind, Program};
use crate::model::Story;
use crate::model::step::{Name, Step, StepKind, Text};
use crate::source::Span;
use compact_str::CompactString;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry as Slot;
use rustc_hash::FxHashMap as HashMap;
use std::cell::{Cell, OnceCell};
use std::hash::{BuildHasher, Hash, Hasher};

/// One definition.
#[derive(Debug, Clone, Copy)]
pub(super) struct Def {
    /// Where it is defined.
    pub span: Span,
    /// For procedures: what kind.
    pub kind: Option<ProcKind>,
}

/// A definition with its name and whether a reference resolved to it.
#[derive(Debug)]
pub(super) struct Entry<'a> {
    /// Its namespace.
    pub ns: Ns,
    /// Its name as written.
    pub name: &'a Name,
    /// What it is.
    pub def: Def,
    /// Its position among the program's items of its kind (`p.stories[i]`, ...); `None`
    /// for an artifact defined by `produces name = ...` rather than an item of its own.
    pub item: Option<u32>,
    /// Set by name resolution.
    pub used: Cell<bool>,
    /// A copy of the name, compared by lookups: the definition itself is far away in a
    /// large program, and following `name` for each lookup would miss the cache.
    key: CompactString,
}

/// All definitions, by namespace and name.
#[derive(Debug, Default)]
pub(super) struct Defs<'a> {
    /// Indexes into `entries`, found by the hash of namespace and name: four bytes a slot,
    /// so the table of a large workflow stays in the processor's cache.
    index: HashTable<u32>,
    entries: Vec<Entry<'a>>,
    /// Items that define a name again, by namespace and position, with the position of
    /// the item that defined it first (usually empty).
    again: HashMap<(Ns, u32), u32>,
    /// Positions in `entries` by namespace, made when a suggestion first needs them.
    by_ns: OnceCell<HashMap<Ns, Vec<u32>>>,
}

fn hash(ns: Ns, name: &str) -> u64 {
    let mut h = rustc_hash::FxBuildHasher.build_hasher();
    ns.hash(&mut h);
    name.hash(&mut h);
    h.finish()
}

/// Procedures of every kind share one namespace.
fn key(ns: Ns) -> Ns {
    match ns {
        Ns::Procedure(_) => Ns::Procedure(None),
        other => other,
    }
}

impl<'a> Defs<'a> {
    /// The position in `entries` of `name` in `ns`.
    fn find(&self, ns: Ns, name: &str) -> Option<usize> {
        let ns = key(ns);
        self.index
            .find(hash(ns, name), |&i| {
                let e = &self.entries[i as usize];
                e.ns == ns && e.key == name
            })
            .map(|&i| i as usize)
    }

    /// The definition of `name` in `ns`.
    pub(super) fn get(&self, ns: Ns, name: &str) -> Option<Def> {
        self.find(ns, name).map(|i| self.entries[i].def)
    }

    /// The definition at `i` of [`Defs::entries`].
    pub(super) fn entry(&self, i: usize) -> &Entry<'a> {
        &self.entries[i]
    }

    /// The definition of `name` in `ns`, marked as used: its position in
    /// [`Defs::entries`].
    pub(super) fn resolve_entry(&self, ns: Ns, name: &str) -> Option<usize> {
        let i = self.find(ns, name)?;
        self.entries[i].used.set(true);
        Some(i)
    }

    /// The item that stands for item `i` of `ns`: the first definition of its name when
    /// `i` defines the name again (a duplicate, reported), else `i` itself.
    pub(super) fn first_item(&self, ns: Ns, i: u32) -> u32 {
        if self.again.is_empty() {
            return i;
        }
        self.again.get(&(key(ns), i)).copied().unwrap_or(i)
    }

    /// Defines story `i` of `p`.
    pub(super) fn story(
        &mut self,
        i: usize,
        s: &'a Story,
        p: &Program,
        diags: &mut Vec<Diagnostic>,
    ) {
        self.define(Ns::Story, &s.id, None, Some(i), p, diags);
    }

    /// Every definition, in definition order.
    pub(super) fn entries(&self) -> &[Entry<'a>] {
        &self.entries
    }

    /// Every name defined in `ns`, in definition order (for suggestions; the lists by
    /// namespace are made on the first call, so a clean check never pays for them).
    pub(super) fn names(&self, ns: Ns) -> impl Iterator<Item = &'a str> + '_ {
        let lists = self.by_ns.get_or_init(|| {
            let mut lists: HashMap<Ns, Vec<u32>> = HashMap::default();
            for (i, e) in self.entries.iter().enumerate() {
                lists.entry(e.ns).or_default().push(i as u32);
            }
            lists
        });
        lists
            .get(&key(ns))
            .into_iter()
            .flatten()
            .map(|&i| self.entries[i as usize].name.name.as_str())
    }

    fn define(
        &mut self,
        ns: Ns,
        name: &'a Name,
        kind: Option<ProcKind>,
        item: Option<usize>,
        p: &Program,
        diags: &mut Vec<Diagnostic>,
    ) {
        if name.name.is_empty() {
            return;
        }
        let k = key(ns);
        let entries = &self.entries;
        let slot = self.index.entry(
            hash(k, &name.name),
            |&i| {
                let e = &entries[i as usize];
                e.ns == k && e.key == name.name
            },
            |&i| {
                let e = &entries[i as usize];
                hash(e.ns, &e.key)
            },
        );
        let first = match slot {
            Slot::Occupied(o) => {
                let e = &entries[*o.get() as usize];
                if let (Some(again), Some(first)) = (item, e.item) {
                    self.again.insert((k, again as u32), first);
                }
                Some(e.def)
            }
            Slot::Vacant(v) => {
                v.insert(entries.len() as u32);
                None
            }
        };
        if let Some(first) = first {
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
        self.entries.push(Entry {
            ns: k,
            name,
            def: Def {
                span: name.span,
                kind,
            },
            item: item.map(|i| i as u32),
            used: Cell::new(false),
            key: name.name.clone(),
        });
    }
}

/// Artifacts named and placed by `produces name = "path"` in phases and procedures, in
/// the order of the program (gathered in the shared walk, [`super::steps`]).
#[derive(Default)]
pub(super) struct Produced<'a> {
    list: Vec<(&'a Name, &'a Text)>,
}

impl<'a> StepLint<'a> for Produced<'a> {
    fn wants(&self, body: Body) -> bool {
        !matches!(body, Body::Check(_))
    }

    fn step(&mut self, s: &'a Step, _diags: &mut Vec<Diagnostic>) {
        let StepKind::Task(t) = &s.kind else { return };
        for prod in &t.produces {
            if let (Some(name), Some(path)) = (&prod.name, &prod.path) {
                self.list.push((name, path));
            }
        }
    }
}

/// Collects every definition of `p` but its stories ([`Defs::story`]; the artifacts its
/// steps produce are in `produced`); duplicates are reported in `diags`.
pub(super) fn collect<'a>(
    p: &'a Program,
    produced: &Produced<'a>,
    diags: &mut Vec<Diagnostic>,
) -> Defs<'a> {
    let total = p.agents.len()
        + p.phases.len()
        + p.stories.len()
        + p.epics.len()
        + p.procedures.len()
        + p.checks.len()
        + p.environments.len()
        + p.artifacts.len();
    let mut d = Defs {
        index: HashTable::with_capacity(total),
        entries: Vec::with_capacity(total),
        again: HashMap::default(),
        by_ns: OnceCell::new(),
    };
    for (i, a) in p.agents.iter().enumerate() {
        d.define(Ns::Agent, &a.name, None, Some(i), p, diags);
    }
    for (i, ph) in p.phases.iter().enumerate() {
        d.define(Ns::Phase, &ph.name, None, Some(i), p, diags);
    }
    for (i, e) in p.epics.iter().enumerate() {
        d.define(Ns::Epic, &e.id, None, Some(i), p, diags);
    }
    for (i, pr) in p.procedures.iter().enumerate() {
        let ns = Ns::Procedure(Some(pr.kind));
        d.define(ns, &pr.name, Some(pr.kind), Some(i), p, diags);
    }
    for (i, c) in p.checks.iter().enumerate() {
        d.define(Ns::Check, &c.name, None, Some(i), p, diags);
    }
    for (i, e) in p.environments.iter().enumerate() {
        d.define(Ns::Environment, &e.name, None, Some(i), p, diags);
    }
    for (i, l) in p.incident_levels.iter().enumerate() {
        d.define(Ns::Level, &l.name, None, Some(i), p, diags);
    }
    for (i, m) in p.monitors.iter().enumerate() {
        d.define(Ns::Monitor, &m.name, None, Some(i), p, diags);
    }
    for (i, m) in p.monitors.iter().enumerate() {
        for (j, h) in m.health.iter().enumerate() {
            d.define(Ns::Health(i as u32), &h.name, None, Some(j), p, diags);
        }
    }
    artifacts(p, produced, &mut d, diags);
    d
}

/// Artifacts are declared by `artifact` items and by `produces name = "path"`; the same
/// name may be produced again only with the same path.
fn artifacts<'a>(
    p: &'a Program,
    produced: &Produced<'a>,
    d: &mut Defs<'a>,
    diags: &mut Vec<Diagnostic>,
) {
    let mut paths: HashMap<&str, (&str, Span)> = HashMap::default();
    for (i, a) in p.artifacts.iter().enumerate() {
        d.define(Ns::Artifact, &a.name, None, Some(i), p, diags);
        paths.insert(&a.name.name, (&a.path.value, a.name.span));
    }
    for &(name, path) in &produced.list {
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
                d.define(Ns::Artifact, name, None, None, p, diags);
            }
        }
    }
}
