//! Monitoring benchmark, through the release `bmad` binary as a user would run it: one
//! `bmad monitor` process watching 1,000 HTTP health checks, each every second, against a
//! keep-alive HTTP server on loopback in this process; then the same over https (a
//! self-signed certificate made here, trusted through each check's `ca_file`, connections
//! kept alive). Measures how late probes start against their schedule (p50, p99, worst;
//! from the monitor's own summary) and the CPU the monitor process used (its user + system
//! time over the session, from `getrusage(RUSAGE_CHILDREN)`), as a share of one core. A
//! simulated week of the seed's operations example measures the virtual clock.
//!
//! `cargo bench --bench monitor` (`-- https` or `-- http` for one of the two fleets;
//! `BMAD_BENCH_SESSION=60s` for a longer session).
//! BENCHMARKS.md records the figures.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CHECKS: usize = 1000;
const SESSION: &str = "30s";

/// Connections the server accepted (a kept-alive client opens one per check).
static ACCEPTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A keep-alive HTTP/1.1 server answering 200 to everything, a thread per connection;
/// behind TLS when given a configuration.
fn serve(tls: Option<Arc<rustls::ServerConfig>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            ACCEPTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let tls = tls.clone();
            std::thread::spawn(move || {
                // The server stands for one on another machine: its threads (a thousand
                // TLS handshakes in the first second) yield the cores to the monitor.
                // SAFETY: setpriority on the calling thread (who 0) with a plain value.
                unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) };
                let _ = match tls {
                    None => answer(stream),
                    Some(config) => rustls::ServerConnection::new(config)
                        .map_err(std::io::Error::other)
                        .and_then(|c| answer(rustls::StreamOwned::new(c, stream))),
                };
            });
        }
    });
    port
}

/// A self-signed certificate for `localhost` and `127.0.0.1`, written to `dir/ca.pem`, and a server
/// configuration presenting it.
#[allow(deprecated)] // rustls's ring provider: see src/probe/tls.rs.
fn certificate(dir: &Path) -> Arc<rustls::ServerConfig> {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("a certificate");
    std::fs::write(dir.join("ca.pem"), made.cert.pem()).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::try_from(made.signing_key.serialize_der())
        .expect("a private key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![made.cert.der().clone()], key)
        .expect("a server configuration");
    Arc::new(config)
}

fn answer<S: Read + Write>(stream: S) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
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
        let out = reader.get_mut();
        out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")?;
        out.flush()?;
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

/// One `bmad monitor` session of [`CHECKS`] checks of `url_of(i)` (each with `option`),
/// its figures printed under `label`.
fn fleet(dir: &Path, label: &str, url_of: &dyn Fn(usize) -> String, option: &str) {
    let mut src = String::from("monitor fleet {\n");
    for i in 0..CHECKS {
        let _ = writeln!(
            src,
            "  health c{i} get \"{}\" every 1s timeout 2s expect 200{option}",
            url_of(i)
        );
    }
    src.push_str("}\n");
    let file = dir.join(format!("{label}.bmad"));
    std::fs::write(&file, src).unwrap();
    let report = dir.join(format!("{label}-summary.json"));
    let session = std::env::var("BMAD_BENCH_SESSION").unwrap_or_else(|_| SESSION.into());
    let session = session.as_str();
    let accepted = ACCEPTED.load(std::sync::atomic::Ordering::Relaxed);
    let before = children_cpu();
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args(["monitor", file.to_str().unwrap(), "--for", session])
        .args(["--workspace", dir.to_str().unwrap()])
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
        "{CHECKS} {label} checks every 1s for {session}: {} probes over {} connections; start lateness p50 {} ms, p99 {} ms, worst {} ms",
        summary["probes"],
        ACCEPTED.load(std::sync::atomic::Ordering::Relaxed) - accepted,
        late[0],
        late[1],
        late[2]
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
}

fn main() {
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    if wanted("http") {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let port = serve(None);
        let url = move |i| format!("http://127.0.0.1:{port}/health/{i}");
        fleet(dir.path(), "HTTP", &url, "");
    }
    if wanted("https") {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let port = serve(Some(certificate(dir.path())));
        let url = move |i| format!("https://127.0.0.1:{port}/health/{i}");
        fleet(dir.path(), "HTTPS", &url, " ca_file \"ca.pem\"");
    }
    if !wanted("week") {
        return;
    }

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
