//! Incidents: opened at a level, whose agents are paged and must answer (finish a task of
//! the response) within the level's response time, or the incident climbs to the next
//! level. The response workflow runs its stages in order: detection, triage, resolution
//! (retried a level higher when it fails or does not verify), then the post-mortem stage
//! (resolved or not), whose Markdown files bmad writes from what it recorded; an incident
//! still open when the operations stop gets them too. A resolution is verified when the
//! check that set the incident off is healthy again; MTTR runs from the incident's opening
//! to that moment.

use super::super::event::EventKind;
use super::super::steps::{Ctx, StepError};
use super::{Desk, OpsHost, OpsScope, Trigger};
use crate::ir::ProcKind;
use crate::model::step::{Step, StepKind};
use crate::model::{Respond, Status};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// How often a resolution's verification looks at the check.
const VERIFY_POLL: Duration = Duration::from_secs(1);
/// How long a resolution is given to verify when the workflow does not say
/// (`settings { resolution_window ... }`).
const RESOLUTION_WINDOW: Duration = Duration::from_secs(120);

/// Why a stage of an incident's response failed: what its failing step said.
#[derive(Debug, Clone, thiserror::Error)]
#[error(transparent)]
pub struct StageError(Arc<StepError>);

/// Why a resolution did not resolve the incident.
#[derive(Debug, thiserror::Error)]
enum ResolutionError {
    /// The resolution stage failed.
    #[error("the resolution failed: {0}")]
    Failed(#[source] StageError),
    /// The check that set the incident off was not healthy again in time.
    #[error(
        "`{check}` was not healthy within {} of the resolution",
        crate::model::literal::human_duration(*limit)
    )]
    NotHealthy {
        /// The check (`monitor/check`).
        check: String,
        /// The time it had.
        limit: Duration,
    },
}

/// One incident, as it goes.
#[derive(Debug)]
pub struct Record {
    /// `INC-0001`.
    pub id: String,
    /// What set it off.
    pub trigger: Trigger,
    /// When it was opened (ms since the run started).
    pub opened_ms: u64,
    /// The level it was opened at.
    pub opened_level: String,
    level: Cell<usize>,
    levels: Vec<(String, Vec<String>)>,
    answered: Cell<bool>,
    /// Told each time the incident climbs a level (its pager pages the new one).
    climbed: tokio::sync::Notify,
    resolved_ms: Cell<Option<u64>>,
    timeline: RefCell<Vec<(u64, String)>>,
    stages: RefCell<Vec<(String, Result<(), StageError>)>>,
    notes: RefCell<Vec<String>>,
    files: RefCell<Vec<String>>,
}

impl Record {
    /// The level it is at now.
    pub fn level(&self) -> &str {
        &self.levels[self.level.get()].0
    }

    /// When its resolution was verified (ms since the run started).
    pub fn resolved_ms(&self) -> Option<u64> {
        self.resolved_ms.get()
    }

    /// What happened, in order.
    pub fn timeline(&self) -> Vec<(u64, String)> {
        self.timeline.borrow().clone()
    }

    /// Each stage of the response and how it ended.
    pub fn stages(&self) -> Vec<(String, Result<(), StageError>)> {
        self.stages.borrow().clone()
    }

    /// What responders reported (task feedback).
    pub fn notes(&self) -> Vec<String> {
        self.notes.borrow().clone()
    }

    /// The post-mortem files written.
    pub fn files(&self) -> Vec<String> {
        self.files.borrow().clone()
    }

    /// The levels it went through, in order.
    pub fn escalations(&self) -> usize {
        self.timeline
            .borrow()
            .iter()
            .filter(|(_, t)| t.starts_with("escalated"))
            .count()
    }

    fn log(&self, at: u64, text: String) {
        self.timeline.borrow_mut().push((at, text));
    }

    /// An agent finished a task of the response: it answers for the level when it is one
    /// of the level's agents (or the level names a group, such as `all_available`).
    pub(in crate::runtime) fn task_done(
        &self,
        at: u64,
        agent: &str,
        tasks: &[String],
        ok: bool,
        feedback: Option<&str>,
        known_agent: impl Fn(&str) -> bool,
    ) {
        self.log(
            at,
            format!(
                "{agent}: {} {}{}",
                tasks.join(", "),
                if ok { "done" } else { "failed" },
                feedback.map_or(String::new(), |f| format!(" ({f})"))
            ),
        );
        if let Some(f) = feedback {
            self.notes.borrow_mut().push(format!("{agent}: {f}"));
        }
        let agents = &self.levels[self.level.get()].1;
        if ok && agents.iter().any(|a| a == agent || !known_agent(a)) {
            self.answered.set(true);
        }
    }

