//! The `git` backend: real git in the workspace's repository. `create_pr` commits a story's
//! changes onto its own branch `bmad/story-<id>` without touching the user's checkout, then
//! runs the configured `pr` command (push, open a hosted PR); `merge_to_main` merges the
//! branches this run made into the base branch.
//!
//! A story's commit is built in a temporary index (`GIT_INDEX_FILE`) seeded from the base
//! commit, so the user's index, `HEAD` and working tree stay as they are and several stories
//! can commit at the same time. Every git command runs as `git -C <dir>` with its output
//! captured; a failure carries the tail of what git said.

use super::backend::{AgentBackend, Invocation, Outcome};
use super::exec::{shell_quote, tail};
use super::process::{Ended, run_group};
use crate::script::host::confine;
use crate::syntax::ast::Story;
use futures::future::BoxFuture;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::process::Command;

/// The tasks the git backend performs.
pub const GIT_TASKS: &[&str] = &["create_pr", "merge_to_main"];

/// The prefix of story branches: story `3.6.15` is committed on `bmad/story-3.6.15`.
pub const BRANCH_PREFIX: &str = "bmad/story-";

/// What a story declares about its changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoryChanges {
    /// Its title (the commit's subject and `{title}`).
    pub title: String,
    /// The files it creates and modifies, as written (`/server/src/x.ts`), inside the
    /// workspace.
    pub paths: Vec<String>,
    /// Its acceptance criteria (the commit's body).
    pub accept: Vec<String>,
}

/// What the git agents of one run share: each story's declared files and the branches
/// committed so far (the ones `merge_to_main` merges).
#[derive(Debug, Default)]
pub struct GitRun {
    stories: HashMap<String, StoryChanges>,
    branches: Mutex<Vec<String>>,
}

impl GitRun {
    /// The shared state of a run over these stories.
    pub fn new<'s>(stories: impl IntoIterator<Item = &'s Story>) -> GitRun {
        let stories = stories
            .into_iter()
            .map(|s| {
                let mut paths: Vec<String> =
                    s.create.iter().map(|c| c.path.value.to_string()).collect();
                paths.extend(s.modify.iter().map(|m| m.path.value.to_string()));
                let changes = StoryChanges {
                    title: s
                        .title
                        .as_ref()
                        .map_or(String::new(), |t| t.value.to_string()),
                    paths,
                    accept: s.accept.iter().map(|a| a.value.to_string()).collect(),
                };
                (s.id.name.to_string(), changes)
            })
            .collect();
        GitRun {
            stories,
            branches: Mutex::new(Vec::new()),
        }
    }

    /// The shared state of a run over stories given directly (for hosts and tests).
    pub fn with_stories(stories: HashMap<String, StoryChanges>) -> GitRun {
        GitRun {
            stories,
            branches: Mutex::new(Vec::new()),
        }
    }

    /// The story branches committed in this run and not merged yet, oldest first.
    pub fn branches(&self) -> Vec<String> {
        self.branches.lock().map(|b| b.clone()).unwrap_or_default()
    }

    fn remember(&self, branch: &str) {
        if let Ok(mut b) = self.branches.lock()
            && !b.iter().any(|x| x == branch)
        {
            b.push(branch.to_string());
        }
    }

    fn forget(&self, merged: &[String]) {
        if let Ok(mut b) = self.branches.lock() {
            b.retain(|x| !merged.contains(x));
        }
    }
}

/// An agent that is real git in the workspace's repository.
#[derive(Debug, Clone)]
pub struct GitBackend {
    /// The workspace root: inside a git repository's working tree.
    pub workspace: PathBuf,
    /// The command template run after a story's branch is committed: `{branch}`, `{base}`,
    /// `{story}` and `{title}` are replaced (shell-quoted).
    pub pr: Option<String>,
    /// The branch stories start from and merge into; the checked-out branch when absent.
    pub base: Option<String>,
    /// What the run's git agents share.
    pub run: Arc<GitRun>,
}

