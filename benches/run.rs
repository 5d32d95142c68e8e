//! Runtime benchmarks, run through the release `bmad` binary as a user would:
//! 1. a simulated run of a 10,000-story DAG with dev -> QA loops (QA sends 20% of the work
//!    back): wall time and peak memory;
//! 2. a DAG of 2,000 `true` commands run by an exec agent under a global limit of 2, side by
//!    side with `ninja -j2` on the same DAG (Debian's ninja-build; skipped without it).
//!
//! `cargo bench --bench run`. Prints medians of repeated runs; BENCHMARKS.md records them.

use std::fmt::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 5;

/// Stories come in epics of ten, each story after the one before it in its epic: a DAG
/// of 1,000 independent chains (as wide as any limit) for 10,000 stories.
fn deps(i: usize) -> Vec<usize> {
    if i.is_multiple_of(10) {
        Vec::new()
    } else {
        vec![i - 1]
    }
}

fn stories(out: &mut String, n: usize) {
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

/// 10,000 stories; each: dev implements, QA validates (30% rejected), at most 3 times.
fn simulated_workflow(n: usize) -> String {
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
    stories(&mut s, n);
    s
}

/// `n` stories, each one `true` run by an exec agent, at most 2 at once.
fn exec_workflow(n: usize) -> String {
    let mut s = String::from(
        "agent runner { backend exec \"true\" }\n\
         limits {\n  global {\n    max_concurrent_agents 2\n  }\n}\n\
         phase build {\n  for story in stories {\n    runner: run\n  }\n}\n",
    );
    stories(&mut s, n);
    s
}

/// The same DAG for ninja: one `true` edge per story, after its dependencies.
fn ninja_file(n: usize) -> String {
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

/// Peak resident memory of any child waited for so far, in MB.
fn children_peak_mb() -> f64 {
    // SAFETY: getrusage fills the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a writable rusage that outlives the call.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &raw mut usage) };
    usage.ru_maxrss as f64 / 1024.0
}

/// Whether a run ended as expected: success, or (for the simulated run, whose QA blocks
/// some stories after three attempts) exit code 3, "stories blocked".
fn ended_well(status: std::process::ExitStatus) -> bool {
    status.success() || status.code() == Some(3)
}

/// Median wall time of `RUNS` runs of `cmd`, which must end well ([`ended_well`]).
fn median(mut make: impl FnMut() -> Command) -> Duration {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let out = make().stdout(Stdio::null()).output().expect("runs");
            let took = start.elapsed();
            assert!(
                ended_well(out.status),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            took
        })
        .collect();
    times.sort();
    times[RUNS / 2]
}

fn bmad(file: &Path, ws: &Path, simulate: bool) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bmad"));
    c.arg("run");
    if simulate {
        c.arg("--simulate");
    }
    c.arg(file)
        .arg("--workspace")
        .arg(ws)
        .env("BMAD_LOG", "off");
    c
}

fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let ws = dir.path();

    let sim = ws.join("sim.bmad");
    std::fs::write(&sim, simulated_workflow(10_000)).expect("written");
    let report = ws.join("report.json");
    let out = bmad(&sim, ws, true)
        .arg("--report")
        .arg(&report)
        .output()
        .expect("runs");
    assert!(
        ended_well(out.status),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("a report")).expect("json");
    let took = median(|| bmad(&sim, ws, true));
    println!(
        "simulated 10,000-story DAG: {:.3} s median of {RUNS}, peak {:.0} MB; {} agent tasks, {} stories done, {} blocked, makespan {} virtual days",
        took.as_secs_f64(),
        children_peak_mb(),
        json["tasks"],
        json["stories_done"].as_array().map_or(0, Vec::len),
        json["stories_blocked"].as_array().map_or(0, Vec::len),
        json["makespan_ms"].as_u64().unwrap_or(0) / 86_400_000
    );

    let n = 2_000;
    let exec = ws.join("exec.bmad");
    std::fs::write(&exec, exec_workflow(n)).expect("written");
    let bmad_time = median(|| bmad(&exec, ws, false));
    println!(
        "2,000 `true` commands, at most 2 at once: bmad {:.3} s",
        bmad_time.as_secs_f64()
    );
    let ninja_dir = ws.join("ninja");
    std::fs::create_dir_all(&ninja_dir).expect("made");
    std::fs::write(ninja_dir.join("build.ninja"), ninja_file(n)).expect("written");
    if Command::new("ninja").arg("--version").output().is_err() {
        println!("ninja not installed: comparison skipped (apt-get install ninja-build)");
        return;
    }
    let ninja_time = median(|| {
        let mut c = Command::new("ninja");
        c.args(["-j2", "--quiet"]).current_dir(&ninja_dir);
        c
    });
    println!(
        "                                        ninja -j2 {:.3} s; bmad / ninja = {:.2}",
        ninja_time.as_secs_f64(),
        bmad_time.as_secs_f64() / ninja_time.as_secs_f64()
    );
}
