//! `bmad worker`: polls a Temporal task queue and runs each agent task it is given as a
//! local run would: the workflow file is checked here (it must be the coordinator's
//! version) on its first task, its agents made over the shared workspace, and the task
//! runs on its agent's own backend ([`Local::run`]: limits, timeout, transcript,
//! structured result), heartbeating while it runs. A task whose workflow cannot run here
//! fails without retry; a worker that dies mid-task stops heartbeating, and Temporal gives
//! the task to another. Story work through git runs in the worker's clones of the remote,
//! kept in its cache directory ([`crate::runtime::git::clones`]).
// The `#[activities]` macro makes an undocumented public constant for each activity.
#![allow(missing_docs)]

use super::task::{AgentTask, Envelope};
use super::{Settings, TemporalError};
use crate::runtime::git::clones::Clones;
use crate::runtime::remote::{Local, RemoteOutcome};
use crate::runtime::{RunOptions, Runner};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use temporalio_sdk::runtime::worker_tuner::{FixedSizeSlotSupplier, TunerHolder};
use temporalio_sdk::{ApplicationFailure, Runtime, Worker, WorkerOptions};

/// The worker's activities: the agent task. Keeps the agents of the workflows it has
/// run tasks of, by workflow, version, workspace and adapter, and its clones of git
/// remotes.
pub struct TaskActivities {
    prepared: Mutex<HashMap<Key, Arc<Local>>>,
    clones: Arc<Clones>,
}

/// What a prepared workflow is kept by: its file, its sha256, the workspace, the
/// directory of the workflow and the adapter.
type Key = (String, String, String, String, Option<String>);

/// The most workflows a worker keeps prepared (then it forgets them all).
const KEPT: usize = 16;

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
        self: Arc<Self>,
        ctx: ActivityContext,
        input: Envelope,
    ) -> Result<RemoteOutcome, ActivityError> {
        let refused = |why: String| {
            let why: Box<dyn std::error::Error + Send + Sync> = why.into();
            ActivityError::application(ApplicationFailure::non_retryable(why))
        };
        let local = self.local(&input).map_err(refused)?;
        let running = local
            .run(input.task.clone())
            .map_err(|e| refused(e.to_string()))?;
        let beat = Duration::from_millis(input.heartbeat_ms / 3).max(Duration::from_millis(100));
        let mut running = std::pin::pin!(running);
        loop {
            tokio::select! {
                outcome = &mut running => return Ok(outcome),
                () = ctx.cancelled() => return Err(ActivityError::cancelled()),
                () = tokio::time::sleep(beat) => {
                    // A heartbeat that cannot be sent is missed: the server decides.
                    let _ = ctx.record_heartbeat(()).await;
                }
            }
        }
    }
}

impl TaskActivities {
    /// The agents of `input`'s workflow, prepared on its first task.
    fn local(&self, input: &Envelope) -> Result<Arc<Local>, String> {
        let key = (
            input.workflow.clone(),
            input.workflow_sha256.clone(),
            input.workspace.clone(),
            input.workflow_dir.clone(),
            input.agents.clone(),
        );
        let lock = || {
            self.prepared
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(local) = lock().get(&key) {
            return Ok(Arc::clone(local));
        }
        let local = Arc::new(prepare(input, &self.clones)?);
        let mut kept = lock();
        if kept.len() >= KEPT {
            kept.clear();
        }
        kept.insert(key, Arc::clone(&local));
        Ok(local)
    }
}

/// The agents of `input`'s workflow on this machine: the workflow checked (the same
/// version as the coordinator's) and its agents' backends made over the shared workspace.
fn prepare(input: &Envelope, clones: &Arc<Clones>) -> Result<Local, String> {
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
    Ok(runner.into_local(Some(Arc::clone(clones))))
}

/// Runs a worker on `settings`' task queue until it stops: at most `concurrency` agent
/// tasks at once, story work through git in clones kept under `cache`. Must be called
/// inside a multi-threaded tokio runtime.
///
/// # Errors
///
/// When the server cannot be reached or the worker fails.
pub async fn run(
    settings: &Settings,
    concurrency: usize,
    cache: PathBuf,
) -> Result<(), TemporalError> {
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
        .register_activities(TaskActivities {
            prepared: Mutex::new(HashMap::new()),
            clones: Arc::new(Clones::new(cache)),
        })
        .tuner(tuner)
        .build();
    let mut worker = Worker::new(&runtime, client, options).map_err(|e| worker_error(&e))?;
    worker.run().await.map_err(|e| worker_error(&e))
}
