//! Operations with real parts: a loopback HTTP server that goes down and comes back, a log
//! file the test writes into, fix scripts under tests/fixtures/ops that really run,
//! escalation to incidents with their post-mortem files, response times that pass,
//! emergencies that pause work, the critical failure flow, and cron schedules on a
//! virtual clock. Probes only ever reach 127.0.0.1.

use crate::common;

use bmad::runtime::event::{Event, EventKind};
use bmad::runtime::ops::summary::OpsSummary;
use bmad::runtime::{RunOptions, Runner};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ops")
}

fn runner(src: &str, workspace: &Path, simulate: bool) -> Runner {
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

/// Runs the monitors and maintenance of `src` for `time`: on a paused (virtual) clock, or
/// the wall clock.
fn operate(
    src: &str,
    workspace: &Path,
    simulate: bool,
    paused: bool,
    time: Duration,
) -> (Vec<Event>, OpsSummary) {
    let runner = runner(src, workspace, simulate);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(paused)
        .build()
        .unwrap();
    rt.block_on(async {
        runner.operate(Some(time)).await;
        (runner.report(None).events, runner.ops_summary())
    })
}

fn texts(events: &[Event]) -> Vec<String> {
    events.iter().map(|e| e.kind.text()).collect()
}

fn position(events: &[Event], what: impl Fn(&EventKind) -> bool) -> Option<usize> {
    events.iter().position(|e| what(&e.kind))
}

#[test]
fn an_http_check_goes_down_a_real_fix_heals_it_and_alerts_go_out() {
    let ws = tempfile::tempdir().unwrap();
    let server = common::loopback::serve(ws.path().to_path_buf());
    let (port, fx) = (server.port, fixtures().display().to_string());
    std::fs::write(ws.path().join("pool"), "40\n").unwrap();
    let src = format!(
        r#"
agent self_healer {{
  backend sim duration 10ms
}}
monitor api {{
  every 100ms
  health http get "http://127.0.0.1:{port}/health" every 100ms timeout 1s expect 200 => heal restart_api, alert "http://127.0.0.1:{port}/hook", alert "alerts.log"
  health pool sh "sh {fx}/pool-usage.sh" every 100ms timeout 2s
  metric pool_usage of pool > 80% => alert "alerts.log"
  metric response_time of http > 0ms warning => alert "alerts.log"
  metric memory_usage > 0% => alert "alerts.log"
}}
check api_up {{
  get "http://127.0.0.1:{port}/health" expect 200 timeout 1s
}}
heal restart_api {{
  agent self_healer
  attempts 1
  fix restart {{
    sh "sh {fx}/restart-api.sh"
  }}
  verify api_up
}}
"#
    );
    let down = ws.path().join("down");
    let pool = ws.path().join("pool");
    let breaker = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(600));
        std::fs::write(&pool, "91\n").unwrap();
        std::fs::write(&down, "").unwrap();
    });
    let (events, summary) = operate(&src, ws.path(), false, false, Duration::from_secs(3));
    breaker.join().unwrap();
    let all = texts(&events).join("\n");

    // Down, healed by the real script, up again.
    let down_at = position(&events, |k| {
        matches!(k, EventKind::CheckStatus { check, status, .. } if check == "api/http" && status == "critical")
    })
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
    let up_again = events[down_at..].iter().any(|e| {
        matches!(&e.kind, EventKind::CheckStatus { check, status, .. } if check == "api/http" && status == "healthy")
    });
    assert!(up_again, "{all}");
    assert_eq!(summary.heals.len(), 1, "{all}");
    assert!(summary.heals[0].ok);

    // The webhook got the alert; the file has both alerts (the check and the pool).
    let hooks = server.hooks.lock().unwrap().clone();
    assert!(
        hooks.iter().any(|h| h.contains("health check api/http")),
        "{hooks:?}"
    );
    let log = std::fs::read_to_string(ws.path().join("alerts.log")).unwrap();
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
    let src = format!(
        r#"
agent monitor {{
  backend sim duration 50ms
}}
agent operations_manager {{
  backend sim duration 1500ms
}}
agent dev {{
  backend sim duration 50ms
}}
agent self_healer {{
  backend sim duration 10ms
}}
monitor app {{
  logs "app.log"
  pattern "WebRTC connection failed" severity high => heal webrtc
}}
check turn_ok = `false`
heal webrtc {{
  agent self_healer
  attempts 2
  diagnose turn_ok
  fix restart_webrtc {{
    sh "sh {fx}/restart-webrtc.sh"
  }}
  verify turn_ok
  otherwise escalate high
}}
incidents {{
  level high {{
    agents operations_manager
    respond 1s
  }}
  level critical {{
    agents dev
    respond immediate
  }}
  detection {{
    monitor: detect_incident
  }}
  triage {{
    operations_manager: assess_severity
  }}
  resolution {{
    responders: implement_fix
  }}
  postmortem {{
    operations_manager: root_cause_analysis
  }}
}}
"#
    );
    let log = ws.path().join("app.log");
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        use std::io::Write;
        writeln!(
            f,
            "2026-11-24 12:00:01 ERROR WebRTC connection failed: ICE timeout"
        )
        .unwrap();
    });
    let (events, summary) = operate(&src, ws.path(), false, false, Duration::from_secs(9));
    writer.join().unwrap();
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
fn cron_schedules_run_on_the_virtual_clock_with_skip_and_queue() {
    let ws = tempfile::tempdir().unwrap();
    let src = r#"
agent ops {
  backend sim duration 1m
}
maintenance nightly cron "30 2 * * *" type cleanup overlap skip agent ops {
  ops: clean_up
  report "cleaned"
}
maintenance weekly cron "0 4 * * 0" type updates agent ops {
  ops: apply_updates
}
maintenance busy cron "*/30 * * * *" type backup overlap skip {
  wait 45m
}
maintenance queued cron "*/30 * * * *" type backup overlap queue {
  wait 45m
}
"#;
    let started = std::time::Instant::now();
    let (events, summary) = operate(
        src,
        ws.path(),
        true,
        true,
        Duration::from_secs(7 * 24 * 3600),
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "a virtual week took {:?}",
        started.elapsed()
    );
    let starts = |job: &str| -> Vec<u64> {
        events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Maintenance { job: j, status, .. }
                    if j == job && status == "started" =>
                {
                    Some(e.at_ms)
                }
                _ => None,
            })
            .collect()
    };
    // The virtual clock starts on Monday 2026-01-05 00:00 UTC.
    let (h, d) = (3_600_000u64, 24 * 3_600_000u64);
    let nightly: Vec<u64> = (0..7).map(|k| 2 * h + h / 2 + k * d).collect();
    assert_eq!(starts("nightly"), nightly);
    assert_eq!(starts("weekly"), vec![6 * d + 4 * h], "Sunday 04:00");
    let m = &summary.maintenance;
    assert_eq!(m["nightly"].succeeded, 7);
    assert_eq!(m["weekly"].succeeded, 1);
    // Every half hour, 45 minutes each: every other trigger is skipped.
    let busy = &m["busy"];
    assert!(busy.skipped >= 160 && busy.succeeded >= 160, "{busy:?}");
    assert_eq!(busy.queued, 0);
    assert!(busy.skipped + busy.succeeded >= 334, "{busy:?}");
    // Queued: runs back to back, never two at once.
    let queued = &m["queued"];
    assert!(queued.queued > 100 && queued.succeeded > 200, "{queued:?}");
    let mut running = false;
    for e in &events {
        if let EventKind::Maintenance { job, status, .. } = &e.kind
            && job == "queued"
        {
            match status.as_str() {
                "started" => {
                    assert!(!running, "two runs of `queued` at once at {}", e.at_ms);
                    running = true;
                }
                "succeeded" | "failed" => running = false,
                _ => {}
            }
        }
    }
}

