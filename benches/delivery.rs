//! What delivery through git adds per story, run through the release `bmad` binary as a
//! user would: 200 stories, each a small change (a line appended to one of the files of a
//! repository of 5,000 files), two at a time, with trivial agents (a shell line) and a
//! trivial verdict (`true`). The same workflow runs in the repository (each story in its
//! own worktree, committed, merged through the lane) and in a plain copy of its files (no
//! git: stories share the workspace).
//!
//! Per story, from the run's report (event times in ms): the time before its first agent
//! task once a slot was free for it (its worktree) and the time from the end of its body to
//! `story_done` (its commit and merge: waiting for the lane, and its verdict run again on
//! the merged result, included). The plain run gives the same measure without delivery
//! (the scheduler's own share); the wall times give what delivery costs the whole run.
//!
//! `cargo bench --bench delivery`. Prints the figures BENCHMARKS.md records.

use std::fmt::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const STORIES: usize = 200;
const DIRS: usize = 50;
const FILES_PER_DIR: usize = 100;
const RUNS: usize = 3;

fn workflow() -> String {
    let mut s = String::from(
        "agent dev {\n  backend exec \"i=${BMAD_STORY#s}; echo \\\"change $i\\\" >> d$((i % 50))/f$((i / 50)).txt\"\n}\n\
         agent qa {\n  backend exec \"true\"\n}\n\
         phase development {\n  for story in stories max 2 {\n    repeat max 2 {\n      dev: implement\n      qa: validate\n    } until approved\n  }\n}\n",
    );
    for i in 0..STORIES {
        let _ = write!(
            s,
            "story \"s{i}\" backend {{\n  title \"Change {i}\"\n  modify \"/d{}/f{}.txt\"\n}}\n",
            i % DIRS,
            i / DIRS
        );
    }
    s
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "Bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .status()
        .expect("git runs")
        .success();
    assert!(ok, "git {args:?}");
}

/// 5,000 small files in 50 directories; a git repository on `main` when `repo`.
fn project(dir: &Path, repo: bool) {
    for d in 0..DIRS {
        let sub = dir.join(format!("d{d}"));
        std::fs::create_dir_all(&sub).unwrap();
        for f in 0..FILES_PER_DIR {
            std::fs::write(
                sub.join(format!("f{f}.txt")),
                format!("file {d}/{f}\nsome text that a story may change\n"),
            )
            .unwrap();
        }
    }
    if repo {
        git(dir, &["init", "-q"]);
        git(dir, &["symbolic-ref", "HEAD", "refs/heads/main"]);
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "-m", "5,000 files"]);
    }
}

/// One run: its wall time in ms and its report.
fn run(bmad: &Path, flow: &Path, ws: &Path) -> (u64, serde_json::Value) {
    let report = ws.with_extension("json");
    let started = Instant::now();
    let out = Command::new(bmad)
        .arg("run")
        .arg(flow)
        .arg("--workspace")
        .arg(ws)
        .arg("--report")
        .arg(&report)
        .arg("--log-format")
        .arg("json")
        .env("BMAD_LOG", "error")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CEILING_DIRECTORIES", ws.parent().unwrap())
        .output()
        .expect("bmad runs");
    let wall = u64::try_from(started.elapsed().as_millis()).expect("milliseconds fit");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["stories_done"].as_array().unwrap().len(), STORIES);
    (wall, report)
}

/// What delivery cost each story, in ms.
#[derive(Default)]
struct Costs {
    /// From a free slot to its first task: its worktree.
    isolation: Vec<u64>,
    /// From the end of its body (its last task before its commit) to its commit.
    commit: Vec<u64>,
    /// From its commit, or the lane's previous merge when that came later, to its end:
    /// its own turn in the lane (merge, the verdict run again on the merged result, the
    /// integration branch's advance).
    lane: Vec<u64>,
    /// Waiting for the lane while another story merged.
    waiting: Vec<u64>,
    /// isolation + commit + lane: what it added, its waits left out.
    added: Vec<u64>,
    /// From the end of its body to its end, waits included, plus its isolation.
    latency: Vec<u64>,
}

