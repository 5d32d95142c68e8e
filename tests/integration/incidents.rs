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

/// A workspace with a loopback service that is down, and `workflow` (given the service's
/// port) as `watch.bmad`.
fn service_down(workflow: impl Fn(u16) -> String) -> (tempfile::TempDir, common::loopback::Server) {
    let ws = tempfile::tempdir().unwrap();
    let server = common::loopback::serve(ws.path().to_path_buf());
    std::fs::write(ws.path().join("down"), "").unwrap();
    std::fs::write(ws.path().join("watch.bmad"), workflow(server.port)).unwrap();
    (ws, server)
}

/// `bmad monitor watch.bmad --for 2s` in `ws`: its standard output once it succeeded.
fn monitor_for_2s(ws: &std::path::Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args(["monitor", "watch.bmad", "--for", "2s", "--workspace", "."])
        .current_dir(ws)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
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

/// A monitor of the loopback server at `port` whose failure opens an incident at `high`;
/// `high` pages `high_agents`, and climbs to `critical` after a second unanswered.
fn paging_workflow(port: u16, agents: &str, high_agents: &str) -> String {
    fill(
        r#"
        {agents}
        monitor api {
          health up get "http://127.0.0.1:{port}/health" every 100ms timeout 1s => escalate high
        }
        incidents {
          level high {
            agents {high}
            respond 1s
          }
          level critical {
            agents boss
            respond immediate
          }
        }
        "#,
        &[("port", &port), ("agents", &agents), ("high", &high_agents)],
    )
}

#[test]
fn a_page_runs_the_levels_exec_agent_whose_answer_stops_the_climb() {
    let (ws, _server) = service_down(|port| {
        paging_workflow(
            port,
            "agent oncall { backend exec \"cat > page.txt\" stdin }\nagent boss { backend sim }\n\
             notifications {\n  to \"events.jsonl\"\n  on incident\n}",
            "oncall",
        )
    });
    let stdout = monitor_for_2s(ws.path());
    // The on-call agent got the incident's details...
    let page = std::fs::read_to_string(ws.path().join("page.txt")).unwrap();
    assert!(page.contains("Incident INC-0001 at level high"), "{page}");
    assert!(page.contains("Failing check: api/up"), "{page}");
    assert!(page.contains("Timeline so far:"), "{page}");
    // ... and its answer held the incident at its level past the response time.
    assert!(stdout.contains("level high "), "{stdout}");
    assert!(!stdout.contains("high -> critical"), "{stdout}");
    // People heard of it, named by the file (it has no `workflow`).
    let events = std::fs::read_to_string(ws.path().join("events.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(events.lines().next().unwrap()).unwrap();
    assert_eq!(first["event"], "incident", "{events}");
    assert_eq!(first["workflow"], "watch", "{events}");
}

#[test]
fn a_person_acknowledges_a_page_from_another_terminal() {
    let (ws, server) =
        service_down(|port| paging_workflow(port, "agent boss { backend sim }", "all_available"));
    let child = monitor(ws.path(), "watch.bmad");
    let db = ws.path().join(".bmad/state.db");
    let mut id = String::new();
    let paged = wait_until(DEADLINE, || {
        common::store_once_written(&db)
            .and_then(|s| {
                let run = s.runs().ok()?.into_iter().next()?;
                id.clone_from(&run.id);
                s.approvals(&run.id).ok()
            })
            .is_some_and(|a| a.iter().any(|x| x.target == "INC-0001"))
    });
    assert!(paged, "the incident never asked for an acknowledgement");
    Test::at(ws.path())
        .args(&["ack", &id, "INC-0002"])
        .status(2)
        .stderr_contains("has paged for no incident `INC-0002`")
        .run();
    Test::at(ws.path())
        .args(&["ack", &id, "INC-0001", "--as", "carol"])
        .stdout_contains("INC-0001 of run")
        .run();
    Test::at(ws.path())
        .args(&["ack", &id, "INC-0001"])
        .status(2)
        .stderr_contains("is already acknowledged")
        .run();
    let acked = wait_until(DEADLINE, || {
        common::store_once_written(&db)
            .and_then(|s| s.events(&id).ok())
            .is_some_and(|e| {
                e.iter().any(|x| {
                    x.data
                        .to_string()
                        .contains("INC-0001 acknowledged by carol")
                })
            })
    });
    assert!(acked, "the acknowledgement did not reach the incident");
    // Past the level's response time (fifteen more probes, 100 ms apart), it did not climb.
    let probes = server.health.load(std::sync::atomic::Ordering::SeqCst);
    let waited = wait_until(DEADLINE, || {
        server.health.load(std::sync::atomic::Ordering::SeqCst) >= probes + 15
    });
    assert!(waited, "the monitor stopped probing");
    sigterm(&child);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("high -> critical"), "{stdout}");
}

#[test]
fn on_a_terminal_bmad_monitor_shows_a_live_view_of_its_checks_and_incidents() {
    let (ws, _server) =
        service_down(|port| paging_workflow(port, "agent boss { backend sim }", "all_available"));
    let mut command = Command::new(env!("CARGO_BIN_EXE_bmad"));
    command
        .args(["monitor", "watch.bmad", "--for", "2s", "--workspace", "."])
        .current_dir(ws.path());
    let mut term = common::pty::Pty::spawn(command);
    assert!(term.child.wait().unwrap().success());
    term.expect(0, "api/up");
    term.expect(0, "critical");
    term.expect(0, "incidents open: INC-0001");
    let shown = term.raw();
    assert!(shown.contains("\u{1b}[2K"), "redrawn in place: {shown}");
    // The summary follows the view.
    term.expect(0, "outages: 1");
}

#[test]
fn a_monitors_agent_and_a_heals_agent_run_where_the_file_names_them() {
    let (ws, _server) = service_down(|port| {
        fill(
            r#"
            agent watcher { backend exec "cat >> observed.txt" stdin }
            agent healer { backend exec "cat >> healer.txt" stdin }
            check api_up {
              get "http://127.0.0.1:{port}/health" expect 200 timeout 1s
            }
            monitor api {
              agent watcher
              health up get "http://127.0.0.1:{port}/health" every 100ms timeout 1s => heal restart
            }
            heal restart {
              agent healer
              attempts 1
              fix restart_api {
                sh "rm -f down"
              }
              verify api_up
            }
            "#,
            &[("port", &port)],
        )
    });
    monitor_for_2s(ws.path());
    let observed = std::fs::read_to_string(ws.path().join("observed.txt")).unwrap();
    assert!(observed.contains("Monitor api: critical"), "{observed}");
    assert!(observed.contains("heal restart"), "{observed}");
    let healer = std::fs::read_to_string(ws.path().join("healer.txt")).unwrap();
    assert!(
        healer.contains("Heal restart was set off by: health check api/up"),
        "{healer}"
    );
    assert!(
        healer.contains("Fixes to try next: restart_api."),
        "{healer}"
    );
    assert!(
        !ws.path().join("down").exists(),
        "the fix ran after the agent"
    );
}

#[test]
fn a_climb_pages_the_next_levels_agent() {
    let (ws, _server) = service_down(|port| {
        paging_workflow(
            port,
            "agent boss { backend exec \"cat > boss.txt\" stdin }",
            "all_available",
        )
    });
    let stdout = monitor_for_2s(ws.path());
    // Nobody answered at `high` within its second: the incident climbed, and `critical`'s
    // agent got the page, at its level.
    assert!(stdout.contains("high -> critical"), "{stdout}");
    let page = std::fs::read_to_string(ws.path().join("boss.txt")).unwrap();
    assert!(
        page.contains("Incident INC-0001 at level critical"),
        "{page}"
    );
}
