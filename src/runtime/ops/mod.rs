//! Operations at run time: monitors probe on their intervals, rules classify what they see
//! and act (alert, scale, heal, escalate, call, emergency), heals try their fixes, incidents
//! climb their levels through detection, triage, resolution and a written post-mortem,
//! emergencies pause workflows and monitors, maintenance runs on its cron schedule. It all
//! runs beside a run's phases (`watch`) or on its own (`bmad monitor`), on the wall clock or
//! a virtual one, recorded as the run's events.
//!
//! The [`Desk`] owns the operations' state and runs their code; it reaches the scheduler
//! only through `OpsHost` (the program, the clock, the recorder, the workspace, running
//! steps), which the runner implements.

mod alert;
mod emergency;
mod heal;
mod host;
mod incident;
pub mod lateness;
pub mod logtail;
mod maintenance;
mod monitor;
mod observe;
mod postmortem;
pub mod rules;
mod sim;
pub mod summary;

use super::event::EventKind;
use super::steps::Ctx;
use crate::model::Status;
use futures::StreamExt;
use futures::future::LocalBoxFuture;
use futures::stream::FuturesUnordered;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::rc::Rc;
use tokio::sync::{Notify, watch};

pub(in crate::runtime) use host::OpsHost;
pub use incident::{Record as IncidentRecord, StageError};
pub use maintenance::MaintenanceStatus;

/// At most this much output of an operation's commands is kept (the end is kept).
const MAX_OUTPUT: usize = 16 << 10;

/// What set an operation off, and what was learnt on the way (for the post-mortem).
#[derive(Debug, Clone, Default)]
pub struct Trigger {
    /// In words.
    pub what: String,
    /// The monitored check (or rule) whose health verifies a resolution.
    pub check: Option<String>,
    /// Diagnosis results and fixes tried before an incident was opened.
    pub findings: Vec<String>,
    /// Pauses to lift once the incident is resolved (an emergency without recovery).
    pub holds: Option<String>,
}

/// Work the operations loop runs beside everything else.
#[derive(Debug, Clone)]
pub enum Job {
    /// Run a monitor until the operations stop.
    Monitor(String),
    /// Run a maintenance job's schedule.
    Maintenance(String),
    /// Send an alert.
    Alert {
        /// The agent alerted.
        to: Option<String>,
        /// A file or webhook; stdout when none.
        channel: Option<String>,
        /// What it says.
        message: String,
    },
    /// Run a heal.
    Heal(String, Trigger),
    /// Run a procedure (a scale action, the critical failure flow).
    Call(String, Trigger),
    /// Run an emergency protocol.
    Emergency(String, Trigger),
    /// Open an incident at a level.
    Incident(String, Trigger),
    /// Give a real agent a task about what operations saw (a monitor's agent when its rule
    /// fires).
    Tell {
        /// The agent.
        agent: String,
        /// The task.
        task: String,
        /// What it is told.
        prompt: String,
    },
}

impl Job {
    /// The key under which at most one such job runs at a time.
    fn key(&self) -> Option<String> {
        match self {
            Job::Monitor(m) => Some(format!("monitor {m}")),
            Job::Maintenance(m) => Some(format!("maintenance {m}")),
            Job::Alert { .. } | Job::Tell { .. } => None,
            Job::Heal(h, _) => Some(format!("heal {h}")),
            Job::Call(p, _) => Some(format!("call {p}")),
            Job::Emergency(e, _) => Some(format!("emergency {e}")),
            Job::Incident(_, t) => Some(format!(
                "incident for {}",
                t.check.as_deref().unwrap_or(&t.what)
            )),
        }
    }
}

/// What an operation in progress carries down to its steps.
pub struct OpsScope {
    /// The operation (`heal restart_api`, `emergency data_corruption`, `INC-0002`).
    pub(super) job: String,
    /// What set it off.
    pub(super) trigger: RefCell<Trigger>,
    /// Output of its commands.
    output: RefCell<String>,
    /// The incident it responds to.
    pub(super) incident: Option<Rc<incident::Record>>,
}

