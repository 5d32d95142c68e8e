//! A drawing split into pages that each fit a screen. Each section of the workflow (the
//! phase flow, the stories, monitors, heals, incidents, emergencies, procedures,
//! maintenance) is drawn on a page of its own, cut into numbered pages (`heals-1`,
//! `heals-2`) when its definitions would not fit one. On a page the definitions (its
//! top-level clusters) are stacked in lanes, as columns of a newspaper, rather than all
//! laid side by side: invisible edges stack them, and an edge from one lane to another
//! does not rank its ends. An edge to or from a node of another page is drawn to a dashed
//! stand-in for it that names that page.

use super::estimate::{self, Definition, Extent, Link, Place};
use super::pack::{Lanes, pack};
use super::{Direction, Graph, NodeId, Section};
use rustc_hash::FxHashMap as HashMap;

/// The most characters of a stand-in's text before the page it names.
const STUB_TEXT: usize = 60;

/// One page: some definitions of one section, with stand-ins for what they lead to or
/// come from elsewhere.
#[derive(Debug, Clone)]
pub struct Page {
    /// Its name (`heals`, `heals-2`), for `--page` and file names.
    pub name: String,
    /// What it shows (`self-healing procedures (2 of 3)`).
    pub title: String,
    /// The section it draws.
    pub section: Section,
    /// Which way its flow runs.
    pub direction: Direction,
    /// Its top-level clusters, each drawn with everything in it.
    pub clusters: Vec<usize>,
    /// Its nodes outside any cluster.
    pub loose: Vec<NodeId>,
    /// Stand-ins for nodes of other pages.
    pub stubs: Vec<Stub>,
    /// Its edges.
    pub edges: Vec<PageEdge>,
}

impl Page {
    /// How many definitions (top-level clusters and nodes outside them) it draws.
    pub fn definitions(&self) -> usize {
        self.clusters.len() + self.loose.len()
    }
}

/// A node of another page, drawn on this one where an edge leads there or comes from
/// there.
#[derive(Debug, Clone)]
pub struct Stub {
    /// Its id on the page: after every node of the graph, unique over all the pages.
    pub id: usize,
    /// The node it stands for.
    pub node: NodeId,
    /// Its text: what the node is and the page it is on.
    pub label: String,
}

/// How an edge of a page takes part in its layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tie {
    /// An edge of the flow: its head is drawn after its tail.
    Flow,
    /// An edge between two lanes: drawn, but not ranking its ends (DOT `constraint=false`).
    Across,
    /// No edge of the workflow: an invisible one that stacks a definition below the one
    /// before it in a lane.
    Stack,
}

/// An edge of a page, between ids of nodes or stand-ins.
#[derive(Debug, Clone, Copy)]
pub struct PageEdge {
    /// From.
    pub from: usize,
    /// To.
    pub to: usize,
    /// The graph's edge it draws (for its label); none for a [`Tie::Stack`].
    pub edge: Option<usize>,
    /// How it takes part in the layout.
    pub tie: Tie,
}

/// A page asked for by a name that no page has.
#[derive(Debug, Clone, thiserror::Error)]
#[error("no page `{name}`: the pages are {}", known.join(", "))]
pub struct UnknownPage {
    /// The name asked for.
    pub name: String,
    /// The pages there are.
    pub known: Vec<String>,
}

/// The page named `name`.
///
/// # Errors
///
/// [`UnknownPage`], naming the pages there are, when none is named `name`.
pub fn find<'a>(pages: &'a [Page], name: &str) -> Result<&'a Page, UnknownPage> {
    pages
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| UnknownPage {
            name: name.to_string(),
            known: pages.iter().map(|p| p.name.clone()).collect(),
        })
}

/// A definition: a top-level cluster with everything in it, or a node outside clusters.
#[derive(Debug)]
struct Item {
    section: Section,
    cluster: Option<usize>,
    nodes: Vec<NodeId>,
    /// How deep its clusters nest (0 for a loose node).
    depth: usize,
}

