//! The operations drawn: each procedure (heal, maintenance, emergency, incident response,
//! plain) as a cluster of its flow, the incident levels climbing, and each monitor's
//! rules leading to what their actions start.

use super::{Graph, NodeId, Section, Shape, flow};
use crate::ir::{ProcKind, Program};
use crate::model::literal::value_text;
use crate::model::{ActionKind, Actions, HealthProbe, Respond};
use rustc_hash::FxHashMap as HashMap;

/// Monitors and their rules, the incident levels, and each procedure's flow.
pub(super) fn ops(p: &Program, g: &mut Graph) {
    // Each procedure (heal, maintenance, emergency, incident response, plain) in a
    // cluster; its entry is what rules and levels point at.
    let mut entries: Vec<(&str, NodeId)> = Vec::new();
    for pr in &p.procedures {
        g.set_section(match pr.kind {
            ProcKind::Procedure => Section::Procedures,
            ProcKind::Heal => Section::Heals,
            ProcKind::Maintenance => Section::Maintenance,
            ProcKind::Emergency => Section::Emergencies,
            ProcKind::Incident => Section::Incidents,
        });
        let title = match (&pr.kind, &pr.schedule) {
            (ProcKind::Maintenance, Some(s)) => format!(
                "maintenance {} (cron \"{}\"{})",
                pr.name.name,
                s.cron.value,
                s.kind
                    .as_ref()
                    .map_or(String::new(), |k| format!(", {}", k.name))
            ),
            (ProcKind::Incident, _) => "incident response".to_string(),
            (kind, _) => format!("{} {}", kind.keyword(), pr.name.name),
        };
        let entry = g.cluster(title, |g| {
            let start = match (&pr.kind, &pr.agent) {
                (ProcKind::Maintenance, agent) => Some(g.node(
                    match agent {
                        Some(a) => format!("cron trigger: {}", a.name),
                        None => "cron trigger".to_string(),
                    },
                    Shape::Round,
                )),
                (ProcKind::Emergency, _) if !pr.team.is_empty() => Some(g.node(
                    format!(
                        "team: {}",
                        pr.team.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                    Shape::Round,
                )),
                (_, Some(agent)) => Some(g.node(format!("agent {}", agent.name), Shape::Round)),
                _ => None,
            };
            let from = start
                .map(|s| {
                    vec![flow::Exit {
                        node: s,
                        label: None,
                    }]
                })
                .unwrap_or_default();
            let first = match &pr.heal {
                Some(h) => heal(p, g, h, from),
                None => flow::steps(p, g, &pr.body, from).0,
            };
            start.or(first)
        });
        if let Some(e) = entry {
            g.set_entry(e);
            entries.push((pr.name.name.as_str(), e));
        }
    }
    // Incident levels, lowest first: an unanswered level escalates to the next.
    let mut levels: Vec<(&str, NodeId)> = Vec::new();
    let mut monitors: Vec<(&str, NodeId)> = Vec::new();
    if !p.incident_levels.is_empty() {
        g.set_section(Section::Incidents);
        g.cluster("incident levels", |g| {
            for l in &p.incident_levels {
                let respond = match &l.respond {
                    Some(Respond::Immediate { .. }) => ", respond immediate".to_string(),
                    Some(Respond::Within(q)) => {
                        format!(", respond {}", value_text(q.value))
                    }
                    None => String::new(),
                };
                let agents: Vec<&str> = l.agents.iter().map(|a| a.name.as_str()).collect();
                let id = g.node(
                    format!("level {}: {}{respond}", l.name.name, agents.join(", ")),
                    Shape::Round,
                );
                if let Some(&(_, before)) = levels.last() {
                    g.edge(before, id, Some("unanswered".into()));
                }
                levels.push((l.name.name.as_str(), id));
            }
        });
        if let (Some(&(_, first)), Some(&(_, flow))) = (
            levels.first(),
            entries.iter().find(|(n, _)| *n == "incident_response"),
        ) {
            g.edge(first, flow, Some("response".into()));
        }
    }
    // Looked up by name, the first of a name written twice.
    let entries: HashMap<&str, NodeId> = entries.into_iter().rev().collect();
    let levels_by_name: HashMap<&str, NodeId> = levels.iter().rev().copied().collect();
    g.set_section(Section::Monitors);
    for m in &p.monitors {
        g.cluster(format!("monitor {}", m.name.name), |g| {
            let mon = g.node(
                match &m.agent {
                    Some(a) => format!("monitor {} ({})", m.name.name, a.name),
                    None => format!("monitor {}", m.name.name),
                },
                Shape::Round,
            );
            g.set_entry(mon);
            monitors.push((m.name.name.as_str(), mon));
            for h in &m.health {
                let probe = match &h.probe {
                    HealthProbe::Probe(pr) => {
                        format!("{} {}", pr.method.word().to_uppercase(), pr.target.value)
                    }
                    HealthProbe::Sh { command } => format!("sh {}", command.value),
                    HealthProbe::Check { check } => format!("check {}", check.name),
                };
                let id = g.node(format!("health {}: {probe}", h.name.name), Shape::Box);
                g.edge(mon, id, Some("health".into()));
                if let Some(a) = &h.actions {
                    actions(g, id, "fails", a, &entries, &levels_by_name);
                }
            }
            for r in &m.metrics {
                let of =
                    r.of.as_ref()
                        .map_or(String::new(), |o| format!(" of {}", o.name));
                let id = g.node(
                    format!(
                        "metric {}{of} {} {}",
                        r.metric.name,
                        r.op.symbol(),
                        value_text(r.threshold.value)
                    ),
                    Shape::Diamond,
                );
                g.edge(mon, id, Some("performance".into()));
                actions(g, id, "breached", &r.actions, &entries, &levels_by_name);
            }
            for r in &m.patterns {
                let sev = r
                    .severity
                    .as_ref()
                    .map_or(String::new(), |s| format!(" ({})", s.name));
                let id = g.node(
                    format!("pattern \"{}\"{sev}", r.pattern.value),
                    Shape::Diamond,
                );
                g.edge(mon, id, Some("errors".into()));
                actions(g, id, "matches", &r.actions, &entries, &levels_by_name);
            }
            for r in &m.on_status {
                let id = g.node(format!("status {}", r.status), Shape::Diamond);
                g.edge(mon, id, Some("status".into()));
                actions(g, id, "is", &r.actions, &entries, &levels_by_name);
            }
        });
    }
    // Steps that call a procedure, open an incident or start a monitor, to what they name.
    let monitors: HashMap<&str, NodeId> = monitors.into_iter().rev().collect();
    for (from, target) in std::mem::take(&mut g.links) {
        let target = target.as_str();
        let to = entries
            .get(target)
            .or_else(|| levels_by_name.get(target))
            .or_else(|| monitors.get(target))
            .copied();
        if let Some(to) = to {
            g.edge(from, to, None);
        }
    }
}

/// Edges from a rule to what its actions start.
fn actions(
    g: &mut Graph,
    from: NodeId,
    why: &str,
    a: &Actions,
    entries: &HashMap<&str, NodeId>,
    levels: &HashMap<&str, NodeId>,
) {
    let label = match &a.cooldown {
        Some(c) => format!("{why} (cooldown {})", value_text(c.value)),
        None => why.to_string(),
    };
    for act in &a.list {
        let target = match &act.kind {
            ActionKind::Heal { target }
            | ActionKind::Scale { target }
            | ActionKind::Call { target }
            | ActionKind::Emergency { target } => entries.get(target.name.as_str()).copied(),
            ActionKind::Escalate { level } => levels.get(level.name.as_str()).copied(),
            ActionKind::Alert { .. } => None,
        };
        let target = target.unwrap_or_else(|| g.node(act.kind.to_string(), Shape::Round));
        g.edge(from, target, Some(format!("{label}: {}", act.kind)));
    }
}

/// A heal as it runs: the diagnosis, then each fix followed by the verification; a fix
/// that verifies heals, one that does not leads to the next; after the last, `otherwise`.
fn heal(
    p: &Program,
    g: &mut Graph,
    h: &crate::ir::heal::HealPlan,
    from: Vec<flow::Exit>,
) -> Option<NodeId> {
    let mut at = from;
    let mut first = None;
    if !h.diagnose.is_empty() {
        let names: Vec<&str> = h.diagnose.iter().map(|n| n.name.as_str()).collect();
        let diagnose = g.node(format!("diagnose {}", names.join(", ")), Shape::Box);
        for e in &at {
            g.edge(e.node, diagnose, e.label.clone());
        }
        first = Some(diagnose);
        at = vec![flow::Exit {
            node: diagnose,
            label: None,
        }];
    }
    let verify: Vec<&str> = h.verify.iter().map(|n| n.name.as_str()).collect();
    let healed = g.node("healed", Shape::Round);
    for fix in &h.fixes {
        let (entry, exits) = g.cluster(format!("fix {}", fix.name.name), |g| {
            flow::steps(p, g, &fix.body, at.clone())
        });
        first = first.or(entry);
        let verified = g.node(format!("verify {}?", verify.join(", ")), Shape::Diamond);
        for e in &exits {
            g.edge(e.node, verified, e.label.clone());
        }
        g.edge(verified, healed, Some("yes".into()));
        at = vec![flow::Exit {
            node: verified,
            label: Some("no".into()),
        }];
    }
    let rounds = h.rounds();
    let none = g.node(
        format!("no fix verified ({rounds} round(s) at most)"),
        Shape::Round,
    );
    for e in &at {
        g.edge(e.node, none, e.label.clone());
    }
    if let Some(o) = &h.otherwise {
        flow::steps(
            p,
            g,
            std::slice::from_ref(o),
            vec![flow::Exit {
                node: none,
                label: Some("otherwise".into()),
            }],
        );
    }
    first
}
