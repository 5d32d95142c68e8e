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
    let indent = "  ".repeat(depth);
    for (n, c) in &g.nodes {
        if *c == cluster {
            node(out, &n.id, &n.label, n.shape, &indent);
        }
    }
    for (i, c) in g.clusters.iter().enumerate() {
        if c.parent == cluster {
            open(out, &c.id, &c.label, &indent);
            cluster_body(g, Some(i), depth + 1, out, node, open, close);
            close(out, &indent);
        }
    }
}
