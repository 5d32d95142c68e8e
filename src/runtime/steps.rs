//! Running steps: each construct of the core. Shell commands and probes run for real
//! outside a simulation; operations steps (escalate, alert, isolate, `stop_writes`, watch,
//! rollback, heal) go to the operations desk; notify and report are recorded as events.

use super::Runner;
use super::event::EventKind;
use crate::model::step::{Cond, Script, Step, StepKind};
use crate::model::{CheckBody, Story};
use futures::FutureExt;
use futures::future::LocalBoxFuture;
use rhai::Dynamic;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tracing::Instrument;

pub(super) use super::loop_state::LoopState;
pub(crate) use super::step_error::StepError;

/// Where steps run: the step's place in the workflow, the phase (and its limit), the
/// story, agent variables, loop state.
#[derive(Clone)]
pub(super) struct Ctx<'a> {
    /// The step's place: phase, step indices, stories, loop attempts and calls, joined by
    /// `/`. It names a step the same way in every run of the workflow, so a resume knows
    /// which steps ended.
    pub(super) path: String,
    /// The phase's limit of tasks at once.
    pub(super) phase: Option<Arc<Semaphore>>,
    pub(super) story: Option<&'a Story>,
    /// The stories the current story depends on (shared by the story's contexts).
    pub(super) deps: Rc<[&'a Story]>,
    pub(super) vars: Rc<RefCell<HashMap<String, String>>>,
    pub(super) state: Rc<LoopState>,
    /// The operation (heal, incident, emergency, ...) these steps belong to, if any.
    pub(super) ops: Option<Rc<super::ops::OpsScope>>,
    /// The story's git worktree, when its work is delivered through git.
    pub(super) tree: Option<Rc<super::delivery::StoryTree>>,
    /// How many tasks may run side by side here (the stories a for-each runs at once,
    /// times the branches of a parallel block, ...): the first tasks split what the
    /// budget has left by it.
    pub(super) width: usize,
}

impl<'a> Ctx<'a> {
    /// The context of a phase's body.
    pub(super) fn phase(name: &str, limit: Arc<Semaphore>) -> Ctx<'a> {
        Ctx {
            path: name.to_string(),
            phase: Some(limit),
            story: None,
            deps: Rc::new([]),
            vars: Rc::default(),
            state: Rc::default(),
            ops: None,
            tree: None,
            width: 1,
        }
    }

    /// The context of one story of a for-each, with the stories it depends on; `width`
    /// stories of the for-each may run at once.
    pub(super) fn for_story(
        &self,
        story: &'a Story,
        deps: Vec<&'a Story>,
        width: usize,
    ) -> Ctx<'a> {
        Ctx {
            path: joined(&self.path, story.id.name.as_str()),
            phase: self.phase.clone(),
            story: Some(story),
            deps: deps.into(),
            vars: Rc::default(),
            state: Rc::default(),
            ops: self.ops.clone(),
            tree: None,
            width: self.width.saturating_mul(width),
        }
    }

    /// The same context one level down, at `part`.
    pub(super) fn at(&self, part: impl std::fmt::Display) -> Ctx<'a> {
        Ctx {
            path: joined(&self.path, part),
            phase: self.phase.clone(),
            story: self.story,
            deps: Rc::clone(&self.deps),
            vars: Rc::clone(&self.vars),
            state: Rc::clone(&self.state),
            ops: self.ops.clone(),
            tree: self.tree.clone(),
            width: self.width,
        }
    }
}

/// `path/part`, made in one allocation (`format!` grows its string as it writes).
fn joined(path: &str, part: impl std::fmt::Display) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(path.len() + 24);
    out.push_str(path);
    out.push('/');
    let _ = write!(out, "{part}");
    out
}

fn duration(q: Option<&crate::model::step::Quantity>) -> Option<Duration> {
    q.and_then(crate::model::step::Quantity::duration)
}

