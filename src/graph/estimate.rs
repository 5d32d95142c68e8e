//! How big a part of a graph will draw, estimated without Graphviz: nodes in ranks by the
//! longest path (loops left out), each rank as tall as its tallest node and as wide as its
//! nodes side by side, with a rank for the labels between ranks that have labelled edges,
//! as `dot` lays them out. The sizes are Graphviz points for the fonts the DOT output
//! asks for (Helvetica 10 for nodes, 9 for edge labels); the pages are cut by them.

use super::{Direction, Shape};

/// Graphviz's default space between ranks, in points.
const RANK_GAP: f64 = 36.0;
/// Graphviz's default space between nodes of a rank, in points.
const NODE_GAP: f64 = 18.0;
/// A node's height (one line of text).
const NODE_HEIGHT: f64 = 36.0;
/// An edge label's height (one line of text).
const LABEL_HEIGHT: f64 = 16.0;
/// The average width of a character of a node's label (Helvetica 10).
const NODE_CHAR: f64 = 5.6;
/// The average width of a character of an edge's label (Helvetica 9).
const LABEL_CHAR: f64 = 5.0;
/// The average width of a character of a cluster's title (Helvetica 14).
const TITLE_CHAR: f64 = 7.8;
/// What a cluster's box adds along the flow (its title and margins) and across it.
const CLUSTER_ALONG: f64 = 30.0;
const CLUSTER_ACROSS: f64 = 16.0;

/// A size along the flow (down a top-down page, across a left-to-right one) and across it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Extent {
    /// Along the flow.
    pub along: f64,
    /// Across the flow.
    pub across: f64,
}

impl Extent {
    /// As (width, height) on a page that runs `direction`.
    pub(super) fn size(self, direction: Direction) -> (f64, f64) {
        match direction {
            Direction::TopDown => (self.across, self.along),
            Direction::LeftRight => (self.along, self.across),
        }
    }

    /// Of a (width, height) on a page that runs `direction`.
    pub(super) fn of_size(width: f64, height: f64, direction: Direction) -> Extent {
        match direction {
            Direction::TopDown => Extent {
                along: height,
                across: width,
            },
            Direction::LeftRight => Extent {
                along: width,
                across: height,
            },
        }
    }
}

/// A node to place: its label's length in characters and its shape.
#[derive(Debug, Clone, Copy)]
pub(super) struct Place {
    /// Characters in its label.
    pub chars: usize,
    /// How it is drawn.
    pub shape: Shape,
}

/// An edge between two of the places, by their index, with its label's length.
#[derive(Debug, Clone, Copy)]
pub(super) struct Link {
    /// From place.
    pub from: usize,
    /// To place.
    pub to: usize,
    /// Characters in its label (0: no label).
    pub label: usize,
}

/// A node's (width, height) as Graphviz draws it.
fn node_size(place: Place) -> (f64, f64) {
    let text = place.chars as f64 * NODE_CHAR + 16.0;
    let width = match place.shape {
        Shape::Box => text,
        Shape::Round => text * 1.18,
        Shape::Diamond => text * 1.67,
    };
    (width.max(54.0), NODE_HEIGHT)
}

/// An edge label's (width, height).
fn label_size(chars: usize) -> (f64, f64) {
    (chars as f64 * LABEL_CHAR + 4.0, LABEL_HEIGHT)
}

/// What [`layout`] finds.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Layout {
    /// The extent.
    pub extent: Extent,
    /// Of the first `own` places, the one in the last rank that comes first: where the
    /// flow ends.
    pub last: usize,
}

/// A definition to lay out: `places` joined by `links`, of which the first `own` are its
/// own nodes and the others stand-ins beside it, in `depth` nested clusters, the outer
/// one titled with `title` characters.
#[derive(Debug, Clone, Copy)]
pub(super) struct Definition<'a> {
    /// Its nodes, then the stand-ins.
    pub places: &'a [Place],
    /// How many of the places are its own nodes.
    pub own: usize,
    /// The edges between places.
    pub links: &'a [Link],
    /// How deep its clusters nest.
    pub depth: usize,
    /// The characters of its outer cluster's title.
    pub title: usize,
}

/// The layout of `d` on a page that runs `direction`.
pub(super) fn layout(d: Definition<'_>, direction: Direction) -> Layout {
    let Definition {
        places,
        own,
        links,
        depth,
        title,
    } = d;
    let rank = ranks(places.len(), links);
    let last = (0..own.min(places.len()))
        .max_by_key(|&i| (rank[i], std::cmp::Reverse(i)))
        .unwrap_or(0);
    let mut extent = extent(places, links, &rank, depth, direction);
    let title = title as f64 * TITLE_CHAR + CLUSTER_ACROSS;
    match direction {
        Direction::TopDown => extent.across = extent.across.max(title),
        Direction::LeftRight => extent.along = extent.along.max(title),
    }
    Layout { extent, last }
}

