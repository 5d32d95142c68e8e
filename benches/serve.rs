//! `bmad serve` at scale (issue 23): a simulated run of 10,000 stories (the seeded DAG of
//! benches/dags.rs, dev -> QA, 20% rejected) recorded by the release binary, then served:
//!
//! 1. `open`: the wall time of each page (the run list, the run, a step, its operations)
//!    from the request to the last byte, over loopback, 5 times each (median, max): the
//!    run's page must open in under 1 s.
//! 2. `replay`: the whole log sent as server-sent events from the start (events/s).
//! 3. `live`: the same run recorded again while a client follows it from its first event:
//!    the run's own rate (events/s of its wall time) and how far behind the stream ends
//!    (from the run's exit to the stream's `end`).
//!
//! `cargo bench --bench serve`. BENCHMARKS.md records the figures.

// Event counts and times become f64 only for rates.
#![allow(clippy::cast_precision_loss)]

// Only the simulated workflow and the seeded DAG are used here.
#[allow(dead_code)]
mod dags;
#[path = "../tests/integration/common/web.rs"]
#[allow(dead_code, unreachable_pub)]
mod web;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const STORIES: usize = 10_000;

fn bmad() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bmad"))
}

/// Records the simulated run of `file` into `state`; its wall time.
fn record(file: &Path, ws: &Path, state: &Path) -> Duration {
    let start = Instant::now();
    let status = bmad()
        .args(["run", "--simulate", "--workspace"])
        .arg(ws)
        .arg("--state")
        .arg(state)
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("bmad runs");
    // 3: some stories blocked after their last attempt, as the workflow's 20% QA
    // rejections make some.
    assert!(
        matches!(status.code(), Some(0 | 3)),
        "the simulated run failed: {status}"
    );
    start.elapsed()
}

fn runs(state: &Path) -> Vec<bmad::state::RunInfo> {
    bmad::state::Store::open_read_only(state)
        .and_then(|s| s.runs())
        .unwrap_or_default()
}

fn timed(s: &web::Served, path: &str) -> (Duration, usize) {
    let start = Instant::now();
    let a = s.get(path, &[]);
    assert_eq!(a.status, 200, "{path}: {}", a.body);
    (start.elapsed(), a.body.len())
}

fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("stories.bmad");
    std::fs::write(&file, dags::simulated_workflow(STORIES, dags::seeded)).expect("written");
    let state = dir.path().join("state.db");
    let recorded = record(&file, dir.path(), &state);
    let run = runs(&state).remove(0);
    println!(
        "recorded: {STORIES} stories, {} events in {:.2} s ({:.0} events/s)",
        run.events,
        recorded.as_secs_f64(),
        run.events as f64 / recorded.as_secs_f64()
    );
    let served = web::serve(&state, &[]);
    println!("open (5 times each, median / max, size)");
    let id = &run.id;
    let last_step = bmad::state::Store::open_read_only(&state)
        .and_then(|s| s.step_starts(id))
        .ok()
        .and_then(|s| s.last().map(|s| s.key.replace('#', "%23")))
        .expect("the run started steps");
    for (name, path) in [
        ("run list", "/".to_string()),
        ("run", format!("/runs/{id}")),
        ("step", format!("/runs/{id}/steps/{last_step}")),
        ("operations", format!("/runs/{id}/ops")),
    ] {
        let mut times: Vec<(Duration, usize)> = (0..5).map(|_| timed(&served, &path)).collect();
        times.sort();
        println!(
            "  {name:<11} {:>7.1} ms / {:>7.1} ms  {:>8} bytes",
            times[2].0.as_secs_f64() * 1e3,
            times[4].0.as_secs_f64() * 1e3,
            times[2].1
        );
    }
    let start = Instant::now();
    let replay = served.get(&format!("/runs/{id}/events?after=0"), &[]);
    let sent = replay.body.matches("event: log").count();
    let took = start.elapsed().as_secs_f64();
    assert_eq!(sent as u64, run.events, "the replay lost events");
    println!(
        "replay: {sent} events in {took:.2} s ({:.0} events/s)",
        sent as f64 / took
    );

    // Live: a client follows the run from its first event while it is recorded.
    let before: Vec<String> = runs(&state).into_iter().map(|r| r.id).collect();
    let started = Instant::now();
    let child = bmad()
        .args(["run", "--simulate", "--workspace"])
        .arg(dir.path())
        .arg("--state")
        .arg(&state)
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("bmad runs");
    let followed = loop {
        if let Some(r) = runs(&state).into_iter().find(|r| !before.contains(&r.id)) {
            break r.id;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // Its exit, timed by a thread of its own.
    let waiter = std::thread::spawn(move || {
        let mut child = child;
        let _ = child.wait();
        Instant::now()
    });
    let mut stream = std::net::TcpStream::connect(&served.addr).expect("connects");
    let _ = write!(
        stream,
        "GET /runs/{followed}/events?after=0 HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        served.addr
    );
    let mut events = 0u64;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
        if line.contains("event: log") {
            events += 1;
        }
        if line.starts_with("event: end") {
            break;
        }
        line.clear();
    }
    let ended = Instant::now();
    let exited = waiter.join().expect("the run is waited for");
    let run_wall = exited.duration_since(started).as_secs_f64();
    println!(
        "live: the run made {events} events in {run_wall:.2} s ({:.0} events/s); the stream \
         ended {:.0} ms after the run did",
        events as f64 / run_wall,
        ended.saturating_duration_since(exited).as_secs_f64() * 1e3
    );
}
