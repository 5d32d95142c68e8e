//! Running git: one command in a directory, its output captured, in an environment that
//! cannot point it at another repository, with git's own messages in English (they are
//! read) and without the user's hooks or automatic gc in the middle of a run. What went
//! wrong is a [`GitError`].
//!
//! A git command is never cut short: its output goes to unnamed files, not pipes, so when
//! bmad is killed git still finishes what it started (a pipe would kill it with SIGPIPE in
//! the middle of a checkout), and it is not killed when a run is dropped. Each carries
//! [`MARK`] in its environment, and [`wait_for_leftovers`] lets a resumed run wait for those
//! of a run that was killed.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// Why a git operation failed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// git is not on PATH.
    #[error("cannot run git: it is not installed (or not on PATH)")]
    NotInstalled,
    /// git could not be started.
    #[error("cannot run `git {command}`: {source}")]
    Start {
        /// The git command (its subcommand).
        command: String,
        /// Why.
        source: std::io::Error,
    },
    /// git ran and failed.
    #[error("`git {command}` failed: {said}")]
    Failed {
        /// The git command (its subcommand).
        command: String,
        /// The end of what it printed.
        said: String,
    },
    /// The workspace is in no git working tree.
    #[error(
        "the workspace `{0}` is not a git repository (run `git init` there and make a first \
         commit, or choose another backend for this agent)"
    )]
    NotARepository(PathBuf),
    /// The repository has no commit.
    #[error("the repository of `{0}` has no commit yet: make a first commit")]
    NoCommit(PathBuf),
    /// The integration branch does not exist.
    #[error(
        "the integration branch `{0}` does not exist (the `base` of the git agent, or the \
         branch checked out in the workspace)"
    )]
    NoBranch(String),
    /// No branch is checked out and none is named.
    #[error(
        "HEAD is detached: check out a branch, or set `base` on the git agent (the branch \
         stories merge into)"
    )]
    Detached,
    /// A story id that makes no branch name.
    #[error("story `{0}` does not make a valid branch name (`{1}`)")]
    BadBranch(String, String),
    /// The git agents of a workflow name different integration branches.
    #[error("the git agents merge into different branches (`{0}` and `{1}`): give them one `base`")]
    TwoBases(String, String),
    /// The integration branch is checked out in a working tree where it cannot move.
    #[error(
        "`{branch}` is checked out in `{dir}` and cannot move there (an uncommitted edit in \
         the way of a merged file? commit or stash it, then resume): {said}"
    )]
    CheckoutInTheWay {
        /// The integration branch.
        branch: String,
        /// The working tree.
        dir: PathBuf,
        /// What git said.
        said: String,
    },
    /// git is older than 2.38, which merges without a checkout (`merge-tree --write-tree`).
    #[error("the merge lane needs git 2.38 or later (`git merge-tree --write-tree`): update git")]
    TooOld,
    /// The remote's story branch is not at the commit the worker said it pushed.
    #[error(
        "the remote's branch `{branch}` is at {found}, not at {pushed} which the worker \
         pushed: another push overwrote it"
    )]
    RemoteMoved {
        /// The story's branch.
        branch: String,
        /// What the worker pushed.
        pushed: String,
        /// What the remote has.
        found: String,
    },
    /// The commit a task starts from is not in the remote.
    #[error("the commit {commit} the task starts from is not in the remote `{remote}` ({at})")]
    BaseMissing {
        /// The commit.
        commit: String,
        /// The remote.
        remote: String,
        /// The ref it was pushed to.
        at: String,
    },
    /// A file operation around git failed.
    #[error("cannot {what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
}

/// Environment variables that would point git at another repository or index.
const GIT_LOCATION_VARS: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_PREFIX",
];

/// The environment variable that marks the git processes bmad starts.
pub const MARK: &str = "BMAD_GIT";

/// How long a command waits for a lock another git process holds (a git left running by
/// a run that was killed finishes within this).
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// git in one directory.
#[derive(Debug, Clone)]
pub struct Git {
    dir: PathBuf,
}