#[test]
fn an_emergency_stops_writes_pausing_the_workflow_and_its_monitor_until_recovery() {
    let ws = tempfile::tempdir().unwrap();
    let src = r#"
agent dev {
  backend sim duration 10m
}
agent operations_manager {
  backend sim duration 10m
}
monitor db {
  health integrity check data_ok every 15m
  on critical => emergency data_corruption
}
check data_ok = `false`
emergency data_corruption {
  immediate {
    stop_writes affected_systems
    operations_manager: create_snapshot_of_current_state
  }
  recovery {
    operations_manager: restore_from_last_known_good
  }
}
phase work {
  watch db
  dev: task_one
  dev: task_two
  dev: task_three
}
"#;
    // Real steps (a rhai check), on a paused clock.
    let runner = runner(src, ws.path(), false);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let (report, summary) = rt.block_on(async { (runner.run().await, runner.ops_summary()) });
    let events = &report.events;
    let all = texts(events).join("\n");
    assert!(report.ok, "{all}");
    let at = |paused: bool| {
        position(
            events,
            |k| matches!(k, EventKind::Paused { paused: p, .. } if *p == paused),
        )
        .unwrap_or_else(|| panic!("no pause or resume:\n{all}"))
    };
    let (paused, resumed) = (at(true), at(false));
    assert_eq!(
        (events[paused].at_ms, events[resumed].at_ms),
        (0, 20 * 60_000),
        "{all}"
    );
    // No workflow task started while writes were stopped; task_two waited for recovery.
    for (i, e) in events.iter().enumerate() {
        if let EventKind::TaskStarted { agent, tasks, .. } = &e.kind
            && agent == "dev"
        {
            assert!(
                i < paused || i > resumed,
                "{tasks:?} started while paused:\n{all}"
            );
        }
    }
    let resumed = events[resumed].at_ms;
    let two = events
        .iter()
        .find(|e| matches!(&e.kind, EventKind::TaskStarted { tasks, .. } if tasks[0] == "task_two"))
        .unwrap();
    assert_eq!(two.at_ms, resumed);
    // The monitor's probe at 15m fell in the pause: probes at 0m and 30m only.
    assert_eq!(summary.probes, 3 - 1, "{all}");
}

