//! Verdicts: a `repeat ... until` that waits for `approved` needs a step in its body that
//! can give a verdict ([`crate::model::step::Task::is_verdict`]), and a verdict step must be
//! able to run: not in a `match` arm after `_`, not in the branch of an `if` whose
//! condition is the constant that skips it, not after a step that always fails.

use super::steps::StepLint;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::Program;
use crate::model::step::{CallKind, Cond, Step, StepKind};

/// The verdict lint of the shared walk ([`super::steps`]): loops and the lists nested in
/// steps. [`top_level`] covers the lists of phases, procedures and checks themselves.
pub(super) struct Verdicts<'p> {
    program: &'p Program,
}

impl<'p> Verdicts<'p> {
    /// The lint over `program` (a loop may get its verdict from a procedure it calls).
    pub(super) fn new(program: &'p Program) -> Verdicts<'p> {
        Verdicts { program }
    }
}

impl<'a> StepLint<'a> for Verdicts<'_> {
    fn step(&mut self, s: &'a Step, diags: &mut Vec<Diagnostic>) {
        if let StepKind::Repeat {
            body,
            until: Some(until),
            ..
        } = &s.kind
            && reads_approved(until)
            && !gives_verdict(self.program, body, &mut Vec::new())
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
pub(super) fn top_level(p: &Program, diags: &mut Vec<Diagnostic>) {
    for (_, steps) in p.bodies_of() {
        dead_after_fail(steps, diags);
    }
}

/// Whether a condition reads `approved`: the name, or the word in its rhai code outside
/// string literals.
fn reads_approved(c: &Cond) -> bool {
    match c {
        Cond::Path(n) => n.name == "approved",
        Cond::Script(s) => code_words(&s.code).any(|w| w == "approved"),
    }
}

/// The words of rhai code, string and character literals and comments left out.
fn code_words(code: &str) -> impl Iterator<Item = &str> {
    let mut words = Vec::new();
    let bytes = code.as_bytes();
    let (mut i, mut start) = (0, None);
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_alphanumeric() || c == b'_' {
            start.get_or_insert(i);
            i += 1;
            continue;
        }
        if let Some(s) = start.take() {
            words.push(&code[s..i]);
        }
        match c {
            b'"' | b'\'' | b'`' => {
                // To the closing quote, escapes skipped.
                i += 1;
                while i < bytes.len() && bytes[i] != c {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    if let Some(s) = start {
        words.push(&code[s..]);
    }
    words.into_iter()
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

/// Whether a verdict step can run in `steps`, in what they nest, or in the procedures
/// they call (`seen`: the procedures on the way, so that a cycle ends).
fn gives_verdict<'p>(p: &'p Program, steps: &'p [Step], seen: &mut Vec<&'p str>) -> bool {
    for s in steps {
        let found = match &s.kind {
            StepKind::Fail { .. } => return false,
            StepKind::Task(t) => t.is_verdict(),
            StepKind::Approve(_) => true,
            StepKind::Call {
                target,
                kind: CallKind::Call,
            } => match p.procedure(&target.name) {
                Some(pr) if !seen.contains(&target.name.as_str()) => {
                    seen.push(&target.name);
                    gives_verdict(p, &pr.body, seen)
                }
                _ => false,
            },
            StepKind::If {
                cond,
                then,
                otherwise,
            } => match constant(cond) {
                Some(true) => gives_verdict(p, then, seen),
                Some(false) => gives_verdict(p, otherwise, seen),
                None => gives_verdict(p, then, seen) || gives_verdict(p, otherwise, seen),
            },
            StepKind::Match { arms, .. } => {
                let live = arms
                    .iter()
                    .position(|a| a.pattern.name == "_")
                    .map_or(arms.len(), |i| i + 1);
                arms[..live].iter().any(|a| gives_verdict(p, &a.body, seen))
            }
            _ => {
                let mut found = false;
                s.for_each_child(|list| found = found || gives_verdict(p, list, seen));
                found
            }
        };
        if found {
            return true;
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
    crate::model::step::walk(steps, &mut |s| {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict_errors(src: &str) -> usize {
        let checked = crate::check_text("t.bmad", src);
        checked
            .diagnostics
            .iter()
            .filter(|d| d.code == Code::Verdict && d.is_error())
            .count()
    }

    #[test]
    fn words_in_strings_and_comments_do_not_read_approved() {
        let words: Vec<&str> = code_words(r#"exists("/a/approved.md") && x // approved"#).collect();
        assert_eq!(words, ["exists", "x"]);
        let words: Vec<&str> = code_words(r#"approved && 'a' != "b\"approved""#).collect();
        assert_eq!(words, ["approved"]);
    }

    #[test]
    fn a_verdict_in_a_called_procedure_counts_and_a_call_cycle_ends() {
        let head = "agent dev {\n  role \"d\"\n}\nagent qa {\n  role \"q\"\n}\n";
        let gate = "procedure gate {\n  qa: validate\n}\n";
        let looped =
            "phase p {\n  repeat max 2 {\n    dev: x\n    call gate\n  } until approved\n}\n";
        assert_eq!(verdict_errors(&format!("{head}{gate}{looped}")), 0);
        let no_gate = "procedure gate {\n  dev: y\n}\n";
        assert_eq!(verdict_errors(&format!("{head}{no_gate}{looped}")), 1);
        let cycle = "procedure gate {\n  call gate\n}\n";
        assert_eq!(verdict_errors(&format!("{head}{cycle}{looped}")), 1);
    }
}