/// Where a definition is drawn.
#[derive(Debug, Clone, Copy, Default)]
struct Spot {
    page: usize,
    lane: usize,
}

/// `g` in pages, in the order of [`Section::ALL`].
pub fn split(g: &Graph) -> Vec<Page> {
    let (items, item_of) = items(g);
    let layouts = layouts(g, &items, &item_of);
    let mut spots = vec![Spot::default(); items.len()];
    let mut pages = Vec::new();
    // The lanes of every page, as lists of definitions.
    let mut lanes_of: Vec<Lanes> = Vec::new();
    for section in Section::ALL {
        let mine: Vec<usize> = (0..items.len())
            .filter(|&i| items[i].section == section)
            .collect();
        if mine.is_empty() {
            continue;
        }
        let direction = section.direction();
        let extents: Vec<Extent> = mine.iter().map(|&i| layouts[i].extent).collect();
        let packed = pack(&extents, direction);
        let count = packed.len();
        for (number, lanes) in packed.into_iter().enumerate() {
            let (name, title) = if count == 1 {
                (
                    section.name().to_string(),
                    section.description().to_string(),
                )
            } else {
                (
                    format!("{}-{}", section.name(), number + 1),
                    format!("{} ({} of {count})", section.description(), number + 1),
                )
            };
            let lanes: Lanes = lanes
                .into_iter()
                .map(|lane| lane.into_iter().map(|k| mine[k]).collect())
                .collect();
            for (l, lane) in lanes.iter().enumerate() {
                for &i in lane {
                    spots[i] = Spot {
                        page: pages.len(),
                        lane: l,
                    };
                }
            }
            let mut page = Page {
                name,
                title,
                section,
                direction,
                clusters: Vec::new(),
                loose: Vec::new(),
                stubs: Vec::new(),
                edges: Vec::new(),
            };
            for &i in lanes.iter().flatten() {
                match items[i].cluster {
                    Some(c) => page.clusters.push(c),
                    None => page.loose.extend(&items[i].nodes),
                }
            }
            pages.push(page);
            lanes_of.push(lanes);
        }
    }
    edges(g, &items, &item_of, &spots, &mut pages);
    // Each definition of a lane below the one before it: from where that one's flow ends
    // to where this one's starts.
    for (page, lanes) in pages.iter_mut().zip(&lanes_of) {
        for lane in lanes {
            for pair in lane.windows(2) {
                let above = &items[pair[0]];
                page.edges.push(PageEdge {
                    from: above.nodes[layouts[pair[0]].last],
                    to: items[pair[1]].nodes[0],
                    edge: None,
                    tie: Tie::Stack,
                });
            }
        }
    }
    pages
}

/// The definitions of `g`, in the order their first nodes were drawn, and the definition
/// of each node.
fn items(g: &Graph) -> (Vec<Item>, Vec<usize>) {
    // The top-level cluster of each cluster and how deep it is (a parent comes first).
    let mut top: Vec<(usize, usize)> = Vec::with_capacity(g.clusters.len());
    for (i, c) in g.clusters.iter().enumerate() {
        let t = c.parent.map_or((i, 1), |p| (top[p].0, top[p].1 + 1));
        top.push(t);
    }
    let mut items: Vec<Item> = Vec::new();
    let mut of_cluster: Vec<Option<usize>> = vec![None; g.clusters.len()];
    let mut item_of = Vec::with_capacity(g.nodes.len());
    for (id, (node, cluster)) in g.nodes.iter().enumerate() {
        let (top_cluster, depth) = cluster.map_or((None, 0), |c| (Some(top[c].0), top[c].1));
        let known = top_cluster.and_then(|t| of_cluster[t]);
        let item = known.unwrap_or_else(|| {
            items.push(Item {
                section: node.section,
                cluster: top_cluster,
                nodes: Vec::new(),
                depth: 0,
            });
            if let Some(t) = top_cluster {
                of_cluster[t] = Some(items.len() - 1);
            }
            items.len() - 1
        });
        items[item].nodes.push(id);
        items[item].depth = items[item].depth.max(depth);
        item_of.push(item);
    }
    (items, item_of)
}

