//! Operations on a virtual clock: cron schedules with skip and queue, emergencies that
//! pause work, the critical failure flow, a simulated week of the seed; and `bmad monitor`'s
//! usage errors. The wall-clock half, with real parts, is in `monitor`.

use super::monitor::{position, runner, texts};
use crate::common;
use crate::harness::{Test, dedent, fill};
use bmad::runtime::event::{Event, EventKind};
use bmad::runtime::ops::MaintenanceStatus;
use bmad::runtime::ops::summary::OpsSummary;
use std::path::Path;
use std::time::Duration;

/// Runs the monitors and maintenance of `src` for `time` on a paused (virtual) clock.
fn operate(
    src: &str,
    workspace: &Path,
    simulate: bool,
    time: Duration,
) -> (Vec<Event>, OpsSummary) {
    let runner = runner(src, workspace, simulate);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        runner.operate(Some(time)).await;
        (runner.report(None).events.into_vec(), runner.ops_summary())
    })
}

#[test]
fn cron_schedules_run_on_the_virtual_clock_with_skip_and_queue() {
    let ws = tempfile::tempdir().unwrap();
    let src = dedent(
        r#"
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
"#,
    );
    let started = std::time::Instant::now();
    let (events, summary) = operate(&src, ws.path(), true, Duration::from_secs(7 * 24 * 3600));
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
                    if j == job && *status == MaintenanceStatus::Started =>
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
            match status {
                MaintenanceStatus::Started => {
                    assert!(!running, "two runs of `queued` at once at {}", e.at_ms);
                    running = true;
                }
                MaintenanceStatus::Succeeded | MaintenanceStatus::Failed => running = false,
                MaintenanceStatus::Skipped | MaintenanceStatus::Queued => {}
            }
        }
    }
}

#[test]
fn an_emergency_stops_writes_pausing_the_workflow_and_its_monitor_until_recovery() {
    let ws = tempfile::tempdir().unwrap();
    let src = dedent(
        r#"
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
"#,
    );
    // Real steps (a rhai check), on a paused clock.
    let runner = runner(&src, ws.path(), false);
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
    let src = fill(
        r#"
        import std.roles
        check a_ok = `{a}`
        check b_ok = `{b}`
        monitor site {
          health a check a_ok every 10m
          health b check b_ok every 10m
          on critical => call critical_failure
        }
        environment prod {
          url "http://127.0.0.1:9"
        }
        check service_up = `true`
        heal restart_service {
          agent self_healer
          fix restart {
            wait 1s
          }
          verify service_up
        }
        procedure critical_failure {
          operations_manager: assemble_response_team
          match `system.status` {
            partial_outage => {
              isolate affected_systems
              try {
                heal restart_service
                operations_manager: gradual_recovery
              } on failure {
                operations_manager: manual_intervention
              }
            }
            full_outage => {
              all_available: emergency_recovery
              rollback prod
            }
          }
          monitor: monitor_recovery
        }
"#,
        &[("a", &a), ("b", &b)],
    );
    let (events, _) = operate(&src, ws.path(), false, Duration::from_secs(3600));
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
    Test::new()
        .at_root()
        .args(&["monitor", "examples/hello.bmad", "--workspace"])
        .arg(ws.path())
        .status(2)
        .stderr_contains("has no monitor and no scheduled maintenance")
        .run();
    Test::new()
        .at_root()
        .args(&[
            "monitor",
            "examples/seed-operations.bmad",
            "--simulate",
            "--for",
            "80%",
        ])
        .status(2)
        .stderr_contains("is not a duration")
        .run();
}
