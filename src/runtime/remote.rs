//! Agent tasks run elsewhere: an [`Invocation`] and its [`Outcome`] as plain data that can
//! travel to another process (a Temporal worker, `bmad worker`), and the runner's side of
//! it: which agents may travel, and running a task that came from elsewhere on the agent's
//! own local backend, exactly as a local run would (its limits, timeout, transcript and
//! structured result).
//!
//! Story work delivered through git travels through the workflow's `git_remote`
//! ([`super::git::remote`], [`super::git::clones`]): the task carries the commit it starts
//! from, and its outcome the commit the worker pushed. Artifacts outside git travel in the
//! outcome ([`super::carried`]), up to [`super::carried::MAX_CARRIED`] bytes in all.

use super::Runner;
use super::agent_output::AgentResult;
use super::backend::{AgentBackend, Invocation, Outcome, Transcript};
use super::carried::Carried;
use super::git::clones::Clones;
use super::git::remote::GitWork;
use super::transient::Transient;
use super::workspace::{Artifact, Workspace};
use crate::model::budget::Price;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// One agent task as data: what [`Invocation`] holds, less what the worker's own copy of
/// the workflow gives back (the artifacts' places on disk, the agent's price).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteTask {
    /// The run's id in the state store, when the run is recorded.
    pub run: Option<String>,
    /// The step's place in the workflow.
    pub step: String,
    /// The agent.
    pub agent: String,
    /// The tasks, in order.
    pub tasks: Vec<String>,
    /// The story, inside a for-each.
    pub story: Option<String>,
    /// The attempt, from 1.
    pub attempt: u64,
    /// Whether this is a validation (QA).
    pub validation: bool,
    /// The prompt.
    pub prompt: String,
    /// The artifacts the task produces: their declared names (if any) and their paths as
    /// written in the workflow, resolved again in the worker's workspace.
    pub produces: Vec<(Option<String>, String)>,
    /// The task's own time limit, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// What the task may still spend, in US dollars.
    pub budget_usd: Option<f64>,
    /// What the task may still spend, in tokens.
    pub budget_tokens: Option<f64>,
    /// Story work delivered through git: where the worker gets it and puts it back.
    #[serde(default)]
    pub git: Option<GitWork>,
}

impl RemoteTask {
    /// The task `inv` gives, as data (story work in a git worktree needs its
    /// [`RemoteTask::git`] too, which the sender fills).
    pub fn of(inv: &Invocation) -> RemoteTask {
        RemoteTask {
            run: inv.run.clone(),
            step: inv.step.clone(),
            agent: inv.agent.clone(),
            tasks: inv.tasks.clone(),
            story: inv.story.clone(),
            attempt: inv.attempt,
            validation: inv.validation,
            prompt: inv.prompt.clone(),
            produces: inv
                .produces
                .iter()
                .map(|a| (a.name.clone(), a.written.clone()))
                .collect(),
            timeout_ms: inv
                .timeout
                .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
            budget_usd: inv.budget.usd,
            budget_tokens: inv.budget.tokens,
            git: None,
        }
    }
}

/// How a task ended, as data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RemoteOutcome {
    /// Whether it succeeded (for a validation: whether it approved).
    pub ok: bool,
    /// QA feedback, or the reason of a failure.
    pub feedback: Option<String>,
    /// What the agent printed on its standard output and error, when it is a process.
    pub transcript: Option<(String, String)>,
    /// What its CLI reported.
    pub result: Option<AgentResult>,
    /// The agent's service refused the task: `rate limited`, `overloaded`, `out of
    /// credit` or `unreachable` (as [`Transient`] shows itself).
    pub transient: Option<String>,
    /// It was stopped at the budget it was given.
    pub over_budget: bool,
    /// The commit the worker pushed as the story's branch (story work through git).
    #[serde(default)]
    pub pushed: Option<String>,
    /// The artifacts the task produced, outside git.
    #[serde(default)]
    pub carried: Vec<Carried>,
}

