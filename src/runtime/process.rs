//! Child processes in their own process group: exec agents, `sh` steps and the git
//! manager's PR command all run through [`run_group`]. The input is written while the
//! output is read, all under the time limit; at the limit, or when the run is dropped
//! (Ctrl-C, SIGTERM), the whole group is killed, and with it every process that carries
//! the tree's mark ([`super::process_mark`]): what left the group (`setsid`, a double
//! fork) is stopped too. What a child leaves running when it ends by itself is stopped
//! when the run ends ([`RunMarks::sweep`]).

use super::process_mark::{Mark, RunMarks};
pub use super::spawn::Spec;
use std::process::{Output, Stdio};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// Kills a process tree when dropped, unless disarmed: its process group, and every
/// process that carries its mark. A run that is interrupted (its future dropped on
/// Ctrl-C) stops everything its agents started.
pub struct GroupGuard {
    /// The group's leader (the group's id), while it may run.
    leader: Option<u32>,
    /// The mark of every process of the tree.
    mark: Mark,
}

impl GroupGuard {
    /// The group has ended by itself: nothing to kill now (what it left running is
    /// stopped with the run).
    pub fn disarm(mut self) {
        self.leader = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(leader) = self.leader.take() {
            kill_group(Some(leader));
            if let Err(e) = self.mark.kill() {
                tracing::warn!(target: "bmad::run", "{e}: processes that left the group may run on");
            }
        }
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
    /// Its watch stopped it (a streaming CLI past its budget): the group was killed; what
    /// it printed until then, and why.
    Stopped(Output, String),
}

/// Looks at each line a child prints on its standard output as it comes; a reason to stop
/// it ends the child's whole tree.
pub type Watch = Box<dyn FnMut(&[u8]) -> Option<String> + Send>;

/// Runs `cmd` in a new process group, marked as a tree of `marks`' run, with `input` on
/// its standard input (or none) and its output captured, killing the tree at `timeout`.
/// Fails when it cannot start.
///
/// # Errors
///
/// When the command cannot be started.
pub async fn run_group(
    cmd: Command,
    input: Option<Vec<u8>>,
    timeout: Option<Duration>,
    marks: &RunMarks,
) -> std::io::Result<Ended> {
    run_watched(cmd, input, timeout, marks, None).await
}

/// [`run_group`], with `watch` looking at each line of standard output as it comes: when
/// it gives a reason, the tree is killed and the run ends [`Ended::Stopped`].
///
/// # Errors
///
/// When the command cannot be started.
pub async fn run_watched(
    mut cmd: Command,
    input: Option<Vec<u8>>,
    timeout: Option<Duration>,
    marks: &RunMarks,
    watch: Option<Watch>,
) -> std::io::Result<Ended> {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        dev_null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let mark = marks.mark(&mut cmd);
    let mut child = cmd.spawn()?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(std::io::Error::other("the child's output is not piped"));
    };
    let stdin = child.stdin.take();
    let streams = Streams {
        stdin,
        stdout,
        stderr,
    };
    supervise(Proc::Tokio(child), streams, input, timeout, mark, watch).await
}

/// [`run_watched`] for a [`Spec`]: started with `clone` and bmad's environment
/// read once ([`super::spawn`]) where it can be, else as a `tokio::process::Command`.
///
/// # Errors
///
/// When the command cannot be started.
pub async fn run_spec(
    spec: Spec,
    input: Option<Vec<u8>>,
    timeout: Option<Duration>,
    marks: &RunMarks,
    watch: Option<Watch>,
) -> std::io::Result<Ended> {
    #[cfg(target_os = "linux")]
    if super::spawn::available() {
        let mut spec = spec;
        let (mark, value) = marks.next();
        spec.env(super::process_mark::MARK_VAR, value);
        let started = super::spawn::start(&spec, input.is_some())?;
        let streams = Streams {
            stdin: started.stdin,
            stdout: started.stdout,
            stderr: started.stderr,
        };
        let proc = Proc::Spawned(started.child);
        return supervise(proc, streams, input, timeout, mark, watch).await;
    }
    run_watched(spec.to_command(), input, timeout, marks, watch).await
}