    pub(super) fn add_file(&self, path: String) {
        self.files.borrow_mut().push(path);
    }
}

/// The incident as a page tells it: id, level, what set it off, the failing check and the
/// timeline so far.
fn details(rec: &Record) -> String {
    use std::fmt::Write;
    let mut text = format!(
        "Incident {} at level {}: {}",
        rec.id,
        rec.level(),
        rec.trigger.what
    );
    if let Some(check) = &rec.trigger.check {
        let _ = write!(text, "\nFailing check: {check}");
    }
    text.push_str("\nTimeline so far:");
    for (at, what) in rec.timeline() {
        let _ = write!(text, "\n- [{}] {what}", crate::model::literal::human_ms(at));
    }
    text
}

fn respond_within(r: Option<&Respond>) -> Option<Duration> {
    match r {
        Some(Respond::Immediate { .. }) => Some(Duration::ZERO),
        Some(Respond::Within(q)) => q.duration(),
        None => None,
    }
}

fn is_postmortem(label: &str) -> bool {
    matches!(label, "postmortem" | "post_mortem")
}

impl Desk {
    /// Opens an incident at `level` for `trigger` and runs its response to the end.
    pub(super) async fn incident(&self, host: &dyn OpsHost, level: &str, trigger: Trigger) {
        let levels = &host.program().incident_levels;
        if levels.is_empty() {
            host.note("escalate", format!("no incident levels: {}", trigger.what));
            return;
        }
        let start = levels
            .iter()
            .position(|l| l.name.name == level)
            .unwrap_or(0);
        let id = format!("INC-{:04}", self.incidents.borrow().len() + 1);
        let rec = Rc::new(Record {
            id: id.clone(),
            trigger: trigger.clone(),
            opened_ms: host.now_ms(),
            opened_level: levels[start].name.name.to_string(),
            level: Cell::new(start),
            levels: levels
                .iter()
                .map(|l| {
                    let agents = l.agents.iter().map(|a| a.name.to_string()).collect();
                    (l.name.name.to_string(), agents)
                })
                .collect(),
            answered: Cell::new(false),
            climbed: tokio::sync::Notify::new(),
            resolved_ms: Cell::new(None),
            timeline: RefCell::default(),
            stages: RefCell::default(),
            notes: RefCell::default(),
            files: RefCell::default(),
        });
        self.incidents.borrow_mut().push(Rc::clone(&rec));
        host.record(EventKind::IncidentOpened {
            incident: id.clone(),
            level: rec.level().to_string(),
            trigger: trigger.what.clone(),
        });
        rec.log(
            rec.opened_ms,
            format!("opened at level {}: {}", rec.level(), trigger.what),
        );
        let scope = OpsScope::new(id.clone(), trigger.clone(), Some(Rc::clone(&rec)));
        let ctx = Ctx::ops(format!("ops/{id}"), scope);
        Self::page(host, &rec, &ctx);
        tokio::select! {
            biased;
            () = self.respond(host, &rec, &ctx) => {}
            () = self.response_timer(host, &rec, &ctx) => {}
            () = self.pager(host, &rec, &ctx) => {}
        }
        self.write_postmortem(host, &rec);
    }

    /// Reaches the people of each level the incident is at: its real agents (exec and
    /// script agents; not in a simulation) get a `page` task with the incident's details,
    /// and a person may acknowledge with `bmad ack RUN ID`. A page task that succeeds, or
    /// an acknowledgement, answers the level and stops the climb. Never ends.
    async fn pager(&self, host: &dyn OpsHost, rec: &Record, ctx: &Ctx<'_>) {
        use futures::StreamExt;
        let levels = &host.program().incident_levels;
        // The real agents of each level.
        let real = |a: &&crate::model::step::Name| self.real_agent(host, &a.name);
        let prompt = format!(
            "Incident {} ({}): {}. Acknowledge with `bmad ack RUN {}`.",
            rec.id, rec.opened_level, rec.trigger.what, rec.id
        );
        let mut ack = std::pin::pin!(host.acknowledged(&rec.id, prompt));
        let mut acked = false;
        let mut paged: Option<usize> = None;
        let mut running = futures::stream::FuturesUnordered::new();
        loop {
            let level = rec.level.get();
            if paged != Some(level) {
                paged = Some(level);
                let details = details(rec);
                let l = &levels[level];
                for (i, agent) in l.agents.iter().filter(real).enumerate() {
                    let at = ctx.at(format!("page/{}/{i}", rec.levels[level].0));
                    let step = super::agent_task(&agent.name, "page", &details, l.span);
                    running.push(async move { host.steps(std::slice::from_ref(&step), &at).await });
                }
            }
            tokio::select! {
                by = &mut ack, if !acked => {
                    acked = true;
                    rec.answered.set(true);
                    let who = by.map_or(String::new(), |b| format!(" by {b}"));
                    rec.log(host.now_ms(), format!("acknowledged{who}"));
                    host.note("incident", format!("{} acknowledged{who}", rec.id));
                }
                Some(_) = running.next(), if !running.is_empty() => {}
                () = rec.climbed.notified() => {}
            }
        }
    }

