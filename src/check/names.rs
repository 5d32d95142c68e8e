//! Name resolution: every reference must name a definition of the right kind.

// Definitions, entries and phases are numbered in u32: there are fewer of them than
// bytes in the workflow, whose files are at most 64 MiB each (load::MAX_FILE_BYTES).
#![allow(clippy::cast_possible_truncation)]

use super::defs::{Defs, Entry};
use super::refs::{AGENT_GROUPS, Ns, Owner, Ref};
use super::steps::{Body, StepLint};
use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::ir::{ProcKind, Program};
use crate::model::step::{Step, StepKind};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

/// Agent variables bound by `assign` in each phase and procedure (gathered in the shared
/// walk, [`super::steps`]).
pub(super) struct AgentVars<'a> {
    vars: HashMap<Owner, HashSet<&'a str>>,
    owner: Owner,
}

impl Default for AgentVars<'_> {
    fn default() -> Self {
        AgentVars {
            vars: HashMap::default(),
            owner: Owner::Workflow,
        }
    }
}

impl<'a> StepLint<'a> for AgentVars<'a> {
    fn wants(&self, body: Body) -> bool {
        !matches!(body, Body::Check(_))
    }

    fn enter(&mut self, body: Body) {
        self.owner = match body {
            Body::Phase(i) => Owner::Phase(i),
            Body::Procedure(i) => Owner::Procedure(i),
            Body::Check(i) => Owner::Check(i),
        };
    }

    fn step(&mut self, s: &'a Step, _diags: &mut Vec<Diagnostic>) {
        if let StepKind::Assign { var, .. } = &s.kind {
            let vars = self.vars.entry(self.owner).or_default();
            vars.insert(var.name.as_str());
        }
    }
}

/// "a check", "an emergency protocol".
pub(super) fn article(noun: &str) -> String {
    let an = noun.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {noun}", if an { "an" } else { "a" })
}

/// Namespaces a name may be found in by mistake, for "`x` is a check, not a procedure".
const OTHER_PLACES: &[Ns] = &[
    Ns::Agent,
    Ns::Check,
    Ns::Procedure(None),
    Ns::Phase,
    Ns::Environment,
    Ns::Monitor,
    Ns::Level,
    Ns::Artifact,
];

/// Every reference with the definition it resolved to: what the passes after name
/// resolution follow instead of looking names up again.
pub(super) struct Resolution<'d, 'a> {
    defs: &'d Defs<'a>,
    refs: &'d [Ref<'a>],
    /// Per reference, a position in [`Defs::entries`]; `None` for an agent group or
    /// variable, or a name that is not defined.
    targets: Vec<Option<u32>>,
}

impl<'d, 'a> Resolution<'d, 'a> {
    /// The item that stands for item `i` of `ns` (see [`Defs::first_item`]): a name
    /// defined twice is one node of a dependency graph, as it is one name.
    pub(super) fn first_item(&self, ns: Ns, i: u32) -> u32 {
        self.defs.first_item(ns, i)
    }

    /// The definition reference `r` resolved to.
    pub(super) fn target(&self, r: u32) -> Option<&'d Entry<'a>> {
        let defs = self.defs;
        self.targets[r as usize].map(|i| defs.entry(i as usize))
    }

    /// The definition at `i` of [`Defs::entries`].
    pub(super) fn entry(&self, i: u32) -> &'d Entry<'a> {
        self.defs.entry(i as usize)
    }

    /// Per reference, the position in [`Defs::entries`] of its definition.
    pub(super) fn targets(&self) -> &[Option<u32>] {
        &self.targets
    }

    /// Each reference with its definition, in the order of the references.
    pub(super) fn uses(&self) -> impl Iterator<Item = (&'d Ref<'a>, Option<&'d Entry<'a>>)> + '_ {
        let defs = self.defs;
        self.refs
            .iter()
            .zip(&self.targets)
            .map(move |(r, t)| (r, t.map(|i| defs.entry(i as usize))))
    }
}

