//! `bmad worker`: polls a Temporal task queue and runs each agent task it is given as a
//! local run would: the workflow file is checked here (it must be the coordinator's
//! version), a runner is made over the shared workspace, and the task runs on its agent's
//! own backend ([`Runner::run_remote`]: limits, timeout, transcript, structured result),
//! heartbeating while it runs. A task whose workflow cannot run here fails without retry;
//! a worker that dies mid-task stops heartbeating, and Temporal gives the task to another.
// The `#[activities]` macro makes an undocumented public constant for each activity.
#![allow(missing_docs)]

use super::task::{AgentTask, Envelope};
use super::{Settings, TemporalError};
use crate::runtime::backend::Outcome;
use crate::runtime::remote::RemoteOutcome;
use crate::runtime::{RunOptions, Runner};
use futures::future::BoxFuture;
use std::path::{Path, PathBuf};
use std::time::Duration;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use temporalio_sdk::runtime::worker_tuner::{FixedSizeSlotSupplier, TunerHolder};
use temporalio_sdk::{ApplicationFailure, Runtime, Worker, WorkerOptions};

/// The worker's activities: the agent task.
#[derive(Debug, Default)]
pub struct TaskActivities;

#[activities]
impl TaskActivities {
    /// Runs one agent task, heartbeating while it runs; stops it when Temporal cancels it.
    ///
    /// # Errors
    ///
    /// A non-retryable application failure when the task's workflow cannot run here (not
    /// found, changed, erroneous, or the agent is not one whose tasks travel).
    #[activity(name = "bmad.run_task")]
    pub async fn run_task(
        ctx: ActivityContext,
        input: Envelope,
    ) -> Result<RemoteOutcome, ActivityError> {
        let running = prepare(&input).map_err(|why| {
            ActivityError::application(ApplicationFailure::non_retryable(anyhow_free(why)))
        })?;
        let beat = Duration::from_millis(input.heartbeat_ms / 3).max(Duration::from_millis(100));
        let mut running = std::pin::pin!(running);
        loop {
            tokio::select! {
                outcome = &mut running => return Ok(outcome.into()),
                () = ctx.cancelled() => return Err(ActivityError::cancelled()),
                () = tokio::time::sleep(beat) => {
                    // A heartbeat that cannot be sent is missed: the server decides.
                    let _ = ctx.record_heartbeat(()).await;
                }
            }
        }
    }
}

/// A message as an error for an application failure.
fn anyhow_free(why: String) -> Box<dyn std::error::Error + Send + Sync> {
    why.into()
}

/// The task of `input`, ready to run on this machine: its workflow checked (the same
/// version as the coordinator's) and its agent's backend made over the shared workspace.
fn prepare(input: &Envelope) -> Result<BoxFuture<'static, Outcome>, String> {
    let file = Path::new(&input.workflow);
    let checked = crate::check_path(file);
    if checked.io_failed || checked.has_errors() {
        return Err(format!(
            "the workflow `{}` cannot be read or has errors on this worker",
            input.workflow
        ));
    }
    if checked.workflow_sha256() != input.workflow_sha256 {
        return Err(format!(
            "the workflow `{}` on this worker is not the coordinator's version (sha256 {} \
             here, {} there): deploy the same workflow to every worker",
            input.workflow,
            checked.workflow_sha256(),
            input.workflow_sha256
        ));
    }
    let options = RunOptions {
        workspace: PathBuf::from(&input.workspace),
        workflow_dir: Some(PathBuf::from(&input.workflow_dir)),
        agents: input.agents.clone(),
        ..RunOptions::default()
    };
    let runner = Runner::new(checked.program, options).map_err(|e| e.to_string())?;
    runner
        .run_remote(input.task.clone())
        .map_err(|e| e.to_string())
}

/// Runs a worker on `settings`' task queue until it stops: at most `concurrency` agent
/// tasks at once. Must be called inside a multi-threaded tokio runtime.
///
/// # Errors
///
/// When the server cannot be reached or the worker fails.
pub async fn run(settings: &Settings, concurrency: usize) -> Result<(), TemporalError> {
    let worker_error = |e: &dyn std::fmt::Display| TemporalError::Worker(e.to_string());
    let runtime = Runtime::from_current_tokio(temporalio_sdk::runtime::RuntimeOptions::default())
        .map_err(|e| worker_error(&e))?;
    let client = settings.connect(&super::identity("bmad-worker")).await?;
    let slots = concurrency.max(1);
    let tuner = TunerHolder::builder()
        .workflow_task_slot_supplier(FixedSizeSlotSupplier::new(slots.max(2)))
        .activity_task_slot_supplier(FixedSizeSlotSupplier::new(slots))
        .local_activity_task_slot_supplier(FixedSizeSlotSupplier::new(1))
        .nexus_task_slot_supplier(FixedSizeSlotSupplier::new(1))
        .build();
    let options = WorkerOptions::new(settings.task_queue.clone())
        .register_workflow::<AgentTask>()
        .map_err(|e| worker_error(&e))?
        .register_activities(TaskActivities)
        .tuner(tuner)
        .build();
    let mut worker = Worker::new(&runtime, client, options).map_err(|e| worker_error(&e))?;
    worker.run().await.map_err(|e| worker_error(&e))
}