/// The last lines of a failed command's output.
fn said(out: &std::process::Output) -> String {
    let tail = |b: &[u8]| crate::runtime::verdict::last_lines(&String::from_utf8_lossy(b), 8);
    let (err, out) = (tail(&out.stderr), tail(&out.stdout));
    match (err.is_empty(), out.is_empty()) {
        (false, false) => format!("{out}\n{err}"),
        (false, true) => err,
        (true, false) => out,
        (true, true) => "no output".into(),
    }
}

/// Whether git failed because another git process holds a lock it needs (a lock file
/// exists; not a ref that cannot be made, which waiting does not mend).
fn locked(said: &str) -> bool {
    said.contains(".lock': File exists")
}

impl Git {
    /// git working in `dir`.
    pub fn at(dir: impl Into<PathBuf>) -> Git {
        Git { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A git command with `args`, in this directory.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new("git");
        cmd.arg("-C")
            .arg(&self.dir)
            // No automatic gc or user hooks in the middle of a run: the lane's checks are
            // the verdict steps.
            .args(["-c", "gc.auto=0", "-c", "core.hooksPath=/dev/null"])
            .args(args);
        for var in GIT_LOCATION_VARS {
            cmd.env_remove(var);
        }
        cmd.env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .env(MARK, "1")
            .env_remove("LANGUAGE")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `cmd` to its end, its output in unnamed files (see the module's doc).
    async fn output(mut cmd: Command, command: &str) -> Result<std::process::Output, GitError> {
        let start = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::NotFound => GitError::NotInstalled,
            _ => GitError::Start {
                command: command.to_string(),
                source: e,
            },
        };
        let (out, err) = (
            tempfile::tempfile().map_err(start)?,
            tempfile::tempfile().map_err(start)?,
        );
        cmd.stdout(out.try_clone().map_err(start)?)
            .stderr(err.try_clone().map_err(start)?);
        let began = std::time::Instant::now();
        let status = cmd.status().await.map_err(start)?;
        tracing::debug!(
            target: "bmad::git",
            ms = began.elapsed().as_secs_f64() * 1000.0,
            "git {command} ({status})"
        );
        let read = |mut f: std::fs::File| {
            use std::io::{Read, Seek};
            let mut bytes = Vec::new();
            f.rewind()
                .and_then(|()| f.read_to_end(&mut bytes))
                .map(|_| bytes)
        };
        Ok(std::process::Output {
            status,
            stdout: read(out).map_err(start)?,
            stderr: read(err).map_err(start)?,
        })
    }

    /// Runs git with `args`; its standard output, trimmed at the end.
    ///
    /// # Errors
    ///
    /// A [`GitError`] when git cannot be started, or exits with an error.
    pub async fn run<I, S>(&self, args: I) -> Result<String, GitError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<std::ffi::OsString> =
            args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        self.run_with(&args, &[]).await
    }

    /// Runs git with `args` and extra environment `env`; its standard output, trimmed at
    /// the end. A command that finds a lock held by another git waits for it, up to 10 s.
    ///
    /// # Errors
    ///
    /// A [`GitError`] when git cannot be started, or exits with an error.
    pub async fn run_with(
        &self,
        args: &[std::ffi::OsString],
        env: &[(&str, &str)],
    ) -> Result<String, GitError> {
        let command = args
            .iter()
            .find(|a| !a.to_string_lossy().starts_with('-'))
            .map_or_else(String::new, |a| a.to_string_lossy().into_owned());
        let started = tokio::time::Instant::now();
        loop {
            let mut cmd = self.command(args);
            cmd.envs(env.iter().copied());
            let out = Self::output(cmd, &command).await?;
            if out.status.success() {
                return Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string());
            }
            let said = said(&out);
            if locked(&said) && started.elapsed() < LOCK_WAIT {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            return Err(GitError::Failed { command, said });
        }
    }

    /// Runs git with `args` and `env`: how it exited and what it printed, whatever its exit
    /// code (for commands whose non-zero exit is an answer, such as a merge's conflicts).
    ///
    /// # Errors
    ///
    /// A [`GitError`] when git cannot be started, or exits with an error.
    pub async fn output_of(
        &self,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<std::process::Output, GitError> {
        let mut cmd = self.command(args);
        cmd.envs(env.iter().copied());
        Self::output(cmd, args.first().copied().unwrap_or("git")).await
    }

    /// Whether git with `args` exits 0 (a question such as `merge-base --is-ancestor`);
    /// an error only when it cannot run.
    ///
    /// # Errors
    ///
    /// A [`GitError`] when git cannot be started, or exits with an error.
    pub async fn test<I, S>(&self, args: I) -> Result<bool, GitError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self
            .command(args)
            .output()
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => GitError::NotInstalled,
                _ => GitError::Start {
                    command: "test".into(),
                    source: e,
                },
            })?;
        Ok(out.status.success())
    }

    /// Fetches `refspec` from `remote` quietly, without tags and without writing
    /// `FETCH_HEAD` (several fetches may run side by side in one clone).
    ///
    /// # Errors
    ///
    /// A [`GitError`] when git cannot be started, or the fetch fails.
    pub async fn fetch_ref(&self, remote: &str, refspec: &str) -> Result<String, GitError> {
        self.run([
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            remote,
            refspec,
        ])
        .await
    }
}