/// Each definition's estimated layout, with a stand-in beside it for each node of
/// another section it has an edge with (a definition of its own section is most likely
/// on its page, drawn apart).
fn layouts(g: &Graph, items: &[Item], item_of: &[usize]) -> Vec<estimate::Layout> {
    // Each node's place in its definition.
    let mut local = vec![0usize; g.nodes.len()];
    for item in items {
        for (k, &n) in item.nodes.iter().enumerate() {
            local[n] = k;
        }
    }
    let mut links: Vec<Vec<Link>> = items.iter().map(|_| Vec::new()).collect();
    let mut outside: Vec<Vec<(NodeId, NodeId, usize)>> = items.iter().map(|_| Vec::new()).collect();
    for e in &g.edges {
        let label = e.label.as_ref().map_or(0, |l| l.chars().count());
        let (a, b) = (item_of[e.from], item_of[e.to]);
        if a == b {
            links[a].push(Link {
                from: local[e.from],
                to: local[e.to],
                label,
            });
        } else if items[a].section != items[b].section {
            outside[a].push((e.from, e.to, label));
            outside[b].push((e.to, e.from, label));
        }
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let mut places: Vec<Place> = item
                .nodes
                .iter()
                .map(|&n| Place {
                    chars: g.nodes[n].0.label.chars().count(),
                    shape: g.nodes[n].0.shape,
                })
                .collect();
            let mut stand_ins: HashMap<NodeId, usize> = HashMap::default();
            let mut item_links = std::mem::take(&mut links[i]);
            for &(inside, other, label) in &outside[i] {
                let at = *stand_ins.entry(other).or_insert_with(|| {
                    places.push(Place {
                        chars: g.nodes[other].0.label.chars().count().min(STUB_TEXT) + 16,
                        shape: super::Shape::Round,
                    });
                    places.len() - 1
                });
                item_links.push(Link {
                    from: local[inside],
                    to: at,
                    label,
                });
            }
            let definition = Definition {
                places: &places,
                own: item.nodes.len(),
                links: &item_links,
                depth: item.depth,
                title: item
                    .cluster
                    .map_or(0, |c| g.clusters[c].label.chars().count()),
            };
            estimate::layout(definition, item.section.direction())
        })
        .collect()
}

/// Every edge of `g` on the pages: between two definitions of a page as it is (across
/// lanes, not ranking its ends), and between pages as two edges, each to or from a
/// stand-in on the other's page.
fn edges(g: &Graph, items: &[Item], item_of: &[usize], spots: &[Spot], pages: &mut [Page]) {
    let mut stubs: Vec<HashMap<NodeId, usize>> = pages.iter().map(|_| HashMap::default()).collect();
    let mut next_id = g.nodes.len();
    let names: Vec<String> = pages.iter().map(|p| p.name.clone()).collect();
    for (index, e) in g.edges.iter().enumerate() {
        let (a, b) = (spots[item_of[e.from]], spots[item_of[e.to]]);
        if a.page == b.page {
            pages[a.page].edges.push(PageEdge {
                from: e.from,
                to: e.to,
                edge: Some(index),
                tie: if a.lane == b.lane {
                    Tie::Flow
                } else {
                    Tie::Across
                },
            });
            continue;
        }
        let mut stub = |page: usize, node: NodeId, pages: &mut [Page]| {
            *stubs[page].entry(node).or_insert_with(|| {
                let id = next_id;
                next_id += 1;
                let label = stub_label(g, items, item_of, node, &names[spots[item_of[node]].page]);
                pages[page].stubs.push(Stub { id, node, label });
                id
            })
        };
        let to = stub(a.page, e.to, pages);
        pages[a.page].edges.push(PageEdge {
            from: e.from,
            to,
            edge: Some(index),
            tie: Tie::Flow,
        });
        let from = stub(b.page, e.from, pages);
        pages[b.page].edges.push(PageEdge {
            from,
            to: e.to,
            edge: Some(index),
            tie: Tie::Flow,
        });
    }
}

