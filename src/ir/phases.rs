//! The order of the phases and which of them the workflow reaches, through their `after`:
//! the edges resolved once into flat lists (a workflow can have a million phases).

// Definitions, entries and phases are numbered in u32: there are fewer of them than
// bytes in the workflow, whose files are at most 64 MiB each (load::MAX_FILE_BYTES).
#![allow(clippy::cast_possible_truncation)]

use super::Program;
use rustc_hash::FxHashMap;

/// The phases' `after` edges, resolved by name (a name that is no phase is left out; a
/// name written twice is the first phase of that name): phase `i` comes after the phases
/// `list[start[i]..start[i + 1]]`, in the order its `after` names them.
pub(super) struct After {
    start: Vec<u32>,
    list: Vec<u32>,
}

impl After {
    /// The edges of `p`'s phases.
    pub(super) fn of(p: &Program) -> After {
        let mut index: FxHashMap<&str, u32> = FxHashMap::default();
        index.reserve(p.phases.len());
        for (i, ph) in p.phases.iter().enumerate() {
            index.entry(ph.name.name.as_str()).or_insert(i as u32);
        }
        let mut start = Vec::with_capacity(p.phases.len() + 1);
        let mut list = Vec::with_capacity(p.phases.len());
        start.push(0);
        for ph in &p.phases {
            list.extend(ph.after.iter().filter_map(|a| index.get(a.name.as_str())));
            start.push(list.len() as u32);
        }
        After { start, list }
    }

    fn len(&self) -> usize {
        self.start.len() - 1
    }

    /// The phases phase `i` comes after.
    fn of_phase(&self, i: usize) -> &[u32] {
        &self.list[self.start[i] as usize..self.start[i + 1] as usize]
    }

    /// The reverse edges: the phases that come after each phase, in the same flat form.
    fn reversed(&self) -> After {
        let n = self.len();
        let mut start = vec![0u32; n + 1];
        for &j in &self.list {
            start[j as usize + 1] += 1;
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut next = start.clone();
        let mut list = vec![0u32; self.list.len()];
        for i in 0..n {
            for &j in self.of_phase(i) {
                list[next[j as usize] as usize] = i as u32;
                next[j as usize] += 1;
            }
        }
        After { start, list }
    }
}

/// The order of a sweep through the phases in declaration order, again and again, taking
/// each phase whose `after` phases are taken; phases in a cycle last, in declaration
/// order. A phase is taken in the sweep its last dependency was taken in, or the next one
/// when that dependency comes after it: computed in one pass over the edges (a sweep per
/// level was quadratic on a long chain written backwards), then sorted by (sweep, place).
pub(super) fn order(after: &After) -> Vec<usize> {
    let n = after.len();
    let dependents = after.reversed();
    let mut waiting: Vec<u32> = (0..n).map(|i| after.of_phase(i).len() as u32).collect();
    let mut sweep = vec![0u64; n];
    let mut ready: Vec<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    // (sweep, place) of each phase taken, packed to sort as one number.
    let mut taken: Vec<u64> = Vec::with_capacity(n);
    while let Some(i) = ready.pop() {
        sweep[i] = after
            .of_phase(i)
            .iter()
            .map(|&d| sweep[d as usize] + u64::from(d as usize > i))
            .max()
            .unwrap_or(1);
        taken.push(sweep[i] << 32 | i as u64);
        for &d in dependents.of_phase(i) {
            let d = d as usize;
            waiting[d] -= 1;
            if waiting[d] == 0 {
                ready.push(d);
            }
        }
    }
    taken.sort_unstable();
    let mut order: Vec<usize> = taken.iter().map(|&k| (k & 0xffff_ffff) as usize).collect();
    let cycles = (0..n).filter(|&i| waiting[i] > 0);
    order.extend(cycles);
    order
}

/// Which phases the workflow reaches, given its phases in `order`: its `start` (or, with
/// none, every phase with no `after`) and every phase after a reached one.
pub(super) fn reached(p: &Program, after: &After, order: &[usize]) -> Vec<bool> {
    let start = p.workflow.as_ref().and_then(|w| w.start.as_ref());
    let mut live: Vec<bool> = p
        .phases
        .iter()
        .map(|ph| match start {
            Some(s) => ph.name.name == s.name,
            None => ph.after.is_empty(),
        })
        .collect();
    for &i in order {
        let reached = after.of_phase(i).iter().any(|&j| live[j as usize]);
        live[i] |= reached;
    }
    live
}
