//! Story work through a git remote, the worker's side: a clone of each remote kept in
//! the worker's cache directory (cloned once, bare; fetched for each task), and for each
//! task a worktree of its own, detached at the commit the coordinator sent. After the
//! task, everything it changed is committed (`git add -A`: what `.gitignore` ignores is
//! left out, as in a local run) and force-pushed as the story's branch; the worktree goes.
//! A task tried again (its worker killed) starts in a new worktree at the same commit, so
//! nothing of the lost try is built on; its force-push replaces what the lost try may
//! have pushed. One worker process per cache directory: a worker starting removes the
//! task worktrees a killed one left there.

use super::command::{Git, GitError};
use super::remote::GitWork;
use super::worktree::{Tree, dir_name};
use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The clones of a worker's cache directory.
#[derive(Debug)]
pub struct Clones {
    home: PathBuf,
    /// One lock per clone: cloning, fetching and adding worktrees one at a time.
    locks: Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>,
    /// The clones whose leftovers this process removed.
    swept: Mutex<HashSet<PathBuf>>,
}

/// A task's worktree in a clone.
#[derive(Debug)]
pub struct TaskTree {
    /// The worktree, as the task's agent sees it (`BMAD_WORKTREE`, `BMAD_WORKSPACE`).
    pub tree: Tree,
    clone: PathBuf,
    work: GitWork,
}

/// The directory of the task worktrees in a clone.
const TREES: &str = "bmad-tasks";

impl Clones {
    /// The clones kept under `home` (made when first needed).
    pub fn new(home: PathBuf) -> Clones {
        Clones {
            home,
            locks: Mutex::new(HashMap::new()),
            swept: Mutex::new(HashSet::new()),
        }
    }

    /// The cache directory.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The clone of `remote` (a name of its URL's hash).
    fn clone_of(&self, remote: &str) -> PathBuf {
        let hash = crate::runtime::digest::sha256_bytes(remote.as_bytes());
        self.home.join("repos").join(format!("{}.git", &hash[..16]))
    }

    fn lock_of(&self, clone: &Path) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .locks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(locks.entry(clone.to_path_buf()).or_default())
    }

    /// A new worktree for the task of `story` at `work`'s base: the remote cloned (once)
    /// and fetched.
    ///
    /// # Errors
    ///
    /// A [`GitError`] when git fails, the remote cannot be reached, or the base is not in
    /// it.
    pub async fn checkout(&self, work: &GitWork, story: &str) -> Result<TaskTree, GitError> {
        let clone = self.clone_of(&work.remote);
        let lock = self.lock_of(&clone);
        let _one = lock.lock().await;
        let io = |what: String| move |source| GitError::Io { what, source };
        if !clone.join("HEAD").is_file() {
            let repos = self.home.join("repos");
            std::fs::create_dir_all(&repos).map_err(io(format!("make `{}`", repos.display())))?;
            // Cloned beside and renamed: a worker killed mid-clone leaves no half clone.
            let part = tempfile::Builder::new()
                .prefix(".cloning-")
                .tempdir_in(&repos)
                .map_err(io(format!("make a directory in `{}`", repos.display())))?;
            let into = part.path().join("repo.git");
            Git::at(&repos)
                .run([
                    OsStr::new("clone"),
                    OsStr::new("--quiet"),
                    OsStr::new("--bare"),
                    OsStr::new(&work.remote),
                    into.as_os_str(),
                ])
                .await?;
            std::fs::rename(&into, &clone).map_err(io(format!("make `{}`", clone.display())))?;
        }
        let git = Git::at(&clone);
        let trees = clone.join(TREES);
        let first = self
            .swept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(clone.clone());
        if first {
            // What a killed worker left: its task worktrees and the locks of a git it was
            // running are no one's now.
            if trees.exists() {
                std::fs::remove_dir_all(&trees)
                    .map_err(io(format!("remove `{}`", trees.display())))?;
            }
            remove_locks(&clone);
            git.run(["worktree", "prune"]).await?;
        }
        git.fetch_ref(
            &work.remote,
            &format!("+{}:{}", work.base_ref, work.base_ref),
        )
        .await?;
        if !git
            .test(["cat-file", "-e", &format!("{}^{{commit}}", work.base)])
            .await?
        {
            return Err(GitError::BaseMissing {
                commit: work.base.clone(),
                remote: work.remote.clone(),
                at: work.base_ref.clone(),
            });
        }
        std::fs::create_dir_all(&trees).map_err(io(format!("make `{}`", trees.display())))?;
        let root = tempfile::Builder::new()
            .prefix(&format!("{}-", dir_name(story)))
            .tempdir_in(&trees)
            .map_err(io(format!("make a directory in `{}`", trees.display())))?
            .keep();
        git.run([
            OsStr::new("worktree"),
            OsStr::new("add"),
            OsStr::new("--quiet"),
            OsStr::new("--detach"),
            OsStr::new("-f"),
            root.as_os_str(),
            OsStr::new(&work.base),
        ])
        .await?;
        let dir = root.join(&work.sub);
        std::fs::create_dir_all(&dir).map_err(io(format!("make `{}`", dir.display())))?;
        Ok(TaskTree {
            tree: Tree {
                root,
                dir,
                branch: work.branch.clone().unwrap_or_else(|| work.base.clone()),
            },
            clone,
            work: work.clone(),
        })
    }
}

