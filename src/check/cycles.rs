//! Dependency cycles among stories, phases and environments, found as strongly connected
//! components ([`super::scc`]) and shown as the path that goes round.

use super::names::Resolution;
use super::refs::{After, AfterTo, Ns, Owner};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::Program;
use crate::source::Span;
use petgraph::graph::{DiGraph, NodeIndex};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::VecDeque;

/// How a cycle is told: the code, what the nodes are, what an edge means, and the help.
pub(super) struct CycleWords {
    /// The diagnostic code.
    pub code: Code,
    /// The nodes, plural ("stories").
    pub what: &'static str,
    /// The edge ("waits for").
    pub verb: &'static str,
    /// What to do.
    pub help: &'static str,
}

/// A dependency graph: nodes are definitions of one kind, by their position in the
/// program; an edge `a -> b` says "a waits for b" and carries the span of the reference
/// that says so.
pub(super) struct DepGraph<'a> {
    graph: DiGraph<(), Span>,
    /// The name of node `i`, read only to tell a cycle (reading every name of a large
    /// workflow up front would bring each definition into the cache once more).
    name: Box<dyn Fn(usize) -> &'a str + 'a>,
}

impl<'a> DepGraph<'a> {
    /// A graph of `count` nodes, node `i` named `name(i)`.
    pub(super) fn new(count: usize, name: impl Fn(usize) -> &'a str + 'a) -> DepGraph<'a> {
        let mut graph = DiGraph::with_capacity(count, count);
        for _ in 0..count {
            graph.add_node(());
        }
        DepGraph {
            graph,
            name: Box::new(name),
        }
    }

    fn name(&self, n: NodeIndex) -> &'a str {
        (self.name)(n.index())
    }

    /// Adds `from -> to`, written at `at`.
    pub(super) fn edge(&mut self, from: u32, to: u32, at: Span) {
        let n = self.graph.node_count();
        if (from as usize) < n && (to as usize) < n {
            self.graph.add_edge(
                NodeIndex::new(from as usize),
                NodeIndex::new(to as usize),
                at,
            );
        }
    }

    /// One diagnostic per cycle: its path, the reference on each edge. `what` names the
    /// nodes ("stories"), `verb` the edge ("waits for", "calls").
    pub(super) fn cycles(&self, words: &CycleWords, diags: &mut Vec<Diagnostic>) {
        // Only the components that go round are kept: a workflow's stories are each a
        // component of their own.
        let mut looped = Vec::new();
        super::scc::each_component(&self.graph, |scc| {
            if scc.len() > 1 || self.graph.find_edge(scc[0], scc[0]).is_some() {
                looped.push(scc.to_vec());
            }
        });
        for scc in looped {
            let members: HashSet<NodeIndex> = scc.iter().copied().collect();
            let start = *scc.iter().min_by_key(|n| self.name(**n)).unwrap_or(&scc[0]);
            let path = self.path_back(start, &members);
            let verb = words.verb;
            let message = if path.len() == 1 {
                format!("`{}` {verb} itself", self.name(start))
            } else {
                let names: Vec<&str> = path
                    .iter()
                    .map(|(n, _)| self.name(*n))
                    .chain([self.name(start)])
                    .collect();
                format!("{} form a cycle: {}", words.what, names.join(" -> "))
            };
            let mut diag = Diagnostic::error(words.code, message).help(words.help);
            for (i, (node, span)) in path.iter().enumerate() {
                let next = path.get(i + 1).map_or(start, |(n, _)| *n);
                let text = if *node == next {
                    format!("{verb} itself here")
                } else {
                    format!("`{}` {verb} `{}`", self.name(*node), self.name(next))
                };
                diag = if i == 0 {
                    diag.at(*span, text)
                } else {
                    diag.also(*span, text)
                };
            }
            diags.push(diag);
        }
    }

    /// The shortest way from `start` round to `start` inside the component: each node with
    /// the span of its edge to the next one.
    fn path_back(&self, start: NodeIndex, members: &HashSet<NodeIndex>) -> Vec<(NodeIndex, Span)> {
        let mut prev: HashMap<NodeIndex, (NodeIndex, Span)> = HashMap::default();
        let mut queue = VecDeque::from([start]);
        while let Some(n) = queue.pop_front() {
            for e in self.graph.edges(n) {
                use petgraph::visit::EdgeRef;
                let t = e.target();
                if !members.contains(&t) {
                    continue;
                }
                if t == start {
                    let mut path = vec![(n, *e.weight())];
                    let mut cur = n;
                    while cur != start {
                        let (p, span) = prev[&cur];
                        path.push((p, span));
                        cur = p;
                    }
                    path.reverse();
                    return path;
                }
                if let std::collections::hash_map::Entry::Vacant(v) = prev.entry(t) {
                    v.insert((n, *e.weight()));
                    queue.push_back(t);
                }
            }
        }
        Vec::new()
    }
}

