//! Story work through a git remote (`settings { git_remote "URL" }`), the coordinator's
//! side: before a story's task goes to a worker, what the story's worktree holds is
//! committed and its commit pushed to the remote as the task's base
//! (`refs/bmad/base/<story>`); when the task comes back with the commit the worker pushed
//! on the story's branch, that branch is fetched from the remote, checked against the
//! commit, and the story's worktree moved to it, so the steps after the task (the commit,
//! the merge lane) work on what the worker did as on what a local agent did. The
//! worker's side is [`super::clones`].

use super::command::{Git, GitError};
use super::repo::Repo;
use super::worktree::{Tree, dir_name};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A story's task as it travels through the remote: where the worker gets the work from
/// and where it puts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitWork {
    /// The remote, as the workflow names it.
    pub remote: String,
    /// The commit the task starts from.
    pub base: String,
    /// The ref of the remote the coordinator pushed `base` to.
    pub base_ref: String,
    /// The story's branch, which the worker force-pushes with the task's work; `None` for
    /// a task on a merge the lane verifies (the story's worktree detached): what it
    /// changes is not kept, as in a local run.
    pub branch: Option<String>,
    /// The workspace's place in the repository (empty at its top).
    pub sub: String,
    /// The message of the commit of the task's work.
    pub message: String,
}

/// The ref of the remote a story's base is pushed to.
pub fn base_ref(story: &str) -> String {
    format!("refs/bmad/base/{}", dir_name(story))
}

/// The ref of the coordinator's repository a story's branch is fetched into.
fn fetched_ref(story: &str) -> String {
    format!("refs/bmad/fetched/{}", dir_name(story))
}

/// Makes `tree`'s story ready to travel to a worker through `remote`: what its worktree
/// changed since its last commit is committed on its branch (nothing is left behind), and
/// the commit pushed to the remote as the task's base. `what` names the task, for the
/// commits' messages.
///
/// # Errors
///
/// A [`GitError`] when git cannot be started, fails, or cannot reach the remote.
pub async fn send(tree: &Tree, remote: &str, story: &str, what: &str) -> Result<GitWork, GitError> {
    let git = Git::at(&tree.root);
    let on_branch = git.test(["symbolic-ref", "-q", "HEAD"]).await?;
    if on_branch {
        let text = format!("bmad: story {story}'s work before {what}\n\nBmad-Story: {story}\n");
        commit_everything(&git, &tree.root, &text).await?;
    }
    let base = git.run(["rev-parse", "HEAD"]).await?;
    let base_ref = base_ref(story);
    git.run([
        "push",
        "--quiet",
        "--force",
        remote,
        &format!("{base}:{base_ref}"),
    ])
    .await?;
    let sub = tree
        .dir
        .strip_prefix(&tree.root)
        .unwrap_or(Path::new(""))
        .to_string_lossy()
        .into_owned();
    let message = format!("Story {story}: {what}\n\nBmad-Story: {story}\n");
    Ok(GitWork {
        remote: remote.to_string(),
        base,
        base_ref,
        branch: on_branch.then(|| tree.branch.clone()),
        sub,
        message,
    })
}

/// Brings back the work of a story's task a worker pushed as `pushed` on the story's
/// branch: the branch fetched from the remote, checked to be at `pushed`, and the story's
/// worktree moved to it. Nothing to do for a task on a merge being verified.
///
/// # Errors
///
/// [`GitError::RemoteMoved`] when the remote's branch is not at `pushed` (another push
/// overwrote it), another [`GitError`] when git fails or cannot reach the remote.
pub async fn receive(
    tree: &Tree,
    story: &str,
    work: &GitWork,
    pushed: &str,
) -> Result<(), GitError> {
    let Some(branch) = &work.branch else {
        return Ok(());
    };
    let git = Git::at(&tree.root);
    let into = fetched_ref(story);
    git.fetch_ref(&work.remote, &format!("+refs/heads/{branch}:{into}"))
        .await?;
    let found = git.run(["rev-parse", &into]).await?;
    if found != pushed {
        return Err(GitError::RemoteMoved {
            branch: branch.clone(),
            pushed: pushed.to_string(),
            found,
        });
    }
    git.run(["checkout", "-q", "-f", "-B", branch, pushed])
        .await
        .map(|_| ())
}

/// The identity commits are made with in the repository at `dir`: a `bmad` one when git
/// has none configured.
/// Commits everything changed in the worktree of `git` at `dir` (nothing when nothing
/// changed) with `message`, as the repository's identity, hooks off: the coordinator's
/// base before a task travels, and the worker's work after it.
///
/// # Errors
///
/// A [`GitError`] when git cannot be started or fails.
pub(super) async fn commit_everything(
    git: &Git,
    dir: &Path,
    message: &str,
) -> Result<(), GitError> {
    git.run(["add", "-A", "--", "."]).await?;
    if git.test(["diff", "--cached", "--quiet"]).await? {
        return Ok(());
    }
    let identity = identity(dir).await?;
    let args = ["commit", "-q", "--no-verify", "-m", message];
    let out = git.output_of(&args, &identity).await?;
    if out.status.success() {
        Ok(())
    } else {
        Err(GitError::Failed {
            command: "commit".into(),
            said: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

pub(super) async fn identity(dir: &Path) -> Result<Vec<(&'static str, &'static str)>, GitError> {
    Ok(Repo::find(dir)
        .await?
        .map(|r| r.identity)
        .unwrap_or_default())
}

/// Pushes `branch` of `repo` to `remote` as its branch of the same name (no force: a
/// remote branch that moved elsewhere is left as it is, and the push fails).
///
/// # Errors
///
/// A [`GitError`] when git fails or cannot reach the remote.
pub async fn publish(repo: &Repo, remote: &str, branch: &str) -> Result<(), GitError> {
    let refspec = format!("refs/heads/{branch}:refs/heads/{branch}");
    repo.git
        .run(["push", "--quiet", remote, refspec.as_str()])
        .await
        .map(|_| ())
}
