//! Every process an agent starts is stopped with the run, those that leave its process
//! group (`setsid`) too: real `bmad` runs whose exec agent (tests/fixtures/agents/
//! daemon.sh) leaves a daemon in a session of its own. Linux only: the daemons are found
//! by their environment in `/proc`.
#![cfg(target_os = "linux")]

use crate::common;

use crate::harness::{fill, wait_until};
use bmad::runtime::event::EventKind;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The state and process group of `pid` (`/proc/<pid>/stat`); none once it is gone.
fn stat(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut rest = stat.rsplit_once(") ")?.1.split(' ');
    let state = rest.next()?.chars().next()?;
    let group = rest.nth(1)?.parse().ok()?;
    Some((state, group))
}

/// Whether `pid` runs (a zombie has ended).
fn alive(pid: u32) -> bool {
    stat(pid).is_some_and(|(state, _)| state != 'Z')
}

/// Whether `pid` has ended, waiting up to 2 s for it.
fn gone(pid: u32) -> bool {
    wait_until(Duration::from_secs(2), || !alive(pid))
}

/// The pid in `file`, waiting up to 10 s for it to be written.
fn pid_in(file: &Path) -> u32 {
    let read = || {
        std::fs::read_to_string(file)
            .ok()
            .and_then(|p| p.trim().parse().ok())
    };
    wait_until(Duration::from_secs(10), || read().is_some());
    read().unwrap_or_else(|| panic!("no pid in {}", file.display()))
}

/// An exec agent running daemon.sh with `args`.
fn daemon_agent(name: &str, args: &str) -> String {
    fill(
        r#"
        agent {name} {
          backend exec "sh {daemon} {args}"
        }
        "#,
        &[
            ("name", &name),
            ("daemon", &common::fixture("daemon.sh")),
            ("args", &args),
        ],
    )
}

/// A `bmad run` in the background, stopped (SIGTERM) if a failed test leaves it running.
struct Bmad(Option<Child>);

impl Bmad {
    /// `bmad run` of `flow` in `workspace`.
    fn start(flow: &str, workspace: &Path) -> Bmad {
        let file = workspace.join("flow.bmad");
        std::fs::write(&file, flow).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_bmad"))
            .args(["run", file.to_str().unwrap(), "--workspace"])
            .arg(workspace)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Bmad(Some(child))
    }

    /// Sends `signal` to it.
    fn signal(&self, signal: i32) {
        if let Some(child) = &self.0 {
            // SAFETY: sending a signal to the child we spawned.
            unsafe {
                libc::kill(child.id() as i32, signal);
            }
        }
    }

    /// Waits for it to end: its exit code and standard error.
    fn wait(mut self) -> (Option<i32>, String) {
        let out = self.0.take().unwrap().wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), stderr)
    }
}

impl Drop for Bmad {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            // SAFETY: stopping the child we spawned.
            unsafe {
                libc::kill(child.id() as i32, libc::SIGTERM);
            }
            let _ = child.wait();
        }
    }
}

/// A process that is none of bmad's: it must outlive every run.
struct Bystander(Child);

impl Bystander {
    fn start() -> Bystander {
        Bystander(Command::new("sleep").arg("1000").spawn().unwrap())
    }
    fn alive(&mut self) -> bool {
        self.0.try_wait().unwrap().is_none()
    }
}

impl Drop for Bystander {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_daemon_left_by_a_finished_agent_runs_until_the_run_ends() {
    let ws = tempfile::tempdir().unwrap();
    let mut bystander = Bystander::start();
    // The step after the agent sees its daemon still running (a dev server an agent
    // starts may serve the next steps); the run's end stops it.
    let src = fill(
        r#"
        {starter}phase build {
          starter: implement
          sh "test \"$(cut -d' ' -f3 /proc/$(cat daemon.pid)/stat)\" = S"
        }
        "#,
        &[("starter", &daemon_agent("starter", "daemon"))],
    );
    let report = common::run_in(&src, ws.path(), false);
    assert!(report.ok, "{:?}", report.failed);
    let daemon = pid_in(&ws.path().join("daemon.pid"));
    assert!(gone(daemon), "the daemon {daemon} outlived the run");
    let said = report.events.iter().any(|e| {
        matches!(&e.kind, EventKind::Note { step, text }
            if step == "processes" && text.contains("1 process(es)"))
    });
    assert!(said, "no note of the killed daemon: {:?}", report.events);
    assert!(bystander.alive(), "a process bmad did not start was killed");
}

#[test]
fn sigterm_stops_the_daemons_of_running_and_finished_agents() {
    a_signal_stops_every_daemon(libc::SIGTERM, 143);
}

#[test]
fn ctrl_c_stops_the_daemons_of_running_and_finished_agents() {
    a_signal_stops_every_daemon(libc::SIGINT, 130);
}

/// A run stopped by `signal` while an agent that left a daemon runs, after another agent
/// that left one ended: bmad exits `code` and neither daemon is left; a process bmad did
/// not start is.
fn a_signal_stops_every_daemon(signal: i32, code: i32) {
    let ws = tempfile::tempdir().unwrap();
    let mut bystander = Bystander::start();
    let flow = fill(
        r#"
        {starter}{waiter}phase build {
          starter: implement
          waiter: implement
        }
        "#,
        &[
            ("starter", &daemon_agent("starter", "first")),
            ("waiter", &daemon_agent("waiter", "second never")),
        ],
    );
    let bmad = Bmad::start(&flow, ws.path());
    let first = pid_in(&ws.path().join("first.pid"));
    let second = pid_in(&ws.path().join("second.pid"));
    // The daemon left the agent's process group: killing the group alone would miss it.
    assert_eq!(stat(second).map(|(_, group)| group), Some(second));
    assert!(alive(first) && alive(second));
    bmad.signal(signal);
    let (exit, stderr) = bmad.wait();
    assert_eq!(exit, Some(code), "{stderr}");
    assert!(gone(second), "the running agent's daemon {second} survived");
    assert!(gone(first), "the finished agent's daemon {first} survived");
    assert!(bystander.alive(), "a process bmad did not start was killed");
}

#[test]
fn stopping_a_run_leaves_another_runs_daemon_until_that_run_ends() {
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let flow = |args: &str| {
        fill(
            r#"
            {worker}phase build {
              worker: implement
            }
            "#,
            &[("worker", &daemon_agent("worker", args))],
        )
    };
    // Run one goes on until told to end; run two is stopped while both daemons run.
    let first = Bmad::start(&flow("daemon release"), one.path());
    let second = Bmad::start(&flow("daemon never"), two.path());
    let kept = pid_in(&one.path().join("daemon.pid"));
    let stopped = pid_in(&two.path().join("daemon.pid"));
    second.signal(libc::SIGTERM);
    let (exit, stderr) = second.wait();
    assert_eq!(exit, Some(143), "{stderr}");
    assert!(gone(stopped), "the stopped run's daemon {stopped} survived");
    assert!(alive(kept), "stopping one run killed another run's daemon");
    std::fs::write(one.path().join("release"), "").unwrap();
    let (exit, stderr) = first.wait();
    assert_eq!(exit, Some(0), "{stderr}");
    assert!(gone(kept), "the daemon {kept} outlived its run");
}
