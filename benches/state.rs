//! State store benchmarks:
//! 1. recording 100,000 events in the store, as a simulation does (a commit every 1,024
//!    events) and as a real run does (a commit after every event);
//! 2. resuming a run of 10,000 finished steps: opening the store, checking the recorded
//!    artifacts, loading the log and the steps (`Runner::resume`), then the resumed run
//!    itself, which replays all 10,000 steps without running one.
//!
//! `cargo bench --bench state`. Prints medians of repeated runs; BENCHMARKS.md records them.

use bmad::runtime::{RunOptions, Runner};
use bmad::state::Store;
use std::fmt::Write;
use std::time::{Duration, Instant};

const RUNS: usize = 5;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// A `task_finished` event as the journal stores it.
fn event_json(i: u64) -> String {
    format!(
        r#"{{"event":"task_finished","agent":"backend_dev","tasks":["implement"],"story":"s{i}","ok":true,"feedback":null}}"#
    )
}

fn record(n: u64, commit_every: u64) -> Duration {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut store = Store::open(&dir.path().join("state.db")).expect("opens");
    let start = Instant::now();
    let run = store
        .begin_run(&bmad::state::NewRun {
            kind: bmad::state::RunKind::Run,
            workflow: "bench.bmad".into(),
            workflow_sha256: String::new(),
            workspace: String::new(),
            simulate: true,
            seed: 1,
        })
        .expect("a run");
    let key = store.run_key(&run).expect("its key");
    for i in 1..=n {
        let step = format!("development/0/s{i}/0");
        store
            .append_event(
                key,
                &bmad::state::EventRow {
                    seq: i,
                    at_ms: i * 1000,
                    wall_ms: bmad::state::now_ms(),
                    kind: "task_finished",
                    step: Some(&step),
                    data: &event_json(i),
                    moved: None,
                },
            )
            .expect("recorded");
        if i % commit_every == 0 {
            store.commit().expect("committed");
        }
    }
    store
        .end_run(&run, bmad::state::RunStatus::Succeeded, None)
        .expect("ended");
    start.elapsed()
}

/// `n` independent stories, one simulated task each: `n` steps.
fn workflow(n: usize) -> String {
    let mut s = String::from(
        "agent dev { backend sim duration 1h }\n\
         phase development max 8 {\n  for story in stories max 8 {\n    dev: implement\n  }\n}\n",
    );
    for i in 0..n {
        let _ = writeln!(s, "story \"s{i}\" backend {{\n  title \"Story {i}\"\n}}");
    }
    s
}

fn runner(src: &str, ws: &std::path::Path) -> Runner {
    let checked = bmad::check_text("resume.bmad", src);
    assert!(!checked.has_errors());
    Runner::new(
        checked.program,
        RunOptions {
            workspace: ws.to_path_buf(),
            simulate: true,
            seed: 1,
            ..Default::default()
        },
    )
    .expect("a runner")
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a runtime")
        .block_on(f)
}

fn main() {
    for (label, every) in [
        ("simulation (commit every 1,024)", 1024),
        ("real run (commit each)", 1),
    ] {
        let times: Vec<Duration> = (0..RUNS).map(|_| record(100_000, every)).collect();
        println!(
            "record 100,000 events, {label}: {:.3} s median of {RUNS}",
            median(times).as_secs_f64()
        );
    }

    // A run of 10,000 steps recorded to its end, then marked failed so it can be resumed.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let ws = dir.path();
    let state = ws.join("state.db");
    let src = workflow(10_000);
    let mut first = runner(&src, ws);
    let id = first
        .record_to(Store::open(&state).expect("opens"), "resume.bmad", "x")
        .expect("recorded");
    let report = block_on(first.run());
    assert!(report.ok && report.stories_done.len() == 10_000);
    drop(first);
    let (mut prepare, mut whole) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let conn = rusqlite::Connection::open(&state).expect("opens");
        conn.execute("UPDATE runs SET status = 'failed'", [])
            .expect("marked");
        drop(conn);
        let mut r = runner(&src, ws);
        let start = Instant::now();
        let store = Store::open(&state).expect("opens");
        let run = store.run(&id).expect("the run");
        let resumed = r.resume(store, &run, false).expect("resumes");
        prepare.push(start.elapsed());
        assert_eq!(resumed.finished, 10_000);
        let report = block_on(r.run());
        whole.push(start.elapsed());
        assert!(report.ok, "{:?}", report.failed);
        assert_eq!(report.tasks, 10_000, "the earlier tasks, none run again");
    }
    println!(
        "resume a run of 10,000 finished steps: ready in {:.0} ms, resumed run replayed to its end in {:.0} ms (medians of {RUNS})",
        median(prepare).as_secs_f64() * 1000.0,
        median(whole).as_secs_f64() * 1000.0
    );
}
