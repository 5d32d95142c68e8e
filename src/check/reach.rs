//! Reachability and loop bounds: phases the workflow can never enter, procedures only
//! reachable from dead code, loops without a maximum, procedures that call themselves.

use super::cycles::{CycleWords, DepGraph};
use super::names::Resolution;
use super::refs::{Ns, Owner};
use super::steps::StepLint;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{ProcKind, Program};
use crate::model::step::{Step, StepKind};
use crate::source::Span;

/// Reports unreachable phases and procedures, given which phases are reached
/// ([`Program::reachable_phases`]); [`Loops`] reports unbounded loops.
pub(super) fn check(
    p: &Program,
    reached: &[bool],
    names: &Resolution,
    diags: &mut Vec<Diagnostic>,
) {
    phases(p, reached, diags);
    procedures(p, names, reached, diags);
}

/// Loops without a maximum, in every body (a lint of the shared walk, [`super::steps`]).
pub(super) struct Loops;

impl<'a> StepLint<'a> for Loops {
    fn step(&mut self, s: &'a Step, diags: &mut Vec<Diagnostic>) {
        if let StepKind::Repeat { max: None, .. } = &s.kind {
            diags.push(
                Diagnostic::error(Code::UnboundedLoop, "this loop has no maximum")
                    .at(s.span, "can go round for ever")
                    .help("bound it: `repeat max 3 { ... } until ...`; when the maximum is reached the work is escalated"),
            );
        }
    }
}

/// Phases not reached from the workflow's start (or from every phase with no `after` when
/// there is no start) through `after`.
fn phases(p: &Program, live: &[bool], diags: &mut Vec<Diagnostic>) {
    let start = p.workflow.as_ref().and_then(|w| w.start.as_ref());
    let defined = |name: &str| p.phases.iter().any(|x| x.name.name == name);
    for (i, ph) in p.phases.iter().enumerate() {
        if live[i] || p.in_stdlib(ph.span) {
            continue;
        }
        // A phase after an undefined one: the undefined name is the error to fix, and it is
        // reported already; that the phase cannot run follows from it.
        if ph.after.iter().any(|a| !defined(&a.name)) {
            continue;
        }
        let mut d = Diagnostic::error(
            Code::Unreachable,
            format!("phase `{}` can never run", ph.name.name),
        )
        .at(ph.name.span, "unreachable");
        d = match start {
            Some(s) => d.also(s.span, "the workflow starts here").help(format!(
                "run it after a phase the workflow reaches: `phase {} after ...`",
                ph.name.name
            )),
            None => d.help("run it after a phase the workflow reaches"),
        };
        diags.push(d);
    }
}

/// Procedures reachable from the live phases, the monitors, the scheduled jobs and the
/// incident workflow; procedures that call each other in a cycle.
fn procedures(p: &Program, names: &Resolution, live_phases: &[bool], diags: &mut Vec<Diagnostic>) {
    // Every use of a procedure: who uses it, which procedure, where.
    let uses: Vec<(Owner, u32, Span)> = names
        .uses()
        .filter(|(r, _)| matches!(r.ns, Ns::Procedure(_)))
        .filter_map(|(r, entry)| {
            let entry = entry?;
            matches!(entry.ns, Ns::Procedure(_)).then_some((r.owner, entry.item?, r.name.span))
        })
        .collect();
    let mut calls_from = vec![Vec::new(); p.procedures.len()];
    let mut referenced = vec![false; p.procedures.len()];
    for (owner, j, _) in &uses {
        if let Owner::Procedure(i) = owner {
            calls_from[*i as usize].push(*j as usize);
        }
        referenced[*j as usize] = true;
    }
    let scheduled = p
        .procedures
        .iter()
        .enumerate()
        .filter(|(_, x)| matches!(x.kind, ProcKind::Maintenance | ProcKind::Incident))
        .map(|(i, _)| i);
    let called_from_live = uses.iter().filter_map(|(owner, j, _)| {
        let live = match owner {
            Owner::Phase(i) => live_phases[*i as usize],
            Owner::Monitor(_) | Owner::Check(_) | Owner::Environment(_) => true,
            _ => false,
        };
        live.then_some(*j as usize)
    });
    let mut work: Vec<usize> = scheduled.chain(called_from_live).collect();
    let mut live = vec![false; p.procedures.len()];
    while let Some(i) = work.pop() {
        if !live[i] {
            live[i] = true;
            work.extend(&calls_from[i]);
        }
    }
    for (i, pr) in p.procedures.iter().enumerate() {
        if live[i] || !referenced[i] || p.in_stdlib(pr.span) {
            continue;
        }
        diags.push(
            Diagnostic::warning(
                Code::Unreachable,
                format!(
                    "{} `{}` is only used from places that never run",
                    pr.kind.keyword(),
                    pr.name.name
                ),
            )
            .at(pr.name.span, "unreachable")
            .help("call it from a phase, monitor or scheduled job that runs"),
        );
    }
    let mut graph = DepGraph::new(p.procedures.len(), |i| &p.procedures[i].name.name);
    for (owner, j, at) in &uses {
        if let Owner::Procedure(i) = owner {
            graph.edge(names.first_item(Ns::Procedure(None), *i), *j, *at);
        }
    }
    graph.cycles(
        &CycleWords {
            code: Code::UnboundedLoop,
            what: "procedures that call each other",
            verb: "calls",
            help: "a procedure that calls itself may never end: escalate instead of calling back",
        },
        diags,
    );
}