/// A started child.
enum Proc {
    /// Started by Tokio (killed if dropped before it ends).
    Tokio(tokio::process::Child),
    /// Started by [`super::spawn`] (killed if dropped before it ends).
    #[cfg(target_os = "linux")]
    Spawned(super::spawn::Child),
}

impl Proc {
    fn id(&self) -> Option<u32> {
        match self {
            Proc::Tokio(c) => c.id(),
            #[cfg(target_os = "linux")]
            Proc::Spawned(c) => Some(c.id()),
        }
    }

    async fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        match self {
            Proc::Tokio(c) => c.wait().await,
            #[cfg(target_os = "linux")]
            Proc::Spawned(c) => c.wait().await,
        }
    }
}

/// The parent's ends of a child's standard streams.
struct Streams<I, O, E> {
    stdin: Option<I>,
    stdout: O,
    stderr: E,
}

/// Feeds `input` to a started child and collects its output under `timeout`, with
/// `watch`; kills its tree (`mark`) at the limit or when stopped.
async fn supervise<I, O, E>(
    mut child: Proc,
    streams: Streams<I, O, E>,
    input: Option<Vec<u8>>,
    timeout: Option<Duration>,
    mark: Mark,
    watch: Option<Watch>,
) -> std::io::Result<Ended>
where
    I: tokio::io::AsyncWrite + Unpin,
    O: tokio::io::AsyncRead + Unpin,
    E: tokio::io::AsyncRead + Unpin,
{
    let leader = child.id();
    let guard = GroupGuard { leader, mark };
    let stdin = streams.stdin;
    let feed = async move {
        if let (Some(mut pipe), Some(bytes)) = (stdin, input) {
            // A child that exits without reading it all closes the pipe: not an error.
            let _ = pipe.write_all(&bytes).await;
        }
    };
    let both = async {
        let ((), out) = tokio::join!(
            feed,
            collect(&mut child, streams.stdout, streams.stderr, watch, leader)
        );
        out
    };
    let (output, stopped) = match timeout {
        Some(t) => {
            if let Ok(out) = tokio::time::timeout(t, both).await {
                out
            } else {
                drop(guard);
                return Ok(Ended::TimedOut(t));
            }
        }
        None => both.await,
    }?;
    if let Some(why) = stopped {
        // The group is gone; what left it is stopped with the rest of its tree.
        drop(guard);
        return Ok(Ended::Stopped(output, why));
    }
    guard.disarm();
    Ok(Ended::Exited(output))
}

/// The null device as a child's standard input: one handle opened once and duplicated
/// per child (`Stdio::null()` opens `/dev/null` by its path for every child: a path lookup
/// per task, a tenth of bmad's own CPU per `exec` task in a profile). Falls back to
/// `Stdio::null()` if the device cannot be opened.
fn dev_null() -> Stdio {
    null_device()
        .and_then(std::fs::File::try_clone)
        .map_or_else(|_| Stdio::null(), Stdio::from)
}

/// The null device, opened once.
pub(super) fn null_device() -> std::io::Result<&'static std::fs::File> {
    static NULL: std::sync::OnceLock<Option<std::fs::File>> = std::sync::OnceLock::new();
    NULL.get_or_init(|| std::fs::File::open("/dev/null").ok())
        .as_ref()
        .ok_or_else(|| std::io::Error::other("cannot open /dev/null"))
}

/// How long the output of a child that has exited is still read: what it left running (a
/// daemon, a background job) may hold its standard output open for ever, and the task must
/// not wait for that. What it left is stopped with the run.
pub const READ_AFTER_EXIT: Duration = Duration::from_secs(2);

