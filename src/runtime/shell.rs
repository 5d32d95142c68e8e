//! The `sh` step: a shell command in the workspace (or the story's worktree), killed with
//! everything it started at its timeout, recorded so that one that ended is not run again
//! after a resume.

use super::Runner;
use super::event::EventKind;
use super::steps::{Ctx, StepError};
use std::time::Duration;

impl Runner {
    /// A shell command in the workspace; at its timeout it is killed with everything it
    /// started. A command that ended well before a resume is not run again.
    pub(super) async fn shell(
        &self,
        command: &str,
        timeout: Option<Duration>,
        ctx: &Ctx<'_>,
    ) -> Result<(), StepError> {
        if self.replayed(ctx).is_some_and(|s| s.ok) {
            return Ok(());
        }
        self.record(EventKind::Note {
            step: "sh".into(),
            text: command.to_string(),
        });
        self.step_started(ctx);
        let result = self.run_shell(command, timeout, ctx).await;
        self.step_finished(
            ctx,
            result.is_ok(),
            false,
            result.as_ref().err().map(ToString::to_string).as_deref(),
        );
        result
    }

    async fn run_shell(
        &self,
        command: &str,
        timeout: Option<Duration>,
        ctx: &Ctx<'_>,
    ) -> Result<(), StepError> {
        let done = super::process::sh(
            command,
            self.workspace_at(ctx).root(),
            self.workflow_dir(),
            timeout,
            &self.marks,
        )
        .await;
        if let Some(ops) = &ctx.ops {
            ops.output(&format!("$ {command}"));
            for text in [&done.stdout, &done.stderr] {
                if !text.trim().is_empty() {
                    ops.output(text.trim_end());
                }
            }
        }
        match done.error {
            None => Ok(()),
            Some(e) => Err(StepError::Shell(e)),
        }
    }
}
