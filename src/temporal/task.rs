//! What the coordinator and the workers share: the Temporal workflow that runs one agent
//! task (one activity, on the task queue, with the agent's timeout as start-to-close,
//! heartbeats, and retries for infrastructure failures only: a failed task is a result,
//! not a retry) and what travels in and out of it.
// The workflow macros make public items of their own without docs.
#![allow(missing_docs, unreachable_pub)]

use crate::runtime::remote::{RemoteOutcome, RemoteTask};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ActivityOptions, WorkflowContext, WorkflowResult};

/// One agent task as it travels to a worker: the task and which workflow (and workspace)
/// it belongs to. Holds no secret: a worker reads the ones its agents need from its own
/// environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// The workflow file, as the coordinator sees it.
    pub workflow: String,
    /// The sha256 of every file the workflow is made of: a worker with another version of
    /// it refuses the task.
    pub workflow_sha256: String,
    /// The workspace, as the coordinator sees it (a directory the workers share).
    pub workspace: String,
    /// The directory of the workflow file.
    pub workflow_dir: String,
    /// The agent adapter the run gave its simulated agents (`--agents`).
    pub agents: Option<String>,
    /// The task.
    pub task: RemoteTask,
    /// The activity's start-to-close timeout: the agent's (or the task's) own, and a
    /// minute for the worker to report it.
    pub start_to_close_ms: u64,
    /// How long a task may go without a heartbeat before it runs on another worker.
    pub heartbeat_ms: u64,
}

/// How many times an activity lost to its infrastructure (a worker gone, a heartbeat
/// missed) is tried.
pub const MAX_TRIES: u32 = 10;

/// The workflow of one agent task: its single activity.
#[workflow]
#[derive(Default)]
pub struct AgentTask;

#[workflow_methods]
impl AgentTask {
    /// Runs the task's activity and gives back its outcome.
    ///
    /// # Errors
    ///
    /// When the activity fails past its retries (its workflow cannot run on the workers,
    /// or they keep losing it).
    #[run(name = "bmad.agent_task")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: Envelope,
    ) -> WorkflowResult<RemoteOutcome> {
        let retry = temporalio_common::RetryPolicy::builder()
            .initial_interval(Duration::from_secs(1))
            .maximum_interval(Duration::from_secs(30))
            .maximum_attempts(MAX_TRIES)
            .build();
        let options = ActivityOptions::with_start_to_close_timeout(Duration::from_millis(
            input.start_to_close_ms,
        ))
        .heartbeat_timeout(Duration::from_millis(input.heartbeat_ms))
        .retry_policy(retry)
        .build();
        let outcome = ctx
            .execute_activity(super::worker::TaskActivities::run_task, input, options)
            .await?;
        Ok(outcome)
    }
}
