//! Rendering a [`Graph`]'s pages: Mermaid (`flowchart`) or Graphviz DOT. One page is a
//! whole graph of its format; every page together is a stream of them: DOT graphs one
//! after another (`dot -Tsvg -O` writes a file for each), or Markdown with a heading and
//! a `mermaid` block for each page. Clusters nest as Mermaid subgraphs and DOT `cluster_`
//! subgraphs; stand-ins for other pages' nodes are dashed; labels are escaped for each
//! format. Written straight into one text: a large workflow draws millions of lines.

use super::page::{Page, PageEdge, Tie, split};
use super::{Direction, Graph, Shape};
use std::fmt::Write;

/// Which text format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Mermaid.
    Mermaid,
    /// Graphviz DOT.
    Dot,
}

impl Format {
    /// The extension of a file of one page (`mmd`, `dot`).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Mermaid => "mmd",
            Format::Dot => "dot",
        }
    }
}

/// Every page of `g`, as one text (see the module's documentation).
pub fn render(g: &Graph, format: Format) -> String {
    Renderer::new(g).pages(&split(g), format)
}

/// Renders pages of one graph; what it finds of the graph's clusters is found once for
/// all of them.
pub struct Renderer<'g> {
    graph: &'g Graph,
    /// The nodes of each cluster.
    nodes: Held,
    /// The clusters in each cluster.
    children: Held,
}

impl<'g> Renderer<'g> {
    /// A renderer of the pages of `graph`.
    pub fn new(graph: &'g Graph) -> Renderer<'g> {
        let slot = |c: Option<usize>| c.map_or(0, |i| i + 1);
        let slots = graph.clusters.len() + 1;
        Renderer {
            graph,
            nodes: Held::new(graph.nodes.iter().map(|(_, c)| slot(*c)), slots),
            children: Held::new(graph.clusters.iter().map(|c| slot(c.parent)), slots),
        }
    }

    /// One page, as a graph of its own.
    pub fn page(&self, page: &Page, format: Format) -> String {
        let mut out = String::with_capacity(self.size(page));
        match format {
            Format::Mermaid => self.write(&Mermaid, page, &mut out),
            Format::Dot => self.write(&Dot, page, &mut out),
        }
        out
    }

    /// Every page of `pages`, one after another: DOT graphs, or Markdown with a heading
    /// and a `mermaid` block for each page.
    pub fn pages(&self, pages: &[Page], format: Format) -> String {
        let mut out = String::with_capacity(pages.iter().map(|p| self.size(p) + 64).sum());
        for (i, page) in pages.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            match format {
                Format::Mermaid => {
                    let _ = writeln!(out, "## {}: {}\n\n```mermaid", page.name, page.title);
                    self.write(&Mermaid, page, &mut out);
                    out.push_str("```\n");
                }
                Format::Dot => self.write(&Dot, page, &mut out),
            }
        }
        out
    }

    /// About how many bytes `page` draws to: 40 a node, 20 an edge.
    fn size(&self, page: &Page) -> usize {
        let nodes: usize = page
            .clusters
            .iter()
            .map(|&c| self.nodes.of(c + 1).len() * 2)
            .sum::<usize>()
            + page.loose.len()
            + page.stubs.len();
        nodes * 40 + page.edges.len() * 20 + 256
    }

    /// `page` in the syntax `syntax`.
    fn write(&self, syntax: &dyn Syntax, page: &Page, out: &mut String) {
        let g = self.graph;
        syntax.start(page, out);
        for &i in &page.loose {
            syntax.node(out, self.drawn(i), 1);
        }
        for &c in &page.clusters {
            self.cluster(syntax, c, 1, out);
        }
        for s in &page.stubs {
            let drawn = Drawn {
                id: s.id,
                label: &s.label,
                shape: Shape::Round,
                stub: true,
            };
            syntax.node(out, drawn, 1);
        }
        for e in &page.edges {
            let label = e.edge.and_then(|i| g.edges[i].label.as_deref());
            syntax.edge(out, e, label);
        }
        syntax.end(page, out);
    }

    /// Node `i` as it is written.
    fn drawn(&self, i: usize) -> Drawn<'g> {
        let (n, _) = &self.graph.nodes[i];
        Drawn {
            id: i,
            label: &n.label,
            shape: n.shape,
            stub: false,
        }
    }

    /// Cluster `c` with its nodes and the clusters in it.
    fn cluster(&self, syntax: &dyn Syntax, c: usize, depth: usize, out: &mut String) {
        let g = self.graph;
        syntax.open(out, c, &g.clusters[c].label, depth);
        for &i in self.nodes.of(c + 1) {
            syntax.node(out, self.drawn(i), depth + 1);
        }
        for &child in self.children.of(c + 1) {
            self.cluster(syntax, child, depth + 1, out);
        }
        syntax.close(out, depth);
    }
}

/// A node as it is written: its id, text and shape, and whether it stands in for a node
/// of another page.
#[derive(Debug, Clone, Copy)]
struct Drawn<'a> {
    id: usize,
    label: &'a str,
    shape: Shape,
    stub: bool,
}

