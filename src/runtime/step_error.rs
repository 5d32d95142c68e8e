//! Why a step failed, typed by where the failure came from: a caller can tell an agent's
//! failed task from a loop out of attempts, a missing procedure or a refused write. What
//! a person reads (events, the report, a story's blocked reason) is its `Display`.

use super::git::GitError;
use super::workspace::WorkspaceError;

/// Why a runner cannot be set up for a workflow.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The git agents name different base branches.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The agent adapter named (`--agents`, the `agents` setting) is not an exec agent
    /// of the workflow or of `std.agents`.
    #[error(
        "no agent adapter `{name}`: std.agents has {} (or name an exec agent of the workflow)",
        known.join(", ")
    )]
    NoAdapter {
        /// The name given.
        name: String,
        /// The adapters std.agents has.
        known: Vec<String>,
    },
    /// `--approve` names no environment or `approve` step of the workflow.
    #[error("--approve {name}: the workflow has no environment or approve step `{name}`{}", did_you_mean.as_ref().map_or(String::new(), |d| format!(" ({d})")))]
    UnknownApproval {
        /// The name given.
        name: String,
        /// The environment it may mean.
        did_you_mean: Option<String>,
    },
    /// A script agent with no script to run.
    #[error("agent `{agent}`: a script backend without a script")]
    NoScript {
        /// The agent.
        agent: String,
    },
    /// An exec agent's working directory leads out of the workspace.
    #[error("agent `{agent}`: cwd {source}")]
    Cwd {
        /// The agent.
        agent: String,
        /// Why.
        #[source]
        source: WorkspaceError,
    },
}

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StepError {
    /// A task's agent did not do it: its exit, its output, its verdict, its timeout.
    #[error("{0}")]
    Task(String),
    /// A task was not started (a limit held it back).
    #[error("not started: {0}")]
    NotStarted(String),
    /// A task was not admitted: the run's memory and CPU pools closed (it is stopping).
    #[error("not started: {0}")]
    NotAdmitted(#[source] tokio::sync::AcquireError),
    /// The run pauses (a budget is spent, an agent's service keeps refusing): the step
    /// is neither done nor failed, and runs again on resume.
    #[error("paused: {0}")]
    Paused(String),
    /// A script or condition failed, or gave a value of the wrong type.
    #[error("{0}")]
    Script(String),
    /// A `repeat` loop used up its attempts without its `until` holding.
    #[error("not done after {attempts} attempts")]
    NotDone {
        /// The attempts it had.
        attempts: u64,
    },
    /// A `retry` loop failed every attempt.
    #[error("failed {attempts} times: {last}")]
    Retried {
        /// The attempts it had.
        attempts: u64,
        /// How the last one failed.
        last: Box<StepError>,
    },
    /// A story its last verdicts rejected, with what they said.
    #[error(
        "its last verdict did not approve it{}",
        if .0.is_empty() { String::new() } else { format!(": {}", .0) }
    )]
    Rejected(String),
    /// A `fail` step, with its reason.
    #[error("{0}")]
    Fail(String),
    /// A check that must pass did not.
    #[error("{0}")]
    Check(String),
    /// A name with nothing behind it at run time: a procedure, a check, an agent for a
    /// story's type.
    #[error("{0}")]
    Undefined(String),
    /// A shell command failed or was stopped.
    #[error("{0}")]
    Shell(String),
    /// A probe's answer was not the one expected.
    #[error("{what}: {got}, expected {want}")]
    ProbeMissed {
        /// The probe (`GET http://api/health`).
        what: String,
        /// What came back (`status 503`, `connection refused`).
        got: String,
        /// What was expected (`status 200`, `a 2xx status`).
        want: String,
    },
    /// A probe could not be made or got no answer at all: its target is not a URL or not
    /// `host:port`, does not resolve, or its `ca_file` cannot be read.
    #[error("{what}: {source}")]
    ProbeUnanswered {
        /// The probe (`TCP db:5432`).
        what: String,
        /// Why.
        #[source]
        source: crate::probe::ProbeError,
    },
    /// A deployment or rollback failed.
    #[error("{0}")]
    Deploy(String),
    /// A handoff's artifacts are not there.
    #[error(transparent)]
    Handoff(#[from] super::handoff::HandoffError),
    /// Delivery through git failed: a worktree, a commit, the merge lane.
    #[error("{0}")]
    Delivery(String),
    /// A heal's verification check failed.
    #[error("verification `{check}` failed: {source}")]
    Verification {
        /// The check.
        check: String,
        /// How it failed.
        #[source]
        source: Box<StepError>,
    },
    /// A heal did not heal.
    #[error("{0}")]
    Heal(String),
    /// A git operation of delivery failed: making worktrees, committing, the merge lane.
    #[error("{doing}: {source}")]
    Git {
        /// What delivery was doing (`committing its work`, `the merge lane`).
        doing: &'static str,
        /// What git said.
        #[source]
        source: GitError,
    },
    /// A blocked story whose worktree is kept, with why it is blocked.
    #[error("{why} (its work is kept in the worktree `{}`, branch `{branch}`)", worktree.display())]
    Kept {
        /// Why the story is blocked.
        why: Box<StepError>,
        /// Its worktree.
        worktree: std::path::PathBuf,
        /// Its branch.
        branch: String,
    },
    /// The story files cannot be used.
    #[error(transparent)]
    Stories(#[from] super::story_files::StoryFileError),
    /// Story files or the git setup cannot be used.
    #[error("{0}")]
    Setup(String),
    /// An artifact of an agent's task cannot be used (a path out of the workspace, a name
    /// with no path).
    #[error("agent `{agent}`: {source}")]
    Artifact {
        /// The agent.
        agent: String,
        /// Why.
        #[source]
        source: WorkspaceError,
    },
    /// A workspace path or artifact cannot be used.
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
}