    /// Writes the post-mortem of every incident still open when the operations stop (the
    /// end of `--for`, Ctrl-C, SIGTERM, the end of a run): "not resolved", with what was
    /// tried so far.
    pub(in crate::runtime) fn close_open(&self, host: &dyn OpsHost) {
        for rec in self.incidents() {
            if !rec.files().is_empty() {
                continue;
            }
            rec.log(
                host.now_ms(),
                "the session ended before the incident was resolved".into(),
            );
            self.write_postmortem(host, &rec);
        }
    }

    /// Pages the agents of the incident's level and binds `responders` to its last agent.
    fn page(host: &dyn OpsHost, rec: &Record, ctx: &Ctx<'_>) {
        let (level, agents) = &rec.levels[rec.level.get()];
        let respond = respond_within(
            host.program().incident_levels[rec.level.get()]
                .respond
                .as_ref(),
        );
        let text = format!(
            "{}: paged {} (level {level}{})",
            rec.id,
            agents.join(", "),
            respond.map_or(String::new(), |d| format!(
                ", answer within {}",
                crate::model::literal::human_duration(d)
            ))
        );
        rec.log(host.now_ms(), text.clone());
        host.note("incident", text);
        if let Some(agent) = agents
            .iter()
            .rev()
            .find(|a| host.program().agent(a).is_some())
        {
            ctx.vars
                .borrow_mut()
                .insert("responders".into(), agent.clone());
        }
    }

    /// Moves the incident one level up, if there is one; false at the top.
    fn raise(host: &dyn OpsHost, rec: &Record, ctx: &Ctx<'_>, reason: &str) -> bool {
        let from = rec.level.get();
        if from + 1 >= rec.levels.len() {
            rec.log(host.now_ms(), format!("at the top level: {reason}"));
            host.note("incident", format!("{} at the top level: {reason}", rec.id));
            return false;
        }
        rec.level.set(from + 1);
        rec.climbed.notify_one();
        host.record(EventKind::IncidentEscalated {
            incident: rec.id.clone(),
            from: rec.levels[from].0.clone(),
            to: rec.level().to_string(),
            reason: reason.to_string(),
        });
        rec.log(
            host.now_ms(),
            format!(
                "escalated {} -> {}: {reason}",
                rec.levels[from].0,
                rec.level()
            ),
        );
        Self::page(host, rec, ctx);
        true
    }

    /// Escalates each time a level's response time passes before one of its agents
    /// answered; ends never (the response ends the incident).
    async fn response_timer(&self, host: &dyn OpsHost, rec: &Record, ctx: &Ctx<'_>) {
        loop {
            let lvl = rec.level.get();
            let respond = respond_within(host.program().incident_levels[lvl].respond.as_ref());
            // The top level has nobody to escalate to: no timer.
            let (Some(wait), false) = (respond, lvl + 1 == rec.levels.len()) else {
                return std::future::pending().await;
            };
            tokio::time::sleep(wait).await;
            if rec.answered.get() {
                return std::future::pending().await;
            }
            if rec.level.get() != lvl {
                continue; // escalated meanwhile: the new level's time runs from now
            }
            let reason = format!(
                "level {} did not answer within {}",
                rec.levels[lvl].0,
                crate::model::literal::human_duration(wait)
            );
            if !Self::raise(host, rec, ctx, &reason) {
                return std::future::pending().await;
            }
        }
    }

