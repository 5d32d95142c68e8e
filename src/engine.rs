//! The embedding API: load a workflow, give agents your own backends, watch the events,
//! run it. The `bmad` binary is one host of this; an IDE, a bot or a CI job can be another.

use crate::Checked;
use crate::runtime::backend::{AgentBackend, Invocation, Outcome};
use crate::runtime::durable::Resumed;
use crate::runtime::event::{Event, Listener};
use crate::runtime::resume::{ResumeRefused, ResumeRequest};
use crate::runtime::{Report, RunOptions, Runner};
use crate::state::{StateError, Store};
use futures::future::BoxFuture;
use std::path::Path;
use std::sync::Arc;

/// Why a workflow could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The workflow cannot be read or has errors: its rendered diagnostics.
    #[error("{0}")]
    Workflow(String),
    /// A backend was given for an agent the workflow does not declare.
    #[error("the workflow has no agent `{0}`")]
    NoAgent(String),
    /// The runner cannot be set up (an agent adapter, the git setup, a working directory).
    #[error(transparent)]
    Setup(#[from] crate::runtime::SetupError),
    /// The state store cannot be opened or written.
    #[error(transparent)]
    State(#[from] StateError),
    /// The run asked for is not resumed.
    #[error(transparent)]
    Resume(#[from] ResumeRefused),
}

/// A checked workflow ready to run, with the host's agents and event listeners.
pub struct Engine {
    checked: Checked,
    backends: Vec<(String, Arc<dyn AgentBackend>)>,
    listeners: Vec<Listener>,
}

/// An agent backend made of a closure that does a task at once.
struct FnBackend<F>(F);

impl<F> AgentBackend for FnBackend<F>
where
    F: Fn(Invocation) -> Outcome + Send + Sync,
{
    fn run(&self, invocation: Invocation) -> BoxFuture<'static, Outcome> {
        let outcome = (self.0)(invocation);
        Box::pin(async move { outcome })
    }
}

impl Engine {
    /// Loads and checks the workflow at `path` (with its imports). Fails when it has
    /// errors; warnings are kept in [`Engine::checked`].
    ///
    /// # Errors
    ///
    /// [`Error::Workflow`] when the file cannot be read or the workflow has errors.
    pub fn from_path(path: &Path) -> Result<Engine, Error> {
        Engine::from_checked(crate::check_path(path))
    }

    /// Loads and checks a workflow given as text (relative imports resolve from the
    /// current directory).
    ///
    /// # Errors
    ///
    /// [`Error::Workflow`] when the workflow has errors or an import cannot be read.
    pub fn from_text(name: &str, text: &str) -> Result<Engine, Error> {
        Engine::from_checked(crate::check_text(name, text))
    }

    fn from_checked(checked: Checked) -> Result<Engine, Error> {
        if checked.io_failed || checked.has_errors() {
            let options = crate::render::RenderOptions::default();
            let message = checked
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| crate::render::render(d, &checked.sources, options))
                .collect();
            return Err(Error::Workflow(message));
        }
        Ok(Engine {
            checked,
            backends: Vec::new(),
            listeners: Vec::new(),
        })
    }

    /// The checked workflow: program, sources and warnings.
    pub fn checked(&self) -> &Checked {
        &self.checked
    }

    /// Runs `agent`'s tasks with `backend` instead of the one the file declares.
    ///
    /// # Errors
    ///
    /// [`Error::NoAgent`] when the workflow declares no agent `agent`.
    pub fn backend(&mut self, agent: &str, backend: Arc<dyn AgentBackend>) -> Result<(), Error> {
        if self.checked.program.agent(agent).is_none() {
            return Err(Error::NoAgent(agent.to_string()));
        }
        self.backends.push((agent.to_string(), backend));
        Ok(())
    }

    /// Runs `agent`'s tasks with a closure that does each at once. For work that takes
    /// time, implement [`AgentBackend`] and use [`Engine::backend`].
    ///
    /// # Errors
    ///
    /// [`Error::NoAgent`] when the workflow declares no agent `agent`.
    pub fn agent<F>(&mut self, agent: &str, f: F) -> Result<(), Error>
    where
        F: Fn(Invocation) -> Outcome + Send + Sync + 'static,
    {
        self.backend(agent, Arc::new(FnBackend(f)))
    }

    /// Calls `listener` with every event of the run, as it happens.
    pub fn on_event(&mut self, listener: impl Fn(&Event) + 'static) {
        self.listeners.push(Box::new(listener));
    }

    /// Runs the workflow. With `options.simulate` every agent without a host backend is
    /// simulated (run it on a paused tokio clock to take no real time).
    ///
    /// # Errors
    ///
    /// [`Error::Setup`] when the runner cannot be set up (an agent's adapter or working
    /// directory, the git setup).
    pub async fn run(self, options: RunOptions) -> Result<Report, Error> {
        Ok(self.runner(options)?.run().await)
    }

    /// Runs the workflow recorded in the state store at `state` as a new run of
    /// `workflow` (the name a later resume gives): its id and report. A run that stops
    /// (a crash, a failure, its future dropped) is continued by [`Engine::resume`].
    ///
    /// # Errors
    ///
    /// [`Error::Setup`] as [`Engine::run`]; [`Error::State`] when the state store cannot be
    /// opened or written.
    pub async fn run_durably(
        self,
        options: RunOptions,
        state: &Path,
        workflow: &str,
    ) -> Result<(String, Report), Error> {
        let sha256 = self.sha256();
        let mut runner = self.runner(options)?;
        let id = runner.record_to(Store::open(state)?, workflow, &sha256)?;
        Ok((id, runner.run().await))
    }

    /// Continues a run recorded in the state store at `state` (the newest unfinished run
    /// of `workflow` when `run` is `None`), if the library's resume policy lets it (see
    /// [`crate::runtime::resume::resumable`]): what the resume found, and the report.
    ///
    /// # Errors
    ///
    /// [`Error::Resume`] when there is no such run or the policy refuses it;
    /// [`Error::Setup`] and [`Error::State`] as [`Engine::run_durably`].
    pub async fn resume(
        self,
        options: RunOptions,
        state: &Path,
        workflow: &str,
        run: Option<&str>,
        force: bool,
    ) -> Result<(Resumed, Report), Error> {
        let request = ResumeRequest {
            run: run.map(str::to_string),
            workflow: workflow.to_string(),
            workflow_sha256: self.sha256(),
            force,
        };
        let mut runner = self.runner(options)?;
        let resumed = runner.resume_from(Store::open(state)?, &request)?;
        Ok((resumed, runner.run().await))
    }

    /// The sha256 of every file the workflow is made of: a resume refuses a changed one.
    fn sha256(&self) -> String {
        self.checked.workflow_sha256()
    }

    /// A runner of the workflow with the host's backends and listeners.
    fn runner(self, options: RunOptions) -> Result<Runner, Error> {
        let mut runner = Runner::new(self.checked.program, options)?;
        for (agent, backend) in self.backends {
            runner.set_backend(&agent, backend);
        }
        for listener in self.listeners {
            runner.on_event(listener);
        }
        Ok(runner)
    }
}
