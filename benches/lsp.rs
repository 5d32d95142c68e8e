//! `bmad lsp` through the release binary, over stdio as an editor drives it (the client of
//! the integration tests, tests/integration/common/lsp.rs): start-up (spawn to the answer
//! to `initialize`), diagnostics after an edit of the 10,000-story workflow of the check
//! bench (an edit sent to the diagnostics of its version received), and the server's
//! resident memory across 1,000 edits. Figures go to BENCHMARKS.md.
//!
//! `cargo bench --bench lsp`.

#[path = "../tests/integration/common/lsp.rs"]
// The tests' client, under the tests' lints (pedantic style is theirs to leave).
#[allow(dead_code, unreachable_pub, clippy::pedantic)]
mod client;
mod workload;

use client::{Client, pos};
use serde_json::json;
use std::time::{Duration, Instant};

/// The median and the largest of some durations, in milliseconds.
fn summary(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(times[times.len() / 2]), ms(times[times.len() - 1]))
}

/// The server's resident memory, in MiB.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The CPU time the server has used (user and system), from /proc (ticks of 10 ms).
fn cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command's closing parenthesis: utime and stime are 12th and 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// Replaces the word at the `nth` occurrence of `old` in `text` with `new`, as an edit of
/// version `version`, and waits for that version's diagnostics: the time it took.
fn edit(
    client: &mut Client,
    uri: &str,
    text: &str,
    old: &str,
    new: &str,
    version: i64,
) -> Duration {
    let start = pos(text, old, 0, 0);
    let end = pos(text, old, 0, old.len());
    let sent = Instant::now();
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": uri, "version": version },
            "contentChanges": [{ "range": { "start": start, "end": end }, "text": new }]
        }),
    );
    let diags = client.diagnostics(uri);
    let took = sent.elapsed();
    assert!(
        diags.len() <= 1,
        "the workflow stays clean but for the edit"
    );
    took
}

fn main() {
    let cache = tempfile::tempdir().expect("a temp dir");
    // Start-up: 20 servers, each to its answer to `initialize`.
    let starts: Vec<Duration> = (0..20)
        .map(|_| {
            let t = Instant::now();
            let client = Client::start(cache.path());
            let took = t.elapsed();
            drop(client);
            took
        })
        .collect();
    let (median, max) = summary(starts);
    println!("start-up (spawn to initialize answered): median {median:.1} ms, max {max:.1} ms");

    let text = workload::workflow(10_000, 1_000);
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("big.bmad");
    std::fs::write(&path, &text).expect("write");
    let uri = client::uri(&path);
    let mut client = Client::start(cache.path());
    let t = Instant::now();
    client.open(&uri, &text);
    let first = client.diagnostics(&uri);
    println!(
        "open of {} bytes, 10,000 stories: first diagnostics after {:.1} ms ({} of them)",
        text.len(),
        t.elapsed().as_secs_f64() * 1000.0,
        first.len()
    );
    // An edit in the middle (a story's title) and back, alternately: the text keeps its size.
    let (a, b) = ("Story 5000\"", "Story 500x\"");
    let mut current = text.clone();
    let mut version = 1;
    let mut times = Vec::new();
    let mut memory = Vec::new();
    let cpu_before = cpu(client.pid());
    for n in 1..=1_000 {
        version += 1;
        let (old, new) = if n % 2 == 1 { (a, b) } else { (b, a) };
        times.push(edit(&mut client, &uri, &current, old, new, version));
        current = current.replacen(old, new, 1);
        if [1, 10, 100, 250, 500, 750, 1_000].contains(&n) {
            memory.push((n, rss_mib(client.pid())));
        }
    }
    let cpu_each = cpu(client.pid()).saturating_sub(cpu_before).as_secs_f64() * 1000.0 / 1000.0;
    let slow = times
        .iter()
        .filter(|t| *t > &Duration::from_millis(150))
        .count();
    let (median, max) = summary(times.clone());
    let p95 = {
        let mut t = times;
        t.sort();
        t[t.len() * 95 / 100].as_secs_f64() * 1000.0
    };
    println!(
        "edit to its diagnostics, 1,000 edits: median {median:.1} ms, p95 {p95:.1} ms, max {max:.1} ms, {slow} over 150 ms"
    );
    println!("the server's CPU time an edit (mean over the 1,000): {cpu_each:.1} ms");
    let line: Vec<String> = memory
        .iter()
        .map(|(n, mib)| format!("after {n}: {mib:.1} MiB"))
        .collect();
    println!("resident memory: {}", line.join(", "));
}
