//! Agent tasks: the context and prompt an agent gets, the artifacts it needs and
//! produces, and one invocation under the phase and global limits, recorded as events.

use super::Runner;
use super::backend::{Invocation, Outcome};
use super::budget::dollars;
use super::event::EventKind;
use super::steps::{Ctx, StepError};
use super::transient::Backoff;
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
        let call = Call {
            tasks: t.tasks.iter().map(|n| n.name.to_string()).collect(),
            validation,
            prompt: self.prompt(&agent, t, ctx, &produces),
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
            Some((_, limit)) => Some(
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
        // A paused run starts nothing; a spent ceiling pauses it (or blocks the story).
        if let Some(why) = self.pause.reason() {
            return Err(StepError::Paused(why));
        }
        let budget = match self.budget.admit(&call.agent, story.as_deref()) {
            Ok(left) => left,
            Err(spent) if spent.pauses_run() => return Err(self.pause_run(spent.to_string())),
            Err(spent) => return Err(StepError::NotStarted(spent.to_string())),
        };
        self.record_at(
            EventKind::TaskStarted {
                agent: call.agent.clone(),
                tasks: call.tasks.clone(),
                story: story.clone(),
                attempt,
                validation: call.validation,
            },
            Some(&ctx.path),
        );
        self.step_started(ctx);
        let mut prompt = std::mem::take(&mut call.prompt);
        let inbox = self.shared.borrow_mut().take_inbox(&call.agent);
        if !inbox.is_empty() {
            prompt.push_str("\nShared state changed since your last task:\n");
            for line in inbox {
                let _ = writeln!(prompt, "- {line}");
            }
        }
        let inv = Invocation {
            run: self.run_id().map(str::to_string),
            step: ctx.path.clone(),
            agent: call.agent.clone(),
            tasks: call.tasks.clone(),
            story: story.clone(),
            attempt,
            validation: call.validation,
            prompt,
            produces: call.produces.clone(),
            tree: ctx.tree.as_ref().map(|t| t.tree.clone()),
            timeout: call.timeout,
            budget,
            price: self.budget.price_of(&call.agent).cloned(),
        };
        let mut outcome = self.run_refused_again(&call, &inv, story.as_deref()).await;
        // What the agent said, masked before it goes anywhere (feedback, log, store).
        outcome.feedback = outcome.feedback.map(|f| self.mask(&f));
        if let Some(r) = &mut outcome.result {
            self.budget.charge(&call.agent, story.as_deref(), r);
        }
        if let Some(t) = &mut outcome.transcript {
            t.stdout = self.mask(&t.stdout);
            t.stderr = self.mask(&t.stderr);
        }
        if let (Some(j), Some(t)) = (self.rec.journal(), &outcome.transcript) {
            j.transcript(
                &ctx.path,
                crate::state::TranscriptRow {
                    seq: 0,
                    step: String::new(),
                    agent: call.agent.clone(),
                    tasks: call.tasks.join(", "),
                    story: story.clone(),
                    attempt,
                    ok: outcome.ok,
                    stdout: t.stdout.clone(),
                    stderr: t.stderr.clone(),
                    wall_ms: 0,
                },
            );
        }
        self.record_at(
            EventKind::TaskFinished {
                agent: call.agent.clone(),
                tasks: call.tasks.clone(),
                story: story.clone(),
                ok: outcome.ok,
                feedback: outcome.feedback.clone(),
                result: outcome.result.clone(),
            },
            Some(&ctx.path),
        );
        self.budget_share();
        // A task that failed as the run's budget ran out (stopped past it, or Claude Code's
        // own `--max-budget-usd`) is no failure of its work: the run pauses, and the task
        // runs again when it is resumed with more.
        if !outcome.ok
            && let Err(spent) = self.budget.admit(&call.agent, story.as_deref())
            && spent.pauses_run()
        {
            return Err(self.pause_run(format!(
                "{spent}; agent `{}` was stopped: {}",
                call.agent,
                outcome.feedback.as_deref().unwrap_or("no reason given")
            )));
        }
        // Its service refused it past the retries: no failure of the task, which runs
        // again when the run is resumed.
        if let Some(t) = outcome.transient {
            let tries = if t.retries() {
                format!(" after {} tries", Backoff::of(&self.program).retries + 1)
            } else {
                String::new()
            };
            return Err(self.pause_run(format!(
                "agent `{}`'s service is {t}{tries}: {}",
                call.agent,
                outcome.feedback.as_deref().unwrap_or("no reason given")
            )));
        }
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

    /// Runs `inv` on its agent's backend; while the agent's service refuses it (rate
    /// limited, overloaded), waits and tries again with the workflow's back-off. What
    /// each refused try spent is counted.
    async fn run_refused_again(
        &self,
        call: &Call,
        inv: &Invocation,
        story: Option<&str>,
    ) -> Outcome {
        let backoff = Backoff::of(&self.program);
        let mut tried = 0;
        loop {
            let mut outcome = self.run_once(call, inv.clone()).await;
            match outcome.transient {
                Some(t) if t.retries() && tried < backoff.retries => {
                    if let Some(r) = &mut outcome.result {
                        self.budget.charge(&call.agent, story, r);
                    }
                    let wait = backoff.wait(tried);
                    tried += 1;
                    self.note(
                        "agent",
                        format!(
                            "agent `{}`'s service is {t}: trying again in {} (retry {tried} of \
                             {}, not an attempt of the task): {}",
                            call.agent,
                            crate::model::literal::human_duration(wait),
                            backoff.retries,
                            self.mask(outcome.feedback.as_deref().unwrap_or_default())
                        ),
                    );
                    tokio::time::sleep(wait).await;
                }
                _ => return outcome,
            }
        }
    }

    /// Runs `inv` once. Past the task's timeout its future is dropped: an exec agent's
    /// processes are killed, a script agent's evaluation stopped.
    async fn run_once(&self, call: &Call, inv: Invocation) -> Outcome {
        let running = self.backend(&call.agent).run(inv);
        match call.timeout {
            Some(limit) => match tokio::time::timeout(limit, running).await {
                Ok(outcome) => outcome,
                Err(_) => Outcome {
                    ok: false,
                    feedback: Some(format!(
                        "stopped at the task's timeout of {} (limit `timeout`)",
                        crate::model::literal::human_duration(limit)
                    )),
                    ..Outcome::default()
                },
            },
            None => running.await,
        }
    }

    /// Pauses the run for `reason` (recorded once); the error that stops the step.
    pub(super) fn pause_run(&self, reason: String) -> StepError {
        if self.pause.reason().is_none() {
            self.pause.set(reason.clone());
            self.record(EventKind::RunPaused {
                reason: reason.clone(),
            });
        }
        StepError::Paused(self.pause.reason().unwrap_or(reason))
    }

    /// Records when the run has spent 80%, then all, of its budget (once each).
    fn budget_share(&self) {
        let Some(share) = self.budget.run_share() else {
            return;
        };
        for percent in [80u32, 100] {
            if share * 100.0 >= f64::from(percent) && self.budget.mark_reported(percent) {
                let spent = self.budget.spent();
                let limit = self.budget.run_limit();
                let mut what = Vec::new();
                if let Some(u) = limit.usd {
                    what.push(format!("{} of {}", dollars(spent.usd), dollars(u)));
                }
                if let Some(t) = limit.tokens {
                    what.push(format!("{:.0} of {t:.0} tokens", spent.tokens));
                }
                self.record(EventKind::BudgetSpent {
                    percent,
                    what: what.join(", "),
                });
            }
        }
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
