//! One agent task on its backend: its share of the budget (waiting while tasks in flight
//! hold all that is left), its tries (again while its service refuses it, again with a
//! larger share when it was stopped at its own), each recorded with what it cost and
//! printed; a spent budget or a service that keeps refusing pauses the run.

use super::Runner;
use super::backend::{Invocation, Outcome};
use super::budget::share::{Asked, Share};
use super::budget::{Left, dollars};
use super::event::EventKind;
use super::steps::{Ctx, StepError};
use super::task::Call;
use super::transient::Backoff;
use crate::model::budget::Scope;

impl Runner {
    /// Runs `call` with `prompt` until it ends with an outcome of its work: asks for its
    /// share of the budget, records its start, runs it, counts its cost and records its
    /// end; a task stopped at its share runs again with a larger one (not an attempt).
    ///
    /// # Errors
    ///
    /// [`StepError::Paused`] when the run pauses (a spent run or agent ceiling, too little
    /// left for a task stopped at its share, a service that keeps refusing);
    /// [`StepError::NotStarted`] when the story's own ceiling is spent.
    pub(super) async fn run_task(
        &self,
        call: &Call,
        prompt: &str,
        story: Option<&str>,
        attempt: u64,
        ctx: &Ctx<'_>,
    ) -> Result<Outcome, StepError> {
        let mut stopped_at: Option<Left> = None;
        loop {
            let share = self
                .budget_share_for(&call.agent, story, ctx, stopped_at.as_ref())
                .await?;
            self.record_at(
                EventKind::TaskStarted {
                    agent: call.agent.clone(),
                    tasks: call.tasks.clone(),
                    story: story.map(str::to_string),
                    attempt,
                    validation: call.validation,
                },
                Some(&ctx.path),
            );
            self.step_started(ctx);
            // Made for each try (a service that refuses it is tried again): no copy.
            let invocation = || Invocation {
                run: self.run_id().map(str::to_string),
                step: ctx.path.clone(),
                agent: call.agent.clone(),
                tasks: call.tasks.clone(),
                story: story.map(str::to_string),
                attempt,
                validation: call.validation,
                prompt: prompt.to_string(),
                produces: call.produces.clone(),
                tree: ctx.tree.as_ref().map(|t| t.tree.clone()),
                timeout: call.timeout,
                budget: share.left,
                price: self.budget.price_of(&call.agent).cloned(),
                remote: false,
            };
            let mut outcome = self.run_refused_again(call, invocation, story).await;
            let cost = self.record_try(call, prompt, story, attempt, ctx, &mut outcome);
            let stopped = !outcome.ok && (outcome.over_budget || share.used_up_by(cost));
            let held = share.left;
            // Given back once its cost is counted: a task waiting for a share sees both.
            drop(share);
            // A task that failed as the run's budget ran out (stopped past it, or Claude
            // Code's own `--max-budget-usd`) is no failure of its work: the run pauses,
            // and the task runs again when it is resumed with more.
            if !outcome.ok
                && let Some(spent) = self.budget.spent_ceiling(&call.agent, story)
                && spent.pauses_run()
            {
                return Err(self.pause_run(format!(
                    "{spent}; agent `{}` was stopped: {}",
                    call.agent,
                    outcome.feedback.as_deref().unwrap_or("no reason given")
                )));
            }
            if stopped && self.budget.spent_ceiling(&call.agent, story).is_none() {
                self.note(
                    "budget",
                    format!(
                        "agent `{}` was stopped at its share of the budget ({}): it runs \
                         again with a larger share (not an attempt of the task)",
                        call.agent,
                        share_words(&held)
                    ),
                );
                stopped_at = Some(held);
                continue;
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
            return Ok(outcome);
        }
    }

    /// The share of the budget a task of `agent` may spend, once one is free; a spent
    /// ceiling pauses the run (or refuses the story's task).
    async fn budget_share_for(
        &self,
        agent: &str,
        story: Option<&str>,
        ctx: &Ctx<'_>,
        stopped_at: Option<&Left>,
    ) -> Result<Share<'_>, StepError> {
        let slots = ctx.width.min(self.agents_at_once);
        loop {
            // A paused run starts nothing.
            if let Some(why) = self.pause.reason() {
                return Err(StepError::Paused(why));
            }
            match self.budget.ask(agent, story, slots, stopped_at) {
                Asked::Granted(share) => return Ok(share),
                Asked::Spent(spent) if spent.pauses_run() => {
                    return Err(self.pause_run(spent.to_string()));
                }
                Asked::Spent(spent) => return Err(StepError::NotStarted(spent.to_string())),
                Asked::TooLittle { left, scope } => {
                    let why = format!(
                        "the budget{} left ({}) is no more than the share agent `{agent}` \
                         was stopped at ({}): its task cannot get further",
                        scope_words(&scope),
                        share_words(&left),
                        stopped_at.map_or_else(String::new, share_words)
                    );
                    return Err(match scope {
                        Scope::PerStory => StepError::NotStarted(why),
                        _ => self.pause_run(why),
                    });
                }
                Asked::Wait => self.budget.released().await,
            }
        }
    }

