//! The workflow's phase flow ([`crate::graph`]) drawn as an inline SVG, each step coloured
//! by how its tasks stand in the run: a node `agent: tasks` stands for the tasks of that
//! agent (or, for an agent chosen per story, of any agent) with those task names. Laid out
//! in ranks: a node one below the lowest node that leads to it; edges back up (loops) are
//! dashed.

use super::gantt::state_class;
use super::queries::Task;
use crate::graph::{Graph, Only, Shape, build};
use maud::{Markup, html};
use std::collections::HashMap;

/// The most nodes drawn here; a larger workflow is drawn by `bmad graph`, page by page.
pub(super) const MAX_NODES: usize = 300;
const W: f64 = 190.0;
const H: f64 = 34.0;
const GAP_X: f64 = 14.0;
const GAP_Y: f64 = 26.0;

/// How a node's tasks stand: how many ran, and the class of the newest.
struct Stand {
    tasks: usize,
    class: &'static str,
}

/// The agent and the task names a node's label names (`dev: implement (mode x)`).
fn label_parts(label: &str) -> Option<(&str, &str)> {
    let (agent, rest) = label.split_once(": ")?;
    let tasks = rest.split(" (").next().unwrap_or(rest);
    Some((agent, tasks))
}

/// How each node's tasks stand.
fn stands(g: &Graph, tasks: &[Task]) -> HashMap<usize, Stand> {
    let mut exact: HashMap<(&str, &str), usize> = HashMap::new();
    let mut by_tasks: HashMap<&str, usize> = HashMap::new();
    for (id, (node, _)) in g.nodes.iter().enumerate() {
        if let Some((agent, names)) = label_parts(&node.label) {
            exact.insert((agent, names), id);
            by_tasks.entry(names).or_insert(id);
        }
    }
    let mut out: HashMap<usize, Stand> = HashMap::new();
    for t in tasks {
        let Some(&id) = exact
            .get(&(t.agent.as_str(), t.tasks.as_str()))
            .or_else(|| by_tasks.get(t.tasks.as_str()))
        else {
            continue;
        };
        let s = out.entry(id).or_insert(Stand {
            tasks: 0,
            class: "ok",
        });
        s.tasks += 1;
        if s.class != "running" {
            s.class = state_class(t.ok);
        }
    }
    out
}

/// The graph of `program`'s phases, coloured by `tasks`.
pub(super) fn chart(program: &crate::ir::Program, tasks: &[Task]) -> Markup {
    let g = build(program, Only::Phases);
    if g.nodes.is_empty() {
        return html! { p.note { "The workflow has no phases to draw." } };
    }
    if g.nodes.len() > MAX_NODES {
        return html! {
            p.note { "The workflow's graph has " (g.nodes.len()) " nodes: `bmad graph` draws it page by page." }
        };
    }
    let mut rank = vec![0usize; g.nodes.len()];
    let mut edges: Vec<_> = g.edges.iter().filter(|e| e.from < e.to).collect();
    edges.sort_by_key(|e| e.from);
    for e in &edges {
        rank[e.to] = rank[e.to].max(rank[e.from] + 1);
    }
    let mut column = vec![0usize; g.nodes.len()];
    let mut width: HashMap<usize, usize> = HashMap::new();
    for (id, r) in rank.iter().enumerate() {
        let n = width.entry(*r).or_insert(0);
        column[id] = *n;
        *n += 1;
    }
    let widest = width.values().copied().max().unwrap_or(1);
    let ranks = rank.iter().copied().max().unwrap_or(0) + 1;
    let at = |id: usize| {
        let offset = (widest - width[&rank[id]]) as f64 * (W + GAP_X) / 2.0;
        (
            offset + column[id] as f64 * (W + GAP_X) + 4.0,
            rank[id] as f64 * (H + GAP_Y) + 4.0,
        )
    };
    let stands = stands(&g, tasks);
    let total_w = widest as f64 * (W + GAP_X) + 8.0;
    let total_h = ranks as f64 * (H + GAP_Y) + 8.0;
    html! {
        svg.flow viewBox={"0 0 " (total_w) " " (total_h)} width=(total_w) role="img" aria-label="the workflow's steps" {
            @for e in &g.edges {
                @let ((x1, y1), (x2, y2)) = (at(e.from), at(e.to));
                @let back = e.from >= e.to;
                line class=(if back { "edge back" } else { "edge" })
                    x1=(x1 + W / 2.0) y1=(if back { y1 } else { y1 + H }) x2=(x2 + W / 2.0) y2=(if back { y2 + H } else { y2 }) {}
            }
            @for (id, (node, cluster)) in g.nodes.iter().enumerate() {
                @let (x, y) = at(id);
                @let stand = stands.get(&id);
                @let class = format!("node {} {}", shape_class(node.shape), stand.map_or("idle", |s| s.class));
                g class=(class) data-node=(id) {
                    title {
                        (node.label)
                        @if let Some(c) = cluster.and_then(|c| g.clusters.get(c)) { " (" (c.label) ")" }
                        @if let Some(s) = stand { ": " (s.tasks) " task(s)" }
                    }
                    rect x=(x) y=(y) width=(W) height=(H) rx=(if node.shape == Shape::Box { 3 } else { 14 }) {}
                    text x=(x + 6.0) y=(y + H / 2.0 + 4.0) { (short(&node.label)) }
                }
            }
        }
    }
}

fn shape_class(shape: Shape) -> &'static str {
    match shape {
        Shape::Box => "box",
        Shape::Diamond => "decision",
        Shape::Round => "round",
    }
}

/// A label cut to fit a node.
fn short(label: &str) -> String {
    const MAX: usize = 30;
    if label.chars().count() <= MAX {
        label.to_string()
    } else {
        label.chars().take(MAX - 1).chain(['…']).collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_label_names_its_agent_and_tasks() {
        assert_eq!(
            super::label_parts("story_qa: validate (tests unit)"),
            Some(("story_qa", "validate"))
        );
        assert_eq!(super::label_parts("approved?"), None);
        assert_eq!(super::short(&"x".repeat(40)).chars().count(), 30);
    }
}
