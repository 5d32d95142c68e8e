//! The merge lane: approved stories join the integration branch one at a time. A story is
//! merged onto the branch as it stands into a merge commit made without a checkout
//! (`git merge-tree --write-tree`, git 2.38 or later: a merge in a worktree of a large
//! repository costs ten times more); the caller verifies the result, checked out in the
//! story's worktree, when it is not exactly what the story's verdicts approved; only
//! then does the branch advance, so it never gets a commit whose verification failed. A
//! branch checked out in a working tree (the user's) advances by a fast-forward there,
//! which brings the files along.

use super::command::{Git, GitError};
use super::repo::Repo;

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
    /// The integration branch has what it brings already (a run that crashed had merged
    /// it).
    AlreadyIn,
    /// Merged cleanly; the branch has not moved yet.
    Clean {
        /// The merge commit.
        commit: String,
        /// Its files' tree.
        tree: String,
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
    ///
    /// # Errors
    ///
    /// A [`GitError`] when git cannot be started, or exits with an error.
    pub async fn tip(&self) -> Result<String, GitError> {
        self.repo.tip(&self.branch).await
    }

    /// Whether `commit` is in the integration branch at `tip`.
    ///
    /// # Errors
    ///
    /// A [`GitError`] when git cannot be started, or exits with an error.
    pub async fn contains(&self, commit: &str, tip: &str) -> Result<bool, GitError> {
        self.repo
            .git
            .test(["merge-base", "--is-ancestor", commit, tip])
            .await
    }

    /// Merges `story_branch` onto the integration branch's tip as a merge commit with
    /// `message`, the integration branch left where it is; that tip, and how it went.
    ///
    /// # Errors
    ///
    /// A [`GitError`] when git cannot be started, or exits with an error.
    pub async fn merge(
        &self,
        story_branch: &str,
        message: &str,
    ) -> Result<(String, Merge), GitError> {
        let git = &self.repo.git;
        // One process for the tip and its files, the story's commit and its files.
        let ids = git
            .run([
                "rev-parse",
                &format!("refs/heads/{}^{{commit}}", self.branch),
                &format!("refs/heads/{}^{{tree}}", self.branch),
                &format!("refs/heads/{story_branch}^{{commit}}"),
                &format!("refs/heads/{story_branch}^{{tree}}"),
            ])
            .await?;
        let ids: Vec<&str> = ids.lines().collect();
        let [tip, tip_tree, head, story] = ids[..] else {
            return Err(GitError::NoBranch(self.branch.clone()));
        };
        let tip = tip.to_string();
        let out = git
            .output_of(
                &["merge-tree", "--write-tree", "--name-only", &tip, head],
                &[],
            )
            .await?;
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let tree = lines.next().unwrap_or_default().to_string();
        match out.status.code() {
            // The merge brings nothing the branch lacks: the story is in it already (a
            // run that crashed had merged it).
            Some(0) if tree == tip_tree => return Ok((tip, Merge::AlreadyIn)),
            Some(0) => {}
            Some(1) => {
                // The files in conflict, a blank line, then git's messages.
                let files: Vec<String> = lines
                    .by_ref()
                    .take_while(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect();
                let said = lines.collect::<Vec<_>>().join("\n");
                return Ok((tip, Merge::Conflict { files, said }));
            }
            _ => {
                let err = String::from_utf8_lossy(&out.stderr);
                let said = crate::runtime::verdict::last_lines(&err, 8);
                return Err(
                    if said.contains("--write-tree") || said.contains("usage:") {
                        GitError::TooOld
                    } else {
                        GitError::Failed {
                            command: "merge-tree".into(),
                            said,
                        }
                    },
                );
            }
        }
        let args: Vec<std::ffi::OsString> =
            ["commit-tree", &tree, "-p", &tip, "-p", head, "-m", message]
                .iter()
                .map(Into::into)
                .collect();
        let commit = git.run_with(&args, &self.repo.identity).await?;
        let merge = Merge::Clean {
            commit,
            as_approved: tree == story,
            tree,
        };
        Ok((tip, merge))
    }

    /// Moves the integration branch from `from` to `to` (a merge onto `from`).
    ///
    /// # Errors
    ///
    /// A [`GitError`] when git cannot be started, or exits with an error.
    pub async fn advance(&self, from: &str, to: &str, story: &str) -> Result<Advanced, GitError> {
        match self.repo.checked_out_at(&self.branch).await? {
            Some((_, head)) if head != from => Ok(Advanced::Moved),
            Some((dir, _)) => {
                // No autostash (a user's `merge.autoStash`): an edit of theirs in the way
                // stops the lane, it is never stashed and popped into a conflict.
                Git::at(&dir)
                    .run(["merge", "--ff-only", "--no-autostash", "-q", to])
                    .await
                    .map_err(|e| GitError::CheckoutInTheWay {
                        branch: self.branch.clone(),
                        dir: dir.clone(),
                        said: match e {
                            GitError::Failed { said, .. } => said,
                            other => other.to_string(),
                        },
                    })?;
                Ok(Advanced::Done)
            }
            None => {
                // Moved only if it is still at `from`.
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
                match moved {
                    Ok(_) => Ok(Advanced::Done),
                    Err(_) if self.tip().await? != from => Ok(Advanced::Moved),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// The subjects of the stories merged into the integration branch after `from`, oldest
    /// first.
    ///
    /// # Errors
    ///
    /// A [`GitError`] when git cannot be started, or exits with an error.
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