impl OpsScope {
    fn new(job: String, trigger: Trigger, incident: Option<Rc<incident::Record>>) -> Rc<Self> {
        Rc::new(OpsScope {
            job,
            trigger: RefCell::new(trigger),
            output: RefCell::default(),
            incident,
        })
    }

    /// Keeps a line of command output (the last [`MAX_OUTPUT`] bytes are kept).
    pub fn output(&self, text: &str) {
        let mut out = self.output.borrow_mut();
        out.push_str(text);
        out.push('\n');
        if out.len() > MAX_OUTPUT {
            let mut cut = out.len() - MAX_OUTPUT;
            while !out.is_char_boundary(cut) {
                cut += 1;
            }
            out.drain(..cut);
        }
    }

    fn take_output(&self) -> String {
        std::mem::take(&mut *self.output.borrow_mut())
    }
}

/// A task for `agent` (`page`, `heal`, `observe`) with `prompt`: how operations give their
/// real agents what they saw.
pub(super) fn agent_task(
    agent: &str,
    task: &str,
    prompt: &str,
    span: crate::source::Span,
) -> crate::model::step::Step {
    use crate::model::step::{Name, Step, StepKind, Task, Text};
    let name = |n: &str| Name {
        name: n.into(),
        span,
    };
    Step {
        span,
        kind: StepKind::Task(Box::new(Task {
            agent: name(agent),
            tasks: vec![name(task)],
            mode: None,
            needs: Vec::new(),
            produces: Vec::new(),
            context: Vec::new(),
            tests: Vec::new(),
            prompt: Some(Text {
                value: prompt.into(),
                span,
            }),
            timeout: None,
            verdict: false,
        })),
    }
}

/// A pause of workflows and monitors by an operation.
#[derive(Debug, Clone)]
struct Pause {
    target: String,
    by: String,
}

/// The operations desk of a runner: what runs, what is paused, how each check stands. Its
/// operations take the scheduler as an `OpsHost`.
pub struct Desk {
    jobs: RefCell<VecDeque<Job>>,
    wake: Notify,
    active: RefCell<HashSet<String>>,
    /// The status of every monitored check and rule, by key (`production/api`).
    status: RefCell<BTreeMap<String, Status>>,
    /// When each check and metric was last seen healthy (ms since the run started).
    last_ok: RefCell<HashMap<String, u64>>,
    /// For each monitor, how many of its checks and metrics are healthy, warning and
    /// critical: its status without a scan over them at every probe.
    tally: RefCell<HashMap<String, [usize; 3]>>,
    rules: RefCell<HashMap<String, rules::RuleState>>,
    pauses: RefCell<Vec<Pause>>,
    paused: watch::Sender<bool>,
    incidents: RefCell<Vec<Rc<incident::Record>>>,
    lateness: RefCell<lateness::Lateness>,
    probes: Cell<u64>,
    seq: Cell<u64>,
    sim: Option<RefCell<sim::World>>,
    /// The wall-clock time at the run's start (fixed for a simulation).
    epoch: Cell<chrono::DateTime<chrono::Utc>>,
}

/// Where the virtual clock of a simulation starts: Monday 5 January 2026, midnight UTC.
pub const SIM_EPOCH_SECS: i64 = 1_767_571_200;

impl Desk {
    /// A desk for a real run, or a simulated one drawing from `seed`.
    pub fn new(simulate: bool, seed: u64) -> Desk {
        let epoch = if simulate {
            chrono::DateTime::from_timestamp(SIM_EPOCH_SECS, 0).unwrap_or_default()
        } else {
            chrono::Utc::now()
        };
        Desk {
            jobs: RefCell::default(),
            wake: Notify::new(),
            active: RefCell::default(),
            status: RefCell::default(),
            last_ok: RefCell::default(),
            tally: RefCell::default(),
            rules: RefCell::default(),
            pauses: RefCell::default(),
            paused: watch::Sender::new(false),
            incidents: RefCell::default(),
            lateness: RefCell::default(),
            probes: Cell::new(0),
            seq: Cell::new(0),
            sim: simulate.then(|| RefCell::new(sim::World::new(seed))),
            epoch: Cell::new(epoch),
        }
    }

