//! The state store at the scheduler's speed (issue 21), through the release `bmad` binary
//! (or the one `BMAD_BIN` names, to compare releases), each run a new process measured by
//! `wait4`: wall time, CPU (user + system, its children included), bytes it wrote to
//! the disk (`ru_oublock`, 512-byte blocks) and the state file it left.
//!
//! 1. `dag`: a simulated seeded DAG (each story after up to two earlier ones; dev -> QA,
//!    20% rejected, at most 3 times) of 10,000 and of 100,000 stories, with the store and
//!    with `--state none`: how wall time and CPU grow, and the bytes written against the
//!    state file.
//! 2. `step`: the same DAG with one simulated step per story, 10,000 and 100,000 stories:
//!    the marginal CPU of a step (the difference of CPU over the difference of tasks),
//!    with the store and without, taken in each of five turns; and, in the same turns, the
//!    peer's: a LangGraph chain of 500 and of 5,000 no-op nodes (`benches/langgraph.rs`).
//! 3. `exec`: 2,000 `true` commands (epics of ten chained stories) run by an exec agent at
//!    most 2 at once, and `ninja -j2` on the same DAG, one after the other in turns (so
//!    both see the same machine): CPU and wall of each, medians.
//!
//!    With each process's own CPU apart from its children's (read from `/proc` before it
//!    is reaped): what bmad itself spends per task against what ninja spends; and the
//!    same DAG with the agent under a memory limit (an rlimit on each child).
//! 4. `instructions` (not run by default; needs valgrind): the one-step DAG of 10,000
//!    stories under callgrind, instructions counted per thread (the scheduler, the store's
//!    writer, the parser's), with the store and without: a count that does not move with
//!    the machine's load, for comparing two builds on a busy machine.
//!
//! `cargo bench --bench scale [-- dag|step|exec|instructions] [store-only]` (`store-only`: no run with
//! `--state none`, for a bmad that has none; `BMAD_BIN=path` measures another bmad). BENCHMARKS.md records the figures.

// The seeded DAG's draws and the block counts are small numbers turned into others.
#![allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]

mod dags;
mod langgraph;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One run of a process, as `wait4` saw it.
#[derive(Clone, Copy)]
struct Run {
    wall: Duration,
    cpu: Duration,
    /// The process's own CPU (user + system), its children's left out.
    own: Duration,
    /// Bytes written to the disk (`ru_oublock` * 512).
    written: u64,
}

fn bmad_bin() -> PathBuf {
    std::env::var_os("BMAD_BIN")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_bmad")), PathBuf::from)
}

/// Runs `cmd` to its end; its exit code must be one of `codes`.
// The child is reaped by wait4 below, which clippy does not see.
#[allow(clippy::zombie_processes)]
fn measure(cmd: &mut Command, codes: &[i32]) -> Run {
    let start = Instant::now();
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("it starts");
    let child_pid = libc::pid_t::try_from(child.id()).expect("a pid fits a pid_t");
    let own = own_cpu(child_pid);
    let mut status = 0;
    // SAFETY: wait4 fills the zeroed struct it is given, for the child just spawned.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to locals that outlive the call; the pid is our own child's.
    let pid = unsafe { libc::wait4(child_pid, &raw mut status, 0, &raw mut usage) };
    let wall = start.elapsed();
    assert_eq!(pid, child_pid, "the child is waited for");
    assert!(
        libc::WIFEXITED(status) && codes.contains(&libc::WEXITSTATUS(status)),
        "{cmd:?}: status {status}"
    );
    let t = |tv: libc::timeval| {
        let micros = u32::try_from(tv.tv_usec).expect("microseconds under a second");
        Duration::new(u64::try_from(tv.tv_sec).expect("a CPU time"), micros * 1000)
    };
    Run {
        wall,
        cpu: t(usage.ru_utime) + t(usage.ru_stime),
        own,
        written: u64::try_from(usage.ru_oublock).unwrap_or(0) * 512,
    }
}