/// Reads `child`'s output (`out`, `err`) to its end (or until [`READ_AFTER_EXIT`] after it
/// exited), with `watch`, when given, seeing each line of standard output as it comes;
/// when it gives a reason, the group of `leader` is killed (and the rest read).
async fn collect(
    child: &mut Proc,
    mut out: impl tokio::io::AsyncRead + Unpin,
    mut err: impl tokio::io::AsyncRead + Unpin,
    mut watch: Option<Watch>,
    leader: Option<u32>,
) -> std::io::Result<(Output, Option<String>)> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    let (mut stdout, mut stderr, mut stopped) = (Vec::new(), Vec::new(), None);
    let read_out = async {
        let Some(watch) = watch.as_mut() else {
            // No one looks at the lines: read as it comes, without a line buffer.
            out.read_to_end(&mut stdout).await?;
            return Ok(());
        };
        let mut out = tokio::io::BufReader::new(out);
        let mut line = Vec::new();
        loop {
            line.clear();
            if out.read_until(b'\n', &mut line).await? == 0 {
                return Ok::<_, std::io::Error>(());
            }
            stdout.extend_from_slice(&line);
            if stopped.is_none()
                && let Some(why) = watch(&line)
            {
                stopped = Some(why);
                kill_group(leader);
            }
        }
    };
    let read_err = err.read_to_end(&mut stderr);
    // Its exit, told to the reads (a permit kept when they are not waiting yet).
    let exited = tokio::sync::Notify::new();
    let wait = async {
        let status = child.wait().await;
        exited.notify_one();
        status
    };
    let reads = async {
        let both = async {
            let (out, err) = tokio::join!(read_out, read_err);
            out.and(err.map(|_| ()))
        };
        let after_exit = async {
            exited.notified().await;
            tokio::time::sleep(READ_AFTER_EXIT).await;
        };
        // The reads first: when they are done, no timer is set for nothing.
        tokio::select! {
            biased;
            read = both => read,
            () = after_exit => {
                tracing::debug!(target: "bmad::run", "a process it left holds the output open: not read further");
                Ok(())
            }
        }
    };
    let (status, read) = tokio::join!(wait, reads);
    read?;
    Ok((
        Output {
            status: status?,
            stdout,
            stderr,
        },
        stopped,
    ))
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

/// The POSIX shell, by its absolute path as `system(3)` and ninja name it: no search of
/// `PATH` for it (on a typical `PATH` that is several failed `execve`s per command) and no
/// other `sh` picked up from a directory early in `PATH`.
pub const SHELL: &str = "/bin/sh";

/// A command that runs `line` with [`SHELL`] `-c`.
pub fn shell_command(line: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(SHELL);
    cmd.arg("-c").arg(line);
    cmd
}

/// A [`Spec`] that runs `line` with [`SHELL`] `-c`.
pub fn shell_spec(line: impl Into<std::ffi::OsString>) -> Spec {
    Spec::new(SHELL, vec!["-c".into(), line.into()])
}

/// `command` with `{workflow_dir}` replaced by `workflow_dir`, shell-quoted.
pub fn with_workflow_dir(command: &str, workflow_dir: &std::path::Path) -> String {
    if !command.contains(WORKFLOW_DIR) {
        return command.to_string();
    }
    let quoted = super::exec::shell_quote(&workflow_dir.to_string_lossy());
    command.replace(WORKFLOW_DIR, &quoted)
}

