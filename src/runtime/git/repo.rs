//! The repository a workspace is in: its top, its common git directory, where the
//! workspace sits in it, the identity commits are made with, and its branches.

use super::command::{Git, GitError};
use std::path::{Path, PathBuf};

/// A git repository holding the workspace.
#[derive(Debug, Clone)]
pub struct Repo {
    /// git at the top of the working tree the workspace is in.
    pub git: Git,
    /// The top of that working tree.
    pub top: PathBuf,
    /// The workspace, relative to `top` (empty when the workspace is the top).
    pub sub: PathBuf,
    /// Environment for commands that make commits: a `bmad` identity when git has none
    /// configured (a clean CI machine), nothing otherwise.
    pub identity: Vec<(&'static str, &'static str)>,
}

/// The identity bmad commits with when git has none.
const BMAD_IDENTITY: [(&str, &str); 4] = [
    ("GIT_AUTHOR_NAME", "bmad"),
    ("GIT_AUTHOR_EMAIL", "bmad@localhost"),
    ("GIT_COMMITTER_NAME", "bmad"),
    ("GIT_COMMITTER_EMAIL", "bmad@localhost"),
];

impl Repo {
    /// The repository `workspace` is in; `None` when it is in none, or when the repository
    /// ignores it (a scratch directory inside some project is not that project's work).
    ///
    /// # Errors
    ///
    /// A [`GitError`] when git cannot be started, or exits with an error.
    pub async fn find(workspace: &Path) -> Result<Option<Repo>, GitError> {
        let here = Git::at(workspace);
        if !here.test(["rev-parse", "--show-toplevel"]).await? {
            return Ok(None);
        }
        let top = PathBuf::from(here.run(["rev-parse", "--show-toplevel"]).await?);
        if top.as_os_str().is_empty() {
            return Ok(None);
        }
        let top = top.canonicalize().unwrap_or(top);
        let workspace = workspace
            .canonicalize()
            .unwrap_or_else(|_| workspace.to_path_buf());
        let sub = workspace
            .strip_prefix(&top)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let git = Git::at(&top);
        if !sub.as_os_str().is_empty()
            && git
                .test([
                    std::ffi::OsStr::new("check-ignore"),
                    std::ffi::OsStr::new("-q"),
                    sub.as_os_str(),
                ])
                .await?
        {
            return Ok(None);
        }
        let mut identity = Vec::new();
        for var in ["GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT"] {
            if !git.test(["var", var]).await? {
                identity = BMAD_IDENTITY.to_vec();
            }
        }
        Ok(Some(Repo {
            git,
            top,
            sub,
            identity,
        }))
    }

    /// The branch checked out at the top; `None` when `HEAD` is detached.
    ///
    /// # Errors
    ///
    /// A [`GitError`] when git cannot be started, or exits with an error.
    pub async fn current_branch(&self) -> Result<Option<String>, GitError> {
        if !self
            .git
            .test(["symbolic-ref", "--quiet", "--short", "HEAD"])
            .await?
        {
            return Ok(None);
        }
        Ok(Some(
            self.git
                .run(["symbolic-ref", "--quiet", "--short", "HEAD"])
                .await?,
        ))
    }

    /// The commit a branch points at.
    ///
    /// # Errors
    ///
    /// A [`GitError`] when git cannot be started, or exits with an error.
    pub async fn tip(&self, branch: &str) -> Result<String, GitError> {
        self.git
            .run([
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("refs/heads/{branch}^{{commit}}"),
            ])
            .await
            .map_err(|_| GitError::NoBranch(branch.to_string()))
    }

    /// The integration branch stories start from and merge into: `base`, or the branch
    /// checked out at the top. It must exist and have a commit.
    ///
    /// # Errors
    ///
    /// A [`GitError`] when git cannot be started, or exits with an error.
    pub async fn integration(&self, base: Option<&str>) -> Result<String, GitError> {
        if !self
            .git
            .test(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])
            .await?
            && base.is_none()
        {
            return Err(GitError::NoCommit(self.top.clone()));
        }
        let branch = match base {
            Some(b) => b.to_string(),
            None => self.current_branch().await?.ok_or(GitError::Detached)?,
        };
        if !super::command::valid_branch(&branch) {
            return Err(GitError::NoBranch(branch));
        }
        self.tip(&branch).await?;
        Ok(branch)
    }

    /// The working tree where `branch` is checked out, if one is (the user's checkout when
    /// the integration branch is the branch they are on), and the commit it is at there.
    ///
    /// # Errors
    ///
    /// A [`GitError`] when git cannot be started, or exits with an error.
    pub async fn checked_out_at(
        &self,
        branch: &str,
    ) -> Result<Option<(PathBuf, String)>, GitError> {
        let list = self
            .git
            .run(["worktree", "list", "--porcelain", "-z"])
            .await?;
        let want = format!("branch refs/heads/{branch}");
        let (mut path, mut head) = (None, String::new());
        for field in super::command::nul_split(&list) {
            if let Some(p) = field.strip_prefix("worktree ") {
                path = Some(PathBuf::from(p));
            } else if let Some(h) = field.strip_prefix("HEAD ") {
                head = h.to_string();
            } else if field == want {
                return Ok(path.map(|p| (p, head)));
            }
        }
        Ok(None)
    }
}
