//! The `git` agent backend. `create_pr`, inside a story, commits what the story's worktree
//! changed onto its branch and runs the configured `pr` command (push, open a hosted PR);
//! `merge_to_main` reports what the merge lane merged into the integration branch (the
//! lane merges each story as soon as it is approved; see [`super::lane`]).

use super::command::GitError;
use super::commit::{StoryInfo, commit_all, message};
use super::repo::Repo;
use crate::runtime::backend::{AgentBackend, Invocation, Outcome};
use crate::runtime::exec::shell_quote;
use crate::runtime::process::{Ended, run_group};
use crate::runtime::process_mark::RunMarks;
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::fmt::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The tasks the git backend performs.
pub const GIT_TASKS: &[&str] = &["create_pr", "merge_to_main"];

/// Why a task of the git agent failed.
#[derive(Debug, thiserror::Error)]
enum GitTaskError {
    /// git itself failed, or the workspace is no repository.
    #[error(transparent)]
    Git(#[from] GitError),
    /// `create_pr` outside a story.
    #[error("create_pr commits a story's work: run it inside `for story in stories`")]
    NotInAStory,
    /// `create_pr` in a story without a worktree.
    #[error(
        "create_pr commits a story's worktree, and this story has none (its workspace is \
         ignored by its repository)"
    )]
    NoWorktree,
    /// The story's worktree has no change.
    #[error("story `{0}` has nothing to commit: its worktree has no change")]
    NothingToCommit(String),
    /// The `pr` command did not end in time.
    #[error("{committed}, but the pr command timed out after {after:?}")]
    PrTimedOut {
        /// What was committed (`committed a.ts onto `story/1` (abc1234)`).
        committed: String,
        /// Its time limit.
        after: Duration,
    },
    /// The `pr` command cannot start.
    #[error("{committed}, but the pr command `{template}` cannot start: {source}")]
    PrStart {
        /// What was committed.
        committed: String,
        /// The command as configured.
        template: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The `pr` command failed.
    #[error("{committed}, but the pr command `{template}` exited with {status}: {said}")]
    PrFailed {
        /// What was committed.
        committed: String,
        /// The command as configured.
        template: String,
        /// How it exited.
        status: std::process::ExitStatus,
        /// The last lines of what it printed.
        said: String,
    },
}

/// What a run's git agents share with its delivery: each story's description and what
/// the merge lane did.
#[derive(Debug, Default)]
pub struct GitRun {
    stories: Mutex<HashMap<String, StoryInfo>>,
    merged: Mutex<Vec<(String, String)>>,
    held: Mutex<Vec<String>>,
}

impl GitRun {
    /// Learns what these stories say about themselves (the workflow's, and those its story
    /// files add when a for-each starts).
    pub fn know(&self, stories: impl IntoIterator<Item = StoryInfo>) {
        if let Ok(mut known) = self.stories.lock() {
            known.extend(stories.into_iter().map(|s| (s.id.clone(), s)));
        }
    }

    /// What story `id` says about itself (its id alone when it is not known).
    pub fn story(&self, id: &str) -> StoryInfo {
        let known = self.stories.lock().ok().and_then(|k| k.get(id).cloned());
        known.unwrap_or_else(|| StoryInfo {
            id: id.to_string(),
            ..StoryInfo::default()
        })
    }

    /// Records that the lane merged `story` as `commit`.
    pub fn merged(&self, story: &str, commit: &str) {
        if let Ok(mut m) = self.merged.lock() {
            m.push((story.to_string(), commit.to_string()));
        }
    }

    /// Records that `story` was blocked before it merged.
    pub fn held(&self, story: &str) {
        if let Ok(mut h) = self.held.lock() {
            h.push(story.to_string());
        }
    }

    /// The stories the lane merged in this run, in order, with their merge commits.
    pub fn merged_stories(&self) -> Vec<(String, String)> {
        self.merged.lock().map(|m| m.clone()).unwrap_or_default()
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
    /// The integration branch stories start from and merge into; the checked-out branch
    /// when absent.
    pub base: Option<String>,
    /// What the run's git agents share.
    pub run: Arc<GitRun>,
    /// The marks of the run's processes: the PR command's tree gets one.
    pub marks: Arc<RunMarks>,
}

impl GitBackend {
    /// The repository of the workspace; an error when it is in none.
    async fn repo(&self) -> Result<Repo, GitError> {
        Repo::find(&self.workspace)
            .await?
            .ok_or_else(|| GitError::NotARepository(self.workspace.clone()))
    }

