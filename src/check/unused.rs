//! Warnings for definitions nothing uses (in the user's files; stdlib modules are exempt).

use super::refs::{Ns, Ref};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::step::Name;
use crate::ir::{ProcKind, Program};
use rustc_hash::FxHashSet as HashSet;

/// Reports unused agents, checks, artifacts, environments, procedures and epics.
pub fn check(p: &Program, refs: &[Ref], diags: &mut Vec<Diagnostic>) {
    let used: HashSet<(Ns, &str)> = refs
        .iter()
        .map(|r| {
            let ns = match r.ns {
                Ns::Procedure(_) => Ns::Procedure(None),
                other => other,
            };
            (ns, r.name.name.as_str())
        })
        .collect();
    let mut warn = |ns: Ns, noun: &str, name: &Name, help: &str| {
        if name.name.is_empty()
            || p.in_stdlib(name.span)
            || used.contains(&(ns, name.name.as_str()))
        {
            return;
        }
        diags.push(
            Diagnostic::warning(
                Code::Unused,
                format!("{noun} `{}` is never used", name.name),
            )
            .at(name.span, "defined here")
            .help(help.to_string()),
        );
    };
    for a in &p.agents {
        warn(
            Ns::Agent,
            Ns::Agent.noun(),
            &a.name,
            "give it a task, or remove it",
        );
    }
    for c in &p.checks {
        warn(
            Ns::Check,
            Ns::Check.noun(),
            &c.name,
            "use it in a check, verify, diagnose, gate or health step, or remove it",
        );
    }
    for a in &p.artifacts {
        warn(
            Ns::Artifact,
            Ns::Artifact.noun(),
            &a.name,
            "consume it with `needs`, a handoff or a context, or remove it",
        );
    }
    for e in &p.environments {
        warn(
            Ns::Environment,
            Ns::Environment.noun(),
            &e.name,
            "deploy to it, or remove it",
        );
    }
    for e in &p.epics {
        warn(
            Ns::Epic,
            Ns::Epic.noun(),
            &e.id,
            "give it stories with `epic`, or remove it",
        );
    }
    for pr in p.procedures.iter().filter(|x| {
        matches!(
            x.kind,
            ProcKind::Procedure | ProcKind::Heal | ProcKind::Emergency
        )
    }) {
        warn(
            Ns::Procedure(None),
            pr.kind.keyword(),
            &pr.name,
            "call it from a step or a monitor rule, or remove it",
        );
    }
}
