//! Story worktrees: each story works in a git worktree of its own, on its branch
//! `bmad/story-<id>`, under `<workspace>/.bmad/worktrees/<run>/`. A worktree whose story
//! merged is handed to the next story that starts (moved to its name and switched to its
//! branch: that touches only the files that differ, where a new checkout of a large
//! repository writes every file). The merge lane verifies a merge in the story's own
//! worktree, detached at the merge. When the stories are over, every worktree goes except
//! those of blocked stories, which are kept for a person to look at.

use super::command::{Git, GitError};
use super::repo::Repo;
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The prefix of story branches: story `3.6.15` is committed on `bmad/story-3.6.15`.
pub const BRANCH_PREFIX: &str = "bmad/story-";

/// The directory, under the workspace, that holds a run's worktrees.
pub const WORKTREES_DIR: &str = ".bmad/worktrees";

/// A worktree a story (or the lane) works in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    /// The worktree's top (`BMAD_WORKTREE`).
    pub root: PathBuf,
    /// The workspace's copy inside it: where agents work and artifacts are written.
    pub dir: PathBuf,
    /// The story's branch.
    pub branch: String,
}

/// The worktrees of one run.
#[derive(Debug)]
pub struct Trees {
    repo: Repo,
    home: PathBuf,
    /// Worktrees whose story merged, free for the next story.
    free: Mutex<Vec<PathBuf>>,
    /// Serialises adding, moving and removing worktrees.
    admin: tokio::sync::Mutex<()>,
}

/// The directory name of a story's worktree: its id where it is a plain name, otherwise
/// the id made plain with a hash of it (two ids never share a directory).
pub fn dir_name(story: &str) -> String {
    let plain: String = story
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if plain == story && !story.starts_with('.') && !story.is_empty() {
        plain
    } else {
        let hash = crate::runtime::digest::sha256_bytes(story.as_bytes());
        format!("{plain}-{}", &hash[..8])
    }
}

/// The branch of a story.
pub fn branch_of(story: &str) -> String {
    format!("{BRANCH_PREFIX}{story}")
}

impl Trees {
    /// The worktrees of the for-each at `place` (its step's place) of run `run` in `repo`,
    /// under `workspace`.
    ///
    /// # Errors
    ///
    /// A [`GitError`] when git cannot be started, or exits with an error.
    pub async fn open(
        repo: Repo,
        workspace: &Path,
        run: &str,
        place: &str,
    ) -> Result<Trees, GitError> {
        let bmad = workspace.join(".bmad");
        let home = workspace
            .join(WORKTREES_DIR)
            .join(run)
            .join(dir_name(place));
        // Made without following a link out of the workspace.
        crate::runtime::confined::create_dir_all(workspace, &home).map_err(|e| GitError::Io {
            what: format!("make `{}`", home.display()),
            source: std::io::Error::other(e),
        })?;
        // The worktrees are no part of the project.
        crate::state::keep_out_of_git(&bmad).map_err(|source| GitError::Io {
            what: format!("write `{}`", bmad.join(".gitignore").display()),
            source,
        })?;
        let home = home.canonicalize().unwrap_or(home);
        // A run that was killed may have left git finishing a checkout or a merge here.
        super::command::wait_for_leftovers(&repo.top).await;
        Ok(Trees {
            repo,
            home,
            free: Mutex::new(Vec::new()),
            admin: tokio::sync::Mutex::new(()),
        })
    }

    /// The directory of the run's worktrees.
    pub fn home(&self) -> &Path {
        &self.home
    }

    fn tree_at(&self, root: PathBuf, branch: String) -> Tree {
        Tree {
            dir: root.join(&self.repo.sub),
            root,
            branch,
        }
    }

    /// The worktree of `story` (whether or not it exists).
    pub fn of(&self, story: &str) -> Tree {
        self.tree_at(self.home.join(dir_name(story)), branch_of(story))
    }

    /// Whether `root` is a worktree (it has git's `.git` file).
    fn exists(root: &Path) -> bool {
        root.join(".git").is_file()
    }

    /// The worktree of `story` on its branch at `tip`: the one it has (a resumed run), a
    /// free one moved to it, or a new one. A branch of that name with commits `tip` lacks
    /// (left by another run) is renamed aside, never overwritten; its new name is returned.
    ///
    /// # Errors
    ///
    /// A [`GitError`] when git cannot be started, or exits with an error.
    pub async fn start(&self, story: &str, tip: &str) -> Result<(Tree, Option<String>), GitError> {
        let tree = self.of(story);
        let branch = branch_of(story);
        if !super::command::valid_branch(&branch) {
            return Err(GitError::BadBranch(story.into(), branch));
        }
        if Self::exists(&tree.root) {
            // A resumed run's own worktree; or one a crash left halfway through being handed
            // over from a merged story, still on that story's branch.
            let git = Git::at(&tree.root);
            let on = git
                .run(["symbolic-ref", "-q", "HEAD"])
                .await
                .unwrap_or_default();
            if on != format!("refs/heads/{branch}") {
                switch(&git, &branch, tip).await?;
            }
            return Ok((tree, None));
        }
        let aside = self.set_aside(&branch, tip).await?;
        let _admin = self.admin.lock().await;
        remove_leftover(&tree.root)?;
        let free = self.free.lock().ok().and_then(|mut f| f.pop());
        match free {
            Some(old) if Self::exists(&old) => {
                self.repo
                    .git
                    .run([
                        os("worktree"),
                        os("move"),
                        old.as_os_str(),
                        tree.root.as_os_str(),
                    ])
                    .await?;
                switch(&Git::at(&tree.root), &branch, tip).await?;
            }
            _ => {
                self.repo
                    .git
                    .run([
                        os("worktree"),
                        os("add"),
                        os("-q"),
                        os("-f"),
                        os("-B"),
                        os(&branch),
                        tree.root.as_os_str(),
                        os(tip),
                    ])
                    .await?;
            }
        }
        Ok((tree, aside))
    }

