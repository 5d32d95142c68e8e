//! Whether a recorded run may be resumed, and resuming it: the policy lives here, in the
//! library, so every host (the `bmad` binary, the [`Engine`](crate::engine::Engine), an
//! IDE) resumes the same runs and refuses the same ones for the same reasons.

use super::Runner;
use super::durable::Resumed;
use crate::state::{RunInfo, RunKind, RunStatus, StateError, Store};

/// What a resume is asked to continue.
#[derive(Debug, Clone, PartialEq)]
pub struct ResumeRequest {
    /// The run's id or a prefix of it; `None`: the newest unfinished run of the workflow.
    pub run: Option<String>,
    /// The workflow file's canonical path: the run must be a run of it.
    pub workflow: String,
    /// The sha256 of the workflow's files now.
    pub workflow_sha256: String,
    /// Go on although the workflow, the workspace or recorded artifacts changed.
    pub force: bool,
}

/// Why a run is not resumed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResumeRefused {
    /// The state store cannot be read, or has no such run (while the run is picked).
    #[error(transparent)]
    State(#[from] StateError),
    /// The state store failed while the picked run was read back or reopened (a damaged
    /// file, a failed write).
    #[error(transparent)]
    Replay(StateError),
    /// No run id was given and every run of the workflow succeeded.
    #[error("no unfinished run of `{0}` to resume")]
    NothingToResume(String),
    /// The run is a `bmad monitor` session.
    #[error("run {id} is a `bmad {kind}` session, which is not resumed")]
    NotARun {
        /// The run.
        id: String,
        /// What it is.
        kind: RunKind,
    },
    /// The run succeeded.
    #[error("run {0} succeeded: nothing to resume")]
    Succeeded(String),
    /// The run is going on in a live process.
    #[error("run {0} is still running in another process")]
    StillRunning(String),
    /// A simulated run resumed for real, or the other way round.
    #[error(
        "run {id} was {}; resume it {} --simulate",
        if *simulated { "simulated" } else { "a real run" },
        if *simulated { "with" } else { "without" }
    )]
    Simulation {
        /// The run.
        id: String,
        /// Whether it was simulated.
        simulated: bool,
    },
    /// A simulated run resumed with another seed.
    #[error("run {id} was simulated with --seed {seed}; resume it with the same seed")]
    Seed {
        /// The run.
        id: String,
        /// Its seed.
        seed: u64,
    },
    /// The run worked in another workspace.
    #[error("run {id} ran in the workspace `{recorded}`, not `{here}` (--force to resume it here)")]
    Workspace {
        /// The run.
        id: String,
        /// Where it ran.
        recorded: String,
        /// Where it is resumed.
        here: String,
    },
    /// The run is a run of another workflow.
    #[error("run {id} is a run of `{recorded}`, not of `{here}`")]
    Workflow {
        /// The run.
        id: String,
        /// Its workflow.
        recorded: String,
        /// The workflow given.
        here: String,
    },
    /// The workflow's files changed since the run started.
    #[error(
        "the workflow changed since run {0} started; steps are matched by their place in it, \
         so a changed file may skip or repeat work (resume with --force to go on anyway)"
    )]
    WorkflowChanged(String),
    /// Artifacts the run recorded are missing or changed.
    #[error(
        "not resumed: artifacts changed since run {id} recorded them:\n  {}\n\
         (resume with --force to go on with them as they are)",
        changed.join("\n  ")
    )]
    ArtifactsChanged {
        /// The run.
        id: String,
        /// Each artifact and how it changed.
        changed: Vec<String>,
    },
    /// An event the run recorded cannot be read back.
    #[error("the state file's event {seq} of run {id} cannot be read: {message}")]
    UnreadableEvent {
        /// The run.
        id: String,
        /// The event's place in the log.
        seq: u64,
        /// What failed.
        message: String,
    },
}

impl ResumeRefused {
    /// True when the request itself is wrong (no such run, the wrong flags), rather than
    /// the run's work having changed: `bmad run --resume` exits 2 for these, 1 otherwise.
    pub fn is_usage(&self) -> bool {
        !matches!(
            self,
            ResumeRefused::WorkflowChanged(_)
                | ResumeRefused::ArtifactsChanged { .. }
                | ResumeRefused::UnreadableEvent { .. }
                | ResumeRefused::Replay(_)
        )
    }
}

/// The run `request` names in `store`, if the policy lets this runner resume it: a `bmad
/// run` (not a monitor session) that did not succeed and is not running, simulated (with
/// the same seed) or not as this runner is, of the same workflow, in the same workspace
/// with the same files unless `force`.
///
/// # Errors
///
/// A [`ResumeRefused`] saying why the run is not resumed: there is none, or the policy
/// refuses it; or the store cannot be read.
pub fn resumable(
    store: &Store,
    request: &ResumeRequest,
    simulate: bool,
    seed: u64,
    workspace: &std::path::Path,
) -> Result<RunInfo, ResumeRefused> {
    let run = match &request.run {
        None => store
            .latest_unfinished(&request.workflow)?
            .ok_or_else(|| ResumeRefused::NothingToResume(request.workflow.clone()))?,
        Some(id) => store.run(id)?,
    };
    let id = run.id.clone();
    if run.kind != RunKind::Run {
        return Err(ResumeRefused::NotARun { id, kind: run.kind });
    }
    match run.status {
        RunStatus::Succeeded => return Err(ResumeRefused::Succeeded(id)),
        RunStatus::Running | RunStatus::Waiting => return Err(ResumeRefused::StillRunning(id)),
        RunStatus::Failed | RunStatus::Interrupted | RunStatus::Paused | RunStatus::Crashed => {}
    }
    if run.simulate != simulate {
        return Err(ResumeRefused::Simulation {
            id,
            simulated: run.simulate,
        });
    }
    if run.simulate && run.seed != seed {
        return Err(ResumeRefused::Seed { id, seed: run.seed });
    }
    let here = workspace.display().to_string();
    if run.workspace != here && !request.force {
        return Err(ResumeRefused::Workspace {
            id,
            recorded: run.workspace.clone(),
            here,
        });
    }
    if run.workflow != request.workflow {
        return Err(ResumeRefused::Workflow {
            id,
            recorded: run.workflow.clone(),
            here: request.workflow.clone(),
        });
    }
    if run.workflow_sha256 != request.workflow_sha256 && !request.force {
        return Err(ResumeRefused::WorkflowChanged(id));
    }
    Ok(run)
}

impl Runner {
    /// Picks the run `request` names in `store` and, if [`resumable`] lets it, prepares
    /// this runner to continue it (see [`Runner::resume`]).
    ///
    /// # Errors
    ///
    /// As [`resumable`] and [`Runner::resume`].
    pub fn resume_from(
        &mut self,
        store: Store,
        request: &ResumeRequest,
    ) -> Result<Resumed, ResumeRefused> {
        let run = resumable(
            &store,
            request,
            self.options.simulate,
            self.options.seed,
            &self.options.workspace,
        )?;
        self.resume(store, &run, request.force)
    }
}
