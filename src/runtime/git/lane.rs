//! The merge lane: approved stories join the integration branch one at a time. A story is
//! merged (`--no-ff`) onto the branch as it stands, in the lane's scratch worktree; the
//! caller verifies the result there; only then does the branch advance, so it never gets a
//! commit whose verification failed. A branch checked out in a working tree (the user's)
//! advances by a fast-forward there, which brings the files along.

use super::command::{Git, GitError, nul_split};
use super::repo::Repo;
use super::worktree::Tree;

/// The one merge lane of a run.
#[derive(Debug)]
pub struct Lane {
    repo: Repo,
    /// The integration branch.
    pub branch: String,
    turn: tokio::sync::Mutex<()>,
}

/// How merging a story went.
#[derive(Debug, Clone, PartialEq)]
pub enum Merge {
    /// The integration branch has it already (a run that crashed had merged it).
    AlreadyIn,
    /// Merged cleanly in the scratch worktree; the branch has not moved yet.
    Clean {
        /// The merge commit.
        commit: String,
        /// Whether its files are exactly the story's (the branch had not moved since the
        /// story started): what the story's verdicts approved.
        as_approved: bool,
    },
    /// The story conflicts with what the branch got since it started.
    Conflict {
        /// The files in conflict.
        files: Vec<String>,
        /// What git said.
        said: String,
    },
}

/// How advancing the integration branch went.
#[derive(Debug, Clone, PartialEq)]
pub enum Advanced {
    /// It points at the merge now.
    Done,
    /// Something else moved it meanwhile: merge again.
    Moved,
}

impl Lane {
    /// The lane into `branch` of `repo`.
    pub fn new(repo: Repo, branch: String) -> Lane {
        Lane {
            repo,
            branch,
            turn: tokio::sync::Mutex::new(()),
        }
    }

    /// Waits for the lane: one story at a time, from its merge to its branch's advance.
    pub async fn turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.turn.lock().await
    }

    /// The commit the integration branch is at.
    pub async fn tip(&self) -> Result<String, GitError> {
        self.repo.tip(&self.branch).await
    }

    /// Whether `commit` is in the integration branch at `tip`.
    pub async fn contains(&self, commit: &str, tip: &str) -> Result<bool, GitError> {
        self.repo
            .git
            .test(["merge-base", "--is-ancestor", commit, tip])
            .await
    }

    /// Merges `story_branch` onto `tip` in `scratch` (detached at `tip`) with `message`.
    pub async fn merge(
        &self,
        scratch: &Tree,
        tip: &str,
        story_branch: &str,
        message: &str,
    ) -> Result<Merge, GitError> {
        let head = self.repo.tip(story_branch).await?;
        if self.contains(&head, tip).await? {
            return Ok(Merge::AlreadyIn);
        }
        let git = Git::at(&scratch.root);
        let args: Vec<std::ffi::OsString> = [
            "merge",
            "--no-ff",
            "--no-edit",
            "-m",
            message,
            &format!("refs/heads/{story_branch}"),
        ]
        .iter()
        .map(Into::into)
        .collect();
        if let Err(e) = git.run_with(&args, &self.repo.identity).await {
            let unmerged = git
                .run(["diff", "--name-only", "-z", "--diff-filter=U"])
                .await
                .unwrap_or_default();
            let files: Vec<String> = nul_split(&unmerged).map(str::to_string).collect();
            let _ = git.run(["merge", "--abort"]).await;
            if files.is_empty() {
                return Err(e);
            }
            let said = match e {
                GitError::Failed { said, .. } => said,
                other => other.to_string(),
            };
            return Ok(Merge::Conflict { files, said });
        }
        let commit = git.run(["rev-parse", "HEAD"]).await?;
        let merged = git.run(["rev-parse", "HEAD^{tree}"]).await?;
        let story = git.run(["rev-parse", &format!("{head}^{{tree}}")]).await?;
        Ok(Merge::Clean {
            commit,
            as_approved: merged == story,
        })
    }

    /// Moves the integration branch from `from` to `to` (a merge onto `from`).
    pub async fn advance(&self, from: &str, to: &str, story: &str) -> Result<Advanced, GitError> {
        if self.tip().await? != from {
            return Ok(Advanced::Moved);
        }
        match self.repo.checked_out_at(&self.branch).await? {
            Some(dir) => {
                Git::at(&dir)
                    .run(["merge", "--ff-only", "-q", to])
                    .await
                    .map_err(|e| GitError::Failed {
                        command: format!(
                            "merge --ff-only` in `{}`, where `{}` is checked out,",
                            dir.display(),
                            self.branch
                        ),
                        said: match e {
                            GitError::Failed { said, .. } => said,
                            other => other.to_string(),
                        },
                    })?;
            }
            None => {
                let moved = self
                    .repo
                    .git
                    .run([
                        "update-ref",
                        "-m",
                        &format!("bmad: merge story {story}"),
                        &format!("refs/heads/{}", self.branch),
                        to,
                        from,
                    ])
                    .await;
                if moved.is_err() && self.tip().await? != from {
                    return Ok(Advanced::Moved);
                }
                moved?;
            }
        }
        Ok(Advanced::Done)
    }

    /// The subjects of the stories merged into the integration branch after `from`, oldest
    /// first.
    pub async fn merged_since(&self, from: &str) -> Result<Vec<String>, GitError> {
        let out = self
            .repo
            .git
            .run([
                "log",
                "--first-parent",
                "--reverse",
                "--format=%s",
                &format!("{from}..refs/heads/{}", self.branch),
            ])
            .await?;
        Ok(out.lines().map(str::to_string).collect())
    }
}