    /// Renames `branch` aside when it has commits `tip` lacks, or is checked out in
    /// another worktree (one kept for a blocked story); its new name. Nothing is
    /// overwritten: the new name is one that does not exist yet.
    async fn set_aside(&self, branch: &str, tip: &str) -> Result<Option<String>, GitError> {
        let git = &self.repo.git;
        let Ok(old) = git
            .run([
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("refs/heads/{branch}"),
            ])
            .await
        else {
            return Ok(None);
        };
        if git.test(["merge-base", "--is-ancestor", &old, tip]).await?
            && self.repo.checked_out_at(branch).await?.is_none()
        {
            return Ok(None);
        }
        let stem = format!("{branch}.before-{}", &old[..old.len().min(8)]);
        let mut aside = stem.clone();
        for n in 2.. {
            if !git
                .test([
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    &format!("refs/heads/{aside}"),
                ])
                .await?
            {
                break;
            }
            aside = format!("{stem}-{n}");
        }
        git.run(["branch", "-m", branch, &aside]).await?;
        Ok(Some(aside))
    }

    /// Starts `tree`'s story again from `tip`: its branch reset there, its files with it
    /// (what the attempt changed is dropped; its commit stays in the branch's reflog).
    ///
    /// # Errors
    ///
    /// A [`GitError`] when git cannot be started, or exits with an error.
    pub async fn restart(&self, tree: &Tree, tip: &str) -> Result<(), GitError> {
        switch(&Git::at(&tree.root), &tree.branch, tip).await
    }

    /// Puts `tree` back on its branch as its last commit left it (after the lane detached
    /// it at a merge its verdicts rejected).
    ///
    /// # Errors
    ///
    /// A [`GitError`] when git cannot be started, or exits with an error.
    pub async fn reattach(&self, tree: &Tree) -> Result<(), GitError> {
        Git::at(&tree.root)
            .run(["checkout", "-q", "-f", &tree.branch])
            .await
            .map(|_| ())
    }

    /// Hands `tree` to the next story that starts (its story merged).
    pub fn release(&self, tree: &Tree) {
        if Self::exists(&tree.root)
            && let Ok(mut free) = self.free.lock()
            && !free.contains(&tree.root)
        {
            free.push(tree.root.clone());
        }
    }

    /// Detaches `tree` at `commit` (the lane's merge of its story, to verify), dropping
    /// what the tree changed since its last commit; its branch stays where it is.
    ///
    /// # Errors
    ///
    /// A [`GitError`] when git cannot be started, or exits with an error.
    pub async fn detach(&self, tree: &Tree, commit: &str) -> Result<(), GitError> {
        Git::at(&tree.root)
            .run(["checkout", "-q", "-f", "--detach", commit])
            .await
            .map(|_| ())
    }

    /// Removes every worktree of the for-each except those of `keep` (blocked stories):
    /// those git knows (also when a crash took their directory) and directories a crash
    /// left half made; then the run's directories when nothing is left in them.
    ///
    /// # Errors
    ///
    /// A [`GitError`] when git cannot be started, or exits with an error.
    pub async fn finish(&self, keep: &BTreeSet<PathBuf>) -> Result<(), GitError> {
        let _admin = self.admin.lock().await;
        let list = self
            .repo
            .git
            .run(["worktree", "list", "--porcelain", "-z"])
            .await?;
        let mut ours: BTreeSet<PathBuf> = super::command::nul_split(&list)
            .filter_map(|f| f.strip_prefix("worktree "))
            .map(PathBuf::from)
            .filter(|p| p.starts_with(&self.home))
            .collect();
        if let Ok(entries) = std::fs::read_dir(&self.home) {
            ours.extend(entries.flatten().map(|e| e.path()));
        }
        for path in ours.iter().filter(|p| !keep.contains(*p)) {
            if Self::exists(path) || path.symlink_metadata().is_err() {
                self.repo
                    .git
                    .run([
                        os("worktree"),
                        os("remove"),
                        os("--force"),
                        os("--force"),
                        path.as_os_str(),
                    ])
                    .await?;
            }
            if path.symlink_metadata().is_ok() {
                std::fs::remove_dir_all(path).map_err(|e| GitError::Io {
                    what: format!("remove `{}`", path.display()),
                    source: e,
                })?;
            }
        }
        if let Ok(mut free) = self.free.lock() {
            free.clear();
        }
        // Empty now (no story blocked): the run leaves nothing behind.
        for dir in self.home.ancestors().take(3) {
            if std::fs::remove_dir(dir).is_err() {
                break;
            }
        }
        Ok(())
    }
}

/// Removes what a crash left at `root` while it was being made a worktree.
fn remove_leftover(root: &Path) -> Result<(), GitError> {
    if root.symlink_metadata().is_ok() {
        std::fs::remove_dir_all(root).map_err(|e| GitError::Io {
            what: format!("remove the half-made worktree `{}`", root.display()),
            source: e,
        })?;
    }
    Ok(())
}

/// A string as a command argument.
fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// Checks out `branch` reset to `tip` in the worktree of `git`, with no other file left.
async fn switch(git: &Git, branch: &str, tip: &str) -> Result<(), GitError> {
    git.run(["checkout", "-q", "-f", "-B", branch, tip]).await?;
    git.run(["clean", "-q", "-ffdx"]).await?;
    Ok(())
}