/// Waits until process `pid` has exited, without reaping it, and reads its own CPU
/// (`utime` + `stime` of `/proc/PID/stat`, in clock ticks: 10 ms here).
fn own_cpu(pid: libc::pid_t) -> Duration {
    // SAFETY: waitid fills the zeroed struct it is given; WNOWAIT leaves the child to wait4.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let id = libc::id_t::try_from(pid).expect("a pid is positive");
    // SAFETY: the pointer is to a local that outlives the call; the pid is our own child's.
    let r = unsafe {
        libc::waitid(
            libc::P_PID,
            id,
            &raw mut info,
            libc::WEXITED | libc::WNOWAIT,
        )
    };
    assert_eq!(r, 0, "the child is waited for");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("its stat");
    // The fields after the command's name, which ends with the last `)`.
    let fields: Vec<u64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default()
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // SAFETY: sysconf only reads a configuration value.
    let ticks = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap_or(100);
    let ticks_of = |i: usize| fields.get(i).copied().unwrap_or(0);
    // utime and stime: fields 14 and 15 of the line, 12 and 13 after the name.
    Duration::from_micros((ticks_of(11) + ticks_of(12)) * 1_000_000 / ticks.max(1))
}

/// The median of `runs` by each measure on its own.
fn median(runs: &[Run]) -> Run {
    let mid = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let mut written: Vec<u64> = runs.iter().map(|r| r.written).collect();
    written.sort_unstable();
    Run {
        wall: mid(runs.iter().map(|r| r.wall).collect()),
        cpu: mid(runs.iter().map(|r| r.cpu).collect()),
        own: mid(runs.iter().map(|r| r.own).collect()),
        written: written[written.len() / 2],
    }
}

/// Adds `run [--simulate] FILE --workspace WS [--state none]` (logging off) to `cmd`:
/// the bmad binary itself, or a wrapper (valgrind) given the binary first.
fn run_args<'a>(
    cmd: &'a mut Command,
    file: &Path,
    ws: &Path,
    simulate: bool,
    keep: bool,
) -> &'a mut Command {
    cmd.arg("run");
    if simulate {
        cmd.arg("--simulate");
    }
    cmd.arg(file)
        .arg("--workspace")
        .arg(ws)
        .env("BMAD_LOG", "off");
    if !keep {
        cmd.args(["--state", "none"]);
    }
    cmd
}

/// A simulated run of `file` in a new workspace under `dir`, recorded in its state file or
/// (`keep` false) not at all; with the size of the state file it left.
fn simulate(file: &Path, dir: &Path, keep: bool) -> (Run, u64) {
    let ws = dir.join("ws");
    let _ = std::fs::remove_dir_all(&ws);
    std::fs::create_dir_all(&ws).expect("made");
    let mut cmd = Command::new(bmad_bin());
    run_args(&mut cmd, file, &ws, true, keep);
    // 3: stories blocked (QA rejected them three times).
    let run = measure(&mut cmd, &[0, 3]);
    let size = ["state.db", "state.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(ws.join(".bmad").join(f)).ok())
        .map(|m| m.len())
        .sum();
    (run, size)
}

/// The tasks a simulated run of `file` runs (from its report).
fn tasks_of(file: &Path, dir: &Path, store_only: bool) -> u64 {
    let report = dir.join("report.json");
    let ws = dir.join("ws");
    std::fs::create_dir_all(&ws).expect("made");
    let mut cmd = Command::new(bmad_bin());
    run_args(&mut cmd, file, &ws, true, store_only)
        .arg("--report")
        .arg(&report);
    measure(&mut cmd, &[0, 3]);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("a report")).expect("json");
    json["tasks"].as_u64().expect("a task count")
}

const MB: f64 = 1024.0 * 1024.0;

/// Whether to measure the runs with `--state none` too (a bmad from before issue 21 has
/// no such setting: `store-only` leaves them out).
fn modes(store_only: bool) -> &'static [bool] {
    if store_only { &[true] } else { &[true, false] }
}

