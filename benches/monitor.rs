//! Monitoring benchmark, through the release `bmad` binary as a user would run it: one
//! `bmad monitor` process watching 1,000 HTTP health checks, each every second, against a
//! keep-alive HTTP server on loopback in this process. Measures how late probes start
//! against their schedule (p50, p99, worst; from the monitor's own summary) and the CPU
//! the monitor process used (its user + system time over the session, from
//! `getrusage(RUSAGE_CHILDREN)`), as a share of one core. A second, simulated week of the
//! seed's operations example measures the virtual clock.
//!
//! `cargo bench --bench monitor`. BENCHMARKS.md records the figures.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

const CHECKS: usize = 1000;
const SESSION: &str = "30s";

/// A keep-alive HTTP/1.1 server answering 200 to everything, a thread per connection.
fn serve() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = answer(stream);
            });
        }
    });
    port
}

fn answer(stream: TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut length = 0;
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            if line.trim_end().is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")?;
    }
}

/// CPU time (user + system) of the children waited for so far.
fn children_cpu() -> Duration {
    // SAFETY: getrusage fills the zeroed struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a writable rusage that outlives the call.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &raw mut u) };
    let t = |tv: libc::timeval| {
        let micros = u32::try_from(tv.tv_usec).expect("microseconds under a second");
        Duration::new(u64::try_from(tv.tv_sec).expect("a CPU time"), micros * 1000)
    };
    t(u.ru_utime) + t(u.ru_stime)
}

fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let port = serve();
    let mut src = String::from("monitor fleet {\n");
    for i in 0..CHECKS {
        let _ = writeln!(
            src,
            "  health c{i} get \"http://127.0.0.1:{port}/health/{i}\" every 1s timeout 2s expect 200"
        );
    }
    src.push_str("}\n");
    let file = dir.path().join("fleet.bmad");
    std::fs::write(&file, src).unwrap();
    let report = dir.path().join("summary.json");
    let before = children_cpu();
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args(["monitor", file.to_str().unwrap(), "--for", SESSION])
        .args(["--workspace", dir.path().to_str().unwrap()])
        .args(["--report", report.to_str().unwrap()])
        .env("BMAD_LOG", "warn")
        .output()
        .expect("bmad runs");
    let wall = start.elapsed();
    let cpu = children_cpu().checked_sub(before).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let late = &summary["lateness_ms"];
    println!(
        "{CHECKS} HTTP checks every 1s for {SESSION}: {} probes; start lateness p50 {} ms, p99 {} ms, worst {} ms",
        summary["probes"], late[0], late[1], late[2]
    );
    println!(
        "monitor CPU {:.2} s over {:.1} s wall = {:.1}% of one core (start-up and check included)",
        cpu.as_secs_f64(),
        wall.as_secs_f64(),
        100.0 * cpu.as_secs_f64() / wall.as_secs_f64()
    );
    let changes = summary["status_changes"].as_u64().unwrap_or(0);
    assert_eq!(
        changes, 0,
        "a check went unhealthy: the server could not keep up"
    );

    // A simulated week of the seed's operations.
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/seed-operations.bmad");
    let mut runs: Vec<f64> = (0..5)
        .map(|_| {
            let ws = tempfile::tempdir().unwrap();
            let t = Instant::now();
            let out = Command::new(env!("CARGO_BIN_EXE_bmad"))
                .args(["monitor", "--simulate", "--for", "7d", seed])
                .args(["--workspace", ws.path().to_str().unwrap()])
                .output()
                .expect("bmad runs");
            assert!(out.status.success());
            t.elapsed().as_secs_f64()
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    println!(
        "simulated week of seed-operations.bmad: median {:.3} s",
        runs[2]
    );
}