/// The seed's critical failure flow, with both of its branches.
fn critical_failure(a: &str, b: &str) -> (Vec<Event>, String) {
    let ws = tempfile::tempdir().unwrap();
    let src = format!(
        r#"
import std.roles
check a_ok = `{a}`
check b_ok = `{b}`
monitor site {{
  health a check a_ok every 10m
  health b check b_ok every 10m
  on critical => call critical_failure
}}
environment prod {{
  url "http://127.0.0.1:9"
}}
check service_up = `true`
heal restart_service {{
  agent self_healer
  fix restart {{
    wait 1s
  }}
  verify service_up
}}
procedure critical_failure {{
  operations_manager: assemble_response_team
  match `system.status` {{
    partial_outage => {{
      isolate affected_systems
      try {{
        heal restart_service
        operations_manager: gradual_recovery
      }} on failure {{
        operations_manager: manual_intervention
      }}
    }}
    full_outage => {{
      all_available: emergency_recovery
      rollback prod
    }}
  }}
  monitor: monitor_recovery
}}
"#
    );
    let (events, _) = operate(&src, ws.path(), false, true, Duration::from_secs(3600));
    let all = texts(&events).join("\n");
    (events, all)
}

#[test]
fn the_critical_failure_flow_isolates_and_heals_a_partial_outage() {
    let (events, all) = critical_failure("false", "true");
    for want in [
        "site/on critical (critical) => call critical_failure",
        "affected_systems paused by call critical_failure",
        "heal restart_service healed after 1 fix(es)",
        "operations_manager: gradual_recovery ok",
        "monitor: monitor_recovery ok",
        "affected_systems resumed by call critical_failure",
    ] {
        assert!(all.contains(want), "no `{want}` in:\n{all}");
    }
    assert!(
        position(
            &events,
            |k| matches!(k, EventKind::TaskStarted { tasks, .. } if tasks[0] == "rollback_prod")
        )
        .is_none()
    );
}

