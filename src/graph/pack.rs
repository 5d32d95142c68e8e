//! Definitions of estimated sizes cut into pages, and on each page stacked into lanes
//! side by side (columns on a top-down page, rows on a left-to-right one): lanes as long
//! as makes each page about the shape of a screen, and as few pages as fit.

use super::Direction;
use super::estimate::Extent;

/// The widest a page is cut to be, in Graphviz points by the estimate: about a screen's
/// width when drawn at full size (an estimate; rendered pages stay under 2,000 points).
const PAGE_WIDTH: f64 = 1500.0;
/// The tallest a page is cut to be, in estimated points.
const PAGE_HEIGHT: f64 = 1500.0;
/// The shape a page's lanes are balanced towards: a screen's width to height.
const ASPECT: f64 = 4.0 / 3.0;
/// The space between two definitions stacked in a lane (one rank with a label).
const STACK_GAP: f64 = 60.0;
/// The space between two lanes side by side.
const LANE_GAP: f64 = 24.0;

/// The definitions on a page, in lanes side by side, by their places in a list.
pub(super) type Lanes = Vec<Vec<usize>>;

/// Definitions of the sizes `extents`, in order, cut into pages of lanes (by their
/// places in `extents`): lanes about as long as makes each page the shape of a screen,
/// and as few pages as fit.
pub(super) fn pack(extents: &[Extent], direction: Direction) -> Vec<Lanes> {
    let limit = Extent::of_size(PAGE_WIDTH, PAGE_HEIGHT, direction);
    let longest = extents.iter().map(|e| e.along).fold(0.0, f64::max);
    // Lane lengths to try, from the longest definition's to a page's.
    let tries: Vec<f64> = if longest >= limit.along {
        vec![longest]
    } else {
        (0..=8)
            .map(|k| longest + (limit.along - longest) * f64::from(k) / 8.0)
            .collect()
    };
    let mut best: Option<(usize, f64, Vec<Lanes>)> = None;
    for lane_length in tries {
        let pages = pack_in(extents, lane_length, limit.across);
        let misfit: f64 = pages
            .iter()
            .map(|lanes| {
                let e = page_extent(extents, lanes);
                let (w, h) = e.size(direction);
                ((w / h.max(1.0)) / ASPECT).ln().abs()
            })
            .sum();
        let better = match &best {
            None => true,
            Some((count, fit, _)) => {
                pages.len() < *count || (pages.len() == *count && misfit < *fit - 1e-9)
            }
        };
        if better {
            best = Some((pages.len(), misfit, pages));
        }
    }
    best.map(|(_, _, p)| p).unwrap_or_default()
}

/// The extent of a page of `lanes`.
fn page_extent(extents: &[Extent], lanes: &Lanes) -> Extent {
    let mut page = Extent::default();
    for (l, lane) in lanes.iter().enumerate() {
        let along: f64 = lane.iter().map(|&i| extents[i].along).sum::<f64>()
            + STACK_GAP * lane.len().saturating_sub(1) as f64;
        let across = lane.iter().map(|&i| extents[i].across).fold(0.0, f64::max);
        page.along = page.along.max(along);
        page.across += across + if l > 0 { LANE_GAP } else { 0.0 };
    }
    page
}

/// Definitions stacked into lanes no longer than `lane_length` (but for one alone that
/// is longer), and lanes side by side into pages no wider than `across` (but for one lane
/// alone that is wider).
fn pack_in(extents: &[Extent], lane_length: f64, across: f64) -> Vec<Lanes> {
    let mut pages: Vec<Lanes> = Vec::new();
    let mut page: Lanes = Vec::new();
    let mut page_across = 0.0;
    let mut lane: Vec<usize> = Vec::new();
    let mut lane_along = 0.0;
    let mut lane_across: f64 = 0.0;
    let mut close_lane = |lane: &mut Vec<usize>, lane_across: f64, page: &mut Vec<Vec<usize>>| {
        if !page.is_empty() && page_across + LANE_GAP + lane_across > across {
            pages.push(std::mem::take(page));
            page_across = 0.0;
        }
        page_across += lane_across + if page.is_empty() { 0.0 } else { LANE_GAP };
        page.push(std::mem::take(lane));
    };
    for (i, e) in extents.iter().enumerate() {
        if !lane.is_empty() && lane_along + STACK_GAP + e.along > lane_length {
            close_lane(&mut lane, lane_across, &mut page);
            lane_along = 0.0;
            lane_across = 0.0;
        }
        lane_along += e.along + if lane.is_empty() { 0.0 } else { STACK_GAP };
        lane_across = lane_across.max(e.across);
        lane.push(i);
    }
    if !lane.is_empty() {
        close_lane(&mut lane, lane_across, &mut page);
    }
    if !page.is_empty() {
        pages.push(page);
    }
    pages
}
