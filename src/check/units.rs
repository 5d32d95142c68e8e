//! Units: every literal must have the unit its place takes (a duration for a timeout, a
//! percent or size for memory usage, ...), and a threshold the unit of its metric.

use super::steps::StepLint;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::Program;
use crate::ir::vocab::{GLOBAL_LIMITS, PER_AGENT_LIMITS, SETTINGS, metric_kinds};
use crate::model::literal::Kind;
use crate::model::step::{Quantity, Step, StepKind};
use crate::model::{Backend, LimitEntry, Respond, SettingValue};

fn expect(q: &Quantity, kinds: &[Kind], place: &str, diags: &mut Vec<Diagnostic>) {
    let Some(v) = q.value else { return };
    if kinds.contains(&v.kind()) {
        return;
    }
    let wanted: Vec<String> = kinds
        .iter()
        .map(|k| format!("{k} like {}", k.example()))
        .collect();
    diags.push(
        Diagnostic::error(
            Code::UnitMismatch,
            format!("{place} takes {}, not {}", kinds[0], v.kind()),
        )
        .at(q.span, format!("this is {}", v.kind()))
        .help(format!("write {}", wanted.join(" or "))),
    );
}

const DURATION: &[Kind] = &[Kind::Duration];

fn limits(entries: &[LimitEntry], table: &[(&str, &[Kind])], diags: &mut Vec<Diagnostic>) {
    for e in entries {
        if let Some((_, kinds)) = table.iter().find(|(n, _)| *n == e.name.name) {
            expect(&e.value, kinds, &format!("limit `{}`", e.name.name), diags);
        }
    }
}

/// Literals in steps whose unit does not fit their place: every body (a lint of the
/// shared walk, [`super::steps`]).
pub(super) struct Steps;

impl<'a> StepLint<'a> for Steps {
    fn step(&mut self, s: &'a Step, diags: &mut Vec<Diagnostic>) {
        match &s.kind {
            StepKind::Task(t) => {
                if let Some(q) = &t.timeout {
                    expect(q, DURATION, "`timeout`", diags);
                }
            }
            StepKind::Sh {
                timeout: Some(q), ..
            } => expect(q, DURATION, "`timeout`", diags),
            StepKind::Wait { duration } => expect(duration, DURATION, "`wait`", diags),
            StepKind::Retry {
                backoff: Some(q), ..
            } => expect(q, DURATION, "`backoff`", diags),
            StepKind::Probe(pr) => {
                for q in [&pr.timeout, &pr.every].into_iter().flatten() {
                    expect(q, DURATION, "a probe's `timeout` or `every`", diags);
                }
            }
            _ => {}
        }
    }
}

/// Reports literals outside steps whose unit does not fit their place ([`Steps`] looks at
/// those in steps).
pub(super) fn check(p: &Program, diags: &mut Vec<Diagnostic>) {
    for a in &p.agents {
        limits(&a.limits, PER_AGENT_LIMITS, diags);
        match &a.backend {
            Some(Backend::Exec {
                timeout: Some(q), ..
            }) => expect(q, DURATION, "`timeout`", diags),
            Some(Backend::Sim { duration, fail, .. }) => {
                if let Some(q) = duration {
                    expect(q, DURATION, "`duration`", diags);
                }
                if let Some(q) = fail {
                    expect(q, &[Kind::Percent], "`fail`", diags);
                }
            }
            _ => {}
        }
    }
    if let Some(l) = &p.limits {
        limits(&l.per_agent, PER_AGENT_LIMITS, diags);
        limits(&l.global, GLOBAL_LIMITS, diags);
    }
    if let Some(q) = p.sync.as_ref().and_then(|s| s.every.as_ref()) {
        expect(q, DURATION, "`every`", diags);
    }
    for l in &p.incident_levels {
        if let Some(Respond::Within(q)) = &l.respond {
            expect(q, DURATION, "`respond`", diags);
        }
    }
    for k in &p.kpis {
        if let Some(kinds) = metric_kinds(&k.metric.name) {
            expect(
                &k.target,
                kinds,
                &format!("metric `{}`", k.metric.name),
                diags,
            );
        }
    }
    for s in &p.settings {
        if let (SettingValue::Quantity(q), Some((_, Some(kinds)))) =
            (&s.value, SETTINGS.iter().find(|(n, _)| *n == s.name.name))
        {
            expect(q, kinds, &format!("setting `{}`", s.name.name), diags);
        }
    }
    for m in &p.monitors {
        if let Some(q) = &m.every {
            expect(q, DURATION, "`every`", diags);
        }
        for h in &m.health {
            for q in [&h.timeout, &h.every].into_iter().flatten() {
                expect(q, DURATION, "a health check's `timeout` or `every`", diags);
            }
        }
        let cooldowns = m
            .metrics
            .iter()
            .map(|r| &r.actions)
            .chain(m.patterns.iter().map(|r| &r.actions))
            .chain(m.on_status.iter().map(|r| &r.actions))
            .chain(m.health.iter().filter_map(|h| h.actions.as_ref()));
        for a in cooldowns {
            if let Some(q) = &a.cooldown {
                expect(q, DURATION, "`cooldown`", diags);
            }
        }
        for r in &m.metrics {
            if let Some(kinds) = metric_kinds(&r.metric.name) {
                expect(
                    &r.threshold,
                    kinds,
                    &format!("metric `{}`", r.metric.name),
                    diags,
                );
            }
        }
    }
}