/// Reports cycles among stories (`afters`, each story's `after` in order), phases
/// (`after`) and environments (`after`), following each reference to what name
/// resolution found for it.
pub(super) fn check(
    p: &Program,
    names: &Resolution,
    afters: &[After],
    diags: &mut Vec<Diagnostic>,
) {
    let mut stories = DepGraph::new(p.stories.len(), |i| &p.stories[i].id.name);
    let mut phases = DepGraph::new(p.phases.len(), |i| &p.phases[i].name.name);
    let mut envs = DepGraph::new(p.environments.len(), |i| &p.environments[i].name.name);
    for a in afters {
        let to = match a.to {
            AfterTo::Entry(e) => Some(names.entry(e)),
            AfterTo::Ref(r) => names.target(r),
        };
        if let Some(to) = to.and_then(|e| e.item) {
            stories.edge(names.first_item(Ns::Story, a.from), to, a.at);
        }
    }
    for (r, to) in names.uses() {
        let Some(to) = to.and_then(|e| e.item) else {
            continue;
        };
        let from = |ns, i| names.first_item(ns, i);
        match (r.owner, r.ns) {
            (Owner::Phase(i), Ns::Phase) => phases.edge(from(Ns::Phase, i), to, r.name.span),
            (Owner::Environment(i), Ns::Environment) => {
                envs.edge(from(Ns::Environment, i), to, r.name.span);
            }
            _ => {}
        }
    }
    stories.cycles(
        &CycleWords {
            code: Code::DependencyCycle,
            what: "stories",
            verb: "waits for",
            help: "a story cannot wait for itself: remove one `after` of the cycle",
        },
        diags,
    );
    phases.cycles(
        &CycleWords {
            code: Code::DependencyCycle,
            what: "phases",
            verb: "runs after",
            help: "phases run in `after` order: remove one `after` of the cycle",
        },
        diags,
    );
    envs.cycles(
        &CycleWords {
            code: Code::DependencyCycle,
            what: "environments",
            verb: "is deployed after",
            help: "deployments go dev -> staging -> prod: remove one `after` of the cycle",
        },
        diags,
    );
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::Code;

    fn found(src: &str, code: Code) -> Vec<String> {
        crate::check_text("t.bmad", src)
            .diagnostics
            .into_iter()
            .filter(|d| d.code == code)
            .map(|d| d.message)
            .collect()
    }

    #[test]
    fn a_name_defined_twice_is_one_node_of_its_graph() {
        let stories = "story \"A\" backend {\n  title \"a\"\n}\nstory \"A\" backend {\n  after \"B\"\n}\nstory \"B\" backend {\n  after \"A\"\n}\n";
        assert_eq!(
            found(stories, Code::DependencyCycle),
            ["stories form a cycle: A -> B -> A"]
        );
        let phases = "import std.roles\nphase p1 {\n  pm: a\n}\nphase p1 after p2 {\n  pm: b\n}\nphase p2 after p1 {\n  pm: c\n}\n";
        assert_eq!(
            found(phases, Code::DependencyCycle),
            ["phases form a cycle: p1 -> p2 -> p1"]
        );
        let calls = "import std.roles\nprocedure x {\n  pm: a\n}\nprocedure x {\n  call x\n}\nphase p {\n  call x\n}\n";
        assert_eq!(found(calls, Code::UnboundedLoop), ["`x` calls itself"]);
        for src in [stories, phases, calls] {
            assert_eq!(found(src, Code::Duplicate).len(), 1, "{src}");
        }
    }
}
