//! Child processes in their own process group: exec agents, `sh` steps and the git
//! manager's PR command all run through [`run_group`]. The input is written while the
//! output is read, all under the time limit; at the limit, or when the run is dropped
//! (Ctrl-C), the whole group is killed, so nothing the child started outlives it.

use std::process::{Output, Stdio};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// Kills a process group when dropped, unless disarmed: a run that is interrupted (its
/// future dropped on Ctrl-C) stops everything its agents started.
pub struct GroupGuard(pub Option<u32>);

impl GroupGuard {
    /// The group has ended by itself: nothing to kill.
    pub fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        kill_group(self.0.take());
    }
}

/// Kills a process group started with `process_group(0)` (its id is the leader's pid).
pub fn kill_group(leader: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = leader.and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: kill(2) with a negative pid signals that process group; no memory involved.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = leader;
}

/// How a child in its own group ended.
#[derive(Debug)]
pub enum Ended {
    /// It exited (or was killed by a signal) by itself.
    Exited(Output),
    /// The time limit passed: the group was killed.
    TimedOut(Duration),
}

/// Runs `cmd` in a new process group with `input` on its standard input (or none) and
/// its output captured, killing the group at `timeout`. Fails when it cannot start.
pub async fn run_group(
    mut cmd: Command,
    input: Option<Vec<u8>>,
    timeout: Option<Duration>,
) -> std::io::Result<Ended> {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd.spawn()?;
    let guard = GroupGuard(child.id());
    let stdin = child.stdin.take();
    let feed = async move {
        if let (Some(mut pipe), Some(bytes)) = (stdin, input) {
            // A child that exits without reading it all closes the pipe: not an error.
            let _ = pipe.write_all(&bytes).await;
        }
    };
    let both = async {
        let (_, out) = tokio::join!(feed, child.wait_with_output());
        out
    };
    let output = match timeout {
        Some(t) => match tokio::time::timeout(t, both).await {
            Ok(out) => out,
            Err(_) => {
                drop(guard);
                return Ok(Ended::TimedOut(t));
            }
        },
        None => both.await,
    }?;
    guard.disarm();
    Ok(Ended::Exited(output))
}

/// How a shell command ended, with its output.
#[derive(Debug, Clone)]
pub struct Shelled {
    /// Why it failed (a non-zero exit, a timeout, could not start); `None` when it exited 0.
    pub error: Option<String>,
    /// What it printed on standard output.
    pub stdout: String,
    /// What it printed on standard error.
    pub stderr: String,
}

/// The placeholder a command writes for the directory of the workflow file.
pub const WORKFLOW_DIR: &str = "{workflow_dir}";

/// `command` with `{workflow_dir}` replaced by `workflow_dir`, shell-quoted.
pub fn with_workflow_dir(command: &str, workflow_dir: &std::path::Path) -> String {
    if !command.contains(WORKFLOW_DIR) {
        return command.to_string();
    }
    let quoted = super::exec::shell_quote(&workflow_dir.to_string_lossy());
    command.replace(WORKFLOW_DIR, &quoted)
}

/// Runs `command` with `sh -c` in `dir`, in its own process group, killed with everything
/// it started at `timeout`. `{workflow_dir}` in it, and `BMAD_WORKFLOW_DIR` in its
/// environment, are `workflow_dir`.
pub async fn sh(
    command: &str,
    dir: &std::path::Path,
    workflow_dir: &std::path::Path,
    timeout: Option<Duration>,
) -> Shelled {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(with_workflow_dir(command, workflow_dir))
        .current_dir(dir)
        .env("BMAD_WORKFLOW_DIR", workflow_dir);
    let (error, out) = match run_group(cmd, None, timeout).await {
        Ok(Ended::Exited(out)) if out.status.success() => (None, Some(out)),
        Ok(Ended::Exited(out)) => (
            Some(format!("`{command}` exited with {}", out.status)),
            Some(out),
        ),
        Ok(Ended::TimedOut(t)) => (Some(format!("`{command}` timed out after {t:?}")), None),
        Err(e) => (Some(format!("cannot run `{command}`: {e}")), None),
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Shelled {
        error,
        stdout: out.as_ref().map_or(String::new(), |o| text(&o.stdout)),
        stderr: out.as_ref().map_or(String::new(), |o| text(&o.stderr)),
    }
}