    /// `create_pr`: the story's work committed on its branch, then the `pr` command when
    /// one is configured.
    async fn create_pr(&self, inv: &Invocation) -> Result<String, GitTaskError> {
        let (Some(story), Some(tree)) = (inv.story.as_deref(), inv.tree.as_ref()) else {
            return Err(match (&inv.story, self.repo().await) {
                (_, Err(e)) => e.into(),
                (None, _) => GitTaskError::NotInAStory,
                (Some(_), Ok(_)) => GitTaskError::NoWorktree,
            });
        };
        let repo = self.repo().await?;
        let base = repo.integration(self.base.as_deref()).await?;
        let info = self.run.story(story);
        let done = commit_all(
            &repo,
            tree,
            &base,
            &info,
            &message(&info, inv.attempt, inv.run.as_deref()),
        )
        .await?;
        if done.is_empty() {
            return Err(GitTaskError::NothingToCommit(story.to_string()));
        }
        let branch = tree.branch.clone();
        let short = super::command::short(&done.head);
        let said = format!(
            "committed {} onto `{branch}` ({short})",
            done.files.join(", ")
        );
        if let Some(template) = &self.pr {
            let line = template
                .replace("{branch}", &shell_quote(&branch))
                .replace("{base}", &shell_quote(&base))
                .replace("{story}", &shell_quote(story))
                .replace("{title}", &shell_quote(&info.title));
            let mut cmd = crate::runtime::process::shell_command(&line);
            cmd.current_dir(&tree.dir)
                .env("BMAD_BRANCH", &branch)
                .env("BMAD_BASE", &base)
                .env("BMAD_STORY", story)
                .env("BMAD_WORKSPACE", &tree.dir)
                .env("BMAD_WORKTREE", &tree.root);
            let out = match run_group(cmd, None, None, &self.marks).await {
                // Nothing watches it: it is never stopped.
                Ok(Ended::Exited(out) | Ended::Stopped(out, _)) => out,
                Ok(Ended::TimedOut(after)) => {
                    return Err(GitTaskError::PrTimedOut {
                        committed: said,
                        after,
                    });
                }
                Err(source) => {
                    return Err(GitTaskError::PrStart {
                        committed: said,
                        template: template.clone(),
                        source,
                    });
                }
            };
            if !out.status.success() {
                let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
                let words = crate::runtime::verdict::last_lines(
                    &format!("{}{}", text(&out.stdout), text(&out.stderr)),
                    5,
                );
                return Err(GitTaskError::PrFailed {
                    committed: said,
                    template: template.clone(),
                    status: out.status,
                    said: words,
                });
            }
        }
        Ok(said)
    }

    /// `merge_to_main`: what the merge lane merged into the integration branch.
    async fn merge_to_main(&self) -> Result<String, GitTaskError> {
        let repo = self.repo().await?;
        let base = repo.integration(self.base.as_deref()).await?;
        let merged = self.run.merged_stories();
        let held = self.run.held.lock().map(|h| h.clone()).unwrap_or_default();
        let mut said = if merged.is_empty() {
            format!("no story was merged into `{base}` in this run")
        } else {
            let tip = repo.tip(&base).await?;
            format!(
                "the merge lane merged {} into `{base}` (now {}): {}",
                if merged.len() == 1 {
                    "1 story".to_string()
                } else {
                    format!("{} stories", merged.len())
                },
                super::command::short(&tip),
                merged
                    .iter()
                    .map(|(s, _)| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        if !held.is_empty() {
            let _ = write!(said, "; not merged (blocked): {}", held.join(", "));
        }
        Ok(said)
    }
}

impl AgentBackend for GitBackend {
    fn run(&self, inv: Invocation) -> BoxFuture<'static, Outcome> {
        let me = self.clone();
        Box::pin(async move {
            let unknown: Vec<String> = inv
                .tasks
                .iter()
                .filter(|t| !GIT_TASKS.contains(&t.as_str()))
                .map(|t| format!("`{t}`"))
                .collect();
            if !unknown.is_empty() {
                return Outcome {
                    ok: false,
                    feedback: Some(format!(
                        "agent `{}` is git (`backend git`): it does {} (commits a story's work \
                         on its branch, then runs the `pr` command) and {} (reports what the \
                         merge lane merged), not {}",
                        inv.agent,
                        GIT_TASKS[0],
                        GIT_TASKS[1],
                        unknown.join(", ")
                    )),
                    ..Outcome::default()
                };
            }
            let mut said = Vec::new();
            for task in &inv.tasks {
                let result = match task.as_str() {
                    "create_pr" => me.create_pr(&inv).await,
                    _ => me.merge_to_main().await,
                };
                match result {
                    Ok(s) => said.push(s),
                    Err(e) => {
                        return Outcome {
                            ok: false,
                            feedback: Some(format!("{task}: {e}")),
                            ..Outcome::default()
                        };
                    }
                }
            }
            Outcome {
                ok: true,
                feedback: Some(said.join("; ")),
                ..Outcome::default()
            }
        })
    }
}