fn dag(dir: &Path, runs: usize, store_only: bool) {
    let mut at = Vec::new();
    for n in [10_000, 100_000] {
        let file = dir.join(format!("dag-{n}.bmad"));
        std::fs::write(&file, dags::simulated_workflow(n, dags::seeded)).expect("written");
        let tasks = tasks_of(&file, dir, store_only);
        for &keep in modes(store_only) {
            // Each measured run right after an unmeasured one of the same command (see
            // `step`: memory left idle costs this VM's next process more).
            let measured: Vec<(Run, u64)> = (0..runs)
                .map(|_| {
                    simulate(&file, dir, keep);
                    simulate(&file, dir, keep)
                })
                .collect();
            let m = median(&measured.iter().map(|(r, _)| *r).collect::<Vec<_>>());
            let size = measured.iter().map(|(_, s)| *s).max().unwrap_or(0);
            println!(
                "seeded DAG, {n} stories ({tasks} tasks), {}: wall {:.3} s, cpu {:.3} s, written {:.1} MB, state file {:.1} MB (medians of {runs})",
                if keep { "store" } else { "--state none" },
                m.wall.as_secs_f64(),
                m.cpu.as_secs_f64(),
                m.written as f64 / MB,
                size as f64 / MB,
            );
            at.push((n, keep, m, size));
        }
    }
    for &keep in modes(store_only) {
        let of = |n| {
            at.iter()
                .find(|(m, k, _, _)| *m == n && *k == keep)
                .map(|(_, _, r, s)| (*r, *s))
        };
        if let (Some((small, _)), Some((large, size))) = (of(10_000), of(100_000)) {
            println!(
                "  10k -> 100k, {}: wall x{:.1}, cpu x{:.1}{}",
                if keep { "store" } else { "--state none" },
                large.wall.as_secs_f64() / small.wall.as_secs_f64(),
                large.cpu.as_secs_f64() / small.cpu.as_secs_f64(),
                if keep {
                    format!(
                        "; bytes written at 100k / state file = {:.2}",
                        large.written as f64 / size.max(1) as f64
                    )
                } else {
                    String::new()
                }
            );
        }
    }
}

