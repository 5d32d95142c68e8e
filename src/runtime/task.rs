//! Agent tasks: the context and prompt an agent gets, the artifacts it needs and
//! produces, and one invocation under the phase and global limits, recorded as events.

use super::Runner;
use super::backend::Outcome;
use super::steps::{Ctx, StepError};
use super::workspace::Artifact;
use super::workspace::WorkspaceError;
use crate::model::step::{Quantity, Task};
use std::fmt::Write;

/// What an agent is asked to do.
pub(super) struct Call {
    /// The agent (after `assign`).
    pub agent: String,
    /// The task names.
    pub tasks: Vec<String>,
    /// A QA validation: failing sends work back rather than failing the step.
    pub validation: bool,
    /// The prompt.
    pub prompt: String,
    /// The artifacts it must write.
    pub produces: Vec<Artifact>,
    /// The task's own `timeout`: past it the task is stopped and fails.
    pub timeout: Option<std::time::Duration>,
}

impl Runner {
    /// An agent task step: QA validations set `approved` and the feedback for the next
    /// attempt; any other task fails its step when the agent fails.
    pub(super) async fn task(&self, t: &Task, ctx: &Ctx<'_>) -> Result<(), StepError> {
        let validation = t.is_verdict();
        if let Some(done) = self.replayed(ctx) {
            // Ended before a resume: its outcome stands, it does not run again.
            if validation {
                let said = done.feedback.clone().unwrap_or_default();
                ctx.state.verdict(t.agent.span, done.ok, said);
            }
            return Ok(());
        }
        let agent = ctx
            .vars
            .borrow()
            .get(t.agent.name.as_str())
            .cloned()
            .unwrap_or_else(|| t.agent.name.to_string());
        let produces = self.task_artifacts(&agent, t, ctx)?;
        // A simulated agent reads no prompt: none is made for it.
        let prompt = if self.backend(&agent).reads_prompt() {
            self.prompt(&agent, t, ctx, &produces)
        } else {
            String::new()
        };
        let call = Call {
            tasks: t.tasks.iter().map(|n| n.name.to_string()).collect(),
            validation,
            prompt,
            produces,
            agent,
            timeout: t.timeout.as_ref().and_then(Quantity::duration),
        };
        let outcome = self.invoke(call, ctx).await?;
        if validation {
            let said = outcome.feedback.unwrap_or_default();
            ctx.state.verdict(t.agent.span, outcome.ok, said);
            Ok(())
        } else if outcome.ok {
            Ok(())
        } else {
            Err(StepError::Task(
                outcome.feedback.unwrap_or_else(|| "the task failed".into()),
            ))
        }
    }

    /// Runs one call on its agent's backend once the phase and global limits allow it;
    /// records its start and end. A successful call that did not write an artifact it
    /// declares fails.
    pub(super) async fn invoke(&self, mut call: Call, ctx: &Ctx<'_>) -> Result<Outcome, StepError> {
        // stop_writes and isolate hold the workflows' tasks (not an operation's own).
        self.ops.wait_unpaused(ctx).await;
        let story = ctx.story.map(|s| s.id.name.to_string());
        let attempt = ctx.state.attempt.get().max(1);
        let _phase_permit = match &ctx.phase {
            Some(limit) => Some(
                limit
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|e| StepError::NotStarted(e.to_string()))?,
            ),
            None => None,
        };
        let _global_permit = self
            .global
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| StepError::NotStarted(e.to_string()))?;
        // Groups (`responders`) are no agent of their own: they hold nothing.
        let limits = self
            .agent_limits
            .get(&call.agent)
            .copied()
            .unwrap_or_default();
        let _admitted = self
            .admission
            .admit(&limits)
            .await
            .map_err(StepError::NotAdmitted)?;
        if let Some(why) = self
            .rec
            .journal()
            .and_then(super::journal::Journal::failure)
        {
            return Err(StepError::NotStarted(why.clone()));
        }
        let mut prompt = std::mem::take(&mut call.prompt);
        let inbox = self.shared.borrow_mut().take_inbox(&call.agent);
        if !inbox.is_empty() {
            prompt.push_str("\nShared state changed since your last task:\n");
            for line in inbox {
                let _ = writeln!(prompt, "- {line}");
            }
        }
        let outcome = self
            .run_task(&call, &prompt, story.as_deref(), attempt, ctx)
            .await?;
        if let Some(incident) = ctx.ops.as_ref().and_then(|o| o.incident.as_ref()) {
            incident.task_done(
                self.now_ms(),
                &call.agent,
                &call.tasks,
                outcome.ok,
                outcome.feedback.as_deref(),
                |a| self.program.agent(a).is_some(),
            );
        }
        let missing = call.produces.iter().find(|a| !a.exists());
        let result = match missing {
            Some(a) if outcome.ok => Err(StepError::Task(format!(
                "agent `{}` finished {} without writing {} ({})",
                call.agent,
                call.tasks.join(", "),
                a.label(),
                a.path.display()
            ))),
            _ => Ok(outcome),
        };
        self.task_ended(&call, ctx, &result);
        result
    }

    /// Records the artifacts a task wrote (with their sha256) and how it ended; a failure
    /// is a sync point.
    fn task_ended(&self, call: &Call, ctx: &Ctx<'_>, result: &Result<Outcome, StepError>) {
        let (ok, feedback) = match result {
            Ok(o) => (o.ok, o.feedback.clone()),
            Err(e) => (false, Some(e.to_string())),
        };
        if let Some(j) = self.rec.journal()
            && ok
        {
            for a in &call.produces {
                if let Ok(sha) = super::digest::sha256_path(&a.path) {
                    j.artifact(&a.written, &sha);
                }
            }
        }
        self.step_finished(ctx, ok, call.validation, feedback.as_deref());
        if !ok && !call.validation {
            self.sync_point("error_occurrence");
        }
    }

    /// The artifacts a task produces, on disk (in the story's worktree, when it has one);
    /// fails when one it needs is missing or a path leads out of the workspace. What a
    /// story needs may be in its worktree or, not committed, in the workspace.
    fn task_artifacts(
        &self,
        agent: &str,
        t: &Task,
        ctx: &Ctx<'_>,
    ) -> Result<Vec<Artifact>, StepError> {
        let here = self.workspace_at(ctx);
        for r in &t.needs {
            let found = [here, &self.workspace]
                .into_iter()
                .map(|w| w.artifact(r))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|source| StepError::Artifact {
                    agent: agent.to_string(),
                    source,
                })?;
            if !found.iter().any(Artifact::exists) {
                let a = &found[0];
                return Err(StepError::Task(format!(
                    "agent `{agent}` needs {}, which is not in the workspace ({})",
                    a.label(),
                    a.path.display()
                )));
            }
        }
        t.produces
            .iter()
            .map(|p| {
                let a = match (&p.name, &p.path) {
                    (name, Some(path)) => Artifact {
                        name: name.as_ref().map(|n| n.name.to_string()),
                        written: path.value.to_string(),
                        path: here.resolve(&path.value)?,
                        root: here.root().to_path_buf(),
                    },
                    (Some(name), None) => here.named_artifact(&name.name)?,
                    (None, None) => return Err(WorkspaceError::Unnamed),
                };
                Ok(a)
            })
            .collect::<Result<_, WorkspaceError>>()
            .map_err(|source| StepError::Artifact {
                agent: agent.to_string(),
                source,
            })
    }
}