impl Runner {
    /// Runs `steps` in order; the first failure stops them.
    pub(super) fn steps<'a>(
        &'a self,
        steps: &'a [Step],
        ctx: &'a Ctx<'a>,
    ) -> LocalBoxFuture<'a, Result<(), StepError>> {
        async move {
            for (i, s) in steps.iter().enumerate() {
                self.step(s, &ctx.at(i)).await?;
            }
            Ok(())
        }
        .boxed_local()
    }

    fn scope(&self, ctx: &Ctx) -> rhai::Scope<'static> {
        let mut story = rhai::Map::new();
        if let Some(s) = ctx.story {
            story.insert("id".into(), Dynamic::from(s.id.name.to_string()));
            story.insert("type".into(), Dynamic::from(s.story_type.name.to_string()));
            story.insert(
                "attempts".into(),
                Dynamic::from(i64::try_from(ctx.state.attempt.get()).unwrap_or(i64::MAX)),
            );
        }
        crate::script::scope_with([
            ("approved", Dynamic::from(ctx.state.approved.get())),
            (
                "attempt",
                Dynamic::from(i64::try_from(ctx.state.attempt.get()).unwrap_or(i64::MAX)),
            ),
            (
                "qa_feedback",
                Dynamic::from(ctx.state.feedback.borrow().clone()),
            ),
            ("story", Dynamic::from(story)),
            ("system", Dynamic::from(self.ops.system_map(&self.program))),
            (
                "incident",
                Dynamic::from(super::ops::Desk::incident_map(ctx)),
            ),
        ])
    }

    pub(super) fn eval(&self, cond: &Cond, ctx: &Ctx) -> Result<Dynamic, StepError> {
        let script = match cond {
            Cond::Script(s) => s.clone(),
            Cond::Path(n) => Script {
                code: n.name.to_string(),
                span: n.span,
            },
        };
        // In a story's worktree, file functions read the story's files.
        let dir = ctx.tree.as_ref().map(|t| t.tree.dir.clone());
        crate::script::host::with_root(dir, || self.scripts.eval(&script, &mut self.scope(ctx)))
            .map_err(|e| {
                let at = self.program.locate(e.span.unwrap_or(script.span));
                StepError::Script(format!("the script at {at} failed: {}", e.message))
            })
    }

    fn step<'a>(
        &'a self,
        step: &'a Step,
        ctx: &'a Ctx<'a>,
    ) -> LocalBoxFuture<'a, Result<(), StepError>> {
        let span = tracing::debug_span!(
            "step",
            kind = step.kind.keyword(),
            at = %self.program.locate(step.span)
        );
        // A task, the step that runs most, is boxed on its own: the future of the other
        // steps is several times larger, and each step's box would be that size.
        if let StepKind::Task(t) = &step.kind {
            return self.task(t, ctx).instrument(span).boxed_local();
        }
        async move {
            match &step.kind {
                StepKind::Task(t) => self.task(t, ctx).await,
                StepKind::Handoff(h) => self.handoff(h),
                StepKind::Parallel { branches, .. } => {
                    let results = futures::future::join_all(branches.iter().enumerate().map(
                        |(i, b)| async move {
                            let ctx = Ctx {
                                width: ctx.width.saturating_mul(branches.len()),
                                ..ctx.at(format!("p{i}"))
                            };
                            self.step(b, &ctx).await
                        },
                    ))
                    .await;
                    results.into_iter().collect()
                }
                StepKind::ForEach { max, body, .. } => {
                    self.for_each(
                        max.map(|m| usize::try_from(m.value).unwrap_or(usize::MAX)),
                        body,
                        ctx,
                    )
                    .await
                }
                StepKind::Repeat { max, body, until } => {
                    let max = max.map_or(1, |m| m.value);
                    // A story the merge lane sent back goes on from its attempts so far
                    // (in its loop of verdicts, not in another loop before it).
                    let verdicts = crate::model::step::holds_verdict(body);
                    let first = if verdicts {
                        ctx.state.carried.take() + 1
                    } else {
                        1
                    };
                    for attempt in first..=max {
                        ctx.state.attempt.set(attempt);
                        if verdicts {
                            ctx.state.new_attempt(attempt);
                        }
                        self.steps(body, &ctx.at(format!("#{attempt}"))).await?;
                        let done = match until {
                            Some(c) => self.eval(c, ctx)?.as_bool().map_err(|t| {
                                StepError::Script(format!("`until` gave a {t}, not a bool"))
                            })?,
                            None => true,
                        };
                        if done {
                            return Ok(());
                        }
                        self.untouched_feedback(ctx).await;
                    }
                    Err(StepError::NotDone { attempts: max })
                }
                StepKind::Retry { max, backoff, body } => {
                    let max = max.map_or(crate::model::step::DEFAULT_RETRIES, |m| m.value);
                    let mut last = StepError::Fail(String::new());
                    for attempt in 1..=max {
                        ctx.state.attempt.set(attempt);
                        match self.steps(body, &ctx.at(format!("#{attempt}"))).await {
                            Ok(()) => return Ok(()),
                            // A pause is no failure to try again.
                            Err(e @ StepError::Paused(_)) => return Err(e),
                            Err(e) => last = e,
                        }
                        if let Some(d) = duration(backoff.as_ref()) {
                            tokio::time::sleep(d).await;
                        }
                    }
                    Err(StepError::Retried {
                        attempts: max,
                        last: Box::new(last),
                    })
                }
                StepKind::If {
                    cond,
                    then,
                    otherwise,
                } => {
                    let yes = self
                        .eval(cond, ctx)?
                        .as_bool()
                        .map_err(|t| StepError::Script(format!("`if` gave a {t}, not a bool")))?;
                    let (branch, part) = if yes {
                        (then, "then")
                    } else {
                        (otherwise, "else")
                    };
                    self.steps(branch, &ctx.at(part)).await
                }
                StepKind::Match { subject, arms } => {
                    let value = self.eval(subject, ctx)?.to_string();
                    match arms
                        .iter()
                        .enumerate()
                        .find(|(_, a)| a.pattern.name == value.as_str() || a.pattern.name == "_")
                    {
                        Some((i, arm)) => self.steps(&arm.body, &ctx.at(format!("arm{i}"))).await,
                        None => Ok(()),
                    }
                }
                StepKind::OnFailure { body, handler } => {
                    match self.steps(body, &ctx.at("try")).await {
                        Ok(()) => Ok(()),
                        Err(e @ StepError::Paused(_)) => Err(e),
                        Err(e) => {
                            self.record(EventKind::Note {
                                step: "on_failure".into(),
                                text: e.to_string(),
                            });
                            self.sync_point("error_occurrence");
                            self.steps(handler, &ctx.at("on_failure")).await
                        }
                    }
                }
                StepKind::Group { body, .. } => self.steps(body, &ctx.at("group")).await,
                StepKind::Fail { reason } => Err(StepError::Fail(reason.clone())),
                StepKind::Assign { var, arms, .. } => {
                    let ty = ctx.story.map_or("", |s| s.story_type.name.as_str());
                    if let Some(arm) = arms
                        .iter()
                        .find(|a| a.story_type.name == ty || a.story_type.name == "_")
                    {
                        ctx.vars
                            .borrow_mut()
                            .insert(var.name.to_string(), arm.agent.name.to_string());
                        Ok(())
                    } else {
                        Err(StepError::Undefined(format!(
                            "no agent for stories of type `{ty}`"
                        )))
                    }
                }
                StepKind::Call {
                    target,
                    kind: crate::model::step::CallKind::Heal,
                } => {
                    let trigger = ctx.ops.as_ref().map_or_else(
                        || super::ops::Trigger {
                            what: format!("`heal {}` at {}", target.name, ctx.path),
                            ..Default::default()
                        },
                        |o| o.trigger.borrow().clone(),
                    );
                    self.ops.heal(self, &target.name, trigger).await
                }
                // A heal called like a procedure is still a heal: its plan runs.
                StepKind::Call { target, .. }
                    if self
                        .program
                        .procedure(&target.name)
                        .is_some_and(|p| p.heal.is_some()) =>
                {
                    let trigger = ctx.ops.as_ref().map_or_else(
                        || super::ops::Trigger {
                            what: format!("`call {}` at {}", target.name, ctx.path),
                            ..Default::default()
                        },
                        |o| o.trigger.borrow().clone(),
                    );
                    self.ops.heal(self, &target.name, trigger).await
                }
                StepKind::Call { target, .. } => match self.program.procedure(&target.name) {
                    Some(pr) => {
                        self.steps(&pr.body, &ctx.at(format!("call:{}", target.name)))
                            .await
                    }
                    None => Err(StepError::Undefined(format!(
                        "no procedure `{}`",
                        target.name
                    ))),
                },
                StepKind::Check {
                    checks,
                    script,
                    must_pass,
                } => {
                    let mut failures = Vec::new();
                    if let Some(s) = script
                        && !matches!(
                            self.eval(&Cond::Script(s.clone()), ctx)?.as_bool(),
                            Ok(true)
                        )
                    {
                        failures.push("its condition is not true".to_string());
                    }
                    for name in checks {
                        if let Err(why) = self.named_check(&name.name, ctx).await {
                            failures.push(format!("check `{}` failed: {why}", name.name));
                        }
                    }
                    // A diagnosis (must_pass false) records what failed and goes on.
                    for why in &failures {
                        self.note("check", why.clone());
                    }
                    match failures.into_iter().next() {
                        Some(why) if *must_pass => Err(StepError::Check(why)),
                        _ => Ok(()),
                    }
                }
                StepKind::Sh { command, timeout } if !self.options.simulate => {
                    self.shell(&command.value, duration(timeout.as_ref()), ctx)
                        .await
                }
                StepKind::Probe(p) if !self.options.simulate => self.probe(p).await,
                StepKind::Deploy { environment, by } => {
                    self.deploy(environment, by.as_ref(), ctx).await
                }
                StepKind::Escalate { level } => {
                    self.ops.escalate(&level.name, ctx);
                    Ok(())
                }
                StepKind::Alert { to, message } => {
                    let to = to.as_ref().map(|t| t.name.as_str());
                    self.ops.alert(self, to, None, &message.value).await;
                    Ok(())
                }
                StepKind::Isolate { target } | StepKind::StopWrites { target } => {
                    let (kind, text) = describe(&step.kind);
                    self.note(kind, text);
                    self.ops.pause(self, &target.name, ctx);
                    Ok(())
                }
                StepKind::Watch { monitor } => {
                    self.ops
                        .request(super::ops::Job::Monitor(monitor.name.to_string()));
                    for p in self
                        .program
                        .procedures
                        .iter()
                        .filter(|p| p.schedule.is_some())
                    {
                        self.ops
                            .request(super::ops::Job::Maintenance(p.name.name.to_string()));
                    }
                    Ok(())
                }
                StepKind::Rollback { environment } => self.rollback(environment, ctx).await,
                StepKind::Approve(a) => self.approve_step(a, ctx).await,
                StepKind::Wait { duration: d } => {
                    if let Some(d) = duration(Some(d)) {
                        tokio::time::sleep(d).await;
                    }
                    Ok(())
                }
                other => {
                    // Steps that touch the world are recorded, not performed, in a simulation.
                    let (kind, text) = describe(other);
                    self.record(EventKind::Note {
                        step: kind.into(),
                        text,
                    });
                    Ok(())
                }
            }
        }
        .instrument(span)
        .boxed_local()
    }

    /// Runs the named check: its rhai condition or its steps; says why it failed.
    pub(super) fn named_check<'a>(
        &'a self,
        name: &'a str,
        ctx: &'a Ctx<'a>,
    ) -> LocalBoxFuture<'a, Result<(), StepError>> {
        async move {
            match self
                .program
                .checks
                .iter()
                .find(|c| c.name.name == name)
                .map(|c| &c.body)
            {
                Some(CheckBody::Script(s)) => {
                    match self.eval(&Cond::Script(s.clone()), ctx)?.as_bool() {
                        Ok(true) => Ok(()),
                        Ok(false) => Err(StepError::Check("its condition is false".into())),
                        Err(t) => Err(StepError::Script(format!(
                            "its condition gave a {t}, not a bool"
                        ))),
                    }
                }
                Some(CheckBody::Steps { steps }) => {
                    self.steps(steps, &ctx.at(format!("check:{name}"))).await
                }
                None => Err(StepError::Undefined(format!("no check `{name}`"))),
            }
        }
        .boxed_local()
    }
}