fn step(dir: &Path, runs: usize, store_only: bool) {
    let sizes = [10_000, 100_000];
    let mut files = Vec::new();
    for n in sizes {
        let file = dir.join(format!("step-{n}.bmad"));
        std::fs::write(&file, dags::one_step_workflow(n, dags::seeded)).expect("written");
        files.push((n, tasks_of(&file, dir, store_only), file));
    }
    let peer = langgraph::python();
    if peer.is_none() {
        println!(
            "LangGraph not found: its chain is left out (python3 -m venv /tmp/lg && /tmp/lg/bin/pip install langgraph, then LANGGRAPH_PYTHON=/tmp/lg/bin/python)"
        );
    }
    // In turns: each turn runs every size and mode and the peer's chains, so a change in
    // the machine's speed (this VM's swings by some 40% within an hour) falls on all of
    // them alike; the marginal is taken within each turn. Each measured run comes right
    // after an unmeasured run of the same command: this VM hands memory that stayed free
    // for a second or two back to its host, and the next process to touch that much
    // memory pays some 5x the system time for it (a 100,000-story run 0.3-0.4 s instead of
    // 0.07 s, BENCHMARKS.md), a cost of what ran before, not of the run measured.
    let mut at: Vec<(u64, bool, Vec<Run>)> = Vec::new();
    let mut peer_runs: Vec<Vec<Run>> = vec![Vec::new(); langgraph::CHAINS.len()];
    for _ in 0..runs {
        for (_, tasks, file) in &files {
            for &keep in modes(store_only) {
                simulate(file, dir, keep);
                let run = simulate(file, dir, keep).0;
                match at.iter_mut().find(|(t, k, _)| t == tasks && *k == keep) {
                    Some((_, _, v)) => v.push(run),
                    None => at.push((*tasks, keep, vec![run])),
                }
            }
        }
        if let Some(python) = &peer {
            for (i, n) in langgraph::CHAINS.iter().enumerate() {
                measure(&mut langgraph::chain(python, *n), &[0]);
                peer_runs[i].push(measure(&mut langgraph::chain(python, *n), &[0]));
            }
        }
    }
    for (tasks, keep, measured) in &at {
        let m = median(measured);
        println!(
            "one step per story, {tasks} tasks, {}: wall {:.3} s, cpu {:.3} s (medians of {runs})",
            if *keep { "store" } else { "--state none" },
            m.wall.as_secs_f64(),
            m.cpu.as_secs_f64(),
        );
    }
    // The marginal CPU of a step in each turn, in microseconds.
    let marginal = |small: &[Run], large: &[Run], steps: f64| -> Vec<f64> {
        small
            .iter()
            .zip(large)
            .map(|(s, l)| (l.cpu.as_secs_f64() - s.cpu.as_secs_f64()) * 1e6 / steps)
            .collect()
    };
    let mid = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let show = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let theirs = (peer.is_some()).then(|| {
        let steps = (langgraph::CHAINS[1] - langgraph::CHAINS[0]) as f64;
        marginal(&peer_runs[0], &peer_runs[1], steps)
    });
    if let Some(t) = &theirs {
        println!(
            "  marginal CPU per LangGraph step (chains of {} and {} nodes): {:.0} us (each turn: {})",
            langgraph::CHAINS[0],
            langgraph::CHAINS[1],
            mid(t.clone()),
            show(t)
        );
    }
    for &keep in modes(store_only) {
        let mut of = at.iter().filter(|(_, k, _)| *k == keep);
        if let (Some((t0, _, small)), Some((t1, _, large))) = (of.next(), of.next()) {
            let ours = marginal(small, large, (t1 - t0) as f64);
            let ratio = theirs.as_ref().map_or_else(String::new, |t| {
                let each: Vec<f64> = t.iter().zip(&ours).map(|(l, b)| l / b).collect();
                format!(
                    "; LangGraph / bmad: {:.0}x (each turn: {})",
                    mid(each.clone()),
                    {
                        each.iter()
                            .map(|x| format!("{x:.0}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                )
            });
            println!(
                "  marginal CPU per simulated step, {}: {:.1} us (each turn: {}){ratio}",
                if keep { "store" } else { "--state none" },
                mid(ours.clone()),
                show(&ours)
            );
        }
    }
}

fn exec(dir: &Path, runs: usize, store_only: bool) {
    let n = 2_000;
    let file = dir.join("exec.bmad");
    std::fs::write(&file, dags::exec_workflow(n, dags::chains)).expect("written");
    let limited_file = dir.join("exec-limited.bmad");
    std::fs::write(&limited_file, dags::exec_workflow_limited(n, dags::chains)).expect("written");
    let ninja_dir = dir.join("ninja");
    std::fs::create_dir_all(&ninja_dir).expect("made");
    std::fs::write(
        ninja_dir.join("build.ninja"),
        dags::ninja_file(n, dags::chains),
    )
    .expect("written");
    if Command::new("ninja").arg("--version").output().is_err() {
        println!("ninja not installed: exec comparison skipped (apt-get install ninja-build)");
        return;
    }
    let (mut ours, mut theirs, mut unrecorded) = (Vec::new(), Vec::new(), Vec::new());
    let mut limited = Vec::new();
    for _ in 0..runs {
        let ws = dir.join("exec-ws");
        let _ = std::fs::remove_dir_all(&ws);
        let mut cmd = Command::new(bmad_bin());
        run_args(&mut cmd, &limited_file, &ws, false, true);
        limited.push(measure(&mut cmd, &[0]));
        for &keep in modes(store_only) {
            let ws = dir.join("exec-ws");
            let _ = std::fs::remove_dir_all(&ws);
            let mut cmd = Command::new(bmad_bin());
            run_args(&mut cmd, &file, &ws, false, keep);
            let run = measure(&mut cmd, &[0]);
            if keep {
                ours.push(run);
            } else {
                unrecorded.push(run);
            }
        }
        let _ = std::fs::remove_file(ninja_dir.join(".ninja_log"));
        let _ = std::fs::remove_file(ninja_dir.join(".ninja_deps"));
        let mut cmd = Command::new("ninja");
        cmd.args(["-j2", "--quiet"]).current_dir(&ninja_dir);
        theirs.push(measure(&mut cmd, &[0]));
    }
    let (b, j) = (median(&ours), median(&theirs));
    println!(
        "2,000 `true`, at most 2 at once (interleaved, medians of {runs}): bmad cpu {:.3} s wall {:.3} s; ninja -j2 cpu {:.3} s wall {:.3} s; bmad / ninja: cpu {:.2}, wall {:.2}",
        b.cpu.as_secs_f64(),
        b.wall.as_secs_f64(),
        j.cpu.as_secs_f64(),
        j.wall.as_secs_f64(),
        b.cpu.as_secs_f64() / j.cpu.as_secs_f64(),
        b.wall.as_secs_f64() / j.wall.as_secs_f64(),
    );
    let ratios: Vec<String> = ours
        .iter()
        .zip(&theirs)
        .map(|(b, j)| format!("{:.2}", b.cpu.as_secs_f64() / j.cpu.as_secs_f64()))
        .collect();
    println!("  cpu ratio of each turn: {}", ratios.join(", "));
    println!(
        "  own cpu, children apart: bmad {:.3} s (its children {:.3} s), ninja {:.3} s (its children {:.3} s)",
        b.own.as_secs_f64(),
        b.cpu.saturating_sub(b.own).as_secs_f64(),
        j.own.as_secs_f64(),
        j.cpu.saturating_sub(j.own).as_secs_f64(),
    );
    let capped = median(&limited);
    println!(
        "  bmad with the agent under a memory limit, same turns: cpu {:.3} s (own {:.3} s); / ninja: cpu {:.2}",
        capped.cpu.as_secs_f64(),
        capped.own.as_secs_f64(),
        capped.cpu.as_secs_f64() / j.cpu.as_secs_f64()
    );
    if !unrecorded.is_empty() {
        let u = median(&unrecorded);
        println!(
            "  bmad --state none in the same turns: cpu {:.3} s wall {:.3} s; / ninja: cpu {:.2}",
            u.cpu.as_secs_f64(),
            u.wall.as_secs_f64(),
            u.cpu.as_secs_f64() / j.cpu.as_secs_f64()
        );
    }
}

/// Instructions per thread of a simulated run of the one-step DAG of `n` stories under
/// callgrind, with the store (`keep`) or without.
fn instructions(dir: &Path, n: usize, keep: bool) -> Vec<(String, u64)> {
    let file = dir.join(format!("step-{n}.bmad"));
    if !file.exists() {
        std::fs::write(&file, dags::one_step_workflow(n, dags::seeded)).expect("written");
    }
    let ws = dir.join("ws");
    let _ = std::fs::remove_dir_all(&ws);
    std::fs::create_dir_all(&ws).expect("made");
    let out = dir.join("callgrind");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("made");
    let mut cmd = Command::new("valgrind");
    cmd.args(["--tool=callgrind", "--separate-threads=yes"])
        .arg(format!(
            "--callgrind-out-file={}",
            out.join("cg.out").display()
        ))
        .arg(bmad_bin());
    run_args(&mut cmd, &file, &ws, true, keep);
    measure(&mut cmd, &[0, 3]);
    let mut threads = Vec::new();
    for entry in std::fs::read_dir(&out).expect("its output").flatten() {
        let text = std::fs::read_to_string(entry.path()).expect("a callgrind file");
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|v| v.trim().to_string())
        };
        let count = field("summary:")
            .or_else(|| field("totals:"))
            .and_then(|v| v.split_whitespace().next().and_then(|c| c.parse().ok()))
            .unwrap_or(0);
        let thread: u32 = field("thread:").and_then(|t| t.parse().ok()).unwrap_or(0);
        threads.push((thread, count));
    }
    threads.sort_unstable();
    // Thread 1 is the process's main thread; the runtime's threads are named in `perf`,
    // not here: the largest is the scheduler's.
    threads
        .into_iter()
        .map(|(t, c)| (format!("thread {t}"), c))
        .collect()
}

fn instruction_counts(dir: &Path, store_only: bool) {
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("valgrind not installed: instruction counts skipped (apt-get install valgrind)");
        return;
    }
    let n = 10_000;
    for &keep in modes(store_only) {
        let threads = instructions(dir, n, keep);
        let total: u64 = threads.iter().map(|(_, c)| c).sum();
        let each: Vec<String> = threads
            .iter()
            .filter(|(_, c)| *c * 100 >= total)
            .map(|(t, c)| format!("{t} {:.1} M", *c as f64 / 1e6))
            .collect();
        println!(
            "one step per story, {n} stories under callgrind, {}: {:.1} M instructions, {:.0} a story ({})",
            if keep { "store" } else { "--state none" },
            total as f64 / 1e6,
            total as f64 / n as f64,
            each.join(", ")
        );
    }
}

fn main() {
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| ["dag", "step", "exec", "instructions"].contains(&a.as_str()))
        .collect();
    let wants =
        |what: &str| (only.is_empty() && what != "instructions") || only.iter().any(|o| o == what);
    let store_only = std::env::args().any(|a| a == "store-only");
    let dir = tempfile::tempdir().expect("a temporary directory");
    println!("bmad: {}", bmad_bin().display());
    if wants("dag") {
        dag(dir.path(), 3, store_only);
    }
    if wants("step") {
        step(dir.path(), 5, store_only);
    }
    if wants("exec") {
        exec(dir.path(), 7, store_only);
    }
    if wants("instructions") {
        instruction_counts(dir.path(), store_only);
    }
}