/// A commit's id shortened for people: its first twelve hex digits.
pub fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

/// Whether `branch` is a valid branch name, by git's rules for a ref
/// (`git check-ref-format refs/heads/<branch>`), without starting git.
// git refuses a component ending in `.lock`, in that case only: so does this.
#[allow(clippy::case_sensitive_file_extension_comparisons)]
pub fn valid_branch(branch: &str) -> bool {
    !branch.is_empty()
        && branch != "@"
        && !branch.starts_with('-')
        && !branch.ends_with('/')
        && !branch.ends_with('.')
        && !branch.contains("..")
        && !branch.contains("@{")
        && !branch.contains("//")
        && !branch
            .chars()
            .any(|c| c.is_ascii_control() || " ~^:?*[\\\u{7f}".contains(c))
        && branch
            .split('/')
            .all(|part| !part.is_empty() && !part.starts_with('.') && !part.ends_with(".lock"))
}

/// Splits NUL-separated git output.
pub fn nul_split(text: &str) -> impl Iterator<Item = &str> {
    text.split('\0').filter(|s| !s.is_empty())
}

/// Waits, up to 10 s, for the git processes bmad started under `top` (a run that was
/// killed) to finish: a resume must not work beside a checkout that is still being written.
pub async fn wait_for_leftovers(top: &Path) {
    let started = tokio::time::Instant::now();
    while leftover(top) && started.elapsed() < LOCK_WAIT {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether a git process bmad started is working under `top`.
fn leftover(top: &Path) -> bool {
    let marker = format!("{MARK}=1");
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return false;
    };
    procs.flatten().any(|p| {
        p.file_name()
            .to_str()
            .is_some_and(|n| n.parse::<u32>().is_ok())
            && std::fs::read(p.path().join("environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|kv| kv == marker.as_bytes()))
            && std::fs::read_link(p.path().join("cwd")).is_ok_and(|cwd| cwd.starts_with(top))
    })
}

#[cfg(test)]
mod tests {
    use super::valid_branch;

    #[test]
    fn branch_names_follow_git_s_rules() {
        for ok in [
            "bmad/story-3.6.15",
            "bmad/story-a_b",
            "bmad/story-über",
            "main",
        ] {
            assert!(valid_branch(ok), "{ok}");
        }
        for bad in [
            "", "@", "-x", "a/", "a.", "a..b", "a@{b", "a//b", "a b", "a~1", "a^", "a:b", "a?",
            "a*", "a[b", "a\\b", "a/.b", "a/b.lock", "a\tb",
        ] {
            assert!(!valid_branch(bad), "{bad:?}");
        }
    }
}