/// Each story's costs from a run's events (the plain run has no commit and no lane: its
/// "commit" is the time from its last task to its end).
fn costs(report: &serde_json::Value) -> Costs {
    use std::collections::BTreeMap;
    let events = report["events"].as_array().unwrap();
    let (mut first, mut body_end, mut committed, mut done) = (
        BTreeMap::new(),
        BTreeMap::new(),
        BTreeMap::new(),
        BTreeMap::new(),
    );
    // Two slots are free when the phase starts; each story's end frees one.
    let mut free = Vec::new();
    for e in events {
        let at = e["at_ms"].as_u64().unwrap();
        let story = e["story"].as_str().map(str::to_string);
        match (e["event"].as_str().unwrap(), story) {
            ("phase_started", _) => free.extend([at, at]),
            ("task_started", Some(s)) => {
                first.entry(s).or_insert(at);
            }
            ("task_finished", Some(s)) if !committed.contains_key(&s) => {
                body_end.insert(s, at);
            }
            ("story_committed", Some(s)) => {
                committed.insert(s, at);
            }
            ("story_done", Some(s)) => {
                done.insert(s, at);
                free.push(at);
            }
            _ => {}
        }
    }
    free.sort_unstable();
    let mut ends: Vec<u64> = done.values().copied().collect();
    ends.sort_unstable();
    let mut starts: Vec<(u64, String)> = first.iter().map(|(s, t)| (*t, s.clone())).collect();
    starts.sort();
    let mut c = Costs::default();
    for ((start, s), slot) in starts.iter().zip(&free) {
        let isolation = start.saturating_sub(*slot);
        let end = done[s];
        let body = body_end[s];
        let commit_at = committed.get(s).copied().unwrap_or(end);
        // The lane's previous merge: the last story end before this one's.
        let before = ends.partition_point(|t| *t < end);
        let previous = before.checked_sub(1).map_or(0, |i| ends[i]);
        let turn = commit_at.max(previous).min(end);
        c.isolation.push(isolation);
        c.commit.push(commit_at - body);
        c.lane.push(end - turn);
        c.waiting.push(turn - commit_at);
        c.added.push(isolation + (commit_at - body) + (end - turn));
        c.latency.push(isolation + (end - body));
    }
    c
}

// `p` is between 0 and 1: the index is in the slice.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let bmad = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/bmad");
    let built = Command::new("cargo")
        .args(["build", "--release", "--quiet"])
        .status()
        .expect("cargo runs")
        .success();
    assert!(built, "the release build failed");
    let dir = tempfile::tempdir().unwrap();
    let flow = dir.path().join("delivery.bmad");
    std::fs::write(&flow, workflow()).unwrap();
    println!(
        "{STORIES} stories, {} files, two at a time; {RUNS} runs of each",
        DIRS * FILES_PER_DIR
    );
    let mut walls = (Vec::new(), Vec::new());
    let (mut git_costs, mut plain_costs) = (Costs::default(), Costs::default());
    for round in 0..RUNS {
        for (repo, name) in [(true, "git"), (false, "plain")] {
            let ws = dir.path().join(format!("{name}-{round}"));
            project(&ws, repo);
            let (wall, report) = run(&bmad, &flow, &ws);
            let mut c = costs(&report);
            c.added.sort_unstable();
            println!(
                "{name:<5} run {round}: {wall} ms wall ({:.1} ms a story); added per story: \
                 median {} ms, p90 {} ms, max {} ms",
                wall as f64 / STORIES as f64,
                percentile(&c.added, 0.5),
                percentile(&c.added, 0.9),
                c.added.last().unwrap()
            );
            let (w, all) = if repo {
                (&mut walls.0, &mut git_costs)
            } else {
                (&mut walls.1, &mut plain_costs)
            };
            w.push(wall);
            for (to, from) in [
                (&mut all.isolation, c.isolation),
                (&mut all.commit, c.commit),
                (&mut all.lane, c.lane),
                (&mut all.waiting, c.waiting),
                (&mut all.added, c.added),
                (&mut all.latency, c.latency),
            ] {
                to.extend(from);
            }
            std::fs::remove_dir_all(&ws).unwrap();
        }
    }
    for (name, walls, c) in [
        ("git", &mut walls.0, &mut git_costs),
        ("plain", &mut walls.1, &mut plain_costs),
    ] {
        walls.sort_unstable();
        println!(
            "{name}: median wall {} ms ({:.1} ms a story); per story, median / p90 in ms:",
            percentile(walls, 0.5),
            percentile(walls, 0.5) as f64 / STORIES as f64
        );
        for (what, list) in [
            ("isolation (worktree)", &mut c.isolation),
            ("commit", &mut c.commit),
            ("merge lane, own turn", &mut c.lane),
            ("waiting for the lane", &mut c.waiting),
            ("added (isolation + commit + lane)", &mut c.added),
            ("latency (added + waiting)", &mut c.latency),
        ] {
            list.sort_unstable();
            println!(
                "  {what:<34} {:>5} {:>5}",
                percentile(list, 0.5),
                percentile(list, 0.9)
            );
        }
    }
    println!(
        "delivery adds per story: median {} ms (target: at most 150 ms)",
        percentile(&git_costs.added, 0.5).saturating_sub(percentile(&plain_costs.added, 0.5)),
    );
}
