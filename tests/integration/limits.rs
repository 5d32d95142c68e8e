//! Resource limits: rlimits on an exec agent's process (memory, CPU time), agent calls per
//! hour, and the run's memory as an admission limit. Concurrency is read from the recorded
//! start and end of every task.

use crate::common;
use crate::harness::fill;

use bmad::runtime::Report;
use bmad::runtime::event::EventKind;
use common::run_in;

/// The most tasks running at once, from the recorded events.
fn most_at_once(report: &Report) -> usize {
    let (mut now, mut most) = (0usize, 0usize);
    for e in &report.events {
        match e.kind {
            EventKind::TaskStarted { .. } => {
                now += 1;
                most = most.max(now);
            }
            EventKind::TaskFinished { .. } => now -= 1,
            _ => {}
        }
    }
    most
}

#[test]
fn an_exec_agent_over_its_memory_limit_fails() {
    let ws = tempfile::tempdir().unwrap();
    let src = fill(
        r#"
        agent hog {
          backend exec "{hog}"
          limits {
            memory 32MB
          }
        }
        phase p {
          hog: allocate
        }
        "#,
        &[("hog", &common::fixture("hog.sh"))],
    );
    let failed = run_in(&src, ws.path(), false).failed.expect("stopped");
    assert!(failed.contains("exited with"), "{failed}");
    // The same agent with room enough succeeds: the limit, not the command, stopped it.
    let roomy = src.replace("memory 32MB", "memory 1GB");
    let report = run_in(&roomy, ws.path(), false);
    assert!(report.ok, "{:?}", report.failed);
}

#[test]
fn an_exec_agent_over_its_cpu_time_is_stopped() {
    let ws = tempfile::tempdir().unwrap();
    let src = fill(
        r#"
        agent spinner {
          backend exec "{spin}" timeout 60s
          limits {
            cpu_time 1s
          }
        }
        phase p {
          spinner: spin
        }
        "#,
        &[("spin", &common::fixture("spin.sh"))],
    );
    let started = std::time::Instant::now();
    let failed = run_in(&src, ws.path(), false).failed.expect("stopped");
    assert!(
        failed.contains("stopped: it used up its CPU time (cpu_time)"),
        "{failed}"
    );
    assert!(
        started.elapsed().as_secs() < 30,
        "stopped by the CPU limit, not the timeout"
    );
}

#[test]
fn agent_calls_per_hour_are_rate_limited() {
    let ws = tempfile::tempdir().unwrap();
    let src = "agent writer {\n  backend sim duration 1m\n}\nlimits {\n  global {\n    max_api_calls 2/hour\n  }\n}\nphase p {\n  writer: a\n  writer: b\n  writer: c\n}\n";
    let report = run_in(src, ws.path(), true);
    assert!(report.ok, "{:?}", report.failed);
    let starts: Vec<u64> = report
        .events
        .iter()
        .filter_map(|e| matches!(e.kind, EventKind::TaskStarted { .. }).then_some(e.at_ms))
        .collect();
    assert_eq!(
        starts,
        [0, 60_000, 3_600_000],
        "the third call waits for the hour"
    );
}

#[test]
fn max_memory_admits_only_the_agents_that_fit() {
    let ws = tempfile::tempdir().unwrap();
    // Four 3 GB builders in parallel under 8 GB: two at a time.
    let src = "agent builder {\n  backend sim duration 10m\n  limits {\n    memory 3GB\n  }\n}\n\
limits {\n  global {\n    max_concurrent_agents 4\n    max_memory 8GB\n  }\n}\n\
phase p {\n  parallel {\n    builder: a\n    builder: b\n    builder: c\n    builder: d\n  }\n}\n";
    let report = run_in(src, ws.path(), true);
    assert!(report.ok, "{:?}", report.failed);
    assert_eq!(most_at_once(&report), 2);
    assert_eq!(report.makespan_ms, 20 * 60_000);
    let without = src.replace("    max_memory 8GB\n", "");
    let report = run_in(&without, ws.path(), true);
    assert_eq!(
        most_at_once(&report),
        4,
        "without max_memory all four run at once"
    );
}

/// A node program starts under `memory 4GB` (an address-space limit of any size stopped
/// node runtimes that reserve address space for WebAssembly) and cannot hold more than it.
/// Needs `node` on PATH (.ci/run installs nodejs); says so and does nothing without it.
#[test]
fn a_node_agent_starts_under_a_memory_limit_and_is_held_to_it() {
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: node is not installed (.ci/run installs nodejs)");
        return;
    }
    let ws = tempfile::tempdir().unwrap();
    let src = "agent js {\n  backend exec \"node -e \\\"const a = []; for (let i = 0; i < N; i++) a.push(Buffer.allocUnsafe(256 * 1024 * 1024)); console.log('held', a.length)\\\"\"\n  limits {\n    memory 4GB\n  }\n}\nphase p {\n  js: compute {\n    produces \"held.txt\"\n  }\n}\n";
    let report = run_in(&src.replace('N', "2"), ws.path(), false);
    assert!(report.ok, "{:?}", report.failed);
    let held = std::fs::read_to_string(ws.path().join("held.txt")).unwrap();
    assert_eq!(held.trim(), "held 2");
    // 6 GB is more than the limit lets it map (allocUnsafe does not touch the pages: the
    // limit counts what is mapped).
    let ws = tempfile::tempdir().unwrap();
    let failed = run_in(&src.replace('N', "24"), ws.path(), false)
        .failed
        .expect("held to its limit");
    assert!(failed.contains("exited with"), "{failed}");
}
