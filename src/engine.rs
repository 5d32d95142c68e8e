//! The embedding API: load a workflow, give agents your own backends, watch the events,
//! run it. The `bmad` binary is one host of this; an IDE, a bot or a CI job can be another.

use crate::Checked;
use crate::runtime::backend::{AgentBackend, Invocation, Outcome};
use crate::runtime::event::{Event, Listener};
use crate::runtime::{Report, RunOptions, Runner};
use futures::future::BoxFuture;
use std::path::Path;
use std::sync::Arc;

/// Why a workflow could not be loaded or run.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    /// What went wrong; for a workflow with errors, its rendered diagnostics.
    pub message: String,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

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
    pub fn from_path(path: &Path) -> Result<Engine, Error> {
        Engine::from_checked(crate::check_path(path))
    }

    /// Loads and checks a workflow given as text (relative imports resolve from the
    /// current directory).
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
            return Err(Error { message });
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
    pub fn backend(&mut self, agent: &str, backend: Arc<dyn AgentBackend>) -> Result<(), Error> {
        if self.checked.program.agent(agent).is_none() {
            return Err(Error {
                message: format!("the workflow has no agent `{agent}`"),
            });
        }
        self.backends.push((agent.to_string(), backend));
        Ok(())
    }

    /// Runs `agent`'s tasks with a closure that does each at once. For work that takes
    /// time, implement [`AgentBackend`] and use [`Engine::backend`].
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
    pub async fn run(self, options: RunOptions) -> Result<Report, Error> {
        let mut runner =
            Runner::new(self.checked.program, options).map_err(|message| Error { message })?;
        for (agent, backend) in self.backends {
            runner.set_backend(&agent, backend);
        }
        for listener in self.listeners {
            runner.on_event(listener);
        }
        Ok(runner.run().await)
    }
}
