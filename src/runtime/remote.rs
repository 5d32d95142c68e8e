//! Agent tasks run elsewhere: an [`Invocation`] and its [`Outcome`] as plain data that can
//! travel to another process (a Temporal worker, `bmad worker`), and the runner's side of
//! it: which agents may travel, and running a task that came from elsewhere on the agent's
//! own local backend, exactly as a local run would (its limits, timeout, transcript and
//! structured result).

use super::Runner;
use super::agent_output::AgentResult;
use super::backend::{AgentBackend, Invocation, Outcome, Transcript};
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
}

impl RemoteTask {
    /// The task `inv` gives, as data; `None` for story work in a git worktree, which does
    /// not travel yet (the worker would need the story's branch: issue 27, item 2).
    pub fn of(inv: &Invocation) -> Option<RemoteTask> {
        if inv.tree.is_some() {
            return None;
        }
        Some(RemoteTask {
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
        })
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
    /// came from elsewhere.
    pub fn into_local(self) -> Local {
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
        }
    }
}

impl Local {
    /// Runs `task`, which came from elsewhere, on its agent's own backend here, as a
    /// local run would: the task's timeout stops it (its processes killed) with the same
    /// failure a local run records.
    ///
    /// # Errors
    ///
    /// When the agent is not one whose tasks travel, or an artifact leads out of the
    /// workspace.
    pub fn run(&self, task: RemoteTask) -> Result<BoxFuture<'static, Outcome>, RemoteError> {
        let Some(backend) = self.backends.get(&task.agent) else {
            return Err(RemoteError::NotPortable(task.agent));
        };
        let mut produces = Vec::with_capacity(task.produces.len());
        for (name, written) in &task.produces {
            let found = match name {
                Some(n) => self.workspace.named_artifact(n),
                None => self.workspace.resolve(written).map(|path| Artifact {
                    name: None,
                    written: written.clone(),
                    path,
                    root: self.workspace.root().to_path_buf(),
                }),
            };
            produces.push(found.map_err(|e| RemoteError::Artifact {
                written: written.clone(),
                reason: e.to_string(),
            })?);
        }
        let timeout = task.timeout_ms.map(std::time::Duration::from_millis);
        let inv = Invocation {
            run: task.run,
            step: task.step,
            price: self.prices.get(&task.agent).cloned(),
            agent: task.agent,
            tasks: task.tasks,
            story: task.story,
            attempt: task.attempt,
            validation: task.validation,
            prompt: task.prompt,
            produces,
            tree: None,
            timeout,
            budget: super::budget::Left {
                usd: task.budget_usd,
                tokens: task.budget_tokens,
            },
            remote: true,
        };
        let running = backend.run(inv);
        Ok(Box::pin(async move {
            match timeout {
                Some(limit) => tokio::time::timeout(limit, running)
                    .await
                    .unwrap_or_else(|_| super::task_run::timed_out(limit)),
                None => running.await,
            }
        }))
    }
}