    /// Whether `agent` is a real agent operations give tasks to (an exec or script agent,
    /// not in a simulation).
    fn real_agent(&self, host: &dyn OpsHost, agent: &str) -> bool {
        self.sim.is_none()
            && host.program().agent(agent).is_some_and(|a| {
                matches!(
                    a.backend,
                    Some(crate::model::Backend::Exec { .. } | crate::model::Backend::Script { .. })
                )
            })
    }

    fn next_seq(&self) -> u64 {
        self.seq.set(self.seq.get() + 1);
        self.seq.get()
    }

    /// Sets the status of `key`; the one it had.
    fn put_status(&self, key: &str, status: Status) -> Option<Status> {
        let mut map = self.status.borrow_mut();
        let before = match map.get_mut(key) {
            Some(s) if *s == status => return Some(status),
            Some(s) => Some(std::mem::replace(s, status)),
            None => {
                map.insert(key.to_string(), status);
                None
            }
        };
        if monitor::counts_toward_monitor(key)
            && let Some((name, _)) = key.split_once('/')
        {
            let mut tally = self.tally.borrow_mut();
            let counts = tally.entry(name.to_string()).or_default();
            if let Some(b) = before {
                counts[rules::rank(b) as usize] -= 1;
            }
            counts[rules::rank(status) as usize] += 1;
        }
        before
    }

    /// A monitor's status: the worst of its checks' and metrics'.
    fn overall(&self, monitor: &str) -> Status {
        match self.tally.borrow().get(monitor) {
            Some([_, _, c]) if *c > 0 => Status::Critical,
            Some([_, w, _]) if *w > 0 => Status::Warning,
            _ => Status::Healthy,
        }
    }

    /// Evaluates rule `key` now: whether it fires (see [`rules::RuleState`]).
    fn rule_fires(&self, key: &str, holds: bool, actions: &crate::model::Actions) -> bool {
        let cooldown = actions
            .cooldown
            .and_then(|q| q.duration())
            .unwrap_or_default();
        let now = tokio::time::Instant::now();
        let mut rules = self.rules.borrow_mut();
        match rules.get_mut(key) {
            Some(r) => r.evaluate(holds, now, cooldown),
            None => rules
                .entry(key.to_string())
                .or_default()
                .evaluate(holds, now, cooldown),
        }
    }

    /// Whether a monitor was started.
    pub(in crate::runtime) fn watching(&self) -> bool {
        self.active
            .borrow()
            .iter()
            .any(|k| k.starts_with("monitor "))
    }

    /// The incidents opened so far.
    pub fn incidents(&self) -> Vec<Rc<incident::Record>> {
        self.incidents.borrow().clone()
    }
}