impl From<Outcome> for RemoteOutcome {
    fn from(o: Outcome) -> RemoteOutcome {
        RemoteOutcome {
            ok: o.ok,
            feedback: o.feedback,
            transcript: o.transcript.map(|t| (t.stdout, t.stderr)),
            result: o.result,
            transient: o.transient.map(|t| t.to_string()),
            over_budget: o.over_budget,
            pushed: None,
            carried: Vec::new(),
        }
    }
}

impl From<RemoteOutcome> for Outcome {
    fn from(o: RemoteOutcome) -> Outcome {
        Outcome {
            ok: o.ok,
            feedback: o.feedback,
            transcript: o
                .transcript
                .map(|(stdout, stderr)| Transcript { stdout, stderr }),
            result: o.result,
            transient: o.transient.as_deref().and_then(Transient::named),
            over_budget: o.over_budget,
        }
    }
}

/// Why a task that came from elsewhere cannot run here.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RemoteError {
    /// The workflow here has no such agent, or not one whose tasks travel.
    #[error("agent `{0}` is not an exec or script agent of this workflow")]
    NotPortable(String),
    /// The task is story work through git and this worker keeps no clones.
    #[error("the task is story work through git and this worker keeps no clones")]
    NoClones,
    /// An artifact the task produces leads out of the workspace here.
    #[error("artifact `{written}`: {reason}")]
    Artifact {
        /// The path as written.
        written: String,
        /// Why.
        reason: String,
    },
}

/// The agents of a workflow whose tasks travel, ready to run tasks that came from
/// elsewhere: made once from a [`Runner`] and kept by a worker for every task of that
/// workflow (checking and setting up a large workflow for each task would cost more than
/// the task's dispatch).
pub struct Local {
    backends: HashMap<String, Arc<dyn AgentBackend>>,
    workspace: Workspace,
    prices: HashMap<String, Price>,
    /// The worker's clones of git remotes, for story work through git.
    clones: Option<Arc<Clones>>,
}

impl Runner {
    /// Whether `agent`'s tasks may run elsewhere: an exec or script agent in a real run
    /// (simulated, git and host agents run here).
    pub fn travels(&self, agent: &str) -> bool {
        self.portable.contains_key(agent)
    }

    /// The agents whose tasks may run elsewhere, sorted.
    pub fn portable_agents(&self) -> Vec<String> {
        let mut names: Vec<String> = self.portable.keys().cloned().collect();
        names.sort();
        names
    }

    /// The time limit of `agent` itself (`timeout` of its exec backend), if it has one.
    pub fn agent_timeout(&self, agent: &str) -> Option<std::time::Duration> {
        self.portable.get(agent).copied().flatten()
    }

    /// The runner's agents whose tasks travel, with their own backends, to run tasks that
    /// came from elsewhere; story work through git in clones kept by `clones`.
    pub fn into_local(self, clones: Option<Arc<Clones>>) -> Local {
        let mut backends = HashMap::new();
        let mut prices = HashMap::new();
        for agent in self.portable.keys() {
            backends.insert(agent.clone(), self.backend(agent));
            if let Some(p) = self.budget.price_of(agent) {
                prices.insert(agent.clone(), p.clone());
            }
        }
        Local {
            backends,
            workspace: self.workspace.clone(),
            prices,
            clones,
        }
    }
}

/// The outcome of a task that could not reach its git remote: no fault of the task (the
/// coordinator waits and tries again, then pauses).
fn unreachable_remote(why: String) -> RemoteOutcome {
    RemoteOutcome {
        ok: false,
        feedback: Some(why),
        transient: Some(Transient::Unreachable.to_string()),
        ..RemoteOutcome::default()
    }
}

