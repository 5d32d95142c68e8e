//! Lowers the parsed files of a workflow into one [`Program`]: collects definitions,
//! turns heal, maintenance, emergency and incident sugar into step graphs.

use super::heal::{HealFix, HealPlan};
use super::{ProcKind, Procedure, Program, Schedule};
use crate::diagnostic::{Code, Diagnostic};
use crate::load::Module;
use crate::model::step::{Name, Step, StepKind};
use crate::syntax::ast::{self, Item};

/// Builds the program of a workflow from its parsed files (moved in, not copied) and the
/// names of its source files; reports blocks written twice.
pub fn lower(modules: Vec<Module>, files: Vec<String>) -> (Program, Vec<Diagnostic>) {
    let mut p = Program {
        files,
        stdlib_files: modules
            .iter()
            .filter(|m| m.stdlib)
            .map(|m| m.file)
            .collect(),
        ..Program::default()
    };
    // The large kinds, sized once (growing them by doubling copies every item again),
    // counted in one pass over the items.
    let (mut stories, mut checks, mut procedures) = (0, 0, 0);
    for item in modules.iter().flat_map(|m| &m.items) {
        match item {
            Item::Story(_) => stories += 1,
            Item::Check(_) => checks += 1,
            Item::Heal(_) | Item::Procedure(_) | Item::Maintenance(_) | Item::Emergency(_) => {
                procedures += 1;
            }
            _ => {}
        }
    }
    p.stories.reserve_exact(stories);
    p.checks.reserve_exact(checks);
    p.procedures.reserve_exact(procedures);
    let mut diags = Vec::new();
    let mut overrides = Vec::new();
    let mut once = |what: &str, first: Option<crate::source::Span>, again: crate::source::Span| {
        if let Some(first) = first {
            diags.push(
                Diagnostic::error(Code::Duplicate, format!("`{what}` is written twice"))
                    .at(again, "written again here")
                    .also(first, "first written here")
                    .help(format!("merge the two `{what}` blocks into one")),
            );
            true
        } else {
            false
        }
    };
    for module in modules {
        let stdlib = module.stdlib;
        for item in module.items {
            match item {
                Item::Import(_) => {}
                Item::Workflow(w) => {
                    if !once("workflow", p.workflow.as_ref().map(|x| x.span), w.span) {
                        p.workflow = Some(w);
                    }
                }
                Item::Agent(a) if a.overrides.is_some() => overrides.push(*a),
                Item::Agent(a) => p.agents.push(*a),
                Item::Artifact(a) => p.artifacts.push(a),
                Item::Phase(ph) => p.phases.push(ph),
                Item::Epic(e) => p.epics.push(e),
                Item::Story(s) => p.stories.push(s),
                Item::StoriesFrom(s) => p.story_sources.push(s),
                Item::Environment(e) => p.environments.push(*e),
                Item::EnvVar(e) => p.env_vars.push(e),
                Item::Check(c) => p.checks.push(c),
                Item::Heal(h) => p.procedures.push(lower_heal(h)),
                Item::Procedure(pr) => p.procedures.push(Procedure {
                    name: pr.name,
                    kind: ProcKind::Procedure,
                    agent: None,
                    attempts: None,
                    schedule: None,
                    team: Vec::new(),
                    body: pr.body,
                    heal: None,
                    span: pr.span,
                }),
                Item::Maintenance(m) => p.procedures.push(lower_maintenance(*m)),
                Item::Emergency(e) => p.procedures.push(lower_emergency(&e)),
                Item::Incidents(inc) => {
                    let first = p
                        .procedures
                        .iter()
                        .find(|x| x.kind == ProcKind::Incident)
                        .map(|x| x.span);
                    if !once("incidents", first, inc.span) {
                        p.incident_levels.extend(inc.levels.iter().cloned());
                        p.procedures.push(lower_incidents(&inc));
                    }
                }
                Item::Monitor(m) => p.monitors.push(*m),
                Item::Limits(l) => {
                    if !once("limits", p.limits.as_ref().map(|x| x.span), l.span) {
                        p.limits = Some(l);
                    }
                }
                Item::Budget(b) if stdlib => p.default_prices.extend(b.prices),
                Item::Budget(b) => {
                    if !once("budget", p.budget.as_ref().map(|x| x.span), b.span) {
                        p.budget = Some(b);
                    }
                }
                Item::Notifications(n) => {
                    if !once(
                        "notifications",
                        p.notifications.as_ref().map(|x| x.span),
                        n.span,
                    ) {
                        p.notifications = Some(n);
                    }
                }
                Item::Sync(s) => {
                    if !once("sync", p.sync.as_ref().map(|x| x.span), s.span) {
                        p.sync = Some(*s);
                    }
                }
                Item::Handoffs(h) => {
                    if !once(
                        "handoffs",
                        p.handoff_protocol.as_ref().map(|x| x.span),
                        h.span,
                    ) {
                        p.handoff_protocol = Some(h);
                    }
                }
                Item::Kpi(k) => p.kpis.push(k),
                Item::Settings(s) => p.settings.extend(s.entries),
            }
        }
    }
    for o in overrides {
        apply_override(&mut p.agents, o, &mut diags);
    }
    (p, diags)
}

