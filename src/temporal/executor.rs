//! The coordinator's side: an agent backend that starts each task of an exec or script
//! agent as a Temporal workflow execution and waits for its outcome. The execution's id is
//! the run's, the step's and the attempt's (and the try's, for a task tried again in the
//! same attempt), so a coordinator resumed after a crash starts no task twice: starting
//! an id that is running attaches to it, and one that has ended gives back its result.
//! A server that cannot be reached, or workers that cannot run the task, are the
//! executor's refusal, not the task's failure: the run waits and tries again, then pauses
//! with the reason. Story work in a git worktree travels through the workflow's
//! `git_remote` ([`crate::runtime::git::remote`]); without one it runs here. Artifacts
//! outside git come back in the outcome ([`crate::runtime::carried`]).

use super::task::{AgentTask, Envelope};
use super::{Settings, TemporalError};
use crate::runtime::Runner;
use crate::runtime::backend::{AgentBackend, Invocation, Outcome};
use crate::runtime::git::remote as git_remote;
use crate::runtime::remote::{RemoteOutcome, RemoteTask};
use crate::runtime::transient::Transient;
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use temporalio_client::errors::{WorkflowGetResultError, WorkflowStartError};
use temporalio_client::{
    Client, WorkflowGetResultOptions, WorkflowIdConflictPolicy, WorkflowIdReusePolicy,
    WorkflowStartOptions,
};

/// Which workflow (and workspace) the tasks belong to, as the workers will find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The workflow file, canonical.
    pub workflow: String,
    /// Its sha256 (every file it is made of).
    pub workflow_sha256: String,
    /// The workspace, canonical.
    pub workspace: String,
    /// The directory of the workflow file.
    pub workflow_dir: String,
    /// `--agents`, when given.
    pub agents: Option<String>,
}

/// What the backends of one run share: the settings, the client once connected, the tries
/// made so far of each execution id.
struct Link {
    settings: Settings,
    origin: Origin,
    client: tokio::sync::Mutex<Option<Client>>,
    tries: Mutex<HashMap<String, u32>>,
    /// Stands for the run's id when the run is not recorded (its executions cannot be
    /// attached to again).
    unrecorded: String,
    /// The git remote story work travels through (`settings { git_remote }`).
    git_remote: Option<String>,
}

/// An agent whose tasks run on Temporal workers.
pub struct TemporalBackend {
    link: Arc<Link>,
    /// The agent's own timeout.
    timeout: Option<Duration>,
    /// The agent's local backend, for story work in a git worktree when the workflow
    /// names no git remote.
    local: Arc<dyn AgentBackend>,
}

/// The least start-to-close a task gets when neither it nor its agent has a timeout.
const NO_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);
/// What a worker is given past the task's timeout to stop it and report.
const REPORT_MARGIN: Duration = Duration::from_secs(60);

/// Gives every exec and script agent of `runner` a Temporal backend on `settings`;
/// returns their names.
pub fn install(runner: &mut Runner, settings: Settings, origin: Origin) -> Vec<String> {
    let git_remote = runner
        .program()
        .setting_name("git_remote")
        .map(str::to_string);
    if let Some(remote) = &git_remote {
        runner.publish_to(remote);
    }
    let began = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let link = Arc::new(Link {
        settings,
        origin,
        client: tokio::sync::Mutex::new(None),
        tries: Mutex::new(HashMap::new()),
        unrecorded: format!("unrecorded-{:x}-{began:x}", std::process::id()),
        git_remote,
    });
    let agents = runner.portable_agents();
    for agent in &agents {
        let backend = TemporalBackend {
            link: Arc::clone(&link),
            timeout: runner.agent_timeout(agent),
            local: runner.agent_backend(agent),
        };
        runner.set_backend(agent, Arc::new(backend));
    }
    agents
}

/// The execution id of a task: `bmad/<run>/<step>/<attempt>` and `.<try>` past the first
/// try.
pub fn execution_id(run: &str, step: &str, attempt: u64, tried: u32) -> String {
    let base = format!("bmad/{run}/{step}/{attempt}");
    if tried <= 1 {
        base
    } else {
        format!("{base}.{tried}")
    }
}

impl Link {
    /// The client, connected on first use (and again after a failure).
    async fn client(&self) -> Result<Client, TemporalError> {
        let mut held = self.client.lock().await;
        if let Some(c) = held.as_ref() {
            return Ok(c.clone());
        }
        let c = self
            .settings
            .connect(&super::identity("bmad-coordinator"))
            .await?;
        *held = Some(c.clone());
        Ok(c)
    }

