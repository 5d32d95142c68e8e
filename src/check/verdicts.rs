//! Verdicts: a `repeat ... until` that waits for `approved` needs a step in its body that
//! can give a verdict ([`crate::ir::step::Task::is_verdict`]), and a verdict step must be
//! able to run: not in a `match` arm after `_`, not in the branch of an `if` whose
//! condition is the constant that skips it, not after a step that always fails.

use super::steps::StepLint;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::Program;
use crate::ir::step::{Cond, Step, StepKind};

/// The verdict lint of the shared walk ([`super::steps`]): loops and the lists nested in
/// steps. [`top_level`] covers the lists of phases, procedures and checks themselves.
pub struct Verdicts;

impl<'a> StepLint<'a> for Verdicts {
    fn step(&mut self, s: &'a Step, diags: &mut Vec<Diagnostic>) {
        if let StepKind::Repeat {
            body,
            until: Some(until),
            ..
        } = &s.kind
            && reads_approved(until)
            && !gives_verdict(body)
        {
            diags.push(
                Diagnostic::error(
                    Code::Verdict,
                    "this loop waits for `approved`, but no step in it can give a verdict",
                )
                .at(
                    s.span,
                    "`approved` never becomes true: every story escalates",
                )
                .help(
                    "mark the step that approves or rejects: `qa: run_tests { verdict }` \
                     (a task with `tests`, or named validate, review or approve, is one too)",
                ),
            );
        }
        match &s.kind {
            StepKind::If {
                cond,
                then,
                otherwise,
            } => {
                let (dead, live) = match constant(cond) {
                    Some(true) => (Some(otherwise), then),
                    Some(false) => (Some(then), otherwise),
                    None => (None, then),
                };
                if let Some(dead) = dead {
                    report_all(
                        dead,
                        "its `if` condition is a constant that skips it",
                        diags,
                    );
                } else {
                    dead_after_fail(otherwise, diags);
                }
                dead_after_fail(live, diags);
            }
            // Arms after a `_` arm never run.
            StepKind::Match { arms, .. } => {
                let mut dead = false;
                for arm in arms {
                    if dead {
                        report_all(&arm.body, "it is in a `match` arm after `_`", diags);
                    } else {
                        dead_after_fail(&arm.body, diags);
                    }
                    dead |= arm.pattern.name == "_";
                }
            }
            _ => s.for_each_child(|list| dead_after_fail(list, diags)),
        }
    }
}

/// The verdict steps that can never run in the top-level lists of `p`'s bodies.
pub fn top_level(p: &Program, diags: &mut Vec<Diagnostic>) {
    for (_, steps) in p.bodies_of() {
        dead_after_fail(steps, diags);
    }
}

/// Whether a condition reads `approved` (as a name or a word of its rhai code).
fn reads_approved(c: &Cond) -> bool {
    match c {
        Cond::Path(n) => n.name == "approved",
        Cond::Script(s) => s
            .code
            .split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
            .any(|w| w == "approved"),
    }
}

/// `true` or `false` when a condition is that constant.
fn constant(c: &Cond) -> Option<bool> {
    let text = match c {
        Cond::Path(n) => n.name.as_str(),
        Cond::Script(s) => s.code.trim(),
    };
    match text {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Whether a verdict step can run in `steps` (or in what they nest).
fn gives_verdict(steps: &[Step]) -> bool {
    for s in steps {
        match &s.kind {
            StepKind::Fail { .. } => return false,
            StepKind::Task(t) if t.is_verdict() => return true,
            StepKind::If {
                cond,
                then,
                otherwise,
            } => {
                let live = match constant(cond) {
                    Some(true) => gives_verdict(then),
                    Some(false) => gives_verdict(otherwise),
                    None => gives_verdict(then) || gives_verdict(otherwise),
                };
                if live {
                    return true;
                }
            }
            StepKind::Match { arms, .. } => {
                for arm in arms {
                    if gives_verdict(&arm.body) {
                        return true;
                    }
                    if arm.pattern.name == "_" {
                        break;
                    }
                }
            }
            _ => {
                let mut found = false;
                s.for_each_child(|list| found |= gives_verdict(list));
                if found {
                    return true;
                }
            }
        }
    }
    false
}

/// Reports the verdict steps of `steps` that follow a step that always fails (the `fail`
/// that ends a heal's chain of fixes; the language has no such step of its own today).
fn dead_after_fail(steps: &[Step], diags: &mut Vec<Diagnostic>) {
    if let Some(i) = steps
        .iter()
        .position(|s| matches!(s.kind, StepKind::Fail { .. }))
    {
        report_all(&steps[i + 1..], "it comes after `fail`", diags);
    }
}

/// Reports every verdict step in `steps` and what they nest as one that never runs.
fn report_all(steps: &[Step], why: &str, diags: &mut Vec<Diagnostic>) {
    crate::ir::step::walk(steps, &mut |s| {
        if let StepKind::Task(t) = &s.kind
            && t.is_verdict()
        {
            // From the agent to its last task name: a step's span runs on to what follows.
            let end = t.tasks.last().map_or(t.agent.span.end, |n| n.span.end);
            let at = crate::source::Span {
                end,
                ..t.agent.span
            };
            diags.push(
                Diagnostic::warning(Code::Verdict, "this verdict step can never run")
                    .at(at, format!("never runs: {why}"))
                    .help("move it where it runs, or remove it"),
            );
        }
    });
}