/// How a format writes a page.
trait Syntax {
    /// The start of the page's graph.
    fn start(&self, page: &Page, out: &mut String);
    /// A node, in `depth` clusters.
    fn node(&self, out: &mut String, node: Drawn<'_>, depth: usize);
    /// The start of cluster `id`.
    fn open(&self, out: &mut String, id: usize, label: &str, depth: usize);
    /// What ends a cluster (`end`, `}`).
    fn cluster_end(&self) -> &'static str;
    /// The end of a cluster.
    fn close(&self, out: &mut String, depth: usize) {
        indent(out, depth);
        out.push_str(self.cluster_end());
        out.push('\n');
    }
    /// An edge with its label.
    fn edge(&self, out: &mut String, edge: &PageEdge, label: Option<&str>);
    /// The end of the page's graph.
    fn end(&self, page: &Page, out: &mut String);
}

/// Mermaid flowchart syntax.
struct Mermaid;

impl Syntax for Mermaid {
    fn start(&self, page: &Page, out: &mut String) {
        out.push_str(match page.direction {
            Direction::TopDown => "flowchart TB\n",
            Direction::LeftRight => "flowchart LR\n",
        });
    }

    fn node(&self, out: &mut String, node: Drawn<'_>, depth: usize) {
        indent(out, depth);
        let (open, close) = match node.shape {
            Shape::Box => ("[\"", "\"]"),
            Shape::Diamond => ("{\"", "\"}"),
            Shape::Round => ("([\"", "\"])"),
        };
        let _ = write!(out, "n{}{open}", node.id);
        push_mermaid(out, node.label);
        out.push_str(close);
        if node.stub {
            out.push_str(":::offpage");
        }
        out.push('\n');
    }

    fn open(&self, out: &mut String, id: usize, label: &str, depth: usize) {
        indent(out, depth);
        let _ = write!(out, "subgraph c{id}[\"");
        push_mermaid(out, label);
        out.push_str("\"]\n");
    }

    fn cluster_end(&self) -> &'static str {
        "end"
    }

    fn edge(&self, out: &mut String, e: &PageEdge, label: Option<&str>) {
        let _ = match (e.tie, label) {
            (Tie::Stack, _) => writeln!(out, "  n{} ~~~ n{}", e.from, e.to),
            (_, Some(l)) => {
                let _ = write!(out, "  n{} -->|\"", e.from);
                push_mermaid(out, l);
                writeln!(out, "\"| n{}", e.to)
            }
            (_, None) => writeln!(out, "  n{} --> n{}", e.from, e.to),
        };
    }

    fn end(&self, page: &Page, out: &mut String) {
        if !page.stubs.is_empty() {
            out.push_str("  classDef offpage stroke-dasharray: 4 4\n");
        }
    }
}

/// Graphviz DOT syntax.
struct Dot;

impl Syntax for Dot {
    fn start(&self, page: &Page, out: &mut String) {
        out.push_str("digraph \"");
        push_dot(out, &page.name);
        out.push_str("\" {\n  label=\"");
        push_dot(out, &page.name);
        out.push_str(": ");
        push_dot(out, &page.title);
        let rankdir = match page.direction {
            Direction::TopDown => "TB",
            Direction::LeftRight => "LR",
        };
        let _ = writeln!(
            out,
            "\";\n  labelloc=t;\n  fontname=\"Helvetica\";\n  rankdir={rankdir};\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];"
        );
    }

    fn node(&self, out: &mut String, node: Drawn<'_>, depth: usize) {
        let shape = match node.shape {
            Shape::Box => "box",
            Shape::Diamond => "diamond",
            Shape::Round => "ellipse",
        };
        indent(out, depth);
        let _ = write!(out, "n{} [label=\"", node.id);
        push_dot(out, node.label);
        let style = if node.stub { ", style=dashed" } else { "" };
        let _ = writeln!(out, "\", shape={shape}{style}];");
    }

    fn open(&self, out: &mut String, id: usize, label: &str, depth: usize) {
        indent(out, depth);
        let _ = writeln!(out, "subgraph cluster_c{id} {{");
        indent(out, depth + 1);
        out.push_str("label=\"");
        push_dot(out, label);
        out.push_str("\";\n");
    }

    fn cluster_end(&self) -> &'static str {
        "}"
    }

    fn edge(&self, out: &mut String, e: &PageEdge, label: Option<&str>) {
        let _ = write!(out, "  n{} -> n{}", e.from, e.to);
        let mut attributes = Vec::with_capacity(2);
        match e.tie {
            Tie::Flow => {}
            Tie::Across => attributes.push("constraint=false"),
            Tie::Stack => attributes.push("style=invis"),
        }
        if label.is_none() && attributes.is_empty() {
            out.push_str(";\n");
            return;
        }
        out.push_str(" [");
        if let Some(l) = label {
            out.push_str("label=\"");
            push_dot(out, l);
            out.push('"');
            if !attributes.is_empty() {
                out.push_str(", ");
            }
        }
        out.push_str(&attributes.join(", "));
        out.push_str("];\n");
    }

    fn end(&self, _: &Page, out: &mut String) {
        out.push_str("}\n");
    }
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
