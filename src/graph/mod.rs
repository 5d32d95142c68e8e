//! Graph export (`bmad graph`): the workflow as a flowchart. The phase flow with parallel
//! agents, decisions and handoffs; the story DAG; the operations: monitor -> rule ->
//! heal / escalate -> incident levels, and each procedure's own flow. One model, rendered
//! as Mermaid or Graphviz DOT, split into pages that each fit a screen ([`page`]).

mod estimate;
mod flow;
mod ops;
mod pack;
pub mod page;
pub mod render;
mod section;

use crate::ir::Program;
use rustc_hash::FxHashMap as HashMap;
pub use section::{Direction, Section};

/// How a node is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A step.
    Box,
    /// A decision.
    Diamond,
    /// A start, an event or a target outside the flow.
    Round,
}

/// A node's place in [`Graph::nodes`]; it is drawn with the id `n` and that number.
pub type NodeId = usize;

/// A node.
#[derive(Debug, Clone)]
pub struct Node {
    /// Its text.
    pub label: String,
    /// How it is drawn.
    pub shape: Shape,
    /// The part of the workflow it draws, which decides its page.
    pub section: Section,
}

/// An edge, with an optional label.
#[derive(Debug, Clone)]
pub struct Edge {
    /// From node.
    pub from: NodeId,
    /// To node.
    pub to: NodeId,
    /// Its text.
    pub label: Option<String>,
}

/// A box around nodes (a phase, a procedure, a for-each); it is drawn with the id `c`
/// and its place in [`Graph::clusters`].
#[derive(Debug, Clone)]
pub struct Cluster {
    /// Its title.
    pub label: String,
    /// The cluster it is in.
    pub parent: Option<usize>,
    /// The node that stands for all of it where other parts lead to it: a procedure's
    /// start, a monitor.
    pub entry: Option<NodeId>,
}

/// A flowchart.
#[derive(Debug, Default)]
pub struct Graph {
    /// Nodes, with the cluster each is in.
    pub nodes: Vec<(Node, Option<usize>)>,
    /// Edges.
    pub edges: Vec<Edge>,
    /// Clusters.
    pub clusters: Vec<Cluster>,
    /// The cluster new nodes go in.
    current: Option<usize>,
    /// The section new nodes are in.
    section: Section,
    /// Steps that name a procedure or an incident level (`call`, `heal`, `escalate`,
    /// `watch`), linked to it once everything is drawn.
    links: Vec<(NodeId, String)>,
}

/// What to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Only {
    /// Everything.
    All,
    /// The phase flow.
    Phases,
    /// The story DAG.
    Stories,
    /// Monitors, heals, incidents, emergencies, maintenance, procedures.
    Ops,
}

impl Graph {
    /// Adds a node; its id.
    pub fn node(&mut self, label: impl Into<String>, shape: Shape) -> NodeId {
        let id = self.nodes.len();
        self.nodes.push((
            Node {
                label: label.into(),
                shape,
                section: self.section,
            },
            self.current,
        ));
        id
    }

    /// Adds an edge.
    pub fn edge(&mut self, from: NodeId, to: NodeId, label: Option<String>) {
        self.edges.push(Edge { from, to, label });
    }

    /// Runs `f` with new nodes going into a new cluster titled `label`.
    pub fn cluster<T>(&mut self, label: impl Into<String>, f: impl FnOnce(&mut Graph) -> T) -> T {
        let index = self.clusters.len();
        self.clusters.push(Cluster {
            label: label.into(),
            parent: self.current,
            entry: None,
        });
        let outer = self.current.replace(index);
        let out = f(self);
        self.current = outer;
        out
    }
}

impl Graph {
    /// Makes `node` the entry of the outermost cluster it is in (see [`Cluster::entry`]).
    pub(crate) fn set_entry(&mut self, node: NodeId) {
        let Some(mut c) = self.nodes.get(node).and_then(|(_, c)| *c) else {
            return;
        };
        while let Some(parent) = self.clusters[c].parent {
            c = parent;
        }
        self.clusters[c].entry = Some(node);
    }

    /// Puts the nodes added from now on in `section`.
    pub(crate) fn set_section(&mut self, section: Section) {
        self.section = section;
    }

    /// Remembers that node `id` leads to the procedure, level or monitor `target`.
    pub(crate) fn link_later(&mut self, id: NodeId, target: &str) {
        self.links.push((id, target.to_string()));
    }
}

/// The graph of `p`.
pub fn build(p: &Program, only: Only) -> Graph {
    let mut g = Graph::default();
    if matches!(only, Only::All | Only::Phases) {
        phases(p, &mut g);
    }
    if matches!(only, Only::All | Only::Stories) {
        stories(p, &mut g);
    }
    if matches!(only, Only::All | Only::Ops) {
        ops::ops(p, &mut g);
    }
    g
}

/// Each phase a cluster of its step flow; a phase after another starts where it ends.
fn phases(p: &Program, g: &mut Graph) {
    g.set_section(Section::Phases);
    // Looked up by name: a list searched for each phase was quadratic in long workflows.
    let mut ends: HashMap<&str, Vec<flow::Exit>> = HashMap::default();
    for i in p.phase_order() {
        let ph = &p.phases[i];
        let title = match ph.max {
            Some(m) => format!("phase {} (max {})", ph.name.name, m.value),
            None => format!("phase {}", ph.name.name),
        };
        // A phase starts where the phases it comes after end (every parallel branch).
        let from: Vec<flow::Exit> = ph
            .after
            .iter()
            .filter_map(|a| ends.get(a.name.as_str()))
            .flatten()
            .cloned()
            .collect();
        let (_, exits) = g.cluster(title, |g| flow::steps(p, g, &ph.body, from));
        ends.entry(ph.name.name.as_str()).or_insert(exits);
    }
}

/// The story DAG: each story after the ones it names.
fn stories(p: &Program, g: &mut Graph) {
    if p.stories.is_empty() {
        return;
    }
    g.set_section(Section::Stories);
    let ids: Vec<(&str, NodeId)> = g.cluster("stories", |g| {
        p.stories
            .iter()
            .map(|s| {
                let title = s
                    .title
                    .as_ref()
                    .map_or(String::new(), |t| format!(" {}", t.value));
                let id = g.node(
                    format!("{} ({}){title}", s.id.name, s.story_type.name),
                    Shape::Box,
                );
                (s.id.name.as_str(), id)
            })
            .collect()
    });
    let by_id: HashMap<&str, NodeId> = ids.into_iter().rev().collect();
    for s in &p.stories {
        let Some(to) = by_id.get(s.id.name.as_str()) else {
            continue;
        };
        for a in &s.after {
            if let Some(&from) = by_id.get(a.name.as_str()) {
                g.edge(from, *to, None);
            }
        }
    }
}
