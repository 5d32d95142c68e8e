//! What delivery through git needs from the workflow: the integration branch its git
//! agents name, what the stories say about themselves, and the git remote story work
//! travels through when agent tasks run elsewhere.

use super::Runner;
use super::git::{GitError, GitRun, StoryInfo};
use crate::ir::Program;
use crate::model::{Backend, Story};
use std::sync::Arc;

/// What delivery needs from the workflow: the integration branch its git agents name, and
/// the state it shares with them.
#[derive(Debug)]
pub(super) struct GitSetup {
    /// The `base` of the workflow's git agents: the integration branch (the branch checked
    /// out in the workspace when none names one).
    pub base: Option<String>,
    /// Shared with the git agents: the stories' descriptions, what the lane merged.
    pub run: Arc<GitRun>,
    /// The git remote story work travels through when agent tasks run elsewhere: the
    /// integration branch is pushed there when a for-each's stories are over.
    pub publish: std::sync::OnceLock<String>,
}

impl GitSetup {
    /// The setup of `program`'s git agents; an error when two name different branches.
    pub(super) fn of(program: &Program) -> Result<GitSetup, GitError> {
        let mut base: Option<String> = None;
        for a in &program.agents {
            if let Some(Backend::Git { base: Some(b), .. }) = &a.backend {
                match &base {
                    Some(other) if other.as_str() != b.value.as_str() => {
                        return Err(GitError::TwoBases(other.clone(), b.value.to_string()));
                    }
                    _ => base = Some(b.value.to_string()),
                }
            }
        }
        // The stories are made known to the git agents when delivery starts (their tasks
        // run only in a story's worktree): nothing per story here, where most runs have
        // no delivery (a simulation never has).
        Ok(GitSetup {
            base,
            run: Arc::new(GitRun::default()),
            publish: std::sync::OnceLock::new(),
        })
    }
}

/// What a story says about itself, for its commit.
pub(super) fn story_info(s: &Story) -> StoryInfo {
    StoryInfo {
        id: s.id.name.to_string(),
        title: s
            .title
            .as_ref()
            .map_or(String::new(), |t| t.value.to_string()),
        accept: s.accept.iter().map(|a| a.value.to_string()).collect(),
        declared: s
            .create
            .iter()
            .map(|c| c.path.value.to_string())
            .chain(s.modify.iter().map(|m| m.path.value.to_string()))
            .collect(),
    }
}

impl Runner {
    /// Story work travels through the git remote `remote` (agent tasks run elsewhere): the
    /// integration branch is pushed there when a for-each's stories are over.
    pub fn publish_to(&self, remote: &str) {
        let _ = self.git.publish.set(remote.to_string());
    }
}
