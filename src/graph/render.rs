//! Rendering a [`Graph`]: Mermaid (`flowchart`) or Graphviz DOT. Clusters nest as Mermaid
//! subgraphs and DOT `cluster_` subgraphs; labels are escaped for each. Written straight
//! into one text: a large workflow draws millions of lines.

use super::{Graph, Shape};
use std::fmt::Write;

/// Which text format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Mermaid.
    Mermaid,
    /// Graphviz DOT.
    Dot,
}

/// The graph as text.
pub fn render(g: &Graph, format: Format) -> String {
    // About 40 bytes a node and 20 an edge.
    let mut out = String::with_capacity(g.nodes.len() * 40 + g.edges.len() * 20 + 256);
    match format {
        Format::Mermaid => mermaid(g, &mut out),
        Format::Dot => dot(g, &mut out),
    }
    out
}

/// `s` with `"`, `<` and `>` as Mermaid entities.
fn push_mermaid(out: &mut String, s: &str) {
    push_escaped(out, s, |c| match c {
        '"' => Some("#quot;"),
        '<' => Some("#lt;"),
        '>' => Some("#gt;"),
        _ => None,
    });
}

/// `s` with `\` and `"` escaped for a DOT string.
fn push_dot(out: &mut String, s: &str) {
    push_escaped(out, s, |c| match c {
        '\\' => Some("\\\\"),
        '"' => Some("\\\""),
        _ => None,
    });
}

/// `s` with the characters `escape` names replaced by what it gives, in runs between them.
fn push_escaped(out: &mut String, s: &str, escape: impl Fn(char) -> Option<&'static str>) {
    let mut from = 0;
    for (i, c) in s.char_indices() {
        if let Some(e) = escape(c) {
            out.push_str(&s[from..i]);
            out.push_str(e);
            from = i + c.len_utf8();
        }
    }
    out.push_str(&s[from..]);
}

fn indent(out: &mut String, depth: usize) {
    out.extend(std::iter::repeat_n(' ', 2 * depth));
}

fn mermaid(g: &Graph, out: &mut String) {
    out.push_str("flowchart TB\n");
    let writer = Writer {
        node: &|out, id, label, shape, depth| {
            indent(out, depth);
            let (open, close) = match shape {
                Shape::Box => ("[\"", "\"]"),
                Shape::Diamond => ("{\"", "\"}"),
                Shape::Round => ("([\"", "\"])"),
            };
            let _ = write!(out, "n{id}{open}");
            push_mermaid(out, label);
            out.push_str(close);
            out.push('\n');
        },
        open: &|out, id, label, depth| {
            indent(out, depth);
            let _ = write!(out, "subgraph c{id}[\"");
            push_mermaid(out, label);
            out.push_str("\"]\n");
        },
        close: &|out, depth| {
            indent(out, depth);
            out.push_str("end\n");
        },
    };
    writer.clusters(g, out);
    for e in &g.edges {
        let _ = match &e.label {
            Some(l) => {
                let _ = write!(out, "  n{} -->|\"", e.from);
                push_mermaid(out, l);
                writeln!(out, "\"| n{}", e.to)
            }
            None => writeln!(out, "  n{} --> n{}", e.from, e.to),
        };
    }
}

fn dot(g: &Graph, out: &mut String) {
    out.push_str(
        "digraph bmad {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n",
    );
    let writer = Writer {
        node: &|out, id, label, shape, depth| {
            let shape = match shape {
                Shape::Box => "box",
                Shape::Diamond => "diamond",
                Shape::Round => "ellipse",
            };
            indent(out, depth);
            let _ = write!(out, "n{id} [label=\"");
            push_dot(out, label);
            let _ = writeln!(out, "\", shape={shape}];");
        },
        open: &|out, id, label, depth| {
            indent(out, depth);
            let _ = writeln!(out, "subgraph cluster_c{id} {{");
            indent(out, depth + 1);
            out.push_str("label=\"");
            push_dot(out, label);
            out.push_str("\";\n");
        },
        close: &|out, depth| {
            indent(out, depth);
            out.push_str("}\n");
        },
    };
    writer.clusters(g, out);
    for e in &g.edges {
        let _ = match &e.label {
            Some(l) => {
                let _ = write!(out, "  n{} -> n{} [label=\"", e.from, e.to);
                push_dot(out, l);
                out.push_str("\"];\n");
                Ok(())
            }
            None => writeln!(out, "  n{} -> n{};", e.from, e.to),
        };
    }
    out.push_str("}\n");
}

type NodeFn<'a> = dyn Fn(&mut String, usize, &str, Shape, usize) + 'a;
type OpenFn<'a> = dyn Fn(&mut String, usize, &str, usize) + 'a;
type CloseFn<'a> = dyn Fn(&mut String, usize) + 'a;

/// How a format writes a node (id, label, shape, depth), the start of a cluster (id,
/// label, depth) and its end (depth).
struct Writer<'a> {
    node: &'a NodeFn<'a>,
    open: &'a OpenFn<'a>,
    close: &'a CloseFn<'a>,
}

/// What each cluster holds, by slot (0: the top level, `i + 1`: cluster `i`), in one
/// flat list: the items of slot `s` are `items[start[s]..start[s + 1]]`, in order.
struct Held {
    start: Vec<usize>,
    items: Vec<usize>,
}

impl Held {
    /// Files each item `i` of `slots` (its slot) under that slot, in order.
    fn new(slots: impl Iterator<Item = usize> + Clone, count: usize) -> Held {
        let mut start = vec![0; count + 2];
        for s in slots.clone() {
            start[s + 2] += 1;
        }
        for s in 2..start.len() {
            start[s] += start[s - 1];
        }
        // `start[s + 1]` is where slot `s` starts; it is moved on as the slot is filled,
        // and ends where slot `s + 1` starts.
        let mut items = vec![0; start[count + 1]];
        for (i, s) in slots.enumerate() {
            items[start[s + 1]] = i;
            start[s + 1] += 1;
        }
        start.pop();
        Held { start, items }
    }

    fn of(&self, slot: usize) -> &[usize] {
        &self.items[self.start[slot]..self.start[slot + 1]]
    }
}

impl Writer<'_> {
    /// Writes every node and cluster, nested (found in one pass: looking through every
    /// node and cluster for each cluster was quadratic in a large workflow).
    fn clusters(&self, g: &Graph, out: &mut String) {
        let slot = |c: Option<usize>| c.map_or(0, |i| i + 1);
        let slots = g.clusters.len() + 1;
        let nodes = Held::new(g.nodes.iter().map(|(_, c)| slot(*c)), slots);
        let children = Held::new(g.clusters.iter().map(|c| slot(c.parent)), slots);
        self.cluster(g, &nodes, &children, None, 1, out);
    }

    /// Writes the nodes and sub-clusters of `cluster` (the top level for `None`).
    fn cluster(
        &self,
        g: &Graph,
        nodes: &Held,
        children: &Held,
        cluster: Option<usize>,
        depth: usize,
        out: &mut String,
    ) {
        let slot = cluster.map_or(0, |i| i + 1);
        for &i in nodes.of(slot) {
            let (n, _) = &g.nodes[i];
            (self.node)(out, i, &n.label, n.shape, depth);
        }
        for &i in children.of(slot) {
            let c = &g.clusters[i];
            (self.open)(out, i, &c.label, depth);
            self.cluster(g, nodes, children, Some(i), depth + 1, out);
            (self.close)(out, depth);
        }
    }
}