/// A stand-in's text: the definition's title for its entry (`heal restart_api`), else the
/// title and the node's own text; then the page it is on.
fn stub_label(g: &Graph, items: &[Item], item_of: &[usize], node: NodeId, page: &str) -> String {
    let item = &items[item_of[node]];
    let own = &g.nodes[node].0.label;
    let text = match item.cluster {
        Some(c) if g.clusters[c].entry == Some(node) => g.clusters[c].label.clone(),
        Some(c) => format!("{}: {own}", g.clusters[c].label),
        None => own.clone(),
    };
    let text = if text.chars().count() > STUB_TEXT {
        format!(
            "{}...",
            text.chars().take(STUB_TEXT - 3).collect::<String>()
        )
    } else {
        text
    };
    format!("{text} (on page {page})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Shape;

    /// A procedure of `steps` steps in a cluster of its own; its first node.
    fn procedure(g: &mut Graph, name: &str, steps: usize) -> NodeId {
        g.cluster(format!("procedure {name}"), |g| {
            let first = g.node(format!("{name}: start"), Shape::Round);
            let mut at = first;
            for i in 0..steps {
                let next = g.node(format!("devops: step_{i}_of_{name}"), Shape::Box);
                g.edge(at, next, None);
                at = next;
            }
            g.set_entry(first);
            first
        })
    }

    #[test]
    fn an_edge_between_pages_ends_at_a_stand_in_on_each() {
        let mut g = Graph::default();
        g.set_section(Section::Monitors);
        let rule = g.cluster("monitor api", |g| {
            g.node("pattern \"panic\"", Shape::Diamond)
        });
        g.set_section(Section::Heals);
        let heal = procedure(&mut g, "restart", 2);
        g.edge(rule, heal, Some("matches: heal restart".into()));
        let pages = split(&g);
        let names: Vec<&str> = pages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["monitors", "heals"]);
        let (monitors, heals) = (&pages[0], &pages[1]);
        assert_eq!(monitors.stubs.len(), 1);
        assert_eq!(monitors.stubs[0].label, "procedure restart (on page heals)");
        assert_eq!(
            heals.stubs[0].label,
            "monitor api: pattern \"panic\" (on page monitors)"
        );
        // Stand-ins have ids of their own, after the graph's nodes.
        assert!(monitors.stubs[0].id >= g.nodes.len());
        assert_ne!(monitors.stubs[0].id, heals.stubs[0].id);
        let to_stub = monitors.edges.iter().find(|e| e.from == rule).unwrap();
        assert_eq!(to_stub.to, monitors.stubs[0].id);
        assert!(
            heals
                .edges
                .iter()
                .any(|e| e.to == heal && e.from == heals.stubs[0].id)
        );
    }

    #[test]
    fn many_definitions_are_stacked_in_lanes_on_numbered_pages() {
        let mut g = Graph::default();
        g.set_section(Section::Procedures);
        for i in 0..60 {
            procedure(&mut g, &format!("p{i}"), 4);
        }
        let pages = split(&g);
        assert!(pages.len() > 1, "{}", pages.len());
        assert_eq!(pages[0].name, "procedures-1");
        assert_eq!(pages[0].title, format!("procedures (1 of {})", pages.len()));
        // Every procedure once, in order.
        let drawn: Vec<usize> = pages.iter().flat_map(|p| p.clusters.clone()).collect();
        assert_eq!(drawn, (0..60).collect::<Vec<_>>());
        // Stacked: a page of several lanes has invisible edges between definitions.
        assert!(
            pages[0].edges.iter().any(|e| e.tie == Tie::Stack),
            "{:?}",
            pages[0].edges
        );
        assert!(pages.iter().all(|p| p.stubs.is_empty()));
    }

    #[test]
    fn a_page_is_found_by_name_or_the_pages_are_named() {
        let mut g = Graph::default();
        procedure(&mut g, "only", 1);
        let pages = split(&g);
        assert!(find(&pages, "phases").is_ok());
        assert_eq!(
            find(&pages, "heals").unwrap_err().to_string(),
            "no page `heals`: the pages are phases"
        );
    }
}