/// Runs `command` with `sh -c` in `dir`, in its own process group, a tree of `marks`' run,
/// killed with everything it started at `timeout`. `{workflow_dir}` in it, and
/// `BMAD_WORKFLOW_DIR` in its environment, are `workflow_dir`.
pub async fn sh(
    command: &str,
    dir: &std::path::Path,
    workflow_dir: &std::path::Path,
    timeout: Option<Duration>,
    marks: &RunMarks,
) -> Shelled {
    let mut spec = shell_spec(with_workflow_dir(command, workflow_dir));
    spec.dir = Some(dir.to_path_buf());
    spec.env("BMAD_WORKFLOW_DIR", workflow_dir);
    let (error, out) = match run_spec(spec, None, timeout, marks, None).await {
        Ok(Ended::Exited(out)) if out.status.success() => (None, Some(out)),
        Ok(Ended::Exited(out)) => (
            Some(format!("`{command}` exited with {}", out.status)),
            Some(out),
        ),
        Ok(Ended::TimedOut(t)) => (Some(format!("`{command}` timed out after {t:?}")), None),
        Ok(Ended::Stopped(out, why)) => {
            (Some(format!("`{command}` was stopped: {why}")), Some(out))
        }
        Err(e) => (Some(format!("cannot run `{command}`: {e}")), None),
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Shelled {
        error,
        stdout: out.as_ref().map_or(String::new(), |o| text(&o.stdout)),
        stderr: out.as_ref().map_or(String::new(), |o| text(&o.stderr)),
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::path::Path;

    /// The state and process group of `pid` (`/proc/<pid>/stat`); none once it is gone.
    fn stat(pid: u32) -> Option<(char, u32)> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let mut rest = stat.rsplit_once(") ")?.1.split(' ');
        let state = rest.next()?.chars().next()?;
        let group = rest.nth(1)?.parse().ok()?;
        Some((state, group))
    }

    /// Whether `pid` has ended (a zombie has), waiting up to 2 s for it.
    fn gone(pid: u32) -> bool {
        (0..100).any(|_| {
            let ended = stat(pid).is_none_or(|(state, _)| state == 'Z');
            if !ended {
                std::thread::sleep(Duration::from_millis(20));
            }
            ended
        })
    }

    fn pid_in(file: &Path) -> u32 {
        std::fs::read_to_string(file)
            .ok()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("no pid in {}", file.display()))
    }

    /// `sh -c` of a script that leaves a daemon (a session of its own, out of the group)
    /// recording its pid in `<dir>/<name>.pid`, then runs `then`.
    fn leaves_a_daemon(dir: &Path, name: &str, then: &str) -> Command {
        let script = format!(
            "setsid sh -c 'echo $$ > {name}.tmp && mv {name}.tmp {name}.pid && exec sleep 1000' \
             </dev/null >/dev/null 2>&1 &\n\
             while [ ! -s {name}.pid ]; do sleep 0.02; done\n{then}"
        );
        let mut cmd = shell_command(script);
        cmd.current_dir(dir);
        cmd
    }

    #[test]
    fn a_killed_tree_takes_what_left_its_group_and_no_other_tree() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let marks = RunMarks::default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let release = dir.path().join("release");
        // Tree `kept` runs until tree `late` has been killed at its time limit.
        let kept = leaves_a_daemon(
            dir.path(),
            "kept",
            "while [ ! -e release ]; do sleep 0.02; done",
        );
        let late = leaves_a_daemon(dir.path(), "late", "exec sleep 1000");
        let (kept, late) = rt.block_on(async {
            tokio::join!(
                run_group(kept, None, Some(Duration::from_secs(20)), &marks),
                async {
                    let ended = run_group(late, None, Some(Duration::from_millis(500)), &marks);
                    let ended = ended.await;
                    let _ = std::fs::write(&release, "");
                    ended
                }
            )
        });
        assert!(matches!(late, Ok(Ended::TimedOut(_))), "{late:?}");
        assert!(matches!(kept, Ok(Ended::Exited(_))), "{kept:?}");
        let late = pid_in(&dir.path().join("late.pid"));
        let kept = pid_in(&dir.path().join("kept.pid"));
        assert!(gone(late), "the timed-out tree's daemon {late} survived");
        // The other tree's daemon, out of its group too, runs until the run ends.
        let (state, group) = stat(kept).expect("the other tree's daemon runs");
        assert_ne!(state, 'Z');
        assert_eq!(group, kept, "the daemon left its tree's process group");
        assert_eq!(marks.sweep().expect("/proc is readable"), 1);
        assert!(gone(kept), "the run's sweep left {kept}");
    }
}