/// The extent of `places` in the ranks `rank`, joined by `links`, in `depth` nested
/// clusters, on a page that runs `direction`.
fn extent(
    places: &[Place],
    links: &[Link],
    rank: &[usize],
    depth: usize,
    direction: Direction,
) -> Extent {
    if places.is_empty() {
        return Extent::default();
    }
    let ranks = rank.iter().max().map_or(1, |r| r + 1);
    let flip = |(w, h): (f64, f64)| Extent::of_size(w, h, direction);
    // Each rank's extent, and each gap's (the labels of the edges leaving a rank).
    let mut rank_size = vec![Extent::default(); ranks];
    let mut gap_size = vec![Extent::default(); ranks];
    let mut count = vec![0usize; ranks];
    let mut gap_count = vec![0usize; ranks];
    for (i, &p) in places.iter().enumerate() {
        let e = flip(node_size(p));
        let r = &mut rank_size[rank[i]];
        r.along = r.along.max(e.along);
        r.across += e.across;
        count[rank[i]] += 1;
    }
    let labelled = links.iter().any(|l| l.label > 0);
    for l in links.iter().filter(|l| l.label > 0) {
        let e = flip(label_size(l.label));
        let g = &mut gap_size[rank[l.from].min(ranks - 1)];
        g.along = g.along.max(e.along);
        g.across += e.across;
        gap_count[rank[l.from]] += 1;
    }
    let mut along = RANK_GAP * (ranks - 1) as f64;
    let mut across: f64 = 0.0;
    for r in 0..ranks {
        along += rank_size[r].along;
        if labelled && r + 1 < ranks {
            along += gap_size[r].along;
        }
        let gaps = |n: usize| NODE_GAP * n.saturating_sub(1) as f64;
        across = across
            .max(rank_size[r].across + gaps(count[r]))
            .max(gap_size[r].across + gaps(gap_count[r]));
    }
    Extent {
        along: along + CLUSTER_ALONG * depth as f64,
        across: across + CLUSTER_ACROSS * depth as f64,
    }
}

/// Each place's rank: the longest path to it from a place nothing leads to, the edges
/// that close a loop left out (found by a depth-first walk, as `dot` breaks cycles).
fn ranks(count: usize, links: &[Link]) -> Vec<usize> {
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (i, l) in links.iter().enumerate() {
        if l.from < count && l.to < count {
            out[l.from].push(i);
        }
    }
    // 0: not seen, 1: on the walk's path, 2: done.
    let mut state = vec![0u8; count];
    let mut back = vec![false; links.len()];
    let mut finished = Vec::with_capacity(count);
    for root in 0..count {
        if state[root] != 0 {
            continue;
        }
        state[root] = 1;
        let mut path = vec![(root, 0usize)];
        while let Some(&mut (at, ref mut next)) = path.last_mut() {
            if let Some(&e) = out[at].get(*next) {
                *next += 1;
                let to = links[e].to;
                match state[to] {
                    0 => {
                        state[to] = 1;
                        path.push((to, 0));
                    }
                    1 => back[e] = true,
                    _ => {}
                }
            } else {
                state[at] = 2;
                finished.push(at);
                path.pop();
            }
        }
    }
    let mut rank = vec![0usize; count];
    for &at in finished.iter().rev() {
        for &e in &out[at] {
            if !back[e] {
                let to = links[e].to;
                rank[to] = rank[to].max(rank[at] + 1);
            }
        }
    }
    rank
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lay(places: &[Place], links: &[Link], direction: Direction) -> Layout {
        let d = Definition {
            places,
            own: places.len(),
            links,
            depth: 0,
            title: 0,
        };
        layout(d, direction)
    }

    fn boxes(n: usize) -> Vec<Place> {
        vec![
            Place {
                chars: 10,
                shape: Shape::Box,
            };
            n
        ]
    }

    #[test]
    fn a_chain_is_as_long_as_its_nodes_and_a_loop_back_does_not_lengthen_it() {
        let chain = [
            Link {
                from: 0,
                to: 1,
                label: 0,
            },
            Link {
                from: 1,
                to: 2,
                label: 0,
            },
        ];
        let e = lay(&boxes(3), &chain, Direction::TopDown);
        assert_eq!(e.last, 2);
        let e = e.extent;
        assert!(
            (e.along - (3.0 * NODE_HEIGHT + 2.0 * RANK_GAP)).abs() < 1e-9,
            "{e:?}"
        );
        let mut looped = chain.to_vec();
        looped.push(Link {
            from: 2,
            to: 0,
            label: 0,
        });
        assert_eq!(lay(&boxes(3), &looped, Direction::TopDown).extent, e);
    }

    #[test]
    fn a_fan_spreads_across_top_down_and_along_left_to_right() {
        let fan: Vec<Link> = (1..5)
            .map(|to| Link {
                from: 0,
                to,
                label: 0,
            })
            .collect();
        let down = lay(&boxes(5), &fan, Direction::TopDown).extent;
        let right = lay(&boxes(5), &fan, Direction::LeftRight).extent;
        assert!(down.across > down.along, "{down:?}");
        assert!(right.across > right.along, "{right:?}");
        assert!(down.size(Direction::TopDown).0 > right.size(Direction::LeftRight).0);
    }
}
