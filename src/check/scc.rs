//! Strongly connected components without recursion: Tarjan's algorithm with an explicit
//! stack, visiting nodes and their neighbours in petgraph's order and giving the components
//! in the order petgraph's recursive `TarjanScc` gives them. The recursive one overflows
//! the stack on a chain of 100,000 phases or stories.

use petgraph::graph::{DiGraph, NodeIndex};

const UNSEEN: usize = usize::MAX;

/// Tarjan's bookkeeping: each node's visit number and lowest reachable number, and the
/// stack of nodes not yet in a component.
struct Tarjan {
    index: Vec<usize>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<NodeIndex>,
    next: usize,
}

impl Tarjan {
    fn enter(&mut self, v: NodeIndex) {
        self.index[v.index()] = self.next;
        self.low[v.index()] = self.next;
        self.next += 1;
        self.stack.push(v);
        self.on_stack[v.index()] = true;
    }
}

/// Calls `found` with each strongly connected component of `graph`, in reverse
/// topological order (a component before those that lead to it).
pub(super) fn each_component<N, E>(graph: &DiGraph<N, E>, mut found: impl FnMut(&[NodeIndex])) {
    let n = graph.node_count();
    let mut t = Tarjan {
        index: vec![UNSEEN; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
    };
    // The depth-first path: each node with what is left of its neighbours.
    let mut path: Vec<(NodeIndex, petgraph::graph::Neighbors<'_, E>)> = Vec::new();
    for root in graph.node_indices() {
        if t.index[root.index()] != UNSEEN {
            continue;
        }
        t.enter(root);
        path.push((root, graph.neighbors(root)));
        while let Some((v, neighbours)) = path.last_mut() {
            let v = *v;
            if let Some(w) = neighbours.next() {
                if t.index[w.index()] == UNSEEN {
                    t.enter(w);
                    path.push((w, graph.neighbors(w)));
                } else if t.on_stack[w.index()] {
                    t.low[v.index()] = t.low[v.index()].min(t.index[w.index()]);
                }
                continue;
            }
            path.pop();
            if let Some((parent, _)) = path.last() {
                t.low[parent.index()] = t.low[parent.index()].min(t.low[v.index()]);
            }
            if t.low[v.index()] == t.index[v.index()] {
                let from = t.stack.iter().rposition(|x| *x == v).unwrap_or(0);
                for x in &t.stack[from..] {
                    t.on_stack[x.index()] = false;
                }
                found(&t.stack[from..]);
                t.stack.truncate(from);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use petgraph::algo::TarjanScc;

    fn components(graph: &DiGraph<(), ()>) -> Vec<Vec<usize>> {
        let mut out = Vec::new();
        each_component(graph, |c| {
            let mut c: Vec<usize> = c.iter().map(|n| n.index()).collect();
            c.sort_unstable();
            out.push(c);
        });
        out
    }

    #[test]
    // The generator's numbers are below its small bounds.
    #[allow(clippy::cast_possible_truncation)]
    fn the_components_and_their_order_are_petgraph_s() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        for _ in 0..500 {
            let n = 1 + next(30) as usize;
            let mut graph = DiGraph::<(), ()>::new();
            for _ in 0..n {
                graph.add_node(());
            }
            for _ in 0..next(3 * n as u64) {
                let (a, b) = (next(n as u64) as usize, next(n as u64) as usize);
                graph.add_edge(NodeIndex::new(a), NodeIndex::new(b), ());
            }
            let mut expected = Vec::new();
            TarjanScc::new().run(&graph, |c| {
                let mut c: Vec<usize> = c.iter().map(|n| n.index()).collect();
                c.sort_unstable();
                expected.push(c);
            });
            assert_eq!(components(&graph), expected);
        }
    }

    #[test]
    fn a_chain_of_a_million_nodes_does_not_overflow_the_stack() {
        let n = 1_000_000;
        let mut graph = DiGraph::<(), ()>::with_capacity(n, n);
        for _ in 0..n {
            graph.add_node(());
        }
        for i in 1..n {
            graph.add_edge(NodeIndex::new(i), NodeIndex::new(i - 1), ());
        }
        graph.add_edge(NodeIndex::new(0), NodeIndex::new(n - 1), ());
        let mut sizes = Vec::new();
        each_component(&graph, |c| sizes.push(c.len()));
        assert_eq!(sizes, [n]);
    }
}
