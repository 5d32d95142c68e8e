//! A step list as a flowchart: steps chained in order, parallel branches side by side,
//! decisions (if, match, assign, the end of a loop) as diamonds with labelled edges, loops
//! drawn back to their start, `try ... on failure` as a "fails" edge, groups and for-each
//! as clusters.

use super::{Graph, NodeId, Shape};
use crate::ir::Program;
use crate::model::literal::value_text;
use crate::model::step::{ArtifactRef, CallKind, Cond, Step, StepKind};
use std::fmt::Write;

/// Where the flow goes on from: a node, and the label of the edge that leaves it.
#[derive(Debug, Clone)]
pub(super) struct Exit {
    /// The node.
    pub node: NodeId,
    /// The edge's label (`yes`, `partial_outage`).
    pub label: Option<String>,
}

fn exit(node: NodeId) -> Vec<Exit> {
    vec![Exit { node, label: None }]
}

fn labelled(node: NodeId, label: &str) -> Vec<Exit> {
    vec![Exit {
        node,
        label: Some(label.to_string()),
    }]
}

fn link(g: &mut Graph, from: &[Exit], to: NodeId) {
    for e in from {
        g.edge(e.node, to, e.label.clone());
    }
}

fn names(list: &[crate::model::step::Name]) -> String {
    list.iter()
        .map(|n| n.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn short(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or("").trim();
    if line.chars().count() > 60 {
        format!("{}...", line.chars().take(57).collect::<String>())
    } else if text.trim().lines().count() > 1 {
        format!("{line} ...")
    } else {
        line.to_string()
    }
}

fn cond(c: &Cond) -> String {
    match c {
        Cond::Script(s) => short(&s.code),
        Cond::Path(n) => n.name.to_string(),
    }
}

/// Draws `steps` after `from`; the first node drawn, and where the flow goes on from.
pub(super) fn steps(
    p: &Program,
    g: &mut Graph,
    steps: &[Step],
    mut from: Vec<Exit>,
) -> (Option<NodeId>, Vec<Exit>) {
    let mut first = None;
    for s in steps {
        let (f, exits) = step(p, g, s, from);
        first = first.or(f);
        from = exits;
    }
    (first, from)
}

/// A plain step: one node after `from`.
fn node(g: &mut Graph, from: &[Exit], label: String, shape: Shape) -> (Option<NodeId>, Vec<Exit>) {
    let id = g.node(label, shape);
    link(g, from, id);
    (Some(id), exit(id))
}

/// A step that names a procedure, level or monitor: linked to it when the graph shows it.
fn linked(
    g: &mut Graph,
    from: &[Exit],
    label: String,
    target: &str,
) -> (Option<NodeId>, Vec<Exit>) {
    let out = node(g, from, label, Shape::Box);
    if let Some(id) = out.0 {
        g.link_later(id, target);
    }
    out
}

// p, g and s are the program, graph and step throughout graph/; the arms bind one more.
#[allow(clippy::many_single_char_names)]
fn step(p: &Program, g: &mut Graph, s: &Step, from: Vec<Exit>) -> (Option<NodeId>, Vec<Exit>) {
    match &s.kind {
        StepKind::Task(t) => {
            let mut label = format!("{}: {}", t.agent.name, names(&t.tasks));
            if let Some(m) = &t.mode {
                let _ = write!(label, " (mode {})", m.name);
            }
            if !t.tests.is_empty() {
                let _ = write!(label, " (tests {})", names(&t.tests));
            }
            node(g, &from, label, Shape::Box)
        }
        StepKind::Handoff(h) => {
            let artifacts: Vec<String> = h
                .artifacts
                .iter()
                .map(|a| match a {
                    ArtifactRef::Named(n) => n.name.to_string(),
                    ArtifactRef::Path(t) => t.value.to_string(),
                })
                .collect();
            let what = if artifacts.is_empty() {
                String::new()
            } else {
                format!(": {}", artifacts.join(", "))
            };
            node(
                g,
                &from,
                format!("handoff {} -> {}{what}", h.from.name, h.to.name),
                Shape::Round,
            )
        }
        StepKind::Sh { command, .. } => node(
            g,
            &from,
            format!("sh {}", short(&command.value)),
            Shape::Box,
        ),
        StepKind::Wait { duration } => node(
            g,
            &from,
            format!("wait {}", value_text(duration.value)),
            Shape::Box,
        ),
        StepKind::Probe(pr) => {
            let expect = pr
                .expect
                .map_or(String::new(), |e| format!(" expect {}", e.value));
            node(
                g,
                &from,
                format!(
                    "{} {}{expect}",
                    pr.method.word().to_uppercase(),
                    pr.target.value
                ),
                Shape::Box,
            )
        }
        StepKind::Check {
            checks,
            script,
            must_pass,
        } => {
            let verb = if *must_pass { "verify" } else { "diagnose" };
            let what = match script {
                Some(s) => short(&s.code),
                None => names(checks),
            };
            node(g, &from, format!("{verb} {what}"), Shape::Box)
        }
        StepKind::Call { target, kind } => {
            let verb = match kind {
                CallKind::Heal => "heal",
                CallKind::Call => "call",
            };
            linked(g, &from, format!("{verb} {}", target.name), &target.name)
        }
        StepKind::Escalate { level } => {
            linked(g, &from, format!("escalate {}", level.name), &level.name)
        }
        StepKind::Alert { to, message } => {
            let to = to
                .as_ref()
                .map_or(String::new(), |t| format!(" {}", t.name));
            node(
                g,
                &from,
                format!("alert{to}: {}", short(&message.value)),
                Shape::Round,
            )
        }
        StepKind::Notify { to, .. } => {
            node(g, &from, format!("notify {}", names(to)), Shape::Round)
        }
        StepKind::Deploy { environment, by } => {
            let by = by.as_ref().map_or("devops", |b| b.name.as_str());
            node(
                g,
                &from,
                format!("deploy {} by {by}", environment.name),
                Shape::Box,
            )
        }
        StepKind::Rollback { environment } => node(
            g,
            &from,
            format!("rollback {}", environment.name),
            Shape::Box,
        ),
        StepKind::Isolate { target } => {
            node(g, &from, format!("isolate {}", target.name), Shape::Box)
        }
        StepKind::StopWrites { target } => {
            node(g, &from, format!("stop_writes {}", target.name), Shape::Box)
        }
        StepKind::Report { message } => {
            let m = message
                .as_ref()
                .map_or(String::new(), |m| format!(": {}", short(&m.value)));
            node(g, &from, format!("report{m}"), Shape::Box)
        }
        StepKind::Watch { monitor } => {
            linked(g, &from, format!("watch {}", monitor.name), &monitor.name)
        }
        StepKind::Approve(a) => node(g, &from, format!("approve {}", a.name.name), Shape::Diamond),
        StepKind::Fail { reason } => {
            node(g, &from, format!("fail: {}", short(reason)), Shape::Round)
        }
        StepKind::Assign { var, by, arms } => {
            let d = g.node(
                format!("assign {} by {}", var.name, by.name),
                Shape::Diamond,
            );
            link(g, &from, d);
            let mut exits = Vec::new();
            for arm in arms {
                let a = g.node(arm.agent.name.to_string(), Shape::Box);
                g.edge(d, a, Some(arm.story_type.name.to_string()));
                exits.extend(exit(a));
            }
            (Some(d), exits)
        }
        StepKind::Parallel { branches, .. } => {
            let mut first = None;
            let mut exits = Vec::new();
            for b in branches {
                let (f, e) = step(p, g, b, from.clone());
                first = first.or(f);
                exits.extend(e);
            }
            (first, exits)
        }
        StepKind::ForEach {
            var,
            source,
            max,
            body,
        } => {
            let max = max.map_or(String::new(), |m| format!(" (max {})", m.value));
            g.cluster(format!("for {} in {}{max}", var.name, source.name), |g| {
                steps(p, g, body, from)
            })
        }
        StepKind::Repeat { max, body, until } => {
            let (first, exits) = steps(p, g, body, from);
            let Some(until) = until else {
                return (first, exits);
            };
            let d = g.node(format!("{}?", cond(until)), Shape::Diamond);
            link(g, &exits, d);
            if let Some(f) = first {
                let max = max.map_or(String::new(), |m| format!(", at most {}", m.value));
                g.edge(d, f, Some(format!("no: again{max}")));
            }
            (first, labelled(d, "yes"))
        }
        StepKind::Retry { max, body, .. } => {
            let (first, exits) = steps(p, g, body, from);
            let d = g.node("failed?", Shape::Diamond);
            link(g, &exits, d);
            if let Some(f) = first {
                let max = max.map_or(3, |m| m.value);
                g.edge(d, f, Some(format!("yes: retry, at most {max}")));
            }
            (first, labelled(d, "no"))
        }
        StepKind::If {
            cond: c,
            then,
            otherwise,
        } => {
            let d = g.node(format!("{}?", cond(c)), Shape::Diamond);
            link(g, &from, d);
            let (_, mut exits) = steps(p, g, then, labelled(d, "yes"));
            if otherwise.is_empty() {
                exits.extend(labelled(d, "no"));
            } else {
                exits.extend(steps(p, g, otherwise, labelled(d, "no")).1);
            }
            (Some(d), exits)
        }
        StepKind::Match { subject, arms } => {
            let d = g.node(cond(subject), Shape::Diamond);
            link(g, &from, d);
            let mut exits = Vec::new();
            for arm in arms {
                let label = if arm.pattern.name == "_" {
                    "otherwise"
                } else {
                    arm.pattern.name.as_str()
                };
                exits.extend(steps(p, g, &arm.body, labelled(d, label)).1);
            }
            if !arms.iter().any(|a| a.pattern.name == "_") {
                exits.extend(labelled(d, "otherwise"));
            }
            (Some(d), exits)
        }
        StepKind::OnFailure { body, handler } => {
            let (first, mut exits) = steps(p, g, body, from);
            let failed = first.map_or_else(Vec::new, |f| labelled(f, "fails"));
            exits.extend(steps(p, g, handler, failed).1);
            (first, exits)
        }
        StepKind::Group { label, body } => g.cluster(label.clone(), |g| steps(p, g, body, from)),
    }
}