/// `override agent NAME { ... }`: what the override writes replaces what the agent it
/// names (in the stdlib or an import) has; the rest is kept.
fn apply_override(agents: &mut [ast::Agent], o: ast::Agent, diags: &mut Vec<Diagnostic>) {
    let Some(base) = agents.iter_mut().find(|a| a.name.name == o.name.name) else {
        let names = agents.iter().map(|a| a.name.name.as_str());
        let help = crate::diagnostic::did_you_mean(&o.name.name, names).unwrap_or_else(|| {
            "`override agent` changes an agent defined elsewhere (the stdlib, an import); \
             to define a new one, write `agent`"
                .into()
        });
        diags.push(
            Diagnostic::error(
                Code::Undefined,
                format!("there is no agent `{}` to override", o.name.name),
            )
            .at(o.name.span, "not defined anywhere")
            .help(help),
        );
        return;
    };
    if o.role.is_some() {
        base.role = o.role;
    }
    if o.prompt.is_some() {
        base.prompt = o.prompt;
    }
    if !o.modes.is_empty() {
        base.modes = o.modes;
    }
    if o.model.is_some() {
        base.model = o.model;
    }
    if o.backend.is_some() {
        base.backend = o.backend;
    }
    if !o.limits.is_empty() {
        base.limits = o.limits;
    }
    if !o.tools.is_empty() {
        base.tools = o.tools;
    }
}

/// A named group of steps.
pub(super) fn group(label: impl Into<String>, span: crate::source::Span, body: Vec<Step>) -> Step {
    Step {
        span,
        kind: StepKind::Group {
            label: label.into(),
            body,
        },
    }
}

/// A heal: its plan (what runs) and the plan as a step graph (see [`super::heal`]).
fn lower_heal(h: Box<ast::Heal>) -> Procedure {
    let ast::Heal {
        name,
        agent,
        attempts,
        diagnose,
        fixes,
        verify,
        otherwise,
        span,
    } = *h;
    let plan = HealPlan {
        diagnose,
        fixes: fixes
            .into_iter()
            .map(|f| HealFix {
                name: f.name,
                body: f.body,
            })
            .collect(),
        verify,
        attempts,
        otherwise,
    };
    Procedure {
        body: plan.lowered(&name, span),
        name,
        kind: ProcKind::Heal,
        agent,
        attempts,
        schedule: None,
        team: Vec::new(),
        heal: Some(Box::new(plan)),
        span,
    }
}

fn lower_maintenance(m: ast::Maintenance) -> Procedure {
    Procedure {
        name: m.name,
        kind: ProcKind::Maintenance,
        agent: m.agent,
        attempts: None,
        schedule: m.cron.map(|cron| Schedule {
            cron,
            overlap: m.overlap,
            kind: m.kind,
        }),
        team: Vec::new(),
        body: m.body,
        heal: None,
        span: m.span,
    }
}

fn lower_emergency(e: &ast::Emergency) -> Procedure {
    let mut body = Vec::new();
    if !e.immediate.is_empty() {
        body.push(group("immediate", e.span, e.immediate.clone()));
    }
    if !e.recovery.is_empty() {
        body.push(group("recovery", e.span, e.recovery.clone()));
    }
    Procedure {
        name: e.name.clone(),
        kind: ProcKind::Emergency,
        agent: None,
        attempts: None,
        schedule: None,
        team: e.team.clone(),
        body,
        heal: None,
        span: e.span,
    }
}

fn lower_incidents(inc: &ast::Incidents) -> Procedure {
    Procedure {
        name: Name {
            name: "incident_response".into(),
            span: inc.span,
        },
        kind: ProcKind::Incident,
        agent: None,
        attempts: None,
        schedule: None,
        team: Vec::new(),
        body: inc
            .stages
            .iter()
            .map(|s| group(s.name.name.clone(), s.name.span, s.body.clone()))
            .collect(),
        heal: None,
        span: inc.span,
    }
}