/// A story's commit.
#[derive(Debug, Clone, PartialEq)]
pub struct Committed {
    /// The branch, `bmad/story-<id>`.
    pub branch: String,
    /// The commit's id.
    pub commit: String,
    /// The base it starts from, as given to `{base}`: a branch name, or a commit id when
    /// `HEAD` is detached.
    pub base: String,
    /// The files committed, relative to the workspace.
    pub files: Vec<String>,
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

/// A git command in `dir`, its output captured, its environment cleaned of variables that
/// would point it at another repository.
fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir);
    for var in GIT_LOCATION_VARS {
        cmd.env_remove(var);
    }
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// What a failed command said: the tails of its output and its standard error.
fn said(out: &std::process::Output) -> String {
    let (err, out) = (tail(&out.stderr), tail(&out.stdout));
    match (err.is_empty(), out.is_empty()) {
        (false, false) => format!("{out}\n{err}"),
        (false, true) => err,
        (true, false) => out,
        (true, true) => "no output".into(),
    }
}

/// Runs a git command; its standard output, trimmed, or what git said when it failed.
async fn run(mut cmd: Command) -> Result<String, String> {
    let what = {
        let args: Vec<String> = cmd
            .as_std()
            .get_args()
            .skip(2)
            .take(1)
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        format!("git {}", args.join(" "))
    };
    let out = cmd.output().await.map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            "cannot run git: it is not installed (or not on PATH)".into()
        }
        _ => format!("cannot run `{what}`: {e}"),
    })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    } else {
        Err(format!("`{what}` failed: {}", said(&out)))
    }
}

/// Removes a temporary index (and a lock git may have left) when dropped.
struct TempIndex(PathBuf);

impl TempIndex {
    fn new() -> TempIndex {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        TempIndex(std::env::temp_dir().join(format!("bmad-git-index-{}-{n}", std::process::id())))
    }
}

impl Drop for TempIndex {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let mut lock = self.0.clone().into_os_string();
        lock.push(".lock");
        let _ = std::fs::remove_file(lock);
    }
}

/// Splits NUL-separated git output.
fn nul_split(text: &str) -> impl Iterator<Item = &str> {
    text.split('\0').filter(|s| !s.is_empty())
}

impl GitBackend {
    /// A git agent working in `workspace`.
    pub fn new(
        workspace: PathBuf,
        pr: Option<String>,
        base: Option<String>,
        run: Arc<GitRun>,
    ) -> GitBackend {
        GitBackend {
            workspace,
            pr,
            base,
            run,
        }
    }

    fn git(&self) -> Command {
        git(&self.workspace)
    }

    /// The top of the working tree the workspace is in; a clear error when it is in none.
    async fn toplevel(&self) -> Result<PathBuf, String> {
        let mut cmd = self.git();
        // git's own words are matched below: not translated.
        cmd.env("LC_ALL", "C")
            .env_remove("LANGUAGE")
            .args(["rev-parse", "--show-toplevel"]);
        match run(cmd).await {
            Ok(top) if !top.is_empty() => Ok(PathBuf::from(top)),
            Ok(_) => Err(format!(
                "the workspace `{}` is not in a git working tree (a bare repository?)",
                self.workspace.display()
            )),
            Err(e) if e.contains("not a git repository") => Err(format!(
                "the workspace `{}` is not a git repository (run `git init` there and make a \
                 first commit, or choose another backend for this agent)",
                self.workspace.display()
            )),
            Err(e) => Err(e),
        }
    }

