//! Rendering a [`Graph`]: Mermaid (`flowchart`) or Graphviz DOT. Clusters nest as Mermaid
//! subgraphs and DOT `cluster_` subgraphs; labels are escaped for each.

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
    match format {
        Format::Mermaid => mermaid(g),
        Format::Dot => dot(g),
    }
}

fn mermaid_text(s: &str) -> String {
    s.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

fn mermaid(g: &Graph) -> String {
    let mut out = String::from("flowchart TB\n");
    cluster_body(
        g,
        None,
        1,
        &mut out,
        &|out, id, label, shape, indent| {
            let l = mermaid_text(label);
            let _ = match shape {
                Shape::Box => writeln!(out, "{indent}{id}[\"{l}\"]"),
                Shape::Diamond => writeln!(out, "{indent}{id}{{\"{l}\"}}"),
                Shape::Round => writeln!(out, "{indent}{id}([\"{l}\"])"),
            };
        },
        &|out, id, label, indent| {
            let _ = writeln!(out, "{indent}subgraph {id}[\"{}\"]", mermaid_text(label));
        },
        &|out, indent| {
            let _ = writeln!(out, "{indent}end");
        },
    );
    for e in &g.edges {
        let _ = match &e.label {
            Some(l) => writeln!(out, "  {} -->|\"{}\"| {}", e.from, mermaid_text(l), e.to),
            None => writeln!(out, "  {} --> {}", e.from, e.to),
        };
    }
    out
}

fn dot_text(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn dot(g: &Graph) -> String {
    let mut out = String::from(
        "digraph bmad {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n",
    );
    cluster_body(
        g,
        None,
        1,
        &mut out,
        &|out, id, label, shape, indent| {
            let shape = match shape {
                Shape::Box => "box",
                Shape::Diamond => "diamond",
                Shape::Round => "ellipse",
            };
            let _ = writeln!(
                out,
                "{indent}{id} [label=\"{}\", shape={shape}];",
                dot_text(label)
            );
        },
        &|out, id, label, indent| {
            let _ = writeln!(
                out,
                "{indent}subgraph cluster_{id} {{\n{indent}  label=\"{}\";",
                dot_text(label)
            );
        },
        &|out, indent| {
            let _ = writeln!(out, "{indent}}}");
        },
    );
    for e in &g.edges {
        let _ = match &e.label {
            Some(l) => writeln!(out, "  {} -> {} [label=\"{}\"];", e.from, e.to, dot_text(l)),
            None => writeln!(out, "  {} -> {};", e.from, e.to),
        };
    }
    out.push_str("}\n");
    out
}

type NodeFn<'a> = dyn Fn(&mut String, &str, &str, Shape, &str) + 'a;
type OpenFn<'a> = dyn Fn(&mut String, &str, &str, &str) + 'a;
type CloseFn<'a> = dyn Fn(&mut String, &str) + 'a;

/// Writes the nodes and sub-clusters of `cluster` (the top level for `None`), nested.
fn cluster_body(
    g: &Graph,
    cluster: Option<usize>,
    depth: usize,
    out: &mut String,
    node: &NodeFn,
    open: &OpenFn,
    close: &CloseFn,
) {
    // What each cluster holds, found in one pass (looking through every node and cluster
    // for each cluster was quadratic in a large workflow): slot 0 is the top level.
    let slot = |c: Option<usize>| c.map_or(0, |i| i + 1);
    let mut nodes: Vec<Vec<usize>> = vec![Vec::new(); g.clusters.len() + 1];
    for (i, (_, c)) in g.nodes.iter().enumerate() {
        nodes[slot(*c)].push(i);
    }
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); g.clusters.len() + 1];
    for (i, c) in g.clusters.iter().enumerate() {
        children[slot(c.parent)].push(i);
    }
    let held = Held {
        nodes: &nodes,
        children: &children,
    };
    write_cluster(g, &held, cluster, depth, out, node, open, close);
}

/// The nodes and sub-clusters of each cluster, by slot (0: the top level, `i + 1`:
/// cluster `i`).
struct Held<'a> {
    nodes: &'a [Vec<usize>],
    children: &'a [Vec<usize>],
}

#[allow(clippy::too_many_arguments)]
fn write_cluster(
    g: &Graph,
    held: &Held,
    cluster: Option<usize>,
    depth: usize,
    out: &mut String,
    node: &NodeFn,
    open: &OpenFn,
    close: &CloseFn,
) {
    let indent = "  ".repeat(depth);
    let slot = cluster.map_or(0, |i| i + 1);
    for &i in &held.nodes[slot] {
        let (n, _) = &g.nodes[i];
        node(out, &n.id, &n.label, n.shape, &indent);
    }
    for &i in &held.children[slot] {
        let c = &g.clusters[i];
        open(out, &c.id, &c.label, &indent);
        write_cluster(g, held, Some(i), depth + 1, out, node, open, close);
        close(out, &indent);
    }
}
