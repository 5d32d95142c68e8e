//! The scheduler's side of the operations desk: what the runner lends the desk through
//! [`OpsHost`], and nothing more.

use super::Runner;
use super::event::EventKind;
use super::ops::OpsHost;
use super::process::Shelled;
use super::steps::{Ctx, StepError};
use super::workspace::Workspace;
use crate::ir::Program;
use crate::model::step::Step;
use crate::script::Sandbox;
use futures::FutureExt;
use futures::future::LocalBoxFuture;
use std::time::Duration;

impl OpsHost for Runner {
    fn program(&self) -> &Program {
        &self.program
    }

    fn now_ms(&self) -> u64 {
        Runner::now_ms(self)
    }

    fn record(&self, kind: EventKind) {
        Runner::record(self, kind);
    }

    fn note(&self, step: &str, text: String) {
        Runner::note(self, step, text);
    }

    fn sandbox(&self) -> &Sandbox {
        self.scripts.sandbox()
    }

    fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    fn steps<'a>(
        &'a self,
        body: &'a [Step],
        ctx: &'a Ctx<'a>,
    ) -> LocalBoxFuture<'a, Result<(), StepError>> {
        Runner::steps(self, body, ctx)
    }

    fn check<'a>(
        &'a self,
        name: &'a str,
        ctx: &'a Ctx<'a>,
    ) -> LocalBoxFuture<'a, Result<(), StepError>> {
        self.named_check(name, ctx)
    }

    fn acknowledged<'a>(
        &'a self,
        incident: &'a str,
        prompt: String,
    ) -> LocalBoxFuture<'a, Option<String>> {
        self.acknowledgement(incident, prompt).boxed_local()
    }

    fn sh<'a>(&'a self, command: &'a str, timeout: Duration) -> LocalBoxFuture<'a, Shelled> {
        super::process::sh(
            command,
            &self.options.workspace,
            self.workflow_dir(),
            Some(timeout),
            &self.marks,
        )
        .boxed_local()
    }
}
