//! Operations with real parts, on the wall clock: a loopback HTTP server that goes down and
//! comes back, a log file the test writes into, fix scripts under tests/fixtures/ops that
//! really run, escalation to incidents with their post-mortem files, response times that
//! pass, and SIGTERM stopping `bmad monitor`. Probes only ever reach 127.0.0.1. The tests
//! wait on what the operations do (with a generous deadline), never for a fixed window;
//! the virtual-clock half is in `monitor_virtual`.

use crate::common;
use crate::harness::{DEADLINE, fill, wait_until, wait_until_async};
use bmad::runtime::event::{Event, EventKind};
use bmad::runtime::ops::summary::OpsSummary;
use bmad::runtime::{RunOptions, Runner};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ops")
}

/// A runner of `src` (it must check clean) in `workspace`, seed 1.
pub(crate) fn runner(src: &str, workspace: &Path, simulate: bool) -> Runner {
    let checked = bmad::check_text("ops.bmad", src);
    assert!(!checked.has_errors(), "{}", common::rendered(&checked));
    let options = RunOptions {
        seed: 1,
        workspace: workspace.to_path_buf(),
        simulate,
        ..Default::default()
    };
    Runner::new(checked.program, options).expect("runnable")
}

/// Runs the monitors and maintenance of `runner` on the wall clock while `test` drives
/// them (waits on what they do, breaks things), and stops them when it ends; what they
/// did, and the summary of the operations.
fn operate_while(runner: &Runner, test: impl Future<Output = ()>) -> (Vec<Event>, OpsSummary) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        tokio::select! {
            () = runner.operate(None) => unreachable!("operations without a duration go on"),
            () = test => {}
        }
    });
    let (events, summary) = (runner.report(None).events.into_vec(), runner.ops_summary());
    // Their future was dropped: what they left running is stopped, as on Ctrl-C.
    let _ = runner.interrupted("the test is done");
    (events, summary)
}

/// Waits until `cond` holds of the texts of the events so far, or the deadline.
async fn until_texts(runner: &Runner, cond: impl Fn(&str) -> bool) {
    wait_until_async(DEADLINE, || {
        cond(&texts(&runner.report(None).events).join("\n"))
    })
    .await;
}

/// The text of each event.
pub(crate) fn texts(events: &[Event]) -> Vec<String> {
    events.iter().map(|e| e.kind.text()).collect()
}

/// Where the first event of a kind `what` accepts is.
pub(crate) fn position(events: &[Event], what: impl Fn(&EventKind) -> bool) -> Option<usize> {
    events.iter().position(|e| what(&e.kind))
}

/// Whether `check` went to `status` at or after event `from`.
fn went(events: &[Event], from: usize, check: &str, to: &str) -> Option<usize> {
    position(&events[from.min(events.len())..], |k| {
        matches!(k, EventKind::CheckStatus { check: c, status, .. } if c == check && status.word() == to)
    })
    .map(|i| i + from)
}

