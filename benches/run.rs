//! Runtime benchmarks, run through the release `bmad` binary as a user would:
//! 1. a simulated run of a 10,000-story DAG with dev -> QA loops (QA sends 20% of the work
//!    back): wall time and peak memory;
//! 2. a DAG of 2,000 `true` commands run by an exec agent under a global limit of 2, side by
//!    side with `ninja -j2` on the same DAG (Debian's ninja-build; skipped without it).
//!
//! `cargo bench --bench run`. Prints medians of repeated runs; BENCHMARKS.md records them.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// The seeded DAG and the one-step workflow are scale.rs's.
#[allow(dead_code)]
mod dags;

use dags::chains;

const RUNS: usize = 5;

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
    std::fs::write(&sim, dags::simulated_workflow(10_000, chains)).expect("written");
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
    std::fs::write(&exec, dags::exec_workflow(n, chains)).expect("written");
    let bmad_time = median(|| bmad(&exec, ws, false));
    println!(
        "2,000 `true` commands, at most 2 at once: bmad {:.3} s",
        bmad_time.as_secs_f64()
    );
    let ninja_dir = ws.join("ninja");
    std::fs::create_dir_all(&ninja_dir).expect("made");
    std::fs::write(ninja_dir.join("build.ninja"), dags::ninja_file(n, chains)).expect("written");
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