    /// The base commit and its name for `{base}`: the `base` option, or `HEAD` (its branch
    /// name, or the commit id when detached).
    async fn base_commit(&self) -> Result<(String, String), String> {
        let spec = self.base.clone().unwrap_or_else(|| "HEAD".into());
        if spec.starts_with('-') {
            return Err(format!("the base `{spec}` is not a branch or commit"));
        }
        let mut cmd = self.git();
        cmd.args(["rev-parse", "--verify", "--quiet"])
            .arg(format!("{spec}^{{commit}}"));
        let commit = match run(cmd).await {
            Ok(c) if !c.is_empty() => c,
            _ if self.base.is_none() => {
                return Err(
                    "the repository has no commit yet: make a first commit, or set `base`".into(),
                );
            }
            _ => return Err(format!("the base `{spec}` is not a branch or commit")),
        };
        let name = match &self.base {
            Some(b) => b.clone(),
            None => match self.current_branch().await? {
                Some(b) => b,
                None => commit.clone(),
            },
        };
        Ok((commit, name))
    }

    /// The branch checked out in the workspace; `None` when `HEAD` is detached.
    async fn current_branch(&self) -> Result<Option<String>, String> {
        let mut cmd = self.git();
        cmd.args(["symbolic-ref", "--quiet", "--short", "HEAD"]);
        let out = cmd
            .output()
            .await
            .map_err(|e| format!("cannot run git: {e}"))?;
        Ok(out
            .status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string()))
    }

    /// Environment for commands that make commits: a `bmad` identity when git has none
    /// configured (a clean CI machine), nothing otherwise.
    async fn identity(&self) -> Vec<(&'static str, &'static str)> {
        for var in ["GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT"] {
            let mut cmd = self.git();
            cmd.args(["var", var]);
            if run(cmd).await.is_err() {
                return vec![
                    ("GIT_AUTHOR_NAME", "bmad"),
                    ("GIT_AUTHOR_EMAIL", "bmad@localhost"),
                    ("GIT_COMMITTER_NAME", "bmad"),
                    ("GIT_COMMITTER_EMAIL", "bmad@localhost"),
                ];
            }
        }
        Vec::new()
    }

    /// The story's files that exist, relative to the workspace: its declared create and
    /// modify paths plus `extra` (the task's `produces`), each confined to the workspace.
    fn story_files(&self, story: &str, extra: &[String]) -> Result<Vec<PathBuf>, String> {
        let declared = self.run.stories.get(story).map(|s| s.paths.as_slice());
        let mut seen = HashSet::new();
        let mut files = Vec::new();
        for path in declared.unwrap_or_default().iter().chain(extra) {
            let full = confine(&self.workspace, path)?;
            if full == self.workspace {
                return Err(format!(
                    "`{path}` is the whole workspace, not a file of the story"
                ));
            }
            if full.symlink_metadata().is_err() {
                continue;
            }
            let rel = full
                .strip_prefix(&self.workspace)
                .map(Path::to_path_buf)
                .unwrap_or(full);
            if seen.insert(rel.clone()) {
                files.push(rel);
            }
        }
        if files.is_empty() {
            let listed = declared
                .unwrap_or_default()
                .iter()
                .chain(extra)
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(if listed.is_empty() {
                format!(
                    "story `{story}` has nothing to commit: it declares no files (`create` or \
                     `modify`)"
                )
            } else {
                format!(
                    "story `{story}` has nothing to commit: none of its files exist in the \
                     workspace ({listed})"
                )
            });
        }
        Ok(files)
    }

    /// Commits the story's files onto `bmad/story-<id>`, a child of the base, without
    /// touching the user's index, `HEAD` or working tree. `extra` are more paths to commit
    /// (the task's `produces`).
    pub async fn commit_story(&self, story: &str, extra: &[String]) -> Result<Committed, String> {
        self.toplevel().await?;
        let branch = format!("{BRANCH_PREFIX}{story}");
        let mut cmd = self.git();
        cmd.args(["check-ref-format", &format!("refs/heads/{branch}")]);
        if run(cmd).await.is_err() {
            return Err(format!(
                "story `{story}` does not make a valid branch name (`{branch}`)"
            ));
        }
        let (base, base_name) = self.base_commit().await?;
        let files = self.story_files(story, extra)?;
        let index = TempIndex::new();
        let with_index = |args: &[&str]| {
            let mut cmd = self.git();
            cmd.env("GIT_INDEX_FILE", &index.0).args(args);
            cmd
        };
        run(with_index(&["read-tree", &base])).await?;
        // Files named by the story are added even when ignored; directories follow
        // .gitignore.
        let (dirs, plain): (Vec<&PathBuf>, Vec<&PathBuf>) =
            files.iter().partition(|f| self.workspace.join(f).is_dir());
        for (group, force) in [(plain, true), (dirs, false)] {
            if group.is_empty() {
                continue;
            }
            let mut cmd = with_index(&["add"]);
            if force {
                cmd.arg("-f");
            }
            cmd.env("GIT_LITERAL_PATHSPECS", "1").arg("--").args(group);
            run(cmd).await?;
        }
        let tree = run(with_index(&["write-tree"])).await?;
        let mut cmd = self.git();
        cmd.args(["rev-parse", &format!("{base}^{{tree}}")]);
        if run(cmd).await? == tree {
            return Err(format!(
                "story `{story}` has nothing to commit: its files are the same as in `{base_name}`"
            ));
        }
        let info = self.run.stories.get(story).cloned().unwrap_or_default();
        let mut message = if info.title.is_empty() {
            format!("Story {story}")
        } else {
            format!("Story {story}: {}", info.title)
        };
        if !info.accept.is_empty() {
            message.push_str("\n\nAcceptance criteria:\n");
            for a in &info.accept {
                message.push_str(&format!("- {a}\n"));
            }
        }
        let mut cmd = self.git();
        cmd.envs(self.identity().await)
            .args(["commit-tree", &tree, "-p", &base, "-m", &message]);
        let commit = run(cmd).await?;
        let mut cmd = self.git();
        cmd.args([
            "update-ref",
            "-m",
            &format!("bmad: create_pr for story {story}"),
            &format!("refs/heads/{branch}"),
            &commit,
        ]);
        run(cmd).await?;
        self.run.remember(&branch);
        Ok(Committed {
            branch,
            commit,
            base: base_name,
            files: files
                .iter()
                .map(|f| f.to_string_lossy().into_owned())
                .collect(),
        })
    }

    /// Runs the `pr` command template for a committed story, in the workspace.
    pub async fn open_pr(&self, template: &str, story: &str, c: &Committed) -> Result<(), String> {
        let title = self
            .run
            .stories
            .get(story)
            .map_or(String::new(), |s| s.title.clone());
        let line = template
            .replace("{branch}", &shell_quote(&c.branch))
            .replace("{base}", &shell_quote(&c.base))
            .replace("{story}", &shell_quote(story))
            .replace("{title}", &shell_quote(&title));
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(&line)
            .current_dir(&self.workspace)
            .env("BMAD_BRANCH", &c.branch)
            .env("BMAD_BASE", &c.base)
            .env("BMAD_STORY", story)
            .env("BMAD_WORKSPACE", &self.workspace);
        let out = match run_group(cmd, None, None).await {
            Ok(Ended::Exited(out)) => out,
            Ok(Ended::TimedOut(t)) => return Err(format!("the pr command timed out after {t:?}")),
            Err(e) => return Err(format!("cannot start the pr command `{template}`: {e}")),
        };
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "the pr command `{template}` exited with {}: {}",
                out.status,
                said(&out)
            ))
        }
    }

    /// `create_pr`: the story's branch, then the `pr` command when one is configured.
    async fn create_pr(&self, inv: &Invocation) -> Result<String, String> {
        let Some(story) = inv.story.as_deref() else {
            return Err(
                "create_pr commits a story's changes: run it inside `for story in stories`".into(),
            );
        };
        let produced: Vec<String> = inv.produces.iter().map(|a| a.written.clone()).collect();
        let c = self.commit_story(story, &produced).await?;
        let short = &c.commit[..c.commit.len().min(12)];
        let done = format!(
            "committed {} onto `{}` ({short})",
            c.files.join(", "),
            c.branch
        );
        if let Some(template) = &self.pr {
            self.open_pr(template, story, &c)
                .await
                .map_err(|e| format!("{done}, but {e}"))?;
        }
        Ok(done)
    }

    /// Merges the story branches committed in this run into the base branch, which must be
    /// checked out in the workspace, one by one with `git merge --no-edit`. The story files
    /// in the working tree that hold exactly what a branch commits are set aside first (the
    /// merge brings them back), so the merge does not refuse to overwrite them. On a
    /// conflict the merge is aborted, those files are put back and the error carries git's
    /// message; branches merged before it stay merged.
    pub async fn merge(&self) -> Result<String, String> {
        let top = self.toplevel().await?;
        let current = self.current_branch().await?;
        let target = match (&self.base, &current) {
            (Some(b), Some(c)) if b == c => b.clone(),
            (Some(b), Some(c)) => {
                return Err(format!(
                    "merge_to_main merges into `{b}`, which must be checked out in the \
                     workspace (`{c}` is)"
                ));
            }
            (Some(b), None) => {
                return Err(format!(
                    "merge_to_main merges into `{b}`, which must be checked out in the \
                     workspace (HEAD is detached)"
                ));
            }
            (None, Some(c)) => c.clone(),
            (None, None) => {
                return Err(
                    "merge_to_main merges into the checked-out branch, but HEAD is detached \
                     (check out a branch or set `base`)"
                        .into(),
                );
            }
        };
        let branches = self.run.branches();
        if branches.is_empty() {
            return Ok(format!("no story branches to merge into `{target}`"));
        }
        let aside = self.set_aside(&top, &branches).await?;
        let identity = self.identity().await;
        let mut merged = Vec::new();
        for b in &branches {
            let mut cmd = self.git();
            cmd.envs(identity.iter().copied())
                .args(["merge", "--no-edit", b]);
            if let Err(e) = run(cmd).await {
                let mut abort = self.git();
                abort.args(["merge", "--abort"]);
                let _ = run(abort).await;
                put_back(&top, &aside);
                self.run.forget(&merged);
                let before = if merged.is_empty() {
                    String::new()
                } else {
                    format!(" (merged before it: {})", merged.join(", "))
                };
                return Err(format!(
                    "merging `{b}` into `{target}` failed{before}; the merge was aborted: {e}"
                ));
            }
            merged.push(b.clone());
        }
        self.run.forget(&merged);
        Ok(format!("merged {} into `{target}`", merged.join(", ")))
    }

    /// Sets aside the working-tree files that hold exactly what one of `branches` commits
    /// for them (paths relative to `top`); returns their contents to put them back.
    async fn set_aside(
        &self,
        top: &Path,
        branches: &[String],
    ) -> Result<Vec<(PathBuf, Vec<u8>)>, String> {
        // Every path a branch changes, and the blob it commits there.
        let mut wanted: HashMap<String, HashSet<String>> = HashMap::new();
        for b in branches {
            let mut cmd = git(top);
            cmd.args(["diff", "--name-only", "-z", "--no-renames"])
                .arg(format!("HEAD...{b}"))
                .arg("--");
            let changed = run(cmd).await?;
            let paths: Vec<&str> = nul_split(&changed).collect();
            if paths.is_empty() {
                continue;
            }
            let mut cmd = git(top);
            cmd.env("GIT_LITERAL_PATHSPECS", "1")
                .args(["ls-tree", "-r", "-z", "--full-tree", b, "--"])
                .args(&paths);
            let listed = run(cmd).await?;
            for entry in nul_split(&listed) {
                // `<mode> blob <id>\t<path>`
                if let Some((meta, path)) = entry.split_once('\t')
                    && let Some(id) = meta.split(' ').nth(2)
                {
                    wanted
                        .entry(path.to_string())
                        .or_default()
                        .insert(id.to_string());
                }
            }
        }
        let files: Vec<&String> = wanted
            .keys()
            .filter(|p| {
                top.join(p)
                    .symlink_metadata()
                    .is_ok_and(|m| m.file_type().is_file())
            })
            .collect();
        if files.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = git(top);
        cmd.args(["hash-object", "--"]).args(&files);
        let hashes = run(cmd).await?;
        let same: Vec<&String> = files
            .iter()
            .zip(hashes.lines())
            .filter(|(p, h)| wanted[p.as_str()].contains(*h))
            .map(|(p, _)| *p)
            .collect();
        if same.is_empty() {
            return Ok(Vec::new());
        }
        // Which of them HEAD has: those go back to HEAD's version, the others away.
        let mut cmd = git(top);
        cmd.env("GIT_LITERAL_PATHSPECS", "1")
            .args([
                "ls-tree",
                "-r",
                "-z",
                "--name-only",
                "--full-tree",
                "HEAD",
                "--",
            ])
            .args(&same);
        let in_head: HashSet<String> = nul_split(&run(cmd).await?).map(str::to_string).collect();
        let mut aside = Vec::new();
        for p in &same {
            let bytes = std::fs::read(top.join(p))
                .map_err(|e| format!("cannot read `{p}` before merging: {e}"))?;
            aside.push((PathBuf::from(p.as_str()), bytes));
        }
        let (tracked, untracked): (Vec<&String>, Vec<&String>) =
            same.iter().partition(|p| in_head.contains(p.as_str()));
        let result = async {
            if !tracked.is_empty() {
                let mut cmd = git(top);
                cmd.env("GIT_LITERAL_PATHSPECS", "1")
                    .args(["checkout", "-q", "HEAD", "--"])
                    .args(&tracked);
                run(cmd).await?;
            }
            if !untracked.is_empty() {
                let mut cmd = git(top);
                cmd.env("GIT_LITERAL_PATHSPECS", "1")
                    .args(["rm", "-q", "--cached", "--ignore-unmatch", "--"])
                    .args(&untracked);
                run(cmd).await?;
                for p in &untracked {
                    std::fs::remove_file(top.join(p))
                        .map_err(|e| format!("cannot set `{p}` aside before merging: {e}"))?;
                }
            }
            Ok::<(), String>(())
        }
        .await;
        if let Err(e) = result {
            put_back(top, &aside);
            return Err(e);
        }
        Ok(aside)
    }
}