// The job loop and what the scheduler asks of the desk.
impl Desk {
    /// The wall-clock time of `ms` since the run started (virtual in a simulation).
    pub(in crate::runtime) fn wall(&self, ms: u64) -> chrono::DateTime<chrono::Utc> {
        self.epoch.get() + chrono::Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX))
    }

    /// Asks the operations loop to run `job`.
    pub(in crate::runtime) fn request(&self, job: Job) {
        self.jobs.borrow_mut().push_back(job);
        self.wake.notify_one();
    }

    /// The operations loop: runs every requested job side by side, forever (it ends when
    /// its future is dropped).
    pub(in crate::runtime) async fn operations<'a>(&'a self, host: &'a dyn OpsHost) {
        if self.sim.is_none() {
            let run_ms =
                chrono::Duration::milliseconds(i64::try_from(host.now_ms()).unwrap_or(i64::MAX));
            self.epoch.set(chrono::Utc::now() - run_ms);
        }
        let mut running: FuturesUnordered<LocalBoxFuture<'a, ()>> = FuturesUnordered::new();
        loop {
            let next = self.jobs.borrow_mut().pop_front();
            if let Some(job) = next {
                if let Some(key) = job.key()
                    && !self.active.borrow_mut().insert(key.clone())
                {
                    host.note("ops", format!("{key} is already running"));
                    continue;
                }
                running.push(Box::pin(self.job(host, job)));
                continue;
            }
            tokio::select! {
                biased;
                () = self.wake.notified() => {}
                Some(()) = running.next(), if !running.is_empty() => {}
            }
        }
    }

    async fn job(&self, host: &dyn OpsHost, job: Job) {
        let key = job.key();
        match job {
            Job::Monitor(m) => self.monitor(host, &m).await,
            Job::Maintenance(m) => self.maintenance(host, &m).await,
            Job::Alert {
                to,
                channel,
                message,
            } => {
                self.alert(host, to.as_deref(), channel.as_deref(), &message)
                    .await;
            }
            Job::Heal(h, trigger) => {
                let _ = self.heal(host, &h, trigger).await;
            }
            Job::Call(p, trigger) => self.call_operation(host, &p, trigger).await,
            Job::Emergency(e, trigger) => self.emergency(host, &e, trigger).await,
            Job::Incident(level, trigger) => self.incident(host, &level, trigger).await,
            Job::Tell {
                agent,
                task,
                prompt,
            } => {
                let scope = OpsScope::new(format!("{agent}: {task}"), Trigger::default(), None);
                let ctx = Ctx::ops(format!("ops/{agent}:{task}#{}", self.next_seq()), scope);
                let step = agent_task(&agent, &task, &prompt, crate::source::Span::default());
                if let Err(e) = host.steps(std::slice::from_ref(&step), &ctx).await {
                    host.note("ops", format!("agent `{agent}` ({task}): {e}"));
                }
            }
        }
        if let Some(key) = key {
            self.active.borrow_mut().remove(&key);
        }
    }

    /// Runs procedure `name` as an operation; pauses it made are lifted when it succeeds,
    /// and a failure opens an incident at the top level.
    async fn call_operation(&self, host: &dyn OpsHost, name: &str, trigger: Trigger) {
        let Some(proc) = host.program().procedure(name) else {
            host.note("ops", format!("no procedure `{name}`"));
            return;
        };
        let job = format!("call {name}");
        let scope = OpsScope::new(job.clone(), trigger.clone(), None);
        let ctx = Ctx::ops(format!("ops/{name}#{}", self.next_seq()), scope);
        host.note("ops", format!("{name} started: {}", trigger.what));
        match host.steps(&proc.body, &ctx).await {
            Ok(()) => {
                self.lift(host, &job);
                host.note("ops", format!("{name} done"));
            }
            Err(e) => self.operation_failed(host, &job, &format!("{name} failed: {e}"), trigger),
        }
    }

    /// An operation failed and could not go on: an incident at the top level holds what it
    /// paused until the incident is resolved.
    fn operation_failed(&self, host: &dyn OpsHost, job: &str, why: &str, mut trigger: Trigger) {
        host.note("ops", why.to_string());
        let Some(top) = host.program().incident_levels.last() else {
            self.lift(host, job);
            return;
        };
        trigger.what = why.to_string();
        if self.pauses.borrow().iter().any(|p| p.by == job) {
            trigger.holds = Some(job.to_string());
        }
        self.request(Job::Incident(top.name.name.to_string(), trigger));
    }

    /// `isolate` and `stop_writes`: pauses workflows and monitors (`target` names one
    /// monitor, or stands for every system).
    pub(in crate::runtime) fn pause(&self, host: &dyn OpsHost, target: &str, ctx: &Ctx<'_>) {
        let by = ctx
            .ops
            .as_ref()
            .map_or_else(|| format!("phase {}", ctx.path), |o| o.job.clone());
        self.pauses.borrow_mut().push(Pause {
            target: target.to_string(),
            by: by.clone(),
        });
        self.paused
            .send_replace(self.workflows_paused(host.program()));
        host.record(EventKind::Paused {
            target: target.to_string(),
            by,
            paused: true,
        });
    }

    /// Lifts the pauses `by` made.
    fn lift(&self, host: &dyn OpsHost, by: &str) {
        let lifted: Vec<Pause> = {
            let mut pauses = self.pauses.borrow_mut();
            let (gone, kept) = pauses.drain(..).partition(|p| p.by == by);
            *pauses = kept;
            gone
        };
        self.paused
            .send_replace(self.workflows_paused(host.program()));
        for p in lifted {
            host.record(EventKind::Paused {
                target: p.target,
                by: p.by,
                paused: false,
            });
        }
    }

    /// True while a pause covers the workflows (any pause not aimed at one monitor).
    fn workflows_paused(&self, program: &crate::ir::Program) -> bool {
        self.pauses
            .borrow()
            .iter()
            .any(|p| program.monitors.iter().all(|m| m.name.name != p.target))
    }

    /// True while monitor `name` is paused.
    fn monitor_paused(&self, program: &crate::ir::Program, name: &str) -> bool {
        self.pauses
            .borrow()
            .iter()
            .any(|p| p.target == name || program.monitors.iter().all(|m| m.name.name != p.target))
    }

    /// Waits while workflows are paused; an operation's own steps never wait.
    pub(in crate::runtime) async fn wait_unpaused(&self, ctx: &Ctx<'_>) {
        if ctx.ops.is_some() {
            return;
        }
        let mut rx = self.paused.subscribe();
        let _ = rx.wait_for(|paused| !*paused).await;
    }

    /// The system's state for scripts: `status` is healthy, `partial_outage` (some health
    /// checks fail) or `full_outage` (every one fails); `failing` and `checks` count them.
    pub(in crate::runtime) fn system_map(&self, program: &crate::ir::Program) -> rhai::Map {
        let status = self.status.borrow();
        let health: Vec<Status> = program
            .monitors
            .iter()
            .flat_map(|m| m.health.iter().map(move |h| (m, h)))
            .filter_map(|(m, h)| status.get(&format!("{}/{}", m.name.name, h.name.name)))
            .copied()
            .collect();
        let failing = health.iter().filter(|s| **s == Status::Critical).count();
        let word = match failing {
            0 => "healthy",
            n if n == health.len() => "full_outage",
            _ => "partial_outage",
        };
        let mut map = rhai::Map::new();
        map.insert("status".into(), rhai::Dynamic::from(word.to_string()));
        map.insert(
            "failing".into(),
            rhai::Dynamic::from(i64::try_from(failing).unwrap_or(i64::MAX)),
        );
        map.insert(
            "checks".into(),
            rhai::Dynamic::from(i64::try_from(health.len()).unwrap_or(i64::MAX)),
        );
        map
    }

    /// The incident an operation responds to, for scripts: id, level, trigger, `opened_ms`.
    pub(in crate::runtime) fn incident_map(ctx: &Ctx<'_>) -> rhai::Map {
        let mut map = rhai::Map::new();
        if let Some(rec) = ctx.ops.as_ref().and_then(|o| o.incident.as_ref()) {
            map.insert("id".into(), rhai::Dynamic::from(rec.id.clone()));
            map.insert("level".into(), rhai::Dynamic::from(rec.level().to_string()));
            map.insert(
                "trigger".into(),
                rhai::Dynamic::from(rec.trigger.what.clone()),
            );
            map.insert(
                "started_ms".into(),
                rhai::Dynamic::from(i64::try_from(rec.opened_ms).unwrap_or(i64::MAX)),
            );
        }
        map
    }

    /// `escalate LEVEL` in a step: opens an incident for what set the operation off.
    pub(in crate::runtime) fn escalate(&self, level: &str, ctx: &Ctx<'_>) {
        let trigger = match &ctx.ops {
            Some(o) => o.trigger.borrow().clone(),
            None => Trigger {
                what: format!("escalated by the workflow at {}", ctx.path),
                ..Trigger::default()
            },
        };
        self.request(Job::Incident(level.to_string(), trigger));
    }
}

impl<'a> Ctx<'a> {
    /// The context of an operation's steps.
    pub(super) fn ops(path: String, scope: Rc<OpsScope>) -> Ctx<'a> {
        Ctx {
            path,
            phase: None,
            story: None,
            deps: Rc::new([]),
            vars: Rc::default(),
            state: Rc::default(),
            ops: Some(scope),
            tree: None,
            width: 1,
        }
    }
}