#[test]
fn an_http_check_goes_down_a_real_fix_heals_it_and_alerts_go_out() {
    let ws = tempfile::tempdir().unwrap();
    let server = common::loopback::serve(ws.path().to_path_buf());
    std::fs::write(ws.path().join("pool"), "40\n").unwrap();
    let src = fill(
        r#"
        agent self_healer {
          backend sim duration 10ms
        }
        monitor api {
          every 100ms
          health http get "http://127.0.0.1:{port}/health" every 100ms timeout 1s expect 200 => heal restart_api, alert "http://127.0.0.1:{port}/hook", alert "alerts.log"
          health pool sh "sh {fx}/pool-usage.sh" every 100ms timeout 2s
          metric pool_usage of pool > 80% => alert "alerts.log"
          metric response_time of http > 0ms warning => alert "alerts.log"
          metric memory_usage > 0% => alert "alerts.log"
        }
        check api_up {
          get "http://127.0.0.1:{port}/health" expect 200 timeout 1s
        }
        heal restart_api {
          agent self_healer
          attempts 1
          fix restart {
            sh "sh {fx}/restart-api.sh"
          }
          verify api_up
        }
        "#,
        &[("port", &server.port), ("fx", &fixtures().display())],
    );
    let (down, pool) = (ws.path().join("down"), ws.path().join("pool"));
    let alerts = ws.path().join("alerts.log");
    let runner = runner(&src, ws.path(), false);
    let (events, summary) = operate_while(&runner, async {
        // Healthy first: the server has answered a probe (it has had a second one), and the
        // command has read the pool's usage.
        wait_until_async(DEADLINE, || {
            server.health.load(Ordering::SeqCst) >= 2 && ws.path().join("pool-read").exists()
        })
        .await;
        std::fs::write(&pool, "91\n").unwrap();
        std::fs::write(&down, "").unwrap();
        // Down, healed, up again; every alert out.
        wait_until_async(DEADLINE, || {
            let events = runner.report(None).events;
            let up_again = went(&events, 0, "api/http", "critical")
                .and_then(|at| went(&events, at, "api/http", "healthy"))
                .is_some();
            let log = std::fs::read_to_string(&alerts).unwrap_or_default();
            let hooks = server.hooks.lock().unwrap().clone();
            up_again
                && runner.ops_summary().heals.iter().any(|h| h.ok)
                && hooks.iter().any(|h| h.contains("health check api/http"))
                && [
                    "health check api/http",
                    "pool_usage is 91.0%",
                    "response_time is",
                    "memory_usage is",
                ]
                .iter()
                .all(|w| log.contains(w))
        })
        .await;
    });
    let all = texts(&events).join("\n");

    // Down, healed by the real script, up again.
    let down_at = went(&events, 0, "api/http", "critical")
        .unwrap_or_else(|| panic!("the check never went critical:\n{all}"));
    let healed = events.iter().find_map(|e| match &e.kind {
        EventKind::HealAttempt {
            ok: true, output, ..
        } => Some(output.clone()),
        _ => None,
    });
    let output = healed.unwrap_or_else(|| panic!("no fix verified:\n{all}"));
    assert!(output.contains("api restarted"), "{output}");
    assert!(
        !ws.path().join("down").exists(),
        "the fix script did not run"
    );
    assert!(
        went(&events, down_at, "api/http", "healthy").is_some(),
        "{all}"
    );
    assert_eq!(summary.heals.len(), 1, "{all}");
    assert!(summary.heals[0].ok);
    // The kill's recovery is measured: detected within a probe interval of its last
    // healthy probe, recovered, healed by the heal; MTTR is over it.
    let outage = summary
        .outages
        .iter()
        .find(|o| o.check == "api/http")
        .unwrap_or_else(|| panic!("no outage of api/http: {:?}", summary.outages));
    assert_eq!(outage.healed_by.as_deref(), Some("restart_api"), "{all}");
    assert!(
        outage.detect_ms.is_some() && outage.recover_ms.is_some(),
        "{outage:?}"
    );
    assert!(summary.mttr_ms.is_some());
    let table = summary.table();
    assert!(table.contains("(healed by restart_api)"), "{table}");
    assert!(table.contains("recovered outage(s)"), "{table}");

    // The webhook got the alert; the file has both alerts (the check and the pool).
    let hooks = server.hooks.lock().unwrap().clone();
    assert!(
        hooks.iter().any(|h| h.contains("health check api/http")),
        "{hooks:?}"
    );
    let log = std::fs::read_to_string(&alerts).unwrap();
    assert!(log.contains("health check api/http"), "{log}");
    assert!(log.contains("pool_usage is 91.0%"), "{log}");
    // The probe's measured latency and the host's memory, against their thresholds.
    assert!(log.contains("response_time is"), "{log}");
    assert!(log.contains("memory_usage is"), "{log}");
    // The threshold was read from the command's output, and was healthy before.
    assert!(
        all.contains("api/metric pool_usage of pool warning"),
        "{all}"
    );
}
#[test]
fn a_failing_fix_escalates_a_missed_response_time_climbs_and_the_post_mortem_is_written() {
    let ws = tempfile::tempdir().unwrap();
    let fx = fixtures().display().to_string();
    std::fs::write(ws.path().join("app.log"), "started\n").unwrap();
    let src = fill(
        r#"
        agent monitor {
          backend sim duration 50ms
        }
        agent operations_manager {
          backend sim duration 1500ms
        }
        agent dev {
          backend sim duration 50ms
        }
        agent self_healer {
          backend sim duration 10ms
        }
        monitor app {
          logs "app.log"
          pattern "WebRTC connection failed" severity high => heal webrtc
        }
        check turn_ok = `false`
        heal webrtc {
          agent self_healer
          attempts 2
          diagnose turn_ok
          fix restart_webrtc {
            sh "sh {fx}/restart-webrtc.sh"
          }
          verify turn_ok
          otherwise escalate high
        }
        incidents {
          level high {
            agents operations_manager
            respond 1s
          }
          level critical {
            agents dev
            respond immediate
          }
          detection {
            monitor: detect_incident
          }
          triage {
            operations_manager: assess_severity
          }
          resolution {
            responders: implement_fix
          }
          postmortem {
            operations_manager: root_cause_analysis
          }
        }
        "#,
        &[("fx", &fx)],
    );
    let log = ws.path().join("app.log");
    let runner = runner(&src, ws.path(), false);
    let (events, summary) =
        operate_while(&runner, async {
            // The log is followed from its end from the monitor's start.
            until_texts(&runner, |all| all.contains("monitor app started")).await;
            let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
            use std::io::Write;
            writeln!(
                f,
                "2026-11-24 12:00:01 ERROR WebRTC connection failed: ICE timeout"
            )
            .unwrap();
            // Resolved, and its post-mortem written (noted once its three files are).
            wait_until_async(DEADLINE, || {
                runner.report(None).events.iter().any(
                    |e| matches!(&e.kind, EventKind::Note { step, .. } if step == "postmortem"),
                )
            })
            .await;
        });
    let all = texts(&events).join("\n");

    // The diagnosis ran and was recorded; both rounds of the real fix failed with its output.
    assert!(
        all.contains("heal webrtc diagnosis turn_ok: failed:"),
        "{all}"
    );
    let attempts: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::HealAttempt { .. }))
        .collect();
    assert_eq!(attempts.len(), 2, "{all}");
    for a in attempts {
        let EventKind::HealAttempt { ok, output, .. } = &a.kind else {
            unreachable!()
        };
        assert!(!ok);
        assert!(
            output.contains("webrtc-service: unit not found"),
            "{output}"
        );
    }
    assert!(all.contains("heal webrtc failed after 2 fix(es)"), "{all}");

    // The incident: opened at high, whose agent did not answer within 1s: critical.
    assert_eq!(summary.incidents.len(), 1, "{all}");
    let inc = &summary.incidents[0];
    assert_eq!(
        (inc.opened_level.as_str(), inc.level.as_str()),
        ("high", "critical"),
        "{all}"
    );
    assert!(
        all.contains(
            "incident INC-0001 escalated high -> critical: level high did not answer within 1s"
        ),
        "{all}"
    );
    let mttr = inc
        .resolved_after_ms
        .unwrap_or_else(|| panic!("not resolved:\n{all}"));
    assert!(mttr >= 1_000, "{mttr}");
    // The responders of the critical level did the resolution.
    assert!(all.contains("dev: implement_fix ok"), "{all}");

    // The post-mortem files.
    let dir = ws.path().join("ops/incidents/INC-0001");
    let timeline = std::fs::read_to_string(dir.join("incident-timeline.md")).unwrap();
    assert!(
        timeline.contains("escalated high -> critical"),
        "{timeline}"
    );
    assert!(timeline.contains("resolution verified"), "{timeline}");
    let cause = std::fs::read_to_string(dir.join("root-cause-analysis.md")).unwrap();
    assert!(
        cause.contains("WebRTC connection failed: ICE timeout"),
        "{cause}"
    );
    assert!(cause.contains("diagnosis `turn_ok`: failed"), "{cause}");
    assert!(cause.contains("webrtc-service: unit not found"), "{cause}");
    let prevention = std::fs::read_to_string(dir.join("prevention-measures.md")).unwrap();
    assert!(
        prevention.contains("no fix that verified (2 tried)"),
        "{prevention}"
    );
    assert!(prevention.contains("escalated 1 time(s)"), "{prevention}");
    // MTTR is measured against nothing here, but is reported.
    assert!(summary.mttr_ms.is_some());
}