/// A steps's kind and what it says, for the event of a simulated step.
fn describe(kind: &StepKind) -> (&'static str, String) {
    match kind {
        StepKind::Sh { command, .. } => ("sh", command.value.to_string()),
        StepKind::Probe(p) => ("probe", format!("{} {}", p.method, p.target.value)),
        StepKind::Escalate { level } => (
            "escalate",
            format!("incident opened at level {}", level.name),
        ),
        StepKind::Alert { to, message } => (
            "alert",
            format!(
                "{}: {}",
                to.as_ref().map_or("operations", |t| t.name.as_str()),
                message.value
            ),
        ),
        StepKind::Notify { to, message } => (
            "notify",
            format!(
                "{}: {}",
                to.iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                message.as_ref().map_or("", |m| m.value.as_str())
            ),
        ),
        StepKind::Rollback { environment } => ("rollback", environment.name.to_string()),
        StepKind::Isolate { target } => ("isolate", target.name.to_string()),
        StepKind::StopWrites { target } => ("stop_writes", target.name.to_string()),
        StepKind::Report { message } => (
            "report",
            message
                .as_ref()
                .map_or(String::new(), |m| m.value.to_string()),
        ),
        StepKind::Watch { monitor } => ("watch", monitor.name.to_string()),
        _ => ("step", String::new()),
    }
}
