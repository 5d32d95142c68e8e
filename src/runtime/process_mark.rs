//! Marks on the processes of a run. Every child bmad starts for a run (exec agents, `sh`
//! steps and command checks, the git manager's PR command) carries a token of its own in
//! `BMAD_PROCESS_MARK`, and so does everything it starts, in or out of its process group:
//! a tree is killed by its token, and what a run left behind by the run's tokens.

use super::process_sweep::{SweepError, env_value, kill_marked};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The environment variable holding the marks of a process: the tokens of every bmad
/// process tree it belongs to, outermost first, `:`-separated (a bmad run inside an agent
/// adds its own to the one it inherited).
pub const MARK_VAR: &str = "BMAD_PROCESS_MARK";

/// Runs made by this bmad process so far: part of a run's token.
static RUNS: AtomicU64 = AtomicU64::new(0);

/// The marks of one run's processes: a token for the run (bmad's pid, the time it began,
/// a count of runs in this process) and one for each process tree it starts, `<run>.<n>`.
#[derive(Debug)]
pub struct RunMarks {
    /// The run's token.
    run: String,
    /// The marks bmad itself inherited (an agent's bmad run), kept before its own.
    inherited: Option<String>,
    /// Trees marked so far.
    next: AtomicU64,
    /// Whether a tree was marked since the last sweep: no need to scan otherwise.
    unswept: AtomicBool,
}

impl Default for RunMarks {
    fn default() -> Self {
        let began = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        RunMarks {
            run: format!(
                "{:x}-{began:x}-{}",
                std::process::id(),
                RUNS.fetch_add(1, Ordering::Relaxed)
            ),
            inherited: std::env::var(MARK_VAR).ok().filter(|m| !m.is_empty()),
            next: AtomicU64::new(0),
            unswept: AtomicBool::new(false),
        }
    }
}

/// The mark of one process tree: the token its first process and everything it starts
/// carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    token: String,
}

/// Whether an environment block carries a mark that `wanted` accepts.
fn carries(environ: &[u8], wanted: impl Fn(&[u8]) -> bool) -> bool {
    env_value(environ, MARK_VAR).is_some_and(|v| v.split(|b| *b == b':').any(wanted))
}

impl RunMarks {
    /// The run's token, which begins each of its trees' tokens.
    pub fn token(&self) -> &str {
        &self.run
    }

    /// Marks `cmd` as a new process tree of this run: sets `BMAD_PROCESS_MARK` in its
    /// environment, after the marks bmad inherited.
    pub fn mark(&self, cmd: &mut tokio::process::Command) -> Mark {
        let (mark, value) = self.next();
        cmd.env(MARK_VAR, value);
        mark
    }

    /// The mark of a new process tree of this run, and the value its `BMAD_PROCESS_MARK`
    /// must hold (after the marks bmad inherited).
    pub fn next(&self) -> (Mark, String) {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        self.unswept.store(true, Ordering::Relaxed);
        let token = format!("{}.{n}", self.run);
        let value = match &self.inherited {
            Some(outer) => format!("{outer}:{token}"),
            None => token.clone(),
        };
        (Mark { token }, value)
    }

    /// Kills every process still carrying a mark of this run: what its agents and
    /// commands left running (daemons, servers, anything that left its process group).
    /// Returns how many were killed; scans nothing when no tree was marked since the
    /// last sweep.
    ///
    /// # Errors
    ///
    /// A [`SweepError`] when `/proc` cannot be listed.
    pub fn sweep(&self) -> Result<usize, SweepError> {
        if !self.unswept.swap(false, Ordering::Relaxed) {
            return Ok(0);
        }
        let prefix = format!("{}.", self.run);
        kill_marked(&|env| carries(env, |t| t.starts_with(prefix.as_bytes())))
    }
}

impl Drop for RunMarks {
    /// A run dropped without its end (a host program's, or a panic) stops what it left.
    fn drop(&mut self) {
        let _ = self.sweep();
    }
}

impl Mark {
    /// The token of the tree.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Kills every process that carries this mark, those that left the tree's process
    /// group included; no other tree's. Returns how many were killed.
    ///
    /// # Errors
    ///
    /// A [`SweepError`] when `/proc` cannot be listed.
    pub fn kill(&self) -> Result<usize, SweepError> {
        kill_marked(&|env| carries(env, |t| t == self.token.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trees_get_tokens_of_their_run_and_runs_differ() {
        let (a, b) = (RunMarks::default(), RunMarks::default());
        assert_ne!(a.token(), b.token());
        let mut cmd = tokio::process::Command::new("true");
        let first = a.mark(&mut cmd);
        let second = a.mark(&mut cmd);
        assert_eq!(first.token(), format!("{}.0", a.token()));
        assert_eq!(second.token(), format!("{}.1", a.token()));
        let set = cmd
            .as_std()
            .get_envs()
            .find(|(k, _)| *k == MARK_VAR)
            .and_then(|(_, v)| v)
            .map(|v| v.to_string_lossy().into_owned());
        let expected = match std::env::var(MARK_VAR) {
            Ok(outer) if !outer.is_empty() => format!("{outer}:{}", second.token()),
            _ => second.token().to_string(),
        };
        assert_eq!(set.as_deref(), Some(expected.as_str()));
    }

    #[test]
    fn a_mark_is_found_among_the_marks_of_a_process() {
        let env = b"HOME=/root\0BMAD_PROCESS_MARK=outer.3:run.12\0";
        assert!(carries(env, |t| t == b"run.12"));
        assert!(carries(env, |t| t == b"outer.3"));
        assert!(!carries(env, |t| t == b"run.1"));
        assert!(carries(env, |t| t.starts_with(b"run.")));
        assert!(!carries(b"HOME=/root\0", |_| true));
    }
}