    /// Starts (or attaches to) the execution of `envelope` as `id` and waits for its
    /// outcome; the outcome of a refusal when it could not run.
    async fn execute(&self, id: String, envelope: Envelope) -> Result<RemoteOutcome, Outcome> {
        let client = match self.client().await {
            Ok(c) => c,
            Err(e) => return Err(unreachable_outcome(&e.to_string())),
        };
        let options = WorkflowStartOptions::new(self.settings.task_queue.clone(), id.clone())
            .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
            .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
            .static_summary(format!(
                "bmad agent `{}`: {}",
                envelope.task.agent,
                envelope.task.tasks.join(", ")
            ))
            .build();
        let result = match client
            .start_workflow(AgentTask::run, envelope, options)
            .await
        {
            Ok(handle) => handle.get_result(WorkflowGetResultOptions::default()).await,
            // It ran to its end before (a resumed coordinator): its result stands.
            Err(WorkflowStartError::AlreadyStarted { .. }) => {
                client
                    .get_workflow_handle::<AgentTask>(id.clone())
                    .get_result(WorkflowGetResultOptions::default())
                    .await
            }
            Err(e) => {
                *self.client.lock().await = None;
                return Err(unreachable_outcome(&format!(
                    "cannot start Temporal execution `{id}` at {}: {}",
                    self.settings.address,
                    super::error_chain(&e)
                )));
            }
        };
        match result {
            Ok(remote) => Ok(remote),
            // The workers could not run it (another version of the workflow, workers
            // lost past the retries): no failure of the task either.
            Err(WorkflowGetResultError::Failed(f)) => Err(unreachable_outcome(&format!(
                "Temporal execution `{id}` failed on its workers: {}",
                super::error_chain(&*f)
            ))),
            Err(e) => Err(unreachable_outcome(&format!(
                "Temporal execution `{id}` at {} ended without a result: {}",
                self.settings.address,
                super::error_chain(&e)
            ))),
        }
    }
}

/// The outcome of a task whose executor could not be reached or could not run it.
fn unreachable_outcome(why: &str) -> Outcome {
    Outcome {
        ok: false,
        feedback: Some(why.to_string()),
        transient: Some(Transient::Unreachable),
        ..Outcome::default()
    }
}

impl AgentBackend for TemporalBackend {
    fn run(&self, inv: Invocation) -> BoxFuture<'static, Outcome> {
        let link = Arc::clone(&self.link);
        // Story work in a git worktree travels only through a git remote.
        if inv.tree.is_some() && link.git_remote.is_none() {
            return self.local.run(inv);
        }
        let mut task = RemoteTask::of(&inv);
        let run = inv.run.clone().unwrap_or_else(|| link.unrecorded.clone());
        let base = execution_id(&run, &inv.step, inv.attempt, 1);
        let tried = {
            let mut tries = link
                .tries
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let n = tries.entry(base).or_insert(0);
            *n += 1;
            *n
        };
        let id = execution_id(&run, &inv.step, inv.attempt, tried);
        let limit = inv.timeout.or(self.timeout).unwrap_or(NO_TIMEOUT) + REPORT_MARGIN;
        let start_to_close_ms = millis(limit);
        let heartbeat_ms = millis(link.settings.heartbeat);
        Box::pin(async move {
            let story = inv.story.clone().unwrap_or_default();
            let what = format!("{}: {}", inv.agent, inv.tasks.join(", "));
            let work = match (&inv.tree, &link.git_remote) {
                (Some(tree), Some(remote)) => {
                    match git_remote::send(tree, remote, &story, &what).await {
                        Ok(w) => Some(w),
                        Err(e) => return unreachable_git(remote, &e.to_string()),
                    }
                }
                _ => None,
            };
            task.git.clone_from(&work);
            let envelope = Envelope {
                workflow: link.origin.workflow.clone(),
                workflow_sha256: link.origin.workflow_sha256.clone(),
                workspace: link.origin.workspace.clone(),
                workflow_dir: link.origin.workflow_dir.clone(),
                agents: link.origin.agents.clone(),
                task,
                start_to_close_ms,
                heartbeat_ms,
            };
            let remote = match link.execute(id, envelope).await {
                Ok(r) => r,
                Err(refused) => return refused,
            };
            let (pushed, carried) = (remote.pushed.clone(), remote.carried.clone());
            let mut outcome: Outcome = remote.into();
            match (&inv.tree, &work) {
                (Some(tree), Some(work)) => {
                    if let (Some(pushed), Some(_)) = (&pushed, &work.branch)
                        && let Err(e) = git_remote::receive(tree, &story, work, pushed).await
                    {
                        return unreachable_git(&work.remote, &e.to_string());
                    }
                }
                _ => crate::runtime::carried::settle(&carried, &inv.produces, &mut outcome),
            }
            outcome
        })
    }
}

/// The outcome of a story's task whose work could not travel through the git remote:
/// no fault of the task (the run waits and tries again, then pauses with the reason).
fn unreachable_git(remote: &str, why: &str) -> Outcome {
    unreachable_outcome(&format!("the git remote `{remote}`: {why}"))
}

/// `d` in whole milliseconds.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::execution_id;

    #[test]
    fn an_execution_id_is_the_run_the_step_the_attempt_and_the_try() {
        assert_eq!(execution_id("r1", "build/s1", 2, 1), "bmad/r1/build/s1/2");
        assert_eq!(execution_id("r1", "build/s1", 2, 3), "bmad/r1/build/s1/2.3");
    }
}