#[test]
fn the_critical_failure_flow_rolls_back_a_full_outage() {
    let (_, all) = critical_failure("false", "false");
    for want in [
        "all_available: emergency_recovery ok",
        "devops: rollback_prod ok",
        "rollback: `prod` rolled back by `devops`",
        "monitor: monitor_recovery ok",
    ] {
        assert!(all.contains(want), "no `{want}` in:\n{all}");
    }
    assert!(!all.contains("paused by"), "{all}");
}

#[test]
fn a_simulated_week_of_the_seed_prints_incidents_heals_and_kpis_the_same_each_time() {
    let run = |ws: &Path| {
        let out = common::bmad(&[
            "monitor",
            "--simulate",
            "--for",
            "7d",
            "examples/seed-operations.bmad",
            "--workspace",
            ws.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = run(a.path());
    assert_eq!(first, run(b.path()), "the same seed gave another week");
    for want in [
        "operations for 7d",
        "heals:",
        "incidents:",
        "resolved in",
        "nightly_backup",
        "7 succeeded",
        "mean_time_to_recovery",
        "MTTR:",
    ] {
        assert!(first.contains(want), "no `{want}` in:\n{first}");
    }
    // Post-mortems were written for the incidents.
    assert!(
        a.path()
            .join("ops/incidents/INC-0001/root-cause-analysis.md")
            .exists(),
        "{first}"
    );
    // The session is in the store as a monitor session, which `bmad run --resume` refuses.
    let runs = common::bmad(&[
        "runs",
        "--workspace",
        a.path().to_str().unwrap(),
        "--format",
        "json",
    ]);
    let listed = String::from_utf8_lossy(&runs.stdout);
    assert!(listed.contains("\"kind\":\"monitor\""), "{listed}");
    // Its incidents and heals are in the store's event log.
    let id = listed
        .split("\"id\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap();
    let shown = common::bmad(&[
        "runs",
        "--workspace",
        a.path().to_str().unwrap(),
        "show",
        id,
    ]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    for want in [
        "incident INC-0001 opened",
        "heal webrtc_connection_failure started",
        "maintenance nightly_backup succeeded",
    ] {
        assert!(
            shown.contains(want),
            "no `{want}` in the stored log:\n{shown}"
        );
    }
    let resumed = common::bmad(&[
        "run",
        "examples/seed-operations.bmad",
        "--simulate",
        "--workspace",
        a.path().to_str().unwrap(),
        "--resume",
        id,
    ]);
    assert_eq!(resumed.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&resumed.stderr).contains("is a `bmad monitor` session"));
}

#[test]
fn monitor_without_anything_to_watch_or_a_bad_duration_is_a_usage_error() {
    let ws = tempfile::tempdir().unwrap();
    let out = common::bmad(&[
        "monitor",
        "examples/hello.bmad",
        "--workspace",
        ws.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("has no monitor and no scheduled maintenance")
    );
    let out = common::bmad(&[
        "monitor",
        "examples/seed-operations.bmad",
        "--simulate",
        "--for",
        "80%",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a duration"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sigterm_stops_a_real_monitor_cleanly() {
    let ws = tempfile::tempdir().unwrap();
    let server = common::loopback::serve(ws.path().to_path_buf());
    let file = ws.path().join("watch.bmad");
    std::fs::write(
        &file,
        format!(
            "monitor api {{\n  health http get \"http://127.0.0.1:{}/health\" every 100ms timeout 1s\n}}\n",
            server.port
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
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: a plain signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("stopped (SIGTERM)"), "{stderr}");
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