impl Local {
    /// Runs `task`, which came from elsewhere, on its agent's own backend here, as a
    /// local run would: the task's timeout stops it (its processes killed) with the same
    /// failure a local run records. Story work through git runs in a worktree of its own
    /// at the commit the task names, and what it changed is pushed as the story's branch;
    /// other tasks' artifacts travel back in the outcome.
    ///
    /// # Errors
    ///
    /// When the agent is not one whose tasks travel, an artifact leads out of the
    /// workspace, or the task is story work through git and this worker keeps no clones.
    pub fn run(
        &self,
        mut task: RemoteTask,
    ) -> Result<BoxFuture<'static, RemoteOutcome>, RemoteError> {
        let Some(backend) = self.backends.get(&task.agent).cloned() else {
            return Err(RemoteError::NotPortable(task.agent));
        };
        let git = task.git.take();
        let clones = match (&git, &self.clones) {
            (Some(_), None) => return Err(RemoteError::NoClones),
            (_, c) => c.clone(),
        };
        let workspace = self.workspace.clone();
        let price = self.prices.get(&task.agent).cloned();
        // Artifacts are checked here first: a bad one refuses the task before any git work.
        produced(&workspace, &task.produces)?;
        Ok(Box::pin(async move {
            let story = task.story.clone().unwrap_or_default();
            let (tree, space) = match (&git, &clones) {
                (Some(work), Some(clones)) => match clones.checkout(work, &story).await {
                    Ok(t) => {
                        let space = workspace.rooted_at(&t.tree.dir);
                        (Some(t), space)
                    }
                    Err(e) => {
                        return unreachable_remote(format!(
                            "the worker cannot get story `{story}`'s work from the git \
                             remote `{}`: {e}",
                            work.remote
                        ));
                    }
                },
                _ => (None, workspace.clone()),
            };
            let produces = match produced(&space, &task.produces) {
                Ok(p) => p,
                Err(e) => {
                    if let Some(t) = tree {
                        let _ = t.finish().await;
                    }
                    return RemoteOutcome {
                        ok: false,
                        feedback: Some(e.to_string()),
                        ..RemoteOutcome::default()
                    };
                }
            };
            let timeout = task.timeout_ms.map(std::time::Duration::from_millis);
            let inv = Invocation {
                run: task.run,
                step: task.step,
                price,
                agent: task.agent,
                tasks: task.tasks,
                story: task.story,
                attempt: task.attempt,
                validation: task.validation,
                prompt: task.prompt,
                produces: produces.clone(),
                tree: tree.as_ref().map(|t| t.tree.clone()),
                timeout,
                budget: super::budget::Left {
                    usd: task.budget_usd,
                    tokens: task.budget_tokens,
                },
                remote: true,
            };
            let running = backend.run(inv);
            let outcome = match timeout {
                Some(limit) => tokio::time::timeout(limit, running)
                    .await
                    .unwrap_or_else(|_| super::task_run::timed_out(limit)),
                None => running.await,
            };
            let mut outcome = RemoteOutcome::from(outcome);
            match tree {
                // Its work is in git: what it changed is pushed, whatever its outcome (a
                // local run keeps it in the story's worktree too).
                Some(t) => match t.finish().await {
                    Ok(pushed) => outcome.pushed = pushed,
                    Err(e) => {
                        return unreachable_remote(format!(
                            "the worker cannot push story `{story}`'s work to the git remote: \
                             {e}"
                        ));
                    }
                },
                None => outcome.carried = super::carried::carry(&produces),
            }
            outcome
        }))
    }
}

/// The artifacts a task produces, resolved in `workspace`.
fn produced(
    workspace: &Workspace,
    produces: &[(Option<String>, String)],
) -> Result<Vec<Artifact>, RemoteError> {
    let mut found = Vec::with_capacity(produces.len());
    for (name, written) in produces {
        let artifact = match name {
            Some(n) => workspace.named_artifact(n),
            None => workspace.resolve(written).map(|path| Artifact {
                name: None,
                written: written.clone(),
                path,
                root: workspace.root().to_path_buf(),
            }),
        };
        found.push(artifact.map_err(|e| RemoteError::Artifact {
            written: written.clone(),
            reason: e.to_string(),
        })?);
    }
    Ok(found)
}