    /// Masks and records what one try of `call` (given `prompt`) said and printed, counts what it cost (its
    /// cost is returned) and reports the run's budget share when it passes 80% or all.
    fn record_try(
        &self,
        call: &Call,
        prompt: &str,
        story: Option<&str>,
        attempt: u64,
        ctx: &Ctx<'_>,
        outcome: &mut Outcome,
    ) -> super::budget::Amount {
        // What the agent said, masked before it goes anywhere (feedback, log, store).
        outcome.feedback = outcome.feedback.take().map(|f| self.mask(&f));
        let cost = match &mut outcome.result {
            Some(r) => self.budget.charge(&call.agent, story, r),
            None => super::budget::Amount::default(),
        };
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
                    story: story.map(str::to_string),
                    attempt,
                    ok: outcome.ok,
                    stdout: t.stdout.clone(),
                    stderr: t.stderr.clone(),
                    wall_ms: 0,
                    prompt: Some(super::backend::Transcript::kept(
                        self.mask(prompt).as_bytes(),
                    )),
                },
            );
        }
        self.record_at(
            EventKind::TaskFinished {
                agent: call.agent.clone(),
                tasks: call.tasks.clone(),
                story: story.map(str::to_string),
                ok: outcome.ok,
                feedback: outcome.feedback.clone(),
                result: outcome.result.clone().map(Box::new),
            },
            Some(&ctx.path),
        );
        self.budget_share();
        cost
    }

    /// Runs the invocation `inv` makes on its agent's backend; while the agent's service
    /// refuses it (rate limited, overloaded), waits and tries again with the workflow's
    /// back-off. What each refused try spent is counted.
    async fn run_refused_again(
        &self,
        call: &Call,
        inv: impl Fn() -> Invocation,
        story: Option<&str>,
    ) -> Outcome {
        let backoff = Backoff::of(&self.program);
        let mut tried = 0;
        loop {
            let mut outcome = self.run_once(call, inv()).await;
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
            Some(limit) => tokio::time::timeout(limit, running)
                .await
                .unwrap_or_else(|_| timed_out(limit)),
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
}

/// The outcome of a task stopped at its own `timeout` of `limit`.
pub(super) fn timed_out(limit: std::time::Duration) -> Outcome {
    Outcome {
        ok: false,
        feedback: Some(format!(
            "stopped at the task's timeout of {} (limit `timeout`)",
            crate::model::literal::human_duration(limit)
        )),
        ..Outcome::default()
    }
}

/// Whose budget, in words: nothing for the run's, " of each story", " of agent `dev`".
fn scope_words(scope: &Scope) -> String {
    match scope {
        Scope::Run => String::new(),
        other => format!(" of {other}"),
    }
}

/// A share in words: `$0.25`, `40000 tokens`, or both.
fn share_words(left: &Left) -> String {
    let mut words = Vec::new();
    if let Some(u) = left.usd {
        words.push(dollars(u));
    }
    if let Some(t) = left.tokens {
        words.push(format!("{t:.0} tokens"));
    }
    words.join(", ")
}
