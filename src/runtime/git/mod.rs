//! Delivery through git: each story works in a worktree of its own on its branch
//! `bmad/story-<id>` ([`worktree`]), built on the integration branch as it stands once the
//! stories it depends on merged; an approved story's work is committed whole ([`commit`])
//! and joins the integration branch through one merge lane that verifies the merged result
//! before the branch moves ([`lane`]). The `git` agent backend ([`backend`]) commits and
//! opens PRs. When agent tasks run on other machines, story work travels through a git
//! remote: the coordinator's side is [`remote`], the worker's [`clones`]. Every git
//! command goes through [`command`], every failure is a [`GitError`].

pub mod backend;
pub mod clones;
pub mod command;
pub mod commit;
pub mod lane;
pub mod remote;
pub mod repo;
pub mod worktree;

pub use backend::{GIT_TASKS, GitBackend, GitRun};
pub use command::{GitError, short};
pub use commit::StoryInfo;
pub use worktree::{BRANCH_PREFIX, Tree};