/// Reports references that resolve to nothing, or to the wrong kind of procedure, and
/// returns what each one resolved to.
pub(super) fn check<'d, 'a>(
    defs: &'d Defs<'a>,
    refs: &'d [Ref<'a>],
    vars: &AgentVars,
    diags: &mut Vec<Diagnostic>,
) -> Resolution<'d, 'a> {
    let vars = &vars.vars;
    let mut resolved = Vec::with_capacity(refs.len());
    for r in refs {
        let name = r.key.as_str();
        // Only agents have local names (assign variables).
        let local = if r.ns == Ns::Agent {
            vars.get(&r.owner)
        } else {
            None
        };
        if r.ns == Ns::Agent
            && ((r.groups && AGENT_GROUPS.contains(&name))
                || local.is_some_and(|v| v.contains(name)))
        {
            resolved.push(None);
            continue;
        }
        let entry = defs.resolve_entry(r.ns, name);
        resolved.push(entry.map(|i| i as u32));
        if let Some(def) = entry.map(|i| defs.entry(i).def) {
            if let (Ns::Procedure(Some(want)), Some(got)) = (r.ns, def.kind)
                && want != got
            {
                let help = suggest(defs, r.ns, name, Some(want)).unwrap_or_else(|| {
                    format!(
                        "run it with `call {name}`, or define `{} {name} {{ ... }}`",
                        want.keyword()
                    )
                });
                diags.push(
                    Diagnostic::error(
                        Code::Undefined,
                        format!(
                            "`{name}` is {}, not {}",
                            article(got.keyword()),
                            article(r.ns.noun())
                        ),
                    )
                    .at(r.name.span, format!("expected {}", article(r.ns.noun())))
                    .also(
                        def.span,
                        format!("defined as {} here", article(got.keyword())),
                    )
                    .help(help),
                );
            }
        } else {
            let mut help = if r.ns == Ns::Agent {
                let groups = if r.groups { AGENT_GROUPS } else { &[] };
                let locals = local.into_iter().flatten().copied();
                did_you_mean(
                    name,
                    defs.names(r.ns).chain(groups.iter().copied()).chain(locals),
                )
            } else {
                suggest(defs, r.ns, name, None)
            };
            if help.is_none() {
                help = OTHER_PLACES
                    .iter()
                    .filter(|ns| **ns != r.ns)
                    .find_map(|ns| defs.get(*ns, name).map(|_| *ns))
                    .map(|ns| {
                        format!(
                            "`{name}` is {}, not {}",
                            article(ns.noun()),
                            article(r.ns.noun())
                        )
                    });
            }
            if help.is_none() && r.ns == Ns::Agent && r.groups {
                help = Some(format!(
                    "define it with `agent {name} {{ ... }}`, or use a group: {}",
                    AGENT_GROUPS.join(", ")
                ));
            }
            diags.push(
                Diagnostic::error(
                    Code::Undefined,
                    format!("undefined {} `{name}`", r.ns.noun()),
                )
                .at(r.name.span, format!("no {} is named `{name}`", r.ns.noun()))
                .help(
                    help.unwrap_or_else(|| format!("define the {} or fix the name", r.ns.noun())),
                ),
            );
        }
    }
    Resolution {
        defs,
        refs,
        targets: resolved,
    }
}

fn suggest(defs: &Defs, ns: Ns, name: &str, kind: Option<ProcKind>) -> Option<String> {
    let candidates: Vec<&str> = defs
        .names(ns)
        .filter(|n| kind.is_none() || defs.get(ns, n).and_then(|d| d.kind) == kind)
        .collect();
    did_you_mean(name, candidates)
}

/// A task's mode must be one of its agent's modes (a lint of the shared walk,
/// [`super::steps`]).
pub(super) struct Modes<'a> {
    agents: HashMap<&'a str, &'a crate::model::Agent>,
}

impl<'a> Modes<'a> {
    /// The lint for `p`'s agents.
    pub(super) fn new(p: &'a Program) -> Modes<'a> {
        let mut agents: HashMap<&str, &crate::model::Agent> = HashMap::default();
        for a in &p.agents {
            agents.entry(&a.name.name).or_insert(a);
        }
        Modes { agents }
    }
}

impl<'a> StepLint<'a> for Modes<'a> {
    fn wants(&self, body: Body) -> bool {
        !matches!(body, Body::Check(_))
    }

