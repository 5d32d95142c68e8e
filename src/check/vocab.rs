//! Checks the words with a fixed meaning ([`crate::ir::vocab`]): sync points, strategies,
//! handoff steps, maintenance types, test types, limits, metrics and settings. An unknown
//! word is `bmad::unknown-setting`.

use super::steps::{Body, StepLint};
use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::ir::vocab::{
    CONFLICT_NOTIFY, CONFLICT_STRATEGIES, FOR_EACH_SOURCES, GLOBAL_LIMITS, MAINTENANCE_TYPES,
    METRICS, OUTPUT_FORMATS, OVERLAP, PER_AGENT_LIMITS, POST_HANDOFF, PRE_HANDOFF, SETTINGS,
    SYNC_POINTS, SYNC_STRATEGIES, TEST_TYPES,
};
use crate::ir::{ProcKind, Program};
use crate::model::step::{Name, Step, StepKind};

fn known(name: &Name, words: &[&str], what: &str, diags: &mut Vec<Diagnostic>) {
    if name.name.is_empty() || words.contains(&name.name.as_str()) {
        return;
    }
    let help = did_you_mean(&name.name, words.iter().copied())
        .unwrap_or_else(|| format!("expected one of: {}", words.join(", ")));
    diags.push(
        Diagnostic::error(
            Code::UnknownSetting,
            format!("unknown {what} `{}`", name.name),
        )
        .at(name.span, format!("not a {what}"))
        .help(help),
    );
}

/// Reports unknown words outside steps ([`Steps`] looks at those).
pub fn check(p: &Program, diags: &mut Vec<Diagnostic>) {
    if let Some(s) = &p.sync {
        s.at.iter()
            .for_each(|n| known(n, SYNC_POINTS, "sync point", diags));
        if let Some(n) = &s.strategy {
            known(n, SYNC_STRATEGIES, "sync strategy", diags);
        }
        if let Some(n) = &s.conflict {
            known(n, CONFLICT_STRATEGIES, "conflict strategy", diags);
        }
        if let Some(n) = &s.notify {
            known(n, CONFLICT_NOTIFY, "conflict notification", diags);
        }
    }
    if let Some(h) = &p.handoff_protocol {
        h.before
            .iter()
            .for_each(|n| known(n, PRE_HANDOFF, "pre-handoff step", diags));
        h.after
            .iter()
            .for_each(|n| known(n, POST_HANDOFF, "post-handoff step", diags));
    }
    for pr in &p.procedures {
        if pr.kind == ProcKind::Maintenance
            && let Some(s) = &pr.schedule
        {
            if let Some(k) = &s.kind {
                known(k, MAINTENANCE_TYPES, "maintenance type", diags);
            }
            if let Some(o) = &s.overlap {
                known(o, OVERLAP, "overlap policy", diags);
            }
        }
    }
    if let Some(l) = &p.limits {
        let per: Vec<&str> = PER_AGENT_LIMITS.iter().map(|(n, _)| *n).collect();
        let global: Vec<&str> = GLOBAL_LIMITS.iter().map(|(n, _)| *n).collect();
        l.per_agent
            .iter()
            .for_each(|e| known(&e.name, &per, "per-agent limit", diags));
        l.global
            .iter()
            .for_each(|e| known(&e.name, &global, "global limit", diags));
    }
    let per: Vec<&str> = PER_AGENT_LIMITS.iter().map(|(n, _)| *n).collect();
    for a in &p.agents {
        a.limits
            .iter()
            .for_each(|e| known(&e.name, &per, "per-agent limit", diags));
        if let Some(crate::model::Backend::Exec {
            output: Some(format),
            ..
        }) = &a.backend
        {
            known(format, OUTPUT_FORMATS, "output format", diags);
        }
    }
    let settings: Vec<&str> = SETTINGS.iter().map(|(n, _)| *n).collect();
    p.settings
        .iter()
        .for_each(|s| known(&s.name, &settings, "setting", diags));
    let metrics: Vec<&str> = METRICS.iter().map(|(n, _)| *n).collect();
    for k in &p.kpis {
        known(&k.metric, &metrics, "metric", diags);
    }
    for m in &p.monitors {
        for r in m.metrics.iter().filter(|r| r.of.is_none()) {
            known(&r.metric, &metrics, "metric", diags);
        }
    }
}

/// Unknown test types and for-each sources in phases and procedures (a lint of the shared
/// walk, [`super::steps`]).
pub struct Steps;

impl<'a> StepLint<'a> for Steps {
    fn wants(&self, body: Body) -> bool {
        !matches!(body, Body::Check(_))
    }

    fn step(&mut self, s: &'a Step, diags: &mut Vec<Diagnostic>) {
        match &s.kind {
            StepKind::Task(t) => t
                .tests
                .iter()
                .for_each(|n| known(n, TEST_TYPES, "test type", diags)),
            StepKind::ForEach { source, .. } => {
                known(source, FOR_EACH_SOURCES, "for-each source", diags);
            }
            _ => {}
        }
    }
}