    /// The response workflow: its stages in order, the resolution verified (and retried
    /// a level higher when it fails), then the post-mortem stages.
    async fn respond(&self, host: &dyn OpsHost, rec: &Record, ctx: &Ctx<'_>) {
        let flow = host
            .program()
            .procedures
            .iter()
            .find(|p| p.kind == ProcKind::Incident);
        let stages: Vec<(&str, &[Step])> = flow
            .map(|f| {
                f.body
                    .iter()
                    .map(|s| match &s.kind {
                        StepKind::Group { label, body } => (label.as_str(), body.as_slice()),
                        _ => ("step", std::slice::from_ref(s)),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut resolved = false;
        let mut had_resolution = false;
        for (label, body) in stages.iter().filter(|(l, _)| !is_postmortem(l)) {
            if *label != "resolution" {
                let _ = self.stage(host, rec, ctx, label, body).await;
                continue;
            }
            had_resolution = true;
            for _ in 0..rec.levels.len() {
                let why = match self.stage(host, rec, ctx, label, body).await {
                    Ok(()) => match self.resolved(host, rec).await {
                        Ok(()) => {
                            resolved = true;
                            break;
                        }
                        Err(e) => e.to_string(),
                    },
                    Err(e) => ResolutionError::Failed(e).to_string(),
                };
                if !Self::raise(host, rec, ctx, &why) {
                    break;
                }
            }
        }
        if !had_resolution {
            resolved = self.resolved(host, rec).await.is_ok();
        }
        if !resolved {
            rec.log(host.now_ms(), "not resolved".into());
            host.note("incident", format!("{} is not resolved", rec.id));
        }
        // The post-mortem stages run for an unresolved incident too: it needs one most.
        for (label, body) in stages.iter().filter(|(l, _)| is_postmortem(l)) {
            let _ = self.stage(host, rec, ctx, label, body).await;
        }
    }

    /// Runs one stage; records how it ended.
    async fn stage(
        &self,
        host: &dyn OpsHost,
        rec: &Record,
        ctx: &Ctx<'_>,
        label: &str,
        body: &[Step],
    ) -> Result<(), StageError> {
        rec.log(host.now_ms(), format!("{label} started"));
        let result = host
            .steps(body, &ctx.at(label))
            .await
            .map_err(|e| StageError(Arc::new(e)));
        host.record(EventKind::IncidentStage {
            incident: rec.id.clone(),
            stage: label.to_string(),
            ok: result.is_ok(),
        });
        rec.log(
            host.now_ms(),
            match &result {
                Ok(()) => format!("{label} done"),
                Err(e) => format!("{label} failed: {e}"),
            },
        );
        rec.stages
            .borrow_mut()
            .push((label.to_string(), result.clone()));
        result
    }

    /// The responders are done: what the incident held paused resumes (the monitors must
    /// see the fix), then the resolution is verified.
    async fn resolved(&self, host: &dyn OpsHost, rec: &Record) -> Result<(), ResolutionError> {
        if let Some(holds) = &rec.trigger.holds {
            self.lift(host, holds);
        }
        self.verify_resolution(host, rec).await
    }

    /// Waits until the check that set the incident off is healthy again (on a virtual
    /// clock, the responders' fix clears the simulated fault first); records MTTR.
    async fn verify_resolution(
        &self,
        host: &dyn OpsHost,
        rec: &Record,
    ) -> Result<(), ResolutionError> {
        if let Some(check) = &rec.trigger.check {
            if let Some(world) = &self.sim {
                world.borrow_mut().resolve(check);
            }
            let limit = match host.program().setting_value("resolution_window") {
                Some(crate::model::literal::Value::Duration(ms)) => Duration::from_millis(ms),
                _ => RESOLUTION_WINDOW,
            };
            let deadline = tokio::time::Instant::now() + limit;
            let healthy = || {
                self.status
                    .borrow()
                    .get(check)
                    .is_none_or(|s| *s == Status::Healthy)
            };
            while !healthy() {
                if tokio::time::Instant::now() >= deadline {
                    return Err(ResolutionError::NotHealthy {
                        check: check.clone(),
                        limit,
                    });
                }
                tokio::time::sleep(VERIFY_POLL).await;
            }
        }
        let at = host.now_ms();
        rec.resolved_ms.set(Some(at));
        let after_ms = at.saturating_sub(rec.opened_ms);
        host.record(EventKind::IncidentResolved {
            incident: rec.id.clone(),
            after_ms,
        });
        rec.log(
            at,
            format!(
                "resolution verified{}",
                rec.trigger
                    .check
                    .as_ref()
                    .map_or(String::new(), |c| format!(": `{c}` is healthy"))
            ),
        );
        Ok(())
    }
}
