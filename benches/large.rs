//! `bmad check`, `bmad graph` and `bmad fmt --check` of ~50 MB workflows through the
//! release binary, each run a new process timed from start to exit, with its CPU time and
//! peak memory (issue 25: under 10 s each). Two shapes (`large_workflows.rs`): 1.2 million
//! chained phases written last first (53 MB), and 21,000 areas of a realistic workflow
//! (48.5 MB); `fmt --check` of each as generated (already formatted) and with its
//! indentation taken out (laid out again). Medians of 3 runs; BENCHMARKS.md records them.
//!
//! `cargo bench --bench large`; `cargo bench --bench large -- --keep DIR` also leaves the
//! files in DIR (for hyperfine or `/usr/bin/time -v`).

mod large_workflows;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 3;

/// One run: wall time, CPU time (user + system) and peak resident memory.
struct Run {
    wall: Duration,
    cpu: Duration,
    peak_mb: f64,
}

/// Runs `bmad ARGS` to its end and measures it; its exit code must be `code`.
// The child is reaped by wait4 below, which clippy does not see.
#[allow(clippy::zombie_processes)]
fn run(args: &[&str], code: i32) -> Run {
    let start = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("bmad runs");
    let mut status = 0;
    // SAFETY: wait4 fills the zeroed struct it is given, for the child just spawned
    // (waited for here instead of through `Child::wait`, for its own resource usage).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let child_pid = libc::pid_t::try_from(child.id()).expect("a pid fits a pid_t");
    // SAFETY: both pointers are to locals that outlive the call; the pid is our own child's.
    let pid = unsafe { libc::wait4(child_pid, &raw mut status, 0, &raw mut usage) };
    let wall = start.elapsed();
    assert_eq!(pid, child_pid, "bmad is waited for");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == code,
        "bmad {args:?}: status {status}, expected exit {code}"
    );
    let t = |tv: libc::timeval| {
        let micros = u32::try_from(tv.tv_usec).expect("microseconds under a second");
        Duration::new(u64::try_from(tv.tv_sec).expect("a CPU time"), micros * 1000)
    };
    Run {
        wall,
        cpu: t(usage.ru_utime) + t(usage.ru_stime),
        // Kilobytes on Linux.
        peak_mb: usage.ru_maxrss as f64 / 1024.0,
    }
}

/// The median run of `RUNS` by wall time, and the largest peak memory.
fn measure(args: &[&str], code: i32) -> (Run, f64) {
    let mut runs: Vec<Run> = (0..RUNS).map(|_| run(args, code)).collect();
    let peak = runs.iter().map(|r| r.peak_mb).fold(0.0, f64::max);
    runs.sort_by_key(|r| r.wall);
    (runs.swap_remove(RUNS / 2), peak)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("the workflow is written");
    path
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let keep = args
        .iter()
        .position(|a| a == "--keep")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    let temp = tempfile::tempdir().expect("a temporary directory");
    let dir = keep.clone().unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir).expect("the directory is made");
    let shapes = [
        ("chain", large_workflows::chain(1_200_000)),
        ("areas", large_workflows::areas(21_000)),
    ];
    for (name, text) in &shapes {
        let file = write(&dir, &format!("{name}.bmad"), text);
        let messy = write(
            &dir,
            &format!("{name}-unindented.bmad"),
            &large_workflows::unindented(text),
        );
        let (file, messy) = (file.to_string_lossy(), messy.to_string_lossy());
        println!("{name}.bmad: {} bytes", text.len());
        for (what, args, code) in [
            ("check", vec!["check", &*file], 0),
            ("graph", vec!["graph", &*file], 0),
            ("fmt --check, formatted", vec!["fmt", "--check", &*file], 0),
            (
                "fmt --check, unindented",
                vec!["fmt", "--check", &*messy],
                1,
            ),
        ] {
            let (r, peak) = measure(&args, code);
            println!(
                "  bmad {what}: median {:.2} s (cpu {:.2} s), peak {peak:.0} MB",
                r.wall.as_secs_f64(),
                r.cpu.as_secs_f64(),
            );
        }
    }
    if let Some(dir) = keep {
        println!("the workflows are in {}", dir.display());
    }
}