/// Writes set-aside files back where they differ from what they held.
fn put_back(top: &Path, aside: &[(PathBuf, Vec<u8>)]) {
    for (path, bytes) in aside {
        let full = top.join(path);
        if std::fs::read(&full).is_ok_and(|now| now == *bytes) {
            continue;
        }
        if let Some(dir) = full.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(&full, bytes);
    }
}

impl AgentBackend for GitBackend {
    fn run(&self, inv: Invocation) -> BoxFuture<'static, Outcome> {
        let me = self.clone();
        Box::pin(async move {
            let unknown: Vec<&str> = inv
                .tasks
                .iter()
                .map(String::as_str)
                .filter(|t| !GIT_TASKS.contains(t))
                .collect();
            if !unknown.is_empty() {
                return Outcome {
                    ok: false,
                    feedback: Some(format!(
                        "agent `{}` is git (`backend git`): it does {} (a story's branch, \
                         then the `pr` command) and {} (the run's story branches into the \
                         base), not {}",
                        inv.agent,
                        GIT_TASKS[0],
                        GIT_TASKS[1],
                        unknown
                            .iter()
                            .map(|t| format!("`{t}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                };
            }
            let mut said = Vec::new();
            for task in &inv.tasks {
                let result = match task.as_str() {
                    "create_pr" => me.create_pr(&inv).await,
                    _ => me.merge().await,
                };
                match result {
                    Ok(s) => said.push(s),
                    Err(e) => {
                        return Outcome {
                            ok: false,
                            feedback: Some(format!("{task}: {e}")),
                        };
                    }
                }
            }
            Outcome {
                ok: true,
                feedback: Some(said.join("; ")),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A git command for the test's own use, with an identity and no user configuration.
    fn sh_git(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Test")
            .env("GIT_AUTHOR_EMAIL", "test@example.com")
            .env("GIT_COMMITTER_NAME", "Test")
            .env("GIT_COMMITTER_EMAIL", "test@example.com")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    /// A repository on `main` with one commit of `README`.
    fn repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        sh_git(dir.path(), &["init", "-q"]);
        sh_git(dir.path(), &["symbolic-ref", "HEAD", "refs/heads/main"]);
        std::fs::write(dir.path().join("README"), "hello\n").unwrap();
        sh_git(dir.path(), &["add", "README"]);
        sh_git(dir.path(), &["commit", "-q", "-m", "first"]);
        dir
    }

    fn backend(ws: &Path, stories: &[(&str, &[&str])]) -> GitBackend {
        let stories = stories
            .iter()
            .map(|(id, paths)| {
                let changes = StoryChanges {
                    title: format!("title of {id}"),
                    paths: paths.iter().map(|p| p.to_string()).collect(),
                    accept: vec!["it works".into()],
                };
                (id.to_string(), changes)
            })
            .collect();
        GitBackend::new(
            ws.to_path_buf(),
            None,
            None,
            Arc::new(GitRun::with_stories(stories)),
        )
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn invocation(tasks: &[&str], story: Option<&str>) -> Invocation {
        Invocation {
            run: None,
            step: String::new(),
            agent: "git_manager".into(),
            tasks: tasks.iter().map(|t| t.to_string()).collect(),
            story: story.map(str::to_string),
            attempt: 1,
            validation: false,
            prompt: String::new(),
            produces: Vec::new(),
        }
    }

    #[test]
    fn stories_commit_side_by_side_without_touching_the_checkout() {
        let ws = repo();
        let first = sh_git(ws.path(), &["rev-parse", "HEAD"]);
        std::fs::create_dir_all(ws.path().join("src")).unwrap();
        std::fs::write(ws.path().join("src/a.ts"), "a\n").unwrap();
        std::fs::write(ws.path().join("src/b.ts"), "b\n").unwrap();
        // An edit of the user's that no story declares, staged, and one not staged.
        std::fs::write(ws.path().join("README"), "hello\nmine\n").unwrap();
        sh_git(ws.path(), &["add", "README"]);
        std::fs::write(ws.path().join("notes.txt"), "scratch\n").unwrap();
        let status = sh_git(ws.path(), &["status", "--porcelain"]);
        let git = backend(ws.path(), &[("a", &["/src/a.ts"]), ("b", &["src/b.ts"])]);
        let (a, b) = block_on(async {
            futures::join!(git.commit_story("a", &[]), git.commit_story("b", &[]))
        });
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.branch, "bmad/story-a");
        assert_eq!(a.base, "main");
        assert_eq!(a.files, ["src/a.ts"]);
        for (c, file, text) in [(&a, "src/a.ts", "a"), (&b, "src/b.ts", "b")] {
            assert_eq!(sh_git(ws.path(), &["rev-parse", &c.branch]), c.commit);
            assert_eq!(
                sh_git(ws.path(), &["rev-parse", &format!("{}^", c.branch)]),
                first
            );
            let changed = sh_git(
                ws.path(),
                &[
                    "diff-tree",
                    "--no-commit-id",
                    "--name-only",
                    "-r",
                    &c.branch,
                ],
            );
            assert_eq!(changed, file);
            let content = sh_git(ws.path(), &["show", &format!("{}:{file}", c.branch)]);
            assert_eq!(content, text);
        }
        let message = sh_git(ws.path(), &["log", "-1", "--format=%B", "bmad/story-a"]);
        assert_eq!(
            message,
            "Story a: title of a\n\nAcceptance criteria:\n- it works"
        );
        assert_eq!(sh_git(ws.path(), &["rev-parse", "HEAD"]), first);
        assert_eq!(sh_git(ws.path(), &["status", "--porcelain"]), status);
        let mut branches = git.run.branches();
        branches.sort();
        assert_eq!(branches, ["bmad/story-a", "bmad/story-b"]);
    }

    #[test]
    fn a_story_with_nothing_to_commit_or_a_path_outside_fails_clearly() {
        let ws = repo();
        let git = backend(
            ws.path(),
            &[
                ("none", &[]),
                ("missing", &["/src/gone.ts"]),
                ("same", &["/README"]),
                ("out", &["../../etc/passwd"]),
            ],
        );
        let err = |id| block_on(git.commit_story(id, &[])).unwrap_err();
        assert!(err("none").contains("declares no files"), "{}", err("none"));
        assert!(
            err("missing").contains("none of its files exist in the workspace (`/src/gone.ts`)"),
            "{}",
            err("missing")
        );
        assert!(
            err("same").contains("the same as in `main`"),
            "{}",
            err("same")
        );
        assert!(
            err("out").contains("outside the workspace"),
            "{}",
            err("out")
        );
        assert!(git.run.branches().is_empty());
    }

    #[test]
    fn other_tasks_and_create_pr_outside_a_story_fail_with_what_git_does() {
        let ws = repo();
        let git = backend(ws.path(), &[]);
        let out = block_on(git.run(invocation(&["implement"], Some("1"))));
        assert!(!out.ok);
        let why = out.feedback.unwrap();
        assert!(
            why.contains("create_pr")
                && why.contains("merge_to_main")
                && why.contains("`implement`"),
            "{why}"
        );
        let out = block_on(git.run(invocation(&["create_pr"], None)));
        assert!(
            out.feedback
                .unwrap()
                .contains("inside `for story in stories`")
        );
    }

    #[test]
    fn merging_sets_story_files_aside_and_a_conflict_aborts_cleanly() {
        let ws = repo();
        let git = backend(ws.path(), &[("x", &["/README"]), ("y", &["/README"])]);
        std::fs::write(ws.path().join("README"), "from x\n").unwrap();
        let x = block_on(git.commit_story("x", &[])).unwrap();
        std::fs::write(ws.path().join("README"), "from y\n").unwrap();
        block_on(git.commit_story("y", &[])).unwrap();
        let err = block_on(git.merge()).unwrap_err();
        assert!(
            err.contains("merging `bmad/story-y` into `main` failed")
                && err.contains("merged before it: bmad/story-x")
                && err.contains("CONFLICT"),
            "{err}"
        );
        // x was merged (a fast-forward); y's merge was aborted and the file put back.
        assert_eq!(sh_git(ws.path(), &["rev-parse", "HEAD"]), x.commit);
        assert!(!ws.path().join(".git/MERGE_HEAD").exists());
        assert_eq!(
            std::fs::read_to_string(ws.path().join("README")).unwrap(),
            "from y\n"
        );
        assert_eq!(git.run.branches(), ["bmad/story-y"]);
    }

    #[test]
    fn merging_needs_the_base_checked_out() {
        let ws = repo();
        let mut git = backend(ws.path(), &[]);
        git.base = Some("release".into());
        let err = block_on(git.merge()).unwrap_err();
        assert!(
            err.contains("`release`, which must be checked out"),
            "{err}"
        );
        git.base = None;
        assert_eq!(
            block_on(git.merge()).unwrap(),
            "no story branches to merge into `main`"
        );
    }
}
