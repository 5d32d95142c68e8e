//! The checks every project's stories take, whatever their format: each id once, each
//! dependency a story of the project, and no cycle among them.

use super::ProjectStory;
use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use std::collections::HashMap;

/// Adds a diagnostic for each id used twice, each dependency on an unknown story and each
/// cycle among `stories`.
pub(super) fn check(out: &mut Vec<Diagnostic>, stories: &[ProjectStory]) {
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(stories.len());
    for (i, s) in stories.iter().enumerate() {
        let id = s.story.id.name.as_str();
        if let Some(&first) = index.get(id) {
            out.push(
                Diagnostic::error(Code::Duplicate, format!("story `{id}` is defined twice"))
                    .at(s.id_at, "defined again here")
                    .also(stories[first].id_at, "first defined here")
                    .help("give each story its own id: ids are never reused"),
            );
        } else {
            index.insert(id, i);
        }
    }
    let mut edges: Vec<Vec<(usize, usize)>> = vec![Vec::new(); stories.len()];
    for (i, s) in stories.iter().enumerate() {
        for (k, dep) in s.story.after.iter().enumerate() {
            let at = s.after_at.get(k).copied().unwrap_or(s.id_at);
            match index.get(dep.name.as_str()) {
                Some(&j) => edges[i].push((j, k)),
                None => out.push(
                    Diagnostic::error(
                        Code::Undefined,
                        format!(
                            "story `{}` depends on unknown story `{}`",
                            s.story.id.name, dep.name
                        ),
                    )
                    .at(at, "no story has this id")
                    .maybe_help(did_you_mean(&dep.name, index.keys().copied())),
                ),
            }
        }
    }
    for cycle in cycles(&edges) {
        let names: Vec<&str> = cycle
            .iter()
            .map(|(i, _)| stories[*i].story.id.name.as_str())
            .collect();
        let path = format!("{} -> {}", names.join(" -> "), names[0]);
        let mut d = Diagnostic::error(
            Code::DependencyCycle,
            format!("stories form a cycle: {path}"),
        )
        .help("a story cannot wait for itself: remove one dependency of the cycle");
        for (n, (i, k)) in cycle.iter().enumerate() {
            let s = &stories[*i];
            let at = s.after_at.get(*k).copied().unwrap_or(s.id_at);
            let next = names[(n + 1) % names.len()];
            let label = format!("`{}` waits for `{next}`", s.story.id.name);
            d = if n == 0 {
                d.at(at, label)
            } else {
                d.also(at, label)
            };
        }
        out.push(d);
    }
}

/// Each cycle once, as (story, the index of its dependency on the next story) from its
/// first story; `edges[i]` are story i's dependencies (story, index in its `after`).
fn cycles(edges: &[Vec<(usize, usize)>]) -> Vec<Vec<(usize, usize)>> {
    // 0: not seen, 1: on the path, 2: finished.
    let mut state = vec![0u8; edges.len()];
    let mut found = Vec::new();
    for start in 0..edges.len() {
        if state[start] != 0 {
            continue;
        }
        // An iterative depth-first walk: the path of (story, next edge to try).
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            if let Some(&(to, _)) = edges[node].get(*next) {
                *next += 1;
                match state[to] {
                    0 => {
                        state[to] = 1;
                        path.push((to, 0));
                    }
                    1 => {
                        let from = path.iter().position(|(n, _)| *n == to).unwrap_or(0);
                        let cycle = path[from..]
                            .iter()
                            .map(|(n, e)| (*n, edges[*n][e - 1].1))
                            .collect();
                        found.push(cycle);
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                path.pop();
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_are_found_once_with_their_edges() {
        // 0 -> 1 -> 2 -> 0, and 3 -> 3.
        let edges = vec![vec![(1, 0)], vec![(2, 0)], vec![(0, 0)], vec![(3, 0)]];
        let found = cycles(&edges);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0], [(0, 0), (1, 0), (2, 0)]);
        assert_eq!(found[1], [(3, 0)]);
        assert!(cycles(&[vec![(1, 0)], vec![]]).is_empty());
    }
}