impl TaskTree {
    /// Commits everything the task changed and force-pushes it as the story's branch; the
    /// commit pushed (`None` for a task on a merge being verified, which pushes nothing).
    /// The worktree goes, whatever happened.
    ///
    /// # Errors
    ///
    /// A [`GitError`] when git fails or cannot reach the remote.
    pub async fn finish(self) -> Result<Option<String>, GitError> {
        let pushed = match &self.work.branch {
            Some(branch) => self.push(branch).await,
            None => Ok(None),
        };
        self.remove().await;
        pushed
    }

    async fn push(&self, branch: &str) -> Result<Option<String>, GitError> {
        let git = Git::at(&self.tree.root);
        super::remote::commit_everything(&git, &self.tree.root, &self.work.message).await?;
        let head = git.run(["rev-parse", "HEAD"]).await?;
        git.run([
            "push",
            "--quiet",
            "--force",
            &self.work.remote,
            &format!("{head}:refs/heads/{branch}"),
        ])
        .await?;
        Ok(Some(head))
    }

    /// Removes the worktree (a failure leaves it to the next worker start's sweep).
    async fn remove(&self) {
        let _ = Git::at(&self.clone)
            .run([
                OsStr::new("worktree"),
                OsStr::new("remove"),
                OsStr::new("--force"),
                OsStr::new("--force"),
                self.tree.root.as_os_str(),
            ])
            .await;
        if self.tree.root.exists() {
            let _ = std::fs::remove_dir_all(&self.tree.root);
        }
    }
}

/// Removes the lock files a git killed mid-command left in `clone` (its own files and its
/// refs').
fn remove_locks(clone: &Path) {
    let mut dirs = vec![clone.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && (dir != clone || e.file_name() == "refs") {
                dirs.push(path);
            } else if !is_dir && path.extension().is_some_and(|x| x == "lock") {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    #[tokio::test]
    async fn a_task_works_in_a_clean_worktree_of_its_base_and_pushes_the_story_branch() {
        let dir = tempfile::tempdir().unwrap();
        let bare = dir.path().join("bare.git");
        git(
            dir.path(),
            &["init", "-q", "--bare", bare.to_str().unwrap()],
        );
        let seed = dir.path().join("seed");
        std::fs::create_dir_all(&seed).unwrap();
        std::fs::write(seed.join("README"), "x\n").unwrap();
        git(&seed, &["init", "-q"]);
        git(&seed, &["add", "-A"]);
        git(&seed, &["commit", "-q", "-m", "first"]);
        let first = git(&seed, &["rev-parse", "HEAD"]);
        let remote = bare.display().to_string();
        git(&seed, &["push", "-q", &remote, "HEAD:refs/bmad/base/s1"]);
        let work = GitWork {
            remote: remote.clone(),
            base: first.clone(),
            base_ref: "refs/bmad/base/s1".into(),
            branch: Some("bmad/story-s1".into()),
            sub: String::new(),
            message: "Story s1: dev: implement\n".into(),
        };
        let clones = Clones::new(dir.path().join("cache"));
        // A try whose worker was lost leaves a file; the next try does not see it.
        let lost = clones.checkout(&work, "s1").await.unwrap();
        std::fs::write(lost.tree.dir.join("half.txt"), "half").unwrap();
        let again = clones.checkout(&work, "s1").await.unwrap();
        assert!(!again.tree.dir.join("half.txt").exists());
        std::fs::write(again.tree.dir.join("done.txt"), "done").unwrap();
        let pushed = again.finish().await.unwrap().unwrap();
        assert_eq!(
            git(&bare, &["rev-parse", "refs/heads/bmad/story-s1"]),
            pushed
        );
        let files = git(&bare, &["ls-tree", "--name-only", &pushed]);
        assert_eq!(files, "README\ndone.txt");
        // A worker starting on this cache sweeps what the lost try left.
        let clone = clones.clone_of(&remote);
        std::fs::write(clone.join("refs/heads/x.lock"), "").unwrap();
        let restarted = Clones::new(dir.path().join("cache"));
        let t = restarted.checkout(&work, "s1").await.unwrap();
        assert!(!lost.tree.root.exists());
        assert!(!clone.join("refs/heads/x.lock").exists());
        assert_eq!(t.finish().await.unwrap(), Some(first));
    }
}
