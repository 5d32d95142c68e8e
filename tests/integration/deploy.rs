//! Deployments go through the environments in their `after` order, each behind its gate:
//! checks, a rhai condition, or a person's approval (`--approve`).

use crate::common;
use crate::harness::{Test, dedent, fill};

use bmad::runtime::event::EventKind;
use common::run_in;

const ENVIRONMENTS: &str = r#"
agent devops { backend exec "echo deployed" }
environment dev { url "http://127.0.0.1:9" }
environment staging {
  after dev
  gate `attempt >= 0`
}
environment prod {
  after staging
  gate manual
}
"#;

fn notes(report: &bmad::runtime::Report, step: &str) -> Vec<String> {
    report
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Note { step: s, text } if s == step => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn environments_deploy_in_order_behind_their_gates() {
    let ws = tempfile::tempdir().unwrap();
    let src = [
        ENVIRONMENTS,
        &dedent(
            r#"
            phase release {
              deploy dev by devops
              deploy staging by devops
              deploy prod by devops
            }
            "#,
        ),
    ]
    .concat();
    // A run recorded in no store stops at the manual gate of prod: nobody could answer.
    let report = run_in(&src, ws.path(), false);
    let failed = report.failed.clone().expect("prod waits for a person");
    assert!(
        failed.contains("the gate of `prod` did not pass: it needs a person's approval (run with --approve prod)"),
        "{failed}"
    );
    assert_eq!(
        notes(&report, "deploy"),
        [
            "`dev` deployed by `devops`",
            "`staging` deployed by `devops`"
        ]
    );
    // A simulation approves it, and says so.
    let report = run_in(&src, ws.path(), true);
    assert!(report.ok, "{:?}", report.failed);
    assert_eq!(
        notes(&report, "approval"),
        ["`prod`: a person's approval simulated"]
    );
    assert_eq!(notes(&report, "deploy").len(), 3);
}

#[test]
fn the_approve_option_opens_a_manual_gate() {
    let approved = Test::new()
        .file("ws/release.bmad", &release())
        .args(&[
            "run",
            "--workspace",
            "ws",
            "--approve",
            "prod",
            "ws/release.bmad",
        ])
        .run();
    // A name the workflow does not have is refused before anything runs.
    Test::at(approved.path())
        .args(&[
            "run",
            "--workspace",
            "ws",
            "--approve",
            "prd",
            "ws/release.bmad",
        ])
        .status(2)
        .stderr_contains(
            "error: --approve prd: the workflow has no environment or approve step `prd` (did you \
             mean `prod`?)",
        )
        .run();
}

/// The three environments and a phase that deploys to each.
fn release() -> String {
    [
        ENVIRONMENTS,
        &dedent(
            r#"
            phase release {
              deploy dev
              deploy staging
              deploy prod
            }
            "#,
        ),
    ]
    .concat()
}

/// Starts `bmad run` of `ws/release.bmad` in `dir`, in the background.
fn start_release(dir: &std::path::Path) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args(["run", "--workspace", "ws", "ws/release.bmad"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("bmad starts")
}

/// The id of the run that waits for an approval in `dir`'s store, once one does.
fn waiting_run(dir: &std::path::Path) -> String {
    let db = dir.join("ws/.bmad/state.db");
    let mut id = None;
    let waited = crate::harness::wait_until(crate::harness::DEADLINE, || {
        id = common::store_once_written(&db)
            .and_then(|s| s.runs().ok())
            .and_then(|runs| {
                runs.into_iter()
                    .find(|r| r.status == bmad::state::RunStatus::Waiting)
            })
            .map(|r| r.id);
        id.is_some()
    });
    assert!(waited, "no run came to wait for an approval");
    id.unwrap()
}

#[test]
fn a_manual_gate_waits_for_a_person_who_answers_from_another_terminal() {
    let t = Test::new().file("ws/release.bmad", &release());
    let dir = t.path().to_path_buf();
    // Rejected: the deployment fails with the person's reason.
    let run = start_release(&dir);
    let id = waiting_run(&dir);
    Test::at(&dir)
        .args(&["approve", &id, "--workspace", "ws"])
        .stdout_contains("prod")
        .stdout_contains("waiting")
        .run();
    Test::at(&dir)
        .args(&["approve", &id, "prd", "--workspace", "ws"])
        .status(2)
        .stderr_contains(&format!(
            "run {id} waits for no approval `prd` (it waits for: prod)"
        ))
        .run();
    Test::at(&dir)
        .args(&[
            "approve",
            &id,
            "prod",
            "--reject",
            "not on a Friday",
            "--as",
            "alice",
            "--workspace",
            "ws",
        ])
        .stdout_contains("`prod` of run")
        .stdout_contains("rejected")
        .run();
    let out = run.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("the gate of `prod` did not pass: a person rejected it: not on a Friday"),
        "{stdout}"
    );
    // Approved: the run goes on and succeeds; the answer is on record.
    let run = start_release(&dir);
    let id = waiting_run(&dir);
    Test::at(&dir)
        .args(&["approve", &id, "prod", "--as", "bob", "--workspace", "ws"])
        .run();
    let out = run.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    Test::at(&dir)
        .args(&["approve", &id, "--workspace", "ws"])
        .stdout_contains("approved by bob")
        .run();
}

#[test]
fn an_environment_is_not_deployed_before_the_one_it_comes_after() {
    let ws = tempfile::tempdir().unwrap();
    let src = [
        ENVIRONMENTS,
        &dedent(
            r#"
            phase release {
              deploy dev
              deploy prod
            }
            "#,
        ),
    ]
    .concat();
    let failed = run_in(&src, ws.path(), true).failed.expect("refused");
    assert!(
        failed.contains(
            "cannot deploy `prod`: `staging` comes first and was not deployed in this run"
        ),
        "{failed}"
    );
}

#[test]
fn a_gate_whose_condition_is_false_stops_the_deployment() {
    let ws = tempfile::tempdir().unwrap();
    let src = ENVIRONMENTS.replace("`attempt >= 0`", "`attempt > 5`")
        + "phase release {\n  deploy dev\n  deploy staging\n}\n";
    let report = run_in(&src, ws.path(), true);
    let failed = report.failed.clone().expect("refused");
    assert!(
        failed.contains("the gate of `staging` did not pass: its condition is false"),
        "{failed}"
    );
    assert_eq!(notes(&report, "deploy"), ["`dev` deployed by `devops`"]);
}

/// A loopback HTTP server that answers each request with the next of `statuses`.
fn server(statuses: Vec<u16>) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for status in statuses {
            let Ok((mut conn, _)) = listener.accept() else {
                return;
            };
            let mut buf = [0; 1024];
            let _ = conn.read(&mut buf);
            let _ = write!(
                conn,
                "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    port
}

#[test]
fn a_gate_check_probes_for_real_in_a_real_run() {
    let ws = tempfile::tempdir().unwrap();
    let port = server(vec![503, 200]);
    let src = fill(
        r#"
        agent devops { backend exec "true" }
        check healthy {
          get "http://127.0.0.1:{port}/health" expect 200 timeout 2s
        }
        environment staging {
          gate healthy
        }
        phase release {
          deploy staging
        }
        "#,
        &[("port", &port)],
    );
    // The first request gets 503: the gate stops the deployment.
    let report = run_in(&src, ws.path(), false);
    let failed = report.failed.clone().expect("refused");
    assert!(
        failed.contains(&format!("the gate of `staging` did not pass: check `healthy` failed: GET http://127.0.0.1:{port}/health: status 503, expected status 200")),
        "{failed}"
    );
    let probes = notes(&report, "probe");
    assert_eq!(probes.len(), 1);
    assert!(
        probes[0].starts_with(&format!(
            "GET http://127.0.0.1:{port}/health: status 503 in"
        )),
        "{probes:?}"
    );
    // The second gets 200: it deploys.
    let report = run_in(&src, ws.path(), false);
    assert!(report.ok, "{:?}", report.failed);
    assert_eq!(notes(&report, "deploy"), ["`staging` deployed by `devops`"]);
}

/// A heal called like a procedure (`call h`) runs as a heal: its plan, with its events and
/// its failure when no fix verifies, not a plain chain of steps.
#[test]
fn a_heal_called_like_a_procedure_runs_its_plan() {
    let ws = tempfile::tempdir().unwrap();
    let src = dedent(
        r#"
        check healthy = `false`
        heal h {
          attempts 2
          fix restart {
            sh "true"
          }
          verify healthy
        }
        phase p {
          call h
        }
        "#,
    );
    let report = run_in(&src, ws.path(), false);
    assert!(!report.ok);
    let failed = report.failed.unwrap_or_default();
    assert!(
        failed.contains("no fix of `h` verified after 2 attempt(s)"),
        "{failed}"
    );
    let attempts = report
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::HealAttempt { .. }))
        .count();
    assert_eq!(attempts, 2, "one attempt a round, recorded");
}
