//! Process sweep benchmark (issue 25): what a scan of `/proc` costs, the one a killed tree
//! or the end of a run pays (runs that start no process pay none):
//! 1. one scan that finds nothing, with the machine's processes, then with 500 and 2,000
//!    more (sleeping, not marked: each one's environment is read and looked at);
//! 2. a sweep that kills 100 marked processes (scans repeated until none is left).
//!
//! `cargo bench --bench sweep` (Linux). Prints medians of repeated runs; BENCHMARKS.md
//! records them.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 21;
const VAR: &str = "BMAD_SWEEP_BENCH";

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn processes() -> usize {
    std::fs::read_dir("/proc").map_or(0, |d| {
        d.flatten()
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| n.parse::<u32>().is_ok())
            })
            .count()
    })
}

fn sleepers(n: usize, mark: Option<&str>) -> Vec<Child> {
    (0..n)
        .map(|_| {
            let mut cmd = Command::new("sleep");
            cmd.arg("1000").stdin(Stdio::null());
            if let Some(m) = mark {
                cmd.env(VAR, m);
            }
            cmd.spawn().expect("sleep starts")
        })
        .collect()
}

fn stop(children: Vec<Child>) {
    for mut c in children {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// One scan that matches nothing (the token is nobody's).
fn scan() -> Duration {
    let none = |env: &[u8]| {
        bmad::runtime::process_sweep::env_value(env, VAR) == Some(b"nobody".as_slice())
    };
    median(
        (0..RUNS)
            .map(|_| {
                let t = Instant::now();
                let killed = bmad::runtime::process_sweep::kill_marked(&none).expect("/proc");
                assert_eq!(killed, 0);
                t.elapsed()
            })
            .collect(),
    )
}

fn main() {
    if !cfg!(target_os = "linux") {
        println!("the sweep scans /proc: Linux only");
        return;
    }
    for extra in [0, 500, 2000] {
        let kept = sleepers(extra, None);
        let n = processes();
        println!("one scan, {n} processes: {:?}", scan());
        stop(kept);
    }
    let mut times = Vec::new();
    for _ in 0..5 {
        let mut marked = sleepers(100, Some("bench"));
        let t = Instant::now();
        let wanted = |env: &[u8]| {
            bmad::runtime::process_sweep::env_value(env, VAR) == Some(b"bench".as_slice())
        };
        let killed = bmad::runtime::process_sweep::kill_marked(&wanted).expect("/proc");
        times.push(t.elapsed());
        assert_eq!(killed, 100);
        for c in &mut marked {
            let _ = c.wait();
        }
    }
    println!("a sweep killing 100 marked processes: {:?}", median(times));
}
