//! Warnings for definitions nothing uses (in the user's files; stdlib modules are exempt).
//! Name resolution marks what it resolves; this pass reads the marks.

use super::defs::Defs;
use super::refs::Ns;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{ProcKind, Program};

/// Reports unused agents, checks, artifacts, environments, procedures and epics.
pub(super) fn check(p: &Program, defs: &Defs, diags: &mut Vec<Diagnostic>) {
    for e in defs.entries() {
        if e.used.get() || p.in_stdlib(e.def.span) {
            continue;
        }
        let (noun, help) = match (e.ns, e.def.kind) {
            (Ns::Agent, _) => ("agent", "give it a task, or remove it"),
            (Ns::Check, _) => (
                "check",
                "use it in a check, verify, diagnose, gate or health step, or remove it",
            ),
            (Ns::Artifact, _) if e.item.is_some() => (
                "artifact",
                "consume it with `needs`, a handoff or a context, or remove it",
            ),
            (Ns::Environment, _) => ("environment", "deploy to it, or remove it"),
            (Ns::Epic, _) => ("epic", "give it stories with `epic`, or remove it"),
            (
                Ns::Procedure(_),
                Some(kind @ (ProcKind::Procedure | ProcKind::Heal | ProcKind::Emergency)),
            ) => (
                kind.keyword(),
                "call it from a step or a monitor rule, or remove it",
            ),
            _ => continue,
        };
        diags.push(
            Diagnostic::warning(
                Code::Unused,
                format!("{noun} `{}` is never used", e.name.name),
            )
            .at(e.def.span, "defined here")
            .help(help),
        );
    }
}
