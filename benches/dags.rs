//! Story DAGs for the run benchmarks (`run.rs`, `scale.rs`): epics of ten chained stories,
//! or a seeded DAG where each story comes after up to two earlier ones; the workflows that
//! run them (simulated dev -> QA loops, one simulated step, one `true` each) and the same
//! DAG for ninja.

use std::fmt::Write;

/// Stories come in epics of ten, each story after the one before it in its epic: a DAG
/// of 1,000 independent chains (as wide as any limit) for 10,000 stories.
pub(crate) fn chains(i: usize) -> Vec<usize> {
    if i.is_multiple_of(10) {
        Vec::new()
    } else {
        vec![i - 1]
    }
}

/// splitmix64: the seeded DAG's draws.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Story `i` of the seeded DAG comes after up to two earlier stories (none, one or two,
/// drawn with the seed), anywhere before it: stories become ready, and finish, in an
/// order scattered over the whole set.
pub(crate) fn seeded(i: usize) -> Vec<usize> {
    if i == 0 {
        return Vec::new();
    }
    let h = mix(i as u64 ^ 0x5eed);
    let mut after: Vec<usize> = (0..h % 3)
        .map(|k| usize::try_from(mix(h.wrapping_add(k)) % i as u64).unwrap_or(0))
        .collect();
    after.dedup();
    after
}

/// `n` stories, alternately frontend and backend, each after `deps(i)`.
pub(crate) fn stories(out: &mut String, n: usize, deps: fn(usize) -> Vec<usize>) {
    for i in 0..n {
        let kind = if i % 2 == 0 { "frontend" } else { "backend" };
        let _ = write!(out, "story \"s{i}\" {kind} {{\n  title \"Story {i}\"\n");
        let after: Vec<String> = deps(i).iter().map(|d| format!("\"s{d}\"")).collect();
        if !after.is_empty() {
            let _ = writeln!(out, "  after {}", after.join(", "));
        }
        out.push_str("}\n");
    }
}

/// `n` stories; each: dev implements, QA validates (20% rejected), at most 3 times.
pub(crate) fn simulated_workflow(n: usize, deps: fn(usize) -> Vec<usize>) -> String {
    let mut s = String::from(
        "agent ui_dev { backend sim duration 45m }\n\
         agent backend_dev { backend sim duration 1h }\n\
         agent qa { backend sim duration 15m fail 20% }\n\
         limits {\n  global {\n    max_concurrent_agents 8\n  }\n}\n\
         phase development max 8 {\n  for story in stories max 8 {\n\
         \x20   assign dev by story.type {\n      frontend => ui_dev\n      backend => backend_dev\n    }\n\
         \x20   repeat max 3 {\n      dev: implement {\n        context story, dependencies\n      }\n\
         \x20     qa: validate {\n        tests unit, e2e\n      }\n    } until approved\n  }\n}\n",
    );
    stories(&mut s, n, deps);
    s
}

/// `n` stories of one simulated step each (a task that only takes virtual time).
pub(crate) fn one_step_workflow(n: usize, deps: fn(usize) -> Vec<usize>) -> String {
    let mut s = String::from(
        "agent dev { backend sim duration 1h }\n\
         limits {\n  global {\n    max_concurrent_agents 8\n  }\n}\n\
         phase development max 8 {\n  for story in stories max 8 {\n    dev: implement\n  }\n}\n",
    );
    stories(&mut s, n, deps);
    s
}

/// `n` stories, each one `true` run by an exec agent, at most 2 at once.
pub(crate) fn exec_workflow(n: usize, deps: fn(usize) -> Vec<usize>) -> String {
    let mut s = String::from(
        "agent runner { backend exec \"true\" }\n\
         limits {\n  global {\n    max_concurrent_agents 2\n  }\n}\n\
         phase build {\n  for story in stories {\n    runner: run\n  }\n}\n",
    );
    stories(&mut s, n, deps);
    s
}

/// [`exec_workflow`] with the agent under a memory limit (an rlimit set on each child).
#[allow(dead_code)] // Used by the scale bench only.
pub(crate) fn exec_workflow_limited(n: usize, deps: fn(usize) -> Vec<usize>) -> String {
    exec_workflow(n, deps).replacen(
        "agent runner { backend exec \"true\" }",
        "agent runner {\n  backend exec \"true\"\n  limits {\n    memory 1GB\n  }\n}",
        1,
    )
}

/// The same DAG for ninja: one `true` edge per story, after its dependencies.
pub(crate) fn ninja_file(n: usize, deps: fn(usize) -> Vec<usize>) -> String {
    let mut s = String::from("rule t\n  command = true\n");
    for i in 0..n {
        let after: Vec<String> = deps(i).iter().map(|d| format!("s{d}")).collect();
        if after.is_empty() {
            let _ = writeln!(s, "build s{i}: t");
        } else {
            let _ = writeln!(s, "build s{i}: t | {}", after.join(" "));
        }
    }
    s
}
