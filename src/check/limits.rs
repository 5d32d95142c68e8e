//! Parallelism and resources: a parallel block or for-each wider than its phase maximum
//! or the global `max_concurrent_agents`; per-agent limits that cannot fit the global ones.

use super::steps::{Body, StepLint};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::Program;
use crate::model::literal::Value;
use crate::model::step::{Count, Step, StepKind};
use crate::source::Span;

/// The ceilings a block's width is held to.
struct Caps {
    phase: Option<(u64, Span, String)>,
    global: Option<(u64, Span)>,
}

/// `explicit`: the width is a written `max`, so the help says to lower it.
fn width_check(
    width: u64,
    at: Span,
    what: &str,
    explicit: bool,
    caps: &Caps,
    diags: &mut Vec<Diagnostic>,
) {
    if let Some((max, span, phase)) = &caps.phase
        && width > *max
    {
        diags.push(
            Diagnostic::error(
                Code::ParallelTooWide,
                format!("{what} runs {width} agents at once but phase `{phase}` allows {max}"),
            )
            .at(at, format!("{width} at once"))
            .also(*span, format!("phase maximum {max}"))
            .help(if explicit {
                format!("lower it to {max}, or raise the phase maximum")
            } else {
                format!("add `max {max}` to the block, or raise the phase maximum")
            }),
        );
    }
    if let Some((max, span)) = caps.global
        && width > max
    {
        diags.push(
            Diagnostic::error(
                Code::ParallelTooWide,
                format!("{what} runs {width} agents at once but max_concurrent_agents is {max}"),
            )
            .at(at, format!("{width} at once"))
            .also(span, format!("global limit {max}"))
            .help(if explicit {
                format!("lower it to {max}, or raise max_concurrent_agents")
            } else {
                format!("add `max {max}` to the block, or raise max_concurrent_agents")
            }),
        );
    }
}

/// Parallel blocks and for-eaches wider than their phase maximum or the global limit, in
/// phases and procedures (a lint of the shared walk, [`super::steps`]).
pub(super) struct Blocks<'a> {
    p: &'a Program,
    /// The ceilings of the body being walked (its phase's maximum, the global limit).
    caps: Caps,
}

impl<'a> Blocks<'a> {
    /// The lint for `p`.
    pub(super) fn new(p: &'a Program) -> Blocks<'a> {
        Blocks {
            p,
            caps: Caps {
                phase: None,
                global: global_agents(p),
            },
        }
    }
}

impl<'a> StepLint<'a> for Blocks<'a> {
    fn wants(&self, body: Body) -> bool {
        !matches!(body, Body::Check(_))
    }

    fn enter(&mut self, body: Body) {
        let phase = match body {
            Body::Phase(i) => Some(&self.p.phases[i as usize]),
            _ => None,
        };
        self.caps.phase =
            phase.and_then(|ph| ph.max.map(|m| (m.value, m.span, ph.name.name.to_string())));
    }

    fn step(&mut self, s: &'a Step, diags: &mut Vec<Diagnostic>) {
        match &s.kind {
            StepKind::Parallel { max, branches } => {
                let (width, at) = match max {
                    Some(Count { value, span }) => (*value, *span),
                    None => (branches.len() as u64, s.span),
                };
                let explicit = max.is_some();
                width_check(
                    width,
                    at,
                    "this parallel block",
                    explicit,
                    &self.caps,
                    diags,
                );
            }
            StepKind::ForEach { max: Some(m), .. } => {
                width_check(m.value, m.span, "this for-each", true, &self.caps, diags);
            }
            _ => {}
        }
    }
}

/// The global `max_concurrent_agents`, where it is a count.
// A count is a literal: not negative, and `as` saturates past u64.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn global_agents(p: &Program) -> Option<(u64, Span)> {
    p.global_limit("max_concurrent_agents")
        .and_then(|q| count(q.value.as_ref()).map(|n| (n as u64, q.span)))
}

fn count(v: Option<&Value>) -> Option<f64> {
    match v {
        Some(Value::Count(n) | Value::Cores(n)) => Some(*n),
        _ => None,
    }
}

/// Reports phase maximums over the global limit and limits that do not fit ([`Blocks`]
/// looks at the blocks in steps).
pub(super) fn check(p: &Program, diags: &mut Vec<Diagnostic>) {
    let global = global_agents(p);
    for ph in &p.phases {
        if let (Some(m), Some((g, gspan))) = (&ph.max, global)
            && m.value > g
        {
            diags.push(
                Diagnostic::error(
                    Code::ParallelTooWide,
                    format!(
                        "phase `{}` allows {} agents but max_concurrent_agents is {g}",
                        ph.name.name, m.value
                    ),
                )
                .at(m.span, "more than the global limit")
                .also(gspan, "global limit")
                .help(format!("lower the phase maximum to {g} or less")),
            );
        }
    }
    memory(p, global, diags);
}

/// Each agent's memory must fit `max_memory`, and so must `max_concurrent_agents` agents.
fn memory(p: &Program, global: Option<(u64, Span)>, diags: &mut Vec<Diagnostic>) {
    let Some(max_mem) = p.global_limit("max_memory") else {
        return;
    };
    let Some(Value::Size(max)) = max_mem.value else {
        return;
    };
    let per_agent = p
        .limits
        .as_ref()
        .and_then(|l| l.per_agent.iter().find(|e| e.name.name == "memory"));
    let gib = crate::model::literal::human_size;
    for a in &p.agents {
        let Some(own) = a.limits.iter().find(|e| e.name.name == "memory") else {
            continue;
        };
        if let Some(Value::Size(m)) = own.value.value
            && m > max
        {
            diags.push(
                Diagnostic::error(
                    Code::LimitExceeded,
                    format!(
                        "agent `{}` may use {} but max_memory is {}",
                        a.name.name,
                        gib(m),
                        gib(max)
                    ),
                )
                .at(own.value.span, "more than the whole run may use")
                .also(max_mem.span, "global max_memory")
                .help("lower the agent's memory or raise max_memory"),
            );
        }
    }
    let Some(entry) = per_agent else { return };
    let Some(Value::Size(m)) = entry.value.value else {
        return;
    };
    if m > max {
        diags.push(
            Diagnostic::error(
                Code::LimitExceeded,
                format!(
                    "every agent may use {} but max_memory is {}",
                    gib(m),
                    gib(max)
                ),
            )
            .at(entry.value.span, "more than the whole run may use")
            .also(max_mem.span, "global max_memory")
            .help("lower the per-agent memory or raise max_memory"),
        );
    } else if let Some((n, nspan)) = global
        && m.saturating_mul(n) > max
    {
        diags.push(
            Diagnostic::error(
                Code::LimitExceeded,
                format!(
                    "{n} agents at {} each need {} but max_memory is {}",
                    gib(m),
                    gib(m.saturating_mul(n)),
                    gib(max)
                ),
            )
            .at(max_mem.span, "too small for the agents allowed at once")
            .also(entry.value.span, "per-agent memory")
            .also(nspan, "max_concurrent_agents")
            .help("lower max_concurrent_agents or the per-agent memory, or raise max_memory"),
        );
    }
}