#[test]
fn sigterm_stops_a_real_monitor_cleanly() {
    a_signal_stops_a_real_monitor(libc::SIGTERM, 143, "SIGTERM");
}

/// Ctrl-C stops a monitor with the code it stops `bmad run` with (issue 26 item 3).
#[test]
fn ctrl_c_stops_a_real_monitor_with_130_as_a_run() {
    a_signal_stops_a_real_monitor(libc::SIGINT, 130, "Ctrl-C");
}

fn a_signal_stops_a_real_monitor(signal: i32, code: i32, name: &str) {
    let ws = tempfile::tempdir().unwrap();
    let server = common::loopback::serve(ws.path().to_path_buf());
    let file = ws.path().join("watch.bmad");
    std::fs::write(
        &file,
        fill(
            r#"
            monitor api {
              health http get "http://127.0.0.1:{port}/health" every 100ms timeout 1s
            }
            "#,
            &[("port", &server.port)],
        ),
    )
    .unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args([
            "monitor",
            file.to_str().unwrap(),
            "--workspace",
            ws.path().to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Its probes reach the server: once 7 have, 5 at least have had their answer.
    let probed = wait_until(DEADLINE, || server.health.load(Ordering::SeqCst) >= 7);
    assert!(probed, "the monitor did not probe 7 times");
    // SAFETY: a plain signal to our own child.
    unsafe { libc::kill(child.id() as i32, signal) };
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    // 128 + the signal's number, as `bmad run` exits.
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(&format!("stopped ({name})")), "{stderr}");
    let probes: u64 = stdout
        .split_whitespace()
        .zip(stdout.split_whitespace().skip(1))
        .find(|(_, w)| w.starts_with("probe"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(probes >= 5, "{stdout}");
    let runs = common::bmad(&[
        "runs",
        "--workspace",
        ws.path().to_str().unwrap(),
        "--format",
        "json",
    ]);
    let listed = String::from_utf8_lossy(&runs.stdout);
    assert!(
        listed.contains("\"status\":\"interrupted\"") && listed.contains("\"kind\":\"monitor\""),
        "{listed}"
    );
}