    fn step(&mut self, s: &'a Step, diags: &mut Vec<Diagnostic>) {
        let StepKind::Task(t) = &s.kind else { return };
        let Some(mode) = &t.mode else { return };
        let Some(agent) = self.agents.get(t.agent.name.as_str()) else {
            return;
        };
        if agent.modes.iter().any(|m| m.name == mode.name) {
            return;
        }
        let names: Vec<&str> = agent.modes.iter().map(|m| m.name.as_str()).collect();
        let help = did_you_mean(&mode.name, names.iter().copied()).unwrap_or_else(|| {
            if names.is_empty() {
                format!("agent `{}` declares no modes", agent.name.name)
            } else {
                format!("its modes are {}", names.join(", "))
            }
        });
        diags.push(
            Diagnostic::error(
                Code::Undefined,
                format!("agent `{}` has no mode `{}`", agent.name.name, mode.name),
            )
            .at(mode.span, "unknown mode")
            .also(agent.name.span, "agent defined here")
            .help(help),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::Code;

    fn undefined(src: &str) -> Vec<String> {
        crate::check_text("t.bmad", src)
            .diagnostics
            .into_iter()
            .filter(|d| d.code == Code::Undefined)
            .map(|d| format!("{} | {}", d.message, d.help.unwrap_or_default()))
            .collect()
    }

    #[test]
    fn agent_variables_and_groups_resolve() {
        let src = "import std.roles\nstory \"1\" backend { title \"t\" }\nphase p {\n  for story in stories {\n    assign d by story.type { backend => backend_dev }\n    d: implement\n  }\n  responders: fix\n  all_available: help\n}\n";
        assert_eq!(undefined(src), Vec::<String>::new());
    }

    #[test]
    fn an_assign_variable_is_local_to_its_construct() {
        let src = "import std.roles\nstory \"1\" backend { title \"t\" }\nphase p {\n  for story in stories {\n    assign d by story.type { backend => backend_dev }\n  }\n}\nphase q after p {\n  d: implement\n}\n";
        assert_eq!(undefined(src).len(), 1);
    }

    #[test]
    fn groups_are_not_agents_where_one_agent_is_needed() {
        let src = "import std.roles\nphase p {\n  handoff pm -> responders\n}\n";
        let found = undefined(src);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("undefined agent `responders`"));
    }

    #[test]
    fn a_procedure_of_the_wrong_kind_is_named_as_such() {
        let src = "import std.roles\nprocedure restart {\n  sh \"./restart.sh\"\n}\nphase p {\n  heal restart\n}\n";
        let found = undefined(src);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].contains("`restart` is a procedure, not a healing procedure"),
            "{found:?}"
        );
        assert!(found[0].contains("call restart"), "{found:?}");
    }

    #[test]
    fn a_name_of_another_kind_is_pointed_out() {
        let src = "import std.roles\ncheck ok = `true`\nphase p {\n  call ok\n}\n";
        assert!(undefined(src)[0].contains("`ok` is a check, not a procedure"));
    }

    #[test]
    fn suggestions_come_from_the_right_namespace() {
        let src = "import std.roles\nphase ideation {\n  analyst: x\n}\nphase design after ideaton {\n  architect: y\n}\n";
        let found = undefined(src);
        assert!(found[0].contains("did you mean `ideation`?"), "{found:?}");
    }

    #[test]
    fn resolution_marks_definitions_used() {
        let src = "import std.roles\nagent scout {\n  backend sim\n}\nagent idle {\n  backend sim\n}\nphase p {\n  scout: look\n}\n";
        let unused: Vec<String> = crate::check_text("t.bmad", src)
            .diagnostics
            .into_iter()
            .filter(|d| d.code == Code::Unused)
            .map(|d| d.message)
            .collect();
        assert_eq!(unused, ["agent `idle` is never used"]);
    }
}
