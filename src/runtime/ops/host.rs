//! The narrow interface between the operations desk and the scheduler it runs beside: the
//! desk owns its own state (jobs, pauses, statuses, incidents, the simulated world) and
//! asks the scheduler, through [`OpsHost`], only for the program, the run's clock and
//! event recorder, the scripts' sandbox, the workspace, and running steps, checks and
//! commands.

use super::super::event::EventKind;
use super::super::process::Shelled;
use super::super::steps::{Ctx, StepError};
use super::super::workspace::Workspace;
use crate::ir::Program;
use crate::model::step::Step;
use crate::script::Sandbox;
use futures::future::LocalBoxFuture;
use std::time::Duration;

/// What the operations desk needs of the scheduler that runs it (the runner implements
/// it); the desk reaches nothing else of the scheduler.
pub(in crate::runtime) trait OpsHost {
    /// The program being run.
    fn program(&self) -> &Program;

    /// Milliseconds since the run started (virtual in a simulation).
    fn now_ms(&self) -> u64;

    /// Records an event of the run (its secrets masked first).
    fn record(&self, kind: EventKind);

    /// Records what an operation did.
    fn note(&self, step: &str, text: String) {
        self.record(EventKind::Note {
            step: step.into(),
            text,
        });
    }

    /// The scripts' sandbox: the secrets to redact, the hosts the workflow declares.
    fn sandbox(&self) -> &Sandbox;

    /// The run's workspace.
    fn workspace(&self) -> &Workspace;

    /// Runs `body` in order at `ctx` (an operation's context); the first failure stops it.
    fn steps<'a>(
        &'a self,
        body: &'a [Step],
        ctx: &'a Ctx<'a>,
    ) -> LocalBoxFuture<'a, Result<(), StepError>>;

    /// Runs the named check at `ctx`; says why it failed.
    fn check<'a>(
        &'a self,
        name: &'a str,
        ctx: &'a Ctx<'a>,
    ) -> LocalBoxFuture<'a, Result<(), StepError>>;

    /// Runs `command` in the workspace as the run runs its commands (what it leaves
    /// running is stopped with the run), within `timeout`.
    fn sh<'a>(&'a self, command: &'a str, timeout: Duration) -> LocalBoxFuture<'a, Shelled>;

    /// Waits until a person acknowledges `incident` (`bmad ack RUN INCIDENT`, asked with
    /// `prompt`); who did. Never ends where nobody can answer (a simulation, a run with
    /// no state store).
    fn acknowledged<'a>(
        &'a self,
        incident: &'a str,
        prompt: String,
    ) -> LocalBoxFuture<'a, Option<String>>;
}
